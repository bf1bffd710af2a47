//! The one table of engine metric names, and engine detection.
//!
//! [`NAMES`] maps each [`Canonical`] quantity to the series names each
//! [`Engine`] exports for it, newest name first. Renames between versions
//! live here and nowhere else: when an engine renames a metric, add the new
//! name in front of the old one. Names are as they appear in the text
//! exposition, so counters carry their `_total` suffix (Python's
//! `prometheus_client` appends it to a counter named without it).
//!
//! Sources: llama.cpp `tools/server/server.cpp`, in newer versions
//! `server_task_result_metrics::to_metrics` in `tools/server/server-task.cpp`;
//! vLLM `docs/design/metrics.md` and `vllm/v1/metrics/loggers.py`; SGLang
//! `docs/references/production_metrics.md` and
//! `python/sglang/srt/metrics/collector.py`.

use serde::Serialize;

use crate::snapshot::{Kind, Snapshot};

/// The inference server that produced a snapshot, told by its metric prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// llama.cpp's `llama-server --metrics` (`llamacpp:` prefix).
    LlamaCpp,
    /// vLLM (`vllm:` prefix).
    Vllm,
    /// SGLang (`sglang:` prefix, `sglang_` in some versions).
    Sglang,
    /// None of the above prefixes is exported.
    Unknown,
}

impl Engine {
    /// Metric-name prefixes that identify the engine.
    pub fn prefixes(self) -> &'static [&'static str] {
        match self {
            Engine::LlamaCpp => &["llamacpp:"],
            Engine::Vllm => &["vllm:"],
            Engine::Sglang => &["sglang:", "sglang_"],
            Engine::Unknown => &[],
        }
    }
}

/// Detects the engine: the one whose prefix starts the most series names.
///
/// A snapshot with none of the known prefixes (an engine this crate does not
/// know, or an empty exposition) gives [`Engine::Unknown`].
pub fn detect(snapshot: &Snapshot) -> Engine {
    [Engine::LlamaCpp, Engine::Vllm, Engine::Sglang]
        .into_iter()
        .map(|engine| {
            let n = snapshot
                .series
                .keys()
                .filter(|k| engine.prefixes().iter().any(|p| k.name.starts_with(p)))
                .count();
            (n, engine)
        })
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map_or(Engine::Unknown, |(_, e)| e)
}

/// How a canonical quantity is summarised over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Increase over the window, summed over the series' label sets.
    Counter,
    /// Min, mean and max over the polls; label sets summed per poll.
    GaugeSum,
    /// Min, mean and max over the polls; label sets averaged per poll.
    GaugeMean,
    /// Bucket increases over the window, label sets merged.
    Histogram,
}

/// An engine-independent quantity. Units are in each variant's doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Canonical {
    /// Prompt (prefill) tokens processed, tokens (counter).
    PromptTokens,
    /// Prompt tokens reused from the prompt cache instead of being
    /// processed, tokens (counter; llama.cpp, whose
    /// [`PromptTokens`](Canonical::PromptTokens) excludes them).
    PromptTokensCached,
    /// Generated tokens, tokens (counter).
    GenerationTokens,
    /// Time spent on prompt processing, seconds (counter; llama.cpp only).
    PromptSeconds,
    /// Time spent generating, seconds (counter; llama.cpp only).
    GenerationSeconds,
    /// Prefix-cache lookups, tokens (counter; vLLM V1).
    PrefixCacheQueries,
    /// Prefix-cache hits, tokens (counter; vLLM V1).
    PrefixCacheHits,
    /// The engine's own prefix-cache hit rate, ratio 0..1 (gauge; SGLang,
    /// vLLM V0). Used only where the hit and query counters are absent.
    PrefixCacheHitRate,
    /// Preempted requests (counter).
    Preemptions,
    /// Finished requests, one series per `finished_reason` label (counter).
    RequestsFinished,
    /// Requests being processed, requests (gauge).
    RequestsRunning,
    /// Requests waiting or deferred: queue depth, requests (gauge).
    RequestsWaiting,
    /// KV-cache usage, ratio 0..1 (gauge).
    KvCacheUsage,
    /// Time to first token, seconds (histogram).
    Ttft,
    /// Inter-token latency, seconds (histogram).
    Itl,
    /// Time queued before scheduling, seconds (histogram).
    QueueTime,
    /// Time in prefill, seconds (histogram).
    PrefillTime,
    /// Time in decode, seconds (histogram).
    DecodeTime,
    /// End-to-end request latency, seconds (histogram).
    E2e,
}

impl Canonical {
    /// How the quantity is summarised.
    pub fn shape(self) -> Shape {
        use Canonical::*;
        match self {
            PromptTokens | PromptTokensCached | GenerationTokens | PromptSeconds
            | GenerationSeconds | PrefixCacheQueries | PrefixCacheHits | Preemptions
            | RequestsFinished => Shape::Counter,
            RequestsRunning | RequestsWaiting => Shape::GaugeSum,
            KvCacheUsage | PrefixCacheHitRate => Shape::GaugeMean,
            Ttft | Itl | QueueTime | PrefillTime | DecodeTime | E2e => Shape::Histogram,
        }
    }
}

/// One row of the name table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameEntry {
    /// The quantity.
    pub canonical: Canonical,
    /// The engine exporting it.
    pub engine: Engine,
    /// Exported series names, newest first. The first one present in a
    /// window is used alone, so an engine exporting an old and a new name
    /// side by side (vLLM's deprecation period) is not counted twice.
    pub names: &'static [&'static str],
    /// Multiplier from the exported unit to the canonical unit. Every entry
    /// is 1 today: vLLM's `*_cache_usage_perc` is a 0..1 fraction despite its
    /// name ("1 means 100 percent usage" in its help text), as are SGLang's
    /// `token_usage` and llama.cpp's `kv_cache_usage_ratio`.
    pub scale: f64,
}

