//! Label/value lists ("facts") of a record's model, backend and machine,
//! shown on run pages and merged across records on rig pages.

use serde::Serialize;
use tokbench_record::GpuInfo;
use tokbench_record::{Record, SystemSection};

use crate::format;

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// What it is.
    pub label: String,
    /// The value, as text.
    pub value: String,
    /// Link (relative to the site root), when the value has a page.
    pub href: Option<String>,
    /// Other values seen in other records (rig pages).
    pub also: Option<String>,
    /// Key of its definition in the page's definitions list, if any.
    pub def: Option<String>,
}

impl Fact {
    /// A plain fact.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            href: None,
            also: None,
            def: None,
        }
    }

    /// The same fact, linked.
    pub fn link(mut self, href: String) -> Self {
        self.href = Some(href);
        self
    }
}

/// Pushes `label: value` when `value` is present.
fn opt(out: &mut Vec<Fact>, label: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.push(Fact::new(label, v));
    }
}

/// The model section.
pub fn model(r: &Record) -> Vec<Fact> {
    let m = &r.model;
    let mut out = vec![Fact::new("Model id", m.id.clone())];
    opt(&mut out, "Quant", m.quant.clone());
    opt(
        &mut out,
        "Parameters",
        m.params_label.clone().or(m.params.map(|p| p.to_string())),
    );
    opt(&mut out, "Architecture", m.architecture.clone());
    opt(&mut out, "File", m.file_name.clone());
    opt(&mut out, "File size", m.file_bytes.map(format::bytes));
    opt(&mut out, "SHA-256", m.sha256.clone());
    opt(
        &mut out,
        "Training context",
        m.context_length.map(|c| format!("{c} tokens")),
    );
    opt(
        &mut out,
        "Experts",
        m.experts
            .map(|e| format!("{} per layer, {} used per token", e.count, e.used)),
    );
    opt(&mut out, "Tokenizer", m.tokenizer.clone());
    out
}

/// The backend section.
pub fn backend(r: &Record) -> Vec<Fact> {
    let b = &r.backend;
    let mut out = vec![Fact::new("Server", b.name.clone())];
    opt(&mut out, "Version", b.version.clone());
    opt(&mut out, "Commit", b.commit.clone());
    out.push(Fact::new("Device API", b.device.clone()));
    out.push(Fact::new("URL", b.url.clone()));
    let launched = if b.launched {
        "launched by tokbench"
    } else {
        "attached"
    };
    out.push(Fact::new("Server process", launched));
    opt(
        &mut out,
        "Launch command",
        b.launch_command.as_deref().map(shell_join),
    );
    opt(
        &mut out,
        "Parallel slots",
        b.parallel.map(|p| p.to_string()),
    );
    opt(
        &mut out,
        "Context size",
        b.ctx_size.map(|c| format!("{c} tokens")),
    );
    opt(&mut out, "Threads", b.threads.map(|t| t.to_string()));
    opt(&mut out, "Extra flags", Some(shell_join(&b.flags)));
    opt(&mut out, "Build", b.build_info.clone());
    out.extend(
        b.load_time
            .as_ref()
            .map(crate::engine_facts::load_time_fact),
    );
    out
}

