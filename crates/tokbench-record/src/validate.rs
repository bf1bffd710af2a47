//! Validation of records against the JSON Schema generated from the Rust
//! types (schemars), plus the checks a schema cannot express.

use std::fmt;
use std::sync::OnceLock;

use crate::crossval::{crossval_json_schema, CrossvalRecord, CROSSVAL_SCHEMA_VERSION};
use crate::schema::{Record, SCHEMA_VERSION};
use crate::sweep::{sweep_json_schema, SweepRecord, SWEEP_SCHEMA_VERSION};

/// One problem found in a record: the field (a JSON Pointer such as
/// `/cells/0/metrics/ttft_ms`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON Pointer to the offending field (`""` = the whole record).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() {
            "/"
        } else {
            &self.field
        };
        write!(f, "field {field}: {}", self.message)
    }
}

/// The JSON Schema (draft 2020-12) of [`Record`], as shipped in
/// `docs/record.schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Record)).unwrap_or_default()
}

fn validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(&json_schema()).ok())
        .as_ref()
}

fn crossval_validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(&crossval_json_schema()).ok())
        .as_ref()
}

fn sweep_validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(&sweep_json_schema()).ok())
        .as_ref()
}

/// Every problem of a parsed run record (empty when valid).
pub fn validate_value(value: &serde_json::Value) -> Vec<Problem> {
    check(value, SCHEMA_VERSION, validator())
}

/// Every problem of a parsed crossval record (empty when valid); the
/// schema is `docs/crossval-record.schema.json`.
pub fn validate_crossval_value(value: &serde_json::Value) -> Vec<Problem> {
    check(value, CROSSVAL_SCHEMA_VERSION, crossval_validator())
}

/// Every problem of a parsed sweep record (empty when valid); the schema
/// is `docs/sweep-record.schema.json`.
pub fn validate_sweep_value(value: &serde_json::Value) -> Vec<Problem> {
    check(value, SWEEP_SCHEMA_VERSION, sweep_validator())
}

/// The version check, then the JSON Schema's problems.
fn check(
    value: &serde_json::Value,
    version: u32,
    validator: Option<&jsonschema::Validator>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(version) => {}
        Some(v) => problems.push(Problem {
            field: "/schema_version".into(),
            message: format!("version {v} is not supported (this tokbench reads {version})"),
        }),
        None => problems.push(Problem {
            field: "/schema_version".into(),
            message: "missing or not an integer".into(),
        }),
    }
    if !problems.is_empty() {
        return problems;
    }
    match validator {
        // `is_valid` stops at the first failure and builds no error, so a
        // good record (the usual case) costs one pass; the errors are only
        // collected for a bad one.
        Some(v) if v.is_valid(value) => {}
        Some(v) => problems.extend(v.iter_errors(value).map(|e| Problem {
            field: e.instance_path().to_string(),
            message: e.to_string(),
        })),
        None => problems.push(Problem {
            field: String::new(),
            message: "internal error: the record schema does not compile".into(),
        }),
    }
    problems
}

/// Validates a crossval record that is about to be written.
pub fn validate_crossval_record(record: &CrossvalRecord) -> Vec<Problem> {
    match serde_json::to_value(record) {
        Ok(v) => validate_crossval_value(&v),
        Err(e) => vec![Problem {
            field: String::new(),
            message: format!("not serialisable: {e}"),
        }],
    }
}

/// Validates a sweep record that is about to be written (empty when
/// valid). A non-finite number (NaN, ±∞) is named as a problem at its
/// field: YAML could write it, but no reader would accept it.
pub fn validate_sweep_record(record: &SweepRecord) -> Vec<Problem> {
    match serde_json::to_value(record) {
        Ok(v) => validate_sweep_value(&v),
        Err(e) => vec![Problem {
            field: String::new(),
            message: format!("not serialisable: {e}"),
        }],
    }
}

/// Validates a record value that is about to be written (tests use this on
/// every record they produce).
pub fn validate_record(record: &Record) -> Vec<Problem> {
    match serde_json::to_value(record) {
        Ok(v) => validate_value(&v),
        Err(e) => vec![Problem {
            field: String::new(),
            message: format!("not serialisable: {e}"),
        }],
    }
}
