//! `tokbench probe --bandwidth` end to end: the measurement lands in the
//! JSON output with the requested shape, and its flags need `--bandwidth`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

fn tokbench() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("tokbench").unwrap()
}

#[test]
fn probe_bandwidth_reports_the_requested_measurement() {
    let out = tokbench()
        .args([
            "probe",
            "--bandwidth",
            "--bandwidth-buffer-mib",
            "8",
            "--repeats",
            "2",
            "--threads",
            "1",
            "--format",
            "json",
            "--no-hostname",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let bw = &json["bandwidth"];
    assert_eq!(bw["method"], "stream-read-sum");
    assert_eq!(bw["threads"], 1);
    assert_eq!(bw["repeats"], 2);
    assert_eq!(bw["buffer_bytes"], 8u64 << 20);
    let samples = bw["samples_gb_s"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    assert!(samples.iter().all(|s| s.as_f64().unwrap() > 0.0));
    let median = bw["median_gb_s"].as_f64().unwrap();
    assert!(median.is_finite() && median > 0.0, "{median}");
    assert!(bw["host_load"]["noisy"].is_boolean());
    // The rest of the probe output is still there.
    assert!(json["system"]["cpu"].is_object());
    assert!(json["host_load"].is_object());
}

#[test]
fn bandwidth_flags_without_bandwidth_are_usage_errors() {
    for flag in ["--repeats", "--threads", "--bandwidth-buffer-mib"] {
        tokbench()
            .args(["probe", flag, "2"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--bandwidth"));
    }
}

#[test]
fn probe_without_bandwidth_has_no_bandwidth_key() {
    let out = tokbench()
        .args(["probe", "--format", "json", "--no-hostname"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(json.get("bandwidth").is_none());
    assert!(json.get("system").is_some());
}
