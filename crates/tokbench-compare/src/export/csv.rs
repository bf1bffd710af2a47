//! CSV: one line per cell, metric and non-baseline side.

use super::Exporter;
use crate::error::CompareError;
use crate::report::Report;

/// Renders one CSV line per (cell, metric, side), numbers unformatted.
pub struct CsvExporter;

const HEADER: [&str; 22] = [
    "model",
    "shape",
    "concurrency",
    "rate_rps",
    "prompt_tokens_target",
    "output_tokens_target",
    "metric",
    "unit",
    "base_side",
    "side",
    "source",
    "base_value",
    "value",
    "ratio",
    "ci_lo",
    "ci_hi",
    "p_value",
    "p_adjusted",
    "verdict",
    "mde",
    "n_base",
    "n",
];

/// The serde name of a unit enum variant (`tok/s`, `samples`, `faster`), as
/// in the JSON output.
fn name<T: serde::Serialize>(v: T) -> Result<String, CompareError> {
    let value = serde_json::to_value(v).map_err(|e| CompareError::Render(e.to_string()))?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

impl Exporter for CsvExporter {
    fn render(&self, report: &Report) -> Result<String, CompareError> {
        let err = |e: csv::Error| CompareError::Render(e.to_string());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(HEADER).map_err(err)?;
        for t in &report.tables {
            let k = &t.key;
            for row in &t.rows {
                for v in &row.versus {
                    let c = v.comparison;
                    let (unit, source, verdict) =
                        (name(row.unit)?, name(v.source)?, name(v.verdict)?);
                    w.write_record([
                        k.model.clone(),
                        k.shape.clone(),
                        k.concurrency.to_string(),
                        k.rate_rps.clone().unwrap_or_default(),
                        k.prompt_tokens_target.to_string(),
                        k.output_tokens_target.to_string(),
                        row.metric.clone(),
                        unit,
                        report.sides[0].label.clone(),
                        report.sides[v.side].label.clone(),
                        source,
                        num(row.base),
                        num(v.value),
                        num(v.ratio),
                        num(c.map(|c| c.estimate.lo)),
                        num(c.map(|c| c.estimate.hi)),
                        num(c.map(|c| c.p_value)),
                        num(c.map(|c| c.p_adjusted)),
                        verdict,
                        num(c.map(|c| c.mde).filter(|m| m.is_finite())),
                        row.n_base.to_string(),
                        v.n.to_string(),
                    ])
                    .map_err(err)?;
                }
            }
        }
        let bytes = w
            .into_inner()
            .map_err(|e| CompareError::Render(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| CompareError::Render(e.to_string()))
    }
}
