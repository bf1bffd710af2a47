//! JSON with every summary (serde_json, pretty).

use super::Exporter;
use crate::report::RunReport;

/// Renders the whole report as pretty JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, report: &RunReport) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(report)? + "\n")
    }
}
