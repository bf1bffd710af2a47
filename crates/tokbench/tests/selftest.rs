//! `tokbench selftest --check` end to end: its exit code and the bars it
//! names, against the in-process emulator, normal and deliberately slowed
//! (`--emulator-stall-ms`: a server-side stall the truth leaves out).
//!
//! Every run is small (concurrency 1, 5 measured requests of 32 tokens, no
//! ceiling search, no coalescing check) so the suite stays quick on a
//! shared 2-core box.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;
use std::sync::{Mutex, PoisonError};

/// Exit code of a missed bar (`cmd::selftest::EXIT_BAR_MISSED`).
const EXIT_BAR_MISSED: i32 = 5;

/// Selftests measure timing: run them one at a time, not side by side.
static SERIAL: Mutex<()> = Mutex::new(());

/// `tokbench selftest --check` at concurrency 1 with `extra` arguments,
/// one at a time.
fn selftest_check(extra: &[&str]) -> Output {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    assert_cmd::Command::cargo_bin("tokbench")
        .unwrap()
        .args(["selftest", "--check", "--concurrency", "1"])
        .args(["--ceiling-streams", "0", "--coalesce-events", "0"])
        .args(["--prefill-ms", "20", "--decode-tok-s", "50"])
        .args(["--output-tokens", "32"])
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `missed:` lines of a table-mode run.
fn missed_lines(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.starts_with("missed: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_stall_before_the_first_token_misses_the_ttft_bar() {
    let out = selftest_check(&["--emulator-stall-ms", "20"]);
    assert_eq!(out.status.code(), Some(EXIT_BAR_MISSED), "{}", stdout(&out));
    let missed = missed_lines(&out);
    assert!(
        missed
            .iter()
            .any(|l| l.starts_with("missed: TTFT at c=1 (fidelity): +")),
        "{missed:?}"
    );
    assert!(stdout(&out).contains("injected fault: every emulator delays tokens 0.. by 20 ms"));
}

#[test]
fn a_stall_in_the_decode_phase_misses_the_decode_bar() {
    // 31 token gaps at 50 tok/s take 620 ms; 200 ms more is a 24% slower
    // decode, while the first token keeps its schedule.
    let out = selftest_check(&[
        "--emulator-stall-ms",
        "200",
        "--emulator-stall-after",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_BAR_MISSED));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missed: decode at c=1 (fidelity): -"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bars = v["check"].as_array().unwrap();
    let decode = bars
        .iter()
        .find(|b| b["metric"] == "decode_pct" && b["concurrency"] == 1)
        .unwrap();
    assert_eq!(decode["pass"], false);
    assert!(decode["measured"].as_f64().unwrap() < -1.0, "{decode}");
    assert_eq!(v["injected_stall"]["after_tokens"], 1);
}

/// A normal run meets its bars. On a loaded 2-core host one run's median
/// TTFT can still land a few ms late (the emulator and the client compete
/// for the cores with everything else), so up to three runs are made: one
/// must exit 0, and each must exit 0 exactly when its JSON reports every
/// bar met, and 5 otherwise.
#[test]
fn a_normal_run_meets_every_bar() {
    let mut codes = Vec::new();
    for _ in 0..3 {
        let out = selftest_check(&["--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let bars = v["check"].as_array().unwrap();
        assert_eq!(bars.len(), 3, "TTFT, decode and failures at c=1: {bars:?}");
        let all_met = bars.iter().all(|b| b["pass"] == true);
        let code = out.status.code();
        assert_eq!(code, Some(if all_met { 0 } else { EXIT_BAR_MISSED }));
        assert!(v.get("injected_stall").is_none());
        codes.push(code);
        if all_met {
            return;
        }
    }
    panic!("no normal run met every bar: exit codes {codes:?}");
}

#[test]
fn help_documents_check_and_its_exit_code() {
    let out = assert_cmd::Command::cargo_bin("tokbench")
        .unwrap()
        .args(["selftest", "--help"])
        .output()
        .unwrap();
    // Help wraps at the terminal's width: compare with spaces collapsed.
    let help = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(help.contains("--check"), "{help}");
    assert!(help.contains("--emulator-stall-ms"), "{help}");
    assert!(help.contains("5 --check: a fidelity bar missed"), "{help}");
}
