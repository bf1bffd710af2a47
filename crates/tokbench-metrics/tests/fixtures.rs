//! Window summaries from stored `/metrics` fixtures (see `fixtures/README.md`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokbench_metrics::{
    detect, disagreement, Engine, MetricsError, Snapshot, Value, Window, WindowSummary,
};

const LLAMA_BEFORE: &str = include_str!("fixtures/llamacpp_before.txt");
const LLAMA_AFTER: &str = include_str!("fixtures/llamacpp_after.txt");
const LLAMA_RESTARTED: &str = include_str!("fixtures/llamacpp_restarted.txt");
const LLAMA_REAL_BEFORE: &str = include_str!("fixtures/llamacpp_real_before.txt");
const LLAMA_REAL_AFTER: &str = include_str!("fixtures/llamacpp_real_after.txt");
const LLAMA_CUR_BEFORE: &str = include_str!("fixtures/llamacpp_current_before.txt");
const LLAMA_CUR_AFTER: &str = include_str!("fixtures/llamacpp_current_after.txt");
const V1_BEFORE: &str = include_str!("fixtures/vllm_v1_before.txt");
const V1_MID: &str = include_str!("fixtures/vllm_v1_mid.txt");
const V1_AFTER: &str = include_str!("fixtures/vllm_v1_after.txt");
const V0_BEFORE: &str = include_str!("fixtures/vllm_v0_before.txt");
const V0_AFTER: &str = include_str!("fixtures/vllm_v0_after.txt");
const SG_BEFORE: &str = include_str!("fixtures/sglang_before.txt");
const SG_AFTER: &str = include_str!("fixtures/sglang_after.txt");
const MALFORMED: &str = include_str!("fixtures/malformed_unclosed_labels.txt");

fn snap(text: &str, at_s: f64) -> Snapshot {
    Snapshot::parse(text, at_s).unwrap()
}

