//! `serde::Deserializer` for the fast reader's [`Node`] tree, so a record
//! is deserialized without building a `serde_json::Value` first.
//!
//! It follows `serde_json::Value`'s deserializer: numbers visit as
//! `u64`/`i64`/`f64` and the primitive visitors convert or reject them
//! (an integer fits an `f64` field, a float never fits an integer one);
//! borrowed strings visit as borrowed, unescaped ones as owned; `null` is
//! `None` for options; an enum is a string (unit variant) or a mapping with
//! one key (the variant, with its content).
//!
//! Where serde_json is more lenient than the record's JSON Schema, this
//! deserializer is strict, so that a document it accepts as a
//! [`crate::Record`] also satisfies the schema (see [`crate::from_yaml`],
//! which skips the schema pass when it does): a struct must be a mapping
//! (serde_json also takes a sequence of the fields in order), an internally
//! tagged enum must be a mapping (serde_json also takes `[tag, fields…]`),
//! a unit variant must be a plain string (serde_json also takes
//! `{variant: null}`) and map keys are only strings (serde_json parses
//! numeric and boolean keys). Whatever it rejects goes
//! to the slow path, which gives the same result as before.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::vec;

use serde::de::{
    self, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use crate::block_node::Node;

/// Why a [`Node`] does not deserialize into the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DeError(String);

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

impl Node<'_> {
    /// What the node is, for type errors.
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Node::Null => Unexpected::Unit,
            Node::Bool(b) => Unexpected::Bool(*b),
            Node::U64(n) => Unexpected::Unsigned(*n),
            Node::I64(n) => Unexpected::Signed(*n),
            Node::F64(f) => Unexpected::Float(*f),
            Node::Str(s) => Unexpected::Str(s),
            Node::Seq(_) => Unexpected::Seq,
            Node::Map(_) => Unexpected::Map,
        }
    }

    /// A type error: this node where `exp` was expected.
    fn invalid_type(&self, exp: &dyn Expected) -> DeError {
        de::Error::invalid_type(self.unexpected(), exp)
    }
}

/// Whether `visitor` is serde's visitor for an internally tagged enum
/// (`#[serde(tag = "…")]`), which would also take a sequence whose first
/// element is the tag. serde-derive names it `internally tagged enum NAME`
/// unless the type sets `#[serde(expecting = "…")]`.
fn is_internally_tagged<'de, V: Visitor<'de>>(visitor: &V) -> bool {
    struct Expecting<'a, 'de, V>(&'a V, PhantomData<&'de ()>);
    impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, 'de, V> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.expecting(f)
        }
    }
    Expecting(visitor, PhantomData)
        .to_string()
        .starts_with("internally tagged enum ")
}

/// Visits `items` as a sequence; every item must be consumed.
fn visit_seq<'de, V: Visitor<'de>>(items: Vec<Node<'de>>, visitor: V) -> Result<V::Value, DeError> {
    let len = items.len();
    let mut access = SeqDe {
        iter: items.into_iter(),
    };
    let value = visitor.visit_seq(&mut access)?;
    if access.iter.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(
            len,
            &"fewer elements in sequence",
        ))
    }
}

/// Visits `entries` as a mapping; every entry must be consumed.
fn visit_map<'de, V: Visitor<'de>>(
    entries: Vec<(Cow<'de, str>, Node<'de>)>,
    visitor: V,
) -> Result<V::Value, DeError> {
    let len = entries.len();
    let mut access = MapDe {
        iter: entries.into_iter(),
        value: None,
    };
    let value = visitor.visit_map(&mut access)?;
    if access.iter.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in map"))
    }
}

/// Visits a string, borrowed when it is.
fn visit_str<'de, V: Visitor<'de>>(s: Cow<'de, str>, visitor: V) -> Result<V::Value, DeError> {
    match s {
        Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
        Cow::Owned(s) => visitor.visit_string(s),
    }
}

impl<'de> de::Deserializer<'de> for Node<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(b),
            Node::U64(n) => visitor.visit_u64(n),
            Node::I64(n) => visitor.visit_i64(n),
            Node::F64(f) => visitor.visit_f64(f),
            Node::Str(s) => visit_str(s, visitor),
            Node::Seq(_) if is_internally_tagged(&visitor) => Err(self.invalid_type(&visitor)),
            Node::Seq(items) => visit_seq(items, visitor),
            Node::Map(entries) => visit_map(entries, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Node::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Node::Null => visitor.visit_unit(),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Node::Str(s) => visit_str(s, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Node::Seq(items) => visit_seq(items, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Node::Map(entries) => visit_map(entries, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Node::Str(name) => visitor.visit_enum(Variant {
                name,
                content: None,
            }),
            Node::Map(entries) if entries.len() == 1 => match entries.into_iter().next() {
                Some((name, content)) => visitor.visit_enum(Variant {
                    name,
                    content: Some(content),
                }),
                None => Err(de::Error::invalid_length(0, &"map with a single key")),
            },
            Node::Map(_) => Err(de::Error::invalid_value(
                Unexpected::Map,
                &"map with a single key",
            )),
            other => Err(other.invalid_type(&"string or map")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        drop(self);
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Node<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// The items of a sequence.
struct SeqDe<'de> {
    iter: vec::IntoIter<Node<'de>>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.iter.next().map(|n| seed.deserialize(n)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The entries of a mapping; `value` is the one of the last key given out.
struct MapDe<'de> {
    iter: vec::IntoIter<(Cow<'de, str>, Node<'de>)>,
    value: Option<Node<'de>>,
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Key(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A mapping key or an enum variant name: a string that may also name a
/// unit variant (`BTreeMap<ErrorKind, u64>` keys).
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visit_str(self.0, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(Variant {
            name: self.0,
            content: None,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// An enum value: the variant's name and, for the one-key mapping form,
/// its content.
struct Variant<'de> {
    name: Cow<'de, str>,
    content: Option<Node<'de>>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = DeError;
    type Variant = Content<'de>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Content<'de>), DeError> {
        let variant = seed.deserialize(Key(self.name))?;
        Ok((variant, Content(self.content)))
    }
}

/// The content of an enum variant (`None` for the plain-string form).
struct Content<'de>(Option<Node<'de>>);

impl<'de> VariantAccess<'de> for Content<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.0 {
            None => Ok(()),
            // serde_json also takes `{variant: null}`; the schema does not.
            Some(content) => Err(content.invalid_type(&"unit variant written as a string")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.0 {
            Some(content) => seed.deserialize(content),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Some(Node::Seq(items)) => visit_seq(items, visitor),
            Some(other) => Err(other.invalid_type(&"tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Some(Node::Map(entries)) => visit_map(entries, visitor),
            Some(other) => Err(other.invalid_type(&"struct variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
#[path = "block_de_tests.rs"]
mod tests;
