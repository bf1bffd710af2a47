//! How fast each well-kept YAML crate reads tokbench records, on the two
//! record sizes `tokbench-site`'s `gen_fixture` writes (8 cells, ~30 kB;
//! 2 cells, ~8 kB): YAML → `Record` and YAML → `serde_json::Value` per
//! crate, then the rest of the read path (schema validation, `from_yaml`).
//! Every crate's `Record` is checked against the original first.
//!
//! Run: `cargo run --release -p tokbench-record --example parse_speed [N]`
//! (N records of each size, default 300).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::{from_yaml, to_yaml, validate_value, Record};

/// A candidate: its name, YAML → Record, YAML → value.
type Candidate = (
    &'static str,
    fn(&str) -> Result<Record, String>,
    fn(&str) -> Result<serde_json::Value, String>,
);

const CANDIDATES: &[Candidate] = &[
    (
        "serde-saphyr 2.1",
        |t| serde_saphyr::from_str(t).map_err(|e| e.to_string()),
        |t| serde_saphyr::from_str(t).map_err(|e| e.to_string()),
    ),
    (
        "yaml_serde 0.10 (libyaml)",
        |t| yaml_serde::from_str(t).map_err(|e| e.to_string()),
        |t| yaml_serde::from_str(t).map_err(|e| e.to_string()),
    ),
    (
        "serde_yaml_ng 0.10 (libyaml)",
        |t| serde_yaml_ng::from_str(t).map_err(|e| e.to_string()),
        |t| serde_yaml_ng::from_str(t).map_err(|e| e.to_string()),
    ),
    (
        "serde_norway 0.9 (libyaml)",
        |t| serde_norway::from_str(t).map_err(|e| e.to_string()),
        |t| serde_norway::from_str(t).map_err(|e| e.to_string()),
    ),
];

fn spec(shapes: &[(&str, u64, u64)], concurrency: Vec<u64>) -> ExampleSpec {
    ExampleSpec {
        shapes: shapes
            .iter()
            .map(|(s, p, o)| ((*s).to_owned(), *p, *o))
            .collect(),
        concurrency,
        ..ExampleSpec::default()
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let sizes = [
        (
            "8 cells",
            spec(
                &[
                    ("chat", 200, 64),
                    ("rag", 4000, 64),
                    ("codegen", 300, 256),
                    ("agent", 1500, 128),
                ],
                vec![1, 4],
            ),
        ),
        (
            "2 cells",
            spec(&[("pp512", 512, 2), ("tg128", 16, 128)], vec![1]),
        ),
    ];
    println!("| record | step | ms/record | records/s | MB/s |");
    println!("|---|---|---:|---:|---:|");
    for (label, spec) in sizes {
        let record = example_record(&spec);
        let yaml = to_yaml(&record).unwrap();
        let label = format!("{label}, {:.1} kB", yaml.len() as f64 / 1e3);
        let time = |step: &str, f: &dyn Fn()| {
            f();
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            let s = t.elapsed().as_secs_f64() / n as f64;
            println!(
                "| {label} | {step} | {:.3} | {:.0} | {:.1} |",
                1e3 * s,
                1.0 / s,
                yaml.len() as f64 / 1e6 / s
            );
        };
        for (name, typed, value) in CANDIDATES {
            let back = typed(&yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, record, "{name} reads the record back unchanged");
            time(&format!("{name}: → Record"), &|| {
                typed(&yaml).unwrap();
            });
            time(&format!("{name}: → Value"), &|| {
                value(&yaml).unwrap();
            });
        }
        let value: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        time("schema validation of the value", &|| {
            assert!(validate_value(&value).is_empty());
        });
        time("Value → Record (serde_json)", &|| {
            let _: Record = serde_json::from_value(value.clone()).unwrap();
        });
        time("from_yaml (the read path)", &|| {
            from_yaml(&yaml, Path::new("x.yaml")).unwrap();
        });
    }
}
