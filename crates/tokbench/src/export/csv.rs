//! CSV (the `csv` crate), one row per cell, headers as in the table.

use super::Exporter;
use crate::report::{columns, RunReport};

/// Renders CSV with a header row.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, report: &RunReport) -> anyhow::Result<String> {
        let cols = columns();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["model", "url"];
        header.extend(cols.iter().map(|c| c.header));
        w.write_record(&header)?;
        for cell in &report.cells {
            let mut row = vec![report.target.model.clone(), report.target.url.clone()];
            row.extend(cols.iter().map(|c| (c.value)(cell)));
            w.write_record(&row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}
