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

/// Threads, parallel slots and context size as recorded, then every other
/// word of the launch command ([`launch_args`]): `--threads 2 --parallel 1
/// --ctx-size 256 --metrics --no-ui`. Without a recorded launch command
/// (attach mode, older records), the extra flags (`--backend-arg`).
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
    match b.launch_command.as_deref() {
        Some(command) => parts.extend(launch_args(command, r.model.file_name.as_deref())),
        None => parts.extend(b.flags.iter().cloned()),
    }
    if parts.is_empty() {
        "none recorded".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Flags whose value says where a run was (`--port`, `--host`, the model
/// path) or is shown as recorded (threads, slots, context: a server may
/// round the context it was asked for); [`launch_args`] leaves them and
/// their values out.
const SHOWN_APART: [&str; 11] = [
    "--port",
    "--host",
    "-m",
    "--model",
    "--threads",
    "-t",
    "--parallel",
    "-np",
    "--ctx-size",
    "-c",
    "--max-model-len",
];

/// The words of a launch command (`argv`) that say how the server was
/// launched: without the program (its path differs between machines), the
/// model file (`model_file`, matched by file name), and, with their values
/// (`--port 8080` and `--port=8080` alike), `--port`, `--host`, `-m`/`--model`
/// and the threads, slots and context flags that [`launch_flags`] shows as
/// recorded. Two launches with the same result launched the same server the
/// same way, whatever the recipe or template that built the command.
pub fn launch_args(command: &[String], model_file: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = command.iter().skip(1);
    while let Some(w) = words.next() {
        let (name, inline_value) = match w.split_once('=') {
            Some((n, _)) if n.starts_with('-') => (n, true),
            _ => (w.as_str(), false),
        };
        if SHOWN_APART.contains(&name) {
            if !inline_value {
                words.next();
            }
            continue;
        }
        let file = std::path::Path::new(w).file_name();
        if model_file.is_some_and(|m| file.is_some_and(|f| f == m)) {
            continue;
        }
        out.push(w.clone());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn launch_args_keep_how_and_drop_where() {
        // The built-in recipe's command and a template's for the same server
        // (GPU measurement of 2026-12-04): only `--no-ui` tells them apart.
        let recipe = words(
            "/opt/llama/bin/llama-server -m /tmp/m/smollm2.gguf --host 127.0.0.1 --port 38665 \
             --parallel 4 --ctx-size 2536 --threads 16 --metrics --no-ui",
        );
        let template = words(
            "llama-server -m /other/smollm2.gguf --host 127.0.0.1 --port=39311 \
             --parallel 4 --ctx-size 2536 --threads 16 --metrics",
        );
        assert_eq!(
            launch_args(&recipe, Some("smollm2.gguf")),
            ["--metrics", "--no-ui"]
        );
        assert_eq!(launch_args(&template, Some("smollm2.gguf")), ["--metrics"]);
        // A positional model (vLLM) is left out by file name; other values stay.
        let vllm = words("vllm serve /m/smollm2.gguf --port 8000 --max-model-len=4096 -tp 2");
        assert_eq!(
            launch_args(&vllm, Some("smollm2.gguf")),
            ["serve", "-tp", "2"]
        );
        assert_eq!(
            launch_args(&vllm, None),
            ["serve", "/m/smollm2.gguf", "-tp", "2"]
        );
    }
}
