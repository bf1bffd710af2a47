//! The launch → measure → record path against the in-process emulator on
//! port 0 (known answers): one attach-mode run, its record and sidecar,
//! Ctrl-C, and an unreachable server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tokbench_client::{Cancel, Endpoint, Shape, Stresses};
use tokbench_emulator::{EmulatorConfig, Prefill};
use tokbench_probe::gpu::FakeGpuProbe;
use tokbench_probe::{probe_rig, GpuProbe, ProbeOptions};
use tokbench_record::CellStop;
use tokbench_runner::{
    CellPlan, ClientSettings, Invocation, NoProgress, Plan, PromptPolicy, RunError, Runner,
    TargetSpec,
};

fn shape(prompt: u64, output: u64) -> Shape {
    Shape {
        prompt_tokens: prompt,
        output_tokens: output,
        system_prompt: Default::default(),
        system_share: 0.0,
        stresses: Stresses::Mixed,
        description: "test".into(),
    }
}

fn plan(concurrency: Vec<usize>, requests: u64) -> Plan {
    Plan {
        shapes: vec![("custom".into(), shape(20, 6))],
        concurrency,
        cells: CellPlan {
            requests: Some(requests),
            duration: None,
            rate: None,
            warmup: Some(1),
            min_per_slot: 3,
            max_requests: None,
            max_time: Duration::from_secs(60),
            ci_target: 0.03,
            seed: 7,
            ramp_up: Duration::ZERO,
        },
        endpoint: Endpoint::Chat,
        force_length: true,
        extra_body: Default::default(),
        words_per_token: Some(0.75),
        prompts: PromptPolicy::default(),
        client: ClientSettings {
            keep_alive: false,
            stall_timeout: Duration::from_secs(30),
        },
        slo: None,
        reasoning: Default::default(),
    }
}

fn invocation() -> Invocation {
    Invocation {
        command_line: ["tokbench", "run", "--api-key", "sk-SECRET"]
            .map(String::from)
            .to_vec(),
        tokbench_version: "test".into(),
        tokbench_commit: None,
        mode: "baseline".into(),
    }
}

async fn run(
    plan: &Plan,
    spec: &TargetSpec,
    dir: Option<&std::path::Path>,
    cancel: Cancel,
) -> Result<tokbench_runner::Outcome, RunError> {
    let gpus: Arc<dyn GpuProbe> = Arc::new(FakeGpuProbe::new(Vec::new()));
    let rig = probe_rig(&ProbeOptions::default(), gpus.as_ref());
    let inv = invocation();
    let runner = Runner {
        plan,
        rig: &rig,
        gpus,
        invocation: &inv,
        runs_dir: dir.map(ToOwned::to_owned),
        cancel,
        progress: &NoProgress,
    };
    runner.run(spec, 0).await
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
