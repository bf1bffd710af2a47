//! Client and engine against the in-process emulator on port 0.
//!
//! Timing assertions are tolerances around known schedules that hold on a
//! loaded 2-core machine (wide bounds, lower bounds where exactness cannot
//! be expected); the precise fidelity figures come from `tokbench selftest`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tokbench_client::{
    run_load, AdaptiveStop, Cancel, Client, ClientConfig, DecodeCiRule, Endpoint, LoadConfig,
    LoadResult, Progress, RequestTemplate, SendClock, StopReason,
};
use tokbench_emulator::{EmulatorConfig, EmulatorHandle, FaultConfig, FaultMode, Prefill};
use tokbench_stats::{
    CellMetrics, Channel, ErrorKind, Outcome, RequestSample, SummaryOptions, TokenSource,
};

async fn emulator(cfg: EmulatorConfig) -> EmulatorHandle {
    tokbench_emulator::spawn(([127, 0, 0, 1], 0).into(), cfg)
        .await
        .expect("emulator starts")
}

fn base(decode: f64, prefill_ms: f64, slots: usize) -> EmulatorConfig {
    EmulatorConfig::default()
        .with_decode_tok_s(decode)
        .with_prefill(Prefill::Fixed { ms: prefill_ms })
        .with_slots(slots)
}

fn closed(c: usize, n: u64) -> LoadConfig {
    LoadConfig {
        concurrency: c,
        rate: None,
        requests: Some(n),
        duration: None,
        warmup: 0,
        seed: 7,
        adaptive: None,
        ramp_up: std::time::Duration::ZERO,
    }
}

/// A client with default settings for `emu`.
fn client(emu: &EmulatorHandle) -> Client {
    Client::new(&ClientConfig::new(emu.base_url())).expect("client")
}

/// Runs `load` with `client` and `template` until done or `cancel`.
async fn load_with(
    client: Client,
    template: RequestTemplate,
    load: &LoadConfig,
    cancel: Cancel,
) -> LoadResult {
    run_load(
        client,
        Arc::new(template),
        load,
        cancel,
        Arc::new(Progress::default()),
    )
    .await
    .expect("valid config")
}

/// Runs `load` against `emu` with a default client.
async fn run_result(
    emu: &EmulatorHandle,
    template: RequestTemplate,
    load: LoadConfig,
) -> LoadResult {
    load_with(client(emu), template, &load, Cancel::new()).await
}

async fn run(
    emu: &EmulatorHandle,
    template: RequestTemplate,
    load: LoadConfig,
) -> Vec<RequestSample> {
    run_result(emu, template, load).await.samples
}

async fn one(cfg: EmulatorConfig, output: u64) -> RequestSample {
    let emu = emulator(cfg).await;
    let mut samples = run(&emu, RequestTemplate::chat("m", 16, output), closed(1, 1)).await;
    emu.shutdown().await;
    samples.remove(0)
}

fn kind(s: &RequestSample) -> Option<ErrorKind> {
    match &s.outcome {
        Outcome::Ok => None,
        Outcome::Error { kind, .. } => Some(*kind),
    }
}

#[tokio::test]
async fn clean_stream_counts_tokens_and_timings() {
    let s = one(base(200.0, 50.0, 1), 20).await;
    assert_eq!(kind(&s), None, "{:?}", s.outcome);
    assert_eq!(s.events.len(), 20);
    assert!(s.events.iter().all(|e| e.channel == Channel::Content));
    let usage = s.usage.expect("usage chunk");
    assert_eq!(usage.completion_tokens, 20);
    assert_eq!(usage.prompt_tokens, 16);
    assert!(s.server_timings.is_some(), "llama.cpp-style timings kept");
    assert_eq!(s.finish_reason.as_deref(), Some("length"));
    // The first token cannot come before the 50 ms prefill.
    assert!(s.events[0].t_us >= 50_000, "ttft {} us", s.events[0].t_us);
    // Absolute schedule: token 19 is due at 50 ms + 19 × 5 ms = 145 ms.
    let last = s.events[19].t_us;
    assert!(last >= 145_000, "last token at {last} us");
}

