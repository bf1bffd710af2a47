//! The metrics a history can follow: one value per measured cell.

use serde::{Serialize, Serializer};
use tokbench_record::CellMetrics;

use crate::error::HistoryError;

/// Every metric name [`Metric::parse`] accepts. The summaries are followed
/// through their median; `aggregate_output_tok_s`, `request_throughput_rps`
/// and `goodput_rps` (recorded only with `--slo`) are one number per cell
/// already. `answer_tok_s` is recorded only when the server reported
/// reasoning tokens (docs/methodology.md#reasoning).
pub const METRICS: [&str; 16] = [
    "decode_tok_s",
    "server_decode_tok_s",
    "ttft_ms",
    "ttfc_ms",
    "prefill_tok_s",
    "server_prefill_tok_s",
    "tpot_ms",
    "itl_ms",
    "e2e_ms",
    "queue_delay_ms",
    "output_tokens",
    "prompt_tokens",
    "answer_tok_s",
    "aggregate_output_tok_s",
    "request_throughput_rps",
    "goodput_rps",
];

/// Which way of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Rates (`…_tok_s`, `…_rps`).
    Higher,
    /// Latencies (`…_ms`).
    Lower,
    /// Token counts: a change is neither better nor worse.
    Neither,
}

/// A metric of a cell, by its record field name (see [`METRICS`]).
/// Serialised as that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Metric {
    name: &'static str,
}

impl Metric {
    /// `decode_tok_s`: the median per-request decode rate, tok/s.
    pub const DECODE_TOK_S: Metric = Metric {
        name: "decode_tok_s",
    };

    /// The metric called `name` (a [`METRICS`] entry, e.g. `decode_tok_s`).
    ///
    /// # Errors
    /// [`HistoryError::UnknownMetric`], which lists the valid names.
    pub fn parse(name: &str) -> Result<Self, HistoryError> {
        METRICS
            .iter()
            .find(|&&m| m == name)
            .map(|&name| Metric { name })
            .ok_or_else(|| HistoryError::UnknownMetric {
                name: name.to_owned(),
                valid: &METRICS,
            })
    }

    /// The record field name, e.g. `decode_tok_s`.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The unit of its values: `tok/s`, `ms`, `req/s` or `tokens`.
    pub fn unit(self) -> &'static str {
        match self.name {
            n if n.ends_with("_rps") => "req/s",
            n if n.ends_with("_tok_s") => "tok/s",
            n if n.ends_with("_ms") => "ms",
            _ => "tokens",
        }
    }

    /// Which way is better: higher rates, lower latencies.
    pub fn better(self) -> Better {
        match self.unit() {
            "tok/s" | "req/s" => Better::Higher,
            "ms" => Better::Lower,
            _ => Better::Neither,
        }
    }

    /// The cell's value of this metric, in [`Metric::unit`]: the median of
    /// a summary, or the plain rate. `None` when the metric is undefined
    /// in the cell or not finite.
    pub fn value(self, metrics: &CellMetrics) -> Option<f64> {
        let v = match self.name {
            "aggregate_output_tok_s" => metrics.aggregate_output_tok_s,
            "request_throughput_rps" => metrics.request_throughput_rps,
            "goodput_rps" => metrics.goodput_rps,
            name => metrics.summary(name).map(|s| s.median),
        };
        v.filter(|v| v.is_finite())
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl std::str::FromStr for Metric {
    type Err = HistoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::parse(s)
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokbench_record::fixture::{example_record, ExampleSpec};

    #[test]
    fn every_name_parses_and_reads_a_fixture_cell() {
        let record = example_record(&ExampleSpec::default());
        let metrics = record.cells[0].metrics.as_ref().unwrap();
        for name in METRICS {
            let m = Metric::parse(name).unwrap();
            assert_eq!(m.name(), name);
            // The fixture leaves the server-reported rates undefined, has no
            // reasoning tokens and was run without `--slo`.
            let defined =
                !name.starts_with("server_") && !matches!(name, "answer_tok_s" | "goodput_rps");
            assert_eq!(m.value(metrics).is_some(), defined, "{name}");
        }
        let decode = Metric::parse("decode_tok_s").unwrap();
        assert_eq!(decode, Metric::DECODE_TOK_S);
        assert_eq!(
            decode.value(metrics),
            metrics.decode_tok_s.as_ref().map(|s| s.median)
        );
        let agg = Metric::parse("aggregate_output_tok_s").unwrap();
        assert_eq!(agg.value(metrics), metrics.aggregate_output_tok_s);
    }

    #[test]
    fn unknown_metric_lists_the_valid_names() {
        let err = Metric::parse("decode_toks").unwrap_err();
        assert!(matches!(
            &err,
            HistoryError::UnknownMetric { name, valid } if name == "decode_toks" && valid.len() == METRICS.len()
        ));
        let text = err.to_string();
        assert!(text.contains("`decode_toks`"), "{text}");
        for name in METRICS {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }

    #[test]
    fn units_and_directions() {
        let m = |n| Metric::parse(n).unwrap();
        assert_eq!(
            (m("ttft_ms").unit(), m("ttft_ms").better()),
            ("ms", Better::Lower)
        );
        assert_eq!(m("decode_tok_s").better(), Better::Higher);
        assert_eq!(m("request_throughput_rps").unit(), "req/s");
        assert_eq!(
            (m("goodput_rps").unit(), m("goodput_rps").better()),
            ("req/s", Better::Higher)
        );
        assert_eq!(m("answer_tok_s").better(), Better::Higher);
        assert_eq!(m("output_tokens").better(), Better::Neither);
    }

    #[test]
    fn goodput_and_answer_rate_are_read_when_recorded() {
        let record = example_record(&ExampleSpec::default());
        let mut metrics = record.cells[0].metrics.clone().unwrap();
        metrics.goodput_rps = Some(0.0);
        let mut answer = metrics.decode_tok_s.clone().unwrap();
        answer.median = 31.5;
        metrics.answer_tok_s = Some(answer);
        // No request met the SLOs: 0 req/s is a measurement, not a gap.
        assert_eq!(
            Metric::parse("goodput_rps").unwrap().value(&metrics),
            Some(0.0)
        );
        assert_eq!(
            Metric::parse("answer_tok_s").unwrap().value(&metrics),
            Some(31.5)
        );
    }
}
