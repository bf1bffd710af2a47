#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::*;

fn set(name: &str, values: &[&str]) -> (String, Vec<String>) {
    (
        name.to_owned(),
        values.iter().map(|v| (*v).to_owned()).collect(),
    )
}

fn labels(configs: &[Config]) -> Vec<String> {
    configs.iter().map(|c| c.label.clone()).collect()
}

fn yaml(text: &str) -> Result<Space, SweepError> {
    Space::from_yaml(text, Path::new("conf/sweep.yaml"))
}

fn yaml_err(text: &str) -> (usize, String) {
    match yaml(text).unwrap_err() {
        SweepError::File { line, message, .. } => (line, message),
        other => panic!("not a file error: {other}"),
    }
}

#[test]
fn cartesian_product_first_parameter_slowest() {
    let space = Space::from_sets(&[
        set("threads", &["1", "2"]),
        set("batch-size", &["64", "512"]),
        set("flash-attn", &["on", "off"]),
    ])
    .unwrap();
    let configs = space.configs();
    assert_eq!(configs.len(), 8);
    assert_eq!(space.grid_size(), 8);
    assert_eq!(configs[0].label, "threads=1, batch-size=64, flash-attn=on");
    assert_eq!(configs[1].label, "threads=1, batch-size=64, flash-attn=off");
    assert_eq!(configs[2].label, "threads=1, batch-size=512, flash-attn=on");
    assert_eq!(
        configs[7].label,
        "threads=2, batch-size=512, flash-attn=off"
    );
    assert_eq!(
        configs[5].values,
        [
            ("threads".to_owned(), "2".to_owned()),
            ("batch-size".to_owned(), "64".to_owned()),
            ("flash-attn".to_owned(), "off".to_owned()),
        ]
    );
    assert_eq!(configs[5].get("batch-size"), Some("64"));
    assert_eq!(configs[5].get("nope"), None);
}

#[test]
fn from_sets_errors() {
    let e = Space::from_sets(&[set("threads", &["1"]), set("threads", &["2"])]).unwrap_err();
    assert_eq!(
        e,
        SweepError::DuplicateParam {
            name: "threads".into()
        }
    );
    let e = Space::from_sets(&[]).unwrap_err();
    assert!(e.to_string().contains("no parameters"), "{e}");
    let e = Space::from_sets(&[set("threads", &[])]).unwrap_err();
    assert!(e.to_string().contains("has no values"), "{e}");
    let e = Space::from_sets(&[set("Bad Name", &["1"])]).unwrap_err();
    assert!(e.to_string().contains("\"Bad Name\""), "{e}");
    let many: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = Space::from_sets(&[set("a", &many), set("b", &many)]).unwrap_err();
    assert_eq!(e, SweepError::TooManyConfigs { count: 40_000 });
}

const FULL: &str = "\
params:
  threads: [1, 2]          # or a string list \"1-4+1\"
  cache-type-k: [f16, q8_0]
follow:
  cache-type-v: cache-type-k
