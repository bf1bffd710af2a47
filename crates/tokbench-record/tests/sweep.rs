//! Sweep records: round trip, validation, kind dispatch, atomic writing,
//! committed JSON Schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use tokbench_record::crossval_fixture::example_crossval;
use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::sweep_fixture::example_sweep;
use tokbench_record::{
    document_kind, from_yaml, from_yaml_any, load_dirs, load_dirs_all, read_crossval, read_sweep,
    sweep_json_schema, sweep_to_yaml, validate_sweep_record, validate_sweep_value, write_crossval,
    write_record, write_sweep, AnyRecord, ConfigStatus, RecordError, RecordKind,
};

const ID: &str = "2026-11-23-sweep-smollm2-135m-instruct-5e6f70";

fn example() -> tokbench_record::SweepRecord {
    example_sweep(ID, &ExampleSpec::default())
}

#[test]
fn example_sweep_is_schema_valid_and_round_trips() {
    let r = example();
    let problems = validate_sweep_record(&r);
    assert!(problems.is_empty(), "{problems:?}");
    let yaml = sweep_to_yaml(&r).unwrap();
    assert!(yaml.starts_with("# tokbench sweep record (schema_version 1)"));
    assert!(yaml.contains("\nkind: sweep\n"), "{yaml}");
    match from_yaml_any(&yaml, Path::new("x.yaml")).unwrap() {
        AnyRecord::Sweep(back) => assert_eq!(*back, r),
        other => panic!("read back as {:?}", other.kind()),
    }
}

#[test]
fn example_sweep_covers_every_outcome() {
    let r = example();
    let statuses: Vec<ConfigStatus> = r.configs.iter().map(|c| c.status).collect();
    for s in [
        ConfigStatus::Measured,
        ConfigStatus::Dropped,
        ConfigStatus::Failed,
    ] {
        assert!(statuses.contains(&s), "{s:?}");
    }
    assert!(r.configs.iter().any(|c| c
        .reason
        .as_deref()
        .is_some_and(|w| w.starts_with("refused: "))));
    assert!(r
        .configs
        .iter()
        .any(|c| c.quality.as_ref().is_some_and(|q| !q.passed)));
    let measured: u64 = r.configs.iter().map(|c| c.requests).sum();
    assert_eq!(r.requests.measured, measured);
    // Every winner is an eligible configuration of the ranking.
    for o in &r.objectives {
        let w = o.winner.as_deref().unwrap();
        assert!(o.ranking.iter().any(|c| c.label == w && c.eligible), "{w}");
    }
}

#[test]
fn document_kind_names_the_three_kinds() {
    let kind = |v: serde_json::Value| document_kind(&v);
    assert_eq!(
        kind(serde_json::json!({"kind": "sweep"})),
        RecordKind::Sweep
    );
    assert_eq!(
        kind(serde_json::json!({"kind": "crossval"})),
        RecordKind::Crossval
    );
    assert_eq!(
        kind(serde_json::json!({"schema_version": 1})),
        RecordKind::Run
    );
    let value = serde_json::to_value(example()).unwrap();
    assert_eq!(document_kind(&value), RecordKind::Sweep);
}

#[test]
fn committed_sweep_json_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sweep-record.schema.json");
    let generated = serde_json::to_string_pretty(&sweep_json_schema()).unwrap() + "\n";
    if std::env::var_os("TOKBENCH_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/sweep-record.schema.json is stale: rerun with TOKBENCH_UPDATE_SCHEMA=1"
    );
}

#[test]
fn sweep_schema_violation_names_file_and_field() {
    let yaml = sweep_to_yaml(&example())
        .unwrap()
        .replace("status: dropped", "status: abandoned");
    let err = from_yaml_any(&yaml, Path::new("runs/sw.yaml")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("runs/sw.yaml"), "{msg}");
    assert!(msg.contains("/configs/2/status"), "{msg}");
    assert!(msg.contains("abandoned"), "{msg}");
}

#[test]
fn invalid_values_are_rejected_with_their_field() {
    let mut value = serde_json::to_value(example()).unwrap();
    value["objectives"][0]["ranking"][1]["median"] = serde_json::json!("fast");
    value["requests"]
        .as_object_mut()
        .unwrap()
        .remove("exhaustive");
    let problems = validate_sweep_value(&value);
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert!(
        fields.contains(&"/objectives/0/ranking/1/median"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.field == "/requests" && p.message.contains("exhaustive")),
        "{problems:?}"
    );
    value["schema_version"] = serde_json::json!(2);
    let problems = validate_sweep_value(&value);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("version 2 is not supported"));
}

#[test]
fn kinds_are_not_read_as_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let sw = write_sweep(dir.path(), &example()).unwrap();
    assert_eq!(sw, dir.path().join(format!("{ID}.yaml")));
    assert_eq!(read_sweep(&sw).unwrap(), example());
    let text = std::fs::read_to_string(&sw).unwrap();
    let err = from_yaml(&text, &sw).unwrap_err();
    assert!(
        err.to_string().contains("sweep record, not a run record"),
        "{err}"
    );
    match read_crossval(&sw).unwrap_err() {
        RecordError::Parse { message, .. } => {
            assert_eq!(message, "this is a sweep record, not a crossval record");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    let cv = write_crossval(dir.path(), &example_crossval("cv", &ExampleSpec::default())).unwrap();
    let run = write_record(dir.path(), &example_record(&ExampleSpec::default())).unwrap();
    for (path, found) in [(cv, "crossval"), (run, "run")] {
        let err = read_sweep(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("this is a {found} record, not a sweep record")),
            "{err}"
        );
    }
}

#[test]
fn write_sweep_refuses_an_unreadable_record_and_keeps_the_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sweep(dir.path(), &example()).unwrap();
    let good = std::fs::read_to_string(&path).unwrap();
    let mut bad = example();
    bad.run.duration_s = f64::NAN;
    match write_sweep(dir.path(), &bad).unwrap_err() {
        RecordError::Invalid { path: p, problems } => {
            assert_eq!(p, path);
            assert!(
                problems.iter().any(|p| p.field == "/run/duration_s"),
                "{problems:?}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
    for id in ["../escape", "", ".hidden", "a\\b"] {
        let mut bad = example();
        bad.run.id = id.into();
        match write_sweep(dir.path(), &bad).unwrap_err() {
            RecordError::Invalid { problems, .. } => assert_eq!(problems[0].field, "/run/id"),
            other => panic!("{id}: expected Invalid, got {other:?}"),
        }
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
}

#[test]
fn loading_a_folder_keeps_sweeps_apart_from_runs() {
    let dir = tempfile::tempdir().unwrap();
    write_record(dir.path(), &example_record(&ExampleSpec::default())).unwrap();
    write_sweep(&dir.path().join("sweeps"), &example()).unwrap();
    write_crossval(
        dir.path(),
        &example_crossval("cv-1", &ExampleSpec::default()),
    )
    .unwrap();
    let all = load_dirs_all(&[dir.path().to_owned()]).unwrap();
    assert_eq!(
        (
            all.runs.len(),
            all.crossvals.len(),
            all.sweeps.len(),
            all.bad.len()
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(all.sweeps[0].1.run.id, ID);
    let (runs, bad) = load_dirs(&[dir.path().to_owned()]).unwrap();
    assert_eq!(
        (runs.len(), bad.len()),
        (1, 0),
        "a sweep record is not a bad run record"
    );
}
