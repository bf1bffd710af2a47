//! Terminal table (comfy-table).

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use super::Exporter;
use crate::report::{columns, RunReport};

/// Renders a terminal table, one row per cell.
pub struct TableExporter;

impl Exporter for TableExporter {
    fn render(&self, report: &RunReport) -> anyhow::Result<String> {
        let cols = columns();
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(cols.iter().map(|c| c.header));
        for cell in &report.cells {
            table.add_row(cols.iter().map(|c| (c.value)(cell)));
        }
        Ok(format!(
            "{} @ {} ({})\n{table}\n",
            report.target.model, report.target.url, report.target.endpoint
        ))
    }
}
