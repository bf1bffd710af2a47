//! A cell's scrape ([`Scrape`]) into the record's [`EngineMetrics`], with
//! the server's figures set beside tokbench's own for the same requests
//! (`docs/methodology.md`, "Engine metrics").
//!
//! Conversions destructure their sources exhaustively, as in
//! [`crate::convert`]: a field added to a `tokbench-metrics` type is a
//! compile error here, not a silent schema change.

use std::collections::BTreeMap;

use tokbench_metrics as m;
use tokbench_record::{
    EngineComparison, EngineCounter, EngineFigures, EngineGauge, EngineHistogram, EngineMetrics,
};
use tokbench_stats::tokens::output_tokens;
use tokbench_stats::RequestSample;

use crate::scrape::Scrape;

/// One polled gauge value, as a line of the samples sidecar.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeLine {
    /// Series, `name{labels}`.
    pub engine_gauge: String,
    /// µs since the cell's start (the scraper's start).
    pub t_us: u64,
    /// Polled value.
    pub value: f64,
}

/// What a cell's scrape gives the record.
#[derive(Debug, Default)]
pub struct EngineOutcome {
    /// The cell's `engine_metrics`.
    pub metrics: Option<EngineMetrics>,
    /// Polled gauge values for the sidecar.
    pub gauge_lines: Vec<GaugeLine>,
}

/// What tokbench measured in the cell, for the comparisons.
#[derive(Debug, Clone, Copy)]
pub struct ClientSide<'a> {
    /// Every request of the cell (warm-up ones are left out here).
    pub samples: &'a [RequestSample],
    /// Mean TTFT of the successful measured requests, ms.
    pub ttft_ms_mean: Option<f64>,
    /// The cell's concurrency.
    pub concurrency: u64,
}

/// Converts `scrape`, comparing with the measured (non-warm-up) requests
/// of `client`.
pub fn engine_outcome(scrape: Scrape, client: ClientSide<'_>) -> EngineOutcome {
    let Scrape {
        interval,
        summary,
        failed_polls,
        errors,
        slots,
    } = scrape;
    let Some(summary) = summary else {
        return unscraped(interval, failed_polls, errors);
    };
    let m::WindowSummary {
        engine,
        duration_s,
        polls,
        counters,
        gauges,
        histograms,
        canonical,
        notes,
    } = summary;
    let mut gauges = gauges;
    for (name, samples) in slots {
        gauges.extend(m::GaugeSummary::from_samples(samples).map(|g| (name, g)));
    }
    let mut gauge_lines = Vec::new();
    for (name, g) in &gauges {
        gauge_lines.extend(lines(name, &g.samples));
    }
    let mut figures = figures(canonical);
    figures.slots_busy = gauges.get("slots:busy").cloned().map(gauge);
    let comparisons = compare(&figures, client);
    let mut all_notes = errors;
    all_notes.extend(notes);
    if client.concurrency > 1 && figures.prompt_tok_s.is_some() {
        all_notes.push(PROMPT_RATE_NOT_COMPARED.into());
    }
    let metrics = EngineMetrics {
        engine: engine_name(engine).into(),
        interval_ms: interval.as_millis() as u64,
        window_s: duration_s,
        polls: polls as u64,
        failed_polls,
        figures,
        comparisons,
        counters: counters.into_iter().map(|(k, v)| (k, counter(v))).collect(),
        gauges: gauges.into_iter().map(|(k, v)| (k, gauge(v))).collect(),
        histograms: histograms
            .into_iter()
            .map(|(k, v)| (k, histogram(v)))
            .collect(),
        notes: all_notes,
    };
    EngineOutcome {
        metrics: Some(metrics),
        gauge_lines,
    }
}

