//! `tokbench gate` and `tokbench compare` end to end on synthetic sides with
//! a known decode rate: the documented exit codes for pass (0), fail (6)
//! and inconclusive (7), spec errors naming file and line (1), `--log`
//! blocks that verify, and `--rerun-on-fail` confirming on new records only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tokbench-compare/tests/common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use synth::{write_side, Synth};

fn tokbench() -> Command {
    Command::cargo_bin("tokbench").unwrap()
}

/// Base at 50 tok/s, new at 53 tok/s (±2 % per request), 20 requests each.
fn sides(dir: &Path) -> (PathBuf, PathBuf) {
    let (base, new) = (dir.join("base"), dir.join("new"));
    write_side(
        &base,
        &Synth {
            seed: 1,
            ..Synth::default()
        },
    )
    .unwrap();
    write_side(
        &new,
        &Synth {
            seed: 2,
            decode_tok_s: 53.0,
            ..Synth::default()
        },
    )
    .unwrap();
    (base, new)
}

fn gate(dir: &Path, spec: &str) -> Command {
    let (base, new) = (dir.join("base"), dir.join("new"));
    let path = dir.join("gates.yaml");
    std::fs::write(&path, spec).unwrap();
    let mut c = tokbench();
    c.arg("gate")
        .arg("--spec")
        .arg(&path)
        .arg(&new)
        .arg("--baseline")
        .arg(&base);
    c
}

#[test]
fn pass_fail_and_inconclusive_have_their_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    sides(tmp.path());
    let log = tmp.path().join("PERF_LOG.md");
    let pass = "gates:\n  - metric: decode_tok_s\n    speedup: \">= 1.03\"\n  - metric: ttft_ms\n    tail_ratio: \"<= 3\"\n  - metric: decode_tok_s\n    min: 30\n  - metric: tpot_ms\n    baseline: fewer\n";
    gate(tmp.path(), pass)
        .arg("--log")
        .arg(&log)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "4 passed, 0 failed, 0 inconclusive",
        ));
    // The true speedup is 1.06: a floor of 1.10 is out of reach.
    let fail = "gates:\n  - metric: decode_tok_s\n    speedup: \">= 1.10\"\n";
    gate(tmp.path(), fail)
        .arg("--log")
        .arg(&log)
        .assert()
        .code(6)
        .stdout(predicate::str::contains("✗"));
    // A floor inside the interval around 1.06 cannot be decided.
    let unsure = "gates:\n  - metric: decode_tok_s\n    speedup: \">= 1.06\"\n";
    gate(tmp.path(), unsure).assert().code(7);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("## Performance gate").count(), 2);
    assert!(text.contains("| speedup ≥ 1.10× ✗ |"), "{text}");
    assert!(
        text.contains("| decode_tok_s (baseline) · chat c=1 | 49.9 tok/s |"),
        "{text}"
    );
    assert!(
        text.contains("| ttft_ms p99 · chat c=1 | 100 ms |"),
        "{text}"
    );
    tokbench()
        .args(["perflog", "verify"])
        .arg(&log)
        .assert()
        .code(0);
}

#[test]
fn spec_errors_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    sides(tmp.path());
    let bad_metric =
        "gates:\n  - metric: decode_tok_s\n    min: 1\n  - metric: decode_tps\n    min: 1\n";
    gate(tmp.path(), bad_metric)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "gates.yaml:4: unknown metric \"decode_tps\"",
        ));
    let bad_unit = "gates:\n  - metric: gpu_peak_memory_bytes\n    max: 11.8 furlongs\n";
    gate(tmp.path(), bad_unit)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "gates.yaml:3: unit \"furlongs\" does not fit",
        ));
    gate(tmp.path(), "gates:\n  - metric: [\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("gates.yaml:"));
    let no_base = "gates:\n  - metric: decode_tok_s\n    speedup: 1.1\n";
    let path = tmp.path().join("gates.yaml");
    std::fs::write(&path, no_base).unwrap();
    tokbench()
        .arg("gate")
        .arg("--spec")
        .arg(&path)
        .arg(tmp.path().join("new"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("gates.yaml:2:").and(predicate::str::contains("--baseline")),
        );
}

#[test]
fn rerun_on_fail_judges_the_new_records_alone() {
    let tmp = tempfile::tempdir().unwrap();
    sides(tmp.path());
    let fail = "gates:\n  - metric: decode_tok_s\n    speedup: \">= 1.10\"\n";
    // A rerun that writes nothing new cannot confirm anything: an error.
    gate(tmp.path(), fail)
        .arg("--rerun-on-fail")
        .arg("true")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrote no new record"));
    // A slower rerun confirms the failure.
    let slow = tmp.path().join("slow");
    write_side(
        &slow,
        &Synth {
            seed: 98,
            decode_tok_s: 50.0,
            ..Synth::default()
        },
    )
    .unwrap();
    let new = tmp.path().join("new");
    let cmd = format!("cp {}/* {}/", slow.display(), new.display());
    gate(tmp.path(), fail)
        .arg("--rerun-on-fail")
        .arg(&cmd)
        .assert()
        .code(6)
        .stdout(predicate::str::contains("failed twice"));
    // The rerun writes a faster run: the first failure is not confirmed.
    let again = tmp.path().join("again");
    write_side(
        &again,
        &Synth {
            seed: 99,
            decode_tok_s: 60.0,
            ..Synth::default()
        },
    )
    .unwrap();
    let cmd = format!(
        "cp {}/* {}/",
        again.display(),
        tmp.path().join("new").display()
    );
    gate(tmp.path(), fail)
        .arg("--rerun-on-fail")
        .arg(&cmd)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("not confirmed"));
}

