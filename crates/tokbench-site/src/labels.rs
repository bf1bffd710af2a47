//! Short human labels of a record's hardware, backend and flags, used in
//! table rows and chart bars.

use serde::Serialize;
use tokbench_record::{Record, SystemSection};

use crate::format;

/// A visible flag on a row or run page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Badge {
    /// `noisy`, `prompt-cache`, `incomplete` or `spill` (also the CSS
    /// class).
    pub kind: &'static str,
    /// Why, for the tooltip.
    pub title: String,
}

/// GPU (or CPU) summary: `2× NVIDIA GeForce RTX 3090 · 24 GiB · 250 W cap ·
/// drv 595.58.03`; a CPU-only rig: `AMD Ryzen 9 7900 · 64 GiB RAM`.
pub fn hardware(sys: &SystemSection) -> String {
    let Some(first) = sys.gpus.first() else {
        let cpu = sys.host.cpu.model_name.as_deref().unwrap_or("CPU");
        return format!(
            "{cpu} · {} RAM",
            format::bytes(sys.host.memory.ram_total_bytes)
        );
    };
    let same = sys.gpus.iter().all(|g| g.name == first.name);
    let mut parts = vec![if sys.gpus.len() > 1 && same {
        format!("{}× {}", sys.gpus.len(), first.name)
    } else if sys.gpus.len() > 1 {
        let names: Vec<&str> = sys.gpus.iter().map(|g| g.name.as_str()).collect();
        names.join(" + ")
    } else {
        first.name.clone()
    }];
    if let Some(v) = first.vram_total_bytes {
        parts.push(format::bytes(v));
    }
    if let Some(w) = first.power.limit_w {
        parts.push(format!("{} cap", format::watts(w)));
    }
    if let Some(d) = &first.driver_version {
        parts.push(format!("drv {d}"));
    }
    parts.join(" · ")
}

/// The GPU name, or the CPU model on a CPU-only rig (chart labels).
pub fn hardware_short(sys: &SystemSection) -> String {
    match sys.gpus.first() {
        Some(g) if sys.gpus.len() > 1 => format!("{}× {}", sys.gpus.len(), g.name),
        Some(g) => g.name.clone(),
        None => sys
            .host
            .cpu
            .model_name
            .clone()
            .unwrap_or_else(|| "CPU".into()),
    }
}

/// `llama.cpp b7100 (cuda)`.
pub fn backend(r: &Record) -> String {
    match &r.backend.version {
        Some(v) => format!("{} {v} ({})", r.backend.name, r.backend.device),
        None => format!("{} ({})", r.backend.name, r.backend.device),
    }
}

/// Backend name and device without the version, for the filter:
/// `llama.cpp (cuda)`.
pub fn backend_family(r: &Record) -> String {
    format!("{} ({})", r.backend.name, r.backend.device)
}

/// The record's own flags, as badges.
pub fn record_badges(r: &Record) -> Vec<Badge> {
    let mut out = Vec::new();
    let load = r.run.host_load.as_ref();
    if r.run.flags.noisy || load.is_some_and(|l| l.noisy) {
        let why = load.and_then(|l| l.noisy_reason.clone());
        out.push(Badge {
            kind: "noisy",
            title: why
                .unwrap_or_else(|| "Other processes loaded the host during measurement.".into()),
        });
    }
    if r.run.flags.prompt_cache {
        out.push(Badge {
            kind: "prompt-cache",
            title: "The server served more of some prompts from its cache than the shape \
                    shares: TTFT and prefill of those cells are not (all) prompt processing."
                .into(),
        });
    }
    if r.run.flags.incomplete {
        let why = r.run.incomplete_reason.clone();
        out.push(Badge {
            kind: "incomplete",
            title: why.unwrap_or_else(|| "The run stopped early.".into()),
        });
    }
    out.extend(reasoning_badge(r));
    if r.run.flags.spill || r.resources.vram_fit.is_spill() {
        let why = match &r.resources.vram_fit {
            tokbench_record::VramFit::Spill { message, .. } => message.clone(),
            _ => "The model did not fit in VRAM; recorded with --allow-spill.".into(),
        };
        out.push(Badge {
            kind: "spill",
            title: why,
        });
    }
    out
}

/// `reasoning` when some cell streamed reasoning tokens: gen tok/s then
/// includes thinking; the table's Answer tok/s column and the run page
/// give the answer rate (docs/methodology.md#reasoning).
fn reasoning_badge(r: &Record) -> Option<Badge> {
    let tokens: u64 = r
        .cells
        .iter()
        .filter_map(|c| c.metrics.as_ref())
        .map(|m| m.total_reasoning_tokens)
        .sum();
    if tokens == 0 {
        return None;
    }
    let mut title = format!(
        "{tokens} reasoning tokens: gen tok/s includes thinking; Answer tok/s counts \
         answer tokens per second of generation."
    );
    if let Some(x) = r.run.reasoning.as_ref().filter(|x| x.obeyed == Some(false)) {
        title.push_str(&format!(" --reasoning {} was not obeyed.", x.mode));
    }
    Some(Badge {
        kind: "reasoning",
        title,
    })
}

/// Badge for a row whose cells (at one concurrency) were noisy although
/// the record as a whole is not flagged.
pub fn cell_noisy_badge() -> Badge {
    Badge {
        kind: "noisy",
        title: "Other processes loaded the host while this concurrency level was measured.".into(),
    }
}
