//! Set-up shared by the runner's integration tests: a plan of one custom
//! shape, the recorded invocation and one run against a target.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tokbench_client::{Cancel, Endpoint, Shape, Stresses};
use tokbench_probe::gpu::FakeGpuProbe;
use tokbench_probe::{probe_rig, GpuProbe, ProbeOptions};
use tokbench_runner::{
    CellPlan, ClientSettings, Invocation, NoProgress, Plan, PromptPolicy, RunError, Runner,
    TargetSpec,
};

/// A shape of `prompt` and `output` tokens.
pub fn shape(prompt: u64, output: u64) -> Shape {
    Shape {
        prompt_tokens: prompt,
        output_tokens: output,
        system_prompt: Default::default(),
        system_share: 0.0,
        stresses: Stresses::Mixed,
        description: "test".into(),
    }
}

/// `requests` measured requests (after one warm-up) per cell of a 20-token
/// prompt and `output` output tokens, at each level of `concurrency`.
pub fn plan(concurrency: Vec<usize>, requests: u64, output: u64) -> Plan {
    Plan {
        shapes: vec![("custom".into(), shape(20, output))],
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
            engine_metrics: None,
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

/// The command line recorded with every test run (with a key to redact).
pub fn invocation() -> Invocation {
    Invocation {
        command_line: ["tokbench", "run", "--api-key", "sk-SECRET"]
            .map(String::from)
            .to_vec(),
        tokbench_version: "test".into(),
        tokbench_commit: None,
        mode: "baseline".into(),
    }
}

/// Runs `plan` against `spec`, writing the record below `dir` when given.
pub async fn run(
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
