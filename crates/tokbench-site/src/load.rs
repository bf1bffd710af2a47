//! Loading the runs folders: every record file, in parallel, with a
//! content-addressed parse cache.
//!
//! Every kind of record is read: run records, crossval records
//! (`kind: crossval`, [`tokbench_record::CrossvalRecord`]) and sweep
//! records (`kind: sweep`, [`tokbench_record::SweepRecord`]), kept apart.
//! Records are parsed by [`tokbench_record::from_yaml_any`] (a few ms for a
//! 30 kB record with 8 cells: YAML parsing dominates). With a cache
//! directory (the CLI's default: [`default_cache_dir`]), a record whose
//! bytes were parsed before (same SHA-256) by a tokbench with the same
//! version and record schema is read back as JSON instead, several times
//! faster (10,000 generated records on 2 cores: ~1.2–1.8 s from the cache
//! against ~11 s parsing). A cache entry is only ever written for a record that parsed and
//! validated, so a cached record is exactly what parsing would give. An
//! entry that cannot be read or does not deserialize is ignored (the
//! record is parsed and the entry rewritten): the cache can never break a
//! build, and its folder may be deleted at any time. Bad files are never
//! cached and always re-reported. Only run records are cached: crossval
//! and sweep records are few and always parsed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokbench_record::{
    from_yaml_any, record_paths, AnyRecord, CrossvalRecord, Record, RecordError, SweepRecord,
};

use crate::error::SiteError;

/// One good record and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedRecord {
    /// The record file.
    pub path: PathBuf,
    /// The parsed, validated record.
    pub record: Record,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// One good crossval record and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedCrossval {
    /// The record file.
    pub path: PathBuf,
    /// The parsed, validated crossval record.
    pub record: CrossvalRecord,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// One good sweep record and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedSweep {
    /// The record file.
    pub path: PathBuf,
    /// The parsed, validated sweep record.
    pub record: SweepRecord,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// What [`load_records`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Good run records, in path order.
    pub records: Vec<LoadedRecord>,
    /// Good crossval records, in path order.
    pub crossvals: Vec<LoadedCrossval>,
    /// Good sweep records, in path order.
    pub sweeps: Vec<LoadedSweep>,
    /// One error per bad file, naming the file (and line, when known).
    pub errors: Vec<RecordError>,
    /// How many records came from the parse cache.
    pub cache_hits: usize,
}

