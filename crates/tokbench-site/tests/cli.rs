//! The `tokbench site` subcommand (`crates/tokbench/src/cmd/site.rs`),
//! compiled here from its source file and driven through its `run` fn:
//! exit code non-zero for a malformed record unless `--keep-going`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../../tokbench/src/cmd/site.rs"]
mod site;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: site::SiteArgs,
}

/// Arguments for a build of `runs` into `out`; without a `--cache-dir`
/// in `extra`, `--no-cache` (a test never fills the user's cache).
fn args(runs: &Path, out: &Path, extra: &[&str]) -> site::SiteArgs {
    let mut argv = vec!["tokbench-site".to_owned(), runs.display().to_string()];
    argv.extend(["--out".to_owned(), out.display().to_string()]);
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    if !extra.contains(&"--cache-dir") {
        argv.push("--no-cache".to_owned());
    }
    Cli::try_parse_from(argv).unwrap().args
}

#[test]
fn defaults_are_runs_and_site() {
    let cli = Cli::try_parse_from(["tokbench-site"]).unwrap();
    assert_eq!(cli.args.runs_dirs, [Path::new("runs")]);
    assert_eq!(cli.args.out, Path::new("site"));
    assert!(!cli.args.keep_going);
    // The parse cache is on (in the default folder) unless turned off.
    assert!(!cli.args.no_cache && cli.args.cache_dir.is_none());
    assert!(Cli::try_parse_from(["x", "--no-cache", "--cache-dir", "c"]).is_err());
}

#[test]
fn cache_dir_is_filled_and_no_cache_leaves_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let cache = tmp.path().join("cache");
    let entries = || common::files(&cache).len();
    let with_cache = ["--cache-dir", cache.to_str().unwrap()];
    let out = tmp.path().join("site");
    assert_eq!(
        site::run(args(&runs, &out, &with_cache)).unwrap(),
        ExitCode::SUCCESS
    );
    assert_eq!(entries(), 3, "one entry per record");
    let mut extra = common::records()[0].clone();
    extra.run.id.push_str("-extra");
    common::write(&runs, "extra.yaml", &extra);
    assert_eq!(
        site::run(args(&runs, &out, &[])).unwrap(),
        ExitCode::SUCCESS
    );
    assert_eq!(entries(), 3, "--no-cache writes no entry");
}

#[test]
fn exit_code_reflects_bad_records_unless_keep_going() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("site");
    assert_eq!(
        site::run(args(&runs, &out, &[])).unwrap(),
        ExitCode::SUCCESS
    );

    std::fs::write(runs.join("broken.yaml"), "schema_version: 1\nrun: [\n").unwrap();
    assert_eq!(
        site::run(args(&runs, &out, &[])).unwrap(),
        ExitCode::FAILURE
    );
    assert!(out.join("index.html").is_file(), "the site is still built");
    let runs_pages = std::fs::read_dir(out.join("runs")).unwrap().count();
    assert_eq!(
        runs_pages,
        3 * 2 + 2,
        "3 pages + 3 records + sidecars of one"
    );
    assert_eq!(
        site::run(args(&runs, &out, &["--keep-going"])).unwrap(),
        ExitCode::SUCCESS
    );
}

#[test]
fn refuses_to_replace_a_foreign_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("important");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("thesis.tex"), "x").unwrap();
    let err = site::run(args(&runs, &out, &[])).unwrap_err();
    assert!(err.to_string().contains("refusing to replace"), "{err}");
    assert!(out.join("thesis.tex").is_file());
}
