//! Splitting a log into blocks at their trailers, hashing and verifying.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::PerflogError;

/// How every trailer line starts; a line that starts so is read as a trailer.
pub const TRAILER_PREFIX: &str = "<!-- tokbench-perflog";

/// The `prev=` of the first block.
pub(crate) const GENESIS: &str = "genesis";

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// How many blocks (trailers) the log has.
    pub blocks: usize,
    /// Everything wrong with it, in file order; empty when the log is intact.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the log is intact (no problems).
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The block it concerns, numbered from 1; `None` for text after the
    /// last block.
    pub block: Option<usize>,
    /// The line (1-based): a block's `## ` heading, or the offending line.
    pub line: usize,
    /// What is wrong, in words.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// A trailer as found in the text.
#[derive(Debug, Clone)]
pub(crate) struct Trailer {
    /// `prev=` and `hash=`, or `None` when the line does not parse.
    pub fields: Option<(String, String)>,
    /// The trailer's line number (1-based).
    pub line: usize,
}

/// A block as found in the text: its span and its trailer.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    /// Byte range of the block text (without the trailer).
    pub text: std::ops::Range<usize>,
    /// The block's heading line (its first `## ` line, else its first
    /// non-blank line, else its first line).
    pub heading_line: usize,
    /// The trailer that closes it.
    pub trailer: Trailer,
}

/// A log split at its trailers.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    /// The blocks in file order.
    pub blocks: Vec<Span>,
    /// Byte offset just past the last trailer line (0 without blocks).
    pub tail_start: usize,
    /// Line number of the first line after the last trailer.
    pub tail_line: usize,
}

/// Splits `text` into blocks at its trailer lines.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut blocks = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    let mut heading: Option<usize> = None;
    let mut first_text: Option<usize> = None;
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.starts_with(TRAILER_PREFIX) {
            blocks.push(Span {
                text: start..offset,
                heading_line: heading.or(first_text).unwrap_or(start_line),
                trailer: Trailer {
                    fields: parse_trailer(line),
                    line: line_no,
                },
            });
            start = offset + raw.len();
            start_line = line_no + 1;
            heading = None;
            first_text = None;
        } else if heading.is_none() && line.starts_with("## ") {
            heading = Some(line_no);
        } else if first_text.is_none() && !line.trim().is_empty() {
            first_text = Some(line_no);
        }
        offset += raw.len();
    }
    Parsed {
        blocks,
        tail_start: start,
        tail_line: start_line,
    }
}

/// `prev` and `hash` of a v1 trailer line, or `None` when it is malformed.
fn parse_trailer(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix(TRAILER_PREFIX)?.strip_suffix("-->")?;
    let mut words = rest.split_whitespace();
    let version = words.next()?;
    let prev = words.next()?.strip_prefix("prev=")?;
    let hash = words.next()?.strip_prefix("hash=")?;
    let ok = version == "v1"
        && words.next().is_none()
        && (prev == GENESIS || is_sha256_hex(prev))
        && is_sha256_hex(hash);
    ok.then(|| (prev.to_owned(), hash.to_owned()))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// SHA-256 (lower-case hex) of a block's text, `\r\n` read as `\n`.
pub(crate) fn block_hash(text: &str) -> String {
    let digest = Sha256::digest(text.replace("\r\n", "\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The trailer line (with its line ending) for a block.
pub(crate) fn trailer_line(prev: &str, hash: &str) -> String {
    format!("{TRAILER_PREFIX} v1 prev={prev} hash={hash} -->\n")
}

/// Checks a performance log: every block's text against the hash in its
/// trailer, every `prev=` against the hash recorded by the block before it
/// (`genesis` for the first), and that nothing but blank lines follows the
/// last block. See the crate docs for the format.
pub fn verify(text: &str) -> Report {
    let parsed = parse(text);
    let mut problems = Vec::new();
    let mut prev_recorded: Option<&str> = Some(GENESIS);
    for (i, span) in parsed.blocks.iter().enumerate() {
        let n = i + 1;
        let problem = |what: String| Problem {
            block: Some(n),
            line: span.heading_line,
            what,
        };
        let Some((prev, hash)) = &span.trailer.fields else {
            problems.push(Problem {
                block: Some(n),
                line: span.trailer.line,
                what: format!(
                    "block {n}: trailer is malformed (expected `{TRAILER_PREFIX} v1 prev=<hash|{GENESIS}> hash=<sha256 hex> -->`)"
                ),
            });
            prev_recorded = None;
            continue;
        };
        let actual = block_hash(&text[span.text.clone()]);
        if actual != *hash {
            problems.push(problem(format!(
                "block {n} (line {}) was edited after it was appended: its text (lines {}–{}) no longer matches hash={} in its trailer (line {})",
                span.heading_line,
                line_of(text, span.text.start),
                span.trailer.line.saturating_sub(1).max(1),
                short(hash),
                span.trailer.line
            )));
        }
        match prev_recorded {
            Some(expected) if expected != prev => {
                problems.push(problem(chain_break(n, prev, expected)))
            }
            _ => {}
        }
        prev_recorded = Some(hash);
    }
    problems.extend(tail_problem(text, &parsed));
    Report {
        blocks: parsed.blocks.len(),
        problems,
    }
}

fn chain_break(n: usize, prev: &str, expected: &str) -> String {
    if n == 1 {
        format!(
            "block 1: chain broken: prev={} but the first block's is {GENESIS} (a block above it was deleted)",
            short(prev)
        )
    } else {
        format!(
            "block {n}: chain broken: prev={} does not match block {}'s hash={} (a block between them was deleted or inserted, or blocks were reordered)",
            short(prev),
            n - 1,
            short(expected)
        )
    }
}

/// Non-blank text after the last block, which no hash covers yet.
fn tail_problem(text: &str, parsed: &Parsed) -> Option<Problem> {
    if parsed.blocks.is_empty() {
        return None; // the header of a log without blocks yet
    }
    let tail = &text[parsed.tail_start..];
    let skipped = tail.lines().take_while(|l| l.trim().is_empty()).count();
    tail.lines().nth(skipped).map(|_| Problem {
        block: None,
        line: parsed.tail_line + skipped,
        what: format!(
            "text after the last block (block {}) is not part of any block; only `tokbench perflog append` may add to this file",
            parsed.blocks.len()
        ),
    })
}

/// The 1-based line number of a byte offset (the line it starts).
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The first 12 hex digits of a hash, for messages.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// [`verify`] on a file's contents.
pub fn verify_file(path: &Path) -> Result<Report, PerflogError> {
    let text = read_text(path)?;
    Ok(verify(&text))
}

/// A file's contents as text; errors name the file.
pub(crate) fn read_text(path: &Path) -> Result<String, PerflogError> {
    let bytes = std::fs::read(path).map_err(|source| PerflogError::Io {
        path: path.to_owned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| PerflogError::NotUtf8 {
        path: path.to_owned(),
    })
}
