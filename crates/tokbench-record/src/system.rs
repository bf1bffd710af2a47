//! The machine as recorded: host, GPUs, rig notes, host load, power and the
//! VRAM-fit verdict.
//!
//! These are the record's own types, not the probe's: `tokbench-probe`
//! measures, and the binary converts its results into these
//! (`crates/tokbench/src/bench/convert.rs`), so a new field in a probe
//! struct does not reach schema v1 until it is added here, to the JSON
//! Schema (`docs/record.schema.json`) and to `docs/record-format.md`.
//!
//! Names, fields, serde attributes and doc comments match the probe types
//! they were split from, because schemars turns doc comments into the
//! schema's `description`s. A few doc comments therefore still link to
//! probe items (`ProbeOptions`, `FakeGpuProbe`, `PowerSampler`,
//! `check_vram_fit`) that this crate cannot resolve; changing the text would
//! change the committed schema.

// The doc comments are schema text (see the module docs); some name items of
// tokbench-probe.
#![allow(rustdoc::broken_intra_doc_links)]

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Everything about the host except GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemInfo {
    /// The CPU.
    pub cpu: CpuSummary,
    /// RAM and swap.
    pub memory: MemorySummary,
    /// Operating system and kernel.
    pub os: OsInfo,
    /// Hostname; `None` when disabled by [`ProbeOptions::include_hostname`] or unknown.
    pub hostname: Option<String>,
    /// Container / VM hints.
    pub virtualization: Virtualization,
    /// Facts that could not be read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The CPU as the OS sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CpuSummary {
    /// Marketing name (`/proc/cpuinfo` `model name`, else sysinfo's brand).
    pub model_name: Option<String>,
    /// Vendor (`GenuineIntel`, `AuthenticAMD`; Arm: implementer code or sysinfo's name).
    pub vendor: Option<String>,
    /// Architecture this binary was built for (`x86_64`, `aarch64`).
    pub arch: String,
    /// Physical cores (sysinfo); `None` when the kernel does not say.
    pub physical_cores: Option<usize>,
    /// Logical CPUs (hardware threads) online.
    pub logical_threads: usize,
    /// ISA flags of interest, see [`crate::cpuinfo::X86_FLAGS_OF_INTEREST`].
    pub isa_flags: Vec<String>,
    /// cpufreq scaling governor (`performance`, `powersave`, ...); several
    /// distinct values are joined with `,`. `None` when cpufreq is absent.
    pub governor: Option<String>,
    /// cpufreq driver (`intel_pstate`, `amd-pstate-epp`, `acpi-cpufreq`).
    pub cpufreq_driver: Option<String>,
}

/// RAM and swap, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemorySummary {
    /// Installed RAM visible to the kernel.
    pub ram_total_bytes: u64,
    /// RAM available for new allocations without swapping (`MemAvailable`).
    pub ram_available_bytes: u64,
    /// Swap size.
    pub swap_total_bytes: u64,
    /// Unused swap.
    pub swap_free_bytes: u64,
    /// Memory limit of this process's cgroup, when one is set (containers).
    pub cgroup_limit_bytes: Option<u64>,
}

/// Operating system identity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct OsInfo {
    /// `PRETTY_NAME` from os-release, e.g. `Ubuntu 24.04.1 LTS`.
    pub pretty_name: Option<String>,
    /// `ID` from os-release, e.g. `ubuntu`.
    pub id: Option<String>,
    /// `VERSION_ID` from os-release, e.g. `24.04`.
    pub version_id: Option<String>,
    /// Kernel release (`uname -r`).
    pub kernel_release: Option<String>,
}

/// Heuristic container / VM detection, in the spirit of `systemd-detect-virt`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Virtualization {
    /// Container runtime hint: `docker`, `podman`, `kubernetes`, `lxc`, or
    /// `container` (unknown runtime).
    pub container: Option<String>,
    /// Hypervisor hint: `kvm`, `qemu`, `vmware`, `virtualbox`, `hyperv`, `xen`,
    /// `amazon`, `google`, `wsl`, or `unknown` (only the CPU flag says so).
    pub vm: Option<String>,
    /// What each hint was based on, e.g. `/.dockerenv exists`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// Where a [`GpuInfo`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GpuSource {
    /// NVIDIA Management Library.
    Nvml,
    /// amdgpu sysfs (`/sys/class/drm/card*/device`).
    AmdSysfs,
    /// [`FakeGpuProbe`].
    Fake,
}