skip:
  - {threads: \"1\", cache-type-k: q8_0}
configs:
  - {name: fast, set: {threads: \"2\", flash-attn: \"on\"}}
  - name: small
    set: {cache-type-k: q4_0}
";

#[test]
fn yaml_follow_skip_and_named_configs() {
    let space = yaml(FULL).unwrap();
    assert_eq!(space.params.len(), 2);
    let configs = space.configs();
    assert_eq!(
        labels(&configs),
        [
            "threads=1, cache-type-k=f16",
            "threads=2, cache-type-k=f16",
            "threads=2, cache-type-k=q8_0",
            "fast",
            "small",
        ]
    );
    assert_eq!(configs[2].get("cache-type-v"), Some("q8_0"));
    assert_eq!(configs[0].get("cache-type-v"), Some("f16"));
    assert_eq!(
        configs[3].values,
        [
            ("threads".to_owned(), "2".to_owned()),
            ("flash-attn".to_owned(), "on".to_owned()),
        ]
    );
    // A named configuration that sets the leader gets the follower too.
    assert_eq!(configs[4].get("cache-type-v"), Some("q4_0"));
}

#[test]
fn yaml_values_keep_their_text() {
    let space =
        yaml("params:\n  tau: [0.60, 0.75]\n  threads: \"1-3+1\"\n  fa: [on, off]\n  k: 4\n")
            .unwrap();
    let values: Vec<&[String]> = space.params.iter().map(|p| p.values.as_slice()).collect();
    assert_eq!(values[0], ["0.60", "0.75"]);
    assert_eq!(values[1], ["1", "2", "3"]);
    assert_eq!(values[2], ["on", "off"]);
    assert_eq!(values[3], ["4"]);
    let names: Vec<&str> = space.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["tau", "threads", "fa", "k"],
        "file order, not sorted"
    );
}

#[test]
fn yaml_named_configs_alone() {
    let space =
        yaml("configs:\n  - {name: a, set: {threads: 1}}\n  - {name: b, set: {threads: 2}}\n")
            .unwrap();
    assert_eq!(labels(&space.configs()), ["a", "b"]);
}

#[test]
fn yaml_errors_name_file_and_line() {
    let e = yaml("params:\n  threads: [1]\nfolow:\n  a: b\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("conf/sweep.yaml:3:") && e.contains("folow"),
        "{e}"
    );
    let (line, msg) = yaml_err("params:\n  threads: [1]\nfollow:\n  cache-type-v: cache-type-x\n");
    assert_eq!(line, 4);
    assert!(
        msg.contains("cache-type-x") && msg.contains("threads"),
        "{msg}"
    );
    let (line, msg) =
        yaml_err("params:\n  threads: [1, 2]\nskip:\n  - {threads: \"1\"}\n  - {thread: \"2\"}\n");
    assert_eq!(line, 5);
    assert!(msg.contains("skip names thread,"), "{msg}");
    let (line, msg) = yaml_err("params:\n  threads: [1, 2]\nskip:\n  - {threads: \"3\"}\n");
    assert_eq!(line, 4);
    assert!(msg.contains("no value \"3\""), "{msg}");
    let (line, msg) = yaml_err("params:\n  a: [1]\n  threads: \"8-1+1\"\n");
    assert_eq!(line, 3);
    assert!(
        msg.contains("threads: \"8-1+1\": the range ends before it starts"),
        "{msg}"
    );
    let (line, msg) = yaml_err("params:\n  threads: [1]\nfollow:\n  threads: threads\n");
    assert_eq!(line, 4);
    assert!(msg.contains("swept itself"), "{msg}");
    let (line, msg) =
        yaml_err("configs:\n  - {name: a, set: {t: 1}}\n  - {name: a, set: {t: 2}}\n");
    assert_eq!(line, 3);
    assert!(msg.contains("used twice"), "{msg}");
    let (line, _) = yaml_err("params:\n  threads: [1\n");
    assert!(line >= 2);
    let (line, msg) = yaml_err("configs:\n  - {name: a, set: {t: 1}, extra: 2}\n");
    assert_eq!(line, 2);
    assert!(msg.contains("extra"), "{msg}");
}

#[test]
fn everything_skipped_or_nothing_given_is_an_error() {
    let e = yaml("params:\n  threads: [1]\nskip:\n  - {threads: \"1\"}\n").unwrap_err();
    assert!(
        e.to_string().contains("every combination is skipped"),
        "{e}"
    );
    let e = yaml("{}\n").unwrap_err();
    assert!(e.to_string().contains("no parameters"), "{e}");
}

#[test]
fn validate_checks_hand_built_spaces() {
    let space = Space {
        params: vec![Param {
            name: "a".into(),
            values: vec!["1".into()],
        }],
        constraints: vec![Constraint::Follow {
            follower: "b".into(),
            leader: "c".into(),
        }],
        named: vec![],
    };
    assert!(matches!(
        space.validate(),
        Err(SweepError::BadConstraint { .. })
    ));
    assert!(Space::default().validate().is_err());
}

#[test]
fn read_yaml_names_an_unreadable_file() {
    let e = Space::read_yaml(Path::new("/nonexistent/sweep.yaml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/sweep.yaml: cannot read"),
        "{e}"
    );
    let dir = std::env::temp_dir().join(format!("tokbench-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sweep.yaml");
    std::fs::write(&path, "params:\n  threads: [1, 8-32*2]\n").unwrap();
    let space = Space::read_yaml(&path).unwrap();
    assert_eq!(space.params[0].values, ["1", "8", "16", "32"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
