//! One parsed `/metrics` exposition, taken at a known offset in the window.
//!
//! The text is parsed by the `prom_text_format_parser` crate (Prometheus
//! text exposition format 0.0.4,
//! <https://prometheus.io/docs/instrumenting/exposition_formats/>); this
//! module only regroups its output into series keyed by name and sorted
//! labels, and joins each histogram's `_bucket`, `_sum` and `_count` lines
//! into one [`Histogram`].

use std::collections::BTreeMap;
use std::fmt;

use prom_text_format_parser::{Metric, ScrapeParseError, Type, ValueType};
use serde::Serialize;

use crate::error::MetricsError;

/// The type a series was exported with (its family's `# TYPE` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Monotonic total; only its increase over a window is meaningful.
    Counter,
    /// A value that goes up and down (queue depth, cache usage).
    Gauge,
    /// Cumulative `le` buckets with `_sum` and `_count`.
    Histogram,
    /// Client-side quantiles with `_sum` and `_count`.
    Summary,
    /// No `# TYPE` line, or `untyped`; summarised like a gauge.
    Untyped,
}

/// A series' identity: metric name and its labels sorted by label name.
///
/// Displays as Prometheus writes it, `name{a="1",b="2"}` (just `name` with no
/// labels); that string is the key of every map in a
/// [`WindowSummary`](crate::WindowSummary).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// Metric name as exported, e.g. `vllm:prompt_tokens_total`.
    pub name: String,
    /// `(label, value)` pairs sorted by label; no `le` or `quantile` label.
    /// Values are kept as written in the exposition, escapes (`\\`, `\"`,
    /// `\n`) included, so the key displays exactly as exported.
    pub labels: Vec<(String, String)>,
}

impl SeriesKey {
    /// A key from a name and labels in any order (they are sorted here).
    pub fn new(name: impl Into<String>, mut labels: Vec<(String, String)>) -> Self {
        labels.sort();
        Self {
            name: name.into(),
            labels,
        }
    }

    /// The value of label `key`, if the series has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"{v}\"")?;
        }
        f.write_str("}")
    }
}

/// One cumulative histogram bucket: observations `<= le`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    /// Upper bound, in the metric's unit (`f64::INFINITY` for `+Inf`).
    pub le: f64,
    /// Cumulative number of observations at or below `le`.
    pub count: f64,
}

/// A histogram series' state at one scrape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Buckets sorted by `le`; the last is `+Inf` when the server exports it.
    pub buckets: Vec<Bucket>,
    /// `_count`: number of observations (the `+Inf` bucket if `_count` is missing).
    pub count: f64,
    /// `_sum`: sum of the observations, in the metric's unit.
    pub sum: f64,
}

/// A series' value at one scrape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Counter, gauge or untyped sample.
    Scalar(f64),
    /// Histogram buckets, sum and count.
    Histogram(Histogram),
    /// A summary's `_sum` and `_count`; its quantile lines are dropped
    /// because the server computes them over its own sliding window and they
    /// cannot be differenced over ours.
    Summary {
        /// `_count`.
        count: f64,
        /// `_sum`.
        sum: f64,
    },
}

/// One series: its exported type and value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Type from the family's `# TYPE` line.
    pub kind: Kind,
    /// Value at this scrape.
    pub value: Value,
}

impl Series {
    /// The value of a counter, gauge or untyped series.
    pub fn scalar(&self) -> Option<f64> {
        match self.value {
            Value::Scalar(v) => Some(v),
            _ => None,
        }
    }
}

/// A parsed exposition taken `at_s` seconds after the window's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Seconds from the window start (the start snapshot has 0).
    pub at_s: f64,
    /// Every series in the text, by name and sorted labels.
    pub series: BTreeMap<SeriesKey, Series>,
    /// Well-formed but odd content that was skipped, e.g. a family with a
    /// `# TYPE` line and no samples (Python's `prometheus_client` writes
    /// those for labelled metrics that have no child yet).
    pub warnings: Vec<String>,
}

impl Snapshot {
    /// Parses a Prometheus text exposition taken at `at_s` seconds.
    ///
    /// `\r\n` line ends are accepted. Values may be `NaN`, `+Inf` or `-Inf`.
    ///
    /// # Errors
    ///
    /// [`MetricsError::Syntax`] when a line does not parse (the message
    /// carries the line and column from the parser crate);
    /// [`MetricsError::Malformed`] when a value or an `le` bound is not a
    /// number, or a histogram has neither `_count` nor a `+Inf` bucket.
    pub fn parse(text: &str, at_s: f64) -> Result<Self, MetricsError> {
        let text = text.replace("\r\n", "\n");
        let (metrics, err) = prom_text_format_parser::parse_scrape(&text);
        let mut warnings = Vec::new();
        match err {
            None => {}
            Some(ScrapeParseError::Parse(msg)) => return Err(MetricsError::Syntax(msg)),
            Some(ScrapeParseError::Collect(errs)) => {
                for e in errs {
                    warnings.push(format!("lines {:?}: {}", e.line_no, e.error));
                }
            }
        }
        let mut series = BTreeMap::new();
        for metric in &metrics {
            add_metric(metric, &mut series, &mut warnings)?;
        }
        Ok(Self {
            at_s,
            series,
            warnings,
        })
    }

