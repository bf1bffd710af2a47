//! The pure core of scraping an inference server's Prometheus `/metrics`
//! during a benchmark cell: no HTTP, no async runtime.
//!
//! The runner's scraper (`tokbench-runner`, `scrape.rs`) polls `/metrics`
//! at a fixed interval, parses each body with [`Snapshot::parse`] at its
//! offset from the window start, feeds the polls to a [`Window`] and
//! converts the [`WindowSummary`] into the record's `engine_metrics`.
//!
//! ```
//! use tokbench_metrics::{Engine, Snapshot, Window};
//!
//! let body = |tokens: u32, seconds: f64| {
//!     [
//!         "# TYPE llamacpp:prompt_tokens_total counter".to_owned(),
//!         format!("llamacpp:prompt_tokens_total {tokens}"),
//!         "# TYPE llamacpp:prompt_seconds_total counter".to_owned(),
//!         format!("llamacpp:prompt_seconds_total {seconds}\n"),
//!     ]
//!     .join("\n")
//! };
//! let start = Snapshot::parse(&body(100, 0.5), 0.0)?;
//! let end = Snapshot::parse(&body(1100, 2.5), 10.0)?;
//! let summary = Window::new(start).finish(end);
//! assert_eq!(summary.engine, Engine::LlamaCpp);
//! // 1000 prompt tokens in 2 s of prompt processing, over a 10 s window.
//! assert_eq!(summary.canonical.prompt_tok_s, Some(500.0));
//! assert_eq!(summary.counters["llamacpp:prompt_tokens_total"].rate_per_s, Some(100.0));
//! // Not exported by this server: absent, not 0.
//! assert_eq!(summary.canonical.generation_tokens, None);
//! # Ok::<(), tokbench_metrics::MetricsError>(())
//! ```
//!
//! | Module | Concept |
//! |---|---|
//! | [`snapshot`] | One parsed exposition: series keyed by name + sorted labels, kinds, histograms |
//! | [`names`] | [`Engine`] detection and the one table of metric names ([`NAMES`]) |
//! | [`window`] | Counter deltas with the reset rule, gauge summaries, histogram deltas |
//! | [`canonical`] | Engine-independent figures (tokens, tok/s, hit rate, queue depth, TTFT …) |
//! | [`histogram`] | Histogram increases and the `histogram_quantile` estimate |
//! | [`error`] | Typed errors |
//!
//! # Parsing
//!
//! The text exposition format is parsed by the `prom_text_format_parser`
//! crate (MIT OR Apache-2.0): a `winnow` grammar of the format that accepts
//! `:` in metric names (every engine here uses it), escaped label values,
//! `NaN`/`+Inf`/`-Inf` and timestamps, and reports the line and column of
//! a syntax error. `prometheus-parse` was rejected because its name regex
//! (`\w+`) drops every `vllm:`/`llamacpp:` series and it skips malformed
//! lines silently; `openmetrics-parser` because of its LGPL-3.0 licence.
//!
//! # Name table
//!
//! [`NAMES`] lists, per [`Canonical`] quantity and [`Engine`], the exported
//! names, newest first (the first one present is used alone):
//!
//! | Quantity | llama.cpp | vLLM (new, then old) | SGLang (`sglang:` or `sglang_`) |
//! |---|---|---|---|
//! | prompt tokens | `llamacpp:prompt_tokens_total` | `vllm:prompt_tokens_total` | `prompt_tokens_total` |
//! | prompt tokens from the prompt cache | `llamacpp:prompt_tokens_cached_total` | — | — |
//! | generation tokens | `llamacpp:tokens_predicted_total` | `vllm:generation_tokens_total` | `generation_tokens_total` |
//! | prompt / generation seconds | `llamacpp:prompt_seconds_total`, `llamacpp:tokens_predicted_seconds_total` | — | — |
//! | prefix-cache queries / hits | — | `vllm:prefix_cache_queries_total` / `_hits_total`, then `vllm:gpu_prefix_cache_*_total` | — |
//! | prefix-cache hit rate (gauge) | — | `vllm:gpu_prefix_cache_hit_rate` (V0) | `cache_hit_rate` |
//! | preemptions | — | `vllm:num_preemptions_total` | — |
//! | finished requests by `finished_reason` | — | `vllm:request_success_total` | — |
//! | requests running | `llamacpp:requests_processing` | `vllm:num_requests_running` | `num_running_reqs` |
//! | requests waiting | `llamacpp:requests_deferred` | `vllm:num_requests_waiting` | `num_queue_reqs` |
//! | KV-cache usage (0..1) | `llamacpp:kv_cache_usage_ratio` | `vllm:kv_cache_usage_perc`, then `vllm:gpu_cache_usage_perc` | `token_usage` |
//! | TTFT | — | `vllm:time_to_first_token_seconds` | `time_to_first_token_seconds` |
//! | ITL | — | `vllm:inter_token_latency_seconds`, then `vllm:time_per_output_token_seconds` | `inter_token_latency_seconds`, then `time_per_output_token_seconds` |
//! | queue / prefill / decode time | — | `vllm:request_queue_time_seconds`, `vllm:request_prefill_time_seconds`, `vllm:request_decode_time_seconds` | — |
//! | E2E latency | — | `vllm:e2e_request_latency_seconds` | `e2e_request_latency_seconds` |
//!
//! vLLM's `*_usage_perc` is a 0..1 fraction despite its name. llama.cpp's
//! `prompt_tokens_total` excludes cached prompt tokens, and llama-server
//! prints values with six significant digits (C++ stream default), so
//! deltas of counters above 10^6 carry that rounding. Current llama.cpp
//! builds no longer export `kv_cache_usage_ratio`. Every other
//! exported series is kept under its own `name{labels}` in
//! [`WindowSummary::counters`], [`WindowSummary::gauges`] or
//! [`WindowSummary::histograms`], so engine-specific series (an offloading
//! runtime's expert-cache hits) are recorded without code changes.
//!
//! # Definitions
//!
//! Counter deltas and the reset rule, the gauge mean and histogram deltas
//! are defined in [`window`]; the quantile estimate in [`histogram`];
//! server-versus-client comparison in [`disagreement`]. A metric that is not
//! exported is absent (`None`, or missing from a map), never 0.

