//! Template-engine launches against `fake_server.py` (a Python stand-in
//! for a server that serves `/health` and can fail, never become ready or
//! start a child that ignores SIGTERM): each health-check variant, and the
//! process group gone on every exit path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokbench_backend::group::is_alive;
use tokbench_backend::{
    BackendError, BackendKind, BackendProcess, LaunchSpec, TemplateEngine, TemplateHealth,
};

const FAKE: &str = include_str!("fake_server.py");

struct Fixture {
    dir: tempfile::TempDir,
    server: PathBuf,
    spec: LaunchSpec,
}

/// `None` when python3 is missing (SKIP locally, fails under CI).
fn fixture(env: &[(&str, &str)]) -> Option<Fixture> {
    tokbench_testenv::program(
        &["python3"],
        "install python3, e.g. apt-get install python3",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("my-engine");
    std::fs::write(&server, FAKE).unwrap();
    std::fs::set_permissions(&server, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The kind is not used by a template launch.
    let mut spec = LaunchSpec::new(BackendKind::LlamaCpp, "any-model", dir.path().join("e.log"));
    spec.parallel = 2;
    spec.health_timeout = Duration::from_secs(30);
    spec.env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Some(Fixture { dir, server, spec })
}

fn engine(f: &Fixture, health: TemplateHealth) -> TemplateEngine {
    let template = format!(
        "{} -m {{model}} --host {{host}} --port {{port}} --parallel {{parallel}} {{args}}",
        f.server.display()
    );
    let mut e = TemplateEngine::from_command(&template).unwrap();
    e.health = health;
    e.version_command = Some(vec![f.server.display().to_string(), "--version".into()]);
    e
}

fn gone_soon(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while is_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn read_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s.trim().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn health_endpoint_then_identity_redaction_and_stop() {
    let Some(mut f) = fixture(&[("FAKE_READY_AFTER", "0.6")]) else {
        return;
    };
    f.spec.extra_args = vec!["--api-key".into(), "sk-SECRET".into()];
    let e = engine(&f, TemplateHealth::default());
    let start = Instant::now();
    let mut server = BackendProcess::launch_template_healthy(f.spec.clone(), e)
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!((server.kind(), server.server_name()), (None, "my-engine"));
    let cmd = server.launch_command();
    assert!(cmd.iter().any(|t| t == "any-model"), "{cmd:?}");
    assert!(cmd.windows(2).any(|w| w == ["--parallel", "2"]), "{cmd:?}");
    assert!(cmd.windows(2).any(|w| w == ["--api-key", "***"]), "{cmd:?}");
    assert!(!cmd.iter().any(|t| t.contains("sk-SECRET")), "{cmd:?}");
    let log = std::fs::read_to_string(&f.spec.log_path).unwrap();
    assert!(!log.contains("sk-SECRET"), "{log}");

    let id = server.template_identity().await.unwrap();
    // The first line without its `version:` label.
    assert_eq!(id.version.as_deref(), Some("42 (fakec0de)"));
    assert!(id.models.is_none(), "the fake has no /v1/models");
    assert!(server.identify().await.is_err(), "no recipe identity");

    let pid = server.pid();
    server.stop(Duration::from_secs(5)).await.unwrap();
    assert!(gone_soon(pid));
}

#[tokio::test]
async fn log_line_health_is_ready_once_the_line_is_written() {
    let Some(f) = fixture(&[]) else {
        return;
    };
    let e = engine(
        &f,
        TemplateHealth::log_line(r"starting on port \d+").unwrap(),
    );
    let server = BackendProcess::launch_template_healthy(f.spec.clone(), e)
        .await
        .unwrap();
    assert!(server.log_text().unwrap().contains("fake server starting"));
    let pid = server.pid();
    drop(server);
    assert!(gone_soon(pid), "dropping the handle kills the group");
}

#[tokio::test]
async fn models_health_times_out_with_the_log_tail_and_leaves_nothing() {
    let Some(mut f) = fixture(&[]) else {
        return;
    };
    f.spec.env.push((
        "FAKE_CHILD_PID_FILE".into(),
        f.dir.path().join("child.pid").display().to_string(),
    ));
    f.spec.health_timeout = Duration::from_secs(2);
    let e = engine(&f, TemplateHealth::ModelListed);
    let err = BackendProcess::launch_template_healthy(f.spec.clone(), e)
        .await
        .unwrap_err();
    let BackendError::NotHealthy {
        server,
        last,
        log_tail,
        waited,
        ..
    } = &err
    else {
        panic!("expected NotHealthy, got {err}");
    };
    assert_eq!(&**server, "my-engine");
    assert!(*waited >= Duration::from_secs(2) && *waited < Duration::from_secs(10));
    assert!(last.contains("/v1/models answered HTTP 404"), "{last}");
    assert!(log_tail.contains("fake server starting"), "{log_tail}");
    assert!(err.to_string().contains("the my-engine server at"), "{err}");
    let child = read_pid(&f.dir.path().join("child.pid"));
    assert!(
        gone_soon(child),
        "the group's SIGTERM-ignoring child is killed"
    );
}

#[tokio::test]
async fn a_server_that_exits_during_start_up_is_reported_with_its_log() {
    let Some(f) = fixture(&[("FAKE_MODE", "fail")]) else {
        return;
    };
    let e = engine(&f, TemplateHealth::default());
    let err = BackendProcess::launch_template_healthy(f.spec.clone(), e)
        .await
        .unwrap_err();
    let BackendError::ExitedEarly {
        server,
        status,
        log_tail,
        ..
    } = &err
    else {
        panic!("expected ExitedEarly, got {err}");
    };
    assert_eq!((&**server, status.code()), ("my-engine", Some(3)));
    assert!(log_tail.contains("fake corrupt file"), "{log_tail}");
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let Some(f) = fixture(&[]) else {
        return;
    };
    let e = TemplateEngine::from_command("/nonexistent/engine-xyz --port {port}").unwrap();
    let err = BackendProcess::launch_template(f.spec.clone(), e)
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::Spawn { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/engine-xyz"), "{err}");
}
