//! Markdown: fits a pull-request comment or `$GITHUB_STEP_SUMMARY`.

use super::{cell_title, header_lines, headers, legend, row_cells, Exporter};
use crate::error::CompareError;
use crate::report::Report;

/// Renders the header as a list, then a `###` heading and a pipe table per
/// cell.
pub struct MarkdownExporter;

/// A table cell: `|` escaped, line breaks as spaces.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Exporter for MarkdownExporter {
    fn render(&self, report: &Report) -> Result<String, CompareError> {
        let mut out = String::from("## tokbench compare\n\n");
        for line in header_lines(report) {
            out.push_str(&format!("- {}\n", cell(&line)));
        }
        for t in &report.tables {
            out.push_str(&format!("\n### {}\n\n", cell(&cell_title(report, t))));
            let h = headers(report);
            out.push_str(&format!(
                "| {} |\n",
                h.iter().map(|s| cell(s)).collect::<Vec<_>>().join(" | ")
            ));
            out.push_str(&format!("|{}\n", "---|".repeat(h.len())));
            for row in &t.rows {
                let cells: Vec<String> = row_cells(row).iter().map(|s| cell(s)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            for n in &t.notes {
                out.push_str(&format!("\n> {}\n", cell(n)));
            }
        }
        if let Some(l) = legend(report) {
            out.push_str(&format!("\n{l}\n"));
        }
        Ok(out)
    }
}
