//! One exporter per output format (table, Markdown, CSV, JSON).

mod csv;
mod json;
mod markdown;
mod table;

use tokbench_record::Record;

/// Output formats of `tokbench run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A terminal table.
    Table,
    /// Machine-readable JSON: the full records, every summary included.
    Json,
    /// A Markdown table.
    Md,
    /// CSV, one row per cell.
    Csv,
}

/// Renders records in one format.
pub trait Exporter {
    /// The rendered text.
    ///
    /// # Errors
    /// Serialisation failures.
    fn render(&self, records: &[Record]) -> anyhow::Result<String>;
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
