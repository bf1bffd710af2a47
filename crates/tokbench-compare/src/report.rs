//! The result of a comparison, as exported (JSON field names are part of
//! the output contract; `docs/methodology.md#comparing-runs`).

use serde::Serialize;
use tokbench_stats::{CompareOptions, Direction, MetricComparison, Statistic, Verdict};

use crate::matching::{CellKey, Property};
use crate::quantity::{Quantity, Unit};

/// A whole comparison: sides, what differs, and one table per paired cell.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The sides; the first is the baseline.
    pub sides: Vec<SideInfo>,
    /// Every compared property, differing or the same.
    pub properties: Vec<Property>,
    /// `true` when the sides come from different rigs (`--across-rigs`):
    /// every table then measures the rig as much as the change.
    pub across_rigs: bool,
    /// The statistics' options (level, resamples, seed, noise, alpha,
    /// minimum samples).
    pub options: CompareOptions,
    /// One table per cell measured on the baseline and at least one other
    /// side.
    pub tables: Vec<CellTable>,
    /// Cells not measured on every side: the key and the sides that have it.
    pub unmatched: Vec<Unmatched>,
    /// Remarks that apply to the whole comparison (summary fallback, …).
    pub notes: Vec<String>,
}

/// One side as loaded.
#[derive(Debug, Clone, Serialize)]
pub struct SideInfo {
    /// The argument that named it.
    pub label: String,
    /// Runs pooled in it.
    pub runs: usize,
    /// Runs whose samples sidecar was read.
    pub runs_with_samples: usize,
}

/// A cell present on some sides only.
#[derive(Debug, Clone, Serialize)]
pub struct Unmatched {
    /// The cell.
    pub key: CellKey,
    /// Indices of the sides that measured it.
    pub sides: Vec<usize>,
}

/// The comparison of one paired cell.
#[derive(Debug, Clone, Serialize)]
pub struct CellTable {
    /// The cell.
    pub key: CellKey,
    /// One row per metric recorded on the baseline or another side.
    pub rows: Vec<MetricRow>,
    /// Remarks for this cell (prompt cache, across rigs, …).
    pub notes: Vec<String>,
}

/// Where a row's values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Per-request values from the samples sidecars (bootstrap, Mann–Whitney).
    Samples,
    /// One value per run (throughput, energy, memory): bootstrap over runs.
    Runs,
    /// The recorded summaries, because a side has no sidecar: ratio of
    /// medians with a normal-approximation interval, or no interval at all.
    Summaries,
}

/// One metric of one cell across the sides.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// Row label, e.g. `decode_tok_s` or `ttft_ms p99`.
    pub metric: String,
    /// The quantity.
    pub quantity: Quantity,
    /// The statistic compared.
    pub statistic: Statistic,
    /// Unit of `value`.
    pub unit: Unit,
    /// Which way is better.
    pub direction: Direction,
    /// The baseline's value of the statistic, if recorded.
    pub base: Option<f64>,
    /// Values counted on the baseline (requests, intervals or runs).
    pub n_base: usize,
    /// One entry per other side, in side order.
    pub versus: Vec<Versus>,
}

/// One non-baseline side against the baseline, for one metric.
#[derive(Debug, Clone, Serialize)]
pub struct Versus {
    /// Index of the side.
    pub side: usize,
    /// This side's value of the statistic, if recorded.
    pub value: Option<f64>,
    /// Values counted on this side.
    pub n: usize,
    /// Where the values came from.
    pub source: Source,
    /// NEW/BASE ratio of the statistic (also when no interval exists).
    pub ratio: Option<f64>,
    /// The interval, test and verdict, when the data allows one.
    pub comparison: Option<MetricComparison>,
    /// The verdict (`inconclusive` without a comparison).
    pub verdict: Verdict,
}
