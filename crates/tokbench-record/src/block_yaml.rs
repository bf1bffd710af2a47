//! A fast reader for the block-style YAML that tokbench writes; serde-saphyr
//! stays the reference parser and the fallback.
//!
//! serde-saphyr reads about 10 MB/s per core, so a 10,000-record runs
//! folder (≈300 MB of YAML) would take half a minute to load. Records use
//! a small part of YAML: block mappings and sequences indented with spaces,
//! one-line plain and quoted scalars, the empty flow collections `[]` and
//! `{}`, and comments. [`parse`] reads exactly that subset and *declines*
//! (returns `None`) on anything else: anchors, aliases, tags, flow
//! collections with content, block scalars, multi-line scalars, tabs, CR
//! line ends, directives and document markers, duplicate keys, complex
//! keys, non-printable characters, or any line that does not fit the block
//! structure. The caller then parses with serde-saphyr, which also writes
//! the error messages for malformed files. When it accepts, it gives a
//! [`Node`] tree (strings borrowed from the document where they need no
//! unescaping) whose [`Node::into_value`] is the same `serde_json::Value`
//! as `serde_saphyr::from_str`; the tests check that differentially on
//! generated and mutated documents. Records are deserialized straight from
//! the tree ([`crate::block_de`]).
//!
//! Plain scalars resolve as serde-saphyr resolves them for an untyped
//! target (YAML 1.2 core schema plus YAML 1.1 booleans): `~`, `null`,
//! `Null`, `NULL` and the empty scalar are null; `true`/`false` are
//! booleans; decimal integers (`-?(0|[1-9][0-9]*)`) and decimal floats are
//! numbers; a word that starts with a letter, `/` or `_` is a string unless
//! it is a YAML 1.1 boolean (`yes`, `On`, `n`, … any case). Every other
//! plain scalar (`0x1F`, `1_000`, `.inf`, `+1`, `0.6.0-dev`, `2026-11-22`,
//! a hex hash such as `620e7b4`) is resolved by serde-saphyr itself, as a
//! one-scalar document, so the two can never disagree on it.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value;

use crate::block_node::Node;

/// One meaningful line: its indentation (spaces) and its text after the
/// indentation, without trailing spaces.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// Parses `doc` when it lies in the subset described in the module docs;
/// `None` when it does not (the caller falls back to serde-saphyr).
pub(crate) fn parse(doc: &str) -> Option<Value> {
    parse_node(doc).map(Node::into_value)
}

/// As [`parse`], but gives the parse tree, which borrows from `doc`.
pub(crate) fn parse_node(doc: &str) -> Option<Node<'_>> {
    let lines = lines(doc)?;
    let first = lines.first()?.indent;
    let mut parser = Parser { lines, pos: 0 };
    let node = parser.node(first)?;
    (parser.pos == parser.lines.len()).then_some(node)
}

/// Mappings with more keys than this look for duplicates in a hash set
/// instead of a linear scan (records' mappings are far smaller).
const LINEAR_KEY_SCAN: usize = 32;

/// Splits `doc` into meaningful lines (blank and comment-only lines
/// dropped), or `None` when a character or marker is outside the subset.
fn lines(doc: &str) -> Option<Vec<Line<'_>>> {
    // Tabs, CR and other control characters are declined outright. The
    // test runs branch-free over 64-byte chunks, which the compiler
    // vectorises (a byte loop that stops early does not vectorise).
    let allowed = |b: u8| b == b'\n' || (b >= 0x20 && b != 0x7f);
    if !doc
        .as_bytes()
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & allowed(b)))
    {
        return None;
    }
    if !doc.is_ascii() && doc.chars().any(unusual_char) {
        return None;
    }
    let mut out = Vec::with_capacity(doc.len() / 24);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', doc.as_bytes()).chain(std::iter::once(doc.len()));
    for end in ends {
        // `\n` is ASCII, so both ends lie on character boundaries.
        let raw = &doc[start..end];
        start = end + 1;
        let text = raw.trim_start_matches(' ');
        let indent = raw.len() - text.len();
        let text = text.trim_end_matches(' ');
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if indent == 0
            && (text.starts_with("---") || text.starts_with("...") || text.starts_with('%'))
        {
            return None;
        }
        out.push(Line { indent, text });
    }
    Some(out)
}

