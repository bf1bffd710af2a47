//! Real-browser test: builds the fixture site and drives it in headless
//! chromium from disk (file://) with `scripts/browser-test/check.mjs`
//! (playwright-core over Debian's chromium): header sorting flips the row
//! order, filters leave the expected rows and go into the query string,
//! the query string is applied on load, no console errors, no request to
//! another host. A second build with two rows per family on the index
//! checks that a family whose only matches are not rendered there stays
//! shown, with its match count and a link to its family page.
//!
//! Needs `chromium`, `node` and `scripts/install-browser` (which installs
//! both plus playwright-core). Without them the test follows
//! `tokbench_testenv::require`: it prints `SKIP: …` and passes locally, and
//! fails naming what is missing under CI.
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

/// Whether chromium, node and playwright-core are here
/// (`tokbench_testenv::require`: SKIP locally, a failure naming the
/// missing one under CI).
fn browser_present() -> bool {
    use tokbench_testenv::{program, require, HOW_BROWSER};
    // `$CHROMIUM` names the browser for check.mjs; else it must be on PATH.
    let chromium = std::env::var_os("CHROMIUM").is_some()
        || program(
            &["chromium", "chromium-browser", "google-chrome"],
            HOW_BROWSER,
        )
        .is_some();
    if !chromium {
        return false;
    }
    if program(&["node"], HOW_BROWSER).is_none() {
        return false;
    }
    let pw = repo_root().join("scripts/browser-test/node_modules/playwright-core/package.json");
    let what = format!("playwright-core ({} is not a file)", pw.display());
    require(&what, pw.is_file().then_some(()), HOW_BROWSER).is_some()
}

/// Runs `check.mjs` on the site in `site` with `args`; fails the test when
/// a check fails.
fn check_site(site: &Path, args: &[&str], screenshot: bool) {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("scripts/browser-test/check.mjs"))
        .arg(site)
        .args(args);
    if let (true, Ok(png)) = (screenshot, std::env::var("TOKBENCH_SITE_SCREENSHOT")) {
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

#[test]
fn sorting_and_filtering_work_in_headless_chromium() {
    if !browser_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("site");
    common::build(&runs, &out);
    // Expected visible rows, from the fixture: ci-box ran one record at
    // two levels; only the Qwen record measured codegen; three records ran
    // at concurrency 1; the Q8_0 record at two levels. Every row is on the
    // index: a family shows exactly its matching rows.
    check_site(
        &out,
        &[
            "--expect",
            "hw=ci-box:2",
            "--expect",
            "shape=codegen:1",
            "--expect",
            "c=1:3",
            "--expect",
            "quant=q8_0:2",
            "--expect",
            "shape=rag:4",
            "--family",
            "hw=ci-box:smollm2:2:2",
            "--family",
            "hw=ci-box:qwen2-5:0:0",
            "--nomatch",
            "hw=ci-box&quant=q8_0",
        ],
        true,
    );

    // Two rows per family on the index: SmolLM2 shows only its two fast
    // gaming-5070 rows, so its ci-box (and Q4_1) rows are not rendered; the
    // family must still show, counted from its facet data.
    let small = tmp.path().join("small");
    let opts = tokbench_site::SiteOptions {
        index_rows: 2,
        ..tokbench_site::SiteOptions::new(vec![runs], small.clone())
    };
    tokbench_site::build_site(&opts).unwrap();
    check_site(
        &small,
        &[
            "--expect",
            "hw=ci-box:0",
            "--family",
            "hw=ci-box:smollm2:2:0",
            "--family",
            "hw=ci-box:qwen2-5:0:0",
            "--family",
            "quant=q4_1:smollm2:2:0",
            "--family",
            "c=1:smollm2:2:1",
            "--family",
            "quant=q8_0:smollm2:2:2",
            "--family",
            "c=1:qwen2-5:1:1",
            "--family",
            "shape=codegen:qwen2-5:1:1",
            "--family",
            "shape=codegen:smollm2:0:0",
            "--family",
            "hw=ci-box&c=2:smollm2:1:0",
            "--nomatch",
            "hw=ci-box&quant=q8_0",
            "--page",
            "family/smollm2.html?hw=ci-box:2",
            "--page",
            "family/smollm2.html?hw=ci-box&quant=q8_0:0",
        ],
        false,
    );
}
