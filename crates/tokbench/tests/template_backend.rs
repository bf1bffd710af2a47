//! Command-template backends end to end: `tokbench run` launching the
//! built-in emulator (`tokbench emulate`) as an engine, from
//! `--backend-cmd` and from a backends file; the record names the engine
//! and its (redacted) launch command and measures every cell; no engine
//! process is left behind after success, a never-healthy engine or an
//! unknown placeholder; usage and backends-file errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assert_cmd::cargo::CommandCargoExt;
use tokbench_record::Record;

fn tokbench() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tokbench")
}

/// A marker no other process has in its command line.
fn marker(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("tmpl-{tag}-{}-{nanos}", std::process::id())
}

/// Pids of live processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(marker) {
            pids.push(pid);
        }
    }
    pids
}

/// Whether every process with `marker` is gone within a few seconds.
fn none_left(marker: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_with(marker).is_empty() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// `tokbench run MODEL ARGS` with small cells, records into `runs`.
fn run(runs: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("tokbench").unwrap();
    cmd.args(["run", "demo-model", "--no-progress", "--runs-dir"])
        .arg(runs)
        .args(["--prompt-tokens", "50", "--output-tokens", "16", "-n", "3"]);
    if !args.contains(&"--health-timeout") {
        cmd.args(["--health-timeout", "20s"]);
    }
    cmd.args(args).output().unwrap()
}

fn the_record(runs: &Path) -> Record {
    let yaml: Vec<_> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert_eq!(yaml.len(), 1, "{yaml:?}");
    tokbench_record::read_record(&yaml[0]).unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_every_cell_measured(r: &Record) {
    assert!(!r.cells.is_empty());
    for c in &r.cells {
        let m = c.metrics.as_ref().expect("measured");
        assert_eq!((m.ok, m.requests), (3, 3), "{}", c.shape);
    }
    assert!(!r.run.flags.incomplete);
}

#[test]
fn the_emulator_launched_by_template_is_measured_recorded_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("cmd");
    let template = format!(
        "{} emulate --port {{port}} --slots {{parallel}} --model {mark} {{args}}",
        tokbench().display()
    );
    let out = run(
        dir.path(),
        &[
            "--backend-cmd",
            &template,
            "--backend-arg=--decode-tok-s",
            "--backend-arg=800",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = the_record(dir.path());
    assert_eq!(r.backend.name, "tokbench");
    assert_eq!(
        r.backend.build_info.as_deref(),
        Some("template backend (--backend-cmd)")
    );
    assert!(r.backend.launched);
    let cmd = r.backend.launch_command.clone().unwrap();
    assert_eq!(cmd[0], tokbench().display().to_string());
    for word in ["emulate", "--slots", "1", &mark, "--decode-tok-s", "800"] {
        assert!(cmd.iter().any(|w| w == word), "{word} not in {cmd:?}");
    }
    assert_eq!(r.backend.flags, ["--decode-tok-s", "800"]);
    assert_eq!(
        r.model.id, mark,
        "the model id comes from the engine's /v1/models"
    );
    let prompts = r.run.prompts.as_ref().unwrap();
    assert_eq!(
        prompts.cache_control.as_deref(),
        Some("cache_prompt: false"),
        "the emulator answers /props as itself, so it is asked as the recipe asks"
    );
    assert_every_cell_measured(&r);
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
}

#[test]
fn a_backends_file_engine_names_its_version_and_hides_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("file");
    let file = dir.path().join("engines.yaml");
    let yaml = format!(
        "engines:\n  emu:\n    command: {bin} emulate --port {{port}} --model {mark} --decode-tok-s 800 {{args}}\n    health: {{models: true}}\n    version: {bin} --version\n    env: {{OPENAI_API_KEY: sk-SECRET}}\n",
        bin = tokbench().display()
    );
    std::fs::write(&file, yaml).unwrap();
    let runs = dir.path().join("runs");
    let out = run(
        &runs,
        &["--backend-file", file.to_str().unwrap(), "--engine", "emu"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = the_record(&runs);
    assert_eq!(r.backend.name, "emu");
    assert_eq!(
        r.backend.build_info.as_deref(),
        Some("template backend (engines.yaml)")
    );
    let version = r.backend.version.clone().unwrap();
    assert!(version.starts_with("tokbench "), "{version}");
    let cmd = r.backend.launch_command.clone().unwrap();
    assert!(cmd.iter().any(|w| w == "OPENAI_API_KEY=***"), "{cmd:?}");
    assert!(!cmd.iter().any(|w| w.contains("sk-SECRET")), "{cmd:?}");
    let record_text = std::fs::read_to_string(
        runs.read_dir()
            .unwrap()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "yaml"))
            .unwrap()
            .path(),
    )
    .unwrap();
    assert!(!record_text.contains("sk-SECRET"));
    assert_every_cell_measured(&r);
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
}

#[test]
fn a_never_healthy_engine_fails_after_the_timeout_with_its_log_and_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("never");
    let file = dir.path().join("engines.yaml");
    let yaml = format!(
        "engines:\n  stuck:\n    command: {} emulate --port {{port}} --model {mark}\n    health: {{http: /never-ready}}\n",
        tokbench().display()
    );
    std::fs::write(&file, yaml).unwrap();
    let start = Instant::now();
    let out = run(
        dir.path(),
        &[
            "--backend-file",
            file.to_str().unwrap(),
            "--engine",
            "stuck",
            "--health-timeout",
            "2s",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(all.contains("the stuck server at"), "{all}");
    assert!(all.contains("not healthy after 2."), "{all}");
    assert!(all.contains("GET /never-ready answered HTTP 404"), "{all}");
    assert!(
        all.contains("listening on http://"),
        "log tail expected: {all}"
    );
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
}

#[test]
fn an_unknown_placeholder_is_a_usage_error_and_launches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("typo");
    let template = format!(
        "{} emulate --port {{portt}} --model {mark}",
        tokbench().display()
    );
    let out = run(dir.path(), &["--backend-cmd", &template]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("unknown placeholder {portt}"), "{all}");
    assert!(processes_with(&mark).is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no log, no record"
    );
}

#[test]
fn template_flags_out_of_their_mode_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 4] = [
        &["--backend-cmd", "x --port {port}", "--backend", "vllm"],
        &[
            "--backend-cmd",
            "x --port {port}",
            "--backend-bin",
            "/bin/x",
        ],
        &["--engine", "emu"],
        &["--backend-file", "e.yaml"],
    ];
    for args in cases {
        let out = run(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .args([
            "run",
            "--url",
            "http://127.0.0.1:9",
            "--backend-cmd",
            "x --port {port}",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--backend-cmd has no effect in attach mode"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_broken_backends_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("engines.yaml");
    std::fs::write(
        &file,
        "engines:\n  a:\n    command: a --port {port}\n    helth: {http: /}\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["--backend-file", file.to_str().unwrap(), "--engine", "a"],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(&format!("{}:4:", file.display())), "{all}");
    let out = run(
        dir.path(),
        &["--backend-file", file.to_str().unwrap(), "--engine", "b"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_process_scan_sees_a_live_marker() {
    let mark = marker("scan");
    let mut child = Command::new("sh")
        .args(["-c", "sleep 20", &mark])
        .spawn()
        .unwrap();
    let seen = !processes_with(&mark).is_empty();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen, "the scan must find a live process by its marker");
    assert!(none_left(&mark));
}

/// Starts a long `tokbench run` of an emulator engine with `mark`, waits
/// until the engine has served a while, and returns the run's child and
/// the engine's pid.
fn long_run(runs: &Path, mark: &str) -> (std::process::Child, u32) {
    let template = format!(
        "{} emulate --port {{port}} --model {mark} --decode-tok-s 100",
        tokbench().display()
    );
    let child = Command::cargo_bin("tokbench")
        .unwrap()
        .args(["run", "demo-model", "--no-progress", "--runs-dir"])
        .arg(runs)
        .args([
            "--prompt-tokens",
            "50",
            "--output-tokens",
            "16",
            "-n",
            "500",
        ])
        .args(["--health-timeout", "20s", "--backend-cmd", &template])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let engine = loop {
        // The run's own command line holds the marker too.
        if let Some(pid) = processes_with(mark).into_iter().find(|&p| p != child.id()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "the engine never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(2500));
    (child, engine)
}

#[test]
fn ctrl_c_keeps_what_was_measured_and_stops_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("sigint");
    let (mut child, _) = long_run(dir.path(), &mark);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "incomplete");
    let r = the_record(dir.path());
    assert!(r.run.flags.incomplete);
    let m = r.cells[0].metrics.as_ref().unwrap();
    assert!(m.ok >= 1 && m.ok < 500, "{}", m.ok);
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
}

#[test]
fn an_engine_that_crashes_mid_run_leaves_an_incomplete_record() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("crash");
    let (mut child, engine) = long_run(dir.path(), &mark);
    let engine = engine.to_string();
    assert!(Command::new("kill")
        .args(["-KILL", &engine])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "incomplete");
    let r = the_record(dir.path());
    assert!(r.run.flags.incomplete);
    assert!(r.cells[0].metrics.as_ref().unwrap().ok >= 1);
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
}

#[test]
fn a_secret_in_the_template_is_recorded_as_stars() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("secret");
    // `sh -c` only to give the emulator a secret flag it would refuse:
    // tokbench itself never runs a template through a shell.
    let template = format!(
        "sh -c 'exec \"$1\" emulate --port \"$0\" --model {mark}' {{port}} {} --api-key sk-SECRET",
        tokbench().display()
    );
    let out = run(dir.path(), &["--backend-cmd", &template]);
    assert!(out.status.success(), "{}", text(&out));
    let r = the_record(dir.path());
    assert_eq!(r.backend.name, "sh");
    let cmd = r.backend.launch_command.clone().unwrap();
    assert!(cmd.windows(2).any(|w| w == ["--api-key", "***"]), "{cmd:?}");
    let yaml = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(yaml.contains("--api-key"), "the record and log were read");
    assert!(
        !yaml.contains("sk-SECRET"),
        "a secret reached the record or the log"
    );
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
}

#[test]
fn crossval_launches_each_side_from_its_own_template() {
    let dir = tempfile::tempdir().unwrap();
    let mark = marker("crossval");
    let side = |extra: &str| {
        format!(
            "{} emulate --port {{port}} --model {mark} --text-seed 7 --decode-tok-s 20000 \
             --prefill-tok-s 1000000 {extra}",
            tokbench().display()
        )
    };
    let (a, b) = (side(""), side("--diverge-at 5 --diverge-kind hard"));
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .args([
            "crossval",
            "demo-model",
            "--tokens",
            "24",
            "--no-self-check",
        ])
        .args(["--a-backend-cmd", &a, "--b-backend-cmd", &b, "--runs-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let path = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "yaml"))
        .unwrap();
    let rec = tokbench_record::read_crossval(&path).unwrap();
    assert_eq!(rec.summary.identical, 0, "B diverges at token 5");
    for s in &rec.sides {
        let backend = s.backend.as_ref().unwrap();
        assert_eq!(
            backend.build_info.as_deref(),
            Some("template backend (--backend-cmd)")
        );
        assert!(backend.launch_command.as_ref().unwrap().contains(&mark));
    }
    assert!(none_left(&mark), "left: {:?}", processes_with(&mark));
    // A template for a side that is not a model file is a usage error.
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .args([
            "crossval",
            "http://127.0.0.1:9",
            "--a-backend-cmd",
            &a,
            "--no-record",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