/// Characters YAML does not allow unescaped (C1 controls, non-characters)
/// or treats as line breaks in YAML 1.1 (NEL, LS, PS), and the BOM.
fn unusual_char(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// `- x` or a lone `-`: a block sequence item.
fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// The block node whose first line is the current one, at `indent`.
    fn node(&mut self, indent: usize) -> Option<Node<'a>> {
        let line = self.lines.get(self.pos)?;
        if is_item(line.text) {
            self.seq(indent)
        } else {
            self.map(indent)
        }
    }

    /// A block mapping whose keys sit at column `indent`.
    fn map(&mut self, indent: usize) -> Option<Node<'a>> {
        let mut entries: Vec<(Cow<'a, str>, Node<'a>)> = Vec::new();
        let mut seen: Option<HashSet<Cow<'a, str>>> = None;
        while let Some(&line) = self.lines.get(self.pos) {
            if line.indent < indent || (line.indent == indent && is_item(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            // Duplicate keys are declined (serde-saphyr rejects them).
            let duplicate = if entries.len() < LINEAR_KEY_SCAN {
                entries.iter().any(|(k, _)| *k == key)
            } else {
                let set =
                    seen.get_or_insert_with(|| entries.iter().map(|(k, _)| k.clone()).collect());
                !set.insert(key.clone())
            };
            if duplicate {
                return None;
            }
            self.pos += 1;
            let value = if rest.is_empty() {
                self.nested(indent, true)?
            } else {
                scalar(rest)?
            };
            entries.push((key, value));
        }
        Some(Node::Map(entries))
    }

    /// A block sequence whose `-` sit at column `indent`.
    fn seq(&mut self, indent: usize) -> Option<Node<'a>> {
        let mut items = Vec::new();
        while let Some(&line) = self.lines.get(self.pos) {
            if line.indent < indent || (line.indent == indent && !is_item(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let rest = line.text[1..].trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with('#') {
                self.pos += 1;
                items.push(self.nested(indent, false)?);
            } else if is_item(rest) {
                return None;
            } else if split_key(rest).is_some() {
                // A compact mapping: its first key starts on the item line,
                // the others sit at the same column on the next lines.
                let column = indent + (line.text.len() - rest.len());
                self.lines[self.pos] = Line {
                    indent: column,
                    text: rest,
                };
                items.push(self.map(column)?);
            } else {
                self.pos += 1;
                items.push(scalar(rest)?);
            }
        }
        Some(Node::Seq(items))
    }

    /// The value of a key or item whose line ends after `:` or `-`: the
    /// block node on the following lines, or null. A mapping value may be
    /// a sequence at the key's own column.
    fn nested(&mut self, indent: usize, in_map: bool) -> Option<Node<'a>> {
        match self.lines.get(self.pos) {
            Some(next) if next.indent > indent => self.node(next.indent),
            Some(next) if in_map && next.indent == indent && is_item(next.text) => self.seq(indent),
            _ => Some(Node::Null),
        }
    }
}

/// Splits `key: value` / `key:` into the key and the value text (empty when
/// the value is on the following lines). Keys are double-quoted strings or
/// plain words of `[A-Za-z_][A-Za-z0-9_.-]*` that are not null or a boolean.
fn split_key(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let (key, after) = if text.starts_with('"') {
        let (key, used) = double_quoted(text)?;
        (key, &text[used..])
    } else {
        let b = text.as_bytes();
        let end = b
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')))?;
        let key = &text[..end];
        let first_ok = b[0].is_ascii_alphabetic() || b[0] == b'_';
        if !first_ok || boolish(key) || matches!(key, "null" | "Null" | "NULL") {
            return None;
        }
        (Cow::Borrowed(key), &text[end..])
    };
    let rest = after.strip_prefix(':')?;
    if rest.is_empty() {
        return Some((key, ""));
    }
    let rest = rest.strip_prefix(' ')?.trim_start_matches(' ');
    Some((key, if rest.starts_with('#') { "" } else { rest }))
}

