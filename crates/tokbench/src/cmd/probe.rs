//! `tokbench probe`: print the identity of this machine (CPU, RAM, GPUs, OS,
//! virtualization, optional hand-written rig notes) and a one-second
//! host-load sample, as YAML (default) or JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokbench_probe::{
    load_rig_notes, probe_rig, CompositeProbe, HostLoadConfig, HostLoadSampler, HostLoadSummary,
    ProbeOptions, Rig,
};

/// How long the host-load sample lasts.
const LOAD_SAMPLE: Duration = Duration::from_secs(1);

/// Output format of `tokbench probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeFormat {
    /// YAML, as stored in run records.
    Yaml,
    /// JSON (one document, pretty-printed).
    Json,
}

/// Arguments of `tokbench probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Yaml)]
    pub format: ProbeFormat,
    /// Hand-written rig file (YAML: name, chassis, cooling, psu, notes, tags,
    /// extra) merged into the output, e.g. rigs/NAME.yaml.
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// Leave the hostname out (for results shared publicly).
    #[arg(long)]
    pub no_hostname: bool,
}

/// What `tokbench probe` prints.
#[derive(Debug, Serialize)]
struct ProbeReport {
    #[serde(flatten)]
    rig: Rig,
    /// One-second host-load sample taken while probing.
    host_load: HostLoadSummary,
}

/// Runs `tokbench probe`.
pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    // Read the rig file first so a typo fails before the 1 s sample.
    let notes = args.rig.as_deref().map(load_rig_notes).transpose()?;
    let opts = ProbeOptions {
        include_hostname: !args.no_hostname,
        ..ProbeOptions::default()
    };
    let started = Instant::now();
    let sampler = HostLoadSampler::start(HostLoadConfig {
        root: opts.root.clone(),
        ..HostLoadConfig::default()
    })
    .context("cannot sample host load")?;
    let gpu = CompositeProbe::system(&opts.root);
    let mut rig = probe_rig(&opts, &gpu);
    if let Some(notes) = notes {
        rig = rig.with_notes(notes);
    }
    std::thread::sleep(LOAD_SAMPLE.saturating_sub(started.elapsed()));
    let host_load = sampler.stop().context("host-load sampler failed")?;
    print!("{}", render(&ProbeReport { rig, host_load }, args.format)?);
    Ok(ExitCode::SUCCESS)
}

/// Renders the report; the text ends with a newline.
fn render(report: &ProbeReport, format: ProbeFormat) -> anyhow::Result<String> {
    Ok(match format {
        ProbeFormat::Yaml => serde_saphyr::to_string(report).context("cannot render YAML")?,
        ProbeFormat::Json => {
            serde_json::to_string_pretty(report).context("cannot render JSON")? + "\n"
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokbench_probe::{FakeGpuProbe, GpuInfo, GpuSource, HostLoadConfig, RigNotes};

    fn report() -> ProbeReport {
        let dir = std::env::temp_dir();
        let opts = ProbeOptions {
            root: dir,
            include_hostname: false,
        };
        let gpu = FakeGpuProbe::new(vec![GpuInfo::named(0, GpuSource::Fake, "Fake 3090")]);
        let rig = probe_rig(&opts, &gpu).with_notes(RigNotes {
            name: "bench-box".into(),
            ..RigNotes::default()
        });
        let sampler = HostLoadSampler::start(HostLoadConfig::default()).unwrap();
        ProbeReport {
            rig,
            host_load: sampler.stop().unwrap(),
        }
    }

    #[test]
    fn yaml_and_json_have_the_same_top_level_keys() {
        let r = report();
        let yaml = render(&r, ProbeFormat::Yaml).unwrap();
        for key in ["rig_notes:", "system:", "gpus:", "host_load:"] {
            assert!(
                yaml.lines().any(|l| l.starts_with(key)),
                "{key} missing:\n{yaml}"
            );
        }
        assert!(yaml.contains("name: Fake 3090"));
        let json: serde_json::Value =
            serde_json::from_str(&render(&r, ProbeFormat::Json).unwrap()).unwrap();
        for key in ["rig_notes", "system", "gpus", "host_load"] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert_eq!(json["system"]["hostname"], serde_json::Value::Null);
    }
}
