//! Differential tests: whenever the fast reader accepts a document, it must
//! give exactly what serde-saphyr gives, and it must never accept what
//! serde-saphyr rejects.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::parse;
use crate::fixture::{example_record, ExampleSpec};
use crate::to_yaml;

/// The fast result, after checking it against serde-saphyr.
fn check(doc: &str) -> Option<Value> {
    let reference = serde_saphyr::from_str::<Value>(doc);
    match (parse(doc), reference) {
        (Some(fast), Ok(slow)) => {
            assert_eq!(fast, slow, "disagreement on {doc:?}");
            Some(fast)
        }
        (Some(fast), Err(e)) => {
            panic!("accepted what serde-saphyr rejects ({e}): {doc:?} gave {fast}")
        }
        (None, _) => None,
    }
}

#[test]
fn records_written_by_tokbench_take_the_fast_path_and_agree() {
    let specs = [
        ExampleSpec::default(),
        ExampleSpec {
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
        },
    ];
    for spec in specs {
        let yaml = to_yaml(&example_record(&spec)).unwrap();
        let value = check(&yaml).expect("a record written by tokbench takes the fast path");
        assert_eq!(value["model"]["variant"], json!(spec.variant));
        assert_eq!(value["system"]["rig_name"], json!(spec.rig));
    }
}

#[test]
fn structure_comments_and_empty_values() {
    let doc = "# header\n---\na: 1\n";
    assert_eq!(check(doc), None, "document markers are declined");
    let doc = "\
# header
a: 1   # trailing comment
b:
  - x
  -   z # c
  -
    k: v
  - k: 1
    l:
    - 2
    m: {}
c:
- \"q\" # c
- 'it''s'
-
d: []
\"n\": 3
e:

f: null
";
    let v = check(doc).expect("fast path");
    assert_eq!(
        v,
        json!({"a": 1, "b": ["x", "z", {"k": "v"}, {"k": 1, "l": [2], "m": {}}],
               "c": ["q", "it's", null], "d": [], "n": 3, "e": null, "f": null})
    );
}

#[test]
fn declines_what_it_does_not_read() {
    for doc in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a: |\n  text\n",
        "a: >-\n  text\n",
        "a: \"multi\n  line\"\n",
        "a: plain\n  continued\n",
        "a:\tb\n",
        "a: 1\r\nb: 2\r\n",
        "a: 1\na: 2\n",
        "? a\n: 1\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 1\n- b\n",
        "a:\n  b: 1\n   c: 2\n",
        "- - a\n",
        "a: - b\n",
        "<<: {}\n",
        "yes: 1\n",
        "a: \"\\q\"\n",
        "a: \"\\x+1\"\n",
        "a: \u{85}\n",
        "just a scalar\n",
        "",
    ] {
        assert_eq!(parse(doc), None, "should decline {doc:?}");
    }
}

#[test]
fn plain_scalars_resolve_like_serde_saphyr() {
    let cases: &[(&str, Value)] = &[
        ("12", json!(12)),
        ("-3", json!(-3)),
        ("0", json!(0)),
        ("-0", json!(0)),
        ("1.5", json!(1.5)),
        ("-2.5e-3", json!(-0.0025)),
        ("1e5", json!(100000.0)),
        ("98.08949220713926", json!(98.08949220713926)),
        ("18446744073709551615", json!(u64::MAX)),
        ("true", json!(true)),
        ("False", json!(false)),
        ("on", json!(true)),
        ("N", json!(false)),
        ("~", Value::Null),
        ("NULL", Value::Null),
        ("nULL", json!("nULL")),
        ("converged", json!("converged")),
        ("/tmp/x.gguf", json!("/tmp/x.gguf")),
        ("--scale", json!("--scale")),
        ("0.6.0-dev", json!("0.6.0-dev")),
        ("620e7b44d862", json!("620e7b44d862")),
        ("2026-11-22", json!("2026-11-22")),
        ("0x1F", json!(31)),
        ("1_000", json!(1000)),
        ("007", json!(7.0)),
        ("+1", json!(1)),
        (".5", json!(0.5)),
        ("inf", json!("inf")),
        ("http://127.0.0.1:8080", json!("http://127.0.0.1:8080")),
        ("a#b", json!("a#b")),
        (
            "GNU 12.2.0 for Linux x86_64",
            json!("GNU 12.2.0 for Linux x86_64"),
        ),
        ("héllo wörld", json!("héllo wörld")),
        ("135M", json!("135M")),
        ("0123abc", json!("0123abc")),
        ("6.1.0-28-amd64", json!("6.1.0-28-amd64")),
        ("1n", json!("1n")),
        ("0b101", json!(5)),
        ("0o17", json!(15)),
        ("0xfF", json!(255)),
        ("12e3", json!(12000.0)),
    ];
    for (text, want) in cases {
        let doc = format!("k: {text}\n");
        let reference: Value = serde_saphyr::from_str(&doc).unwrap();
        assert_eq!(
            &reference["k"], want,
            "serde-saphyr reads {text:?} differently"
        );
        let fast = check(&doc).unwrap_or_else(|| panic!("declined {text:?}"));
        assert_eq!(&fast["k"], want, "{text:?}");
    }
    // Non-finite floats are an error for serde-saphyr: never accepted.
    for text in ["1e999", ".inf", "-.inf", ".nan"] {
        assert_eq!(check(&format!("k: {text}\n")), None, "{text}");
    }
}

