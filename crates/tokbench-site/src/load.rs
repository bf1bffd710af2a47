//! Loading the runs folders: every record file, in parallel, with an
//! optional content-addressed parse cache (off unless asked for).
//!
//! Records are parsed by [`tokbench_record::from_yaml`] (≈0.2 ms for a
//! 30 kB record with 8 cells). With a cache directory, a record whose bytes
//! were parsed before (same SHA-256, same tokbench version) is read back
//! as JSON instead. Since the YAML reader got fast that gains little (on
//! 10,000 records: loading 0.5–0.9 s from the cache against 0.85–1.4 s
//! parsing), while filling it adds one file per new record, so the CLI
//! only uses it when asked. A cache entry is only ever written for a
//! record that parsed and validated, so a cached record is exactly what
//! parsing would give. Bad files are never cached and always re-reported.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokbench_record::{from_yaml, record_paths, Record, RecordError};

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

/// What [`load_records`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Good records, in path order.
    pub records: Vec<LoadedRecord>,
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
    let cache = cache_dir.map(|d| d.join(format!("v1-{}", env!("CARGO_PKG_VERSION"))));
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
            Ok((record, sha256, hit)) => {
                out.cache_hits += usize::from(hit);
                out.records.push(LoadedRecord {
                    path,
                    record,
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

/// A parsed record and whether it came from the cache, or why not.
type Outcome = Result<(Record, String, bool), RecordError>;

/// Reads one record, from the cache when its bytes were parsed before.
/// Returns the record and whether it was a cache hit.
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
        return Ok((record, sha, true));
    }
    let text = String::from_utf8(bytes).map_err(|e| RecordError::Parse {
        path: path.to_owned(),
        line: None,
        message: format!("not UTF-8: {e}"),
    })?;
    let record = from_yaml(&text, path)?;
    if let Some(entry) = entry {
        write_entry(&entry, &record);
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

/// The default cache directory: `$XDG_CACHE_HOME/tokbench/site`, else
/// `$HOME/.cache/tokbench/site`; `None` when neither is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("tokbench").join("site"))
}
