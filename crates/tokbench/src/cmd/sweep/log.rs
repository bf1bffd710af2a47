//! `--log PERF_LOG.md`: the sweep's ranked tables appended to the
//! append-only performance log as one block (`tokbench-perflog`), one row
//! per objective and configuration, the gate column saying winner,
//! failed quality, missed SLO, dropped or failed.

use std::path::Path;

use tokbench_perflog::{Block, Row};
use tokbench_record::{ConfigStatus, SweepRecord};

use crate::report::{backend_label, hardware_label, model_label};

/// The block for `rec`; the hardware, model and backend labels come from
/// `run` (one of the sweep's run records) when there is one.
pub fn block(rec: &SweepRecord, run: Option<&tokbench_record::Record>) -> Block {
    let mut rows = Vec::new();
    for o in &rec.objectives {
        for r in &o.ranking {
            let vs = r
                .vs_reference_pct
                .map(|p| format!(" ({p:+.1}% vs reference)"))
                .unwrap_or_default();
            rows.push(Row {
                metric: format!("{} · {}", o.label, r.label),
                value: format!("{:.1} {}{vs}", r.median, o.unit),
                gate: Some(gate_text(rec, o.winner.as_deref(), &r.label)),
            });
        }
    }
    for c in rec
        .configs
        .iter()
        .filter(|c| c.status == ConfigStatus::Failed)
    {
        rows.push(Row {
            metric: c.label.clone(),
            value: "-".into(),
            gate: Some(format!("failed: {}", c.reason.as_deref().unwrap_or("?"))),
        });
    }
    let fallback = || rec.model.file_name.clone().unwrap_or_default();
    Block {
        title: format!("Sweep: {}", rec.run.id),
        date: rec.run.started_utc.get(..10).unwrap_or_default().to_owned(),
        hardware: run.map_or_else(|| rec.system.rig_name.clone(), hardware_label),
        model: run.map_or_else(fallback, model_label),
        backend: run.map_or_else(|| rec.backend.clone(), backend_label),
        command: rec.provenance.reproduce.clone(),
        rows,
        note: Some(format!(
            "{} requests measured; every configuration in every round would take {}.",
            rec.requests.measured, rec.requests.exhaustive
        )),
    }
}

/// `winner ✓`, `failed quality ✗`, `missed SLO ✗`, `dropped after round N`
/// or `-`.
fn gate_text(rec: &SweepRecord, winner: Option<&str>, label: &str) -> String {
    let Some(c) = rec.configs.iter().find(|c| c.label == label) else {
        return "-".into();
    };
    if winner == Some(label) {
        return "winner ✓".into();
    }
    if c.quality.as_ref().is_some_and(|q| !q.passed) {
        return "failed quality ✗".into();
    }
    if !c.slo_violations.is_empty() {
        return "missed SLO ✗".into();
    }
    match c.dropped_after_round {
        Some(r) => format!("dropped after round {r}"),
        None => "-".into(),
    }
}

/// Appends the block to `path` and says where.
///
/// # Errors
/// The log does not verify or cannot be written (nothing is written then).
pub fn append(
    path: &Path,
    rec: &SweepRecord,
    run: Option<&tokbench_record::Record>,
) -> anyhow::Result<()> {
    crate::cmd::compare::append_log(path, &block(rec, run))
}
