//! Reading and writing records: YAML written by serde-saphyr and read by
//! yaml_serde (a maintained, libyaml-based serde_yaml), atomic replacement,
//! file naming, and loading a whole runs folder.

use std::path::{Path, PathBuf};

use crate::crossval::CrossvalRecord;
use crate::crossval::{document_kind, RecordKind};
use crate::crossval_io::{read_any, wrong_kind, AnyRecord};
use crate::schema::{Record, SCHEMA_VERSION};
use crate::sweep::SweepRecord;
use crate::validate::{validate_value, Problem};

/// Errors of record I/O. Each names the file; parse errors also the line.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML or not shaped like a record.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, when the parser knows it.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The record parsed but breaks the schema.
    #[error("{path}: {} schema problem(s): {}", problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem, with its field.
        problems: Vec<Problem>,
    },
    /// Serialising a record failed.
    #[error("could not serialise record {id}: {message}")]
    Serialize {
        /// The record id.
        id: String,
        /// What failed.
        message: String,
    },
}

/// Renders a record as YAML, with a header comment naming the schema.
///
/// # Errors
/// [`RecordError::Serialize`] when a value cannot be represented.
pub fn to_yaml(record: &Record) -> Result<String, RecordError> {
    let body = serde_saphyr::to_string(record).map_err(|e| RecordError::Serialize {
        id: record.run.id.clone(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "# tokbench run record (schema_version {SCHEMA_VERSION}); format: docs/record-format.md\n{body}"
    ))
}

/// Parses a record from YAML text. `path` is only used in errors.
///
/// The document is read by yaml_serde into a JSON value, checked against
/// the JSON Schema generated from the record types (which names every
/// problem of a bad record at once), then converted to a [`Record`].
///
/// # Errors
/// [`RecordError::Parse`] naming the file and line; [`RecordError::Invalid`]
/// when the document breaks the JSON Schema (every problem named).
pub fn from_yaml(text: &str, path: &Path) -> Result<Record, RecordError> {
    let value = parse_value(text, path)?;
    let kind = document_kind(&value);
    if kind != RecordKind::Run {
        return Err(wrong_kind(path, kind, RecordKind::Run));
    }
    let problems = validate_value(&value);
    typed(value, problems, path)
}

/// Parses YAML text into a JSON value (yaml_serde); `path` names the file
/// in errors.
pub(crate) fn parse_value(text: &str, path: &Path) -> Result<serde_json::Value, RecordError> {
    yaml_serde::from_str(text).map_err(|e| RecordError::Parse {
        path: path.to_owned(),
        line: e.location().map(|l| line_number(l.line())),
        message: e.to_string(),
    })
}

/// The typed document of a validated value: [`RecordError::Invalid`] when
/// `problems` is not empty.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    problems: Vec<Problem>,
    path: &Path,
) -> Result<T, RecordError> {
    if !problems.is_empty() {
        return Err(RecordError::Invalid {
            path: path.to_owned(),
            problems,
        });
    }
    serde_json::from_value(value).map_err(|e| RecordError::Parse {
        path: path.to_owned(),
        line: None,
        message: e.to_string(),
    })
}

/// A parser's line as the 1-based `u64` of [`RecordError::Parse`].
fn line_number(line: usize) -> u64 {
    u64::try_from(line).unwrap_or(u64::MAX)
}

/// Reads and parses one record file.
///
/// # Errors
/// As [`from_yaml`], plus [`RecordError::Io`].
pub fn read_record(path: &Path) -> Result<Record, RecordError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecordError::Io {
        path: path.to_owned(),
        source,
    })?;
    from_yaml(&text, path)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsync, then rename, so a half-written file never replaces a
/// good one.
///
/// # Errors
/// [`RecordError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    use std::io::Write;
    let io = |source| RecordError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Writes a record as `<dir>/<run.id>.yaml`, atomically. Returns the path.