    /// The series with exactly this name and these labels (in any order).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.series.get(&SeriesKey::new(name, labels))
    }

    /// Every series named `name`, whatever its labels.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a SeriesKey, &'a Series)> {
        self.series.iter().filter(move |(k, _)| k.name == name)
    }

    /// Whether any series is named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.named(name).next().is_some()
    }
}

fn parse_float(metric: &str, s: &str) -> Result<f64, MetricsError> {
    s.parse::<f64>().map_err(|_| MetricsError::Malformed {
        metric: metric.to_owned(),
        reason: format!("{s:?} is not a number"),
    })
}

fn labels_without(
    sample_labels: &[prom_text_format_parser::Label],
    skip: &str,
) -> Vec<(String, String)> {
    sample_labels
        .iter()
        .filter(|l| l.key != skip)
        .map(|l| (l.key.clone(), l.value.clone()))
        .collect()
}

fn add_metric(
    metric: &Metric,
    out: &mut BTreeMap<SeriesKey, Series>,
    warnings: &mut Vec<String>,
) -> Result<(), MetricsError> {
    let kind = match metric.kind {
        Type::Counter => Kind::Counter,
        Type::Gauge => Kind::Gauge,
        Type::Untyped => Kind::Untyped,
        Type::Histogram => return add_histogram(metric, out, warnings),
        Type::Summary => return add_summary(metric, out),
    };
    for sample in &metric.samples {
        let v = parse_float(&metric.name, &sample.value.value)?;
        let key = SeriesKey::new(metric.name.clone(), labels_without(&sample.labels, ""));
        out.insert(
            key,
            Series {
                kind,
                value: Value::Scalar(v),
            },
        );
    }
    Ok(())
}

#[derive(Default)]
struct HistParts {
    buckets: Vec<Bucket>,
    count: Option<f64>,
    sum: Option<f64>,
}

fn add_histogram(
    metric: &Metric,
    out: &mut BTreeMap<SeriesKey, Series>,
    warnings: &mut Vec<String>,
) -> Result<(), MetricsError> {
    let mut groups: BTreeMap<SeriesKey, HistParts> = BTreeMap::new();
    for sample in &metric.samples {
        let v = parse_float(&metric.name, &sample.value.value)?;
        let key = SeriesKey::new(metric.name.clone(), labels_without(&sample.labels, "le"));
        let parts = groups.entry(key).or_default();
        match sample.value.value_type {
            ValueType::Count => parts.count = Some(v),
            ValueType::Sum => parts.sum = Some(v),
            ValueType::Sample => {
                let le = sample
                    .labels
                    .iter()
                    .find(|l| l.key == "le")
                    .ok_or_else(|| MetricsError::Malformed {
                        metric: metric.name.clone(),
                        reason: "a bucket line has no le label".to_owned(),
                    })?;
                let le = parse_float(&metric.name, &le.value)?;
                parts.buckets.push(Bucket { le, count: v });
            }
        }
    }
    for (key, mut parts) in groups {
        parts.buckets.sort_by(|a, b| a.le.total_cmp(&b.le));
        let inf = parts
            .buckets
            .last()
            .filter(|b| b.le == f64::INFINITY)
            .map(|b| b.count);
        let count = parts.count.or(inf).ok_or_else(|| MetricsError::Malformed {
            metric: key.to_string(),
            reason: "histogram has neither _count nor a +Inf bucket".to_owned(),
        })?;
        let sum = parts.sum.unwrap_or_else(|| {
            warnings.push(format!("histogram {key} has no _sum; its mean is unknown"));
            f64::NAN
        });
        let value = Value::Histogram(Histogram {
            buckets: parts.buckets,
            count,
            sum,
        });
        out.insert(
            key,
            Series {
                kind: Kind::Histogram,
                value,
            },
        );
    }
    Ok(())
}

fn add_summary(metric: &Metric, out: &mut BTreeMap<SeriesKey, Series>) -> Result<(), MetricsError> {
    let mut groups: BTreeMap<SeriesKey, (f64, f64)> = BTreeMap::new();
    for sample in &metric.samples {
        let v = parse_float(&metric.name, &sample.value.value)?;
        let key = SeriesKey::new(
            metric.name.clone(),
            labels_without(&sample.labels, "quantile"),
        );
        let entry = groups.entry(key).or_insert((0.0, f64::NAN));
        match sample.value.value_type {
            ValueType::Count => entry.0 = v,
            ValueType::Sum => entry.1 = v,
            ValueType::Sample => {}
        }
    }
    for (key, (count, sum)) in groups {
        out.insert(
            key,
            Series {
                kind: Kind::Summary,
                value: Value::Summary { count, sum },
            },
        );
    }
    Ok(())
}
