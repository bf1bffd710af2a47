//! Where record loading spends its time: serde-saphyr YAML → value and
//! YAML → Record, schema validation, `from_yaml` (the fast reader), and
//! JSON for comparison.
//! Run: `cargo run --release -p tokbench-record --example parse_speed [N [fast-only]]`
//! (`fast-only` times `from_yaml` alone, e.g. for a profiler).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::{from_yaml, to_yaml, validate_value, Record};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let spec = ExampleSpec {
        shapes: vec![
            ("chat".into(), 200, 64),
            ("rag".into(), 1000, 32),
            ("codegen".into(), 200, 256),
            ("agent".into(), 600, 96),
        ],
        concurrency: vec![1, 4],
        ..ExampleSpec::default()
    };
    let record = example_record(&spec);
    let yaml = to_yaml(&record).unwrap();
    let json = serde_json::to_string(&record).unwrap();
    let mb = (yaml.len() * n) as f64 / 1e6;
    println!(
        "record: {} bytes YAML, {} bytes JSON; {n} records = {mb:.1} MB YAML",
        yaml.len(),
        json.len()
    );
    let time = |label: &str, f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{label:<32} {:>8.2} ms/record  {:>7.1} MB/s",
            1e3 * s / n as f64,
            mb / s
        );
    };
    if std::env::args().nth(2).as_deref() == Some("fast-only") {
        time("from_yaml (fast reader → Record)", &|| {
            from_yaml(&yaml, Path::new("x.yaml")).unwrap();
        });
        return;
    }
    time("yaml -> serde_json::Value", &|| {
        let _: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    });
    time("yaml -> Record, no budget", &|| {
        let mut opts = serde_saphyr::Options::default();
        opts.budget = None;
        opts.with_snippet = false;
        let _: Record = serde_saphyr::from_str_with_options(&yaml, opts).unwrap();
    });
    time("yaml -> Record", &|| {
        let _: Record = serde_saphyr::from_str(&yaml).unwrap();
    });
    let value: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    time("schema validation of the value", &|| {
        assert!(validate_value(&value).is_empty());
    });
    time("from_yaml (fast reader → Record)", &|| {
        from_yaml(&yaml, Path::new("x.yaml")).unwrap();
    });
    time("json -> Record", &|| {
        let _: Record = serde_json::from_str(&json).unwrap();
    });
}
