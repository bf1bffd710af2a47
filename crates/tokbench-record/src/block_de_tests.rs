//! The parse-tree deserializer on its own: it gives what
//! `serde_json::from_value` gives for the same document, except where it
//! is deliberately stricter (shapes the record's JSON Schema rejects).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::DeError;
use crate::block_yaml::parse_node;
use crate::metrics::ErrorKind;
use crate::schema::CellStop;
use crate::system::VramFit;

/// `T` from the fast reader's tree of `doc` (which must take the fast path).
fn de<'a, T: Deserialize<'a>>(doc: &'a str) -> Result<T, DeError> {
    T::deserialize(parse_node(doc).expect("fast path"))
}

/// `T` via `serde_json::Value`, the reference.
fn via_value<T: DeserializeOwned>(doc: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_saphyr::from_str::<Value>(doc).expect("valid YAML"))
}

/// Both succeed with the same value, or both fail; returns the value.
fn agree<T: DeserializeOwned + PartialEq + Debug>(doc: &str) -> Option<T> {
    match (de::<T>(doc), via_value::<T>(doc)) {
        (Ok(fast), Ok(slow)) => {
            assert_eq!(fast, slow, "{doc:?}");
            Some(fast)
        }
        (Err(_), Err(_)) => None,
        (fast, slow) => panic!("disagreement on {doc:?}: {fast:?} vs {slow:?}"),
    }
}

#[derive(Debug, PartialEq, Deserialize)]
struct Opts {
    a: Option<u64>,
    #[serde(default)]
    b: Vec<String>,
    c: Option<String>,
}

#[test]
fn options_null_and_defaults() {
    let o: Opts = agree("a: null\nc: x\n").unwrap();
    assert_eq!(
        o,
        Opts {
            a: None,
            b: vec![],
            c: Some("x".into())
        }
    );
    let o: Opts = agree("a: 3\nb:\n- p\n- q\n").unwrap();
    assert_eq!(o.a, Some(3));
    assert_eq!(o.b, ["p", "q"]);
    assert_eq!(o.c, None);
    let o: Opts = agree("a: ~\nc:\n").unwrap();
    assert_eq!((o.a, o.c), (None, None));
    // A non-option field does not take null.
    assert!(agree::<Opts>("b: null\n").is_none());
    assert!(de::<Opts>("b: null\n").is_err());
}

#[derive(Debug, PartialEq, Deserialize)]
struct Tagged {
    fit: VramFit,
}

#[test]
fn internally_tagged_enum() {
    let t: Tagged =
        agree("fit:\n  verdict: spill\n  delta_bytes: 1\n  model_bytes: 2\n  message: m\n")
            .unwrap();
    assert_eq!(
        t.fit,
        VramFit::Spill {
            delta_bytes: 1,
            model_bytes: 2,
            message: "m".into()
        }
    );
    let t: Tagged = agree("fit:\n  reason: cpu\n  verdict: not_applicable\n").unwrap();
    assert_eq!(
        t.fit,
        VramFit::NotApplicable {
            reason: "cpu".into()
        }
    );
    assert!(agree::<Tagged>("fit:\n  verdict: nope\n  reason: x\n").is_none());
    assert!(agree::<Tagged>("fit:\n  verdict: fit\n  delta_bytes: 1\n").is_none());
    assert!(
        agree::<Tagged>("fit:\n  verdict: fit\n  delta_bytes: -1\n  model_bytes: 2\n").is_none()
    );
    // The tag is a string, not a variant index.
    assert!(agree::<Tagged>("fit:\n  verdict: 0\n  delta_bytes: 1\n  model_bytes: 2\n").is_none());
}

