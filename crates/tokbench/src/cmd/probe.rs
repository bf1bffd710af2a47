//! `tokbench probe`: print the identity of this machine (CPU, RAM, GPUs, OS,
//! virtualization, optional hand-written rig notes) and a one-second
//! host-load sample, as YAML (default) or JSON. With `--bandwidth`, also a
//! measured host-memory read bandwidth (the decode roofline's ceiling).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokbench_probe::{
    default_buffer_bytes, load_rig_notes, measure_cpu_bandwidth, probe_rig, BandwidthConfig,
    CompositeProbe, CpuBandwidth, HostLoadConfig, HostLoadSampler, HostLoadSummary, ProbeOptions,
    Rig, SystemInfo,
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
    /// Also measure host-memory read bandwidth (STREAM-style multi-threaded
    /// sum over a buffer several times the last-level cache), printed under
    /// `bandwidth:` in GB/s (10^9 bytes/s). Takes a few seconds.
    #[arg(long)]
    pub bandwidth: bool,
    /// Reader threads for --bandwidth [default: physical cores, else logical CPUs].
    #[arg(long, value_name = "N", requires = "bandwidth", value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// Buffer size for --bandwidth, MiB (at least 1) [default: max(4 × last-level
    /// cache, 256 MiB)].
    #[arg(long, value_name = "M", requires = "bandwidth", value_parser = at_least_one)]
    pub bandwidth_buffer_mib: Option<usize>,
    /// Timed passes for --bandwidth, after one untimed warm-up pass.
    #[arg(long, value_name = "N", requires = "bandwidth", value_parser = at_least_one,
          default_value_t = tokbench_probe::bandwidth::DEFAULT_REPEATS)]
    pub repeats: usize,
}

/// An integer ≥ 1.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

/// What `tokbench probe` prints.
#[derive(Debug, Serialize)]
struct ProbeReport {
    #[serde(flatten)]
    rig: Rig,
    /// One-second host-load sample taken while probing.
    host_load: HostLoadSummary,
    /// Measured host-memory read bandwidth, with `--bandwidth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    bandwidth: Option<CpuBandwidth>,
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
    let bandwidth = match bandwidth_config(&args, &rig.system, &opts)? {
        Some(cfg) => Some(measure_cpu_bandwidth(&cfg).context("cannot measure memory bandwidth")?),
        None => None,
    };
    let report = ProbeReport {
        rig,
        host_load,
        bandwidth,
    };
    print!("{}", render(&report, args.format)?);
    Ok(ExitCode::SUCCESS)
}

