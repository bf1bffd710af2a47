//! Terminal table (comfy-table).

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use tokbench_record::Record;

use super::Exporter;
use crate::report::{columns, footnotes, rows};

/// Renders a terminal table, one row per cell, then flag footnotes.
pub struct TableExporter;

impl Exporter for TableExporter {
    fn render(&self, records: &[Record]) -> anyhow::Result<String> {
        let cols = columns(records);
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(cols.iter().map(|c| c.header));
        for (r, cell) in rows(records) {
            table.add_row(cols.iter().map(|c| (c.value)(r, cell)));
        }
        let mut out = format!("{table}\n");
        for note in footnotes(records) {
            out.push_str(&note);
            out.push('\n');
        }
        Ok(out)
    }
}