#[tokio::test]
async fn reasoning_tokens_are_a_separate_channel() {
    let s = one(base(500.0, 0.0, 1).with_reasoning_tokens(5), 12).await;
    let reasoning = s
        .events
        .iter()
        .filter(|e| e.channel == Channel::Reasoning)
        .count();
    let content = s
        .events
        .iter()
        .filter(|e| e.channel == Channel::Content)
        .count();
    assert_eq!((reasoning, content), (5, 7));
    let m = CellMetrics::compute(&[s], &SummaryOptions::default().without_bootstrap());
    assert_eq!(m.total_reasoning_tokens, 5);
    assert_eq!(m.total_content_tokens, 7);
}

#[tokio::test]
async fn multi_token_chunks_keep_usage_as_the_count() {
    let s = one(base(400.0, 0.0, 1).with_tokens_per_chunk(4), 16).await;
    assert_eq!(s.events.len(), 4);
    let m = tokbench_stats::RequestMetrics::from_sample(&s);
    assert_eq!(m.output_tokens, 16);
    assert_eq!(m.output_tokens_source, TokenSource::Usage);
    assert_eq!(m.token_count_discrepancy, Some(12));
    // ITL is normalised per token: 3 gaps × 4 tokens.
    assert_eq!(tokbench_stats::itl_ms(&s).len(), 12);
}

#[tokio::test]
async fn coalesced_writes_share_arrival_timestamps() {
    // 100 tok/s, 4 events per write: writes of tokens 0–3, 4–7, 8–9.
    let s = one(base(100.0, 0.0, 1).with_events_per_write(4), 10).await;
    assert_eq!(kind(&s), None, "{:?}", s.outcome);
    assert_eq!(s.events.len(), 10);
    for write in [0..4, 4..8, 8..10] {
        let t = s.events[write.start].t_us;
        assert!(
            s.events[write.clone()].iter().all(|e| e.t_us == t),
            "{write:?}"
        );
    }
    // Every token of the first write is left out of the decode span.
    let first = tokbench_stats::first_arrival_len(&s.events);
    assert!(first >= 4, "first arrival of {first} events");
    assert_eq!(tokbench_stats::itl_ms(&s).len(), 10 - first);
}

#[tokio::test]
async fn completions_endpoint() {
    let emu = emulator(base(500.0, 0.0, 1)).await;
    let mut t = RequestTemplate::chat("m", 8, 6);
    t.endpoint = Endpoint::Completions;
    let s = run(&emu, t, closed(1, 1)).await.remove(0);
    emu.shutdown().await;
    assert_eq!(kind(&s), None, "{:?}", s.outcome);
    assert_eq!(s.events.len(), 6);
}

#[tokio::test]
async fn fault_http500_is_an_http_status_error_with_body() {
    let s = one(
        base(500.0, 0.0, 1).with_fault(Some(FaultConfig::always(FaultMode::Http500))),
        8,
    )
    .await;
    assert_eq!(kind(&s), Some(ErrorKind::HttpStatus));
    let Outcome::Error { message, .. } = &s.outcome else {
        unreachable!()
    };
    assert!(message.contains("500"), "{message}");
    assert!(message.contains("emulated internal error"), "{message}");
}

#[tokio::test]
async fn fault_http429_reports_retry_after() {
    let fault = FaultConfig::always(FaultMode::Http429 { retry_after_s: 7 });
    let s = one(base(500.0, 0.0, 1).with_fault(Some(fault)), 8).await;
    assert_eq!(kind(&s), Some(ErrorKind::HttpStatus));
    let Outcome::Error { message, .. } = &s.outcome else {
        unreachable!()
    };
    assert!(
        message.contains("429") && message.contains("Retry-After: 7"),
        "{message}"
    );
}

#[tokio::test]
async fn fault_close_mid_stream_keeps_received_tokens() {
    let fault = FaultConfig::always(FaultMode::CloseMidStream { after_tokens: 5 });
    let s = one(base(500.0, 0.0, 1).with_fault(Some(fault)), 20).await;
    assert_eq!(kind(&s), Some(ErrorKind::EarlyClose), "{:?}", s.outcome);
    assert_eq!(s.events.len(), 5);
}

