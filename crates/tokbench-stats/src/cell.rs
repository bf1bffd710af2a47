//! Cell-level aggregation: one benchmark cell (a fixed configuration of
//! model, workload, concurrency or rate) summarised over its requests.
//!
//! Rules (see `docs/methodology.md`):
//!
//! * Warm-up samples are excluded from everything, including the window.
//! * `requests` counts measured (non-warm-up) samples; each is either `ok`
//!   or counted once in `errors_by_kind`.
//! * Every latency/rate summary and every token total is over **successful
//!   requests only**: a failed request's partial stream would bias TTFT,
//!   decode rate and token counts.
//! * The measurement window spans all measured requests, failed ones
//!   included: from the earliest actual send to the latest request end
//!   ([`measurement_window_s`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::itl::append_itl_ms;
use crate::metrics::RequestMetrics;
use crate::sample::{ErrorKind, RequestSample};
use crate::summary::{Summary, SummaryOptions};
use crate::tokens::TokenSource;

/// Aggregated metrics of one cell. Summaries are `None` when no successful
/// request defines the metric; rates are `None` when the window is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Reasoning tokens per request; `None` when no successful request had
    /// any (`docs/methodology.md#reasoning`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<Summary>,
    /// Content (answer) tokens per request; `None` when no successful
    /// request had reasoning tokens (then it equals `output_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_tokens: Option<Summary>,
    /// Answer rate ([`RequestMetrics::answer_tok_s`]), tok/s; `None` when no
    /// successful request had reasoning tokens (then it equals
    /// `decode_tok_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_tok_s: Option<Summary>,
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

    /// Aggregate `samples` (any order; warm-up ones are skipped) with the
    /// summary options `opts` (ITL is always summarised without bootstrap).
    ///
    /// Cost: O(n log n) for n values per metric plus O(B·n) per bootstrapped
    /// summary (11 of them, 14 when reasoning tokens were seen); ITL adds O(T log T) for T output tokens.
    pub fn compute(samples: &[RequestSample], opts: &SummaryOptions) -> CellMetrics {
        let mut acc = Accumulator::default();
        for sample in samples {
            acc.push(sample);
        }
        acc.finish(measurement_window_s(samples), opts)
    }

    /// `true` when the CI of the median decode tok/s is within `±rel` of the
    /// median ([`Summary::converged`]); `false` without a decode summary or
    /// CI.
    pub fn decode_converged(&self, rel: f64) -> bool {
        self.decode_tok_s.as_ref().is_some_and(|s| s.converged(rel))
    }
}

/// Measurement window of a cell, in seconds: from the earliest
/// `actual_send_us` of a measured (non-warm-up) request to the latest
/// `actual_send_us + end` of one, where `end` is `end_us`, else the last
/// token event's time, else 0. Failed requests count. `None` when there is
/// no measured request or the window has zero width.
pub fn measurement_window_s(samples: &[RequestSample]) -> Option<f64> {
    let measured = samples.iter().filter(|s| !s.warmup);
    let start = measured.clone().map(|s| s.actual_send_us).min()?;
    let end = measured
        .map(|s| {
            s.actual_send_us
                .saturating_add(u64::from(last_instant_us(s)))
        })
        .max()?;
    let width_us = end.checked_sub(start).filter(|&w| w > 0)?;
    Some(width_us as f64 / 1e6)
}

/// Latest known instant of a request, µs since its actual send.
fn last_instant_us(sample: &RequestSample) -> u32 {
    sample
        .end_us
        .or_else(|| sample.events.last().map(|e| e.t_us))
        .unwrap_or(0)
}

/// Per-metric value buffers and running totals while scanning a cell.
#[derive(Default)]
struct Accumulator {
    requests: u64,
    warmup_excluded: u64,
    ok: u64,
    errors_by_kind: BTreeMap<ErrorKind, u64>,
    ttft: Vec<f64>,
    ttfc: Vec<f64>,
    prefill: Vec<f64>,
    server_prefill: Vec<f64>,
    decode: Vec<f64>,
    server_decode: Vec<f64>,
    tpot: Vec<f64>,
    itl: Vec<f64>,
    e2e: Vec<f64>,
    queue: Vec<f64>,
    output: Vec<f64>,
    prompt: Vec<f64>,
    reasoning: Vec<f64>,
    content: Vec<f64>,
    answer: Vec<f64>,
    totals: Totals,
}

