//! The sweep record (`kind: sweep`, schema version 1): the result of one
//! `tokbench sweep MODEL --set NAME=v1,v2 …`, written as YAML beside the
//! run records it ties together.
//!
//! A sweep launches a server per configuration (one value per parameter of
//! the space), measures it over rounds (one run record per configuration
//! and round, its mode label the configuration label such as
//! `flash-attn=on, threads=2`), drops configurations that cannot win
//! between rounds (racing), gates the rest on output quality against the
//! reference configuration and on SLOs, and names a winner per objective.
//! Fields: `docs/record-format.md`, section "Sweep records"; machine
//! schema: `docs/sweep-record.schema.json` ([`sweep_json_schema`]).
//!
//! A document whose top-level `kind` is `sweep` is a sweep record
//! ([`crate::document_kind`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::crossval::RecordKind;
use crate::schema::{Provenance, SystemSection};
use crate::system::HostLoadSummary;

/// The sweep schema version this crate writes.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// A complete sweep record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepRecord {
    /// Always [`SWEEP_SCHEMA_VERSION`] for records written by this version.
    pub schema_version: u32,
    /// Always [`RecordKind::Sweep`].
    pub kind: RecordKind,
    /// The invocation.
    pub run: SweepRun,
    /// The machine the servers ran on.
    pub system: SystemSection,
    /// The model every configuration served.
    pub model: SweepModel,
    /// The server: `llama.cpp`, `vllm`, or the template engine's name.
    pub backend: String,
    /// The parameters swept and their values, in command-line order; the
    /// configurations are (a subset of) their cross product.
    pub space: Vec<SweepParameter>,
    /// Rounds, request counts, the reference, the quality gate and SLOs.
    pub settings: SweepSettings,
    /// One entry per objective, each with its ranking and winner.
    pub objectives: Vec<SweepObjective>,
    /// One entry per configuration, in launch order.
    pub configs: Vec<SweepConfig>,
    /// Requests spent, against an exhaustive sweep.
    pub requests: SweepRequests,
    /// How to reproduce the sweep.
    pub provenance: Provenance,
}

/// The invocation of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepRun {
    /// Unique id, also the file stem:
    /// `YYYY-MM-DD-sweep-<model slug>-<short id>`.
    pub id: String,
    /// Start, UTC, RFC 3339.
    pub started_utc: String,
    /// End, UTC, RFC 3339 (also when interrupted: when it stopped).
    pub finished_utc: String,
    /// Wall time from start to end, seconds.
    pub duration_s: f64,
    /// tokbench version (`CARGO_PKG_VERSION`).
    pub tokbench_version: String,
    /// Git commit tokbench was built from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokbench_commit: Option<String>,
    /// The command line, with secrets replaced by `***`.
    pub command_line: Vec<String>,
    /// `true` when the sweep was stopped (Ctrl-C) before every
    /// configuration was measured; the record holds what was measured.
    pub interrupted: bool,
    /// Host load before and during the sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_load: Option<HostLoadSummary>,
}

/// The model every configuration served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepModel {
    /// The model file's name (no directory), when it is a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The model as given: a file path or a served model name.
    pub path: String,
    /// SHA-256 (lower-case hex) of the model file, when hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One swept parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SweepParameter {
    /// Parameter name as given to `--set` (e.g. `flash-attn`, `threads`).
    pub name: String,
    /// Its values, in the order given (strings, as typed).
    pub values: Vec<String>,
}

/// How the sweep measured and judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepSettings {
    /// Most measurement rounds per configuration.
    pub rounds: u64,
    /// Requests per configuration per round.
    pub requests_per_round: u64,
    /// Workload scale factor applied to the shapes' request counts
    /// (1 = as defined).
    pub scale: f64,
    /// `true` with `--exhaustive`: no racing, every configuration measured
    /// every round.
    pub exhaustive: bool,
    /// Label of the reference configuration: quality and `vs reference`
    /// are relative to it.
    pub reference: String,
    /// The output-quality gate; absent when none was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityGateSettings>,
    /// Service-level objectives a configuration must meet to win, e.g.
    /// `ttft_ms.p99<=2000`; empty when none.
    #[serde(default)]
    pub slo: Vec<String>,
}

