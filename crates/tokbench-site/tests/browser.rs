//! Real-browser test: builds the fixture site and drives it in headless
//! chromium from disk (file://) with `scripts/browser-test/check.mjs`
//! (playwright-core over Debian's chromium): header sorting flips the row
//! order, filters leave the expected rows and go into the query string,
//! the query string is applied on load, no console errors, no request to
//! another host.
//!
//! Needs `chromium`, `node` and `scripts/install-browser` (which installs
//! both plus playwright-core). Without them the test prints why and passes,
//! unless `TOKBENCH_REQUIRE_BROWSER=1` (CI), where it fails.
//! `TOKBENCH_SITE_SCREENSHOT=PATH` also saves a PNG of the index (a
//! relative PATH is taken from the repository root, e.g.
//! `docs/site-index.png`).

// Test helpers (outside #[test] fns) may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn on_path(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let chromium = std::env::var_os("CHROMIUM").is_some()
        || ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .any(|n| on_path(n));
    if !chromium {
        return Some("chromium not found".into());
    }
    if !on_path("node") {
        return Some("node not found".into());
    }
    let pw = repo_root().join("scripts/browser-test/node_modules/playwright-core/package.json");
    if !pw.is_file() {
        return Some(format!("{} missing", pw.display()));
    }
    None
}

#[test]
fn sorting_and_filtering_work_in_headless_chromium() {
    if let Some(why) = missing() {
        let msg = format!("browser test skipped: {why} (run scripts/install-browser)");
        assert!(
            std::env::var("TOKBENCH_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("{msg}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    common::build(&common::runs_dir(tmp.path()), &out);
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("scripts/browser-test/check.mjs"))
        .arg(&out);
    // Expected visible rows, from the fixture: ci-box ran one record at
    // two levels; only the Qwen record measured codegen; three records ran
    // at concurrency 1; the Q8_0 record at two levels.
    for e in [
        "hw=ci-box:2",
        "shape=codegen:1",
        "c=1:3",
        "quant=q8_0:2",
        "shape=rag:4",
    ] {
        cmd.args(["--expect", e]);
    }
    if let Ok(png) = std::env::var("TOKBENCH_SITE_SCREENSHOT") {
        // Relative to the repository root (tests run in the crate folder).
        cmd.arg("--screenshot").arg(repo_root().join(png));
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all browser checks passed"), "{stdout}");
}
