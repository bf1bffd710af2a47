//! Markdown table.

use super::Exporter;
use crate::report::{columns, RunReport};

/// Renders a GitHub-flavoured Markdown table, one row per cell.
pub struct MarkdownExporter;

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

impl Exporter for MarkdownExporter {
    fn render(&self, report: &RunReport) -> anyhow::Result<String> {
        let cols = columns();
        let mut out = format!(
            "**{}** @ `{}` ({})\n\n| {} |\n|{}\n",
            escape(&report.target.model),
            report.target.url,
            report.target.endpoint,
            cols.iter()
                .map(|c| c.header)
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(cols.len())
        );
        for cell in &report.cells {
            let vals: Vec<String> = cols.iter().map(|c| escape(&(c.value)(cell))).collect();
            out.push_str(&format!("| {} |\n", vals.join(" | ")));
        }
        Ok(out)
    }
}
