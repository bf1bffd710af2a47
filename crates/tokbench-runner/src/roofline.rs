//! The decode roofline's run-wide inputs (docs/methodology.md, "Decode
//! roofline"): bytes per token from the model's GGUF header and the KV
//! cache types of the launch, and the bandwidth of the device that decodes
//! — declared in the rig file, measured on the CPU, or NVML's theoretical
//! peak for an NVIDIA GPU.
//!
//! Which device decodes follows the backend's own report
//! (`backend.device`) and llama.cpp's `-ngl`: `-ngl 0` decodes on the CPU,
//! a partial offload has no single bandwidth (no ceiling, said in the
//! notes), a GPU build with every layer offloaded decodes on GPU 0.

use tokbench_gguf::{DecodeBytes, GgmlType, ModelIdentity};
use tokbench_probe::{BandwidthConfig, CpuBandwidth, GpuInfo, Rig};
use tokbench_record::{BandwidthSource, CpuBandwidthMeasurement, DecodeBytesSection, Roofline};

use crate::convert;
use crate::target::Target;

/// llama.cpp's spellings of the KV cache type flags.
const CACHE_TYPE_K: &[&str] = &["-ctk", "--cache-type-k"];
/// llama.cpp's spellings of the V cache type flag.
const CACHE_TYPE_V: &[&str] = &["-ctv", "--cache-type-v"];
/// llama.cpp's spellings of the GPU layer count.
const GPU_LAYERS: &[&str] = &["-ngl", "--gpu-layers", "--n-gpu-layers"];

/// How the bandwidth is obtained in launch mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandwidthSettings {
    /// Measure the CPU's read bandwidth before the first cell (off with
    /// `--no-bandwidth`; a rig-file figure is used instead when given).
    pub measure: bool,
}

impl Default for BandwidthSettings {
    fn default() -> Self {
        Self { measure: true }
    }
}

/// The device whose memory decode reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeDevice {
    Cpu,
    Gpu,
}

/// The roofline inputs of a launched target; `None` when the model has no
/// GGUF identity (attached, or a model id). Everything that cannot be
/// known is said in [`Roofline::notes`]; nothing here fails the run.
pub async fn roofline_inputs(
    target: &Target,
    rig: &Rig,
    settings: BandwidthSettings,
) -> Option<Roofline> {
    let identity = target.identity.as_ref()?;
    let mut notes = Vec::new();
    let command = target.backend.launch_command.clone().unwrap_or_default();
    let (k, v) = (
        flag_value(&command, CACHE_TYPE_K).unwrap_or_else(|| "f16".into()),
        flag_value(&command, CACHE_TYPE_V).unwrap_or_else(|| "f16".into()),
    );
    let (decode_bytes, kv) = bytes_section(identity, &k, &v, &mut notes);
    let device = decode_device(
        &target.backend.device,
        !rig.gpus.is_empty(),
        identity.block_count,
        &command,
        &mut notes,
    );
    let mut roofline = Roofline {
        device: match device {
            Some(DecodeDevice::Gpu) => "gpu".into(),
            Some(DecodeDevice::Cpu) => "cpu".into(),
            None => target.backend.device.clone(),
        },
        bandwidth_gb_s: None,
        bandwidth_source: None,
        bandwidth_source_detail: None,
        cpu_bandwidth: None,
        decode_bytes,
        kv_cache_type_k: k,
        kv_cache_type_v: v,
        kv_bytes_per_position: kv,
        notes,
    };
    let threads = (target.backend.threads)
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or_else(|| default_threads(rig));
    set_bandwidth(&mut roofline, device, rig, threads, settings).await;
    Some(roofline)
}

/// The record's bytes section and KV bytes per position, with notes on
/// what is not modelled.
fn bytes_section(
    identity: &ModelIdentity,
    k: &str,
    v: &str,
    notes: &mut Vec<String>,
) -> (Option<DecodeBytesSection>, Option<f64>) {
    let Some(b) = identity.decode_bytes.as_ref() else {
        let why = identity.decode_bytes_error.as_deref().unwrap_or("unknown");
        notes.push(format!("bytes per token unknown: {why}"));
        return (None, None);
    };
    let kv = match (GgmlType::from_name(k), GgmlType::from_name(v)) {
        (Some(kt), Some(vt)) => b.kv_bytes(kt, vt),
        _ => {
            notes.push(format!(
                "KV cache type {k}/{v} unknown: the KV term is left out"
            ));
            None
        }
    };
    if b.kv.is_none() {
        notes.push(
            "KV cache not modelled for this architecture (MLA or missing \
                    hyper-parameters): the KV term is left out"
                .into(),
        );
    }
    (Some(section(b)), kv)
}

