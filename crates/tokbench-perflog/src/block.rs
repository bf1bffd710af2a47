//! One log entry and its Markdown rendering (without the trailer).

use std::fmt::Write as _;
use std::str::FromStr;

/// One dated entry of the performance log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// What was measured, e.g. `Decode gate` or `llama.cpp vs vLLM`.
    pub title: String,
    /// The day it was measured, `YYYY-MM-DD` in UTC ([`crate::utc_date_today`]).
    pub date: String,
    /// The machine, e.g. `RTX 5070 12 GB, Ryzen 9 7900`.
    pub hardware: String,
    /// The model, e.g. `Qwen3-8B Q4_K_M`.
    pub model: String,
    /// The backend and its version, e.g. `llama.cpp b5000`.
    pub backend: String,
    /// The command line that produced the numbers.
    pub command: String,
    /// The `Metric | Value | Gate` table.
    pub rows: Vec<Row>,
    /// A free line of text under the table.
    pub note: Option<String>,
}

/// One row of a block's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What the value is, e.g. `Decode tok/s c=1 (baseline)`.
    pub metric: String,
    /// The value with its unit, e.g. `1.77×` or `5.64 GB`.
    pub value: String,
    /// The bar and its verdict, e.g. `≥1.10× ✓` or `p99/p50 ≤ 3×`.
    pub gate: Option<String>,
}

/// A `--row` argument that is not `metric|value` or `metric|value|gate`.
#[derive(Debug, thiserror::Error)]
#[error("row {0:?} is not `metric|value` or `metric|value|gate` (write a literal | as \\|)")]
pub struct RowParseError(pub String);

impl FromStr for Row {
    type Err = RowParseError;

    /// Parses `metric|value` or `metric|value|gate`; `\|` is a literal `|`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut cells = vec![String::new()];
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    chars.next();
                    push_char(&mut cells, '|');
                }
                '|' => cells.push(String::new()),
                c => push_char(&mut cells, c),
            }
        }
        let mut cells = cells.into_iter().map(|c| c.trim().to_owned());
        match (cells.next(), cells.next(), cells.next(), cells.next()) {
            (Some(metric), Some(value), gate, None) if !metric.is_empty() => Ok(Row {
                metric,
                value,
                gate: gate.filter(|g| !g.is_empty()),
            }),
            _ => Err(RowParseError(s.to_owned())),
        }
    }
}

fn push_char(cells: &mut [String], c: char) {
    if let Some(last) = cells.last_mut() {
        last.push(c);
    }
}

impl Block {
    /// The block as Markdown, up to (not including) its trailer line: a
    /// blank line, `## <title> — <date>`, the hardware/model/backend line,
    /// the command, the table and the note, each paragraph followed by a
    /// blank line. Line breaks inside fields become spaces.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "\n## {} — {}\n",
            one_line(&self.title),
            one_line(&self.date)
        );
        let _ = writeln!(
            out,
            "Hardware: {} · Model: {} · Backend: {}\n",
            one_line(&self.hardware),
            one_line(&self.model),
            one_line(&self.backend)
        );
        let _ = writeln!(out, "Command: {}\n", code_span(&one_line(&self.command)));
        out.push_str("| Metric | Value | Gate |\n|---|---|---|\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&row.metric),
                cell(&row.value),
                cell(row.gate.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
        if let Some(note) = &self.note {
            let _ = writeln!(out, "Note: {}\n", one_line(note));
        }
        out
    }
}

/// The text on one line: every line break becomes a space.
fn one_line(s: &str) -> String {
    s.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

/// A table cell: on one line, `|` escaped as `\|`.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// A Markdown code span whose backtick fence is longer than any run of
/// backticks inside (CommonMark), padded with spaces where the text starts
/// or ends with a backtick.
fn code_span(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if s.starts_with('`') || s.ends_with('`') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}
