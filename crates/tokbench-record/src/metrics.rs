//! A cell's metrics as recorded: summaries, confidence intervals, error
//! counts and the prompt-cache check.
//!
//! These are the record's own types, not `tokbench-stats`' (which computes
//! them): the binary converts the statistics into these
//! (`crates/tokbench/src/bench/convert.rs`), so a new field in a stats
//! struct does not reach schema v1 until it is added here, to the JSON
//! Schema (`docs/record.schema.json`) and to `docs/record-format.md`.
//!
//! Names, fields, serde attributes and doc comments match the stats types
//! they were split from, because schemars turns doc comments into the
//! schema's `description`s. A few doc comments therefore still link to stats
//! items (`measurement_window_s`, `SummaryOptions::validate`,
//! `reused_more_than_intended`) that this crate cannot resolve; changing the
//! text would change the committed schema.

// The doc comments are schema text (see the module docs); some name items of
// tokbench-stats.
#![allow(rustdoc::broken_intra_doc_links)]

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a request failed. Grouped into kinds for "errors by kind" counts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect / DNS failure.
    Connect,
    /// Non-2xx HTTP status.
    HttpStatus,
    /// No bytes for longer than the read (stall) timeout.
    Stall,
    /// An SSE event that is not valid JSON or not the expected shape.
    MalformedEvent,
    /// A line longer than the framing limit.
    LineTooLong,
    /// Stream ended without `[DONE]`.
    EarlyClose,
    /// Error object sent inside the stream.
    StreamError,
    /// Any other I/O or protocol error.
    Other,
    /// The request was cancelled (Ctrl-C, deadline) before it finished.
    Cancelled,
}

/// Aggregated metrics of one cell. Summaries are `None` when no successful
/// request defines the metric; rates are `None` when the window is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CellMetrics {
    /// Measured (non-warm-up) requests.
    pub requests: u64,
    /// Warm-up requests that were excluded.
    pub warmup_excluded: u64,
    /// Measured requests that succeeded.
    pub ok: u64,
    /// Measured failed requests, by kind (`requests = ok + Σ errors`).
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Measurement window, s ([`measurement_window_s`]).
    pub window_s: Option<f64>,
    /// `total_output_tokens / window_s`, tok/s.
    pub aggregate_output_tok_s: Option<f64>,
    /// `ok / window_s`, requests/s.
    pub request_throughput_rps: Option<f64>,
    /// Time to first token, ms.
    pub ttft_ms: Option<Summary>,
    /// Time to first content token, ms.
    pub ttfc_ms: Option<Summary>,
    /// Client-side prefill rate, tok/s.
    pub prefill_tok_s: Option<Summary>,
    /// Server-reported prefill rate, tok/s.
    pub server_prefill_tok_s: Option<Summary>,
    /// Per-request decode rate ("gen tok/s"), tok/s.
    pub decode_tok_s: Option<Summary>,
    /// Server-reported decode rate, tok/s.
    pub server_decode_tok_s: Option<Summary>,
    /// Time per output token, ms.
    pub tpot_ms: Option<Summary>,
    /// Normalised inter-token latency over all tokens of all successful
    /// requests, ms. Never has a bootstrap CI (it can hold millions of
    /// values).
    pub itl_ms: Option<Summary>,
    /// End-to-end latency, ms.
    pub e2e_ms: Option<Summary>,
    /// Client-side queueing delay (actual − intended send), ms.
    pub queue_delay_ms: Option<Summary>,
    /// Output tokens per request.
    pub output_tokens: Option<Summary>,
    /// Prompt tokens per request (requests with a known count).
    pub prompt_tokens: Option<Summary>,
    /// Σ output tokens of successful requests.
    pub total_output_tokens: u64,
    /// Σ reasoning tokens of successful requests.
    pub total_reasoning_tokens: u64,
    /// Σ content tokens of successful requests.
    pub total_content_tokens: u64,
    /// Σ prompt tokens of successful requests with a known count.
    pub total_prompt_tokens: u64,
    /// Successful requests whose output count came from `usage`.
    pub token_source_usage: u64,
    /// Successful requests whose output count came from stream events.
    pub token_source_stream: u64,
    /// Mean of `usage − events` over successful requests with usage.
    pub mean_token_count_discrepancy: Option<f64>,
    /// Reasoning tokens per request; absent when no successful request had
    /// any (docs/methodology.md#reasoning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<Summary>,
    /// Content (answer) tokens per request; absent when no successful
    /// request had reasoning tokens (then it equals `output_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_tokens: Option<Summary>,
    /// Answer tok/s per request, `content_tokens × decode_tok_s /
    /// output_tokens`: answer tokens per second of generation time
    /// (docs/methodology.md#reasoning); absent when no successful request
    /// had reasoning tokens (then it equals `decode_tok_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_tok_s: Option<Summary>,
    /// Measured requests that succeeded and met every SLO of `run.slo`
    /// (docs/methodology.md#goodput); absent without `--slo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_requests: Option<u64>,
    /// `good_requests / window_s`, requests/s; absent without `--slo` or
    /// with an empty window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput_rps: Option<f64>,
    /// `good_requests / ok × 100`, %; absent without `--slo` or without a
    /// successful request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput_pct: Option<f64>,
}

