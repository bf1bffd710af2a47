//! Launches the real llama-server built by `scripts/setup` with the
//! SmolLM2-135M demo model, found by `tokbench_testenv` (SKIP locally,
//! a failure naming what is missing under CI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use tokbench_backend::group::is_alive;
use tokbench_backend::{BackendError, BackendKind, BackendProcess, LaunchSpec};
use tokbench_testenv::SMOLLM2 as MODEL;

/// The binary and model, or `None` after printing why the test is skipped.
fn real_setup() -> Option<(PathBuf, PathBuf)> {
    let bin = tokbench_testenv::llama_server();
    let model = tokbench_testenv::demo_model(MODEL);
    Some((bin?, model?))
}

fn spec(bin: PathBuf, model: PathBuf, log: PathBuf) -> LaunchSpec {
    let mut spec = LaunchSpec::new(BackendKind::LlamaCpp, model, log);
    spec.binary = Some(bin);
    spec.parallel = 2;
    spec.ctx_size = Some(2048);
    spec.threads = Some(2);
    spec.health_timeout = Duration::from_secs(180);
    spec
}

#[tokio::test]
async fn real_llama_server_launches_identifies_and_stops() {
    let Some((bin, model)) = real_setup() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = BackendProcess::launch(spec(bin, model, dir.path().join("llama.log")))
        .await
        .unwrap();
    if let Err(e) = server.wait_healthy().await {
        panic!("llama-server did not come up: {e}");
    }
    let cmd = server.launch_command();
    eprintln!("launched: {}", cmd.join(" "));
    assert!(cmd.iter().any(|t| t == "--metrics"), "{cmd:?}");

    let info = server.identify().await.unwrap();
    eprintln!(
        "identity: {}",
        serde_json::to_string(&info).unwrap_or_default()
    );
    assert!(info.version.is_some(), "{info:?}");
    assert!(
        info.build.as_deref().is_some_and(|b| b.contains(" for ")),
        "{info:?}"
    );
    assert_eq!(info.total_slots, Some(2), "{info:?}");
    let n_ctx = info.n_ctx.unwrap();
    assert!((1..=2048).contains(&n_ctx), "n_ctx {n_ctx}");
    let props = info.props.as_ref().unwrap();
    assert!(
        props["model_path"]
            .as_str()
            .unwrap_or_default()
            .ends_with(MODEL),
        "{props}"
    );
    assert!(
        info.device.is_some(),
        "no device detected in log:\n{}",
        server.log_text().unwrap()
    );

    let pid = server.pid();
    let status = server.stop(Duration::from_secs(15)).await.unwrap();
    eprintln!("stopped: {status:?}");
    assert!(
        status.success(),
        "llama-server exits 0 on SIGTERM: {status:?}"
    );
    assert!(!server.is_running() && !is_alive(pid));
}

#[tokio::test]
async fn real_llama_server_rejects_a_corrupt_model_with_its_log() {
    let Some((bin, _)) = real_setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("corrupt.gguf");
    std::fs::write(&bad, b"this is not a GGUF file").unwrap();
    let mut server = BackendProcess::launch(spec(bin, bad, dir.path().join("bad.log")))
        .await
        .unwrap();
    let err = server.wait_healthy().await.unwrap_err();
    let BackendError::ExitedEarly { log_tail, .. } = &err else {
        panic!("expected ExitedEarly, got {err}");
    };
    eprintln!("log tail:\n{log_tail}");
    assert!(log_tail.to_lowercase().contains("model"), "{log_tail}");
}
