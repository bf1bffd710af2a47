//! Reading a sweep-space YAML file with serde-saphyr, every error naming
//! the file and line.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Constraint, NamedConfig, Param, Space};
use crate::error::SweepError;
use crate::values::{check_name, parse_values};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    #[serde(default)]
    params: Option<Ordered<Spanned<RawValues>>>,
    #[serde(default)]
    follow: Option<Ordered<Spanned<Scalar>>>,
    #[serde(default)]
    skip: Vec<Spanned<Ordered<Spanned<Scalar>>>>,
    #[serde(default)]
    configs: Vec<Spanned<RawNamed>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamed {
    name: Spanned<Scalar>,
    set: Ordered<Spanned<Scalar>>,
}

/// A scalar kept as its text (`0.60` stays `0.60`, `on` stays `on`).
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Scalar)
    }
}

/// A parameter's values: a YAML list of scalars, or one string that is a
/// comma list or range (`"1-4+1"`).
enum RawValues {
    List(Vec<String>),
    Text(String),
}

struct ValuesVisitor;

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = RawValues;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of values or a value list such as \"1-4+1\"")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValues, A::Error> {
        let mut out = Vec::new();
        while let Some(Scalar(s)) = seq.next_element()? {
            out.push(s);
        }
        Ok(RawValues::List(out))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawValues, E> {
        Ok(RawValues::Text(v.to_owned()))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawValues, E> {
        Ok(RawValues::Text(v.to_string()))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawValues, E> {
        Ok(RawValues::Text(v.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawValues, E> {
        Ok(RawValues::Text(v.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawValues, E> {
        Ok(RawValues::Text(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for RawValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValuesVisitor)
    }
}

/// A mapping whose keys keep the order they were written in.
struct Ordered<V>(Vec<(String, V)>);

struct OrderedVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
    type Value = Ordered<V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
        let mut out: Vec<(String, V)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, V>()? {
            if out.iter().any(|(n, _)| *n == k) {
                return Err(serde::de::Error::custom(format!("{k} is given twice")));
            }
            out.push((k, v));
        }
        Ok(Ordered(out))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(OrderedVisitor(PhantomData))
    }
}

type Located<T> = Result<T, (usize, String)>;

fn line_of<T>(s: &Spanned<T>) -> usize {
    s.referenced.line() as usize
}

/// Parses a sweep-space file (not yet validated as a whole).
pub(super) fn parse(text: &str, path: &Path) -> Result<Space, SweepError> {
    let err = |line, message| SweepError::File {
        path: path.to_owned(),
        line,
        message,
    };
    let options = serde_saphyr::options! { strict_booleans: true };
    let raw: RawSpace = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line() as usize);
        err(line, e.to_string().lines().next().unwrap_or("").to_owned())
    })?;
    build(raw).map_err(|(line, message)| err(line, message))
}

fn build(raw: RawSpace) -> Located<Space> {
    let params = params(raw.params)?;
    let mut constraints = Vec::new();
    let mut followers: Vec<String> = Vec::new();
    for (follower, leader) in raw.follow.map_or_else(Vec::new, |o| o.0) {
        let line = line_of(&leader);
        let leader = leader.value.0;
        check_name(&follower).map_err(|m| (line, m))?;
        if params.iter().any(|p| p.name == follower) {
            return Err((
                line,
                format!("{follower} is swept itself and cannot follow {leader}"),
            ));
        }
        if !params.iter().any(|p| p.name == leader) {
            return Err((line, unknown("follow", &leader, &params)));
        }
        followers.push(follower.clone());
        constraints.push(Constraint::Follow { follower, leader });
    }
    for entry in raw.skip {
        constraints.push(skip(entry, &params, &followers)?);
    }
    let named = named(raw.configs)?;
    Ok(Space {
        params,
        constraints,
        named,
    })
}

fn params(raw: Option<Ordered<Spanned<RawValues>>>) -> Located<Vec<Param>> {
    let mut out = Vec::new();
    for (name, values) in raw.map_or_else(Vec::new, |o| o.0) {
        let line = line_of(&values);
        check_name(&name).map_err(|m| (line, m))?;
        let values = match values.value {
            RawValues::Text(t) => parse_values(&t),
            RawValues::List(items) => parse_values(&items.join(",")),
        }
        .map_err(|e| (line, format!("{name}: {e}")))?;
        out.push(Param { name, values });
    }
    Ok(out)
}

fn skip(
    entry: Spanned<Ordered<Spanned<Scalar>>>,
    params: &[Param],
    followers: &[String],
) -> Located<Constraint> {
    if entry.value.0.is_empty() {
        return Err((
            line_of(&entry),
            "an empty skip entry would skip everything".into(),
        ));
    }
    let mut when = Vec::new();
    for (name, value) in entry.value.0 {
        let line = line_of(&value);
        let value = value.value.0;
        let param = params.iter().find(|p| p.name == name);
        match param {
            Some(p) if !p.values.contains(&value) => {
                return Err((
                    line,
                    format!(
                        "skip: {name} has no value {value:?}; its values are {}",
                        p.values.join(", ")
                    ),
                ));
            }
            None if !followers.contains(&name) => {
                return Err((line, unknown("skip", &name, params)));
            }
            _ => {}
        }
        when.push((name, value));
    }
    Ok(Constraint::Skip { when })
}

fn named(raw: Vec<Spanned<RawNamed>>) -> Located<Vec<NamedConfig>> {
    let mut out: Vec<NamedConfig> = Vec::new();
    for c in raw {
        let (line, entry_line) = (line_of(&c.value.name), line_of(&c));
        let name = c.value.name.value.0;
        if name.trim().is_empty() {
            return Err((line, "a named configuration needs a name".into()));
        }
        if out.iter().any(|n| n.name == name) {
            return Err((
                line,
                format!("the configuration name {name:?} is used twice"),
            ));
        }
        let mut values = Vec::new();
        for (param, value) in c.value.set.0 {
            check_name(&param).map_err(|m| (line_of(&value), m))?;
            values.push((param, value.value.0));
        }
        if values.is_empty() {
            return Err((entry_line, format!("configuration {name} sets nothing")));
        }
        out.push(NamedConfig { name, values });
    }
    Ok(out)
}

/// `follow names cache-type-x, which is not a parameter; the parameters are …`.
fn unknown(what: &str, name: &str, params: &[Param]) -> String {
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let known = if names.is_empty() {
        "there are none".to_owned()
    } else {
        format!("the parameters are {}", names.join(", "))
    };
    format!("{what} names {name}, which is not a parameter; {known}")
}