#[test]
fn stricter_than_serde_json_where_the_schema_is() {
    // serde_json takes a tagged enum as `[tag, fields…]`, a unit variant as
    // `{variant: null}` and a struct as a sequence of its fields; the
    // schema takes none of them.
    let doc = "fit:\n- fit\n- 1\n- 2\n";
    assert!(via_value::<Tagged>(doc).is_ok());
    assert!(de::<Tagged>(doc).is_err());
    let doc = "stop:\n  converged:\n";
    assert!(via_value::<Stop>(doc).is_ok());
    assert!(de::<Stop>(doc).is_err());
    let doc = "- 3\n- []\n- x\n";
    assert!(via_value::<Opts>(doc).is_ok());
    assert!(de::<Opts>(doc).is_err());
}

#[derive(Debug, PartialEq, Deserialize)]
struct Stop {
    stop: CellStop,
}

#[derive(Debug, PartialEq, Deserialize)]
enum External {
    Unit,
    New(u64),
    Tuple(u64, String),
    Struct { x: f64 },
}

#[test]
fn externally_tagged_enums() {
    let s: Stop = agree("stop: request_cap\n").unwrap();
    assert_eq!(s.stop, CellStop::RequestCap);
    assert!(agree::<Stop>("stop: Converged\n").is_none());
    assert!(agree::<Stop>("stop: 1\n").is_none());
    assert!(agree::<Stop>("stop: []\n").is_none());
    assert_eq!(
        agree::<Vec<External>>("- Unit\n").unwrap(),
        [External::Unit]
    );
    assert_eq!(
        agree::<Vec<External>>("- New: 7\n- Tuple:\n  - 1\n  - a\n- Struct:\n    x: 2\n").unwrap(),
        [
            External::New(7),
            External::Tuple(1, "a".into()),
            External::Struct { x: 2.0 }
        ]
    );
    assert!(agree::<Vec<External>>("- New\n").is_none());
    assert!(agree::<Vec<External>>("- New: 1\n  Unit:\n").is_none());
    assert!(agree::<Vec<External>>("- Tuple:\n  - 1\n  - a\n  - b\n").is_none());
}

#[test]
fn map_keys_and_values() {
    let m: BTreeMap<ErrorKind, u64> = agree("stall: 2\nhttp_status: 1\n").unwrap();
    assert_eq!(
        m,
        BTreeMap::from([(ErrorKind::HttpStatus, 1), (ErrorKind::Stall, 2)])
    );
    assert!(agree::<BTreeMap<ErrorKind, u64>>("nope: 1\n").is_none());
    let m: BTreeMap<String, String> = agree("a: x\n\"b c\": 'y'\n").unwrap();
    assert_eq!(m["b c"], "y");
    assert!(agree::<BTreeMap<String, String>>("a: 1\n").is_none());
    let doc = "a: [1, 2]\n";
    assert!(parse_node(doc).is_none(), "flow lists are not read fast");
    let doc = "a:\n- 1\n- -2\n- 2.5\n- x\n- \"e\\n\"\n- null\n- true\n- {}\nb: []\n";
    let v: Value = agree(doc).unwrap();
    assert_eq!(
        v,
        json!({"a": [1, -2, 2.5, "x", "e\n", null, true, {}], "b": []})
    );
}

#[derive(Debug, PartialEq, Deserialize)]
struct Numbers {
    f: f64,
    u: u64,
    i: i64,
    s: u32,
}

#[test]
fn numbers_convert_like_serde_json() {
    let n: Numbers = agree("f: 3\nu: 4\ni: -5\ns: 6\n").unwrap();
    assert_eq!(n.f, 3.0);
    assert_eq!(n.i, -5);
    let n: Numbers = agree("f: -3\nu: 0\ni: 5\ns: 0\n").unwrap();
    assert_eq!((n.f, n.u, n.i), (-3.0, 0, 5));
    // A float never fits an integer field, not even an integral one.
    for doc in [
        "f: 1\nu: 1.5\ni: 0\ns: 0\n",
        "f: 1\nu: 1.0\ni: 0\ns: 0\n",
        "f: 1\nu: 1e3\ni: 0\ns: 0\n",
        "f: 1\nu: -1\ni: 0\ns: 0\n",
        "f: 1\nu: 1\ni: 0\ns: 4294967296\n",
        "f: 1\nu: 1\ni: 9223372036854775808\ns: 0\n",
        "f: x\nu: 1\ni: 0\ns: 0\n",
        "f: 1\nu: \"1\"\ni: 0\ns: 0\n",
        "f: 1\nu: true\ni: 0\ns: 0\n",
    ] {
        assert!(agree::<Numbers>(doc).is_none(), "{doc:?}");
    }
}

