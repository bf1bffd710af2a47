//! One exporter per output format (table, Markdown, CSV, JSON).

mod csv;
mod json;
mod markdown;
mod table;

use crate::report::RunReport;

/// Output formats of `tokbench run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A terminal table.
    Table,
    /// Machine-readable JSON with every summary.
    Json,
    /// A Markdown table.
    Md,
    /// CSV, one row per cell.
    Csv,
}

/// Renders a report in one format.
pub trait Exporter {
    /// The rendered text.
    ///
    /// # Errors
    /// Serialisation failures.
    fn render(&self, report: &RunReport) -> anyhow::Result<String>;
}

/// The exporter of a format.
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(table::TableExporter),
        Format::Json => Box::new(json::JsonExporter),
        Format::Md => Box::new(markdown::MarkdownExporter),
        Format::Csv => Box::new(csv::CsvExporter),
    }
}