/// The bandwidth measurement `args` ask for, if any: `--threads` or the
/// physical cores of `system` (logical CPUs when unknown), `--bandwidth-buffer-mib`
/// or [`default_buffer_bytes`], `--repeats`.
fn bandwidth_config(
    args: &ProbeArgs,
    system: &SystemInfo,
    opts: &ProbeOptions,
) -> anyhow::Result<Option<BandwidthConfig>> {
    if !args.bandwidth {
        return Ok(None);
    }
    let threads = args.threads.unwrap_or_else(|| {
        system
            .cpu
            .physical_cores
            .unwrap_or(system.cpu.logical_threads)
            .max(1)
    });
    let buffer_bytes = match args.bandwidth_buffer_mib {
        Some(mib) => u64::try_from(mib)
            .ok()
            .and_then(|m| m.checked_mul(1 << 20))
            .context("--bandwidth-buffer-mib is too large")?,
        None => default_buffer_bytes(&opts.root),
    };
    Ok(Some(BandwidthConfig {
        threads,
        buffer_bytes,
        repeats: args.repeats,
        root: opts.root.clone(),
    }))
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
            memory_bandwidth_gb_s: Some(273.0),
            memory_bandwidth_source: Some("vendor spec sheet".into()),
            ..RigNotes::default()
        });
        let sampler = HostLoadSampler::start(HostLoadConfig::default()).unwrap();
        let cfg = BandwidthConfig {
            threads: 1,
            buffer_bytes: 1 << 20,
            repeats: 1,
            root: "/".into(),
        };
        ProbeReport {
            rig,
            host_load: sampler.stop().unwrap(),
            bandwidth: Some(measure_cpu_bandwidth(&cfg).unwrap()),
        }
    }

    fn args(line: &[&str]) -> ProbeArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            probe: ProbeArgs,
        }
        <Cli as clap::Parser>::try_parse_from(std::iter::once("probe").chain(line.iter().copied()))
            .unwrap()
            .probe
    }

    #[test]
    fn bandwidth_config_defaults_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ProbeOptions {
            root: dir.path().to_path_buf(),
            include_hostname: false,
        };
        let mut system = probe_rig(&opts, &FakeGpuProbe::new(Vec::new())).system;
        system.cpu.physical_cores = Some(6);
        system.cpu.logical_threads = 12;
        assert!(bandwidth_config(&args(&[]), &system, &opts)
            .unwrap()
            .is_none());
        let cfg = bandwidth_config(&args(&["--bandwidth"]), &system, &opts)
            .unwrap()
            .unwrap();
        assert_eq!(
            (cfg.threads, cfg.buffer_bytes, cfg.repeats),
            (6, 256 << 20, 5)
        );
        assert_eq!(cfg.root, dir.path());
        system.cpu.physical_cores = None;
        let line = [
            "--bandwidth",
            "--bandwidth-buffer-mib",
            "3",
            "--repeats",
            "2",
        ];
        let cfg = bandwidth_config(&args(&line), &system, &opts)
            .unwrap()
            .unwrap();
        assert_eq!(
            (cfg.threads, cfg.buffer_bytes, cfg.repeats),
            (12, 3 << 20, 2)
        );
        let cfg = bandwidth_config(&args(&["--bandwidth", "--threads", "2"]), &system, &opts)
            .unwrap()
            .unwrap();
        assert_eq!(cfg.threads, 2);
    }

    #[test]
    fn bandwidth_flags_are_checked() {
        type Cli = clap::Command;
        let cmd = || <ProbeArgs as clap::Args>::augment_args(Cli::new("probe"));
        for (line, why) in [
            (&["--repeats", "2"][..], "--bandwidth"),
            (&["--threads", "2"][..], "--bandwidth"),
            (&["--bandwidth-buffer-mib", "8"][..], "--bandwidth"),
            (&["--bandwidth", "--repeats", "0"][..], "must be at least 1"),
            (&["--bandwidth", "--threads", "x"][..], "not a whole number"),
        ] {
            let e = cmd()
                .try_get_matches_from(std::iter::once("probe").chain(line.iter().copied()))
                .unwrap_err();
            assert!(e.to_string().contains(why), "{line:?}: {e}");
        }
    }

    #[test]
    fn yaml_and_json_have_the_same_top_level_keys() {
        let r = report();
        let yaml = render(&r, ProbeFormat::Yaml).unwrap();
        for key in ["rig_notes:", "system:", "gpus:", "host_load:", "bandwidth:"] {
            assert!(
                yaml.lines().any(|l| l.starts_with(key)),
                "{key} missing:\n{yaml}"
            );
        }
        assert!(yaml.contains("name: Fake 3090"));
        assert!(yaml.contains("  memory_bandwidth_gb_s: 273.0"), "{yaml}");
        assert!(yaml.contains("  method: stream-read-sum"), "{yaml}");
        let json: serde_json::Value =
            serde_json::from_str(&render(&r, ProbeFormat::Json).unwrap()).unwrap();
        for key in ["rig_notes", "system", "gpus", "host_load", "bandwidth"] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert_eq!(json["rig_notes"]["memory_bandwidth_gb_s"], 273.0);
        assert_eq!(json["bandwidth"]["repeats"], 1);
        assert_eq!(json["system"]["hostname"], serde_json::Value::Null);
    }
}
