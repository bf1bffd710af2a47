//! `from_yaml`'s fast path (record straight from the parse tree, no schema
//! pass) against the slow path it replaces (serde-saphyr value, JSON
//! Schema, `serde_json::from_value`).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use super::{fast_record, from_yaml, record_from_value, to_yaml, RecordError};
use crate::block_yaml::parse_node;
use crate::fixture::{example_record, ExampleSpec};
use crate::metrics::ErrorKind;
use crate::schema::{CellStop, Experts, Record};
use crate::system::{RigNotes, VramFit};
use crate::validate::validate_value;

/// The slow path on its own, independent of the fast reader: what
/// `from_yaml` returned for every document before the fast path.
fn slow_from_yaml(text: &str, path: &Path) -> Result<Record, RecordError> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| RecordError::Parse {
        path: path.to_owned(),
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })?;
    record_from_value(value, path)
}

/// Records as tokbench writes them, with the rarer shapes filled in.
fn written_records() -> Vec<Record> {
    let mut out = vec![example_record(&ExampleSpec::default())];
    let mut r = example_record(&ExampleSpec {
        id: "2026-11-22-gemma-3-270m-vllm-9f00e1".into(),
        family: "Gemma 3 \"it\" <b>".into(),
        variant: "270m-it: quantised # not a comment".into(),
        quant: "Q4_K_M".into(),
        rig: "0x1F".into(),
        gpu: Some("NVIDIA GeForce RTX 3090".into()),
        backend: ("vLLM".into(), "0.11.0".into()),
        shapes: vec![("agent".into(), 600, 96), ("yes".into(), 10, 10)],
        concurrency: vec![1, 4, 16],
        ..ExampleSpec::default()
    });
    r.run.notes = vec![
        "tab\there".into(),
        "it's \"quoted\"".into(),
        String::new(),
        "-".into(),
        "ünïcödé 😀".into(),
        "null".into(),
        "12".into(),
    ];
    r.run.ended_utc = None;
    r.run.incomplete_reason = Some("interrupted: Ctrl-C".into());
    r.run.flags.incomplete = true;
    r.system.rig = Some(RigNotes {
        name: "garage-3090".into(),
        chassis: Some("Fractal Meshify 2, open side panel".into()),
        tags: vec!["consumer".into(), "cuda".into()],
        extra: BTreeMap::from([("riser".into(), "PCIe 4.0 x16".into())]),
        ..RigNotes::default()
    });
    r.model.experts = Some(Experts { count: 8, used: 2 });
    r.resources.vram_fit = VramFit::Spill {
        delta_bytes: 1 << 30,
        model_bytes: 3 << 30,
        message: "model spilled: raise -ngl?".into(),
    };
    r.resources.vram_before_bytes = vec![Some(100), None];
    r.resources.j_per_output_token = Some(0.125);
    r.provenance.details = BTreeMap::from([
        ("CUDA_VISIBLE_DEVICES".into(), "0".into()),
        ("weird key: x".into(), "y # z".into()),
    ]);
    r.cells[0].rate_rps = Some(2.5);
    r.cells[1].stop = CellStop::Skipped;
    r.cells[1].skipped = Some("prompt beyond ctx_size".into());
    r.cells[1].metrics = None;
    if let Some(m) = r.cells[2].metrics.as_mut() {
        m.errors_by_kind = BTreeMap::from([(ErrorKind::Stall, 2), (ErrorKind::HttpStatus, 1)]);
    }
    out.push(r);
    out
}

#[test]
fn written_records_take_the_fast_path_and_match_the_slow_path() {
    for record in written_records() {
        let yaml = to_yaml(&record).unwrap();
        let fast = fast_record(&yaml).expect("a record written by tokbench takes the fast path");
        let value: Value = serde_saphyr::from_str(&yaml).unwrap();
        assert!(validate_value(&value).is_empty());
        let slow: Record = serde_json::from_value(value).unwrap();
        assert_eq!(fast, slow);
        assert_eq!(
            serde_json::to_value(&fast).unwrap(),
            serde_json::to_value(&slow).unwrap()
        );
        assert_eq!(fast, record);
        assert_eq!(from_yaml(&yaml, Path::new("x.yaml")).unwrap(), record);
    }
}

/// `from_yaml` and the slow path give the same record, or errors of the
/// same kind with the same text.
fn same_outcome(doc: &str) {
    let path = Path::new("runs/r.yaml");
    match (from_yaml(doc, path), slow_from_yaml(doc, path)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{doc}"),
        (Err(a), Err(b)) => {
            assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{a} vs {b}"
            );
            assert_eq!(a.to_string(), b.to_string());
        }
        (a, b) => panic!("from_yaml gave {a:?}, the slow path {b:?} on\n{doc}"),
    }
}