fn window(texts: &[(&str, f64)]) -> WindowSummary {
    let (first, rest) = texts.split_first().unwrap();
    let (last, mid) = rest.split_last().unwrap();
    let mut w = Window::new(snap(first.0, first.1));
    for (t, at) in mid {
        w.sample(snap(t, *at));
    }
    w.finish(snap(last.0, last.1))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn every_fixture_parses_and_its_engine_is_detected() {
    for (text, engine) in [
        (LLAMA_BEFORE, Engine::LlamaCpp),
        (LLAMA_AFTER, Engine::LlamaCpp),
        (LLAMA_CUR_AFTER, Engine::LlamaCpp),
        (LLAMA_REAL_BEFORE, Engine::LlamaCpp),
        (LLAMA_REAL_AFTER, Engine::LlamaCpp),
        (V1_BEFORE, Engine::Vllm),
        (V1_MID, Engine::Vllm),
        (V0_AFTER, Engine::Vllm),
        (SG_AFTER, Engine::Sglang),
    ] {
        let s = snap(text, 0.0);
        assert_eq!(detect(&s), engine);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }
    // 13 metrics in the llama.cpp handler, one unlabelled sample each.
    assert_eq!(snap(LLAMA_AFTER, 0.0).series.len(), 13);
}

#[test]
fn histogram_lines_are_joined_into_one_series() {
    let s = snap(V1_AFTER, 0.0);
    let ttft = s
        .get(
            "vllm:time_to_first_token_seconds",
            &[("model_name", "Qwen/Qwen3-0.6B"), ("engine", "0")],
        )
        .unwrap();
    let Value::Histogram(h) = &ttft.value else {
        panic!("not a histogram: {ttft:?}")
    };
    // V1 TTFT has 22 finite bounds plus +Inf; 4 + 100 observations.
    assert_eq!(h.buckets.len(), 23);
    assert_eq!(h.buckets.last().unwrap().le, f64::INFINITY);
    assert_eq!(h.count, 104.0);
    assert!((h.sum - 8.24).abs() < 1e-9);
}

#[test]
fn llamacpp_before_after_gives_deltas_and_server_rates() {
    let w = window(&[(LLAMA_BEFORE, 0.0), (LLAMA_AFTER, 60.0)]);
    let c = &w.canonical;
    assert_eq!(w.engine, Engine::LlamaCpp);
    // 1320 − 120 prompt tokens in 3.0 − 0.6 s of prompt processing.
    assert!(close(c.prompt_tokens, 1200.0));
    assert!(close(c.prompt_seconds, 2.4));
    assert!(close(c.prompt_tok_s, 500.0));
    // 576 − 64 generated tokens in 10 − 2 s.
    assert!(close(c.generation_tokens, 512.0));
    assert!(close(c.generation_tok_s, 64.0));
    // Window rate: 1200 tokens / 60 s.
    let pt = w.counters["llamacpp:prompt_tokens_total"];
    assert!(close(pt.rate_per_s, 20.0));
    // Gauges: deferred 0 then 2; KV 0.01 then 0.05.
    let waiting = c.requests_waiting.as_ref().unwrap();
    assert_eq!((waiting.min, waiting.max, waiting.mean), (0.0, 2.0, 1.0));
    assert!((c.kv_cache_usage.as_ref().unwrap().mean - 0.03).abs() < 1e-12);
    // llama.cpp has no prefix-cache counters or latency histograms.
    assert_eq!(c.prefix_cache_hit_rate, None);
    assert_eq!(c.ttft, None);
}

#[test]
fn llamacpp_live_capture_against_the_client_usage() {
    let w = window(&[(LLAMA_REAL_BEFORE, 0.0), (LLAMA_REAL_AFTER, 5.0)]);
    let c = &w.canonical;
    assert_eq!(w.engine, Engine::LlamaCpp);
    assert!(
        w.notes.iter().all(|n| !n.contains("went down")),
        "{:?}",
        w.notes
    );
    // Client usage: 12 + 18 completion tokens; the server agrees.
    assert!(close(c.generation_tokens, 30.0));
    assert_eq!(disagreement(c.generation_tokens.unwrap(), 30.0), None);
    // Client usage: 31 + 36 prompt tokens, 25 of them cached. The server's
    // prompt_tokens_total excludes cached ones: 31 + 11 = 42, flagged against
    // the client's 67, while evaluated + cached matches it.
    assert!(close(c.prompt_tokens, 42.0));
    assert!(close(c.prompt_tokens_cached, 25.0));
    assert!(disagreement(42.0, 67.0).is_some());
    assert_eq!(disagreement(42.0 + 25.0, 67.0), None);
    assert!(close(c.prefix_cache_hit_rate, 25.0 / 67.0));
    // Server tok/s from its own processing seconds (0 before).
    assert!(close(c.prompt_tok_s, 42.0 / 1.42876));
    assert!(close(c.generation_tok_s, 30.0 / 0.853613));
}

#[test]
fn llamacpp_current_format_with_prompt_cache_and_speculation() {
    let w = window(&[(LLAMA_CUR_BEFORE, 0.0), (LLAMA_CUR_AFTER, 30.0)]);
    let c = &w.canonical;
    assert_eq!(w.engine, Engine::LlamaCpp);
    // 800 tokens evaluated in 1.6 s; 2400 reused from the prompt cache.
    assert!(close(c.prompt_tokens, 800.0));
    assert!(close(c.prompt_tok_s, 500.0));
    assert!(close(c.prompt_tokens_cached, 2400.0));
    // Hit rate = 2400 / (800 + 2400).
    assert!(close(c.prefix_cache_hit_rate, 0.75));
    // 512 tokens in 8 s.
    assert!(close(c.generation_tok_s, 64.0));
    // Six significant digits: 1.23457e+06 -> 1.23463e+06 is a delta of 60.
    assert!((w.counters["llamacpp:n_decode_total"].delta - 60.0).abs() < 1e-6);
    // Speculative-decoding counters, one per draft position, kept as is.
    let pos1 = w.counters["llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position=\"1\"}"];
    assert_eq!(pos1.delta, 100.0);
    // n_busy_slots_per_decode is typed gauge in this version.
    assert_eq!(w.gauges["llamacpp:n_busy_slots_per_decode"].max, 1.8);
    // This version exports no KV-cache gauge.
    assert_eq!(c.kv_cache_usage, None);
}

#[test]
fn counters_that_are_averages_are_summarised_as_gauges() {
    // n_busy_slots_per_decode is typed counter but falls from 1 to 0.9.
    let w = window(&[(LLAMA_BEFORE, 0.0), (LLAMA_AFTER, 60.0)]);
    assert!(!w.counters.contains_key("llamacpp:n_busy_slots_per_decode"));
    let busy = &w.gauges["llamacpp:n_busy_slots_per_decode"];
    assert_eq!((busy.min, busy.max), (0.9, 1.0));
    assert!(
        w.notes.iter().all(|n| !n.contains("went down")),
        "{:?}",
        w.notes
    );
}

#[test]
fn counter_reset_gives_a_note_and_counts_from_zero() {
    let w = window(&[(LLAMA_BEFORE, 0.0), (LLAMA_RESTARTED, 60.0)]);
    let pt = w.counters["llamacpp:prompt_tokens_total"];
    // 120 before, 30 after the restart: 30 tokens since the restart, not −90.
    assert_eq!(pt.delta, 30.0);
    assert_eq!(pt.resets, 1);
    assert!(w
        .notes
        .iter()
        .any(|n| n.contains("llamacpp:prompt_tokens_total went down from 120 to 30")));
    // With an intermediate poll the increase before the restart is kept:
    // 120 -> 1320 (+1200), restart -> 30 (+30).
    let w = window(&[
        (LLAMA_BEFORE, 0.0),
        (LLAMA_AFTER, 30.0),
        (LLAMA_RESTARTED, 60.0),
    ]);
    assert!(close(w.canonical.prompt_tokens, 1230.0));
    assert!(w.counters.values().all(|c| c.delta >= 0.0));
}

#[test]
fn vllm_v1_window_with_a_mid_poll() {
    let w = window(&[(V1_BEFORE, 0.0), (V1_MID, 30.0), (V1_AFTER, 60.0)]);
    let c = &w.canonical;
    assert_eq!(w.polls, 3);
    assert!(close(c.prompt_tokens, 25_600.0)); // 26600 − 1000
    assert!(close(c.generation_tokens, 12_800.0)); // 13300 − 500
    assert!(close(c.prefix_cache_hit_rate, 0.25)); // 6400 / 25600
    assert!(close(c.preemptions, 3.0));
    // vLLM exports no prompt/generation seconds: no server tok/s.
    assert_eq!(c.prompt_tok_s, None);
    let reasons: Vec<(&str, f64)> = c
        .finished_by_reason
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(reasons, [("abort", 0.0), ("length", 10.0), ("stop", 90.0)]);
    // Running 0, 8, 1 => mean 3; KV 0, 0.5, 0.1 => mean 0.2.
    let running = c.requests_running.as_ref().unwrap();
    assert_eq!((running.min, running.mean, running.max), (0.0, 3.0, 8.0));
    assert_eq!(running.samples, [(0.0, 0.0), (30.0, 8.0), (60.0, 1.0)]);
    assert!((c.kv_cache_usage.as_ref().unwrap().mean - 0.2).abs() < 1e-12);
}

#[test]
fn vllm_v1_histogram_quantiles_from_bucket_deltas() {
    let w = window(&[(V1_BEFORE, 0.0), (V1_AFTER, 60.0)]);
    let ttft = w.canonical.ttft.as_ref().unwrap();
    // 100 new observations: 50 in (0.06, 0.08], 40 in (0.08, 0.1], 10 in
    // (0.1, 0.25]; their sum 8.24 − 0.24.
    assert_eq!(ttft.count, 100.0);
    assert!(close(ttft.mean, 0.08));
    // p50: rank 50 is the top of (0.06, 0.08] => 0.08. p90: rank 90, top of
    // (0.08, 0.1] => 0.1. p99: rank 99 is 9/10 into (0.1, 0.25] => 0.235.
    assert!(close(ttft.p50, 0.08));
    assert!(close(ttft.p90, 0.1));
    assert!(close(ttft.p99, 0.235));
    // E2E: 100 observations in (2.0, 2.5]: the median is half-way, 2.25.
    assert!(close(w.canonical.e2e.as_ref().unwrap().p50, 2.25));
    // ITL is one observation per token gap: 12 700 new ones in
    // (0.01, 0.025] summing to 254 s => mean 0.02 s.
    let itl = w.canonical.itl.as_ref().unwrap();
    assert_eq!(itl.count, 12_700.0);
    assert!(close(itl.mean, 0.02));
    for h in [
        &w.canonical.queue_time,
        &w.canonical.prefill_time,
        &w.canonical.decode_time,
    ] {
        assert_eq!(h.as_ref().map(|h| h.count), Some(100.0));
    }
}

#[test]
fn unknown_series_are_kept_under_their_own_names() {
    let w = window(&[(V1_BEFORE, 0.0), (V1_MID, 30.0), (V1_AFTER, 60.0)]);
    let moe = w.counters["moe_offload:expert_cache_hits_total{layer_group=\"all\"}"];
    // 10 -> 500 -> 1010 over 60 s.
    assert_eq!(moe.delta, 1000.0);
    assert!(close(moe.rate_per_s, 1000.0 / 60.0));
    // prometheus_client's process series too: CPU 41.2 s -> 70.51 s.
    let cpu = w.counters["process_cpu_seconds_total"];
    assert!((cpu.delta - 29.31).abs() < 1e-9, "{cpu:?}");
    // Table series are kept per series too, labels and all.
    assert!(w.counters.contains_key(
        "vllm:request_success_total{engine=\"0\",finished_reason=\"stop\",model_name=\"Qwen/Qwen3-0.6B\"}"
    ));
    // prometheus_client's creation timestamps are not summarised.
    assert!(w.gauges.keys().all(|k| !k.contains("_created")));
}

#[test]
fn vllm_v0_old_names_resolve_through_the_table() {
    let w = window(&[(V0_BEFORE, 0.0), (V0_AFTER, 10.0)]);
    let c = &w.canonical;
    assert!(close(c.prompt_tokens, 500.0));
    // Preemptions 1 -> 3; gpu_cache_usage_perc 0.1 and 0.3.
    assert!(close(c.preemptions, 2.0));
    assert!((c.kv_cache_usage.as_ref().unwrap().mean - 0.2).abs() < 1e-12);
    // ITL from time_per_output_token_seconds: 20 in (0.01, 0.025], median
    // rank 10 half-way => 0.0175.
    let itl = c.itl.as_ref().unwrap();
    assert_eq!(itl.count, 20.0);
    assert!(close(itl.p50, 0.0175));
    // No prefix-cache counters in V0: the hit-rate gauge's mean (0.4, 0.6).
    assert_eq!(c.prefix_cache_queries, None);
    assert!(close(c.prefix_cache_hit_rate, 0.5));
    assert!(w
        .notes
        .iter()
        .any(|n| n.starts_with("PrefixCacheQueries not exported")));
}

#[test]
fn sglang_window() {
    let w = window(&[(SG_BEFORE, 0.0), (SG_AFTER, 20.0)]);
    let c = &w.canonical;
    assert_eq!(w.engine, Engine::Sglang);
    assert!(close(c.prompt_tokens, 2000.0)); // 2007 − 7
    assert!(close(c.generation_tokens, 1000.0)); // 1008 − 8
    assert!(close(c.prefix_cache_hit_rate, 0.6)); // gauge 0.5, 0.7
    assert_eq!(c.kv_cache_usage.as_ref().unwrap().max, 0.28);
    assert_eq!(c.requests_waiting.as_ref().unwrap().max, 2.0);
    // 10 TTFTs in (0.1, 0.25]: median half-way => 0.175.
    assert!(close(c.ttft.as_ref().unwrap().p50, 0.175));
    // SGLang's ITL histogram is not in these fixtures: absent, not 0.
    assert_eq!(c.itl, None);
    assert!(w.notes.iter().any(|n| n.starts_with("Itl not exported")));
}

#[test]
fn absent_metrics_are_absent_not_zero() {
    // Newer llama.cpp builds export no KV-cache gauges.
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.contains("kv_cache"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let w = window(&[(&strip(LLAMA_BEFORE), 0.0), (&strip(LLAMA_AFTER), 60.0)]);
    assert_eq!(w.canonical.kv_cache_usage, None);
    assert!(!w.gauges.contains_key("llamacpp:kv_cache_usage_ratio"));
    assert!(w
        .notes
        .iter()
        .any(|n| n.contains("KvCacheUsage not exported") && n.contains("absent, not 0")));
    assert_eq!(w.canonical.preemptions, None);
    assert!(w.canonical.finished_by_reason.is_empty());
}

#[test]
fn malformed_exposition_is_an_error_with_its_line() {
    let err = Snapshot::parse(MALFORMED, 0.0).unwrap_err();
    let MetricsError::Syntax(msg) = &err else {
        panic!("expected a syntax error, got {err:?}")
    };
    assert!(msg.contains("line 3"), "{msg}");
}
