//! Pairing cells across sides, and what differs between the sides.
//!
//! Two cells are the same measurement when they share a [`CellKey`]: the
//! model (by SHA-256 of the file when recorded, else by id), the workload
//! shape, the concurrency, the request rate and the prompt/output token
//! targets. Everything else (backend version, build, launch flags, rig,
//! tokbench version) is what a comparison is about, and is listed in the
//! header as differing or the same ([`differences`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use tokbench_record::{Cell, Record};

use crate::load::Side;

/// What makes two cells the same measurement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellKey {
    /// `sha256:<hex>` of the model file, else `id:<model id>`.
    pub model: String,
    /// Workload shape, e.g. `chat`.
    pub shape: String,
    /// Concurrency.
    pub concurrency: u64,
    /// Open-loop request rate, req/s, as written (`None`: closed loop).
    pub rate_rps: Option<String>,
    /// Prompt-token target.
    pub prompt_tokens_target: u64,
    /// Output-token target.
    pub output_tokens_target: u64,
}

impl CellKey {
    /// The key of `cell` in `record`.
    pub fn of(record: &Record, cell: &Cell) -> Self {
        let model = match &record.model.sha256 {
            Some(h) => format!("sha256:{h}"),
            None => format!("id:{}", record.model.id),
        };
        Self {
            model,
            shape: cell.shape.clone(),
            concurrency: cell.concurrency,
            rate_rps: cell.rate_rps.map(|r| r.to_string()),
            prompt_tokens_target: cell.prompt_tokens_target,
            output_tokens_target: cell.output_tokens_target,
        }
    }
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} c={}", self.shape, self.concurrency)?;
        if let Some(r) = &self.rate_rps {
            write!(f, " rate={r} req/s")?;
        }
        write!(
            f,
            " (pp {} / tg {})",
            self.prompt_tokens_target, self.output_tokens_target
        )
    }
}

/// The measured cells of a side: key → `(run index, cell index)` of every
/// run that measured it. Skipped cells and cells without metrics are left
/// out.
pub fn cells_of(side: &Side) -> BTreeMap<CellKey, Vec<(usize, usize)>> {
    let mut out: BTreeMap<CellKey, Vec<(usize, usize)>> = BTreeMap::new();
    for (ri, run) in side.runs.iter().enumerate() {
        for (ci, cell) in run.record.cells.iter().enumerate() {
            if cell.skipped.is_none() && cell.metrics.is_some() {
                out.entry(CellKey::of(&run.record, cell))
                    .or_default()
                    .push((ri, ci));
            }
        }
    }
    out
}

/// The model as people read it: its id and quant (`Qwen3-8B Q4_K_M`).
pub fn model_label(r: &Record) -> String {
    let q = r.model.quant.as_deref().unwrap_or("");
    format!("{} {q}", r.model.id).trim().to_owned()
}

/// The rig a record was measured on: its name, CPU and GPUs.
pub fn rig_of(record: &Record) -> String {
    let cpu = record
        .system
        .host
        .cpu
        .model_name
        .as_deref()
        .unwrap_or("unknown CPU");
    let mut rig = format!("{} ({cpu}", record.system.rig_name);
    for g in &record.system.gpus {
        rig.push_str(", ");
        rig.push_str(&g.name);
    }
    rig.push(')');
    rig
}

/// The distinct rigs of every side, in side order.
pub fn rigs(sides: &[Side]) -> Vec<BTreeSet<String>> {
    sides
        .iter()
        .map(|s| s.runs.iter().map(|r| rig_of(&r.record)).collect())
        .collect()
}

/// One property of the sides, with its distinct values per side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    /// What it is, e.g. `backend version`.
    pub name: &'static str,
    /// Per side, its distinct values joined with `, `.
    pub values: Vec<String>,
    /// `true` when any side's values differ from another's, or a side
    /// pools runs with different values.
    pub differs: bool,
}

type Getter = fn(&Record) -> String;

const PROPERTIES: [(&str, Getter); 9] = [
    ("model", model_label),
    ("backend", |r| r.backend.name.clone()),
    ("backend version", |r| opt(r.backend.version.as_deref())),
    ("backend build", |r| {
        opt(r
            .backend
            .commit
            .as_deref()
            .or(r.backend.build_info.as_deref()))
    }),
    ("launch flags", launch_flags),
    ("device", |r| r.backend.device.clone()),
    ("rig", rig_of),
    ("tokbench version", |r| match &r.run.tokbench_commit {
        Some(c) => format!("{} ({c})", r.run.tokbench_version),
        None => r.run.tokbench_version.clone(),
    }),
    ("host load", |r| {
        if r.run.flags.noisy {
            "noisy".to_owned()
        } else {
            "quiet".to_owned()
        }
    }),
];

fn opt(s: Option<&str>) -> String {
    s.unwrap_or("unknown").to_owned()
}

/// Threads, parallel slots, context size and the extra flags a backend was
/// launched with.
pub fn launch_flags(r: &Record) -> String {
    let b = &r.backend;
    let mut parts = Vec::new();
    if let Some(t) = b.threads {
        parts.push(format!("--threads {t}"));
    }
    if let Some(p) = b.parallel {
        parts.push(format!("--parallel {p}"));
    }
    if let Some(c) = b.ctx_size {
        parts.push(format!("--ctx-size {c}"));
    }
    parts.extend(b.flags.iter().cloned());
    if parts.is_empty() {
        "none recorded".to_owned()
    } else {
        parts.join(" ")
    }
}

/// What differs between the sides and what is the same, property by
/// property (model, backend, version, build, launch flags, device, rig,
/// tokbench version, host load).
pub fn differences(sides: &[Side]) -> Vec<Property> {
    PROPERTIES
        .iter()
        .map(|(name, get)| {
            let sets: Vec<BTreeSet<String>> = sides
                .iter()
                .map(|s| s.runs.iter().map(|r| get(&r.record)).collect())
                .collect();
            let differs = sets.iter().any(|s| s.len() > 1) || sets.windows(2).any(|w| w[0] != w[1]);
            let values = sets
                .into_iter()
                .map(|s| s.into_iter().collect::<Vec<_>>().join(", "))
                .collect();
            Property {
                name,
                values,
                differs,
            }
        })
        .collect()
}