#[test]
fn shapes_serde_json_takes_but_the_schema_does_not_are_still_invalid() {
    let yaml = to_yaml(&example_record(&ExampleSpec::default())).unwrap();
    let edits = [
        (
            "  vram_fit:\n    verdict: not_applicable\n    reason: CPU-only run\n",
            "  vram_fit:\n  - not_applicable\n  - CPU-only run\n",
        ),
        ("  stop: converged\n", "  stop:\n    converged:\n"),
        (
            "  flags:\n    noisy: false\n    incomplete: false\n    spill: false\n    prompt_cache: false\n",
            "  flags:\n  - false\n  - false\n  - false\n  - false\n",
        ),
        ("schema_version: 1\n", "schema_version: 2\n"),
        ("schema_version: 1\n", "schema_version: 1.0\n"),
        ("  concurrency: 1\n", "  concurrency: 1.0\n"),
    ];
    for (from, to) in edits {
        assert!(yaml.contains(from), "{from:?}");
        let doc = yaml.replacen(from, to, 1);
        assert!(parse_node(&doc).is_some(), "{to:?} is read fast");
        assert!(fast_record(&doc).is_none(), "{to:?}");
        let err = from_yaml(&doc, Path::new("r.yaml")).unwrap_err();
        same_outcome(&doc);
        if !to.contains("concurrency") {
            assert!(matches!(err, RecordError::Invalid { .. }), "{to:?}: {err}");
        }
    }
}

/// One line edit of a written record.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the value after `key: ` on a line.
    Value(usize, String),
    /// Drop a line.
    Delete(usize),
    /// Repeat a line (a duplicate key or item).
    Duplicate(usize),
    /// Insert a line, indented like the line it goes before plus `extra`.
    Insert(usize, usize, String),
    /// Change a line's indentation.
    Indent(usize, bool),
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just(String::new()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("2".to_owned()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("1.0".to_owned()),
        Just("1e3".to_owned()),
        Just("4294967296".to_owned()),
        Just("true".to_owned()),
        Just("no".to_owned()),
        Just("x".to_owned()),
        Just("'1'".to_owned()),
        Just("\"a\\tb\"".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("converged".to_owned()),
        Just("fit".to_owned()),
        Just("stall".to_owned()),
        Just("0x1F".to_owned()),
        "[a-z_]{1,8}",
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        scalar().prop_map(|s| format!("- {s}")),
        (scalar(), scalar()).prop_map(|(k, v)| format!("{}: {v}", k.trim_matches('\''))),
        Just("verdict: fit".to_owned()),
        Just("delta_bytes: 1".to_owned()),
        Just("stall: 1".to_owned()),
        Just("notes: x".to_owned()),
        Just("-".to_owned()),
        Just("# comment".to_owned()),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), scalar()).prop_map(|(i, s)| Edit::Value(i, s)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Duplicate),
        2 => (any::<usize>(), 0..3usize, line()).prop_map(|(i, k, l)| Edit::Insert(i, k * 2, l)),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, d)| Edit::Indent(i, d)),
    ]
}

fn apply(base: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_owned).collect();
    for e in edits {
        let n = lines.len();
        if n == 0 {
            break;
        }
        match e {
            Edit::Value(i, s) => {
                let l = &mut lines[i % n];
                if let Some(at) = l
                    .find(": ")
                    .or_else(|| l.ends_with(':').then(|| l.len() - 1))
                {
                    l.truncate(at);
                    l.push_str(": ");
                    l.push_str(s);
                }
            }
            Edit::Delete(i) => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Insert(i, extra, text) => {
                let at = i % n;
                let indent = lines[at].len() - lines[at].trim_start().len();
                lines.insert(at, format!("{}{text}", " ".repeat(indent + extra)));
            }
            Edit::Indent(i, deeper) => {
                let l = &mut lines[i % n];
                if *deeper {
                    l.insert_str(0, "  ");
                } else if l.starts_with("  ") {
                    l.replace_range(..2, "");
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

fn small_record_yaml() -> String {
    let mut r = written_records().swap_remove(1);
    r.cells.truncate(3);
    to_yaml(&r).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Whenever the fast path yields a record, the slow path agrees and
    /// the schema has nothing to say; whenever the slow path fails,
    /// `from_yaml` fails the same way.
    #[test]
    fn mutated_records_fast_path_agrees_with_the_slow_path(
        edits in prop::collection::vec(edit(), 1..4)
    ) {
        thread_local!(static BASE: String = small_record_yaml());
        let doc = BASE.with(|base| apply(base, &edits));
        if let Some(fast) = fast_record(&doc) {
            let value: Value = serde_saphyr::from_str(&doc)
                .unwrap_or_else(|e| panic!("fast path took what serde-saphyr rejects ({e})"));
            let problems = validate_value(&value);
            prop_assert!(problems.is_empty(), "schema problems {problems:?} in\n{doc}");
            let slow: Record = serde_json::from_value(value).unwrap();
            prop_assert_eq!(&fast, &slow);
        }
        same_outcome(&doc);
    }
}
