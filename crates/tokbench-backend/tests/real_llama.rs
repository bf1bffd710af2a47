//! Launches the real llama-server built by `scripts/setup` with the
//! SmolLM2-135M demo model. Skipped (with a line saying so) when either
//! is missing.
//!
//! Binary: `$TOKBENCH_LLAMA_SERVER`, else
//! `$CACHE/llama.cpp/*/bin/llama-server`. Model: `smollm2-135m-instruct-q4_1.gguf`
//! in `$TOKBENCH_MODELS_DIR`, else `$CACHE/models`. `$CACHE` is
//! `$TOKBENCH_CACHE_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/tokbench`
//! ([`tokbench_dirs::cache_root`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use tokbench_backend::group::is_alive;
use tokbench_backend::{BackendError, BackendKind, BackendProcess, LaunchSpec};

const MODEL: &str = "smollm2-135m-instruct-q4_1.gguf";

fn llama_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TOKBENCH_LLAMA_SERVER").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let root = tokbench_dirs::cache_dir("llama.cpp")?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/llama-server"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

fn model() -> Option<PathBuf> {
    let dir = std::env::var_os("TOKBENCH_MODELS_DIR")
        .map(PathBuf::from)
        .or_else(|| tokbench_dirs::cache_dir("models"))?;
    Some(dir.join(MODEL)).filter(|p| p.is_file())
}

/// The binary and model, or `None` after printing why the test is skipped.
fn real_setup() -> Option<(PathBuf, PathBuf)> {
    match (llama_server(), model()) {
        (Some(bin), Some(model)) => Some((bin, model)),
        (bin, model) => {
            eprintln!(
                "SKIP: real llama-server test needs scripts/setup (llama-server: {}, {MODEL}: {})",
                if bin.is_some() { "found" } else { "missing" },
                if model.is_some() { "found" } else { "missing" },
            );
            None
        }
    }
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
