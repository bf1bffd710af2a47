//! Parsing and window edge cases on small inline expositions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokbench_metrics::{detect, Engine, Kind, MetricsError, Snapshot, Value, Window};

fn snap(text: &str, at_s: f64) -> Snapshot {
    Snapshot::parse(text, at_s).unwrap()
}

#[test]
fn special_values_and_sorted_labels() {
    let s = snap(
        "# TYPE g gauge\ng{z=\"1\",a=\"2\"} NaN\n# TYPE h gauge\nh +Inf\n# TYPE m gauge\nm -Inf\n",
        0.0,
    );
    let g = s.get("g", &[("a", "2"), ("z", "1")]).unwrap();
    assert!(g.scalar().unwrap().is_nan());
    assert_eq!(s.get("h", &[]).unwrap().scalar(), Some(f64::INFINITY));
    assert_eq!(s.get("m", &[]).unwrap().scalar(), Some(f64::NEG_INFINITY));
    let key = s.series.keys().next().unwrap();
    assert_eq!(key.to_string(), "g{a=\"2\",z=\"1\"}");
}

#[test]
fn crlf_line_ends_are_accepted() {
    let s = snap("# TYPE c counter\r\nc_total 3\r\n", 0.0);
    assert_eq!(s.series.len(), 1);
    assert_eq!(s.series.values().next().unwrap().scalar(), Some(3.0));
}

#[test]
fn untyped_samples_are_kept() {
    let s = snap("foo 1\nbar{x=\"y\"} 2.5 1395066363000\n", 0.0);
    assert_eq!(s.series.len(), 2);
    assert!(s.series.values().all(|v| v.kind == Kind::Untyped));
}

#[test]
fn a_family_without_samples_is_a_warning_not_an_error() {
    // prometheus_client prints HELP and TYPE for a labelled metric that has
    // no child yet.
    let s = snap(
        "# HELP vllm:x_total x\n# TYPE vllm:x_total counter\n# HELP g g\n# TYPE g gauge\ng 1\n",
        0.0,
    );
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.has("g"));
    // In a window the same warning is noted once, with its poll count.
    let w = Window::new(s.clone()).finish(s);
    let notes: Vec<&String> = w
        .notes
        .iter()
        .filter(|n| n.starts_with("parse warning"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("2 of 2 polls"), "{}", notes[0]);
}

#[test]
fn a_bad_bucket_bound_is_malformed() {
    let text =
        "# TYPE h histogram\nh_bucket{le=\"abc\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n";
    let err = Snapshot::parse(text, 0.0).unwrap_err();
    assert!(matches!(err, MetricsError::Malformed { .. }), "{err:?}");
}

#[test]
fn a_histogram_without_count_uses_its_inf_bucket() {
    let text = "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 2\n";
    let s = snap(text, 0.0);
    let Value::Histogram(h) = &s.get("h", &[]).unwrap().value else {
        panic!("not a histogram")
    };
    assert_eq!(h.count, 3.0);
}

#[test]
fn sglang_underscore_prefix_is_detected_and_resolved() {
    let text = |n: u32| {
        format!("# TYPE sglang_num_running_reqs gauge\nsglang_num_running_reqs{{model_name=\"m\"}} {n}\n")
    };
    let start = snap(&text(2), 0.0);
    assert_eq!(detect(&start), Engine::Sglang);
    let w = Window::new(start).finish(snap(&text(4), 1.0));
    let running = w.canonical.requests_running.unwrap();
    assert_eq!((running.min, running.max, running.mean), (2.0, 4.0, 3.0));
}

#[test]
fn an_unknown_engine_keeps_every_series() {
    let text = |v: f64| {
        format!("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {v}\n")
    };
    let start = snap(&text(1.0), 0.0);
    assert_eq!(detect(&start), Engine::Unknown);
    let w = Window::new(start).finish(snap(&text(3.0), 2.0));
    assert_eq!(w.engine, Engine::Unknown);
    assert_eq!(w.counters["process_cpu_seconds_total"].delta, 2.0);
    assert_eq!(
        w.counters["process_cpu_seconds_total"].rate_per_s,
        Some(1.0)
    );
    assert_eq!(w.canonical.prompt_tokens, None);
    assert!(w.notes.iter().any(|n| n.contains("engine not recognised")));
}