#[tokio::test]
async fn fault_malformed_chunk_names_the_bytes() {
    let fault = FaultConfig::always(FaultMode::MalformedChunk { after_tokens: 3 });
    let s = one(base(500.0, 0.0, 1).with_fault(Some(fault)), 10).await;
    assert_eq!(kind(&s), Some(ErrorKind::MalformedEvent), "{:?}", s.outcome);
    let Outcome::Error { message, .. } = &s.outcome else {
        unreachable!()
    };
    assert!(message.contains("{\"choices\""), "{message}");
    assert_eq!(s.events.len(), 3);
}

#[tokio::test]
async fn fault_no_usage_falls_back_to_counted_events() {
    let fault = FaultConfig::always(FaultMode::NoUsage);
    let s = one(base(500.0, 0.0, 1).with_fault(Some(fault)), 10).await;
    assert_eq!(kind(&s), None);
    assert!(s.usage.is_none());
    let m = tokbench_stats::RequestMetrics::from_sample(&s);
    assert_eq!(
        (m.output_tokens, m.output_tokens_source),
        (10, TokenSource::StreamEvents)
    );
}

#[tokio::test]
async fn fault_stall_hits_the_stall_timeout() {
    let fault = FaultConfig::always(FaultMode::StallMidStream {
        after_tokens: 2,
        stall_ms: 3_000,
    });
    let emu = emulator(base(500.0, 0.0, 1).with_fault(Some(fault))).await;
    let mut cfg = ClientConfig::new(emu.base_url());
    cfg.stall_timeout = Duration::from_millis(300);
    let client = Client::new(&cfg).expect("client");
    let template = RequestTemplate::chat("m", 8, 10);
    let result = load_with(client, template, &closed(1, 1), Cancel::new()).await;
    emu.shutdown().await;
    let s = &result.samples[0];
    assert_eq!(kind(s), Some(ErrorKind::Stall), "{:?}", s.outcome);
    assert_eq!(s.events.len(), 2);
    // Failed after the stall timeout, long before the 3 s stall ended.
    let end = s.end_us.expect("end");
    assert!((300_000..2_900_000).contains(&end), "end {end} us");
}

#[tokio::test]
async fn stall_shorter_than_timeout_is_a_slow_success() {
    let fault = FaultConfig::always(FaultMode::StallMidStream {
        after_tokens: 2,
        stall_ms: 200,
    });
    let s = one(base(500.0, 0.0, 1).with_fault(Some(fault)), 6).await;
    assert_eq!(kind(&s), None);
    // Token 2 is due at 2 × 2 ms + the 200 ms stall.
    let t = s.events[2].t_us;
    assert!(t >= 204_000, "third token at {t} us");
}

#[tokio::test]
async fn unreachable_server_is_a_connect_error_naming_the_url() {
    // Bind then drop a listener to get a port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&ClientConfig::new(format!("http://127.0.0.1:{port}"))).unwrap();
    let err = client.get_json("/v1/models").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
}

#[tokio::test]
async fn closed_loop_keeps_concurrency_and_excludes_warmup() {
    let emu = emulator(base(100.0, 20.0, 4)).await;
    let load = LoadConfig {
        warmup: 4,
        ..closed(4, 12)
    };
    let samples = run(&emu, RequestTemplate::chat("m", 8, 10), load).await;
    let stats = emu.stats();
    emu.shutdown().await;
    assert_eq!(samples.len(), 16);
    assert_eq!(samples.iter().filter(|s| s.warmup).count(), 4);
    assert!(samples.iter().all(|s| s.is_ok()));
    assert_eq!(stats.served, 16);
    let ids: Vec<u64> = samples.iter().map(|s| s.id).collect();
    assert_eq!(ids, (0..16).collect::<Vec<_>>());
    let m = CellMetrics::compute(&samples, &SummaryOptions::default());
    assert_eq!((m.requests, m.ok, m.warmup_excluded), (12, 12, 4));
    // Measured requests start only after every warm-up request ended.
    let warm_end = samples
        .iter()
        .filter(|s| s.warmup)
        .map(|s| s.actual_send_us + u64::from(s.end_us.unwrap()))
        .max()
        .unwrap();
    assert!(samples
        .iter()
        .filter(|s| !s.warmup)
        .all(|s| s.actual_send_us >= warm_end));
}

