//! Integration tests of the public metric API: cell aggregation, goodput,
//! convergence and serialisation, on hand-built samples with hand-computed
//! expected values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tokbench_stats::{
    goodput, CellMetrics, Channel, ErrorKind, Outcome, RequestSample, Slo, SummaryOptions,
    TokenEvent, Usage,
};

/// A sample sent (intended = actual) at `send_us` with content events at
/// `events_ms` (relative to the send), 4 bytes each, ending at `end_ms`.
fn sample(id: u64, send_us: u64, events_ms: &[u32], end_ms: u32) -> RequestSample {
    let mut s = RequestSample::new(id, false, send_us, send_us);
    s.events = events_ms
        .iter()
        .map(|&t| TokenEvent {
            t_us: t * 1000,
            bytes: 4,
            channel: Channel::Content,
        })
        .collect();
    s.end_us = Some(end_ms * 1000);
    s
}

fn failed(mut s: RequestSample, kind: ErrorKind) -> RequestSample {
    s.outcome = Outcome::Error {
        kind,
        message: format!("{kind:?}"),
    };
    s
}

/// The cell used by most tests:
/// * warm-up: sent at 0 s, 3 tokens at 1 ms.. — must be ignored entirely;
/// * a (ok): sent 1.0 s, 5 tokens at 200, 220, 240, 260, 280 ms, end 500 ms,
///   no usage → 5 tokens from stream, decode 4 / 0.08 s = 50 tok/s;
/// * b (ok): sent 1.2 s, 5 events at 100, 120, 140, 160, 180 ms, end 1800 ms,
///   usage 10 completion / 50 prompt → discrepancy +5, 2 tokens per event
///   (the first arrival holds 2) → decode (10 − 2) / 0.08 s = 100 tok/s;
/// * c (stall): sent 1.5 s, one event at 10 ms, end 2000 ms → ends at 3.5 s;
/// * d (HTTP status): sent 2.0 s, no events, end 10 ms → ends at 2.01 s.
///
/// Window: 1.0 s → 3.5 s = 2.5 s.
fn cell_samples() -> Vec<RequestSample> {
    let mut warm = sample(0, 0, &[1, 2, 3], 9_000);
    warm.warmup = true;
    let a = sample(1, 1_000_000, &[200, 220, 240, 260, 280], 500);
    let mut b = sample(2, 1_200_000, &[100, 120, 140, 160, 180], 1800);
    b.usage = Some(Usage {
        prompt_tokens: 50,
        completion_tokens: 10,
        reasoning_tokens: None,
        cached_tokens: None,
    });
    let c = failed(sample(3, 1_500_000, &[10], 2000), ErrorKind::Stall);
    let d = failed(sample(4, 2_000_000, &[], 10), ErrorKind::HttpStatus);
    vec![warm, a, b, c, d]
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn counts_warmup_and_errors() {
    let cell = CellMetrics::compute(&cell_samples(), &SummaryOptions::default());
    assert_eq!(cell.requests, 4);
    assert_eq!(cell.warmup_excluded, 1);
    assert_eq!(cell.ok, 2);
    let errors: Vec<_> = cell.errors_by_kind.iter().map(|(k, n)| (*k, *n)).collect();
    assert_eq!(
        errors,
        vec![(ErrorKind::HttpStatus, 1), (ErrorKind::Stall, 1)]
    );
}

#[test]
fn window_and_throughput() {
    let cell = CellMetrics::compute(&cell_samples(), &SummaryOptions::default());
    assert!(approx(cell.window_s.unwrap(), 2.5));
    // (5 + 10) output tokens of ok requests / 2.5 s
    assert_eq!(cell.total_output_tokens, 15);
    assert!(approx(cell.aggregate_output_tok_s.unwrap(), 6.0));
    // 2 ok / 2.5 s
    assert!(approx(cell.request_throughput_rps.unwrap(), 0.8));
}

#[test]
fn summaries_cover_ok_requests_only() {
    let cell = CellMetrics::compute(&cell_samples(), &SummaryOptions::default());
    let ttft = cell.ttft_ms.as_ref().unwrap();
    // a: 200 ms, b: 100 ms; the stalled request's 10 ms and warm-up's 1 ms
    // are excluded.
    assert_eq!((ttft.n, ttft.min, ttft.max), (2, 100.0, 200.0));
    let decode = cell.decode_tok_s.as_ref().unwrap();
    // median of {50, 100} = 75
    assert_eq!((decode.min, decode.max, decode.median), (50.0, 100.0, 75.0));
    let e2e = cell.e2e_ms.as_ref().unwrap();
    assert_eq!((e2e.min, e2e.max), (500.0, 1800.0));
    // only b has a prompt-token count (usage)
    let prompt = cell.prompt_tokens.as_ref().unwrap();
    assert_eq!((prompt.n, prompt.mean), (1, 50.0));
    assert_eq!(cell.total_prompt_tokens, 50);
    assert_eq!(cell.server_decode_tok_s, None);
    let queue = cell.queue_delay_ms.as_ref().unwrap();
    assert_eq!((queue.n, queue.max), (2, 0.0));
}

#[test]
fn itl_is_normalised_and_has_no_ci() {
    let cell = CellMetrics::compute(&cell_samples(), &SummaryOptions::default());
    let itl = cell.itl_ms.as_ref().unwrap();
    // a: 4 gaps of 20 ms, one token each → 4 × 20 ms.
    // b: 10 tokens over 5 equal events → 2 each; 4 gaps of 20 ms → 8 × 10 ms.
    // n = 12, mean = (80 + 80) / 12, median = 10, max = 20.
    assert_eq!(itl.n, 12);
    assert!(approx(itl.mean, 160.0 / 12.0));
    assert_eq!((itl.median, itl.max), (10.0, 20.0));
    assert_eq!(itl.ci95_median, None);
    // ttft has 2 values, so it does get a CI
    assert!(cell.ttft_ms.as_ref().unwrap().ci95_median.is_some());
}

#[test]
fn token_sources_and_discrepancy() {
    let cell = CellMetrics::compute(&cell_samples(), &SummaryOptions::default());
    assert_eq!((cell.token_source_usage, cell.token_source_stream), (1, 1));
    // only b has usage: 10 − 5 events = +5
    assert_eq!(cell.mean_token_count_discrepancy, Some(5.0));
    assert_eq!(cell.total_content_tokens, 15);
    assert_eq!(cell.total_reasoning_tokens, 0);
    // No reasoning seen: no reasoning/content/answer summaries.
    assert!(cell.reasoning_tokens.is_none() && cell.answer_tok_s.is_none());
    assert!(cell.content_tokens.is_none());
}

/// Two requests, 5 events 20 ms apart (decode 50 tok/s): x thinks for 2
/// tokens, y for 4 (of 5). Answer tok/s = 50 × content / output: 30 and 10.
#[test]
fn reasoning_and_answer_summaries() {
    let mut x = sample(1, 0, &[200, 220, 240, 260, 280], 300);
    let mut y = sample(2, 1_000, &[200, 220, 240, 260, 280], 300);
    for e in &mut x.events[..2] {
        e.channel = Channel::Reasoning;
    }
    for e in &mut y.events[..4] {
        e.channel = Channel::Reasoning;
    }
    let cell = CellMetrics::compute(&[x, y], &SummaryOptions::default());
    assert_eq!(cell.total_reasoning_tokens, 6);
    let median = |k: &str| cell.summary(k).map(|s| s.median);
    assert_eq!(median("reasoning_tokens"), Some(3.0));
    assert_eq!(median("content_tokens"), Some(2.0));
    let answer = cell.answer_tok_s.as_ref().unwrap();
    assert!(approx(answer.min, 10.0) && approx(answer.max, 30.0));
    assert_eq!(median("decode_tok_s"), Some(50.0));
}

#[test]
fn empty_and_warmup_only_cells() {
    let cell = CellMetrics::compute(&[], &SummaryOptions::default());
    assert_eq!((cell.requests, cell.ok), (0, 0));
    assert_eq!((cell.window_s, cell.aggregate_output_tok_s), (None, None));
    assert_eq!(cell.ttft_ms, None);
    let warm_only: Vec<_> = cell_samples().into_iter().take(1).collect();
    let cell = CellMetrics::compute(&warm_only, &SummaryOptions::default());
    assert_eq!((cell.requests, cell.warmup_excluded), (0, 1));
    assert_eq!(cell.window_s, None);
    assert!(!cell.decode_converged(0.03));
}

/// `n` requests of 11 tokens each, token spacing cycling through
/// `spacings_ms`, so request i decodes at 1000 / spacing tok/s
/// (10 tokens over 10 · spacing ms).
fn decode_cell(n: u64, spacings_ms: &[u32]) -> Vec<RequestSample> {
    (0..n)
        .map(|i| {
            let d = spacings_ms[i as usize % spacings_ms.len()];
            let events: Vec<u32> = (0..11).map(|k| 100 + k * d).collect();
            sample(i, i * 1_000_000, &events, 100 + 10 * d + 5)
        })
        .collect()
}

#[test]
fn decode_convergence() {
    // Spacings 20, 20, 20, 19, 21 ms: rates 50 (3 in 5), 52.6 and 47.6 tok/s,
    // median 50. A resample median moves off 50 only if more than half of
    // the 30 draws come from one 1-in-5 group, so the CI is [50, 50] here.
    let tight = decode_cell(30, &[20, 20, 20, 19, 21]);
    let cell = CellMetrics::compute(&tight, &SummaryOptions::default());
    let decode = cell.decode_tok_s.as_ref().unwrap();
    assert_eq!(decode.median, 50.0);
    assert!(decode.max > 52.0 && decode.min < 48.0);
    assert!(decode.ci95_median.is_some());
    assert!(cell.decode_converged(0.03));
    // Alternating 10 ms and 40 ms: rates 100 and 25 tok/s, median 62.5; the
    // resample medians spread over [25, 100], far beyond ±3 %.
    let wide = decode_cell(30, &[10, 40]);
    let cell = CellMetrics::compute(&wide, &SummaryOptions::default());
    assert_eq!(cell.decode_tok_s.as_ref().unwrap().median, 62.5);
    assert!(!cell.decode_converged(0.03));
    // With the bootstrap off there is no CI, hence never "converged".
    let off = SummaryOptions::default().without_bootstrap();
    assert!(!CellMetrics::compute(&tight, &off).decode_converged(0.03));
}

#[test]
fn goodput_uses_the_cell_window() {
    let samples = cell_samples();
    let slo = Slo {
        ttft_ms_max: Some(150.0),
        ..Slo::default()
    };
    // only b (ttft 100 ms) meets ttft ≤ 150 ms; window 2.5 s → 0.4 req/s
    let g = goodput(&samples, &slo);
    assert_eq!(g.good_requests, 1);
    assert!(approx(g.goodput_rps.unwrap(), 0.4));
}

#[test]
fn cell_metrics_serde_round_trip() {
    let cell = CellMetrics::compute(&cell_samples(), &SummaryOptions::default());
    let json = serde_json::to_string(&cell).unwrap();
    assert!(json.contains("\"errors_by_kind\":{\"http_status\":1,\"stall\":1}"));
    let back: CellMetrics = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cell);
}

