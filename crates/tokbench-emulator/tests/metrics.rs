//! `GET /metrics` and `GET /slots` over real HTTP: after a known schedule the
//! scraped counters equal the schedule's figures, and `tokbench-metrics`
//! parses the exposition, detects the engine and derives the same rates.
//!
//! The schedule of [`three_requests`]: one slot, prefill at 2000 tok/s (the
//! 4-word prompt takes 2 ms), decode at 200 tok/s (5 ms per token), three
//! requests one after the other with 10, 20 and 30 output tokens. So:
//! 12 prompt tokens, 3 × 0.002 = 0.006 s of prompt time, 60 generated tokens,
//! (9 + 19 + 29) × 0.005 = 0.285 s of decode time, 57 inter-token gaps of
//! 5 ms. Durations are exact to the nanosecond, so sums are compared within
//! 1e-9 s; only the queue time (part of TTFT and end-to-end latency) is
//! measured rather than scheduled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::{chat_body, client, get_json, start, stream};
use reqwest::StatusCode;
use serde_json::json;
use tokbench_emulator::{EmulatorConfig, MetricsFault, MetricsFlavor, Prefill};
use tokbench_metrics::{detect, Engine, Snapshot, Window};

const CHAT: &str = "/v1/chat/completions";
const PROMPT_TOKENS: f64 = 12.0;
const PROMPT_S: f64 = 0.006;
const GENERATED: f64 = 60.0;
const DECODE_S: f64 = 0.285;
const GAPS: f64 = 57.0;
const MODEL: &str = "tokbench-emulator";

/// The schedule of the module docs under `flavor`.
fn schedule(flavor: MetricsFlavor) -> EmulatorConfig {
    EmulatorConfig::default()
        .with_slots(1)
        .with_prefill(Prefill::Rate { tok_s: 2000.0 })
        .with_decode_tok_s(200.0)
        .with_metrics(flavor)
}

