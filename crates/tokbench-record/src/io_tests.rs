//! `from_yaml` on records as tokbench writes them (they read back
//! unchanged), on shapes the schema rejects, on broken YAML (file and
//! line), and on randomly mutated records (never a panic; a record it
//! accepts satisfies the schema and reads back unchanged once rewritten).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::{from_yaml, sidecar_path, to_yaml, RecordError};
use crate::fixture::{example_record, ExampleSpec};
use crate::metrics::ErrorKind;
use crate::schema::{CellStop, Experts, Record};
use crate::system::{RigNotes, VramFit};
use crate::validate::validate_record;

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
fn written_records_read_back_unchanged() {
    for record in written_records() {
        let yaml = to_yaml(&record).unwrap();
        assert_eq!(from_yaml(&yaml, Path::new("x.yaml")).unwrap(), record);
    }
}

#[test]
fn shapes_serde_json_takes_but_the_schema_does_not_are_invalid() {
    let yaml = to_yaml(&example_record(&ExampleSpec::default())).unwrap();
    let edits = [
        (
            "  vram_fit:\n    verdict: not_applicable\n    reason: CPU-only run\n",
            "  vram_fit:\n  - not_applicable\n  - CPU-only run\n",
            "/resources/vram_fit",
        ),
        (
            "  flags:\n    noisy: false\n    incomplete: false\n    spill: false\n    prompt_cache: false\n",
            "  flags:\n  - false\n  - false\n  - false\n  - false\n",
            "/run/flags",
        ),
        ("  stop: converged\n", "  stop:\n    converged:\n", "/cells/0/stop"),
        ("schema_version: 1\n", "schema_version: 2\n", "/schema_version"),
        ("schema_version: 1\n", "schema_version: 1.0\n", "/schema_version"),
        ("  concurrency: 1\n", "  concurrency: 1.5\n", "/cells/0/concurrency"),
    ];
    for (from, to, field) in edits {
        assert!(yaml.contains(from), "{from:?}");
        let doc = yaml.replacen(from, to, 1);
        match from_yaml(&doc, Path::new("r.yaml")) {
            Err(RecordError::Invalid { problems, .. }) => assert!(
                problems.iter().any(|p| p.field.starts_with(field)),
                "{to:?}: {problems:?}"
            ),
            other => panic!("{to:?}: expected schema problems, got {other:?}"),
        }
    }
}

#[test]
fn broken_yaml_in_a_written_record_names_its_line() {
    let yaml = to_yaml(&example_record(&ExampleSpec::default())).unwrap();
    let at = yaml.lines().position(|l| l.starts_with("cells:")).unwrap() + 2;
    let mut lines: Vec<&str> = yaml.lines().collect();
    lines.insert(at - 1, "  bad: [unclosed");
    let doc = lines.join("\n") + "\n";
    match from_yaml(&doc, Path::new("runs/r.yaml")) {
        Err(e @ RecordError::Parse { line: Some(l), .. }) => {
            assert!(
                (at as u64..=at as u64 + 2).contains(&l),
                "line {l} for {at}"
            );
            assert!(
                e.to_string().starts_with(&format!("runs/r.yaml:{l}: ")),
                "{e}"
            );
        }
        other => panic!("expected a parse error with a line, got {other:?}"),
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
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A mutated record is either rejected, or read as a record that
    /// satisfies the schema and survives writing and reading back.
    #[test]
    fn mutated_records_are_rejected_or_read_as_valid_records(
        edits in prop::collection::vec(edit(), 1..4)
    ) {
        thread_local!(static BASE: String = small_record_yaml());
        let doc = BASE.with(|base| apply(base, &edits));
        if let Ok(record) = from_yaml(&doc, Path::new("r.yaml")) {
            let problems = validate_record(&record);
            prop_assert!(problems.is_empty(), "schema problems {problems:?} in\n{doc}");
            let again = from_yaml(&to_yaml(&record).unwrap(), Path::new("r.yaml")).unwrap();
            prop_assert_eq!(&again, &record);
        }
    }
}

#[test]
fn sidecars_stay_beside_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("r.samples.jsonl"), "{}").unwrap();
    std::fs::write(tmp.path().join("secret"), "x").unwrap();
    let rec = dir.join("r.yaml");
    assert_eq!(
        sidecar_path(&rec, Some("r.samples.jsonl")),
        Some(dir.join("r.samples.jsonl"))
    );
    for bad in [
        "../secret",
        "/etc/passwd",
        "..",
        ".",
        "",
        "sub/x",
        "missing.jsonl",
    ] {
        assert_eq!(sidecar_path(&rec, Some(bad)), None, "{bad}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(tmp.path().join("secret"), dir.join("link")).unwrap();
        assert_eq!(sidecar_path(&rec, Some("link")), None);
    }
}