#[tokio::test]
async fn slots_queue_shows_in_ttft() {
    // 2 slots, 4 concurrent requests: the second pair waits a whole request.
    let emu = emulator(base(100.0, 0.0, 2)).await;
    let samples = run(&emu, RequestTemplate::chat("m", 8, 20), closed(4, 4)).await;
    emu.shutdown().await;
    let mut ttfts: Vec<u32> = samples.iter().map(|s| s.events[0].t_us).collect();
    ttfts.sort_unstable();
    // Request duration is 19 gaps × 10 ms = 190 ms.
    assert!(ttfts[2] >= 180_000, "queued ttfts {ttfts:?}");
}

#[tokio::test]
async fn fresh_connections_record_their_connect_before_the_send() {
    let emu = emulator(base(500.0, 20.0, 4)).await;
    let samples = run(&emu, RequestTemplate::chat("m", 8, 4), closed(4, 8)).await;
    emu.shutdown().await;
    assert_eq!(samples.len(), 8);
    for s in &samples {
        assert!(s.is_ok(), "{:?}", s.outcome);
        let connect = u64::from(s.connect_us.expect("a new connection per request"));
        // The send is stamped once the request is written, after its
        // connection was opened, so the connect lies within the queue delay
        // (each figure is rounded down to the µs on its own).
        assert!(
            s.actual_send_us + 2 >= s.intended_send_us + connect,
            "send {} µs, intended {} µs, connect {connect} µs",
            s.actual_send_us,
            s.intended_send_us
        );
        // Times count from the written request: the answer cannot come
        // before the server's 20 ms prefill.
        assert!(s.events[0].t_us >= 20_000, "ttft {} µs", s.events[0].t_us);
        assert!(s.headers_us.unwrap() <= s.events[0].t_us);
    }
}

#[tokio::test]
async fn kept_alive_connection_is_reused_without_a_connect() {
    let emu = emulator(base(500.0, 0.0, 1)).await;
    let mut cfg = ClientConfig::new(emu.base_url());
    cfg.keep_alive = true;
    let client = Client::new(&cfg).unwrap();
    let spec = RequestTemplate::chat("m", 8, 4).spec(0);
    let mut first = RequestSample::new(0, false, 0, 0);
    client.execute(&spec, &mut first, &SendClock::start()).await;
    // Let hyper put the connection back in the pool.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second = RequestSample::new(1, false, 0, 0);
    let clock = SendClock::start();
    client.execute(&spec, &mut second, &clock).await;
    emu.shutdown().await;
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    assert!(first.connect_us.is_some(), "the first request connects");
    assert_eq!(second.connect_us, None, "the second reuses its connection");
    let written = clock.written().expect("the request was written");
    assert!(written >= clock.started());
    assert_eq!(second.events.len(), 4);
}

#[tokio::test]
async fn open_loop_records_intended_and_actual_send() {
    let emu = emulator(base(200.0, 0.0, 1)).await;
    let load = LoadConfig {
        rate: Some(50.0),
        ..closed(1, 8)
    };
    let samples = run(&emu, RequestTemplate::chat("m", 8, 10), load).await;
    emu.shutdown().await;
    assert_eq!(samples.len(), 8);
    let intended: Vec<u64> = samples.iter().map(|s| s.intended_send_us).collect();
    assert!(intended.windows(2).all(|w| w[0] <= w[1]), "{intended:?}");
    // Each request takes ≥ 45 ms but arrivals average 20 ms apart with one
    // slot in flight, so the client must queue: actual send lags intended.
    let lagged = samples
        .iter()
        .filter(|s| s.actual_send_us > s.intended_send_us + 10_000)
        .count();
    assert!(lagged >= 3, "queueing must be visible, got {lagged}");
    let m = CellMetrics::compute(&samples, &SummaryOptions::default());
    assert!(m.queue_delay_ms.expect("queue delay").max > 10.0);
}

#[tokio::test]
async fn duration_bound_stops_issuing() {
    let emu = emulator(base(200.0, 0.0, 2)).await;
    let load = LoadConfig {
        requests: None,
        duration: Some(Duration::from_millis(400)),
        ..closed(2, 1)
    };
    let result = run_result(&emu, RequestTemplate::chat("m", 8, 10), load).await;
    emu.shutdown().await;
    assert_eq!(result.stop, StopReason::Duration);
    // ~45 ms per request, 2 in flight, 400 ms: about 16; never hundreds.
    assert!(
        (4..40).contains(&result.samples.len()),
        "{}",
        result.samples.len()
    );
}

