//! Grouping, change points on synthetic histories, descriptions.

use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::Record;

use super::*;

/// A one-shape, one-level record of `rig` on day `i` (from 2026-01-01),
/// at `decode` tok/s, with backend commit `c<i>`.
fn record(i: usize, rig: &str, decode: f64) -> Record {
    let mut r = example_record(&ExampleSpec {
        id: format!("run-{rig}-{i:03}"),
        rig: rig.into(),
        decode_tok_s: decode,
        shapes: vec![("chat".into(), 200, 64)],
        concurrency: vec![1],
        ..ExampleSpec::default()
    });
    r.run.started_utc = format!("2026-{:02}-{:02}T06:00:00Z", 1 + i / 28, 1 + i % 28);
    r.backend.commit = Some(format!("c{i:03}"));
    r.backend.version = Some(format!("b{}", 7000 + i));
    r
}

fn decode() -> Metric {
    Metric::parse("decode_tok_s").unwrap()
}

fn median(r: &Record) -> f64 {
    r.cells[0]
        .metrics
        .as_ref()
        .unwrap()
        .decode_tok_s
        .as_ref()
        .unwrap()
        .median
}

/// Deterministic noise in `[-1, 1)` (a 64-bit LCG, Knuth's MMIX constants).
fn noise(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

#[test]
fn series_are_keyed_by_configuration_not_version() {
    let mut records: Vec<Record> = (0..3).rev().map(|i| record(i, "box", 50.0)).collect();
    // Another rig, another model file, another flag: three more series.
    records.push(record(3, "other-rig", 50.0));
    let mut other_model = record(4, "box", 50.0);
    other_model.model.sha256 = Some("f".repeat(64));
    records.push(other_model);
    let mut flagged = record(5, "box", 50.0);
    flagged.backend.flags = vec!["-fa".into(), "on".into()];
    records.push(flagged);
    // A skipped cell adds no point.
    let mut skipped = record(6, "box", 50.0);
    skipped.cells[0].skipped = Some("beyond the context size".into());
    records.push(skipped);

    let series = build_series(&records, decode());
    assert_eq!(series.len(), 4);
    let main = series
        .iter()
        .find(|s| s.key.rig == "box" && s.points.len() == 3)
        .unwrap();
    // Versions b7000..b7002 and commits differ, yet it is one series, in date order.
    let ids: Vec<&str> = main.points.iter().map(|p| p.run_id.as_str()).collect();
    assert_eq!(ids, ["run-box-000", "run-box-001", "run-box-002"]);
    let commits: Vec<_> = main.points.iter().map(|p| p.commit.clone()).collect();
    assert_eq!(
        commits,
        [
            Some("c000".into()),
            Some("c001".into()),
            Some("c002".into())
        ]
    );
    assert_eq!(main.points[0].value, median(&records[2]));
    assert_eq!(main.key.model, records[0].model.sha256.clone().unwrap());
    assert_eq!((main.key.shape.as_str(), main.key.concurrency), ("chat", 1));
    assert!(series.iter().any(|s| s.key.backend.flags == ["-fa", "on"]));
    assert_eq!(series.iter().map(|s| s.points.len()).sum::<usize>(), 6);
}

#[test]
fn commit_falls_back_to_tokbench_commit_and_model_to_id() {
    let mut r = record(0, "box", 50.0);
    r.backend.commit = None;
    r.model.sha256 = None;
    let s = &build_series([&r], decode())[0];
    assert_eq!(s.points[0].commit, r.run.tokbench_commit);
    assert_eq!(s.key.model, r.model.id);
}

#[test]
fn a_step_is_found_where_it_is() {
    let (before, after, step) = (50.0, 44.6, 12);
    let mut state = 7;
    let records: Vec<Record> = (0..24)
        .map(|i| {
            let level = if i < step { before } else { after };
            record(i, "box", level * (1.0 + 0.004 * noise(&mut state)))
        })
        .collect();
    let h = histories(&records, decode(), &ChangePointOptions::default()).unwrap();
    assert_eq!(h.len(), 1);
    let h = &h[0];
    assert_eq!(h.change_points.len(), 1, "{:?}", h.change_points);
    let cp = &h.change_points[0];
    assert_eq!(cp.index, step);
    let mean = |rs: &[Record]| rs.iter().map(median).sum::<f64>() / rs.len() as f64;
    let (m0, m1) = (mean(&records[..step]), mean(&records[step..]));
    assert!((cp.before - m0).abs() < 1e-9 && (cp.after - m1).abs() < 1e-9);
    assert!((cp.relative_change.unwrap() - (m1 / m0 - 1.0)).abs() < 1e-12);
    assert_eq!((cp.arrow(), cp.verdict), ('▼', Verdict::Regression));
    assert_eq!(h.segments.len(), 2);
    assert_eq!((h.segments[1].start, h.segments[1].end), (step, 24));
    assert_eq!(h.segment_of(step - 1).map(|s| s.start), Some(0));
    let text = h.describe(cp);
    let expected = format!(
        "decode_tok_s {} → {} ({}) at run run-box-{step:03} / commit c{step:03}",
        number(m0),
        number(m1),
        percent(m1 / m0 - 1.0)
    );
    assert_eq!(text, expected);
}

#[test]
fn a_lower_latency_is_an_improvement() {
    let records: Vec<Record> = (0..20)
        .map(|i| record(i, "box", if i < 10 { 40.0 } else { 60.0 }))
        .collect();
    let tpot = Metric::parse("tpot_ms").unwrap();
    let h = &histories(&records, tpot, &ChangePointOptions::default()).unwrap()[0];
    assert_eq!(h.change_points.len(), 1);
    // Faster decode: lower time per output token.
    assert_eq!(h.change_points[0].arrow(), '▼');
    assert_eq!(h.change_points[0].verdict, Verdict::Improvement);
}

#[test]
fn a_flat_noisy_series_has_no_change_point() {
    let mut state = 42;
    let records: Vec<Record> = (0..30)
        .map(|i| record(i, "box", 50.0 * (1.0 + 0.03 * noise(&mut state))))
        .collect();
    let h = &histories(&records, decode(), &ChangePointOptions::default()).unwrap()[0];
    let values: Vec<f64> = h.series.points.iter().map(|p| p.value).collect();
    let spread = values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - values.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(spread > 1.0, "the noise is real: {spread}");
    assert!(h.change_points.is_empty(), "{:?}", h.change_points);
    assert_eq!(h.segments.len(), 1);
    assert_eq!((h.segments[0].start, h.segments[0].end), (0, 30));
}

#[test]
fn invalid_options_and_unknown_metrics_are_typed_errors() {
    let records = [record(0, "box", 50.0)];
    let opts = ChangePointOptions {
        alpha_sig: 1.5,
        ..ChangePointOptions::default()
    };
    assert!(matches!(
        histories(&records, decode(), &opts),
        Err(HistoryError::ChangePoint(_))
    ));
    let err = Metric::parse("tok_s").unwrap_err();
    assert!(
        err.to_string()
            .contains("decode_tok_s, server_decode_tok_s"),
        "{err}"
    );
}

#[test]
fn numbers_and_percentages() {
    assert_eq!(number(50.08), "50.1");
    assert_eq!(number(0.5321), "0.532");
    assert_eq!(number(1.23456), "1.23");
    assert_eq!(percent(-0.108), "−10.8 %");
    assert_eq!(percent(0.03), "+3.0 %");
    assert_eq!(percent(0.00001), "±0.0 %");
}
