//! Performance-log blocks (`docs/perflog.md`) for `tokbench compare --log`
//! and `tokbench gate --log`: the hardware, model and backend lines come
//! from the sides' records; the rows from the comparison or the gates.

use std::collections::BTreeSet;

use tokbench_perflog::{Block, Row};

use crate::export::verdict;
use crate::load::Side;
use crate::matching::{model_label, rig_of};
use crate::report::Report;

/// What a block needs besides the data: its title, the command that
/// produced it (already redacted), an optional note and the date.
#[derive(Debug, Clone)]
pub struct LogContext {
    /// Block title, e.g. `Decode gate`.
    pub title: String,
    /// The command line, redacted.
    pub command: String,
    /// A free line under the table.
    pub note: Option<String>,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
}

fn runs(s: &Side) -> Vec<&tokbench_record::Record> {
    s.runs.iter().map(|r| &r.record).collect()
}

fn distinct(sides: &[Side], f: impl Fn(&Side) -> Vec<String>) -> String {
    let mut seen = BTreeSet::new();
    let mut out: Vec<String> = Vec::new();
    for side in sides {
        let vals: BTreeSet<String> = f(side).into_iter().collect();
        let joined = vals.into_iter().collect::<Vec<_>>().join(", ");
        if seen.insert(joined.clone()) {
            out.push(joined);
        }
    }
    out.join(" → ")
}

/// A block with the sides' hardware, model and backend (values that differ
/// between sides are joined with `→`) and the given rows.
pub fn block(sides: &[Side], ctx: &LogContext, rows: Vec<Row>) -> Block {
    Block {
        title: ctx.title.clone(),
        date: ctx.date.clone(),
        hardware: distinct(sides, |s| runs(s).into_iter().map(rig_of).collect()),
        model: distinct(sides, |s| runs(s).into_iter().map(model_label).collect()),
        backend: distinct(sides, |s| {
            runs(s)
                .into_iter()
                .map(|r| {
                    let v = r.backend.version.as_deref().unwrap_or("unknown version");
                    format!(
                        "{} {v} ({})",
                        r.backend.name,
                        crate::matching::launch_flags(r)
                    )
                })
                .collect()
        }),
        command: ctx.command.clone(),
        rows,
        note: ctx.note.clone(),
    }
}

/// The rows of `tokbench compare --log`: per cell, metric and other side,
/// `BASE → NEW (ratio [interval])` and the verdict.
pub fn compare_rows(report: &Report) -> Vec<Row> {
    let mut rows = Vec::new();
    for t in &report.tables {
        for r in &t.rows {
            for v in &r.versus {
                let tag = if report.sides.len() > 2 {
                    format!(" ({})", report.sides[v.side].label)
                } else {
                    String::new()
                };
                rows.push(Row {
                    metric: format!(
                        "{} · {} c={}{tag}",
                        r.metric, t.key.shape, t.key.concurrency
                    ),
                    value: format!(
                        "{} → {} ({})",
                        crate::export::value(r, r.base),
                        crate::export::value(r, v.value),
                        crate::export::ratio(v)
                    ),
                    gate: Some(verdict(v.verdict).to_owned()),
                });
            }
        }
    }
    rows
}
