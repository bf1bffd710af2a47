//! Known-answer tests of `tokbench compare`'s engine on synthetic sides
//! whose requests decode at a known rate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::synth::{write_side, Synth};
use tokbench_compare::export::{
    CsvExporter, Exporter, JsonExporter, MarkdownExporter, TableExporter,
};
use tokbench_compare::{
    compare_sides, load_side, CompareError, Quantity, Report, Settings, Source,
};
use tokbench_stats::{Statistic, Verdict};

fn side(dir: &Path, name: &str, s: &Synth) -> String {
    let d = dir.join(name);
    write_side(&d, s).unwrap();
    d.display().to_string()
}

fn run(args: &[String]) -> Result<Report, CompareError> {
    let sides: Vec<_> = args.iter().map(|a| load_side(a).unwrap()).collect();
    compare_sides(&sides, &Settings::default())
}

fn decode(report: &Report, col: usize) -> &tokbench_compare::Versus {
    let row = report.tables[0]
        .rows
        .iter()
        .find(|r| r.quantity == Quantity::DecodeTokS && r.statistic == Statistic::Median)
        .unwrap();
    &row.versus[col]
}

#[test]
fn fifty_vs_fifty_three_is_faster_and_the_interval_holds_the_true_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    let base = side(
        tmp.path(),
        "base",
        &Synth {
            seed: 1,
            ..Synth::default()
        },
    );
    let new = side(
        tmp.path(),
        "new",
        &Synth {
            seed: 2,
            decode_tok_s: 53.0,
            ..Synth::default()
        },
    );
    let report = run(&[base, new]).unwrap();
    let v = decode(&report, 0);
    let c = v.comparison.unwrap();
    assert_eq!(v.verdict, Verdict::Faster);
    assert_eq!(v.source, Source::Samples);
    assert!(
        c.estimate.lo <= 1.06 && 1.06 <= c.estimate.hi,
        "{:?}",
        c.estimate
    );
    assert!(c.p_adjusted < 0.05 && c.mde < 0.06, "{c:?}");
    assert_eq!((c.n_base, c.n_new), (20, 20), "warm-up requests left out");
    // Latency per token falls by the same factor: lower is better, so faster.
    let tpot = report.tables[0]
        .rows
        .iter()
        .find(|r| r.quantity == Quantity::TpotMs)
        .unwrap();
    assert_eq!(tpot.versus[0].verdict, Verdict::Faster);
    assert!(tpot.versus[0].ratio.unwrap() < 1.0);
}

#[test]
fn the_same_configuration_is_never_faster_or_slower() {
    let tmp = tempfile::tempdir().unwrap();
    let base = side(
        tmp.path(),
        "a",
        &Synth {
            seed: 3,
            ..Synth::default()
        },
    );
    let new = side(
        tmp.path(),
        "b",
        &Synth {
            seed: 4,
            ..Synth::default()
        },
    );
    let report = run(&[base, new]).unwrap();
    let v = decode(&report, 0);
    assert!(
        matches!(v.verdict, Verdict::Same | Verdict::Inconclusive),
        "{v:?}"
    );
    let c = v.comparison.unwrap();
    assert!(c.estimate.lo < 1.0 + 0.02 && c.estimate.hi > 1.0 - 0.02);
}

#[test]
fn three_requests_never_claim_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let few = Synth {
        requests: 3,
        jitter: 0.0,
        ..Synth::default()
    };
    let base = side(
        tmp.path(),
        "a",
        &Synth {
            seed: 5,
            ..few.clone()
        },
    );
    let new = side(tmp.path(), "b", &Synth { seed: 6, ..few });
    let report = run(&[base, new]).unwrap();
    let v = decode(&report, 0);
    assert_eq!(
        v.verdict,
        Verdict::Inconclusive,
        "identical values, but only 3 of them"
    );
    assert!(v.comparison.is_some_and(|c| c.mde.is_finite()));
}

/// The goodput row of the first table, if any.
fn goodput(report: &Report) -> Option<&tokbench_compare::MetricRow> {
    report.tables[0]
        .rows
        .iter()
        .find(|r| r.quantity == Quantity::GoodputRps)
}