#[tokio::test]
async fn cancel_keeps_completed_and_marks_in_flight() {
    let emu = emulator(base(20.0, 0.0, 4)).await;
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        trigger.cancel();
    });
    // 10 tokens at 20 tok/s = 450 ms each; cancelled mid-way through the 2nd round.
    let template = RequestTemplate::chat("m", 8, 10);
    let result = load_with(client(&emu), template, &closed(2, 100), cancel).await;
    emu.shutdown().await;
    assert_eq!(result.stop, StopReason::Cancelled);
    let ok = result.samples.iter().filter(|s| s.is_ok()).count();
    let cancelled = result
        .samples
        .iter()
        .filter(|s| kind(s) == Some(ErrorKind::Cancelled))
        .count();
    assert!(ok >= 2, "completed requests kept: {ok}");
    assert!(cancelled >= 1, "in-flight requests recorded as cancelled");
    assert!(result.samples.len() < 10);
}

#[derive(Debug)]
struct Never;

impl tokbench_client::StopRule for Never {
    fn converged(&self, _: &[&RequestSample]) -> bool {
        false
    }
}

#[tokio::test]
async fn adaptive_stop_ends_early_when_the_ci_is_tight() {
    let emu = emulator(base(400.0, 0.0, 2)).await;
    let rule = DecodeCiRule {
        rel: 0.03,
        options: SummaryOptions::default(),
    };
    let load = LoadConfig {
        ramp_up: std::time::Duration::ZERO,
        adaptive: Some(AdaptiveStop {
            min_requests: 6,
            rule: Arc::new(rule),
        }),
        ..closed(2, 400)
    };
    let result = run_result(&emu, RequestTemplate::chat("m", 8, 20), load).await;
    emu.shutdown().await;
    assert_eq!(result.stop, StopReason::Converged);
    // An exact schedule converges at the first check after 6 requests; 400
    // would take ~20 s.
    assert!(
        (6..200).contains(&result.samples.len()),
        "{}",
        result.samples.len()
    );
}

#[tokio::test]
async fn adaptive_stop_respects_the_request_cap() {
    let emu = emulator(base(400.0, 0.0, 2)).await;
    let load = LoadConfig {
        ramp_up: std::time::Duration::ZERO,
        adaptive: Some(AdaptiveStop {
            min_requests: 2,
            rule: Arc::new(Never),
        }),
        ..closed(2, 6)
    };
    let samples = run(&emu, RequestTemplate::chat("m", 8, 5), load).await;
    emu.shutdown().await;
    assert_eq!(samples.len(), 6);
}

#[tokio::test]
async fn tokenizer_calibration_is_exact_on_the_emulator() {
    let emu = emulator(base(500.0, 0.0, 1)).await;
    let client = client(&emu);
    let n = tokbench_client::calibrate::tokenize_count(&client, "m", "one two  three\nfour").await;
    let c = tokbench_client::calibrate::calibrate_with_tokenizer(&client, "m").await;
    emu.shutdown().await;
    assert_eq!(n, Some(4));
    let c = c.expect("the emulator serves /tokenize");
    assert!((c.words_per_token - 1.0).abs() < 1e-9, "{c:?}");
}

#[tokio::test]
async fn ramp_up_spreads_the_first_requests() {
    let emu = emulator(base(500.0, 0.0, 4)).await;
    let load = LoadConfig {
        ramp_up: Duration::from_millis(400),
        ..closed(4, 4)
    };
    // Each request takes about 1 s (500 tokens at 500 tok/s), so every
    // worker sends exactly one, at its ramp offset.
    let samples = run(&emu, RequestTemplate::chat("m", 8, 500), load).await;
    emu.shutdown().await;
    let mut sends: Vec<u64> = samples.iter().map(|s| s.actual_send_us).collect();
    sends.sort_unstable();
    // Workers start at 0, 100, 200 and 300 ms.
    for (i, s) in sends.iter().enumerate() {
        assert!(*s + 5_000 >= i as u64 * 100_000, "{sends:?}");
    }
    assert!(sends[3] - sends[0] >= 290_000, "{sends:?}");
}
