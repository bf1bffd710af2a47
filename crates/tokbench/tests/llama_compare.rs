//! `tokbench compare` and `tokbench gate` end to end on two real
//! llama-server runs of the same GGUF (SmolLM2 135M, installed by
//! scripts/setup): `--threads 1` as the baseline, `--threads 2` as NEW.
//!
//! Without the set-up these tests print SKIP locally; under CI (`CI=true`)
//! a missing set-up is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod common;

use common::{serial, setup, tokbench, Setup};

/// One cell (chat, 32 output tokens, c=1, 12 measured requests).
fn run(s: &Setup, dir: &Path, threads: &str) {
    let out = tokbench(s)
        .arg("run")
        .arg(&s.model)
        .args([
            "--shape", "chat", "--scale", "0.125", "-c", "1", "-n", "12", "--warmup", "1",
        ])
        .args([
            "--threads",
            threads,
            "--no-progress",
            "--format",
            "csv",
            "--runs-dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn threads_one_vs_two_compare_with_an_interval_and_gate_with_exit_codes() {
    let _serial = serial();
    let Some(s) = setup() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (base, new) = (tmp.path().join("t1"), tmp.path().join("t2"));
    run(&s, &base, "1");
    run(&s, &new, "2");
    let out = tokbench(&s)
        .arg("compare")
        .arg(&base)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flags = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "launch flags")
        .unwrap();
    assert_eq!(flags["differs"], true, "{flags}");
    assert!(
        flags["values"][0].as_str().unwrap().contains("--threads 1"),
        "{flags}"
    );
    let rows = report["tables"][0]["rows"].as_array().unwrap();
    let decode = rows.iter().find(|r| r["metric"] == "decode_tok_s").unwrap();
    let v = &decode["versus"][0];
    assert_eq!(v["source"], "samples");
    assert_eq!(
        (decode["n_base"].as_u64(), v["n"].as_u64()),
        (Some(12), Some(12))
    );
    let est = &v["comparison"]["estimate"];
    let (lo, ratio, hi) = (
        est["lo"].as_f64().unwrap(),
        est["ratio"].as_f64().unwrap(),
        est["hi"].as_f64().unwrap(),
    );
    assert!(0.0 < lo && lo <= ratio && ratio <= hi, "{est}");
    eprintln!(
        "threads 2 / threads 1 decode: {ratio:.3} [{lo:.3}, {hi:.3}], verdict {}",
        v["verdict"]
    );

    // A floor the data clears (its interval lies above it) passes; one it
    // cannot reach fails with exit 6.
    let floor = (lo * 0.9).min(0.9);
    let spec = tmp.path().join("gates.yaml");
    std::fs::write(
        &spec,
        format!("gates:\n  - metric: decode_tok_s\n    speedup: \">= {floor:.3}\"\n"),
    )
    .unwrap();
    let gate = |spec: &Path| {
        tokbench(&s)
            .arg("gate")
            .arg("--spec")
            .arg(spec)
            .arg(&new)
            .arg("--baseline")
            .arg(&base)
            .output()
            .unwrap()
    };
    let pass = gate(&spec);
    assert_eq!(
        pass.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pass.stdout)
    );
    let ceiling = hi * 2.0;
    std::fs::write(
        &spec,
        format!("gates:\n  - metric: decode_tok_s\n    speedup: \">= {ceiling:.3}\"\n"),
    )
    .unwrap();
    let fail = gate(&spec);
    assert_eq!(
        fail.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&fail.stdout)
    );
}