#[test]
fn goodput_is_a_run_quantity_and_a_run_with_none_good_counts_as_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = |seed, goodput_rps: &[f64]| Synth {
        records: 3,
        seed,
        goodput_rps: goodput_rps.to_vec(),
        ..Synth::default()
    };
    let base = side(tmp.path(), "a", &synth(11, &[0.50, 0.52, 0.48]));
    let new = side(tmp.path(), "b", &synth(12, &[0.0, 0.26, 0.24]));
    let report = run(&[base, new]).unwrap();
    let row = goodput(&report).expect("a goodput row when both sides have --slo");
    assert_eq!(row.unit, tokbench_compare::Unit::Rps);
    assert_eq!((row.n_base, row.versus[0].n), (3, 3), "one value per run");
    // Medians 0.24 / 0.50: the run in which no request met the SLOs is
    // a value of 0, not a missing run (that would give 0.25 / 0.50).
    let ratio = row.versus[0].ratio.unwrap();
    assert!((ratio - 0.48).abs() < 1e-9, "{ratio}");

    let plain = side(tmp.path(), "c", &synth(13, &[]));
    let plain2 = side(tmp.path(), "d", &synth(14, &[]));
    let report = run(&[plain, plain2]).unwrap();
    assert!(
        goodput(&report).is_none(),
        "no row without --slo on either side"
    );
}

#[test]
fn paired_runs_are_paired_in_launch_order_and_cancel_the_drift() {
    let tmp = tempfile::tempdir().unwrap();
    // Ten launches a side, alternating, on a host drifting ±12 %: NEW's
    // record files sort in the reverse of their launch order, so only
    // pairing by start time matches each run with its neighbour in time.
    let drift: Vec<f64> = (0..10)
        .map(|i| 0.88 + 0.024 * f64::from((i * 7) % 11))
        .collect();
    let base = Synth {
        records: 10,
        seed: 31,
        jitter: 0.005,
        drift: drift.clone(),
        started_min: (0..10).map(|i| 2 * i).collect(),
        ..Synth::default()
    };
    let new = Synth {
        seed: 32,
        drift: drift.iter().rev().copied().collect(),
        started_min: (0..10).rev().map(|i| 2 * i + 1).collect(),
        ..base.clone()
    };
    let sides = [side(tmp.path(), "a", &base), side(tmp.path(), "b", &new)];
    let loaded: Vec<_> = sides.iter().map(|a| load_side(a).unwrap()).collect();
    let mut settings = Settings::default();
    let unpaired = compare_sides(&loaded, &settings).unwrap();
    assert_eq!(decode(&unpaired, 0).verdict, Verdict::Inconclusive);
    settings.stats.paired = true;
    let paired = compare_sides(&loaded, &settings).unwrap();
    let v = decode(&paired, 0);
    assert_eq!(v.verdict, Verdict::Same, "{v:?}");
    let c = v.comparison.unwrap();
    assert!(c.estimate.lo > 0.99 && c.estimate.hi < 1.01, "{c:?}");
    assert!(
        paired.notes.iter().any(|n| n.starts_with("paired:")),
        "{:?}",
        paired.notes
    );
    // Unequal run counts are refused, naming both counts.
    let short = side(
        tmp.path(),
        "c",
        &Synth {
            records: 9,
            seed: 33,
            ..base.clone()
        },
    );
    let err = compare_sides(&[loaded[0].clone(), load_side(&short).unwrap()], &settings)
        .unwrap_err()
        .to_string();
    assert!(err.contains("BASE has 10, NEW 9"), "{err}");
}