#[derive(Debug, Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    plain: Cow<'a, str>,
    #[serde(borrow)]
    quoted: Cow<'a, str>,
    #[serde(borrow)]
    escaped: Cow<'a, str>,
    #[serde(borrow)]
    doubled: Cow<'a, str>,
}

#[test]
fn strings_are_borrowed_unless_unescaped() {
    let doc = "plain: word\nquoted: \"a: b\"\nescaped: \"x\\ty\"\ndoubled: 'it''s'\n";
    let b: Borrowed<'_> = de(doc).unwrap();
    assert!(matches!(b.plain, Cow::Borrowed("word")), "{:?}", b.plain);
    assert!(matches!(b.quoted, Cow::Borrowed("a: b")), "{:?}", b.quoted);
    assert!(
        matches!(&b.escaped, Cow::Owned(s) if s == "x\ty"),
        "{:?}",
        b.escaped
    );
    assert!(
        matches!(&b.doubled, Cow::Owned(s) if s == "it's"),
        "{:?}",
        b.doubled
    );
    // A `&str` field can only take a string that needs no unescaping.
    #[derive(Debug, Deserialize)]
    struct S<'a> {
        s: &'a str,
    }
    assert_eq!(de::<S<'_>>("s: 'abc'\n").unwrap().s, "abc");
    assert!(de::<S<'_>>("s: \"a\\nb\"\n").is_err());
    // Keys are borrowed too, and quoted keys unescaped.
    let m: BTreeMap<&str, u64> = de("a: 1\n\"b\": 2\n").unwrap();
    assert_eq!(m, BTreeMap::from([("a", 1), ("b", 2)]));
}

#[test]
fn unit_newtype_tuple_and_ignored() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrap(u64);
    #[derive(Debug, PartialEq, Deserialize)]
    struct Unit;
    #[derive(Debug, PartialEq, Deserialize)]
    struct All {
        w: Wrap,
        u: (),
        unit: Unit,
        t: (u64, String),
    }
    let doc = "w: 3\nu:\nunit: ~\nt:\n- 1\n- a\nextra:\n  deep:\n  - x\n";
    let a: All = agree(doc).unwrap();
    assert_eq!(a.w, Wrap(3));
    assert_eq!(a.t, (1, "a".into()));
    assert!(agree::<All>("w: 3\nu: 1\nunit:\nt:\n- 1\n- a\n").is_none());
    assert!(agree::<All>("w: 3\nu:\nunit:\nt:\n- 1\n").is_none());
    assert!(agree::<All>("w: 3\nu:\nunit:\nt:\n- 1\n- a\n- b\n").is_none());
}

#[test]
fn errors_read_like_serde_errors() {
    let e = de::<Numbers>("f: 1\nu: 1.5\ni: 0\ns: 0\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid type: floating point `1.5`, expected u64"
    );
    let e = de::<Numbers>("f: 1\nu: 1\ni: 0\n").unwrap_err();
    assert_eq!(e.to_string(), "missing field `s`");
}

#[test]
fn large_mappings_still_decline_duplicate_keys() {
    let mut doc: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
    let m: BTreeMap<String, u64> = agree(&doc).unwrap();
    assert_eq!(m.len(), 100);
    for dup in ["k3: 0\n", "k99: 0\n", "\"k50\": 0\n"] {
        let with = format!("{doc}{dup}");
        assert!(parse_node(&with).is_none(), "{dup:?}");
        assert!(serde_saphyr::from_str::<Value>(&with).is_err(), "{dup:?}");
    }
    doc.push_str("k100: 0\n");
    assert!(parse_node(&doc).is_some());
}