#[test]
fn cell_is_deterministic() {
    let opts = SummaryOptions::default();
    let a = CellMetrics::compute(&decode_cell(25, &[18, 20, 23]), &opts);
    let b = CellMetrics::compute(&decode_cell(25, &[18, 20, 23]), &opts);
    assert_eq!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_measured_request_is_ok_or_one_error(
        kinds in prop::collection::vec(prop::option::of(0usize..3), 0..30),
    ) {
        let all = [ErrorKind::Connect, ErrorKind::Stall, ErrorKind::Cancelled];
        let samples: Vec<_> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let s = sample(i as u64, i as u64 * 1000, &[5, 9], 12);
                match k {
                    Some(k) => failed(s, all[*k]),
                    None => s,
                }
            })
            .collect();
        let opts = SummaryOptions::default().without_bootstrap();
        let cell = CellMetrics::compute(&samples, &opts);
        let errors: u64 = cell.errors_by_kind.values().sum();
        prop_assert_eq!(cell.requests, samples.len() as u64);
        prop_assert_eq!(cell.ok + errors, cell.requests);
        prop_assert_eq!(cell.ok, kinds.iter().filter(|k| k.is_none()).count() as u64);
    }
}

#[test]
fn summaries_are_found_by_field_name() {
    let s = sample(0, 0, &[200, 220, 240, 260, 280], 290);
    let m = CellMetrics::compute(&[s], &SummaryOptions::default());
    assert_eq!(m.summary("ttft_ms").map(|x| x.median), Some(200.0));
    assert_eq!(m.summary("decode_tok_s").map(|x| x.median), Some(50.0));
    assert_eq!(m.summary("e2e_ms").map(|x| x.median), Some(290.0));
    assert!(m.summary("no_such_metric").is_none());
}

