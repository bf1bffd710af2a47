//! Did my change make it faster? Comparing and gating tokbench runs.
//!
//! `tokbench compare BASE NEW [MORE…]` and `tokbench gate` are built from
//! these parts, none of which needs an async runtime:
//!
//! | Module | Concept |
//! |---|---|
//! | [`load`] | A side: the records a file, folder or glob names, with the per-request values of their samples sidecars |
//! | [`quantity`] | What can be compared or gated: metric names, units, directions, statistics |
//! | [`matching`] | Pairing cells across sides ([`CellKey`]) and what differs between the sides |
//! | [`engine`] | Ratios with intervals, tests, Holm correction and verdicts per paired cell |
//! | [`gate_spec`] | Gate specs (`gates.yaml`), errors with file and line |
//! | [`gate`] | Judging gates on intervals: pass / fail / inconclusive |
//! | [`report`] | The result as exported |
//! | [`logblock`] | Performance-log blocks for `--log` (`docs/perflog.md`) |
//! | [`export`] | One exporter per format: table, Markdown, JSON, CSV |
//! | [`error`] | Typed errors naming the file (and line) |
//!
//! The statistics themselves (bootstrap, Mann–Whitney U, Holm, verdicts)
//! are `tokbench_stats::compare`'s; the definitions are in
//! `docs/methodology.md#comparing-runs`.

pub mod crossval_gate;
pub mod engine;
pub mod error;
pub mod export;
pub mod gate;
pub mod gate_spec;
pub mod load;
pub mod logblock;
pub mod matching;
pub mod quantity;
pub mod report;

pub use crossval_gate::{evaluate_crossval, CrossvalBars};
pub use engine::{compare_sides, gather, Gathered, Settings};
pub use error::CompareError;
pub use gate::{evaluate, GateResult, Status};
pub use gate_spec::{parse_spec, read_spec, Gate, GateKind, GateSpec};
pub use load::{
    expand, load_crossvals, load_pooled, load_run, load_runs, load_side, read_samples, CellSamples,
    Run, Side,
};
pub use logblock::LogContext;
pub use matching::{cells_of, differences, rig_of, CellKey, Property};
pub use quantity::{MetricSpec, Quantity, Unit, DEFAULT_METRICS, QUANTITIES};
pub use report::{CellTable, MetricRow, Report, SideInfo, Source, Unmatched, Versus};