/// Every `*.yaml`/`*.yml` file below `dirs`, except those below any of
/// `exclude` (the output directory, when it lies inside a runs folder),
/// parsed on all cores. `cache_dir`, when given, is read and extended.
///
/// # Errors
/// [`SiteError::Runs`] when a runs directory cannot be listed.
pub fn load_records(
    dirs: &[PathBuf],
    exclude: &[PathBuf],
    cache_dir: Option<&Path>,
) -> Result<Loaded, SiteError> {
    let paths = record_files(dirs, exclude)?;
    let cache = cache_dir.map(|d| d.join(cache_key()));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let chunk = paths.len().div_ceil(threads).max(1);
    let results: Vec<(PathBuf, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                let cache = cache.as_deref();
                scope.spawn(move || {
                    part.iter()
                        .map(|p| (p.clone(), load_one(p, cache)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(part) => part,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut out = Loaded::default();
    for (path, result) in results {
        match result {
            Ok((AnyRecord::Run(record), sha256, hit)) => {
                out.cache_hits += usize::from(hit);
                out.records.push(LoadedRecord {
                    path,
                    record: *record,
                    sha256,
                });
            }
            Ok((AnyRecord::Crossval(record), sha256, _)) => {
                out.crossvals.push(LoadedCrossval {
                    path,
                    record: *record,
                    sha256,
                });
            }
            Ok((AnyRecord::Sweep(record), sha256, _)) => {
                out.sweeps.push(LoadedSweep {
                    path,
                    record: *record,
                    sha256,
                });
            }
            Err(e) => out.errors.push(e),
        }
    }
    Ok(out)
}

/// The record files below `dirs`, each once, minus those below `exclude`.
fn record_files(dirs: &[PathBuf], exclude: &[PathBuf]) -> Result<Vec<PathBuf>, SiteError> {
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut seen = HashSet::new();
    let mut paths = Vec::new();
    for dir in dirs {
        // `record_paths` only descends through real directories, so a
        // path's canonical form is the folder's plus the rest (one
        // `realpath` per folder instead of one per record).
        let base = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        for path in record_paths(dir).map_err(SiteError::Runs)? {
            let canonical = path
                .strip_prefix(dir)
                .map_or_else(|_| path.clone(), |rest| base.join(rest));
            if exclude.iter().any(|e| canonical.starts_with(e)) || !seen.insert(canonical) {
                continue;
            }
            paths.push(path);
        }
    }
    Ok(paths)
}

/// A parsed record of any kind, its file's SHA-256 and whether it came
/// from the cache, or why not.
type Outcome = Result<(AnyRecord, String, bool), RecordError>;

/// Reads one record of any kind, from the cache when its bytes were
/// parsed before (run records only). Returns the record, the SHA-256 of
/// the file and whether it was a cache hit.
fn load_one(path: &Path, cache: Option<&Path>) -> Outcome {
    let io = |source| RecordError::Io {
        path: path.to_owned(),
        source,
    };
    // A symlink could publish any file of the machine building the site.
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.file_type().is_symlink() {
        return Err(io(std::io::Error::other(
            "record files may not be symbolic links",
        )));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let sha = hex(&Sha256::digest(&bytes));
    let entry = cache.map(|dir| dir.join(&sha[..2]).join(format!("{sha}.json")));
    if let Some(record) = entry.as_deref().and_then(read_entry) {
        return Ok((AnyRecord::Run(Box::new(record)), sha, true));
    }
    let text = String::from_utf8(bytes).map_err(|e| RecordError::Parse {
        path: path.to_owned(),
        line: None,
        message: format!("not UTF-8: {e}"),
    })?;
    let record = from_yaml_any(&text, path)?;
    if let (Some(entry), AnyRecord::Run(run)) = (entry, &record) {
        write_entry(&entry, run);
    }
    Ok((record, sha, false))
}

fn read_entry(path: &Path) -> Option<Record> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Best effort: a cache that cannot be written only makes the next build
/// slower. Temp file + rename, so a reader never sees half an entry.
fn write_entry(path: &Path, record: &Record) {
    let Some(dir) = path.parent() else { return };
    let Ok(json) = serde_json::to_vec(record) else {
        return;
    };
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let ok = std::fs::create_dir_all(dir).is_ok()
        && std::fs::write(&tmp, json).is_ok()
        && std::fs::rename(&tmp, path).is_ok();
    if !ok {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The folder, inside a cache directory, of the entries this build may
/// use: `v1-<tokbench version>-<schema>`, where `<schema>` is the start of
/// the SHA-256 of the record's JSON Schema, so an entry written for other
/// record types is never read.
fn cache_key() -> String {
    let schema = serde_json::to_vec(&tokbench_record::json_schema()).unwrap_or_default();
    let digest = hex(&Sha256::digest(&schema));
    format!("v1-{}-{}", env!("CARGO_PKG_VERSION"), &digest[..12])
}

/// The parse cache's default folder: `site` in tokbench's cache root,
/// i.e. `${TOKBENCH_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/tokbench}/site`
/// ([`tokbench_dirs::cache_dir`]); `None` without a home directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    tokbench_dirs::cache_dir("site")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokbench_record::fixture::{example_record, ExampleSpec};
    use tokbench_record::write_record;

    use super::*;

    /// Every file below `dir`.
    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
        out
    }

    #[test]
    fn bad_cache_entries_are_parsed_again_and_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path().join("runs");
        for id in ["2026-01-01-a-b-1", "2026-01-01-a-b-2"] {
            let spec = ExampleSpec {
                id: id.into(),
                ..ExampleSpec::default()
            };
            write_record(&runs, &example_record(&spec)).unwrap();
        }
        let cache = tmp.path().join("cache");
        let load = || load_records(std::slice::from_ref(&runs), &[], Some(&cache)).unwrap();
        let records = |l: &Loaded| {
            l.records
                .iter()
                .map(|r| r.record.clone())
                .collect::<Vec<_>>()
        };
        let fresh = load_records(std::slice::from_ref(&runs), &[], None).unwrap();
        assert_eq!(load().cache_hits, 0);
        assert_eq!(load().cache_hits, 2);
        let files = entries(&cache);
        assert_eq!(files.len(), 2);
        // Truncated JSON, and JSON of another shape (a stale entry).
        std::fs::write(&files[0], b"{\"schema_version\": 1, \"run\"").unwrap();
        std::fs::write(&files[1], b"{\"schema_version\": 1}").unwrap();
        let again = load();
        assert_eq!(again.cache_hits, 0);
        assert!(again.errors.is_empty());
        assert_eq!(records(&again), records(&fresh));
        let rewritten = load();
        assert_eq!(rewritten.cache_hits, 2);
        assert_eq!(records(&rewritten), records(&fresh));
    }
}
