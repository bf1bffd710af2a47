//! `tokbench run --slo` and `--reasoning` end to end against `tokbench
//! emulate` (a child process on port 0): flag errors, the record's fields
//! and the table columns they add.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::emulate;

fn tokbench(cwd: &std::path::Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("tokbench").unwrap();
    c.env_remove("OPENAI_API_KEY").current_dir(cwd);
    c
}

#[test]
fn a_bad_slo_is_a_usage_error_naming_the_bad_part() {
    let cwd = tempfile::tempdir().unwrap();
    let cases = [
        ("ttft_ms=500,itl=5", "unknown key \"itl\""),
        ("ttft_ms=soon", "\"soon\" is not a number of ms"),
        ("ttft_ms.p99<=500", "sweep's METRIC.STAT<=V syntax"),
    ];
    for (slo, message) in cases {
        let out = tokbench(cwd.path())
            .args(["run", "--url", "http://127.0.0.1:9", "--slo", slo])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{slo}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{slo}: {err}");
    }
}

/// 3 requests at c=1 of 6 tokens at 200 tok/s after a 20 ms prefill: TTFT
/// ≈ 25 ms and TPOT 5 ms, so `ttft_ms=1000` holds for all; `tpot_ms=1`
/// for none.
#[test]
fn slo_goodput_reaches_the_record_and_the_table() {
    let emu = emulate(&["--decode-tok-s", "200", "--prefill-ms", "20"]);
    let cwd = tempfile::tempdir().unwrap();
    let run = |slo: &str, fmt: &str| {
        let out = tokbench(cwd.path())
            .args(["run", "--url", &emu.url, "-n", "3", "--warmup", "0"])
            .args(["--output-tokens", "6", "--no-record", "--no-progress"])
            .args(["--slo", slo, "--format", fmt])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run("ttft_ms=1000", "json")).unwrap();
    let record = &json["records"][0];
    assert_eq!(record["run"]["slo"], serde_json::json!({"ttft_ms": 1000.0}));
    let m = &record["cells"][0]["metrics"];
    assert_eq!(
        (m["good_requests"].as_u64(), m["goodput_pct"].as_f64()),
        (Some(3), Some(100.0))
    );
    let expected = 3.0 / m["window_s"].as_f64().unwrap();
    assert!((m["goodput_rps"].as_f64().unwrap() - expected).abs() < 1e-9);
    let md = run("ttft_ms=1000,tpot_ms=1", "md");
    assert!(md.contains("Goodput req/s (good %)"), "{md}");
    assert!(md.contains("0.00 (0.0%)"), "{md}");
    assert!(md.contains("meeting ttft_ms ≤ 1000, tpot_ms ≤ 1"), "{md}");
    assert!(
        !md.contains("Answer tok/s"),
        "no reasoning, no answer column"
    );
}

/// `--reasoning off` against an emulator that ignores the switch: the
/// record says the switch sent and `obeyed: false`, the table shows answer
/// tok/s (4 of 12 tokens are reasoning) and a footnote.
#[test]
fn reasoning_off_not_obeyed_is_recorded_and_shown() {
    let emu = emulate(&[
        "--decode-tok-s",
        "500",
        "--prefill-ms",
        "0",
        "--reasoning-tokens",
        "4",
        "--reasoning-switch",
        "ignore",
    ]);
    let cwd = tempfile::tempdir().unwrap();
    let out = tokbench(cwd.path())
        .args(["run", "--url", &emu.url, "-n", "2", "--warmup", "0"])
        .args([
            "--output-tokens",
            "12",
            "--no-progress",
            "--reasoning",
            "off",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Answer tok/s"), "{table}");
    assert!(
        table.contains("--reasoning off was not obeyed (8 reasoning tokens"),
        "{table}"
    );
    let record = common::records(&cwd.path().join("runs")).remove(0);
    let reasoning = record.run.reasoning.unwrap();
    assert_eq!(
        (reasoning.mode.as_str(), reasoning.obeyed),
        ("off", Some(false))
    );
    assert!(reasoning.switch.unwrap().contains("enable_thinking"));
    assert!(record.run.notes.iter().any(|n| n.contains("not obeyed")));
    let m = record.cells[0].metrics.as_ref().unwrap();
    assert_eq!(m.summary("reasoning_tokens").map(|s| s.median), Some(4.0));
}
