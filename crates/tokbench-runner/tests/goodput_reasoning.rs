//! Goodput (`--slo`) and reasoning (`--reasoning`, answer tok/s) against
//! the in-process emulator, with answers known from its schedule
//! (docs/methodology.md#goodput, docs/methodology.md#reasoning).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokbench_client::{Cancel, ReasoningMode};
use tokbench_emulator::{EmulatorConfig, EmulatorHandle, Prefill, ReasoningSwitch};
use tokbench_record::{CellMetrics, GoodputSlo, Record};
use tokbench_runner::{Plan, TargetSpec};
use tokbench_stats::Slo;

mod common;

/// [`common::plan`] with no reasoning switch asked for.
fn plan(concurrency: Vec<usize>, requests: u64, output: u64) -> Plan {
    let mut p = common::plan(concurrency, requests, output);
    p.reasoning = ReasoningMode::Auto;
    p
}

async fn emulator(cfg: EmulatorConfig) -> EmulatorHandle {
    tokbench_emulator::spawn(([127, 0, 0, 1], 0).into(), cfg)
        .await
        .unwrap()
}

/// Runs `plan` against `emu` (attach mode, no record written).
async fn run(plan: &Plan, emu: &EmulatorHandle) -> Record {
    let spec = TargetSpec::Attach {
        url: emu.base_url(),
        model: None,
        api_key: None,
    };
    common::run(plan, &spec, None, Cancel::new())
        .await
        .unwrap()
        .record
}

fn metrics(r: &Record, i: usize) -> &CellMetrics {
    r.cells[i].metrics.as_ref().unwrap()
}

/// One slot, 100 ms prefill, 100 tok/s, 6 tokens: a request that has the
/// slot to itself sees TTFT ≈ 110 ms and holds the slot ≈ 160 ms. At c=1
/// every request is alone: all 3 meet `ttft_ms ≤ 190`. At c=3 the three
/// measured requests are sent together and queue for the one slot: TTFT ≈
/// 110, 270, 430 ms, so exactly one meets it (80 ms margins). TPOT is 10 ms throughout, so
/// `tpot_ms ≤ 50` holds for all and `tpot_ms ≤ 5` for none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goodput_counts_requests_meeting_every_slo() {
    let emu = emulator(
        EmulatorConfig::default()
            .with_slots(1)
            .with_prefill(Prefill::Fixed { ms: 100.0 })
            .with_decode_tok_s(100.0),
    )
    .await;
    let mut p = plan(vec![1, 3], 3, 6);
    p.slo = Some(Slo {
        ttft_ms_max: Some(190.0),
        tpot_ms_max: Some(50.0),
        e2e_ms_max: None,
    });
    let r = run(&p, &emu).await;
    let expected = GoodputSlo {
        ttft_ms: Some(190.0),
        tpot_ms: Some(50.0),
        e2e_ms: None,
    };
    assert_eq!(r.run.slo, Some(expected));
    let alone = metrics(&r, 0);
    assert_eq!((alone.ok, alone.good_requests), (3, Some(3)));
    assert_eq!(alone.goodput_pct, Some(100.0));
    let window = alone.window_s.unwrap();
    assert!((alone.goodput_rps.unwrap() - 3.0 / window).abs() < 1e-12);
    let queued = metrics(&r, 1);
    let ttft = queued.ttft_ms.as_ref().unwrap();
    assert!(ttft.max > 350.0, "the third waits for two: {}", ttft.max);
    assert_eq!((queued.ok, queued.good_requests), (3, Some(1)));
    assert!((queued.goodput_pct.unwrap() - 100.0 / 3.0).abs() < 1e-9);

    p.concurrency = vec![1];
    p.slo = Some(Slo {
        tpot_ms_max: Some(5.0),
        ..Slo::default()
    });
    let r = run(&p, &emu).await;
    assert_eq!(metrics(&r, 0).good_requests, Some(0), "TPOT 10 ms > 5 ms");
    p.slo = None;
    let r = run(&p, &emu).await;
    assert_eq!(r.run.slo, None);
    assert_eq!(metrics(&r, 0).good_requests, None, "no --slo, no goodput");
    emu.shutdown().await;
}