/// Everything probed about the machine (rig notes excluded).
pub fn system(s: &SystemSection) -> Vec<Fact> {
    let mut out = Vec::new();
    if s.gpus.is_empty() {
        out.push(Fact::new("GPU", "none (CPU-only)"));
    }
    for g in &s.gpus {
        gpu(&mut out, g, s.gpus.len() > 1);
    }
    for n in &s.gpu_notes {
        out.push(Fact::new("GPU note", n.clone()));
    }
    let h = &s.host;
    let c = &h.cpu;
    opt(&mut out, "CPU", c.model_name.clone());
    opt(&mut out, "CPU vendor", c.vendor.clone());
    out.push(Fact::new("Architecture", c.arch.clone()));
    let cores = c
        .physical_cores
        .map_or_else(String::new, |p| format!("{p} cores / "));
    out.push(Fact::new(
        "Cores / threads",
        format!("{cores}{} threads", c.logical_threads),
    ));
    opt(&mut out, "ISA flags", Some(c.isa_flags.join(" ")));
    opt(&mut out, "CPU governor", c.governor.clone());
    opt(&mut out, "cpufreq driver", c.cpufreq_driver.clone());
    let mem = &h.memory;
    out.push(Fact::new("RAM", format::bytes(mem.ram_total_bytes)));
    out.push(Fact::new("Swap", format::bytes(mem.swap_total_bytes)));
    opt(
        &mut out,
        "cgroup memory limit",
        mem.cgroup_limit_bytes.map(format::bytes),
    );
    opt(&mut out, "OS", h.os.pretty_name.clone());
    opt(&mut out, "Kernel", h.os.kernel_release.clone());
    let v = &h.virtualization;
    let virt = [v.container.as_deref(), v.vm.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    out.push(Fact::new(
        "Virtualization",
        if virt.is_empty() {
            "none detected".to_owned()
        } else {
            virt
        },
    ));
    opt(&mut out, "Hostname", h.hostname.clone());
    for n in &h.notes {
        out.push(Fact::new("Probe note", n.clone()));
    }
    out
}

/// The facts of one GPU; labels carry the index when there are several.
fn gpu(out: &mut Vec<Fact>, g: &GpuInfo, several: bool) {
    let p = if several {
        format!("GPU {} ", g.index)
    } else {
        "GPU ".to_owned()
    };
    out.push(Fact::new(format!("{p}name"), g.name.clone()));
    opt(
        out,
        &format!("{p}VRAM"),
        g.vram_total_bytes.map(format::bytes),
    );
    opt(
        out,
        &format!("{p}GTT"),
        g.gtt_total_bytes.map(format::bytes),
    );
    opt(out, &format!("{p}power cap"), power_cap(g));
    opt(out, &format!("{p}driver"), g.driver_version.clone());
    opt(
        out,
        &format!("{p}CUDA driver"),
        g.cuda_driver_version.clone(),
    );
    let l = &g.pcie;
    let pcie = match (l.gen_current, l.width_current) {
        (Some(gen), Some(w)) => Some(format!(
            "gen {gen} x{w} (max gen {} x{})",
            l.gen_max.map_or("?".into(), |v| v.to_string()),
            l.width_max.map_or("?".into(), |v| v.to_string())
        )),
        _ => None,
    };
    opt(out, &format!("{p}PCIe link"), pcie);
    let clk = &g.clocks;
    opt(
        out,
        &format!("{p}max clocks"),
        clk.graphics_max_mhz.map(|gr| {
            let mem = clk
                .memory_max_mhz
                .map_or(String::new(), |m| format!(", memory {m} MHz"));
            format!("graphics {gr} MHz{mem}")
        }),
    );
    opt(out, &format!("{p}PCI bus"), g.pci_bus_id.clone());
}

/// `250 W / 300 W max (83% of max)`.
pub fn power_cap(g: &GpuInfo) -> Option<String> {
    let limit = g.power.limit_w?;
    Some(match g.power.max_limit_w {
        Some(max) if max > 0.0 => format!(
            "{} / {} max ({:.0}% of max)",
            format::watts(limit),
            format::watts(max),
            limit / max * 100.0
        ),
        _ => format::watts(limit),
    })
}

/// Joins a command line for display, quoting words with spaces or shell
/// characters in single quotes.
pub fn shell_join(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_join_quotes_when_needed() {
        let args = ["tokbench", "run", "a b", "it's", "--x=1"].map(String::from);
        assert_eq!(shell_join(&args), r"tokbench run 'a b' 'it'\''s' --x=1");
    }

    #[test]
    fn power_cap_percent() {
        let mut g = GpuInfo::named(0, tokbench_record::GpuSource::Fake, "x");
        assert_eq!(power_cap(&g), None);
        g.power.limit_w = Some(250.0);
        assert_eq!(power_cap(&g).unwrap(), "250 W");
        g.power.max_limit_w = Some(300.0);
        assert_eq!(power_cap(&g).unwrap(), "250 W / 300 W max (83% of max)");
    }
}