/// One GPU. Every reading is optional: drivers differ in what they expose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GpuInfo {
    /// Position in the probe's list (see module docs).
    pub index: usize,
    /// Where the facts came from.
    pub source: GpuSource,
    /// Marketing name (`NVIDIA GeForce RTX 3090`), or for amdgpu without
    /// `product_name`, `AMD GPU [1002:DEVICE]`.
    pub name: String,
    /// Stable identifier: NVML UUID (`GPU-…`) or amdgpu `unique_id`.
    pub uuid: Option<String>,
    /// PCI address, e.g. `0000:01:00.0`.
    pub pci_bus_id: Option<String>,
    /// Device memory installed.
    pub vram_total_bytes: Option<u64>,
    /// Device memory in use at probe time (all processes).
    pub vram_used_bytes: Option<u64>,
    /// amdgpu GTT (system memory mapped for the GPU) size; matters on APUs.
    pub gtt_total_bytes: Option<u64>,
    /// amdgpu GTT in use.
    pub gtt_used_bytes: Option<u64>,
    /// Kernel driver version (NVML `sys_driver_version`).
    pub driver_version: Option<String>,
    /// Highest CUDA version the driver supports, `MAJOR.MINOR`.
    pub cuda_driver_version: Option<String>,
    /// Power limits and draw.
    pub power: GpuPower,
    /// PCIe link.
    pub pcie: PcieLink,
    /// Clocks.
    pub clocks: GpuClocks,
    /// Die temperature, °C.
    pub temperature_c: Option<u32>,
    /// Utilization at probe time, percent (NVML `gpu` rate, amdgpu `gpu_busy_percent`).
    pub busy_pct: Option<u32>,
    /// Memory bus width, bits (NVML); with `clocks.memory_max_mhz` it gives
    /// the theoretical memory bandwidth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bus_width_bits: Option<u32>,
}

impl GpuInfo {
    /// A GPU with a name and nothing else known (index in the run's GPU
    /// list, where the facts came from, marketing name).
    pub fn named(index: usize, source: GpuSource, name: impl Into<String>) -> Self {
        Self {
            index,
            source,
            name: name.into(),
            uuid: None,
            pci_bus_id: None,
            vram_total_bytes: None,
            vram_used_bytes: None,
            gtt_total_bytes: None,
            gtt_used_bytes: None,
            driver_version: None,
            cuda_driver_version: None,
            power: GpuPower::default(),
            pcie: PcieLink::default(),
            clocks: GpuClocks::default(),
            temperature_c: None,
            busy_pct: None,
            memory_bus_width_bits: None,
        }
    }
}

/// Power limits and draw, watts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GpuPower {
    /// Limit in force now (NVML enforced limit; amdgpu `power1_cap`).
    pub limit_w: Option<f64>,
    /// Factory default limit (NVML default; amdgpu `power1_cap_default`).
    pub default_limit_w: Option<f64>,
    /// Lowest settable limit.
    pub min_limit_w: Option<f64>,
    /// Highest settable limit (NVML constraints max; amdgpu `power1_cap_max`).
    pub max_limit_w: Option<f64>,
    /// Draw at probe time (NVML `power_usage`; amdgpu `power1_average` or `power1_input`).
    pub draw_w: Option<f64>,
}

/// PCIe link generation and width, current and maximum. A link at a lower
/// generation than its max is normal at idle (power saving).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PcieLink {
    /// Current generation (1–6).
    pub gen_current: Option<u32>,
    /// Maximum generation of the link (device and slot).
    pub gen_max: Option<u32>,
    /// Current width in lanes.
    pub width_current: Option<u32>,
    /// Maximum width in lanes.
    pub width_max: Option<u32>,
}

/// Clocks, MHz.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GpuClocks {
    /// Graphics/shader clock now.
    pub graphics_mhz: Option<u32>,
    /// Highest graphics clock.
    pub graphics_max_mhz: Option<u32>,
    /// Memory clock now.
    pub memory_mhz: Option<u32>,
    /// Highest memory clock.
    pub memory_max_mhz: Option<u32>,
}