#[test]
fn compare_prints_markdown_and_logs_a_block() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, new) = sides(tmp.path());
    let log = tmp.path().join("PERF_LOG.md");
    tokbench()
        .arg("compare")
        .arg(&base)
        .arg(&new)
        .args(["--format", "md", "--metric", "decode_tok_s", "--log"])
        .arg(&log)
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("| decode_tok_s | 49.9 tok/s | 53.4 tok/s | 1.070× [")
                .and(predicate::str::contains("▲ faster")),
        );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("## Comparison —") && text.contains("▲ faster"),
        "{text}"
    );
    tokbench().args(["compare"]).arg(&base).assert().code(2);
    tokbench()
        .args(["compare", "--noise", "150%"])
        .arg(&base)
        .arg(&new)
        .assert()
        .code(2);
    // One run a side pairs trivially; the output says it paired.
    tokbench()
        .args(["compare", "--paired", "--metric", "decode_tok_s"])
        .arg(&base)
        .arg(&new)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("paired: run i of each side"));
    // Three runs against one cannot be paired: a clear error, exit 1.
    let three = tmp.path().join("three");
    write_side(
        &three,
        &Synth {
            records: 3,
            seed: 3,
            ..Synth::default()
        },
    )
    .unwrap();
    tokbench()
        .args(["compare", "--paired"])
        .arg(&three)
        .arg(&new)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("BASE has 3, NEW 1"));
}

/// A crossval record (1/3 identical, 1 hard, top-1 257/259) beside the run
/// records of NEW: `compare` ignores it, `gate` judges it on `crossval:`.
#[test]
fn crossval_records_are_gated_by_the_crossval_section_and_ignored_by_compare() {
    use tokbench_record::crossval_fixture::example_crossval;
    use tokbench_record::fixture::ExampleSpec;
    let tmp = tempfile::tempdir().unwrap();
    let (base, new) = sides(tmp.path());
    let cv = example_crossval("2026-11-22-crossval-x-abc123", &ExampleSpec::default());
    tokbench_record::write_crossval(&new, &cv).unwrap();
    tokbench()
        .arg("compare")
        .arg(&base)
        .arg(&new)
        .assert()
        .success();
    gate(tmp.path(), "crossval:\n  min_identical: 1\n  max_hard: 0\n")
        .assert()
        .code(6)
        .stdout(predicate::str::contains("2026-11-22-crossval-x-abc123"))
        .stdout(predicate::str::contains("1 passed, 1 failed"));
    gate(
        tmp.path(),
        "gates:\n  - metric: decode_tok_s\n    min: 30\ncrossval:\n  max_hard: 1\n  min_top1_agreement: 0.99\n",
    )
    .assert()
    .code(0)
    .stdout(predicate::str::contains("3 passed, 0 failed"));
    // Bars on crossval records, but none among RUNS: an error, not a pass.
    let mut c = tokbench();
    let spec = tmp.path().join("cv.yaml");
    std::fs::write(&spec, "crossval:\n  max_hard: 0\n").unwrap();
    c.arg("gate").arg("--spec").arg(&spec).arg(&base);
    c.assert()
        .code(1)
        .stderr(predicate::str::contains("no crossval record"));
}
