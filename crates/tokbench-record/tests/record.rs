//! Record round trips, validation and error reporting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::{
    from_yaml, json_schema, load_dirs, read_record, record_id, slug, to_yaml, validate_record,
    write_record, RecordError,
};

#[test]
fn example_record_is_schema_valid_and_round_trips() {
    let r = example_record(&ExampleSpec::default());
    assert!(validate_record(&r).is_empty(), "{:?}", validate_record(&r));
    let yaml = to_yaml(&r).unwrap();
    assert!(yaml.starts_with("# tokbench run record (schema_version 1)"));
    assert!(yaml.contains("decode_tok_s:"));
    let back = from_yaml(&yaml, Path::new("x.yaml")).unwrap();
    assert_eq!(back, r);
}

#[test]
fn committed_json_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/record.schema.json");
    let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("TOKBENCH_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/record.schema.json is stale: rerun with TOKBENCH_UPDATE_SCHEMA=1"
    );
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let text = "schema_version: 1\nrun:\n  id: x\n  bad: [unclosed\n";
    let err = from_yaml(text, Path::new("runs/broken.yaml")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("runs/broken.yaml:"), "{msg}");
    match err {
        RecordError::Parse { line: Some(l), .. } => assert!((3..=5).contains(&l), "line {l}"),
        other => panic!("expected a parse error with a line, got {other:?}"),
    }
}

#[test]
fn schema_violation_names_the_field() {
    let r = example_record(&ExampleSpec::default());
    let yaml = to_yaml(&r)
        .unwrap()
        .replace("concurrency: 1\n", "concurrency: one\n");
    let err = from_yaml(&yaml, Path::new("runs/r.yaml")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("runs/r.yaml"), "{msg}");
    assert!(msg.contains("/cells/0/concurrency"), "{msg}");
}

#[test]
fn missing_section_and_wrong_version_are_reported() {
    let err = from_yaml("schema_version: 1\n", Path::new("a.yaml")).unwrap_err();
    assert!(err.to_string().contains("run"), "{err}");
    let err = from_yaml("schema_version: 9\n", Path::new("a.yaml")).unwrap_err();
    assert!(err.to_string().contains("/schema_version"), "{err}");
    assert!(
        err.to_string().contains("version 9 is not supported"),
        "{err}"
    );
}

#[test]
fn write_is_atomic_and_named_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let r = example_record(&ExampleSpec::default());
    let path = write_record(dir.path(), &r).unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("{}.yaml", r.run.id)
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    assert_eq!(read_record(&path).unwrap(), r);
}

#[test]
fn failed_write_keeps_the_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = example_record(&ExampleSpec::default());
    let path = write_record(dir.path(), &r).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A directory where the temp file would go makes the write fail.
    let name = path.file_name().unwrap().to_str().unwrap();
    std::fs::create_dir(
        dir.path()
            .join(format!(".{name}.tmp-{}", std::process::id())),
    )
    .unwrap();
    let mut r2 = r.clone();
    r2.run.mode = "changed".into();
    assert!(write_record(dir.path(), &r2).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn load_dirs_keeps_good_records_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let r = example_record(&ExampleSpec::default());
    write_record(dir.path(), &r).unwrap();
    std::fs::create_dir(dir.path().join("rig2")).unwrap();
    std::fs::write(
        dir.path().join("rig2/bad.yaml"),
        "schema_version: 1\nrun: [\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let (good, bad) = load_dirs(&[dir.path().to_owned()]).unwrap();
    assert_eq!(good.len(), 1);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].to_string().contains("bad.yaml"), "{}", bad[0]);
}

#[test]
fn ids_and_slugs() {
    assert_eq!(slug("SmolLM2 135M Instruct"), "smollm2-135m-instruct");
    assert_eq!(slug("  --Q4_K_M.gguf--"), "q4-k-m.gguf");
    assert_eq!(
        record_id("2026-11-22", "gemma-3 270m", "llama.cpp", "a1B2"),
        "2026-11-22-gemma-3-270m-llama.cpp-a1b2"
    );
}

/// `CellStop::as_str` names each variant as the record does.
#[test]
fn cell_stop_names_match_the_record() {
    use tokbench_record::CellStop;
    for stop in [
        CellStop::Converged,
        CellStop::RequestCap,
        CellStop::TimeCap,
        CellStop::Fixed,
        CellStop::Interrupted,
        CellStop::Skipped,
    ] {
        assert_eq!(serde_json::to_value(stop).unwrap(), stop.as_str());
    }
}
