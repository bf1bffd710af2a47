//! The tokbench run record (schema version 1).
//!
//! [`schema`] defines the record, with the types of its parts in [`system`]
//! (host, GPUs, rig notes, host load, power, VRAM fit) and [`metrics`]
//! (summaries, error counts, prompt-cache check) and [`roofline`] (the
//! decode roofline's inputs and per-cell figures) and [`run_options`]
//! (goodput SLOs, the reasoning switch); [`io`] writes it as YAML
//! (atomically) and reads it back with errors that name the file and line;
//! [`validate`] checks records against the JSON Schema generated from the
//! types. [`crossval`] defines the second kind of record, the result of
//! `tokbench crossval` (`kind: crossval`), read and written by
//! [`crossval_io`]. [`sweep`] defines the third kind, the result of
//! `tokbench sweep` (`kind: sweep`): the space swept, each configuration's
//! fate and run records, and the ranking and winner of each objective,
//! written and read by [`sweep_io`]. [`crossval_io::read_any`] and
//! [`io::load_dirs_all`] read a folder holding every kind; run-record
//! readers ([`io::load_dirs`]) leave the other kinds out. The human
//! description of every field is `docs/record-format.md`.
//!
//! Every type serialised in a record is this crate's own. The measuring
//! crates (`tokbench-probe`, `tokbench-stats`) keep their own types, which
//! the binary converts into these, so the schema changes only when the
//! types here do; this crate depends on neither.
//!
//! This crate has no async runtime: the site generator depends on it.

pub mod crossval;
pub mod crossval_fixture;
pub mod crossval_io;
pub mod engine_fixture;
pub mod engine_metrics;
pub mod fixture;
pub mod io;
pub mod metrics;
pub mod roofline;
pub mod run_options;
pub mod schema;
pub mod sweep;
pub mod sweep_fixture;
pub mod sweep_io;
pub mod system;
pub mod validate;

pub use crossval::{
    crossval_json_schema, document_kind, Consistency, CrossvalPrompt, CrossvalRecord, CrossvalRun,
    CrossvalSettings, CrossvalSide, CrossvalSummary, DivergenceClass, DivergencePoint, Gap,
    PromptSetInfo, PromptVerdict, RecordKind, SideSource, TokenSource, TokenizationCheck,
    TokenizationStatus, CROSSVAL_SCHEMA_VERSION,
};
pub use crossval_io::{
    crossval_to_yaml, from_yaml_any, read_any, read_crossval, write_crossval, AnyRecord,
};
pub use engine_metrics::{
    EngineComparison, EngineCounter, EngineFigures, EngineGauge, EngineHistogram, EngineMetrics,
    LoadTime,
};
pub use io::{
    from_yaml, load_dirs, load_dirs_all, read_record, record_id, record_paths, sidecar_path, slug,
    to_yaml, write_atomic, write_record, LoadedAll, RecordError,
};
pub use metrics::{CellMetrics, Ci, ErrorKind, PromptCacheCheck, Summary};
pub use roofline::{
    BandwidthSource, CellRoofline, CpuBandwidthMeasurement, DecodeBytesSection, Roofline, GB,
};
pub use run_options::{GoodputSlo, ReasoningSection};
pub use schema::{
    BackendSection, Cell, CellStop, Experts, Flags, ModelSection, PromptSettings, Provenance,
    Record, Resources, RunInfo, SystemSection, SCHEMA_VERSION,
};
pub use sweep::{
    sweep_json_schema, ConfigStatus, QualityGateSettings, QualityResult, RankedConfig, SweepConfig,
    SweepModel, SweepObjective, SweepParameter, SweepRecord, SweepRequests, SweepRun,
    SweepSettings, SWEEP_SCHEMA_VERSION,
};
pub use sweep_io::{read_sweep, sweep_to_yaml, write_sweep};
pub use system::{
    CpuSummary, GpuClocks, GpuInfo, GpuPower, GpuPowerSummary, GpuSource, HostLoadSummary, LoadAvg,
    MemorySummary, OsInfo, PcieLink, PowerSummary, RigNotes, SystemInfo, Virtualization, VramFit,
};
pub use validate::{
    json_schema, validate_crossval_record, validate_crossval_value, validate_record,
    validate_sweep_record, validate_sweep_value, validate_value, Problem,
};