/// `GET /metrics`: status and body.
async fn scrape(base: &str) -> (StatusCode, String) {
    let response = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Scrapes and parses, asserting a 200 without parse warnings.
async fn snapshot(base: &str, at_s: f64) -> Snapshot {
    let (status, text) = scrape(base).await;
    assert_eq!(status, 200, "{text}");
    let snap = Snapshot::parse(&text, at_s).unwrap();
    assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
    snap
}

/// Sends one request of `tokens` output tokens to completion: streamed, or
/// not.
async fn request(base: &str, tokens: u32, streamed: bool) {
    if streamed {
        let s = stream(base, CHAT, &chat_body(tokens, true)).await;
        assert!(s.has_done() && s.error.is_none());
    } else {
        let body = json!({"messages": [{"role": "user", "content": "say four words please"}],
            "max_tokens": tokens});
        let response = client()
            .post(format!("{base}{CHAT}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let v: serde_json::Value = response.json().await.unwrap();
        assert_eq!(v["usage"]["completion_tokens"], tokens);
    }
}

/// The three requests of the module docs (the second one not streamed).
async fn three_requests(base: &str) {
    request(base, 10, true).await;
    request(base, 20, false).await;
    request(base, 30, true).await;
}

/// The scalar value of `name` with `labels` (panics if absent).
fn value(s: &Snapshot, name: &str, labels: &[(&str, &str)]) -> f64 {
    let series = s.get(name, labels);
    series
        .and_then(|series| series.scalar())
        .unwrap_or_else(|| panic!("{name}{labels:?} missing"))
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

/// `(count, sum)` of histogram `name` with `labels`.
fn histogram(s: &Snapshot, name: &str, labels: &[(&str, &str)]) -> (f64, f64) {
    match s.get(name, labels).map(|series| &series.value) {
        Some(tokbench_metrics::Value::Histogram(h)) => (h.count, h.sum),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn llamacpp_counters_follow_the_schedule() {
    let server = start(schedule(MetricsFlavor::Llamacpp)).await;
    let base = server.base_url();
    let before = snapshot(&base, 0.0).await;
    assert_eq!(detect(&before), Engine::LlamaCpp);
    assert_eq!(value(&before, "llamacpp:prompt_tokens_total", &[]), 0.0);
    three_requests(&base).await;
    let after = snapshot(&base, 1.0).await;
    let v = |name: &str| value(&after, name, &[]);
    assert_eq!(v("llamacpp:prompt_tokens_total"), PROMPT_TOKENS);
    assert_eq!(v("llamacpp:prompt_tokens_cached_total"), 0.0);
    assert_close(v("llamacpp:prompt_seconds_total"), PROMPT_S, "prompt s");
    assert_eq!(v("llamacpp:tokens_predicted_total"), GENERATED);
    assert_close(
        v("llamacpp:tokens_predicted_seconds_total"),
        DECODE_S,
        "decode s",
    );
    // One decode per generated token; the longest context is 4 + 30 - 1.
    assert_eq!(v("llamacpp:n_decode_total"), GENERATED);
    assert_eq!(v("llamacpp:n_tokens_max"), 33.0);
    assert_eq!(v("llamacpp:n_busy_slots_per_decode"), 1.0);
    assert_eq!(v("llamacpp:requests_processing"), 0.0);
    assert_eq!(v("llamacpp:requests_deferred"), 0.0);
    // Since the previous scrape: 12 tokens in 6 ms, 60 tokens in 285 ms.
    assert!((v("llamacpp:prompt_tokens_seconds") - 2000.0).abs() < 1e-6);
    let gen_rate = GENERATED / DECODE_S;
    assert!((v("llamacpp:predicted_tokens_seconds") - gen_rate).abs() < 1e-6);

    let summary = Window::new(before).finish(after);
    assert_eq!(summary.engine, Engine::LlamaCpp);
    let c = &summary.canonical;
    assert_eq!(c.prompt_tokens, Some(PROMPT_TOKENS));
    assert_eq!(c.generation_tokens, Some(GENERATED));
    // The prefill rate exactly; decode: n tokens over n - 1 intervals.
    let prompt_tok_s = c.prompt_tok_s.unwrap();
    assert!((prompt_tok_s - 2000.0).abs() < 1e-6, "{prompt_tok_s}");
    let generation_tok_s = c.generation_tok_s.unwrap();
    assert!(
        (generation_tok_s - gen_rate).abs() < 1e-6,
        "{generation_tok_s}"
    );
    assert_eq!(c.prefix_cache_hit_rate, Some(0.0));
    // The throughput gauges were reset by the scrape.
    let again = snapshot(&base, 2.0).await;
    assert_eq!(value(&again, "llamacpp:prompt_tokens_seconds", &[]), 0.0);
    server.shutdown().await;
}

#[tokio::test]
async fn vllm_counters_and_histograms_follow_the_schedule() {
    let server = start(schedule(MetricsFlavor::Vllm)).await;
    let base = server.base_url();
    let before = snapshot(&base, 0.0).await;
    three_requests(&base).await;
    let after = snapshot(&base, 1.0).await;
    assert_eq!(detect(&after), Engine::Vllm);
    let l = [("engine", "0"), ("model_name", MODEL)];
    let v = |name: &str| value(&after, name, &l);
    assert_eq!(v("vllm:prompt_tokens_total"), PROMPT_TOKENS);
    assert_eq!(v("vllm:generation_tokens_total"), GENERATED);
    assert_eq!(v("vllm:prefix_cache_queries_total"), PROMPT_TOKENS);
    assert_eq!(v("vllm:prefix_cache_hits_total"), 0.0);
    assert_eq!(v("vllm:num_preemptions_total"), 0.0);
    assert_eq!(v("vllm:num_requests_running"), 0.0);
    assert_eq!(v("vllm:kv_cache_usage_perc"), 0.0);
    let reason = |r: &str| {
        let labels = [l[0], l[1], ("finished_reason", r)];
        value(&after, "vllm:request_success_total", &labels)
    };
    assert_eq!((reason("length"), reason("stop")), (3.0, 0.0));
    let h = |name: &str| histogram(&after, name, &l);
    let (itl_n, itl_sum) = h("vllm:inter_token_latency_seconds");
    assert_eq!(itl_n, GAPS);
    assert_close(itl_sum, DECODE_S, "ITL sum");
    let (n, prefill) = h("vllm:request_prefill_time_seconds");
    assert_eq!(n, 3.0);
    assert_close(prefill, PROMPT_S, "prefill sum");
    assert_close(
        h("vllm:request_decode_time_seconds").1,
        DECODE_S,
        "decode sum",
    );
    assert_close(
        h("vllm:request_inference_time_seconds").1,
        PROMPT_S + DECODE_S,
        "inference sum",
    );
    // TTFT and e2e add the measured queue time (no contention: tiny).
    let (ttft_n, ttft) = h("vllm:time_to_first_token_seconds");
    assert_eq!(ttft_n, 3.0);
    assert!((PROMPT_S..PROMPT_S + 0.05).contains(&ttft), "{ttft}");
    let (_, e2e) = h("vllm:e2e_request_latency_seconds");
    assert!((PROMPT_S + DECODE_S..PROMPT_S + DECODE_S + 0.05).contains(&e2e));

    let summary = Window::new(before).finish(after);
    let c = &summary.canonical;
    assert_eq!(summary.engine, Engine::Vllm);
    assert_eq!(c.prompt_tokens, Some(PROMPT_TOKENS));
    assert_eq!(c.generation_tokens, Some(GENERATED));
    assert_eq!(c.finished_by_reason.get("length"), Some(&3.0));
    assert_eq!(c.prefix_cache_hit_rate, Some(0.0));
    let itl = c.itl.as_ref().unwrap();
    assert_eq!(itl.count, GAPS);
    // Every 5 ms gap falls in vLLM's first ITL bucket (le = 0.01).
    assert_eq!(itl.buckets[0].le, 0.01);
    assert_eq!(itl.buckets[0].count, GAPS);
    assert_eq!(c.ttft.as_ref().map(|t| t.count), Some(3.0));
    server.shutdown().await;
}

#[tokio::test]
async fn sglang_counters_follow_the_schedule() {
    let server = start(schedule(MetricsFlavor::Sglang)).await;
    let base = server.base_url();
    let before = snapshot(&base, 0.0).await;
    three_requests(&base).await;
    let after = snapshot(&base, 1.0).await;
    assert_eq!(detect(&after), Engine::Sglang);
    let l = [("model_name", MODEL)];
    assert_eq!(
        value(&after, "sglang:prompt_tokens_total", &l),
        PROMPT_TOKENS
    );
    assert_eq!(
        value(&after, "sglang:generation_tokens_total", &l),
        GENERATED
    );
    assert_eq!(value(&after, "sglang:cache_hit_rate", &l), 0.0);
    assert_eq!(value(&after, "sglang:num_queue_reqs", &l), 0.0);
    let (n, e2e) = histogram(&after, "sglang:e2e_request_latency_seconds", &l);
    assert_eq!(n, 3.0);
    assert!((PROMPT_S + DECODE_S..PROMPT_S + DECODE_S + 0.05).contains(&e2e));
    let summary = Window::new(before).finish(after);
    assert_eq!(summary.canonical.generation_tokens, Some(GENERATED));
    assert_eq!(summary.canonical.ttft.map(|t| t.count), Some(3.0));
    server.shutdown().await;
}

/// `(flavor, running series, waiting series, KV-usage series, labels)`.
type GaugeNames = (
    MetricsFlavor,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

const GAUGES: [GaugeNames; 3] = [
    (
        MetricsFlavor::Llamacpp,
        "llamacpp:requests_processing",
        "llamacpp:requests_deferred",
        None,
        &[],
    ),
    (
        MetricsFlavor::Vllm,
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        Some("vllm:kv_cache_usage_perc"),
        &[("engine", "0"), ("model_name", MODEL)],
    ),
    (
        MetricsFlavor::Sglang,
        "sglang:num_running_reqs",
        "sglang:num_queue_reqs",
        Some("sglang:token_usage"),
        &[("model_name", MODEL)],
    ),
];

/// With one slot and two 60-token requests at 50 tok/s (1.2 s each), a
/// scrape 300 ms in sees one running, one waiting, and a slot in use.
#[tokio::test]
async fn gauges_and_slots_during_long_requests() {
    for (flavor, running, waiting, usage, labels) in GAUGES {
        let cfg = EmulatorConfig::default()
            .with_slots(1)
            .with_prefill(Prefill::Fixed { ms: 0.0 })
            .with_decode_tok_s(50.0)
            .with_ctx_per_slot(100)
            .with_metrics(flavor);
        let server = start(cfg).await;
        let base = server.base_url();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let base = base.clone();
                tokio::spawn(async move { stream(&base, CHAT, &chat_body(60, false)).await })
            })
            .collect();
        tokio::time::sleep(common::ms(300)).await;
        let mid = snapshot(&base, 0.3).await;
        assert_eq!(value(&mid, running, labels), 1.0, "{flavor:?}");
        assert_eq!(value(&mid, waiting, labels), 1.0, "{flavor:?}");
        if let Some(usage) = usage {
            // (4 prompt + 1..=60 decoded) / (1 slot × 100 tokens).
            let u = value(&mid, usage, labels);
            assert!(u > 0.04 && u <= 0.64, "{flavor:?}: {u}");
        }
        let (status, slots) = get_json(&base, "/slots").await;
        assert_eq!(status, 200);
        assert_eq!(slots.as_array().map(Vec::len), Some(1));
        let slot = &slots[0];
        assert_eq!(
            (slot["id"].clone(), slot["n_ctx"].clone()),
            (json!(0), json!(100))
        );
        assert_eq!(slot["is_processing"], true);
        assert_eq!(slot["n_prompt_tokens"], 4);
        let decoded = slot["next_token"][0]["n_decoded"].as_u64().unwrap();
        assert!((1..60).contains(&decoded), "{slot}");
        assert_eq!(slot["n_past"], 4 + decoded);
        assert_eq!(slot["next_token"][0]["n_remain"], 60 - decoded);
        for task in tasks {
            assert!(task.await.unwrap().has_done());
        }
        let end = snapshot(&base, 2.0).await;
        assert_eq!(value(&end, running, labels), 0.0, "{flavor:?}");
        let (_, slots) = get_json(&base, "/slots").await;
        assert_eq!(slots[0]["is_processing"], false);
        assert_eq!(slots[0]["next_token"][0]["n_decoded"], 60);
        assert_eq!(slots[0]["id_task"], 1, "the slot keeps its last task");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn metrics_none_answers_501_like_llama_server_without_metrics() {
    let server = start(schedule(MetricsFlavor::None)).await;
    let base = server.base_url();
    let (status, body) = scrape(&base).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], 501);
    assert_eq!(body["error"]["type"], "not_supported_error");
    // Serving and /slots are unaffected.
    request(&base, 3, true).await;
    let (status, slots) = get_json(&base, "/slots").await;
    assert_eq!(
        (status.as_u16(), slots[0]["id_task"].clone()),
        (200, json!(0))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_http500_fault_fails_every_scrape_only() {
    let cfg = schedule(MetricsFlavor::Vllm).with_metrics_fault(Some(MetricsFault::Http500));
    let server = start(cfg).await;
    let base = server.base_url();
    for _ in 0..2 {
        let (status, body) = scrape(&base).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    }
    request(&base, 3, true).await;
    assert_eq!(server.stats().served, 1);
    server.shutdown().await;
}

/// A restart after two requests: the scrape after the third sees only the
/// third request (fewer tokens than before, so the scraper sees a drop),
/// and the window's reset rule still adds up every request.
#[tokio::test]
async fn reset_after_served_zeroes_counters_once() {
    let fault = MetricsFault::ResetAfterServed { requests: 2 };
    let cfg = schedule(MetricsFlavor::Llamacpp).with_metrics_fault(Some(fault));
    let server = start(cfg).await;
    let base = server.base_url();
    let before = snapshot(&base, 0.0).await;
    request(&base, 10, true).await;
    request(&base, 20, false).await;
    let mid = snapshot(&base, 1.0).await;
    assert_eq!(value(&mid, "llamacpp:prompt_tokens_total", &[]), 8.0);
    assert_eq!(value(&mid, "llamacpp:tokens_predicted_total", &[]), 30.0);
    request(&base, 5, true).await;
    let after = snapshot(&base, 2.0).await;
    assert_eq!(value(&after, "llamacpp:prompt_tokens_total", &[]), 4.0);
    assert_eq!(value(&after, "llamacpp:tokens_predicted_total", &[]), 5.0);
    assert_close(
        value(&after, "llamacpp:tokens_predicted_seconds_total", &[]),
        0.020,
        "third request's decode time",
    );
    // Once only: a fourth request adds to the new totals.
    request(&base, 5, true).await;
    let later = snapshot(&base, 3.0).await;
    assert_eq!(value(&later, "llamacpp:tokens_predicted_total", &[]), 10.0);
    let mut window = Window::new(before);
    window.sample(mid);
    window.sample(after);
    let summary = window.finish(later);
    let predicted = &summary.counters["llamacpp:tokens_predicted_total"];
    assert_eq!((predicted.delta, predicted.resets), (40.0, 1));
    assert_eq!(summary.canonical.prompt_tokens, Some(16.0));
    server.shutdown().await;
}

/// A response cut by `CloseMidStream` is served but not accounted; one that
/// only carries a malformed event is.
#[tokio::test]
async fn only_complete_responses_are_accounted() {
    use tokbench_emulator::{FaultConfig, FaultMode};
    for (mode, accounted) in [
        (FaultMode::CloseMidStream { after_tokens: 2 }, 0.0),
        (FaultMode::MalformedChunk { after_tokens: 2 }, 1.0),
    ] {
        let cfg = schedule(MetricsFlavor::Vllm).with_fault(Some(FaultConfig::always(mode)));
        let server = start(cfg).await;
        let base = server.base_url();
        stream(&base, CHAT, &chat_body(5, true)).await;
        let s = snapshot(&base, 0.0).await;
        let labels = [("engine", "0"), ("model_name", MODEL)];
        let generated = value(&s, "vllm:generation_tokens_total", &labels);
        assert_eq!(generated, 5.0 * accounted, "{mode:?}");
        let length = [labels[0], labels[1], ("finished_reason", "length")];
        let finished = value(&s, "vllm:request_success_total", &length);
        assert_eq!(finished, accounted, "{mode:?}");
        assert_eq!(server.stats().served, 1, "{mode:?}");
        server.shutdown().await;
    }
}