const fn row(canonical: Canonical, engine: Engine, names: &'static [&'static str]) -> NameEntry {
    NameEntry {
        canonical,
        engine,
        names,
        scale: 1.0,
    }
}

use Canonical as C;
use Engine::{LlamaCpp as L, Sglang as S, Vllm as V};

/// The name table: every known (quantity, engine) pair. See the module docs.
pub const NAMES: &[NameEntry] = &[
    row(C::PromptTokens, L, &["llamacpp:prompt_tokens_total"]),
    row(
        C::PromptTokensCached,
        L,
        &["llamacpp:prompt_tokens_cached_total"],
    ),
    row(C::PromptSeconds, L, &["llamacpp:prompt_seconds_total"]),
    row(C::GenerationTokens, L, &["llamacpp:tokens_predicted_total"]),
    row(
        C::GenerationSeconds,
        L,
        &["llamacpp:tokens_predicted_seconds_total"],
    ),
    row(C::RequestsRunning, L, &["llamacpp:requests_processing"]),
    row(C::RequestsWaiting, L, &["llamacpp:requests_deferred"]),
    row(C::KvCacheUsage, L, &["llamacpp:kv_cache_usage_ratio"]),
    row(C::PromptTokens, V, &["vllm:prompt_tokens_total"]),
    row(C::GenerationTokens, V, &["vllm:generation_tokens_total"]),
    row(
        C::PrefixCacheQueries,
        V,
        &[
            "vllm:prefix_cache_queries_total",
            "vllm:gpu_prefix_cache_queries_total",
        ],
    ),
    row(
        C::PrefixCacheHits,
        V,
        &[
            "vllm:prefix_cache_hits_total",
            "vllm:gpu_prefix_cache_hits_total",
        ],
    ),
    row(
        C::PrefixCacheHitRate,
        V,
        &["vllm:gpu_prefix_cache_hit_rate"],
    ),
    // V1's counter `vllm:num_preemptions` and V0's `vllm:num_preemptions_total`
    // are both exposed as `vllm:num_preemptions_total`.
    row(C::Preemptions, V, &["vllm:num_preemptions_total"]),
    row(C::RequestsFinished, V, &["vllm:request_success_total"]),
    row(C::RequestsRunning, V, &["vllm:num_requests_running"]),
    row(C::RequestsWaiting, V, &["vllm:num_requests_waiting"]),
    row(
        C::KvCacheUsage,
        V,
        &["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
    ),
    row(C::Ttft, V, &["vllm:time_to_first_token_seconds"]),
    row(
        C::Itl,
        V,
        &[
            "vllm:inter_token_latency_seconds",
            "vllm:time_per_output_token_seconds",
        ],
    ),
    row(C::QueueTime, V, &["vllm:request_queue_time_seconds"]),
    row(C::PrefillTime, V, &["vllm:request_prefill_time_seconds"]),
    row(C::DecodeTime, V, &["vllm:request_decode_time_seconds"]),
    row(C::E2e, V, &["vllm:e2e_request_latency_seconds"]),
    row(
        C::PromptTokens,
        S,
        &["sglang:prompt_tokens_total", "sglang_prompt_tokens_total"],
    ),
    row(
        C::GenerationTokens,
        S,
        &[
            "sglang:generation_tokens_total",
            "sglang_generation_tokens_total",
        ],
    ),
    row(
        C::PrefixCacheHitRate,
        S,
        &["sglang:cache_hit_rate", "sglang_cache_hit_rate"],
    ),
    row(
        C::RequestsRunning,
        S,
        &["sglang:num_running_reqs", "sglang_num_running_reqs"],
    ),
    row(
        C::RequestsWaiting,
        S,
        &["sglang:num_queue_reqs", "sglang_num_queue_reqs"],
    ),
    row(
        C::KvCacheUsage,
        S,
        &["sglang:token_usage", "sglang_token_usage"],
    ),
    row(
        C::Ttft,
        S,
        &[
            "sglang:time_to_first_token_seconds",
            "sglang_time_to_first_token_seconds",
        ],
    ),
    row(
        C::Itl,
        S,
        &[
            "sglang:inter_token_latency_seconds",
            "sglang_inter_token_latency_seconds",
            "sglang:time_per_output_token_seconds",
            "sglang_time_per_output_token_seconds",
        ],
    ),
    row(
        C::E2e,
        S,
        &[
            "sglang:e2e_request_latency_seconds",
            "sglang_e2e_request_latency_seconds",
        ],
    ),
];

/// The table row for `canonical` on `engine`, if the engine exports it.
pub fn entry(engine: Engine, canonical: Canonical) -> Option<&'static NameEntry> {
    NAMES
        .iter()
        .find(|e| e.engine == engine && e.canonical == canonical)
}

/// Series exported with `# TYPE ... counter` that are not monotonic totals
/// and are therefore summarised as gauges: llama.cpp's `n_tokens_max` (a
/// maximum) and, in older builds, `n_busy_slots_per_decode` (a running
/// average; newer builds type it `gauge`). Differencing them would report
/// false counter resets.
pub const COUNTERS_THAT_ARE_GAUGES: &[&str] =
    &["llamacpp:n_busy_slots_per_decode", "llamacpp:n_tokens_max"];

/// The kind a series is summarised as: its exported kind, except for
/// [`COUNTERS_THAT_ARE_GAUGES`].
pub fn effective_kind(name: &str, exported: Kind) -> Kind {
    if exported == Kind::Counter && COUNTERS_THAT_ARE_GAUGES.contains(&name) {
        Kind::Gauge
    } else {
        exported
    }
}