pub mod canonical;
pub mod error;
pub mod histogram;
pub mod names;
pub mod snapshot;
pub mod window;

pub use canonical::CanonicalFigures;
pub use error::MetricsError;
pub use histogram::{bucket_quantile, HistogramDelta};
pub use names::{detect, effective_kind, entry, Canonical, Engine, NameEntry, Shape, NAMES};
pub use snapshot::{Bucket, Histogram, Kind, Series, SeriesKey, Snapshot, Value};
pub use window::{CounterDelta, GaugeSummary, Window, WindowSummary};

/// Relative difference above which a server figure and a client figure are
/// flagged as disagreeing: 5 %.
pub const DISAGREEMENT_THRESHOLD: f64 = 0.05;

/// Flags a server-side figure that disagrees with the client's measurement
/// of the same quantity (e.g. generated tokens in the window).
///
/// The relative difference is `|server − client| / client`, the client
/// being the reference. Returns `Some(difference)` when it exceeds
/// [`DISAGREEMENT_THRESHOLD`], `None` when they agree. A zero client figure
/// with a non-zero server one gives `Some(f64::INFINITY)`; both zero, or a
/// NaN input, gives `None` (nothing to compare).
pub fn disagreement(server: f64, client: f64) -> Option<f64> {
    if server.is_nan() || client.is_nan() {
        return None;
    }
    if client == 0.0 {
        return (server != 0.0).then_some(f64::INFINITY);
    }
    let rel = (server - client).abs() / client.abs();
    (rel > DISAGREEMENT_THRESHOLD).then_some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreement_flags_only_above_five_percent() {
        // 104 vs 100: 4 % -> agree. 106 vs 100: 6 % -> flagged.
        assert_eq!(disagreement(104.0, 100.0), None);
        let d = disagreement(106.0, 100.0);
        assert!(d.is_some_and(|d| (d - 0.06).abs() < 1e-12), "{d:?}");
        // Relative to the client: 90 vs 100 is 10 %, not 11 %.
        let d = disagreement(90.0, 100.0);
        assert!(d.is_some_and(|d| (d - 0.10).abs() < 1e-12), "{d:?}");
        assert_eq!(disagreement(0.0, 0.0), None);
        assert_eq!(disagreement(1.0, 0.0), Some(f64::INFINITY));
        assert_eq!(disagreement(f64::NAN, 1.0), None);
    }
}
