//! Terminal table (comfy-table), one per paired cell.

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use super::{cell_title, header_lines, headers, legend, row_cells, Exporter};
use crate::error::CompareError;
use crate::report::Report;

/// Renders the header lines, then one table per cell with its notes.
pub struct TableExporter;

impl Exporter for TableExporter {
    fn render(&self, report: &Report) -> Result<String, CompareError> {
        let mut out = String::new();
        for line in header_lines(report) {
            out.push_str(&line);
            out.push('\n');
        }
        for t in &report.tables {
            let mut table = Table::new();
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(headers(report));
            for row in &t.rows {
                table.add_row(row_cells(row));
            }
            out.push_str(&format!("\n{}\n{table}\n", cell_title(report, t)));
            for n in &t.notes {
                out.push_str(&format!("note: {n}\n"));
            }
        }
        if let Some(l) = legend(report) {
            out.push_str(l);
            out.push('\n');
        }
        Ok(out)
    }
}
