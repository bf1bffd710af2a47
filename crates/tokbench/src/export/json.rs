//! JSON: the full records (serde_json, pretty).

use tokbench_record::Record;

use super::Exporter;

/// Renders `{"records": [...]}` with every field of every record.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, records: &[Record]) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(&serde_json::json!({ "records": records }))? + "\n")
    }
}