/// Client prefill tok/s counts the prompt tokens the server evaluated, not
/// the ones it served from its cache (docs/methodology.md#prefill-tok-s).
#[test]
fn prefill_counts_only_evaluated_prompt_tokens() {
    use tokbench_stats::{RequestMetrics, ServerTimings};
    // TTFT 200 ms; 427 prompt tokens of which the server evaluated 373.
    let mut s = sample(1, 0, &[200, 220], 300);
    s.usage = Some(Usage {
        prompt_tokens: 427,
        completion_tokens: 2,
        reasoning_tokens: None,
        cached_tokens: Some(54),
    });
    s.server_timings = Some(ServerTimings {
        prompt_n: 373,
        cache_n: Some(54),
        ..ServerTimings::default()
    });
    let m = RequestMetrics::from_sample(&s);
    assert_eq!(m.prompt_tokens, Some(427));
    assert_eq!(
        (m.cached_prompt_tokens, m.evaluated_prompt_tokens),
        (Some(54), Some(373))
    );
    // 373 / 0.2 s = 1,865 tok/s (not 427 / 0.2 s = 2,135).
    assert_eq!(m.prefill_tok_s, Some(1865.0));
    // Usage details without timings: 427 − 54 = 373 evaluated, same rate.
    s.server_timings = None;
    assert_eq!(RequestMetrics::from_sample(&s).prefill_tok_s, Some(1865.0));
    // All cached: no prefill measurement at all.
    s.usage = s.usage.map(|u| Usage {
        cached_tokens: Some(427),
        ..u
    });
    assert_eq!(RequestMetrics::from_sample(&s).prefill_tok_s, None);
    // No account: the prompt count is used, as before.
    s.usage = s.usage.map(|u| Usage {
        cached_tokens: None,
        ..u
    });
    assert_eq!(RequestMetrics::from_sample(&s).prefill_tok_s, Some(2135.0));
}
