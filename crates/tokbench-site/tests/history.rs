//! The "History" section of model and rig pages: a line chart per series
//! of at least three runs, the change point marked where the records put a
//! step, nothing for shorter series.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use tokbench_history::{percent, Metric};
use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::Record;

/// Runs before the step, and in all, of the long series.
const STEP: usize = 7;
const RUNS: usize = 14;

/// Run `i` of `rig`: SmolLM2, one cell (chat, c=1) at about `decode`
/// tok/s, started on day `i + 1` of March 2026, backend commit `c<i>`.
fn record(rig: &str, i: usize, decode: f64) -> Record {
    let mut r = example_record(&ExampleSpec {
        id: format!("2026-03-{:02}-{rig}-{i:02}", i + 1),
        rig: rig.into(),
        decode_tok_s: decode,
        shapes: vec![("chat".into(), 200, 64)],
        concurrency: vec![1],
        ..ExampleSpec::default()
    });
    r.run.started_utc = format!("2026-03-{:02}T06:00:00Z", i + 1);
    r.backend.commit = Some(format!("c{i:02}"));
    r
}

/// `RUNS` runs on `box` stepping from 60 to 51 tok/s at `STEP`, and two
/// runs on `pair` (too few for a chart). Returns the `box` runs.
fn write_runs(dir: &Path) -> Vec<Record> {
    let steps: Vec<Record> = (0..RUNS)
        .map(|i| {
            let level = if i < STEP { 60.0 } else { 51.0 };
            record("box", i, level * [1.0, 1.004, 0.996][i % 3])
        })
        .collect();
    for r in &steps {
        common::write(dir, &format!("{}.yaml", r.run.id), r);
    }
    for i in 0..2 {
        let r = record("pair", i, 70.0);
        common::write(dir, &format!("{}.yaml", r.run.id), &r);
    }
    steps
}

/// The `<figure class="chart history">` elements of `html`.
fn figures(html: &str) -> Vec<&str> {
    html.match_indices("<figure class=\"chart history\">")
        .map(|(i, _)| &html[i..i + html[i..].find("</figure>").unwrap() + 9])
        .collect()
}

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

#[test]
fn model_and_rig_pages_chart_the_history_with_its_change_point() {
    let tmp = tempfile::tempdir().unwrap();
    let runs_dir = tmp.path().join("runs");
    let runs = write_runs(&runs_dir);
    let out = tmp.path().join("site");
    let report = common::build(&runs_dir, &out);
    assert_eq!(report.records, RUNS + 2);

    let model = std::fs::read_to_string(out.join("model/smollm2-135m-instruct.html")).unwrap();
    assert!(model.contains("<h2 id=\"history\">History</h2>"));
    assert!(model.contains("methodology.html#change-points"));
    // One chart: `pair` has two runs only.
    let charts = figures(&model);
    assert_eq!(charts.len(), 1, "{charts:?}");
    let chart = charts[0];
    assert!(chart.contains("<strong>chat c=1</strong> · box · SmolLM2 135M-Instruct Q4_1"));
    assert_eq!(chart.matches("<circle ").count(), RUNS);
    for r in &runs {
        assert!(
            chart.contains(&format!("runs/{}.html", r.run.id)),
            "{}",
            r.run.id
        );
    }

    // The change point: between the runs either side of the step, with the
    // shift of the segment means computed from the records.
    let median = |r: &Record| {
        let m = r.cells[0].metrics.as_ref().unwrap();
        m.decode_tok_s.as_ref().unwrap().median
    };
    let mean = |rs: &[Record]| rs.iter().map(median).sum::<f64>() / rs.len() as f64;
    let rel = mean(&runs[STEP..]) / mean(&runs[..STEP]) - 1.0;
    assert!(rel < -0.1, "{rel}");
    assert_eq!(chart.matches("<g class=\"cp ").count(), 1, "{chart}");
    assert!(chart.contains("<g class=\"cp regression\">"));
    assert!(
        chart.contains(&format!(">▼ {}</text>", percent(rel))),
        "{chart}"
    );
    let title = format!("at run {} / commit c{STEP:02}", runs[STEP].run.id);
    let title = format!("{}</title>", escaped(&title));
    assert!(chart.contains(&title), "{title} in {chart}");
    assert!(chart.contains("1 change point<"));
    // Two segment means, the vertical line between the step's neighbours.
    assert_eq!(chart.matches("<line class=\"level\"").count(), 2);
    let cx = |r: &Record| -> f64 {
        let at = chart.find(&format!("runs/{}.html", r.run.id)).unwrap();
        let c = &chart[at..];
        let start = c.find("cx=\"").unwrap() + 4;
        c[start..start + c[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    let (before, after) = (cx(&runs[STEP - 1]), cx(&runs[STEP]));
    let line = chart.find("<g class=\"cp").unwrap();
    let x1 = &chart[line..][chart[line..].find("x1=\"").unwrap() + 4..];
    let x: f64 = x1[..x1.find('"').unwrap()].parse().unwrap();
    assert!(before < x && x < after, "{before} < {x} < {after}");

    // The rig page of `box` draws the same series; `pair`'s page none.
    let rig = std::fs::read_to_string(out.join("hw/box.html")).unwrap();
    assert_eq!(figures(&rig), charts);
    let pair = std::fs::read_to_string(out.join("hw/pair.html")).unwrap();
    assert!(!pair.contains("id=\"history\""));
}

#[test]
fn the_chart_is_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let runs_dir = tmp.path().join("runs");
    write_runs(&runs_dir);
    let out = tmp.path().join("site");
    common::build(&runs_dir, &out);
    let model = std::fs::read_to_string(out.join("model/smollm2-135m-instruct.html")).unwrap();
    insta::assert_snapshot!("history_chart", figures(&model).join("\n"));
    // The metric drawn is decode tok/s, as the section says.
    assert_eq!(Metric::DECODE_TOK_S.unit(), "tok/s");
}
