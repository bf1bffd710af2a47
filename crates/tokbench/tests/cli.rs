//! The `tokbench` binary end to end: argument errors, output formats and
//! exit codes, against an emulator started as a child process on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use predicates::prelude::*;

mod common;

use common::emulate;

/// A working directory shared by this binary's tests, so that records
/// written by default (`./runs`) never land in the source tree.
fn scratch_cwd() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn tokbench() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("tokbench").unwrap();
    c.env_remove("OPENAI_API_KEY").current_dir(scratch_cwd());
    c
}

#[test]
fn out_of_range_values_are_usage_errors() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["-c", "0"],
            "'--concurrency <CONCURRENCY>': must be at least 1",
        ),
        (
            &["--rate", "-1"],
            "'--rate <RATE>': must be a positive number",
        ),
        (
            &["--scale", "0"],
            "'--scale <SCALE>': must be a positive number",
        ),
        (
            &["--ci-target", "2"],
            "'--ci-target <CI_TARGET>': must be between 0 and 1",
        ),
        (&["-n", "0"], "'--requests <REQUESTS>': must be at least 1"),
        (&["--extra-body", "[1]"], "must be a JSON object"),
    ];
    for (args, message) in cases {
        tokbench()
            .args(["run", "--url", "http://127.0.0.1:9"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn a_flag_that_means_nothing_in_the_mode_is_a_usage_error() {
    for flag in [
        &["--threads", "4"][..],
        &["--ctx-size", "512"],
        &["--port", "8080"],
        &["--backend", "vllm"],
        &["--backend-bin", "/bin/true"],
        &["--backend-arg=-ngl"],
        &["--health-timeout", "5s"],
        &["--allow-spill"],
    ] {
        tokbench()
            .args(["run", "--url", "http://127.0.0.1:1"])
            .args(flag)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{} has no effect in attach mode (--url)",
                flag[0].split('=').next().unwrap()
            )));
    }
    for flag in [&["--model", "m"][..], &["--api-key", "k"]] {
        tokbench()
            .args(["run", "missing.gguf"])
            .args(flag)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{} has no effect in launch mode",
                flag[0]
            )));
    }
    // A key in the environment is not "given": launch mode goes on (and
    // fails on the missing file, exit 1).
    tokbench()
        .env("OPENAI_API_KEY", "k")
        .args(["run", "missing.gguf", "--no-record"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.gguf does not exist"));
    // Adaptive-stop settings mean nothing with a fixed plan.
    tokbench()
        .args([
            "run",
            "--url",
            "http://127.0.0.1:1",
            "-n",
            "3",
            "--max-requests",
            "9",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn help_lists_the_exit_codes() {
    for args in [&["--help"][..], &["run", "--help"]] {
        let out = tokbench().args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Exit codes:"), "{text}");
        assert!(text.contains("  4  "), "exit code 4 is listed: {text}");
    }
}

#[test]
fn url_without_scheme_is_rejected() {
    tokbench()
        .args(["run", "--url", "localhost:8080", "--model", "m"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("expected http:// or https://"));
}

#[test]
fn unreachable_url_is_named_with_its_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    tokbench()
        .args(["run", "--url", &url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "could not connect to {url}/v1/models"
        )))
        .stderr(predicate::str::contains("refused").or(predicate::str::contains("Refused")));
}

#[test]
fn json_report_has_one_cell_per_level() {
    let emu = emulate(&[
        "--decode-tok-s",
        "400",
        "--prefill-ms",
        "10",
        "--slots",
        "4",
    ]);
    let out = tokbench()
        .args([
            "run", "--url", &emu.url, "-c", "1,2", "-n", "4", "--warmup", "1",
        ])
        .args(["--prompt-tokens", "20", "--output-tokens", "12"])
        .args(["--format", "json", "--no-progress"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = &v["records"][0];
    assert_eq!(
        record["model"]["id"], "tokbench-emulator",
        "model resolved from /v1/models"
    );
    assert_eq!(record["backend"]["name"], "tokbench-emulator");
    let cells = record["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[0]["concurrency"], 1);
    assert_eq!(cells[1]["concurrency"], 2);
    for c in cells {
        let m = &c["metrics"];
        assert_eq!(m["requests"], 4);
        assert_eq!(m["ok"], 4);
        assert_eq!(m["warmup_excluded"], 1);
        assert_eq!(m["total_output_tokens"], 48);
        let decode = m["decode_tok_s"]["median"].as_f64().unwrap();
        assert!(decode > 200.0 && decode < 440.0, "decode {decode}");
        assert!(m["decode_tok_s"]["ci95_median"]["lo"].is_number());
        let prompt = m["prompt_tokens"]["median"].as_f64().unwrap();
        assert!(
            (prompt - 20.0).abs() < 1e-9,
            "exact prompt tokens on the emulator"
        );
    }
}

#[test]
fn markdown_and_csv_share_the_columns() {
    let emu = emulate(&["--decode-tok-s", "500", "--prefill-ms", "0"]);
    let run = |fmt: &str| {
        let out = tokbench()
            .args(["run", "--url", &emu.url, "-n", "2", "--warmup", "0"])
            .args(["--output-tokens", "8", "--format", fmt, "--no-progress"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let md = run("md");
    let header = md.lines().find(|l| l.starts_with("| Model")).unwrap();
    let md_cols: Vec<&str> = header
        .trim_matches('|')
        .split(" | ")
        .map(str::trim)
        .collect();
    let csv = run("csv");
    let csv_header = csv.lines().next().unwrap();
    let csv_cols: Vec<&str> = csv_header.split(',').collect();
    assert_eq!(csv_cols[0], "record_id");
    assert_eq!(csv_cols[1..], md_cols[..]);
    assert_eq!(csv.lines().count(), 2, "header + one row");
    insta::assert_snapshot!("run_columns", md_cols.join("\n"));
}

#[test]
fn failed_requests_give_exit_code_4_and_are_counted_by_kind() {
    let emu = emulate(&["--fault", "http500"]);
    let out = tokbench()
        .args(["run", "--url", &emu.url, "-n", "3", "--warmup", "0"])
        .args(["--format", "json", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["records"][0]["cells"][0]["metrics"];
    assert_eq!(m["errors_by_kind"]["http_status"], 3);
    assert_eq!(m["ok"], 0);
}

#[test]
fn record_and_samples_sidecar_are_written_in_attach_mode_by_default() {
    let emu = emulate(&["--decode-tok-s", "500", "--prefill-ms", "0"]);
    let cwd = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        tokbench()
            .current_dir(cwd.path())
            .args(["run", "--url", &emu.url, "-n", "3", "--warmup", "1"])
            .args(["--output-tokens", "5", "--no-progress"])
            .args(extra)
            .assert()
            .success();
    };
    run(&["--no-record"]);
    assert!(
        !cwd.path().join("runs").exists(),
        "--no-record writes nothing"
    );
    run(&[]);
    let dir = cwd.path().join("runs");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let yaml = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "yaml"))
        .expect("a record");
    let record = tokbench_record::read_record(yaml).expect("valid record");
    assert!(tokbench_record::validate_record(&record).is_empty());
    assert_eq!(record.cells.len(), 1);
    assert!(!record.run.flags.incomplete);
    let path = dir.join(record.run.samples_file.as_ref().unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l.get("engine_gauge").is_none())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines.iter().filter(|l| l["warmup"] == true).count(), 1);
    assert_eq!(lines[1]["events"].as_array().unwrap().len(), 5);
    assert_eq!(lines[1]["shape"], "custom");
}

/// Files under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The request lines and `Authorization` values of raw HTTP/1.1 requests
/// (a request line may follow the previous request's body directly).
fn requests_and_auth(raw: &str) -> (Vec<&str>, Vec<&str>) {
    let lines: Vec<&str> = raw.split("\r\n").collect();
    let requests = lines
        .iter()
        .filter(|l| l.ends_with(" HTTP/1.1"))
        .filter_map(|l| {
            let start = ["GET /", "POST /"]
                .iter()
                .filter_map(|m| l.rfind(m))
                .max()?;
            Some(&l[start..])
        })
        .collect();
    let auth = lines
        .iter()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then(|| value.trim())
        })
        .collect();
    (requests, auth)
}

#[test]
fn api_key_reaches_the_server_and_is_never_printed_or_recorded() {
    let emu = emulate(&["--decode-tok-s", "500", "--prefill-ms", "0"]);
    let secret = "sk-test-DO-NOT-PRINT-1234";
    // Through the environment variable, then the flag.
    for via_flag in [false, true] {
        let proxy = common::Recorder::start(&emu.url);
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = tokbench();
        cmd.args([
            "run",
            "--url",
            &proxy.url,
            "-n",
            "2",
            "--output-tokens",
            "4",
        ])
        .args(["--format", "json", "--no-progress", "--runs-dir"])
        .arg(dir.path());
        if via_flag {
            cmd.args(["--api-key", secret]);
        } else {
            cmd.env("OPENAI_API_KEY", secret);
        }
        let out = cmd.output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{all}");
        assert!(!all.contains(secret), "key printed: {all}");
        // Every request carried the key as a bearer token.
        let sent = proxy.sent();
        let (requests, auth) = requests_and_auth(&sent);
        assert!(requests.len() >= 2, "{requests:?}");
        assert_eq!(auth.len(), requests.len(), "{requests:?} {auth:?}");
        let bearer = format!("Bearer {secret}");
        assert!(auth.iter().all(|a| *a == bearer), "{auth:?}");
        // The record and its sidecars hold no trace of it.
        let files = files_under(dir.path());
        assert!(files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "yaml")));
        for f in files {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            assert!(!text.contains(secret), "key in {}", f.display());
        }
    }
    // Without a key no Authorization header is sent.
    let proxy = common::Recorder::start(&emu.url);
    let out = tokbench()
        .args([
            "run",
            "--url",
            &proxy.url,
            "-n",
            "1",
            "--output-tokens",
            "4",
        ])
        .args(["--format", "json", "--no-progress", "--no-record"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let sent = proxy.sent();
    let (requests, auth) = requests_and_auth(&sent);
    assert!(
        !requests.is_empty() && auth.is_empty(),
        "{requests:?} {auth:?}"
    );
    let help = tokbench()
        .args(["run", "--help"])
        .env("OPENAI_API_KEY", secret)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains(secret));
}

#[test]
fn validate_names_file_and_field_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let good = tokbench_record::fixture::example_record(&Default::default());
    let path = tokbench_record::write_record(dir.path(), &good).unwrap();
    std::fs::write(dir.path().join(good.run.samples_file.as_ref().unwrap()), "").unwrap();
    tokbench()
        .args(["validate"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("1 valid, 0 invalid"));
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("concurrency: 1\n", "concurrency: -1\n", 1);
    std::fs::write(dir.path().join("broken.yaml"), broken).unwrap();
    std::fs::write(
        dir.path().join("syntax.yaml"),
        "schema_version: 1\nrun: [\n",
    )
    .unwrap();
    tokbench()
        .args(["validate"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "broken.yaml: field /cells/0/concurrency",
        ))
        .stdout(predicate::str::contains("syntax.yaml:"))
        .stdout(predicate::str::contains("1 valid, 2 invalid"));
}

#[test]
fn validate_checks_sweep_records_and_history_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tokbench_record::fixture::ExampleSpec::default();
    let good = tokbench_record::fixture::example_record(&spec);
    tokbench_record::write_record(dir.path(), &good).unwrap();
    std::fs::write(dir.path().join(good.run.samples_file.as_ref().unwrap()), "").unwrap();
    let sweep = tokbench_record::sweep_fixture::example_sweep("2026-11-23-sweep-x-1a2b3c", &spec);
    let path = tokbench_record::write_sweep(&dir.path().join("sweeps"), &sweep).unwrap();
    tokbench()
        .args(["validate"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("2 valid, 0 invalid"));
    // A sweep record is not a run record: history reads the run records.
    tokbench()
        .arg("history")
        .arg(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("error").not());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("status: dropped", "status: gone", 1)).unwrap();
    tokbench()
        .args(["validate"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "2026-11-23-sweep-x-1a2b3c.yaml: field /configs/2/status",
        ))
        .stdout(predicate::str::contains("1 valid, 1 invalid"));
}

/// One attach-mode run against `url` into `dir`; returns its record.
fn run_once(url: &str, dir: &std::path::Path, extra: &[&str]) -> tokbench_record::Record {
    let out = tokbench()
        .args(["run", "--url", url, "-n", "2", "--warmup", "0", "-c", "1,2"])
        .args([
            "--output-tokens",
            "3",
            "--prompt-tokens",
            "20",
            "--no-progress",
        ])
        .args(["--format", "json", "--runs-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let path = stderr
        .lines()
        .find_map(|l| l.strip_prefix("record: "))
        .expect("a record line");
    tokbench_record::read_record(std::path::Path::new(path.trim())).unwrap()
}

#[test]
fn each_run_draws_a_fresh_prompt_seed_unless_one_is_given() {
    let emu = emulate(&["--decode-tok-s", "500", "--prefill-ms", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let prompts = |r: &tokbench_record::Record| r.run.prompts.clone().unwrap();
    let (a, b) = (
        prompts(&run_once(&emu.url, dir.path(), &[])),
        prompts(&run_once(&emu.url, dir.path(), &[])),
    );
    assert_ne!(a.seed, b.seed, "fresh nonce per run");
    let first = run_once(&emu.url, dir.path(), &[]);
    let seed = first.run.prompts.as_ref().unwrap().seed;
    assert!(
        first
            .provenance
            .reproduce
            .ends_with(&format!("--seed {seed}")),
        "{}",
        first.provenance.reproduce
    );
    assert!(!a.seed_given && !a.cache_allowed);
    // The emulator takes llama.cpp's per-request switch.
    assert_eq!(a.cache_control.as_deref(), Some("cache_prompt: false"));
    let given = ["--seed", "42", "--allow-prompt-cache"];
    let (c, d) = (
        run_once(&emu.url, dir.path(), &given),
        run_once(&emu.url, dir.path(), &given),
    );
    for r in [&c, &d] {
        let p = prompts(r);
        assert_eq!((p.seed, p.seed_given, p.cache_allowed), (42, true, true));
        assert_eq!(p.cache_control, None);
        // The emulator has no prompt cache: its timings say it evaluated
        // every prompt token.
        let check = r.cells[0].prompt_cache_check.clone().unwrap();
        assert_eq!(
            (check.requests_with_account, check.cached_share),
            (2, Some(0.0))
        );
        assert!(!r.cells[0].prompt_cache);
    }
    let p = prompts(&run_once(&emu.url, dir.path(), &["--prefix-cache", "10"]));
    assert_eq!((p.shared_prefix_tokens, p.cache_allowed), (Some(10), true));
}

#[test]
fn a_prefix_longer_than_a_prompt_is_refused() {
    tokbench()
        .args([
            "run",
            "--url",
            "http://127.0.0.1:1",
            "--prompt-tokens",
            "20",
        ])
        .args(["--prefix-cache", "18", "--no-record"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--prefix-cache 18"));
}

#[test]
fn selftest_reports_ttft_p99_per_fidelity_row() {
    let out = tokbench()
        .args(["selftest", "--concurrency", "1,3", "--ceiling-streams", "0"])
        .args(["--prefill-ms", "20", "--decode-tok-s", "400"])
        .args([
            "--output-tokens",
            "4",
            "--fresh-connections",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fresh_connections"], true);
    let rows = v["fidelity"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let median = row["ttft_median_ms"].as_f64().unwrap();
        let p99 = row["ttft_p99_ms"].as_f64().unwrap();
        let err = row["ttft_p99_error_ms"].as_f64().unwrap();
        // TTFT starts at the written request, so it cannot undercut the
        // emulator's 20 ms prefill.
        assert!(median >= 20.0 && p99 >= median, "{row}");
        assert!((err - (p99 - 20.0)).abs() < 1e-9, "{row}");
        assert_eq!(row["ok"], row["requests"]);
    }
}
