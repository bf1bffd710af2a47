//! Reading and writing crossval records, and reading a file of either kind
//! ([`read_any`]). The YAML and atomic-write rules are [`crate::io`]'s.

use std::path::{Path, PathBuf};

use crate::crossval::{document_kind, CrossvalRecord, RecordKind, CROSSVAL_SCHEMA_VERSION};
use crate::io::{parse_value, typed, write_atomic, RecordError};
use crate::schema::Record;
use crate::validate::{validate_crossval_value, validate_value};

/// A record of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRecord {
    /// A run record.
    Run(Box<Record>),
    /// A crossval record.
    Crossval(Box<CrossvalRecord>),
}

/// Renders a crossval record as YAML, with a header comment naming its
/// format.
///
/// # Errors
/// [`RecordError::Serialize`] when a value cannot be represented.
pub fn crossval_to_yaml(record: &CrossvalRecord) -> Result<String, RecordError> {
    let body = serde_saphyr::to_string(record).map_err(|e| RecordError::Serialize {
        id: record.run.id.clone(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "# tokbench crossval record (schema_version {CROSSVAL_SCHEMA_VERSION}); format: docs/record-format.md#crossval-records\n{body}"
    ))
}

/// Parses a document of either kind, validated against its kind's JSON
/// Schema. `path` is only used in errors.
///
/// # Errors
/// [`RecordError::Parse`] naming the file and line; [`RecordError::Invalid`]
/// with every schema problem.
pub fn from_yaml_any(text: &str, path: &Path) -> Result<AnyRecord, RecordError> {
    let value = parse_value(text, path)?;
    match document_kind(&value) {
        RecordKind::Run => {
            let problems = validate_value(&value);
            typed(value, problems, path).map(|r| AnyRecord::Run(Box::new(r)))
        }
        RecordKind::Crossval => {
            let problems = validate_crossval_value(&value);
            typed(value, problems, path).map(|r| AnyRecord::Crossval(Box::new(r)))
        }
    }
}

/// Reads one record file of either kind.
///
/// # Errors
/// As [`from_yaml_any`], plus [`RecordError::Io`].
pub fn read_any(path: &Path) -> Result<AnyRecord, RecordError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecordError::Io {
        path: path.to_owned(),
        source,
    })?;
    from_yaml_any(&text, path)
}

/// Reads one crossval record file.
///
/// # Errors
/// As [`read_any`], and [`RecordError::Parse`] when the file is a run
/// record.
pub fn read_crossval(path: &Path) -> Result<CrossvalRecord, RecordError> {
    match read_any(path)? {
        AnyRecord::Crossval(r) => Ok(*r),
        AnyRecord::Run(_) => Err(RecordError::Parse {
            path: path.to_owned(),
            line: None,
            message: "this is a run record, not a crossval record".into(),
        }),
    }
}

/// Writes `record` as `<dir>/<run.id>.yaml` atomically and returns the
/// path.
///
/// # Errors
/// [`RecordError::Serialize`] or [`RecordError::Io`].
pub fn write_crossval(dir: &Path, record: &CrossvalRecord) -> Result<PathBuf, RecordError> {
    std::fs::create_dir_all(dir).map_err(|source| RecordError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(format!("{}.yaml", record.run.id));
    write_atomic(&path, crossval_to_yaml(record)?.as_bytes())?;
    Ok(path)
}
