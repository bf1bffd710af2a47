//! Reading and writing crossval records, and reading a file of any kind
//! ([`read_any`]: run, crossval or sweep record; sweep records are written
//! by [`crate::sweep_io`]). The YAML and atomic-write rules are [`crate::io`]'s.

use std::path::{Path, PathBuf};

use crate::crossval::{document_kind, CrossvalRecord, RecordKind, CROSSVAL_SCHEMA_VERSION};
use crate::io::{parse_value, typed, write_atomic, RecordError};
use crate::schema::Record;
use crate::sweep::SweepRecord;
use crate::validate::{validate_crossval_value, validate_sweep_value, validate_value};

/// A record of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRecord {
    /// A run record.
    Run(Box<Record>),
    /// A crossval record.
    Crossval(Box<CrossvalRecord>),
    /// A sweep record.
    Sweep(Box<SweepRecord>),
}

impl AnyRecord {
    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Self::Run(_) => RecordKind::Run,
            Self::Crossval(_) => RecordKind::Crossval,
            Self::Sweep(_) => RecordKind::Sweep,
        }
    }
}

/// `run`, `crossval` or `sweep`: how errors name a kind of record.
pub(crate) fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Run => "run",
        RecordKind::Crossval => "crossval",
        RecordKind::Sweep => "sweep",
    }
}

/// The error of reading a record of kind `found` where one of kind
/// `wanted` was expected.
pub(crate) fn wrong_kind(path: &Path, found: RecordKind, wanted: RecordKind) -> RecordError {
    RecordError::Parse {
        path: path.to_owned(),
        line: None,
        message: format!(
            "this is a {} record, not a {} record",
            kind_name(found),
            kind_name(wanted)
        ),
    }
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

/// Parses a document of any kind, validated against its kind's JSON
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
        RecordKind::Sweep => {
            let problems = validate_sweep_value(&value);
            typed(value, problems, path).map(|r| AnyRecord::Sweep(Box::new(r)))
        }
    }
}

/// Reads one record file of any kind.
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
/// As [`read_any`], and [`RecordError::Parse`] when the file is a record
/// of another kind.
pub fn read_crossval(path: &Path) -> Result<CrossvalRecord, RecordError> {
    match read_any(path)? {
        AnyRecord::Crossval(r) => Ok(*r),
        other => Err(wrong_kind(path, other.kind(), RecordKind::Crossval)),
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