/// The output-quality gate against the reference configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QualityGateSettings {
    /// Prompt set compared: `builtin-v1` or the file name given.
    pub prompt_set: String,
    /// Prompts compared per configuration.
    pub prompts: u64,
    /// Most tokens generated per prompt.
    pub tokens: u64,
    /// Fewest prompts that must be identical to the reference to pass.
    pub min_identical: u64,
    /// Most hard divergences allowed to pass.
    pub max_hard: u64,
    /// External quality command run per configuration, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_cmd: Option<String>,
    /// Largest drop of the quality command's score below the reference's
    /// allowed to pass (score units), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_score_drop: Option<f64>,
}

/// One objective: a metric of a shape at a concurrency, and its ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepObjective {
    /// `<metric>@<shape>@<concurrency>`, e.g. `decode_tok_s@chat@1`.
    pub label: String,
    /// Metric key, e.g. `decode_tok_s` or `ttft_ms`.
    pub metric: String,
    /// Shape name.
    pub shape: String,
    /// Concurrency level (closed loop).
    pub concurrency: u64,
    /// `true` when a larger value is better (throughput), `false` for
    /// latencies.
    pub higher_is_better: bool,
    /// Unit of the values: `tok/s` or `ms`.
    pub unit: String,
    /// Label of the winning configuration; absent when none is eligible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// Every configuration with a value, best first (eligible ones before
    /// ineligible ones).
    pub ranking: Vec<RankedConfig>,
}

/// One configuration's place in an objective's ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankedConfig {
    /// Configuration label, e.g. `flash-attn=on, threads=2`.
    pub label: String,
    /// Median of the metric over its samples, in the objective's unit.
    pub median: f64,
    /// Lower end of the median's 95% confidence interval, objective's
    /// unit, when computable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_low: Option<f64>,
    /// Upper end of the median's 95% confidence interval, objective's
    /// unit, when computable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_high: Option<f64>,
    /// Samples (requests) behind the median.
    pub samples: u64,
    /// `(median / reference median − 1) × 100`, percent; absent for the
    /// reference itself or without a reference value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_reference_pct: Option<f64>,
    /// `false` when the configuration failed the quality gate or an SLO:
    /// it is ranked but cannot win.
    pub eligible: bool,
}

/// One configuration of the space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepConfig {
    /// Label, also the mode of its run records: `name=value` pairs joined
    /// with `, `.
    pub label: String,
    /// Parameter name → value.
    pub values: BTreeMap<String, String>,
    /// What became of it.
    pub status: ConfigStatus,
    /// Why it was dropped, failed or not run (e.g. `refused: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last round it was measured in before racing dropped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_after_round: Option<u64>,
    /// Rounds in which it was measured.
    pub rounds_measured: u64,
    /// Requests it was sent over all rounds.
    pub requests: u64,
    /// The exact server command line (secrets replaced by `***`), when a
    /// server was launched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_command: Option<Vec<String>>,
    /// Ids of its run records, one per round measured.
    #[serde(default)]
    pub records: Vec<String>,
    /// Its quality-gate result; absent when not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityResult>,
    /// The SLOs it broke, as written in `settings.slo`.
    #[serde(default)]
    pub slo_violations: Vec<String>,
}

/// What became of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigStatus {
    /// Measured in every round it took part in, to the end.
    Measured,
    /// Dropped by racing: it could no longer win.
    Dropped,
    /// Its server did not start, refused the configuration or failed.
    Failed,
    /// The sweep was interrupted while it was being measured.
    Interrupted,
    /// Never launched (the sweep stopped first).
    NotRun,
}

/// A configuration's quality-gate result against the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QualityResult {
    /// Whether it passed the gate.
    pub passed: bool,
    /// Prompts compared.
    pub compared: u64,
    /// Prompts identical token for token to the reference.
    pub identical: u64,
    /// Hard divergences.
    pub hard: u64,
    /// Near-tie divergences.
    pub near_tie: u64,
    /// Other divergences: unclassified and length.
    pub other: u64,
    /// Its quality-command score, when a command was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The reference configuration's score, when a command was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_score: Option<f64>,
    /// Why it failed, or what else is worth knowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Id of the crossval record written for the comparison, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossval_record: Option<String>,
}

/// Requests spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SweepRequests {
    /// Requests sent over all configurations and rounds.
    pub measured: u64,
    /// Requests measuring every non-failed configuration every round would
    /// have taken.
    pub exhaustive: u64,
}

/// The JSON Schema (draft 2020-12) of [`SweepRecord`], as shipped in
/// `docs/sweep-record.schema.json`.
pub fn sweep_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(SweepRecord)).unwrap_or_default()
}
