//! `tokbench history` end to end: records with a step in decode tok/s
//! written to a runs folder (in shuffled order), the step found and named
//! in the table, JSON and CSV; usage errors exit 2, unreadable records 1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tokbench_history::{number, percent};
use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::{write_record, Record};

/// Points before the step, and in all.
const STEP: usize = 12;
const POINTS: usize = 24;

fn tokbench() -> Command {
    Command::cargo_bin("tokbench").unwrap()
}

/// Record `i` of `rig`: one cell (chat, c=1) at about `decode` tok/s,
/// started on day `i` of 2026 with backend commit `abc<i>`.
fn record(rig: &str, i: usize, decode: f64) -> Record {
    let mut r = example_record(&ExampleSpec {
        // Ids that do not sort by date: the history must order by date.
        id: format!("{rig}-{:02}", (i * 7) % POINTS),
        rig: rig.into(),
        decode_tok_s: decode,
        shapes: vec![("chat".into(), 200, 64)],
        concurrency: vec![1],
        ..ExampleSpec::default()
    });
    r.run.started_utc = format!("2026-{:02}-{:02}T06:00:00Z", 1 + i / 28, 1 + i % 28);
    r.backend.commit = Some(format!("abc{i:02}"));
    r
}

fn median(r: &Record) -> f64 {
    let m = r.cells[0].metrics.as_ref().unwrap();
    m.decode_tok_s.as_ref().unwrap().median
}

/// `POINTS` records on rig `box` with a step from 50 to 44.6 tok/s at
/// `STEP` (±0.5 % wobble), and 3 flat ones on rig `other`; all written to
/// `dir`. Returns the `box` records in date order.
fn write_runs(dir: &Path) -> Vec<Record> {
    let steps: Vec<Record> = (0..POINTS)
        .map(|i| {
            let level = if i < STEP { 50.0 } else { 44.6 };
            let wobble = [1.0, 1.005, 0.995, 1.002][i % 4];
            record("box", i, level * wobble)
        })
        .collect();
    for r in steps.iter().rev() {
        write_record(dir, r).unwrap();
    }
    for i in 0..3 {
        write_record(dir, &record("other", i, 80.0)).unwrap();
    }
    steps
}

fn mean(rs: &[Record]) -> f64 {
    rs.iter().map(median).sum::<f64>() / rs.len() as f64
}

#[test]
fn the_step_is_marked_in_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = write_runs(tmp.path());
    let (m0, m1) = (mean(&runs[..STEP]), mean(&runs[STEP..]));
    let at = &runs[STEP];
    let change = format!(
        "▼ decode_tok_s {} → {} ({}) at run {} / commit abc{STEP:02} (regression)",
        number(m0),
        number(m1),
        percent(m1 / m0 - 1.0),
        at.run.id
    );
    let out = tokbench()
        .args(["history", "--metric", "decode_tok_s"])
        .arg(tmp.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(change))
        .stdout(predicate::str::contains("2 series, 1 change point(s)"))
        .stdout(predicate::str::contains(
            "3 point(s): too few for a change point (at least 10)",
        ))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    // The marked row is the step's record; the rows of `box` are in date order.
    let marked: Vec<&str> = text.lines().filter(|l| l.starts_with("  ▼")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains(&at.run.id) && marked[0].contains(&at.run.started_utc));
    let order: Vec<usize> = runs
        .iter()
        .map(|r| text.find(&format!(" {} ", r.run.id)).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn json_and_csv_carry_points_segments_and_the_change() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = write_runs(tmp.path());
    let out = tokbench()
        .args(["history", "--format", "json"])
        .arg(tmp.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["metric"], "decode_tok_s");
    let series = json["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    let boxed = series
        .iter()
        .find(|s| s["series"]["key"]["rig"] == "box")
        .unwrap();
    let points = boxed["series"]["points"].as_array().unwrap();
    let ids: Vec<&str> = points
        .iter()
        .map(|p| p["run_id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = runs.iter().map(|r| r.run.id.as_str()).collect();
    assert_eq!(ids, expected);
    assert_eq!(points[0]["value"].as_f64(), Some(median(&runs[0])));
    let cps = boxed["change_points"].as_array().unwrap();
    assert_eq!(cps.len(), 1);
    assert_eq!(cps[0]["index"].as_u64(), Some(STEP as u64));
    assert_eq!(cps[0]["verdict"], "regression");
    let after = cps[0]["after"].as_f64().unwrap();
    assert!((after - mean(&runs[STEP..])).abs() < 1e-9);

    let out = tokbench()
        .args(["history", "--format", "csv"])
        .arg(tmp.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8(out).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "rig");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), POINTS + 3);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let changed: Vec<&Vec<&str>> = rows.iter().filter(|r| r[col("change")] == "▼").collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0][col("run_id")], runs[STEP].run.id);
    assert_eq!(changed[0][col("commit")], format!("abc{STEP:02}"));
}

#[test]
fn files_can_be_named_one_by_one() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = write_runs(tmp.path());
    let mut cmd = tokbench();
    cmd.args(["history", "--min-size", "2", "--format", "csv"]);
    for r in &runs[..4] {
        cmd.arg(tmp.path().join(format!("{}.yaml", r.run.id)));
    }
    let out = cmd.assert().code(0).get_output().stdout.clone();
    // Only the four named records; with no step among them, no change.
    let csv = String::from_utf8(out).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4);
    assert!(!csv.contains('▼') && !csv.contains('▲'), "{csv}");
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    write_runs(tmp.path());
    tokbench()
        .args(["history", "--metric", "decode_toks"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown metric `decode_toks`"))
        .stderr(predicate::str::contains(
            "decode_tok_s, server_decode_tok_s",
        ));
    tokbench()
        .args(["history", "--alpha", "1.5"])
        .arg(tmp.path())
        .assert()
        .code(2);
    tokbench()
        .args(["history", "--min-size", "1"])
        .arg(tmp.path())
        .assert()
        .code(2);
    tokbench()
        .args(["history"])
        .arg(tmp.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
    tokbench().args(["history"]).assert().code(2);
}

#[test]
fn an_unreadable_record_exits_1_unless_keep_going() {
    let tmp = tempfile::tempdir().unwrap();
    write_runs(tmp.path());
    std::fs::write(tmp.path().join("broken.yaml"), "schema_version: [").unwrap();
    tokbench()
        .args(["history"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 series, 1 change point(s)"))
        .stderr(predicate::str::contains("broken.yaml"));
    tokbench()
        .args(["history", "--keep-going"])
        .arg(tmp.path())
        .assert()
        .code(0);
    let empty = tempfile::tempdir().unwrap();
    tokbench()
        .args(["history"])
        .arg(empty.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no run record could be read"));
}