/// Digit-led words are told apart from numbers without asking
/// serde-saphyr; the cases above check that it reads them the same way.
#[test]
fn digit_led_words_skip_the_fallback() {
    for t in [
        "135M",
        "0123abc",
        "6.1.0-28-amd64",
        "2026-11-22-a.jsonl",
        "1n",
    ] {
        assert!(super::digit_led_word(t), "{t}");
    }
    for t in [
        "12e3",
        "0x1F",
        "0b1z",
        "0o7",
        "1_000",
        "12:30",
        "2026-11-22",
        "abc",
        "-1a",
    ] {
        assert!(!super::digit_led_word(t), "{t}");
    }
}

#[test]
fn double_quoted_escapes() {
    let doc = "k: \"a\\\"b\\\\c\\n\\t\\x41\\u00e9\\U0001F600\\/\\0\\_\"\n";
    let v = check(doc).expect("fast path");
    assert_eq!(v["k"], json!("a\"b\\c\n\tAé😀/\0\u{a0}"));
}

/// A small record-like document, for mutations.
const BASE: &str = "\
# record
schema_version: 1
run:
  id: 2026-11-22-x
  command_line:
  - tokbench
  - --scale
  - \"0.1\"
  flags:
    noisy: false
  notes: []
cells:
- shape: chat
  concurrency: 1
  metrics:
    \"n\": 6
    mean: 14.92537313432836
    errors_by_kind: {}
- shape: rag
  concurrency: 2
  skipped: null
";

/// One edit of a line-based mutation.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize),
    Indent(usize, usize),
    Dedent(usize),
    Append(usize, String),
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("- x".to_owned()),
        Just("k: v".to_owned()),
        Just("# c".to_owned()),
        Just(String::new()),
        Just("-".to_owned()),
        Just("k:".to_owned()),
        Just(" # c".to_owned()),
        Just(": x".to_owned()),
        Just(" &a".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just(" x".to_owned()),
        "[ -~]{0,8}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..30usize, "[ ]{0,6}", fragment()).prop_map(|(i, sp, f)| Edit::Insert(i, sp + &f)),
        (0..30usize).prop_map(Edit::Delete),
        (0..30usize, 1..4usize).prop_map(|(i, n)| Edit::Indent(i, n)),
        (0..30usize).prop_map(Edit::Dedent),
        (0..30usize, fragment()).prop_map(|(i, f)| Edit::Append(i, f)),
    ]
}

fn apply(edits: &[Edit]) -> String {
    let mut lines: Vec<String> = BASE.lines().map(str::to_owned).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Insert(i, s) => lines.insert(i % (n + 1).min(lines.len() + 1), s.clone()),
            Edit::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::Indent(i, k) if !lines.is_empty() => lines[i % n].insert_str(0, &" ".repeat(*k)),
            Edit::Dedent(i) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                if l.starts_with(' ') {
                    l.remove(0);
                }
            }
            Edit::Append(i, s) if !lines.is_empty() => lines[i % n].push_str(s),
            _ => {}
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_documents_agree_or_are_declined(edits in prop::collection::vec(edit(), 1..4)) {
        check(&apply(&edits));
    }

    #[test]
    fn plain_scalars_agree(text in "[-+._0-9a-fA-FxXoOnNyYsSlLuU:~#' /]{1,10}") {
        check(&format!("k: {text}\nl:\n- {text}\n"));
    }

    #[test]
    fn quoted_scalars_agree(text in "[ -~é\u{85}\u{2028}😀]{0,12}") {
        check(&format!("k: \"{text}\"\nl: '{text}'\n"));
    }

    #[test]
    fn serialized_strings_agree(s in any::<String>(), t in "[ -~]{0,16}") {
        let map = BTreeMap::from([("a", vec![s.clone(), t.clone()]), ("b", vec![t])]);
        let doc = serde_saphyr::to_string(&map).unwrap();
        check(&doc);
    }
}

#[test]
fn printable_serialized_strings_take_the_fast_path() {
    for s in [
        "plain",
        "0.1",
        "yes",
        "a: b",
        "#x",
        "x #y",
        "it's",
        "\"q\"",
        "tab\there",
        "",
        "-",
    ] {
        let map = BTreeMap::from([("k", s)]);
        let doc = serde_saphyr::to_string(&map).unwrap();
        let v = check(&doc).unwrap_or_else(|| panic!("declined {doc:?}"));
        assert_eq!(v["k"], json!(s), "{doc:?}");
    }
}