/// Hand-written facts a probe cannot see. Unknown keys are rejected (typos
/// would otherwise vanish silently); free-form facts go under `extra`.
///
/// ```yaml
/// name: garage-3090
/// chassis: Fractal Meshify 2, open side panel
/// cooling: 3 × 140 mm intake, stock GPU cooler
/// psu: 1000 W Platinum
/// notes: GPU power-limited to 300 W with nvidia-smi -pl
/// tags: [consumer, cuda]
/// extra:
///   riser: PCIe 4.0 x16
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RigNotes {
    /// Short name of the rig, used in reports.
    pub name: String,
    /// Case / form factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis: Option<String>,
    /// Cooling setup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooling: Option<String>,
    /// Power supply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psu: Option<String>,
    /// Anything else worth knowing (BIOS settings, power limits, location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Labels for grouping results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free-form key/value facts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Memory bandwidth of the device that decodes, GB/s (10⁹ bytes/s),
    /// for APUs, AMD GPUs and anything the probe cannot read; used for the
    /// decode roofline instead of a measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bandwidth_gb_s: Option<f64>,
    /// Where `memory_bandwidth_gb_s` comes from (e.g. a vendor spec sheet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bandwidth_source: Option<String>,
}

/// Load averages (runnable + uninterruptible tasks, exponentially averaged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoadAvg {
    /// 1-minute average.
    pub one: f64,
    /// 5-minute average.
    pub five: f64,
    /// 15-minute average.
    pub fifteen: f64,
}

/// Summary of a sampled period, with the noise verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostLoadSummary {
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Wall time sampled, seconds.
    pub duration_s: f64,
    /// Logical CPUs (per-CPU lines in `/proc/stat`).
    pub logical_cpus: usize,
    /// Number of intervals measured.
    pub samples: usize,
    /// Load averages just before the start.
    pub load_avg_before: Option<LoadAvg>,
    /// Highest 1-minute load average seen during the period.
    pub load_avg_1m_max: Option<f64>,
    /// Mean busy share of all CPUs, percent (time-weighted).
    pub busy_pct_mean: Option<f64>,
    /// Mean busy share of all CPUs used by untracked processes, percent.
    pub others_busy_pct_mean: Option<f64>,
    /// Highest per-interval `others_busy_pct`.
    pub others_busy_pct_max: Option<f64>,
    /// Mean CPU use of untracked processes, in cores.
    pub others_busy_cores_mean: Option<f64>,
    /// Highest per-interval `others_busy_cores`.
    pub others_busy_cores_max: Option<f64>,
    /// True when the host was too busy for trustworthy numbers (see module docs).
    pub noisy: bool,
    /// Why `noisy` is true; `None` when it is false.
    pub noisy_reason: Option<String>,
    /// Readings that failed during sampling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Power and memory of one GPU over the sampled period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GpuPowerSummary {
    /// GPU index in the probe's list.
    pub index: usize,
    /// Number of power readings that succeeded.
    pub power_samples: usize,
    /// Trapezoid-integrated energy, joules; `None` without two power readings.
    pub energy_j: Option<f64>,
    /// Delta of the GPU's own energy counter, joules, when it has one.
    pub energy_counter_j: Option<f64>,
    /// Time-weighted mean power (`energy_j` / span), watts.
    pub power_mean_w: Option<f64>,
    /// Highest power reading, watts.
    pub power_max_w: Option<f64>,
    /// Highest used-memory reading, bytes (a sampled peak: allocations that
    /// live shorter than the interval can be missed).
    pub vram_peak_used_bytes: Option<u64>,
}

/// Summary of a [`PowerSampler`] run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PowerSummary {
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Wall time from start to stop, seconds.
    pub duration_s: f64,
    /// Per-GPU results.
    pub gpus: Vec<GpuPowerSummary>,
    /// Sum of the GPUs' best energy figure (counter, else trapezoid), joules.
    pub gpu_energy_j: Option<f64>,
    /// CPU package energy from RAPL, joules; `None` when unreadable (see notes).
    pub cpu_package_energy_j: Option<f64>,
    /// Backend peak RSS (`VmHWM`), bytes.
    pub backend_peak_rss_bytes: Option<u64>,
    /// Why figures are missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Verdict of [`check_vram_fit`]; serialized with a `verdict` tag
/// (`fit`, `spill`, `not_applicable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum VramFit {
    /// GPU memory grew by at least the model size.
    Fit {
        /// Growth of used GPU memory, summed over GPUs, bytes.
        delta_bytes: u64,
        /// Bytes the model needs on the GPU, as given.
        model_bytes: u64,
    },
    /// GPU memory grew by less than the model size: part of it is elsewhere.
    Spill {
        /// Growth of used GPU memory, summed over GPUs, bytes.
        delta_bytes: u64,
        /// Bytes the model needs on the GPU, as given.
        model_bytes: u64,
        /// What happened and what to do, for the user.
        message: String,
    },
    /// The check does not apply (CPU-only, unified memory, no readings).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

impl VramFit {
    /// True for [`VramFit::Spill`].
    pub fn is_spill(&self) -> bool {
        matches!(self, Self::Spill { .. })
    }
}