/// A one-line scalar value (text without leading or trailing spaces).
fn scalar(text: &str) -> Option<Node<'_>> {
    let first = *text.as_bytes().first()?;
    match first {
        b'"' => {
            let (s, used) = double_quoted(text)?;
            comment_or_nothing(&text[used..]).then_some(Node::Str(s))
        }
        b'\'' => {
            let (s, used) = single_quoted(text)?;
            comment_or_nothing(&text[used..]).then_some(Node::Str(s))
        }
        b'[' | b'{' => match without_comment(text).0 {
            "[]" => Some(Node::Seq(Vec::new())),
            "{}" => Some(Node::Map(Vec::new())),
            _ => None,
        },
        b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b',' | b']' | b'}' | b'#'
        | b'?' | b':' => None,
        b'-' if is_item(text) => None,
        _ => plain(text),
    }
}

/// What may follow a quoted scalar on its line: nothing or a comment.
fn comment_or_nothing(rest: &str) -> bool {
    rest.is_empty() || (rest.starts_with(' ') && rest.trim_start_matches(' ').starts_with('#'))
}

/// `text` without a trailing ` # comment`, and whether the rest holds
/// `: ` (which would make it a mapping).
fn without_comment(text: &str) -> (&str, bool) {
    let b = text.as_bytes();
    let mut colon_space = false;
    for i in 1..b.len() {
        match (b[i - 1], b[i]) {
            (b' ', b'#') => return (text[..i].trim_end_matches(' '), colon_space),
            (b':', b' ') => colon_space = true,
            _ => {}
        }
    }
    (text, colon_space)
}

/// A plain scalar: declined when it could be read as a mapping or a
/// document marker, else resolved.
fn plain(text: &str) -> Option<Node<'_>> {
    let (t, colon_space) = without_comment(text);
    if colon_space || t.ends_with(':') || t.starts_with("---") || t.starts_with("...") {
        return None;
    }
    resolve(t)
}

/// Resolves a plain scalar as serde-saphyr does for an untyped target.
fn resolve(t: &str) -> Option<Node<'_>> {
    match t {
        "~" | "null" | "Null" | "NULL" => return Some(Node::Null),
        "true" => return Some(Node::Bool(true)),
        "false" => return Some(Node::Bool(false)),
        _ => {}
    }
    if let Some(number) = decimal_number(t) {
        return Some(number);
    }
    if word(t) || digit_led_word(t) {
        return Some(Node::Str(Cow::Borrowed(t)));
    }
    // Anything else: serde-saphyr's own resolution of the same text.
    Node::from_scalar_value(serde_saphyr::from_str::<Value>(t).ok()?)
}

/// Starts with a digit but holds a letter that no YAML number can: not
/// `e`/`E` (exponent), and no `0x`/`0o`/`0b` prefix (after which hex
/// digits and the prefix letters are number syntax). Model sizes (`135M`),
/// file names (`2026-11-22-….samples.jsonl`), kernel versions and commit
/// hashes (`0123abc`) are strings to serde-saphyr; telling them here keeps
/// every record from starting serde-saphyr's parser several times.
fn digit_led_word(t: &str) -> bool {
    let b = t.as_bytes();
    let prefixed =
        b.len() >= 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B');
    b.first().is_some_and(u8::is_ascii_digit)
        && !prefixed
        && b.iter()
            .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'))
}