#[test]
fn a_series_created_in_the_window_counts_from_zero() {
    let start = snap("# TYPE a_total counter\na_total 5\n", 0.0);
    let end = snap(
        "# TYPE a_total counter\na_total 7\n# TYPE b_total counter\nb_total{r=\"x\"} 4\n",
        1.0,
    );
    let w = Window::new(start).finish(end);
    assert_eq!(w.counters["a_total"].delta, 2.0);
    assert_eq!(w.counters["b_total{r=\"x\"}"].delta, 4.0);
    assert!(w.notes.iter().any(|n| n.contains("first appeared")));
}

#[test]
fn a_vanished_series_is_noted() {
    let start = snap(
        "# TYPE a_total counter\na_total 5\n# TYPE g gauge\ng 1\n",
        0.0,
    );
    let mid = snap(
        "# TYPE a_total counter\na_total 9\n# TYPE g gauge\ng 1\n",
        1.0,
    );
    let end = snap("# TYPE g gauge\ng 1\n", 2.0);
    let mut w = Window::new(start);
    w.sample(mid);
    let s = w.finish(end);
    assert_eq!(s.counters["a_total"].delta, 4.0);
    assert!(s
        .notes
        .iter()
        .any(|n| n.contains("a_total is not exported by the end poll")));
}

#[test]
fn histogram_reset_counts_from_zero() {
    let h = |c1: u32, ci: u32, sum: f64| {
        format!(
            "# TYPE h histogram\nh_bucket{{le=\"1.0\"}} {c1}\nh_bucket{{le=\"+Inf\"}} {ci}\nh_count {ci}\nh_sum {sum}\n"
        )
    };
    // 10 observations before; after the restart 2 observations, both <= 1.
    let w = Window::new(snap(&h(5, 10, 20.0), 0.0)).finish(snap(&h(2, 2, 1.0), 1.0));
    let d = &w.histograms["h"];
    assert_eq!((d.count, d.sum), (2.0, 1.0));
    assert_eq!(d.buckets[0].count, 2.0);
    assert!(w
        .notes
        .iter()
        .any(|n| n.contains("histogram h count went down")));
}

#[test]
fn polls_are_ordered_by_time() {
    let g = |v: u32| format!("# TYPE g gauge\ng {v}\n");
    let mut w = Window::new(snap(&g(1), 0.0));
    w.sample(snap(&g(3), 2.0));
    w.sample(snap(&g(2), 1.0));
    let s = w.finish(snap(&g(4), 3.0));
    let values: Vec<f64> = s.gauges["g"].samples.iter().map(|p| p.1).collect();
    assert_eq!(values, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(s.duration_s, 3.0);
}

#[test]
fn empty_and_escaped_label_values_parse() {
    // vLLM's vllm:lora_requests_info has empty label values.
    let text = "# TYPE vllm:lora_requests_info gauge\nvllm:lora_requests_info{max_lora=\"0\",running_lora_adapters=\"\",waiting_lora_adapters=\"\"} 1.7e+09\n# TYPE x gauge\nx{path=\"C:\\\\m\",q=\"say \\\"hi\\\"\",u=\"é\"} 1\n";
    let s = snap(text, 0.0);
    let lora = s.named("vllm:lora_requests_info").next().unwrap().0;
    assert_eq!(lora.label("running_lora_adapters"), Some(""));
    let x = s.named("x").next().unwrap().0;
    assert_eq!(x.label("u"), Some("é"));
    // Escapes are kept as written, so the key displays as exported.
    assert_eq!(x.label("q"), Some(r#"say \"hi\""#));
    assert_eq!(x.to_string(), r#"x{path="C:\\m",q="say \"hi\"",u="é"}"#);
}
