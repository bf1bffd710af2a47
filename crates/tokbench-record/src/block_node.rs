//! The fast reader's parse tree: a lightweight, mostly borrowed YAML node.
//!
//! [`crate::block_yaml`] builds a [`Node`] that borrows keys and unescaped
//! strings from the document, so a record is read without the `String`
//! allocations and `BTreeMap` inserts of a `serde_json::Value`. The typed
//! [`crate::Record`] is deserialized straight from it
//! ([`crate::block_de`]); [`Node::into_value`] gives the
//! `serde_json::Value` that serde-saphyr would give for the same document,
//! for schema validation and error messages.

use std::borrow::Cow;

use serde_json::Value;

/// One YAML node in the subset the fast reader accepts. Numbers are
/// resolved as `serde_json::Number` resolves them: non-negative integers
/// are [`Node::U64`], negative ones [`Node::I64`], floats are finite.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    /// `~`, `null`, the empty scalar, …
    Null,
    /// `true` / `false` and the YAML 1.1 boolean words.
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// A finite float.
    F64(f64),
    /// A string, borrowed from the document unless it had escapes.
    Str(Cow<'a, str>),
    /// A block sequence or `[]`.
    Seq(Vec<Node<'a>>),
    /// A block mapping or `{}`, in document order, keys unique.
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl Node<'_> {
    /// An integer, as `serde_json::Number` stores it (`-0` is unsigned).
    pub(crate) fn from_i64(n: i64) -> Self {
        u64::try_from(n).map_or(Node::I64(n), Node::U64)
    }

    /// The `serde_json::Value` of this node (what serde-saphyr gives for
    /// the same text).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::U64(n) => Value::from(n),
            Node::I64(n) => Value::from(n),
            Node::F64(f) => Value::from(f),
            Node::Str(s) => Value::String(s.into_owned()),
            Node::Seq(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
                    .collect(),
            ),
        }
    }
}

impl Node<'static> {
    /// The node of a scalar `serde_json::Value` (as serde-saphyr resolves a
    /// one-scalar document); `None` for arrays and objects.
    pub(crate) fn from_scalar_value(value: Value) -> Option<Self> {
        Some(match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Node::U64(u)
                } else if let Some(i) = n.as_i64() {
                    Node::I64(i)
                } else {
                    Node::F64(n.as_f64()?)
                }
            }
            Value::String(s) => Node::Str(Cow::Owned(s)),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }
}