/// A cell whose every poll failed: the failures, and nothing else.
fn unscraped(
    interval: std::time::Duration,
    failed_polls: u64,
    errors: Vec<String>,
) -> EngineOutcome {
    EngineOutcome {
        metrics: Some(EngineMetrics {
            engine: "unknown".into(),
            interval_ms: interval.as_millis() as u64,
            window_s: 0.0,
            polls: 0,
            failed_polls,
            figures: EngineFigures::default(),
            comparisons: Vec::new(),
            counters: BTreeMap::new(),
            gauges: BTreeMap::new(),
            histograms: BTreeMap::new(),
            notes: errors,
        }),
        gauge_lines: Vec::new(),
    }
}

fn lines(name: &str, samples: &[(f64, f64)]) -> Vec<GaugeLine> {
    samples
        .iter()
        .map(|&(at_s, value)| GaugeLine {
            engine_gauge: name.to_owned(),
            t_us: (at_s * 1e6).round() as u64,
            value,
        })
        .collect()
}

/// The record's name of an engine.
pub fn engine_name(engine: m::Engine) -> &'static str {
    match engine {
        m::Engine::LlamaCpp => "llamacpp",
        m::Engine::Vllm => "vllm",
        m::Engine::Sglang => "sglang",
        m::Engine::Unknown => "unknown",
    }
}

fn counter(x: m::CounterDelta) -> EngineCounter {
    let m::CounterDelta {
        delta,
        rate_per_s,
        resets,
    } = x;
    EngineCounter {
        delta,
        rate_per_s,
        resets: u64::from(resets),
    }
}

fn gauge(x: m::GaugeSummary) -> EngineGauge {
    let m::GaugeSummary {
        min,
        mean,
        max,
        samples,
    } = x;
    EngineGauge {
        min,
        mean,
        max,
        samples: samples.len() as u64,
    }
}

fn histogram(x: m::HistogramDelta) -> EngineHistogram {
    // Buckets are left out of the record: the estimates below come from
    // them, and every engine has its own bounds.
    let m::HistogramDelta {
        count,
        sum,
        mean,
        p50,
        p90,
        p99,
        buckets: _,
    } = x;
    EngineHistogram {
        count,
        sum,
        mean,
        p50,
        p90,
        p99,
    }
}

fn figures(x: m::CanonicalFigures) -> EngineFigures {
    // Prompt and generation seconds are only the denominators of the
    // rates; prefix-cache queries and hits stay in `counters`.
    let m::CanonicalFigures {
        prompt_tokens,
        prompt_tokens_cached,
        generation_tokens,
        prompt_seconds: _,
        generation_seconds: _,
        prompt_tok_s,
        generation_tok_s,
        prefix_cache_queries: _,
        prefix_cache_hits: _,
        prefix_cache_hit_rate,
        preemptions,
        finished_by_reason,
        requests_running,
        requests_waiting,
        kv_cache_usage,
        ttft,
        itl,
        queue_time,
        prefill_time,
        decode_time,
        e2e,
    } = x;
    EngineFigures {
        prompt_tokens,
        prompt_tokens_cached,
        generation_tokens,
        prompt_tok_s,
        generation_tok_s,
        prefix_cache_hit_rate,
        preemptions,
        finished_by_reason,
        requests_running: requests_running.map(gauge),
        requests_waiting: requests_waiting.map(gauge),
        kv_cache_usage: kv_cache_usage.map(gauge),
        slots_busy: None,
        ttft_s: ttft.map(histogram),
        itl_s: itl.map(histogram),
        queue_time_s: queue_time.map(histogram),
        prefill_time_s: prefill_time.map(histogram),
        decode_time_s: decode_time.map(histogram),
        e2e_s: e2e.map(histogram),
    }
}

/// Why the engine's prompt rate is not compared above concurrency 1.
const PROMPT_RATE_NOT_COMPARED: &str = "prompt_tok_s not compared at concurrency > 1: when \
     several prompts share a batch, llama-server counts the batch's prompt time once in \
     prompt_seconds_total while each response's timings.prompt_ms carries all of it";

