//! Markdown table.

use tokbench_record::Record;

use super::Exporter;
use crate::report::{columns, footnotes, rows};

/// Renders a GitHub-flavoured Markdown table, one row per cell.
pub struct MarkdownExporter;

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

impl Exporter for MarkdownExporter {
    fn render(&self, records: &[Record]) -> anyhow::Result<String> {
        let cols = columns(records);
        let mut out = format!(
            "| {} |\n|{}\n",
            cols.iter()
                .map(|c| c.header)
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(cols.len())
        );
        for (r, cell) in rows(records) {
            let vals: Vec<String> = cols.iter().map(|c| escape(&(c.value)(r, cell))).collect();
            out.push_str(&format!("| {} |\n", vals.join(" | ")));
        }
        for note in footnotes(records) {
            out.push_str(&format!("\n{}", escape(&note)));
        }
        Ok(out)
    }
}
