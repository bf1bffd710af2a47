//! The launch → measure → record path against the in-process emulator on
//! port 0 (known answers): one attach-mode run, its record and sidecar,
//! Ctrl-C, and an unreachable server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tokbench_client::Cancel;
use tokbench_emulator::{EmulatorConfig, MetricsFault, MetricsFlavor, Prefill};
use tokbench_record::CellStop;
use tokbench_runner::{Plan, RunError, TargetSpec};

mod common;

use common::run;

/// [`common::plan`] with 6 output tokens.
fn plan(concurrency: Vec<usize>, requests: u64) -> Plan {
    common::plan(concurrency, requests, 6)
}

async fn emulator() -> tokbench_emulator::EmulatorHandle {
    let cfg = EmulatorConfig::default()
        .with_decode_tok_s(500.0)
        .with_prefill(Prefill::Fixed { ms: 2.0 })
        .with_slots(2);
    tokbench_emulator::spawn(([127, 0, 0, 1], 0).into(), cfg)
        .await
        .unwrap()
}

fn attach(url: String) -> TargetSpec {
    TargetSpec::Attach {
        url,
        model: None,
        api_key: Some("sk-SECRET".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attach_run_records_every_cell_and_its_samples() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &plan(vec![1, 2], 3),
        &attach(emu.base_url()),
        Some(dir.path()),
        Cancel::new(),
    )
    .await
    .unwrap();
    let r = &out.record;
    assert_eq!(r.backend.name, "tokbench-emulator");
    assert_eq!(r.model.id, "tokbench-emulator", "from /v1/models");
    assert_eq!(r.cells.len(), 2);
    for (cell, c) in r.cells.iter().zip([1, 2]) {
        assert_eq!(cell.concurrency, c);
        assert_eq!(cell.stop, CellStop::Fixed);
        let m = cell.metrics.as_ref().unwrap();
        assert_eq!((m.requests, m.ok, m.total_output_tokens), (3, 3, 18));
    }
    assert!(r.run.ended_utc.is_some() && !r.run.flags.incomplete);
    assert!(!r.run.command_line.join(" ").contains("sk-SECRET"));
    assert!(
        r.provenance.reproduce.ends_with("--seed 7"),
        "seed drawn, not given"
    );
    // The file on disk is the returned record; the sidecar holds every
    // request, warm-up included (2 cells × (1 + 3)).
    let path = out.path.unwrap();
    assert_eq!(&tokbench_record::read_record(&path).unwrap(), r);
    let sidecar = dir.path().join(r.run.samples_file.as_ref().unwrap());
    assert_eq!(std::fs::read_to_string(sidecar).unwrap().lines().count(), 8);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_keeps_its_record_flagged_incomplete() {
    let emu = emulator().await;
    let cancel = Cancel::new();
    cancel.cancel();
    let out = run(&plan(vec![1, 2], 3), &attach(emu.base_url()), None, cancel)
        .await
        .unwrap();
    assert!(out.path.is_none(), "no runs folder, no file");
    assert!(out.record.run.flags.incomplete);
    assert_eq!(
        out.record.cells.len(),
        1,
        "stops after the interrupted cell"
    );
    assert_eq!(out.record.cells[0].stop, CellStop::Interrupted);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_typed_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = run(
        &plan(vec![1], 1),
        &attach(format!("http://127.0.0.1:{port}")),
        None,
        Cancel::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RunError::ListModels { .. }), "{err}");
}

/// One cell at c=1 of 3 measured requests (20 prompt words, 6 tokens),
/// one warm-up, with `/metrics` polled every `interval`.
async fn scraped_cell(cfg: EmulatorConfig, interval: Duration) -> tokbench_record::Cell {
    let emu = tokbench_emulator::spawn(([127, 0, 0, 1], 0).into(), cfg)
        .await
        .unwrap();
    let mut p = plan(vec![1], 3);
    p.cells.engine_metrics = Some(interval);
    let out = run(&p, &attach(emu.base_url()), None, Cancel::new())
        .await
        .unwrap();
    emu.shutdown().await;
    assert!(!out.record.run.flags.incomplete);
    out.record.cells.into_iter().next().unwrap()
}

fn slow_emulator() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_decode_tok_s(100.0)
        .with_prefill(Prefill::Fixed { ms: 20.0 })
        .with_slots(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_form_metrics_match_the_emulators_schedule() {
    let cell = scraped_cell(slow_emulator(), Duration::from_millis(10)).await;
    let m = cell.metrics.as_ref().unwrap();
    let e = cell.engine_metrics.as_ref().unwrap();
    assert_eq!((e.engine.as_str(), e.failed_polls), ("llamacpp", 0));
    let f = &e.figures;
    // The warm-up request is outside the window: exactly the 3 measured.
    assert_eq!(f.generation_tokens, Some(18.0));
    assert_eq!(f.prompt_tokens, Some(m.total_prompt_tokens as f64));
    // Prompt time is the fixed 20 ms prefill per request.
    let prompt_rate = m.total_prompt_tokens as f64 / 0.060;
    assert!((f.prompt_tok_s.unwrap() / prompt_rate - 1.0).abs() < 1e-6);
    // 6 tokens at 100 tok/s span 5 intervals of 10 ms: 18 tokens / 0.15 s.
    assert!((f.generation_tok_s.unwrap() - 120.0).abs() < 1e-6, "{f:?}");
    assert_eq!(f.requests_running.unwrap().max, 1.0);
    assert_eq!(f.requests_waiting.unwrap().max, 0.0);
    assert!(f.slots_busy.is_some_and(|g| g.max == 1.0));
    // Token counts agree exactly. The emulator's metrics carry its
    // scheduled times, its responses' timings the times it actually kept,
    // later by the host's scheduling delay: the rates agree only roughly.
    for c in &e.comparisons {
        match c.quantity.as_str() {
            "generation_tokens" | "prompt_tokens" => assert!(!c.disagrees, "{c:?}"),
            _ => assert!(c.rel_diff.unwrap() < 0.5, "{c:?}"),
        }
    }
    let names: Vec<&str> = e.comparisons.iter().map(|c| c.quantity.as_str()).collect();
    assert_eq!(
        names,
        [
            "generation_tokens",
            "prompt_tokens",
            "prompt_tok_s",
            "generation_tok_s"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_form_histograms_are_recorded_and_compared() {
    let cfg = slow_emulator().with_metrics(MetricsFlavor::Vllm);
    let cell = scraped_cell(cfg, Duration::from_millis(10)).await;
    let e = cell.engine_metrics.as_ref().unwrap();
    assert_eq!(e.engine, "vllm");
    let f = &e.figures;
    assert_eq!(f.generation_tokens, Some(18.0));
    assert_eq!(
        f.prompt_tok_s, None,
        "vLLM exports no prompt seconds: absent"
    );
    let ttft = f.ttft_s.unwrap();
    assert_eq!(ttft.count, 3.0);
    // The emulator's TTFT is queue (≈0 at c=1) + the 20 ms prefill.
    assert!((ttft.mean.unwrap() - 0.020).abs() < 0.005, "{ttft:?}");
    assert_eq!(f.e2e_s.unwrap().count, 3.0);
    assert!(f.kv_cache_usage.is_some());
    assert!(e.comparisons.iter().any(|c| c.quantity == "ttft_ms.mean"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_scrape_is_noted_and_the_cell_still_measured() {
    let cfg = slow_emulator().with_metrics_fault(Some(MetricsFault::Http500));
    let cell = scraped_cell(cfg, Duration::from_millis(10)).await;
    assert_eq!(cell.metrics.as_ref().unwrap().ok, 3);
    let e = cell.engine_metrics.as_ref().unwrap();
    assert_eq!(e.polls, 0);
    assert!(e.failed_polls >= 2, "{e:?}");
    assert!(e.notes[0].contains("500"), "{:?}", e.notes);
    assert_eq!(e.figures.generation_tokens, None, "absent, not 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_cell_is_a_noted_reset_not_a_negative_delta() {
    // Counters are zeroed once two requests (warm-up + 1) were counted.
    let fault = MetricsFault::ResetAfterServed { requests: 2 };
    let cfg = slow_emulator().with_metrics_fault(Some(fault));
    let cell = scraped_cell(cfg, Duration::from_millis(10)).await;
    let e = cell.engine_metrics.as_ref().unwrap();
    let gen = e.counters["llamacpp:tokens_predicted_total"];
    assert_eq!((gen.delta, gen.resets), (18.0, 1), "{e:?}");
    assert!(
        e.notes.iter().any(|n| n.contains("tokens_predicted_total")),
        "{:?}",
        e.notes
    );
}
