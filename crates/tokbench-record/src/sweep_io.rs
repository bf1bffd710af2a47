//! Reading and writing sweep records (`kind: sweep`). A runs folder of
//! any kind of record is read by [`crate::read_any`] and
//! [`crate::load_dirs_all`]; the YAML and atomic-write rules are
//! [`crate::io`]'s.

use std::path::{Path, PathBuf};

use crate::crossval::RecordKind;
use crate::crossval_io::{read_any, wrong_kind, AnyRecord};
use crate::io::{write_atomic, RecordError};
use crate::sweep::{SweepRecord, SWEEP_SCHEMA_VERSION};
use crate::validate::{validate_sweep_record, Problem};

/// Renders a sweep record as YAML, with a header comment naming its
/// format.
///
/// # Errors
/// [`RecordError::Serialize`] when a value cannot be represented.
pub fn sweep_to_yaml(record: &SweepRecord) -> Result<String, RecordError> {
    let body = serde_saphyr::to_string(record).map_err(|e| RecordError::Serialize {
        id: record.run.id.clone(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "# tokbench sweep record (schema_version {SWEEP_SCHEMA_VERSION}); format: docs/record-format.md#sweep-records\n{body}"
    ))
}

/// Reads one sweep record file, validated against
/// `docs/sweep-record.schema.json`.
///
/// # Errors
/// As [`read_any`], and [`RecordError::Parse`] when the file is a record
/// of another kind.
pub fn read_sweep(path: &Path) -> Result<SweepRecord, RecordError> {
    match read_any(path)? {
        AnyRecord::Sweep(r) => Ok(*r),
        other => Err(wrong_kind(path, other.kind(), RecordKind::Sweep)),
    }
}

/// Writes `record` as `<dir>/<run.id>.yaml` atomically (temporary file,
/// fsync, rename: a half-written file never replaces a good one) and
/// returns the path. `dir` is created when missing.
///
/// The record is validated first, so a file that [`read_sweep`] would
/// refuse (a non-finite number, a wrong schema version) is never written
/// and never replaces an existing one; and `run.id` must be a plain file
/// stem (not empty, no `/`, `\` or NUL, not starting with `.`), so the
/// file always lands in `dir`.
///
/// # Errors
/// [`RecordError::Invalid`] (naming the path it would have had) with every
/// schema problem or the bad id; [`RecordError::Serialize`] or
/// [`RecordError::Io`].
pub fn write_sweep(dir: &Path, record: &SweepRecord) -> Result<PathBuf, RecordError> {
    let id = &record.run.id;
    let path = dir.join(format!("{id}.yaml"));
    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0']) {
        let problems = vec![Problem {
            field: "/run/id".into(),
            message: format!("{id:?} is not a plain file name"),
        }];
        return Err(RecordError::Invalid { path, problems });
    }
    let problems = validate_sweep_record(record);
    if !problems.is_empty() {
        return Err(RecordError::Invalid { path, problems });
    }
    let yaml = sweep_to_yaml(record)?;
    std::fs::create_dir_all(dir).map_err(|source| RecordError::Io {
        path: dir.to_owned(),
        source,
    })?;
    write_atomic(&path, yaml.as_bytes())?;
    Ok(path)
}
