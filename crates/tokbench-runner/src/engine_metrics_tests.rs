//! Known answers for the scrape → record conversion and its comparisons.

use std::time::Duration;

use tokbench_metrics::{Snapshot, Window};
use tokbench_stats::{RequestSample, ServerTimings, Usage};

use super::*;

/// A llama-server exposition with these lifetime totals.
fn llama(prompt: u64, prompt_s: f64, gen: u64, gen_s: f64, processing: u32) -> String {
    format!(
        "# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total {prompt}\n\
         # TYPE llamacpp:prompt_seconds_total counter\nllamacpp:prompt_seconds_total {prompt_s}\n\
         # TYPE llamacpp:tokens_predicted_total counter\nllamacpp:tokens_predicted_total {gen}\n\
         # TYPE llamacpp:tokens_predicted_seconds_total counter\n\
         llamacpp:tokens_predicted_seconds_total {gen_s}\n\
         # TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing {processing}\n\
         # TYPE llamacpp:requests_deferred gauge\nllamacpp:requests_deferred 0\n"
    )
}

fn snap(text: &str, at_s: f64) -> Snapshot {
    Snapshot::parse(text, at_s).unwrap()
}

/// Two measured requests of 50 prompt and 20 generated tokens (0.1 s of
/// prompt, 0.4 s of generation each) and one warm-up request.
fn samples() -> Vec<RequestSample> {
    (0..3)
        .map(|i| {
            let mut s = RequestSample::new(i, i == 0, 0, 0);
            s.usage = Some(Usage {
                prompt_tokens: 50,
                completion_tokens: 20,
                reasoning_tokens: None,
                cached_tokens: None,
            });
            s.server_timings = Some(ServerTimings {
                prompt_n: 50,
                cache_n: None,
                prompt_ms: 100.0,
                prompt_per_second: 500.0,
                predicted_n: 20,
                predicted_ms: 400.0,
                predicted_per_second: 50.0,
            });
            s
        })
        .collect()
}

fn scrape(summary: Option<tokbench_metrics::WindowSummary>) -> Scrape {
    Scrape {
        interval: Duration::from_millis(250),
        summary,
        failed_polls: 0,
        errors: Vec::new(),
        slots: [("slots:busy".to_owned(), vec![(0.0, 0.0), (0.5, 1.0)])].into(),
    }
}

fn client(samples: &[RequestSample], concurrency: u64) -> ClientSide<'_> {
    ClientSide {
        samples,
        ttft_ms_mean: Some(120.0),
        concurrency,
    }
}

#[test]
fn deltas_rates_and_comparisons_have_known_values() {
    // Lifetime totals before: 1000 prompt tokens, 300 generated. The window
    // adds the two measured requests: +100 prompt tokens in 0.2 s, +40
    // generated in 0.8 s.
    let mut w = Window::new(snap(&llama(1000, 2.0, 300, 6.0, 0), 0.0));
    w.sample(snap(&llama(1050, 2.1, 320, 6.4, 1), 0.5));
    let summary = w.finish(snap(&llama(1100, 2.2, 340, 6.8, 0), 1.0));
    let samples = samples();
    let out = engine_outcome(scrape(Some(summary)), client(&samples, 1));
    let e = out.metrics.unwrap();
    assert_eq!(
        (e.engine.as_str(), e.polls, e.interval_ms),
        ("llamacpp", 3, 250)
    );
    assert_eq!(e.figures.prompt_tokens, Some(100.0));
    assert_eq!(e.figures.generation_tokens, Some(40.0));
    assert!((e.figures.prompt_tok_s.unwrap() - 500.0).abs() < 1e-6);
    assert!((e.figures.generation_tok_s.unwrap() - 50.0).abs() < 1e-6);
    assert_eq!(
        e.counters["llamacpp:tokens_predicted_total"].rate_per_s,
        Some(40.0)
    );
    let running = e.figures.requests_running.unwrap();
    assert_eq!((running.min, running.max, running.samples), (0.0, 1.0, 3));
    assert_eq!(e.figures.slots_busy.map(|g| g.mean), Some(0.5));
    assert_eq!(e.gauges["slots:busy"].samples, 2);
    let by = |q: &str| e.comparisons.iter().find(|c| c.quantity == q).unwrap();
    // The warm-up request is not in the window, nor in the client's sums.
    assert_eq!(
        (
            by("generation_tokens").server,
            by("generation_tokens").client
        ),
        (40.0, 40.0)
    );
    assert_eq!(
        (by("prompt_tokens").server, by("prompt_tokens").client),
        (100.0, 100.0)
    );
    assert!(!by("prompt_tok_s").disagrees && !by("generation_tok_s").disagrees);
    assert!(by("prompt_tok_s").rel_diff.unwrap() < 1e-9);
    // Gauge samples for the sidecar: 3 polls × 2 gauges + 2 /slots samples.
    assert_eq!(out.gauge_lines.len(), 3 * 2 + 2);
    let line = out.gauge_lines.iter().find(|l| l.t_us == 500_000).unwrap();
    assert!(line.engine_gauge.starts_with("llamacpp:requests_"));
}