fn section(b: &DecodeBytes) -> DecodeBytesSection {
    DecodeBytesSection {
        weights_bytes: b.weights_bytes,
        dense_bytes: b.dense_bytes,
        expert_bytes_total: b.expert_bytes_total,
        expert_bytes_read: b.expert_bytes_read,
        experts_count: b.experts_count,
        experts_used: b.experts_used,
        lookup_bytes: b.lookup_bytes,
        output_bytes: b.output_bytes,
        output_tied: b.output_tied,
        total_weight_bytes: b.total_weight_bytes,
    }
}

/// Which memory decode reads, `None` (with a note) when it cannot be told:
/// from the backend's device label (`cpu`, `cuda`, …, `unknown` for a
/// template engine that did not say), whether GPUs are visible, the
/// model's layer count and the launch command's `-ngl`.
fn decode_device(
    backend_device: &str,
    has_gpus: bool,
    block_count: Option<u64>,
    command: &[String],
    notes: &mut Vec<String>,
) -> Option<DecodeDevice> {
    match backend_device {
        "cpu" => return Some(DecodeDevice::Cpu),
        "unknown" if !has_gpus => return Some(DecodeDevice::Cpu),
        "unknown" => {
            notes.push("the backend did not say which device it decodes on".into());
            return None;
        }
        _ => {}
    }
    let ngl = flag_value(command, GPU_LAYERS).and_then(|n| n.parse::<i64>().ok());
    let layers = block_count.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX - 1) + 1);
    match ngl {
        Some(0) => Some(DecodeDevice::Cpu),
        Some(n) if n > 0 && n < layers => {
            notes.push(format!(
                "partial offload (-ngl {n} of {layers} layers): decode reads two memories"
            ));
            None
        }
        _ => Some(DecodeDevice::Gpu),
    }
}

/// Fills the bandwidth: the rig file's figure first (whatever the device:
/// its author knows the setup), else a CPU measurement or the GPU's
/// theoretical peak; with the device unknown, none.
async fn set_bandwidth(
    r: &mut Roofline,
    device: Option<DecodeDevice>,
    rig: &Rig,
    threads: usize,
    settings: BandwidthSettings,
) {
    let declared = rig.rig_notes.as_ref().and_then(|n| {
        let gb_s = n.memory_bandwidth_gb_s?;
        Some((gb_s, n.memory_bandwidth_source.clone()))
    });
    if let Some((gb_s, source)) = declared {
        r.bandwidth_gb_s = Some(gb_s);
        r.bandwidth_source = Some(BandwidthSource::RigFile);
        r.bandwidth_source_detail = source;
        return;
    }
    match device {
        None => r.notes.push(
            "no single memory to bound decode (give memory_bandwidth_gb_s in the rig file): \
             no ceiling"
                .into(),
        ),
        Some(DecodeDevice::Cpu) if settings.measure => measure_cpu(r, threads).await,
        Some(DecodeDevice::Cpu) => r
            .notes
            .push("--no-bandwidth and no memory_bandwidth_gb_s in the rig file: no ceiling".into()),
        Some(DecodeDevice::Gpu) => match rig.gpus.first().and_then(gpu_peak) {
            Some((gb_s, name)) => {
                r.bandwidth_gb_s = Some(gb_s);
                r.bandwidth_source = Some(BandwidthSource::NvmlTheoretical);
                r.bandwidth_source_detail = Some(name);
            }
            None => r.notes.push(
                "the GPU's bandwidth is unknown (NVML gives none; give \
                 memory_bandwidth_gb_s in the rig file): no ceiling"
                    .into(),
            ),
        },
    }
}

fn gpu_peak(gpu: &GpuInfo) -> Option<(f64, String)> {
    Some((gpu.theoretical_bandwidth_gb_s()?, gpu.name.clone()))
}

