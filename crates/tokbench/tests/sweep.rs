//! `tokbench sweep` end to end with the emulator launched as a template
//! engine whose `--decode-tok-s` is the swept parameter: the ranking and
//! the winner are known answers, racing drops the clearly slower
//! configurations and says how many requests it saved, a configuration
//! whose flag the server refuses and one whose server is killed during
//! measurement are recorded with their reasons while the sweep finishes
//! with the rest, and `--dry-run` launches nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

fn tokbench() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tokbench")
}

/// A wrapper engine: `--crash-after S` makes its emulator die after S
/// seconds (GNU `timeout`); every other flag goes to the emulator.
fn wrapper(dir: &Path) -> PathBuf {
    let path = dir.join("engine.sh");
    let script = format!(
        "#!/bin/sh\nlimit=\nargs=\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --crash-after ]; then limit=$2; shift 2; continue; fi\n  args=\"$args $1\"; shift\ndone\nif [ -n \"$limit\" ]; then exec timeout -s KILL \"$limit\" {bin} emulate $args; fi\nexec {bin} emulate $args\n",
        bin = tokbench().display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn sweep(dir: &Path, args: &[&str]) -> Output {
    let engine = wrapper(dir);
    let template = format!(
        "{} --port {{port}} --slots {{parallel}} {{args}}",
        engine.display()
    );
    Command::cargo_bin("tokbench")
        .unwrap()
        .current_dir(dir)
        .args(["sweep", "demo-model", "--backend-cmd", &template])
        .args([
            "--scale",
            "0.1",
            "--no-bandwidth",
            "--health-timeout",
            "20s",
        ])
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The run records and the sweep records in `dir/runs`.
fn all_records(
    dir: &Path,
) -> (
    Vec<tokbench_record::Record>,
    Vec<tokbench_record::SweepRecord>,
) {
    let runs = dir.join("runs");
    let (mut out, mut sweeps) = (Vec::new(), Vec::new());
    for e in std::fs::read_dir(runs).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "yaml") {
            match tokbench_record::read_any(&e.path()).unwrap() {
                tokbench_record::AnyRecord::Run(r) => out.push(*r),
                tokbench_record::AnyRecord::Sweep(s) => sweeps.push(*s),
                other => panic!("unexpected record {:?}", other.kind()),
            }
        }
    }
    (out, sweeps)
}

fn records(dir: &Path) -> Vec<tokbench_record::Record> {
    let (runs, sweeps) = all_records(dir);
    assert_eq!(sweeps.len(), 1, "one sweep record per sweep");
    runs
}

#[test]
fn the_fastest_configuration_wins_and_racing_drops_the_slow_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = sweep(
        dir.path(),
        &[
            "--set",
            "decode-tok-s=100,200,800",
            "-n",
            "10",
            "--rounds",
            "3",
            "--quality-tokens",
            "4",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Winner: decode-tok-s=800 ("), "{t}");
    assert!(
        t.contains("--decode-tok-s 800"),
        "the winner's server command: {t}"
    );
    assert!(t.contains("decode-tok-s=100 (reference)"), "{t}");
    // Nothing is dropped on one launch: after round 2 the slow ones go and
    // the race is over: 3 × 2 × 10 = 60 of 90.
    assert!(t.contains("dropped after round 2"), "{t}");
    assert!(!t.contains("dropped after round 1"), "{t}");
    assert!(t.contains("Racing: 60 requests measured"), "{t}");
    assert!(t.contains("would take 90 (saved 30, 33%)"), "{t}");
    let recs = records(dir.path());
    assert_eq!(recs.len(), 6, "two rounds of three configurations");
    let mut modes: Vec<&str> = recs.iter().map(|r| r.run.mode.as_str()).collect();
    modes.sort_unstable();
    modes.dedup();
    assert_eq!(
        modes,
        ["decode-tok-s=100", "decode-tok-s=200", "decode-tok-s=800"]
    );
}

#[test]
fn exhaustive_measures_every_configuration_every_round() {
    let dir = tempfile::tempdir().unwrap();
    let out = sweep(
        dir.path(),
        &[
            "--set",
            "decode-tok-s=200,800",
            "-n",
            "4",
            "--rounds",
            "2",
            "--exhaustive",
            "--no-quality",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Requests measured: 16 (exhaustive"), "{t}");
    assert!(t.contains("Winner: decode-tok-s=800"), "{t}");
    assert_eq!(records(dir.path()).len(), 4);
}

#[test]
fn a_refused_flag_and_a_crash_are_recorded_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("space.yaml");
    std::fs::write(
        &space,
        "params:\n  decode-tok-s: [400]\nconfigs:\n  - {name: refused, set: {decode-tok-s: \"800\", bogus: \"1\"}}\n  - {name: crashes, set: {decode-tok-s: \"10\", crash-after: \"3\"}}\n",
    )
    .unwrap();
    let out = sweep(
        dir.path(),
        &[
            "--space",
            space.to_str().unwrap(),
            "-n",
            "6",
            "--rounds",
            "1",
            "--no-quality",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Winner: decode-tok-s=400"), "{t}");
    assert!(t.contains("Failed: refused — refused: "), "{t}");
    assert!(t.contains("--bogus"), "the server's own words: {t}");
    assert!(
        t.contains("Failed: crashes — crashed (record kept: "),
        "{t}"
    );
    let recs = records(dir.path());
    let crashed = recs
        .iter()
        .find(|r| r.run.mode == "crashes")
        .expect("crash record");
    assert!(crashed.run.flags.incomplete);
}

#[test]
fn the_quality_gate_excludes_a_faster_configuration_whose_output_diverges() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("space.yaml");
    std::fs::write(
        &space,
        "params:\n  decode-tok-s: [100, 300]\nconfigs:\n  - {name: fast-wrong, set: {decode-tok-s: \"800\", diverge-at: \"2\", diverge-kind: hard}}\n",
    )
    .unwrap();
    let out = sweep(
        dir.path(),
        &[
            "--space",
            space.to_str().unwrap(),
            "--backend-arg=--text-seed",
            "--backend-arg=7",
            "-n",
            "6",
            "--rounds",
            "2",
            "--quality-tokens",
            "6",
            "--log",
            "PERF_LOG.md",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    // The diverging configuration is the fastest, and is ranked first...
    let table = t.split("Winner:").next().unwrap();
    let first_row = table
        .lines()
        .find(|l| l.contains("│ 1 "))
        .expect("a first-ranked row");
    assert!(first_row.contains("fast-wrong"), "{t}");
    assert!(first_row.contains("✗ 0/10 identical, 10 hard"), "{t}");
    // ...but cannot win: the next one does.
    assert!(t.contains("Winner: decode-tok-s=300 ("), "{t}");
    assert!(
        t.contains("Failed quality: fast-wrong — 10 hard divergences (at most 0)"),
        "{t}"
    );
    assert!(t.contains("✓ 10/10 identical"), "{t}");
    // Measured once to show its speed, not raced further: 3 records in
    // round 1, then 2 in round 2 unless racing ended the race.
    let modes: Vec<String> = records(dir.path())
        .into_iter()
        .map(|r| r.run.mode)
        .collect();
    assert_eq!(
        modes.iter().filter(|m| *m == "fast-wrong").count(),
        1,
        "{modes:?}"
    );
}

#[test]
fn the_quality_command_runs_against_each_server_and_its_score_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    // The command asks the server it is given for its models, so a score
    // is printed only when {url} and TOKBENCH_URL reach the server.
    let cmd = "sh -c 'curl -sf \"$TOKBENCH_URL/v1/models\" >/dev/null && curl -sf {url}/health >/dev/null && echo acc 0.625'";
    let out = sweep(
        dir.path(),
        &[
            "--set",
            "decode-tok-s=200,400",
            "-n",
            "4",
            "--rounds",
            "1",
            "--quality-tokens",
            "2",
            "--quality-cmd",
            cmd,
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        table.matches("10/10 identical, score 0.6250").count(),
        2,
        "{t}"
    );
    assert!(t.contains("Winner: decode-tok-s=400 ("), "{t}");
}

#[test]
fn a_configuration_that_misses_an_slo_cannot_win() {
    let dir = tempfile::tempdir().unwrap();
    // A known answer: the emulator at 800 tok/s decodes a request at a
    // median near 800 tok/s, above the bound; 200 tok/s is below it.
    let out = sweep(
        dir.path(),
        &[
            "--set",
            "decode-tok-s=200,800",
            "-n",
            "6",
            "--rounds",
            "1",
            "--no-quality",
            "--slo",
            "decode_tok_s.p50<=500",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Winner: decode-tok-s=200 ("), "{t}");
    assert!(
        t.contains("Missed SLO: decode-tok-s=800 — decode_tok_s.p50 = "),
        "{t}"
    );
    assert!(t.contains(" > 500 on chat@1"), "{t}");
    let bad = Command::cargo_bin("tokbench")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "sweep",
            "m.gguf",
            "--set",
            "threads=1",
            "--slo",
            "ttft_ms.p99=5",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("METRIC.STAT<=VALUE"), "{}", text(&bad));
}

#[test]
fn ctrl_c_keeps_what_was_measured_writes_the_sweep_record_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let mark = format!("sweep-sigint-{}", std::process::id());
    let engine = wrapper(dir.path());
    let template = format!(
        "{} --port {{port}} --slots {{parallel}} {{args}}",
        engine.display()
    );
    let mut child = Command::cargo_bin("tokbench")
        .unwrap()
        .current_dir(dir.path())
        .args(["sweep", "demo-model", "--backend-cmd", &template])
        .args(["--scale", "0.1", "--no-bandwidth", "--no-quality"])
        .args(["--set", "decode-tok-s=400,10", "-n", "40", "--rounds", "2"])
        .arg(format!("--backend-arg=--model={mark}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the second configuration is being measured (the first
    // one's run is then complete), then interrupt.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("[round 1/2] decode-tok-s=10") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the second configuration never started");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "interrupted");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("decode-tok-s=400"), "{stdout}");
    let (runs, sweeps) = all_records(dir.path());
    assert_eq!(sweeps.len(), 1);
    assert!(sweeps[0].run.interrupted);
    let first = runs
        .iter()
        .find(|r| r.run.mode == "decode-tok-s=400")
        .unwrap();
    assert!(!first.run.flags.incomplete);
    let second = runs
        .iter()
        .find(|r| r.run.mode == "decode-tok-s=10")
        .unwrap();
    assert!(
        second.run.flags.incomplete,
        "the interrupted configuration's record is kept"
    );
    let left = Command::new("pgrep").args(["-f", &mark]).output().unwrap();
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn dry_run_lists_configurations_and_unknown_names_fail_before_launch() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "sweep",
            "m.gguf",
            "--set",
            "threads=1-2+1",
            "--set",
            "flash-attn=on,off",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("[1/4] threads=1, flash-attn=on"), "{t}");
    assert!(t.contains("--threads 2 --flash-attn off"), "{t}");
    assert!(t.contains("4 configurations"), "{t}");
    assert!(
        !dir.path().join("runs").exists(),
        "nothing launched or recorded"
    );
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .current_dir(dir.path())
        .args(["sweep", "m.gguf", "--set", "warp-speed=1,2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("warp-speed"), "{}", text(&out));
}