#[test]
fn a_server_that_counts_more_tokens_is_flagged() {
    // 50 generated tokens in the window where the client received 40: 25 %.
    let w = Window::new(snap(&llama(0, 0.0, 0, 0.0, 0), 0.0));
    let summary = w.finish(snap(&llama(100, 0.2, 50, 0.8, 0), 1.0));
    let samples = samples();
    let e = engine_outcome(scrape(Some(summary)), client(&samples, 1))
        .metrics
        .unwrap();
    let gen = e
        .comparisons
        .iter()
        .find(|c| c.quantity == "generation_tokens")
        .unwrap();
    assert!(gen.disagrees);
    assert!((gen.rel_diff.unwrap() - 0.25).abs() < 1e-12);
}

#[test]
fn prompt_rate_is_not_compared_above_concurrency_one_and_the_cell_says_why() {
    let w = Window::new(snap(&llama(0, 0.0, 0, 0.0, 0), 0.0));
    let summary = w.finish(snap(&llama(100, 0.1, 40, 0.8, 0), 1.0));
    let samples = samples();
    let e = engine_outcome(scrape(Some(summary)), client(&samples, 2))
        .metrics
        .unwrap();
    assert!(e.comparisons.iter().all(|c| c.quantity != "prompt_tok_s"));
    assert!(e
        .comparisons
        .iter()
        .any(|c| c.quantity == "generation_tok_s"));
    assert!(e
        .notes
        .iter()
        .any(|n| n.contains("prompt_tok_s not compared")));
}

#[test]
fn a_restart_mid_cell_gives_a_note_not_a_negative_delta() {
    // 300 → 320, then the server restarts (counter back to 5), then 25.
    let mut w = Window::new(snap(&llama(1000, 2.0, 300, 6.0, 0), 0.0));
    w.sample(snap(&llama(1050, 2.1, 320, 6.4, 1), 0.5));
    w.sample(snap(&llama(10, 0.02, 5, 0.1, 1), 1.0));
    let summary = w.finish(snap(&llama(20, 0.04, 25, 0.5, 0), 1.5));
    let samples = samples();
    let e = engine_outcome(scrape(Some(summary)), client(&samples, 1))
        .metrics
        .unwrap();
    let gen = e.counters["llamacpp:tokens_predicted_total"];
    assert_eq!((gen.delta, gen.resets), (20.0 + 5.0 + 20.0, 1));
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("llamacpp:tokens_predicted_total")),
        "{:?}",
        e.notes
    );
}

#[test]
fn a_scrape_that_never_succeeded_is_noted_with_nothing_invented() {
    let mut s = scrape(None);
    s.failed_polls = 4;
    s.errors = vec!["/metrics: HTTP 501".into()];
    let samples = samples();
    let out = engine_outcome(s, client(&samples, 1));
    let e = out.metrics.unwrap();
    assert_eq!((e.polls, e.failed_polls), (0, 4));
    assert_eq!(e.figures, tokbench_record::EngineFigures::default());
    assert!(e.comparisons.is_empty() && e.counters.is_empty());
    assert_eq!(e.notes, vec!["/metrics: HTTP 501".to_owned()]);
    assert!(out.gauge_lines.is_empty());
}