/// Token totals and token-source bookkeeping over successful requests.
#[derive(Default)]
struct Totals {
    output: u64,
    reasoning: u64,
    content: u64,
    prompt: u64,
    from_usage: u64,
    from_stream: u64,
    discrepancy_sum: f64,
    discrepancy_n: u64,
}

impl Accumulator {
    fn push(&mut self, sample: &RequestSample) {
        if sample.warmup {
            self.warmup_excluded += 1;
            return;
        }
        self.requests += 1;
        let m = RequestMetrics::from_sample(sample);
        if let Some(kind) = m.error_kind {
            *self.errors_by_kind.entry(kind).or_insert(0) += 1;
            return;
        }
        self.ok += 1;
        let pairs = [
            (&mut self.ttft, m.ttft_ms),
            (&mut self.ttfc, m.ttfc_ms),
            (&mut self.prefill, m.prefill_tok_s),
            (&mut self.server_prefill, m.server_prefill_tok_s),
            (&mut self.decode, m.decode_tok_s),
            (&mut self.server_decode, m.server_decode_tok_s),
            (&mut self.tpot, m.tpot_ms),
            (&mut self.e2e, m.e2e_ms),
            (&mut self.prompt, m.prompt_tokens.map(|p| p as f64)),
            (&mut self.queue, Some(m.queue_delay_ms)),
            (&mut self.output, Some(m.output_tokens as f64)),
            (&mut self.reasoning, Some(m.reasoning_tokens as f64)),
            (&mut self.content, Some(m.content_tokens as f64)),
            (&mut self.answer, m.answer_tok_s),
        ];
        for (buf, value) in pairs {
            buf.extend(value);
        }
        append_itl_ms(sample, &mut self.itl);
        self.totals.add(&m);
    }

    fn finish(self, window_s: Option<f64>, opts: &SummaryOptions) -> CellMetrics {
        let per_s = |x: u64| window_s.map(|w| x as f64 / w);
        let sum = |v: Vec<f64>| Summary::from_vec(v, opts);
        let t = self.totals;
        // Reasoning summaries only where reasoning was seen.
        let thought = |v: Vec<f64>| if t.reasoning > 0 { sum(v) } else { None };
        CellMetrics {
            requests: self.requests,
            warmup_excluded: self.warmup_excluded,
            ok: self.ok,
            errors_by_kind: self.errors_by_kind,
            window_s,
            aggregate_output_tok_s: per_s(t.output),
            request_throughput_rps: per_s(self.ok),
            ttft_ms: sum(self.ttft),
            ttfc_ms: sum(self.ttfc),
            prefill_tok_s: sum(self.prefill),
            server_prefill_tok_s: sum(self.server_prefill),
            decode_tok_s: sum(self.decode),
            server_decode_tok_s: sum(self.server_decode),
            tpot_ms: sum(self.tpot),
            itl_ms: Summary::from_vec(self.itl, &opts.without_bootstrap()),
            e2e_ms: sum(self.e2e),
            queue_delay_ms: sum(self.queue),
            output_tokens: sum(self.output),
            prompt_tokens: sum(self.prompt),
            reasoning_tokens: thought(self.reasoning),
            content_tokens: thought(self.content),
            answer_tok_s: thought(self.answer),
            total_output_tokens: t.output,
            total_reasoning_tokens: t.reasoning,
            total_content_tokens: t.content,
            total_prompt_tokens: t.prompt,
            token_source_usage: t.from_usage,
            token_source_stream: t.from_stream,
            mean_token_count_discrepancy: (t.discrepancy_n > 0)
                .then(|| t.discrepancy_sum / t.discrepancy_n as f64),
        }
    }
}

impl Totals {
    fn add(&mut self, m: &RequestMetrics) {
        self.output = self.output.saturating_add(m.output_tokens);
        self.reasoning = self.reasoning.saturating_add(m.reasoning_tokens);
        self.content = self.content.saturating_add(m.content_tokens);
        self.prompt = self.prompt.saturating_add(m.prompt_tokens.unwrap_or(0));
        match m.output_tokens_source {
            TokenSource::Usage => self.from_usage += 1,
            TokenSource::StreamEvents => self.from_stream += 1,
        }
        if let Some(d) = m.token_count_discrepancy {
            self.discrepancy_sum += d as f64;
            self.discrepancy_n += 1;
        }
    }
}
