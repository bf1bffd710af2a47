//! JSON: the whole [`Report`], pretty-printed.

use super::Exporter;
use crate::error::CompareError;
use crate::report::Report;

/// Renders the report as JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, report: &Report) -> Result<String, CompareError> {
        let mut s = serde_json::to_string_pretty(report)
            .map_err(|e| CompareError::Render(e.to_string()))?;
        s.push('\n');
        Ok(s)
    }
}