/// Measures on a blocking thread; a failure is a note.
async fn measure_cpu(r: &mut Roofline, threads: usize) {
    let config = BandwidthConfig::new(threads.max(1), std::path::Path::new("/"));
    let joined = tokio::task::spawn_blocking(move || {
        tokbench_probe::measure_cpu_bandwidth(&config).map_err(|e| e.to_string())
    })
    .await;
    match joined.map_err(|e| e.to_string()).and_then(|m| m) {
        Ok(m) => {
            r.bandwidth_gb_s = Some(m.median_gb_s);
            r.bandwidth_source = Some(BandwidthSource::Measured);
            r.cpu_bandwidth = Some(measurement(m));
        }
        Err(e) => r
            .notes
            .push(format!("CPU bandwidth measurement failed: {e}")),
    }
}

/// The record's form of a CPU measurement.
pub fn measurement(m: CpuBandwidth) -> CpuBandwidthMeasurement {
    CpuBandwidthMeasurement {
        method: m.method,
        buffer_bytes: m.buffer_bytes,
        llc_bytes: m.llc_bytes,
        threads: m.threads as u64,
        repeats: m.repeats as u64,
        sweeps_per_repeat: m.sweeps_per_repeat as u64,
        samples_gb_s: m.samples_gb_s,
        median_gb_s: m.median_gb_s,
        spread_pct: m.spread_pct,
        host_load: Some(convert::host_load(m.host_load)),
    }
}

fn default_threads(rig: &Rig) -> usize {
    let cpu = &rig.system.cpu;
    cpu.physical_cores.unwrap_or(cpu.logical_threads.max(1))
}

/// The value of the last occurrence of any of `names` in `command`
/// (`-ctk q8_0` or `--cache-type-k=q8_0`).
fn flag_value(command: &[String], names: &[&str]) -> Option<String> {
    let mut found = None;
    let mut args = command.iter();
    while let Some(arg) = args.next() {
        for name in names {
            if arg == name {
                found = args.next().cloned();
            } else if let Some(v) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                found = Some(v.to_owned());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &str) -> Vec<String> {
        args.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flag_values_take_both_spellings_and_the_last_wins() {
        let c = cmd("llama-server -m x.gguf -ctk q8_0 --cache-type-v=q4_0 --cache-type-k f32");
        assert_eq!(flag_value(&c, CACHE_TYPE_K).as_deref(), Some("f32"));
        assert_eq!(flag_value(&c, CACHE_TYPE_V).as_deref(), Some("q4_0"));
        assert_eq!(flag_value(&c, GPU_LAYERS), None);
        assert_eq!(flag_value(&cmd("x -ngl"), GPU_LAYERS), None);
        let c = cmd("x --n-gpu-layers=12");
        assert_eq!(flag_value(&c, GPU_LAYERS).as_deref(), Some("12"));
    }

    fn device(label: &str, gpus: bool, args: &str) -> (Option<DecodeDevice>, Vec<String>) {
        let mut notes = Vec::new();
        let d = decode_device(label, gpus, Some(30), &cmd(args), &mut notes);
        (d, notes)
    }

    #[test]
    fn the_decoding_device_follows_the_backend_and_ngl() {
        use DecodeDevice::{Cpu, Gpu};
        assert_eq!(device("cpu", true, "x -ngl 99").0, Some(Cpu));
        assert_eq!(device("unknown", false, "x").0, Some(Cpu));
        let (d, notes) = device("unknown", true, "x");
        assert_eq!(d, None);
        assert!(notes[0].contains("did not say"), "{notes:?}");
        assert_eq!(device("cuda", true, "x").0, Some(Gpu));
        assert_eq!(device("cuda", true, "x -ngl 31").0, Some(Gpu));
        assert_eq!(device("cuda", true, "x -ngl -1").0, Some(Gpu));
        assert_eq!(device("cuda", true, "x --gpu-layers=0").0, Some(Cpu));
        let (d, notes) = device("rocm", true, "x -ngl 12");
        assert_eq!(d, None);
        assert!(notes[0].contains("-ngl 12 of 31 layers"), "{notes:?}");
    }
}
