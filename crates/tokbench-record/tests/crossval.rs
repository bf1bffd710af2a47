//! Crossval records: round trip, validation, kind dispatch, committed
//! JSON Schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use tokbench_record::crossval_fixture::example_crossval;
use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::{
    crossval_json_schema, crossval_to_yaml, from_yaml, from_yaml_any, load_dirs, load_dirs_all,
    read_crossval, validate_crossval_record, write_crossval, write_record, AnyRecord, RecordError,
};

#[test]
fn example_crossval_is_schema_valid_and_round_trips() {
    let r = example_crossval("2026-11-22-crossval-x-abc123", &ExampleSpec::default());
    let problems = validate_crossval_record(&r);
    assert!(problems.is_empty(), "{problems:?}");
    let yaml = crossval_to_yaml(&r).unwrap();
    assert!(yaml.starts_with("# tokbench crossval record (schema_version 1)"));
    assert!(yaml.contains("kind: crossval"));
    match from_yaml_any(&yaml, Path::new("x.yaml")).unwrap() {
        AnyRecord::Crossval(back) => assert_eq!(*back, r),
        other => panic!("read back as a {:?} record", other.kind()),
    }
}

#[test]
fn committed_crossval_json_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/crossval-record.schema.json");
    let generated = serde_json::to_string_pretty(&crossval_json_schema()).unwrap() + "\n";
    if std::env::var_os("TOKBENCH_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/crossval-record.schema.json is stale: rerun with TOKBENCH_UPDATE_SCHEMA=1"
    );
}

#[test]
fn crossval_schema_violation_names_file_and_field() {
    let r = example_crossval("cv", &ExampleSpec::default());
    let yaml = crossval_to_yaml(&r)
        .unwrap()
        .replace("kind: near_tie", "kind: close_call");
    let err = from_yaml_any(&yaml, Path::new("runs/cv.yaml")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("runs/cv.yaml"), "{msg}");
    // An optional field is `anyOf [T, null]`: the problem is named at it.
    assert!(msg.contains("/prompts/1/divergence"), "{msg}");
    assert!(msg.contains("close_call"), "{msg}");
}

#[test]
fn a_crossval_record_is_not_read_as_a_run_record_and_vice_versa() {
    let cv = crossval_to_yaml(&example_crossval("cv", &ExampleSpec::default())).unwrap();
    let err = from_yaml(&cv, Path::new("runs/cv.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .contains("crossval record, not a run record"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let run_path = write_record(dir.path(), &example_record(&ExampleSpec::default())).unwrap();
    match read_crossval(&run_path).unwrap_err() {
        RecordError::Parse { message, .. } => assert!(message.contains("run record"), "{message}"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn loading_a_folder_keeps_the_kinds_apart() {
    let dir = tempfile::tempdir().unwrap();
    write_record(dir.path(), &example_record(&ExampleSpec::default())).unwrap();
    let cv_path = write_crossval(
        &dir.path().join("sub"),
        &example_crossval("cv-1", &ExampleSpec::default()),
    )
    .unwrap();
    assert!(cv_path.ends_with("sub/cv-1.yaml"));
    let all = load_dirs_all(&[dir.path().to_owned()]).unwrap();
    assert_eq!(
        (all.runs.len(), all.crossvals.len(), all.bad.len()),
        (1, 1, 0)
    );
    assert_eq!(all.crossvals[0].1.run.id, "cv-1");
    let (runs, bad) = load_dirs(&[dir.path().to_owned()]).unwrap();
    assert_eq!(
        (runs.len(), bad.len()),
        (1, 0),
        "a crossval record is not a bad run record"
    );
}
