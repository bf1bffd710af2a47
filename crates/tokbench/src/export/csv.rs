//! CSV (the `csv` crate), one row per cell, headers as in the table.

use tokbench_record::Record;

use super::Exporter;
use crate::report::{columns, rows};

/// Renders CSV with a header row; the first column is the record id.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, records: &[Record]) -> anyhow::Result<String> {
        let cols = columns(records);
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["record_id"];
        header.extend(cols.iter().map(|c| c.header));
        w.write_record(&header)?;
        for (r, cell) in rows(records) {
            let mut row = vec![r.run.id.clone()];
            row.extend(cols.iter().map(|c| (c.value)(r, cell)));
            w.write_record(&row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}