#[test]
fn several_runs_pool_and_a_third_side_gets_its_own_column() {
    let tmp = tempfile::tempdir().unwrap();
    let base = side(
        tmp.path(),
        "a",
        &Synth {
            records: 3,
            seed: 7,
            ..Synth::default()
        },
    );
    let slow = side(
        tmp.path(),
        "b",
        &Synth {
            records: 2,
            seed: 8,
            decode_tok_s: 40.0,
            ..Synth::default()
        },
    );
    let fast = side(
        tmp.path(),
        "c",
        &Synth {
            seed: 9,
            decode_tok_s: 60.0,
            ..Synth::default()
        },
    );
    let report = run(&[base, slow, fast]).unwrap();
    assert_eq!(report.sides[0].runs, 3);
    assert_eq!(decode(&report, 0).verdict, Verdict::Slower);
    assert_eq!(decode(&report, 1).verdict, Verdict::Faster);
    assert_eq!(report.tables[0].rows[0].n_base, 60);
    let table = TableExporter::default().render(&report).unwrap();
    assert!(
        table.contains("NEW1/BASE") && table.contains("NEW2/BASE"),
        "{table}"
    );
    assert!(
        table.contains("▲ faster") && table.contains("▼ slower"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "no colour unless asked");
    let coloured = TableExporter { color: true }.render(&report).unwrap();
    assert!(coloured.contains('\u{1b}'), "verdicts coloured");
}

#[test]
fn without_sidecar_the_summaries_are_used_and_the_output_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let base = side(
        tmp.path(),
        "a",
        &Synth {
            seed: 10,
            ..Synth::default()
        },
    );
    let new = side(
        tmp.path(),
        "b",
        &Synth {
            seed: 11,
            decode_tok_s: 53.0,
            ..Synth::default()
        },
    );
    for e in std::fs::read_dir(&new).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".samples.jsonl") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let report = run(&[base, new]).unwrap();
    assert_eq!(report.sides[1].runs_with_samples, 0);
    assert_eq!(decode(&report, 0).source, Source::Summaries);
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("no samples sidecar")));
    let json = JsonExporter.render(&report).unwrap();
    assert!(json.contains("\"source\": \"summaries\""));
    let md = MarkdownExporter.render(&report).unwrap();
    assert!(md.contains("‡ from the recorded summaries"), "{md}");
}

#[test]
fn different_rigs_are_refused_unless_asked_and_then_every_table_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let base = side(
        tmp.path(),
        "a",
        &Synth {
            seed: 12,
            ..Synth::default()
        },
    );
    let new = side(
        tmp.path(),
        "b",
        &Synth {
            seed: 13,
            rig: "other-box".into(),
            ..Synth::default()
        },
    );
    let sides: Vec<_> = [&base, &new]
        .iter()
        .map(|a| load_side(a).unwrap())
        .collect();
    let err = compare_sides(&sides, &Settings::default()).unwrap_err();
    assert!(matches!(err, CompareError::AcrossRigs { .. }), "{err}");
    let settings = Settings {
        across_rigs: true,
        ..Settings::default()
    };
    let report = compare_sides(&sides, &settings).unwrap();
    assert!(report.across_rigs);
    let table = TableExporter::default().render(&report).unwrap();
    assert!(
        table.contains("chat c=1 (pp 200 / tg 64) — ACROSS RIGS"),
        "{table}"
    );
    assert!(report
        .properties
        .iter()
        .any(|p| p.name == "rig" && p.differs));
}

#[test]
fn csv_has_one_line_per_metric_and_side() {
    let tmp = tempfile::tempdir().unwrap();
    let base = side(
        tmp.path(),
        "a",
        &Synth {
            seed: 14,
            ..Synth::default()
        },
    );
    let new = side(
        tmp.path(),
        "b",
        &Synth {
            seed: 15,
            ..Synth::default()
        },
    );
    let report = run(&[base, new]).unwrap();
    let csv = CsvExporter.render(&report).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("model,shape,concurrency"));
    assert_eq!(lines.len() - 1, report.tables[0].rows.len());
    assert!(
        lines.iter().any(|l| l.contains(",decode_tok_s,tok/s,")),
        "{csv}"
    );
}

#[test]
fn gates_without_sidecars_use_the_recorded_interval_and_say_so() {
    use tokbench_compare::{evaluate, parse_spec, Status};
    let tmp = tempfile::tempdir().unwrap();
    let new = side(
        tmp.path(),
        "n",
        &Synth {
            seed: 16,
            ..Synth::default()
        },
    );
    for e in std::fs::read_dir(&new).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".samples.jsonl") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let text = "gates:\n  - metric: decode_tok_s\n    min: 30\n  - metric: ttft_ms\n    tail_ratio: \"<= 3\"\n";
    let spec = parse_spec(text, Path::new("g.yaml")).unwrap();
    let side = load_side(&new).unwrap();
    // The fixture's summaries count 6 requests: allow them.
    let opts = tokbench_stats::CompareOptions {
        min_samples: 5,
        ..Default::default()
    };
    let results = evaluate(&spec, &side, None, &opts).unwrap();
    // The fixture's recorded median interval lies wholly above 30 tok/s.
    assert_eq!(results[0].status, Status::Pass, "{:?}", results[0]);
    assert!(
        results[0].interval.is_some(),
        "the recorded CI is the interval"
    );
    // A tail ratio needs per-request values: nothing to judge.
    assert_eq!(results[1].status, Status::Inconclusive);
    assert!(results[1]
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("no per-request samples"));
}
