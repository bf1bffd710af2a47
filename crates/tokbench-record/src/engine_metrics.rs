//! What the engine itself said during a cell: its Prometheus `/metrics`
//! scraped at a fixed interval over the cell's measured window
//! (`docs/methodology.md`, "Engine metrics"), and how long a launched
//! server took to load.
//!
//! [`EngineMetrics`] is the record's copy of a window summary: counter
//! deltas and rates, gauge min/mean/max (the polled values themselves go to
//! the samples sidecar), histogram estimates, the engine-independent
//! figures ([`EngineFigures`]) and each comparison of a server figure with
//! tokbench's own ([`EngineComparison`]). A metric the engine does not
//! export is absent, never 0.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The engine's own account of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineMetrics {
    /// Engine detected from the exported names: `llamacpp`, `vllm`,
    /// `sglang` or `unknown`.
    pub engine: String,
    /// Poll interval, ms.
    pub interval_ms: u64,
    /// From the start poll (after the cell's warm-up) to the end poll, s.
    pub window_s: f64,
    /// Polls used, start and end included.
    pub polls: u64,
    /// Polls that failed (connection, HTTP status, unparsable body); each
    /// failure's first message is in `notes`.
    #[serde(default)]
    pub failed_polls: u64,
    /// Engine-independent figures through the name table.
    pub figures: EngineFigures,
    /// Server figures next to tokbench's own for the same requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<EngineComparison>,
    /// Every counter series' increase, by `name{labels}`.
    #[serde(default)]
    pub counters: BTreeMap<String, EngineCounter>,
    /// Every gauge series over the polls, by `name{labels}`.
    #[serde(default)]
    pub gauges: BTreeMap<String, EngineGauge>,
    /// Every histogram series' increase, by `name{labels}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub histograms: BTreeMap<String, EngineHistogram>,
    /// Counter resets (server restarts), series that appeared or vanished,
    /// failed polls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A counter's increase over the window (Prometheus `increase()` rule: a
/// drop between polls is a reset and the count restarts from 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineCounter {
    /// Increase, in the counter's unit; never negative.
    pub delta: f64,
    /// `delta / window_s`, per second.
    pub rate_per_s: Option<f64>,
    /// Resets seen (server restarts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resets: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A gauge over the window's polls (each poll weighted equally).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineGauge {
    /// Smallest polled value.
    pub min: f64,
    /// Mean of the polled values.
    pub mean: f64,
    /// Largest polled value.
    pub max: f64,
    /// Polled values (stored in the samples sidecar as `engine_gauge` lines).
    pub samples: u64,
}

/// A histogram's increase over the window, with quantiles estimated from
/// its buckets as Prometheus' `histogram_quantile()` does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineHistogram {
    /// Observations in the window.
    pub count: f64,
    /// Their sum, in the metric's unit (seconds for latencies).
    pub sum: f64,
    /// `sum / count`.
    pub mean: Option<f64>,
    /// Median estimate.
    pub p50: Option<f64>,
    /// 90th-percentile estimate.
    pub p90: Option<f64>,
    /// 99th-percentile estimate.
    pub p99: Option<f64>,
}

/// Engine-independent figures of the window; `None` = not exported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineFigures {
    /// Prompt tokens the engine processed, tokens (llama.cpp: evaluated,
    /// without those reused from its prompt cache).
    pub prompt_tokens: Option<f64>,
    /// Prompt tokens reused from the prompt cache, tokens (llama.cpp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_cached: Option<f64>,
    /// Tokens generated, tokens.
    pub generation_tokens: Option<f64>,
    /// The engine's prompt rate: prompt tokens ÷ its prompt seconds, tok/s
    /// (llama.cpp).
    pub prompt_tok_s: Option<f64>,
    /// The engine's generation rate: generated tokens ÷ its generation
    /// seconds, tok/s (llama.cpp).
    pub generation_tok_s: Option<f64>,
    /// Prefix-cache hit rate, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_cache_hit_rate: Option<f64>,
    /// Preemptions in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptions: Option<f64>,
    /// Requests finished by `finished_reason`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub finished_by_reason: BTreeMap<String, f64>,
    /// Requests running (llama.cpp: processing), requests.
    pub requests_running: Option<EngineGauge>,
    /// Requests waiting (llama.cpp: deferred): the queue depth, requests.
    pub requests_waiting: Option<EngineGauge>,
    /// KV-cache usage, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_usage: Option<EngineGauge>,
    /// Slots of a llama-server busy (from `/slots`), slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots_busy: Option<EngineGauge>,
    /// Time to first token, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<EngineHistogram>,
    /// Inter-token latency, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_s: Option<EngineHistogram>,
    /// Queue time, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_time_s: Option<EngineHistogram>,
    /// Prefill time, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_time_s: Option<EngineHistogram>,
    /// Decode time, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_time_s: Option<EngineHistogram>,
    /// End-to-end latency, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_s: Option<EngineHistogram>,
}

/// One quantity as the engine counted it and as tokbench did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineComparison {
    /// The quantity's name, with its unit (`generation_tokens`,
    /// `prompt_tok_s`, `ttft_ms.mean`, …).
    pub quantity: String,
    /// The engine's figure.
    pub server: f64,
    /// tokbench's figure for the same requests.
    pub client: f64,
    /// Where tokbench's figure comes from (e.g. `Σ timings.predicted_n ÷
    /// Σ timings.predicted_ms`).
    pub client_source: String,
    /// `|server − client| / client`.
    pub rel_diff: Option<f64>,
    /// `rel_diff` above 5 %.
    pub disagrees: bool,
}

/// How long a server tokbench launched took to become usable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoadTime {
    /// From starting the server process to its first healthy answer, s
    /// (model load, warm-up inside the server).
    pub healthy_s: f64,
    /// Time to first token of the first generation request sent to the
    /// server (a cold request), ms.
    pub first_request_ttft_ms: Option<f64>,
    /// `healthy_s` + `first_request_ttft_ms`: load to first token, not
    /// counting tokbench's own work between the two (bandwidth probe,
    /// calibration), s.
    pub first_token_s: Option<f64>,
}
