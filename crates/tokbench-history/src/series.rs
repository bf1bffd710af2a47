//! Grouping the cells of many records into series: one per rig, model,
//! backend configuration, mode, shape and load, each point one record.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use tokbench_record::{Cell, CellStop, Record};

use crate::metric::Metric;
use crate::time::unix_seconds;

/// A backend configuration without its version: what must stay the same
/// for the points of a series to be comparable while the backend's version
/// or commit (what a history is about) changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BackendConfig {
    /// `backend.name` (`llama.cpp`, `vLLM`, …).
    pub name: String,
    /// `backend.device` (`cpu`, `cuda`, …).
    pub device: String,
    /// `backend.threads`, CPU threads.
    pub threads: Option<u64>,
    /// `backend.parallel`, slots.
    pub parallel: Option<u64>,
    /// `backend.ctx_size`, tokens.
    pub ctx_size: Option<u64>,
    /// `backend.flags`, the extra server flags, in their recorded order.
    pub flags: Vec<String>,
}

impl BackendConfig {
    /// The configuration of `record`'s backend.
    pub fn of(record: &Record) -> Self {
        let b = &record.backend;
        BackendConfig {
            name: b.name.clone(),
            device: b.device.clone(),
            threads: b.threads,
            parallel: b.parallel,
            ctx_size: b.ctx_size,
            flags: b.flags.clone(),
        }
    }
}

/// `llama.cpp (cpu) threads=8 parallel=2 ctx=4096 [-fa on]`.
impl fmt::Display for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.device)?;
        for (label, v) in [
            ("threads", self.threads),
            ("parallel", self.parallel),
            ("ctx", self.ctx_size),
        ] {
            if let Some(v) = v {
                write!(f, " {label}={v}")?;
            }
        }
        if !self.flags.is_empty() {
            write!(f, " [{}]", self.flags.join(" "))?;
        }
        Ok(())
    }
}

/// What the points of one series share.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesKey {
    /// `system.rig_name`.
    pub rig: String,
    /// The model file's `model.sha256` (hex), else `model.id`.
    pub model: String,
    /// The backend without its version.
    pub backend: BackendConfig,
    /// `run.mode` (`baseline`, `spec-decode`, …): a mode is a deliberately
    /// different configuration.
    pub mode: String,
    /// Workload shape (`chat`, `rag`, …).
    pub shape: String,
    /// Requests in flight (closed loop) or the in-flight cap (open loop).
    pub concurrency: u64,
    /// Open-loop arrival rate, requests/s; `None` for the closed loop.
    pub rate_rps: Option<f64>,
}

impl SeriesKey {
    fn of(record: &Record, cell: &Cell) -> Self {
        SeriesKey {
            rig: record.system.rig_name.clone(),
            model: record
                .model
                .sha256
                .clone()
                .unwrap_or_else(|| record.model.id.clone()),
            backend: BackendConfig::of(record),
            mode: record.run.mode.clone(),
            shape: cell.shape.clone(),
            concurrency: cell.concurrency,
            rate_rps: cell.rate_rps,
        }
    }

    /// Everything compared, the rate by its bits (rates are positive, so
    /// the bits order as the numbers do).
    #[allow(clippy::type_complexity)]
    fn parts(&self) -> (&str, &str, &BackendConfig, &str, &str, u64, Option<u64>) {
        (
            &self.rig,
            &self.model,
            &self.backend,
            &self.mode,
            &self.shape,
            self.concurrency,
            self.rate_rps.map(f64::to_bits),
        )
    }

    /// `shape c=N` or `shape c=N @ R req/s`.
    pub fn load_label(&self) -> String {
        match self.rate_rps {
            Some(r) => format!("{} c={} @ {r} req/s", self.shape, self.concurrency),
            None => format!("{} c={}", self.shape, self.concurrency),
        }
    }
}

impl PartialEq for SeriesKey {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for SeriesKey {}

impl PartialOrd for SeriesKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SeriesKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

/// One record's value in a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// `run.started_utc`, as recorded (RFC 3339).
    pub started_utc: String,
    /// `started_utc` as Unix seconds; `None` when it is not RFC 3339.
    pub unix_s: Option<i64>,
    /// `backend.commit`, else `run.tokbench_commit`, when either is known.
    pub commit: Option<String>,
    /// `backend.version`, when known.
    pub version: Option<String>,
    /// `run.id`.
    pub run_id: String,
    /// The cell's value of the metric, in the metric's unit.
    pub value: f64,
    /// The cell or the run was flagged noisy (other load on the host).
    pub noisy: bool,
}

/// The history of one metric for one [`SeriesKey`].
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// What the points share.
    pub key: SeriesKey,
    /// `Family Variant Quant` of the newest point's record, for display.
    pub model_label: String,
    /// The metric followed.
    pub metric: Metric,
    /// In time order: by [`Point::unix_s`] (unparseable dates first), then
    /// `started_utc`, then run id.
    pub points: Vec<Point>,
}

/// The series of `metric` over `records`, sorted by key.
///
/// Every measured cell with a finite value of `metric` is a point; skipped
/// cells and cells without the metric are left out, so a series can be
/// empty of a record that measured other shapes.
pub fn build_series<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    metric: Metric,
) -> Vec<Series> {
    let mut groups: BTreeMap<SeriesKey, Vec<(Point, String)>> = BTreeMap::new();
    for record in records {
        for cell in &record.cells {
            let Some(value) = cell_value(cell, metric) else {
                continue;
            };
            let point = Point {
                started_utc: record.run.started_utc.clone(),
                unix_s: unix_seconds(&record.run.started_utc),
                commit: record
                    .backend
                    .commit
                    .clone()
                    .or_else(|| record.run.tokbench_commit.clone()),
                version: record.backend.version.clone(),
                run_id: record.run.id.clone(),
                value,
                noisy: cell.noisy || record.run.flags.noisy,
            };
            groups
                .entry(SeriesKey::of(record, cell))
                .or_default()
                .push((point, model_label(record)));
        }
    }
    groups
        .into_iter()
        .map(|(key, mut points)| {
            points.sort_by(|(a, _), (b, _)| {
                (a.unix_s, &a.started_utc, &a.run_id).cmp(&(b.unix_s, &b.started_utc, &b.run_id))
            });
            let model_label = points.last().map(|(_, l)| l.clone()).unwrap_or_default();
            Series {
                key,
                model_label,
                metric,
                points: points.into_iter().map(|(p, _)| p).collect(),
            }
        })
        .collect()
}

/// The cell's value of `metric`, when the cell was measured and has one.
fn cell_value(cell: &Cell, metric: Metric) -> Option<f64> {
    if cell.skipped.is_some() || cell.stop == CellStop::Skipped {
        return None;
    }
    metric.value(cell.metrics.as_ref()?)
}

fn model_label(record: &Record) -> String {
    let m = &record.model;
    [Some(&m.family), Some(&m.variant), m.quant.as_ref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}