impl CellMetrics {
    /// The summary of the metric named `key` (the field name: `ttft_ms`,
    /// `ttfc_ms`, `prefill_tok_s`, `server_prefill_tok_s`, `decode_tok_s`,
    /// `server_decode_tok_s`, `tpot_ms`, `itl_ms`, `e2e_ms`,
    /// `queue_delay_ms`, `output_tokens`, `prompt_tokens`,
    /// `reasoning_tokens`, `content_tokens`, `answer_tok_s`); `None` for an
    /// unknown name or an undefined metric.
    pub fn summary(&self, key: &str) -> Option<&Summary> {
        match key {
            "ttft_ms" => self.ttft_ms.as_ref(),
            "ttfc_ms" => self.ttfc_ms.as_ref(),
            "prefill_tok_s" => self.prefill_tok_s.as_ref(),
            "server_prefill_tok_s" => self.server_prefill_tok_s.as_ref(),
            "decode_tok_s" => self.decode_tok_s.as_ref(),
            "server_decode_tok_s" => self.server_decode_tok_s.as_ref(),
            "tpot_ms" => self.tpot_ms.as_ref(),
            "itl_ms" => self.itl_ms.as_ref(),
            "e2e_ms" => self.e2e_ms.as_ref(),
            "queue_delay_ms" => self.queue_delay_ms.as_ref(),
            "output_tokens" => self.output_tokens.as_ref(),
            "prompt_tokens" => self.prompt_tokens.as_ref(),
            "reasoning_tokens" => self.reasoning_tokens.as_ref(),
            "content_tokens" => self.content_tokens.as_ref(),
            "answer_tok_s" => self.answer_tok_s.as_ref(),
            _ => None,
        }
    }
}

/// A two-sided confidence interval `[lo, hi]`, in the units of the sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ci {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound (`hi ≥ lo`).
    pub hi: f64,
    /// Nominal coverage, e.g. `0.95`.
    pub level: f64,
}

/// Summary statistics of one metric, in the metric's own units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Number of finite values summarised (`≥ 1`).
    pub n: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `n − 1`); `0` when `n = 1`.
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Median (type 7 quantile at 0.5); always equal to `p50`.
    pub median: f64,
    /// 50th percentile (type 7); same value as `median`, kept for tables.
    pub p50: f64,
    /// 90th percentile (type 7).
    pub p90: f64,
    /// 99th percentile (type 7).
    pub p99: f64,
    /// Percentile-bootstrap CI of the median. Named for the default level;
    /// the actual level is [`Ci::level`]. `None` when the bootstrap is off,
    /// when `n < 2`, or when the options are invalid (see
    /// [`SummaryOptions::validate`]).
    pub ci95_median: Option<Ci>,
}

impl Summary {
    /// Relative half-width of the CI of the median:
    /// `max(hi − median, median − lo) / |median|`, dimensionless
    /// (0.03 = 3 %). The same definition as `tokbench-stats`'
    /// `Summary::ci_relative_half_width`, which decides convergence while
    /// measuring.
    ///
    /// `None` when there is no CI or the median is 0.
    pub fn ci_relative_half_width(&self) -> Option<f64> {
        let ci = self.ci95_median.as_ref()?;
        if self.median == 0.0 {
            return None;
        }
        let half = (ci.hi - self.median).max(self.median - ci.lo);
        Some(half / self.median.abs())
    }
}