/// A YAML 1.1 boolean word, in any case (serde-saphyr's default).
fn boolish(t: &str) -> bool {
    t.len() <= 5
        && ["y", "yes", "n", "no", "true", "false", "on", "off"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
}

/// Starts like no number, null or boolean can: a letter, `/` or `_`, or
/// `-` followed by a letter or `-`; and is not a boolean word. (Words that
/// only Rust's float parser would read, such as `inf` or `NaN`, are
/// strings to serde-saphyr too, but are left to it all the same.)
fn word(t: &str) -> bool {
    let b = t.as_bytes();
    let starts = match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'/' || *c == b'_' => true,
        Some(b'-') => b
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'-'),
        _ => false,
    };
    let unsigned = t.trim_start_matches('-').as_bytes();
    let prefix = |p: &[u8]| {
        unsigned
            .get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    starts && !boolish(t) && !prefix(b"inf") && !prefix(b"nan")
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?` as an integer (no
/// fraction or exponent; must fit i64/u64) or a finite float; `None` for
/// any other text.
fn decimal_number(t: &str) -> Option<Node<'static>> {
    let b = t.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let start = usize::from(b.first() == Some(&b'-'));
    let mut i = digits(start);
    if i == start || (i - start > 1 && b[start] == b'0') {
        return None;
    }
    let mut float = false;
    if b.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        (i, float) = (end, true);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let end = digits(i + 1 + sign);
        if end == i + 1 + sign {
            return None;
        }
        (i, float) = (end, true);
    }
    if i != b.len() {
        return None;
    }
    if float {
        let f: f64 = t.parse().ok()?;
        return f.is_finite().then_some(Node::F64(f));
    }
    if start == 1 {
        t.parse::<i64>().ok().map(Node::from_i64)
    } else {
        t.parse::<u64>().ok().map(Node::U64)
    }
}

/// A double-quoted scalar at the start of `text`, closed on the same line:
/// the unescaped string (borrowed when it has no escapes) and the bytes
/// used (quotes included).
fn double_quoted(text: &str) -> Option<(Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    let run = b[1..].iter().position(|&c| c == b'"' || c == b'\\')?;
    if b[1 + run] == b'"' {
        return Some((Cow::Borrowed(&text[1..1 + run]), run + 2));
    }
    let mut out = String::new();
    let mut i = 1;
    loop {
        let run = b[i..].iter().position(|&c| c == b'"' || c == b'\\')?;
        out.push_str(&text[i..i + run]);
        i += run;
        if b[i] == b'"' {
            return Some((Cow::Owned(out), i + 1));
        }
        let (c, used) = escape(&text[i + 1..])?;
        out.push(c);
        i += 1 + used;
    }
}

/// The character of the escape sequence that starts `s` (after the
/// backslash) and its length. YAML 1.2 §5.7.
fn escape(s: &str) -> Option<(char, usize)> {
    let hex = |n: usize| {
        let digits = s.get(1..1 + n)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let code = u32::from_str_radix(digits, 16).ok()?;
        Some((char::from_u32(code)?, 1 + n))
    };
    let c = match s.as_bytes().first()? {
        b'0' => '\0',
        b'a' => '\u{7}',
        b'b' => '\u{8}',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\u{b}',
        b'f' => '\u{c}',
        b'r' => '\r',
        b'e' => '\u{1b}',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex(2),
        b'u' => return hex(4),
        b'U' => return hex(8),
        _ => return None,
    };
    Some((c, 1))
}

/// A single-quoted scalar at the start of `text`, closed on the same line
/// (`''` is a quote): the string (borrowed when it has no `''`) and the
/// bytes used.
fn single_quoted(text: &str) -> Option<(Cow<'_, str>, usize)> {
    let run = text[1..].find('\'')?;
    if !text[2 + run..].starts_with('\'') {
        return Some((Cow::Borrowed(&text[1..1 + run]), run + 2));
    }
    let mut out = String::new();
    let mut i = 1;
    loop {
        let run = text[i..].find('\'')?;
        out.push_str(&text[i..i + run]);
        i += run + 1;
        if text[i..].starts_with('\'') {
            out.push('\'');
            i += 1;
        } else {
            return Some((Cow::Owned(out), i));
        }
    }
}

#[cfg(test)]
#[path = "block_yaml_tests.rs"]
mod tests;
