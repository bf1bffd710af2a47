//! The tokbench run record (schema version 1).
//!
//! [`schema`] defines the record; [`io`] writes it as YAML (atomically) and
//! reads it back with errors that name the file and line; [`validate`]
//! checks records against the JSON Schema generated from the types. The
//! human description of every field is `docs/record-format.md`.
//!
//! This crate has no async runtime: the site generator depends on it.

pub mod fixture;
pub mod io;
pub mod schema;
pub mod validate;

pub use io::{
    from_yaml, load_dirs, read_record, record_id, record_paths, slug, to_yaml, write_atomic,
    write_record, RecordError,
};
pub use schema::{
    BackendSection, Cell, CellStop, Experts, Flags, ModelSection, PromptSettings, Provenance,
    Record, Resources, RunInfo, SystemSection, SCHEMA_VERSION,
};
pub use validate::{json_schema, validate_record, validate_value, Problem};