/// The prompt-cache check of one cell: what the server says it reused.
/// Token counts are sums over successful measured requests whose server
/// reported a cached count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptCacheCheck {
    /// Prompt tokens the workload means to share between requests (a
    /// shape's system prompt, `--prefix-cache N`); 0 = none.
    pub intended_shared_tokens: u64,
    /// Successful measured requests.
    pub requests: u64,
    /// Of those, requests whose server reported cached (or evaluated)
    /// prompt tokens.
    pub requests_with_account: u64,
    /// Σ prompt tokens of the requests with an account.
    pub prompt_tokens: u64,
    /// Σ cached prompt tokens of the requests with an account.
    pub cached_tokens: u64,
    /// `cached_tokens / prompt_tokens`; `None` without an account.
    pub cached_share: Option<f64>,
    /// Σ `max(0, cached − intended_shared_tokens)`.
    pub unintended_cached_tokens: u64,
    /// Requests that reused more than intended (see [`reused_more_than_intended`]).
    pub requests_over_threshold: u64,
    /// `requests_over_threshold > 0`: the cell's TTFT and prefill figures are
    /// not (all) measurements of prompt processing.
    pub flagged: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(median: f64, ci: Option<(f64, f64)>) -> Summary {
        Summary {
            n: 5,
            mean: median,
            stddev: 1.0,
            min: median - 2.0,
            max: median + 2.0,
            median,
            p50: median,
            p90: median + 1.0,
            p99: median + 2.0,
            ci95_median: ci.map(|(lo, hi)| Ci {
                lo,
                hi,
                level: 0.95,
            }),
        }
    }

    #[test]
    fn ci_relative_half_width_takes_the_wider_side() {
        let s = summary(100.0, Some((98.0, 103.0)));
        assert_eq!(s.ci_relative_half_width(), Some(0.03));
        let s = summary(-100.0, Some((-104.0, -99.0)));
        assert_eq!(s.ci_relative_half_width(), Some(0.04));
    }

    #[test]
    fn ci_relative_half_width_is_none_without_ci_or_at_zero() {
        assert_eq!(summary(100.0, None).ci_relative_half_width(), None);
        assert_eq!(
            summary(0.0, Some((-1.0, 1.0))).ci_relative_half_width(),
            None
        );
    }

    #[test]
    fn summary_by_key_names_every_summary_field() {
        let s = summary(1.0, None);
        let mut m = CellMetrics {
            requests: 1,
            warmup_excluded: 0,
            ok: 1,
            errors_by_kind: BTreeMap::new(),
            window_s: None,
            aggregate_output_tok_s: None,
            request_throughput_rps: None,
            ttft_ms: None,
            ttfc_ms: None,
            prefill_tok_s: None,
            server_prefill_tok_s: None,
            decode_tok_s: None,
            server_decode_tok_s: None,
            tpot_ms: None,
            itl_ms: None,
            e2e_ms: None,
            queue_delay_ms: None,
            output_tokens: None,
            prompt_tokens: None,
            total_output_tokens: 0,
            total_reasoning_tokens: 0,
            total_content_tokens: 0,
            total_prompt_tokens: 0,
            token_source_usage: 0,
            token_source_stream: 0,
            mean_token_count_discrepancy: None,
            reasoning_tokens: None,
            content_tokens: None,
            answer_tok_s: None,
            good_requests: None,
            goodput_rps: None,
            goodput_pct: None,
        };
        assert_eq!(m.summary("answer_tok_s"), None);
        m.answer_tok_s = Some(summary(3.0, None));
        assert_eq!(m.summary("answer_tok_s").map(|s| s.median), Some(3.0));
        assert_eq!(m.summary("decode_tok_s"), None);
        m.decode_tok_s = Some(s.clone());
        m.prompt_tokens = Some(summary(2.0, None));
        assert_eq!(m.summary("decode_tok_s"), Some(&s));
        assert_eq!(m.summary("prompt_tokens").map(|s| s.median), Some(2.0));
        assert_eq!(m.summary("ttft_ms"), None);
        assert_eq!(m.summary("nope"), None);
    }
}