/// 4 reasoning tokens then content, 12 tokens at 200 tok/s: every request
/// has 4 reasoning and 8 content tokens, so answer tok/s is exactly 8/12 of
/// gen tok/s (≈ 200; a 55 ms span, so the timer tolerance is loose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_and_answer_rates_are_exact() {
    let emu = emulator(thinking_emulator(ReasoningSwitch::Honour)).await;
    let r = run(&plan(vec![1], 3, 12), &emu).await;
    let m = metrics(&r, 0);
    assert_eq!((m.total_reasoning_tokens, m.total_content_tokens), (12, 24));
    let median = |k: &str| m.summary(k).unwrap().median;
    assert_eq!(median("reasoning_tokens"), 4.0);
    assert_eq!(median("content_tokens"), 8.0);
    let (gen, answer) = (median("decode_tok_s"), median("answer_tok_s"));
    assert!((gen - 200.0).abs() < 50.0, "gen tok/s {gen}");
    assert!(
        (answer - gen * 8.0 / 12.0).abs() < 1e-9,
        "{answer} vs {gen}"
    );
    let section = r.run.reasoning.as_ref().unwrap();
    assert_eq!((section.mode.as_str(), section.obeyed), ("auto", None));
    assert_eq!(
        (section.switch.as_deref(), section.reasoning_tokens),
        (None, 12)
    );
    emu.shutdown().await;
}

/// `--reasoning off` on a model the table does not know: the fallback
/// `chat_template_kwargs.enable_thinking=false` is sent; an emulator that
/// honours it sends the 8 content tokens only (`obeyed: true`), one that
/// ignores it still thinks (`obeyed: false`, with a note).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_off_is_recorded_as_obeyed_or_not() {
    let mut p = plan(vec![1], 3, 12);
    p.reasoning = ReasoningMode::Off;

    let emu = emulator(thinking_emulator(ReasoningSwitch::Honour)).await;
    let r = run(&p, &emu).await;
    emu.shutdown().await;
    let m = metrics(&r, 0);
    assert_eq!((m.total_reasoning_tokens, m.total_content_tokens), (0, 24));
    assert!(m.reasoning_tokens.is_none() && m.answer_tok_s.is_none());
    let section = r.run.reasoning.as_ref().unwrap();
    assert_eq!((section.mode.as_str(), section.obeyed), ("off", Some(true)));
    let switch = section.switch.as_deref().unwrap();
    assert!(switch.contains("enable_thinking"), "{switch}");
    assert!(!r.run.notes.iter().any(|n| n.contains("not obeyed")));

    let emu = emulator(thinking_emulator(ReasoningSwitch::Ignore)).await;
    let r = run(&p, &emu).await;
    emu.shutdown().await;
    assert_eq!(metrics(&r, 0).total_reasoning_tokens, 12);
    let section = r.run.reasoning.as_ref().unwrap();
    assert_eq!(section.obeyed, Some(false));
    let note = r.run.notes.iter().find(|n| n.contains("not obeyed"));
    assert!(
        note.unwrap().contains("12 reasoning tokens"),
        "{:?}",
        r.run.notes
    );
}

/// A `chat_template_kwargs` given with `--extra-body` wins over the
/// table's: asked to think, the honouring emulator thinks, so `--reasoning
/// off` is recorded as not obeyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_body_wins_over_the_reasoning_switch() {
    let mut p = plan(vec![1], 2, 12);
    p.reasoning = ReasoningMode::Off;
    let kwargs = serde_json::json!({"enable_thinking": true});
    p.extra_body.insert("chat_template_kwargs".into(), kwargs);
    let emu = emulator(thinking_emulator(ReasoningSwitch::Honour)).await;
    let r = run(&p, &emu).await;
    emu.shutdown().await;
    assert_eq!(metrics(&r, 0).total_reasoning_tokens, 8);
    assert_eq!(r.run.reasoning.unwrap().obeyed, Some(false));
}

fn thinking_emulator(switch: ReasoningSwitch) -> EmulatorConfig {
    EmulatorConfig::default()
        .with_slots(2)
        .with_prefill(Prefill::Fixed { ms: 2.0 })
        .with_decode_tok_s(200.0)
        .with_reasoning_tokens(4)
        .with_reasoning_switch(switch)
}
