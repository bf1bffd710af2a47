//! Golden files: round trip, atomic write, errors naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{out, seq, step};
use tokbench_crossval::{
    read_golden, write_golden, CrossvalError, Golden, TokenStep, GOLDEN_VERSION,
};

fn golden() -> Golden {
    let mut steps = seq(&[1, 2]);
    steps.push(step(3, &[(3, -0.25), (4, -1.5)]));
    steps.push(TokenStep {
        id: None,
        text: "ü \"quoted\"\n".to_owned(),
        logprob: Some(-0.125),
        top: vec![],
    });
    Golden {
        version: GOLDEN_VERSION,
        prompt_set: "smoke-10".to_owned(),
        prompt_set_sha256: "ab".repeat(32),
        tokens: 64,
        outputs: vec![out("p1", steps), out("p2", vec![])],
        source: "llama.cpp b6000, model.gguf, -ngl 99".to_owned(),
    }
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.json");
    let g = golden();
    write_golden(&path, &g).unwrap();
    assert_eq!(read_golden(&path).unwrap(), g);
    // Overwrite in place; no temporary file is left behind.
    let mut g2 = g.clone();
    g2.tokens = 128;
    write_golden(&path, &g2).unwrap();
    assert_eq!(read_golden(&path).unwrap(), g2);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["golden.json"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"));
    assert!(text.contains("\"prompt_set_sha256\""));
}

#[test]
fn malformed_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{\n  \"version\": 1,\n  \"prompt_set\": oops\n}\n").unwrap();
    let err = read_golden(&path).unwrap_err();
    let CrossvalError::Parse { path: p, line, .. } = &err else {
        panic!("not a parse error: {err:?}");
    };
    assert_eq!((p.as_path(), *line), (path.as_path(), 3));
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{}:3:", path.display())), "{msg}");
    assert!(!msg.contains("at line"), "location once: {msg}");
}

#[test]
fn missing_field_is_a_parse_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.json");
    std::fs::write(&path, "{\"version\": 1, \"prompt_set\": \"x\"}").unwrap();
    let msg = read_golden(&path).unwrap_err().to_string();
    assert!(msg.contains("short.json:1:"), "{msg}");
    assert!(msg.contains("prompt_set_sha256"), "{msg}");
}

#[test]
fn other_version_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.json");
    std::fs::write(&path, "{\"version\": 2, \"something\": \"else\"}").unwrap();
    let err = read_golden(&path).unwrap_err();
    assert!(matches!(
        err,
        CrossvalError::UnsupportedVersion {
            found: 2,
            supported: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("v2.json"));
    let gone = dir.path().join("nope.json");
    let err = read_golden(&gone).unwrap_err();
    assert!(matches!(err, CrossvalError::Io { .. }));
    assert!(err.to_string().starts_with(&gone.display().to_string()));
}

#[test]
fn write_into_missing_folder_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/g.json");
    let err = write_golden(&path, &golden()).unwrap_err();
    assert!(matches!(err, CrossvalError::Io { .. }));
    assert!(err.to_string().contains("g.json"));
}
