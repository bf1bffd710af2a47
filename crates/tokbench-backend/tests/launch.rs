//! Launch tests against `fake_server.py`, a Python stand-in for
//! llama-server that serves `/health` and `/props` and can fail, never
//! become ready, ignore SIGTERM, or start a child that ignores SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokbench_backend::group::is_alive;
use tokbench_backend::{BackendError, BackendKind, BackendProcess, LaunchSpec};

const FAKE: &str = include_str!("fake_server.py");

struct Fixture {
    dir: tempfile::TempDir,
    spec: LaunchSpec,
}

/// A temp dir with the fake server and a dummy model; `None` when python3
/// is missing (`tokbench_testenv::require`: SKIP locally, fails under CI).
fn fixture(env: &[(&str, &str)]) -> Option<Fixture> {
    tokbench_testenv::program(
        &["python3"],
        "install python3, e.g. apt-get install python3",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("fake-llama-server");
    std::fs::write(&server, FAKE).unwrap();
    std::fs::set_permissions(&server, std::fs::Permissions::from_mode(0o755)).unwrap();
    let model = dir.path().join("model.gguf");
    std::fs::write(&model, b"GGUF").unwrap();
    let mut spec = LaunchSpec::new(
        BackendKind::LlamaCpp,
        &model,
        dir.path().join("logs/server.log"),
    );
    spec.binary = Some(server);
    spec.parallel = 2;
    spec.health_timeout = Duration::from_secs(30);
    spec.env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Some(Fixture { dir, spec })
}

fn child_pid_file(f: &Fixture) -> PathBuf {
    f.dir.path().join("child.pid")
}

fn read_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s.trim().parse().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the fake server never wrote {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) for `pid` to be gone: the kernel may take a moment to
/// finish a SIGKILLed process.
fn gone_soon(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while is_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[tokio::test]
async fn waits_through_503_then_identifies_and_stops() {
    let Some(mut f) = fixture(&[("FAKE_READY_AFTER", "0.8")]) else {
        return;
    };
    f.spec.extra_args = vec!["--api-key".into(), "sk-very-secret".into()];
    let start = Instant::now();
    let mut server = BackendProcess::launch(f.spec.clone()).await.unwrap();
    server.wait_healthy().await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "ready too early: {:?}",
        start.elapsed()
    );
    assert!(server.is_running());
    assert_eq!(
        server.base_url(),
        format!("http://127.0.0.1:{}", server.port())
    );

    let cmd = server.launch_command();
    for flag in ["--metrics", "--no-webui", "--parallel", "2", "***"] {
        assert!(cmd.iter().any(|t| t == flag), "{flag} missing from {cmd:?}");
    }
    assert!(!cmd.iter().any(|t| t.contains("sk-very-secret")), "{cmd:?}");
    let log = std::fs::read_to_string(&f.spec.log_path).unwrap();
    assert!(log.starts_with("# tokbench launch"), "{log}");
    assert!(!log.contains("sk-very-secret"), "{log}");
    assert!(server.log_text().unwrap().contains("fake server starting"));

    let info = server.identify().await.unwrap();
    assert_eq!(info.kind, BackendKind::LlamaCpp);
    assert_eq!(info.version.as_deref(), Some("42"));
    assert_eq!(info.commit.as_deref(), Some("fakec0de"));
    assert_eq!(info.build.as_deref(), Some("fakecc 1.0 for test-linux"));
    assert_eq!((info.total_slots, info.n_ctx), (Some(2), Some(256)));
    assert_eq!(info.device.as_deref(), Some("cpu"), "from --list-devices");

    let status = server.stop(Duration::from_secs(5)).await.unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert!(!server.is_running());
    assert!(!is_alive(server.pid()));
}

#[tokio::test]
async fn exited_early_reports_this_launchs_log_tail() {
    let Some(f) = fixture(&[("FAKE_MODE", "fail")]) else {
        return;
    };
    std::fs::create_dir_all(f.spec.log_path.parent().unwrap()).unwrap();
    std::fs::write(&f.spec.log_path, "stale line from an earlier run\n").unwrap();
    let mut server = BackendProcess::launch(f.spec.clone()).await.unwrap();
    let err = server.wait_healthy().await.unwrap_err();
    let BackendError::ExitedEarly {
        status, log_tail, ..
    } = &err
    else {
        panic!("expected ExitedEarly, got {err}");
    };
    assert_eq!(status.code(), Some(3));
    assert!(
        log_tail.contains("error loading model: fake corrupt file"),
        "{log_tail}"
    );
    assert!(!log_tail.contains("stale line"), "{log_tail}");
    assert!(err.to_string().contains("error loading model"), "{err}");
    assert!(!server.is_running());
}

#[tokio::test]
async fn never_ready_times_out_with_last_answer() {
    let Some(mut f) = fixture(&[("FAKE_MODE", "never_ready")]) else {
        return;
    };
    f.spec.health_timeout = Duration::from_millis(1500);
    let mut server = BackendProcess::launch(f.spec.clone()).await.unwrap();
    let err = server.wait_healthy().await.unwrap_err();
    let BackendError::NotHealthy {
        waited,
        last,
        log_tail,
        ..
    } = &err
    else {
        panic!("expected NotHealthy, got {err}");
    };
    assert!(*waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(*waited < Duration::from_secs(10), "{waited:?}");
    assert!(last.contains("503"), "{last}");
    assert!(log_tail.contains("fake server starting"), "{log_tail}");
    assert!(
        server.is_running(),
        "a timeout alone must not kill the server"
    );
}

#[tokio::test]
async fn stop_kills_the_whole_group_even_children_ignoring_sigterm() {
    let Some(mut f) = fixture(&[]) else { return };
    let pid_file = child_pid_file(&f);
    f.spec
        .env
        .push(("FAKE_CHILD_PID_FILE".into(), pid_file.display().to_string()));
    let mut server = BackendProcess::launch_healthy(f.spec.clone())
        .await
        .unwrap();
    let child = read_pid(&pid_file);
    assert!(is_alive(child), "the fake server's child should run");
    let start = Instant::now();
    server.stop(Duration::from_millis(400)).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "stop returned before grace"
    );
    assert!(gone_soon(child), "child {child} survived stop()");
    assert!(!is_alive(server.pid()));
}

#[tokio::test]
async fn stop_escalates_to_sigkill() {
    let Some(f) = fixture(&[("FAKE_MODE", "ignore_term")]) else {
        return;
    };
    let mut server = BackendProcess::launch_healthy(f.spec.clone())
        .await
        .unwrap();
    let status = server.stop(Duration::from_millis(300)).await.unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert!(!is_alive(server.pid()));
}

#[tokio::test]
async fn drop_kills_the_group() {
    let Some(mut f) = fixture(&[]) else { return };
    let pid_file = child_pid_file(&f);
    f.spec
        .env
        .push(("FAKE_CHILD_PID_FILE".into(), pid_file.display().to_string()));
    let server = BackendProcess::launch_healthy(f.spec.clone())
        .await
        .unwrap();
    let (pid, child) = (server.pid(), read_pid(&pid_file));
    assert!(is_alive(pid) && is_alive(child));
    drop(server);
    assert!(!is_alive(pid), "server {pid} survived drop");
    assert!(gone_soon(child), "child {child} survived drop");
}

#[tokio::test]
async fn a_busy_explicit_port_is_refused() {
    let Some(mut f) = fixture(&[]) else { return };
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    f.spec.port = Some(port);
    let err = BackendProcess::launch(f.spec.clone()).await.unwrap_err();
    assert!(
        matches!(err, BackendError::PortInUse { port: p, .. } if p == port),
        "{err}"
    );
    drop(busy);
    let mut server = BackendProcess::launch(f.spec).await.unwrap();
    assert_eq!(server.port(), port);
    server.wait_healthy().await.unwrap();
}

#[tokio::test]
async fn missing_binary_and_model_are_explained() {
    let Some(mut f) = fixture(&[]) else { return };
    let mut no_model = f.spec.clone();
    no_model.model = f.dir.path().join("absent.gguf");
    let err = BackendProcess::launch(no_model).await.unwrap_err();
    assert!(matches!(err, BackendError::ModelNotFound { .. }), "{err}");
    assert!(err.to_string().contains("absent.gguf"), "{err}");

    f.spec.binary = Some(PathBuf::from("/nonexistent/llama-server"));
    let err = BackendProcess::launch(f.spec).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, BackendError::BinaryNotFound { .. }), "{msg}");
    assert!(
        msg.contains("/nonexistent/llama-server") && msg.contains("scripts/setup"),
        "{msg}"
    );
    assert!(msg.contains("TOKBENCH_LLAMA_SERVER"), "{msg}");
}