/// Every server figure that has a client counterpart over the same
/// requests (the measured ones, failed included, since the server counts
/// their tokens too):
///
/// - `generation_tokens` vs Σ output tokens;
/// - `prompt_tokens` (+ `prompt_tokens_cached`) vs Σ `usage.prompt_tokens`;
/// - `prompt_tok_s` vs Σ `timings.prompt_n` ÷ Σ `timings.prompt_ms`, at
///   concurrency 1 only ([`PROMPT_RATE_NOT_COMPARED`]);
/// - `generation_tok_s` vs Σ `timings.predicted_n` ÷ Σ `timings.predicted_ms`;
/// - `ttft_ms.mean` (histogram) vs the client's mean TTFT.
fn compare(f: &EngineFigures, client: ClientSide<'_>) -> Vec<EngineComparison> {
    let measured: Vec<&RequestSample> = client.samples.iter().filter(|s| !s.warmup).collect();
    let mut out = Vec::new();
    let output: u64 = measured.iter().map(|s| output_tokens(s).0).sum();
    out.extend(both(
        "generation_tokens",
        f.generation_tokens,
        Some(output as f64),
        "Σ output tokens of the measured requests (usage, else stream events)",
    ));
    let usage_prompt: Option<u64> = measured
        .iter()
        .map(|s| s.usage.as_ref().map(|u| u.prompt_tokens))
        .sum();
    let server_prompt = f
        .prompt_tokens
        .map(|p| p + f.prompt_tokens_cached.unwrap_or(0.0));
    out.extend(both(
        "prompt_tokens",
        server_prompt,
        usage_prompt.map(|p| p as f64),
        "Σ usage.prompt_tokens of the measured requests",
    ));
    out.extend(rate_comparisons(f, &measured, client.concurrency));
    let ttft = f.ttft_s.and_then(|h| h.mean).map(|s| s * 1000.0);
    out.extend(both(
        "ttft_ms.mean",
        ttft,
        client.ttft_ms_mean,
        "mean client TTFT of the successful measured requests",
    ));
    out
}

/// The rate comparisons of [`compare`], from the responses' timings.
fn rate_comparisons(
    f: &EngineFigures,
    measured: &[&RequestSample],
    concurrency: u64,
) -> Vec<EngineComparison> {
    let mut out = Vec::new();
    let timings: Vec<_> = measured
        .iter()
        .filter_map(|s| s.server_timings.as_ref())
        .collect();
    let ratio = |n: u64, ms: f64| (ms > 0.0).then(|| n as f64 * 1000.0 / ms);
    let (pn, pms) = timings
        .iter()
        .fold((0, 0.0), |(n, ms), t| (n + t.prompt_n, ms + t.prompt_ms));
    if concurrency == 1 {
        out.extend(both(
            "prompt_tok_s",
            f.prompt_tok_s,
            ratio(pn, pms),
            "Σ timings.prompt_n ÷ Σ timings.prompt_ms",
        ));
    }
    let (gn, gms) = timings.iter().fold((0, 0.0), |(n, ms), t| {
        (n + t.predicted_n, ms + t.predicted_ms)
    });
    out.extend(both(
        "generation_tok_s",
        f.generation_tok_s,
        ratio(gn, gms),
        "Σ timings.predicted_n ÷ Σ timings.predicted_ms",
    ));
    out
}

/// [`comparison`] when both figures exist.
fn both(
    quantity: &str,
    server: Option<f64>,
    client: Option<f64>,
    source: &str,
) -> Option<EngineComparison> {
    Some(comparison(quantity, server?, client?, source))
}

fn comparison(quantity: &str, server: f64, client: f64, source: &str) -> EngineComparison {
    let rel_diff = (client != 0.0).then(|| (server - client).abs() / client.abs());
    EngineComparison {
        quantity: quantity.into(),
        server,
        client,
        client_source: source.into(),
        rel_diff,
        disagrees: m::disagreement(server, client).is_some(),
    }
}

#[cfg(test)]
#[path = "engine_metrics_tests.rs"]
mod tests;