///
/// # Errors
/// Serialisation or I/O failures.
pub fn write_record(dir: &Path, record: &Record) -> Result<PathBuf, RecordError> {
    std::fs::create_dir_all(dir).map_err(|source| RecordError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(format!("{}.yaml", record.run.id));
    write_atomic(&path, to_yaml(record)?.as_bytes())?;
    Ok(path)
}

/// Lower-case ASCII slug: letters, digits and `.` kept, runs of anything
/// else become one `-` (`SmolLM2 135M Instruct` → `smollm2-135m-instruct`).
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// The record id / file stem: `YYYY-MM-DD-<model>-<backend>-<short id>`.
/// `date` is `YYYY-MM-DD`; `short_id` a few hex digits unique to the run.
pub fn record_id(date: &str, model: &str, backend: &str, short_id: &str) -> String {
    format!(
        "{date}-{}-{}-{}",
        slug(model),
        slug(backend),
        slug(short_id)
    )
}

/// Every `*.yaml` / `*.yml` record below `dir` (recursively), sorted.
/// Symbolic links to directories are not followed (a link could reach any
/// folder of the machine, or loop); every path returned lies below `dir`
/// through real directories only.
///
/// # Errors
/// [`RecordError::Io`] when `dir` cannot be listed.
pub fn record_paths(dir: &Path) -> Result<Vec<PathBuf>, RecordError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| RecordError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            // The type read with the directory: no `stat` per file, and a
            // symlink is not followed.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The sidecar file `name` of the record at `record_path`: only a plain
/// file name (no directory part), only a regular file (no symlink), only in
/// the record's own directory. Record strings never name other paths.
pub fn sidecar_path(record_path: &Path, name: Option<&str>) -> Option<PathBuf> {
    let name = name?;
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && Path::new(name).file_name().is_some_and(|n| n == name);
    if !plain {
        return None;
    }
    let path = record_path.parent()?.join(name);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    meta.file_type().is_file().then_some(path)
}

/// Good records with their paths, and one error per bad file.
pub type Loaded = (Vec<(PathBuf, Record)>, Vec<RecordError>);

/// Loads every run record below `dirs`: the good ones, and one error per
/// bad file (a bad file never hides the good ones). Crossval and sweep
/// records (`kind: crossval`, `kind: sweep`) are read and left out;
/// [`load_dirs_all`] keeps them.
///
/// # Errors
/// [`RecordError::Io`] when a directory itself cannot be listed.
pub fn load_dirs(dirs: &[PathBuf]) -> Result<Loaded, RecordError> {
    let all = load_dirs_all(dirs)?;
    Ok((all.runs, all.bad))
}

/// Every record below some folders, by kind ([`load_dirs_all`]).
#[derive(Debug, Default)]
pub struct LoadedAll {
    /// Good run records with their paths.
    pub runs: Vec<(PathBuf, Record)>,
    /// Good crossval records with their paths.
    pub crossvals: Vec<(PathBuf, CrossvalRecord)>,
    /// Good sweep records with their paths.
    pub sweeps: Vec<(PathBuf, SweepRecord)>,
    /// One error per bad file.
    pub bad: Vec<RecordError>,
}

/// Loads every record below `dirs`, run, crossval and sweep records apart,
/// and one error per bad file.
///
/// # Errors
/// [`RecordError::Io`] when a directory itself cannot be listed.
pub fn load_dirs_all(dirs: &[PathBuf]) -> Result<LoadedAll, RecordError> {
    let mut all = LoadedAll::default();
    for dir in dirs {
        for path in record_paths(dir)? {
            match read_any(&path) {
                Ok(AnyRecord::Run(r)) => all.runs.push((path, *r)),
                Ok(AnyRecord::Crossval(r)) => all.crossvals.push((path, *r)),
                Ok(AnyRecord::Sweep(r)) => all.sweeps.push((path, *r)),
                Err(e) => all.bad.push(e),
            }
        }
    }
    Ok(all)
}

#[cfg(test)]
#[path = "io_tests.rs"]
mod tests;
