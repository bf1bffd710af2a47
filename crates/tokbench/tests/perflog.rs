//! `tokbench perflog append` and `verify` end to end: three blocks appended
//! through the CLI verify; a number edited in the first block is caught and
//! named with its line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn tokbench() -> Command {
    Command::cargo_bin("tokbench").unwrap()
}

fn append(log: &Path, title: &str, speedup: &str) {
    tokbench()
        .args(["perflog", "append", "--title", title])
        .args(["--hardware", "RTX 5070 12 GB", "--model", "Qwen3-8B Q4_K_M"])
        .args(["--backend", "llama.cpp b5000", "--date", "2026-05-24"])
        .args(["--command", "tokbench gate --baseline a.yaml b.yaml"])
        .args(["--row", "Decode tok/s c=1 (baseline)|32.9"])
        .args(["--row", &format!("Decode speedup c=1|{speedup}|≥1.10× ✓")])
        .args(["--row", "GPU mem peak|5.64 GB|≤ 11.8 GB ✓"])
        .args(["--note", "three prompts, warm cache"])
        .arg(log)
        .assert()
        .success()
        .stdout(predicate::str::contains("appended block"));
}

#[test]
fn three_blocks_verify_and_an_edit_in_the_first_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("PERF_LOG.md");
    append(&log, "First gate", "1.77×");
    append(&log, "Second gate", "1.33×");
    append(&log, "Third gate", "1.21×");
    tokbench()
        .args(["perflog", "verify"])
        .arg(&log)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("intact, 3 block(s)"));

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("| Decode speedup c=1 | 1.77× | ≥1.10× ✓ |\n"));
    let heading = text
        .lines()
        .position(|l| l.starts_with("## First gate"))
        .unwrap()
        + 1;
    std::fs::write(&log, text.replacen("1.77×", "1.97×", 1)).unwrap();
    tokbench()
        .args(["perflog", "verify"])
        .arg(&log)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "PERF_LOG.md:{heading}: block 1 (line {heading}) was edited after it was appended"
        )));

    // Appending to the edited log is refused and leaves it as it is.
    let before = std::fs::read(&log).unwrap();
    tokbench()
        .args(["perflog", "append", "--title", "Fourth", "--hardware", "h"])
        .args([
            "--model",
            "m",
            "--backend",
            "b",
            "--command",
            "c",
            "--row",
            "x|1",
        ])
        .arg(&log)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refusing to append"));
    assert_eq!(std::fs::read(&log).unwrap(), before);
}

#[test]
fn bad_row_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("PERF_LOG.md");
    tokbench()
        .args([
            "perflog",
            "append",
            "--title",
            "t",
            "--hardware",
            "h",
            "--model",
            "m",
        ])
        .args(["--backend", "b", "--command", "c", "--row", "no value"])
        .arg(&log)
        .assert()
        .code(2);
    assert!(!log.exists());
    tokbench().args(["perflog", "verify"]).assert().code(2);
}
