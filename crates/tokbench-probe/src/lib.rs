//! Rig identity, host load, VRAM-fit verification and power/energy sampling
//! for tokbench.
//!
//! Everything here is synchronous; the samplers ([`HostLoadSampler`],
//! [`PowerSampler`]) run on std threads between `start` and `stop`. GPU
//! access goes through the [`GpuProbe`] trait: [`NvmlProbe`] (NVIDIA, via
//! `nvml-wrapper`, which loads `libnvidia-ml.so` at run time),
//! [`AmdSysfsProbe`] (amdgpu sysfs), [`FakeGpuProbe`] (tests) and
//! [`CompositeProbe`] (all of them merged). A machine without a GPU or a
//! driver gets an empty GPU list and a note, never an error.
//!
//! Memory bandwidth, the decode roofline's ceiling, lives in [`bandwidth`]:
//! [`measure_cpu_bandwidth`] measures host-memory read bandwidth
//! STREAM-style ([`BandwidthConfig`] in, [`CpuBandwidth`] out, sized by
//! [`default_buffer_bytes`] from [`last_level_cache_bytes`]);
//! [`nvml_theoretical_gb_s`] and [`GpuInfo::theoretical_bandwidth_gb_s`]
//! give a GPU's theoretical peak; [`RigNotes::memory_bandwidth_gb_s`] is the
//! hand-written figure for what the probe cannot read.
//!
//! File-based readers take a `root` so tests can point them at a fake
//! `/proc` / `/sys` tree. All result types are serde-serializable with units
//! in their field names (`_bytes`, `_w`, `_j`, `_mhz`, `_pct`, `_s`).

pub mod bandwidth;
pub mod cpuinfo;
mod error;
pub mod gpu;
pub mod hostload;
pub mod power;
pub mod procfs;
pub mod rapl;
pub mod rig;
pub mod system;
mod ticker;
mod util;
pub mod vram;

pub use bandwidth::{
    default_buffer_bytes, last_level_cache_bytes, measure_cpu_bandwidth, nvml_theoretical_gb_s,
    BandwidthConfig, CpuBandwidth,
};
pub use error::ProbeError;
pub use gpu::{
    AmdSysfsProbe, CompositeProbe, FakeGpuProbe, GpuClocks, GpuInfo, GpuMemoryReading, GpuPower,
    GpuProbe, GpuSource, NvmlProbe, PcieLink,
};
pub use hostload::{HostLoadConfig, HostLoadSample, HostLoadSampler, HostLoadSummary};
pub use power::{
    trapezoid_energy_j, GpuPowerSummary, PowerSampler, PowerSamplerConfig, PowerSummary,
};
pub use procfs::LoadAvg;
pub use rig::{load_rig_notes, parse_rig_notes, probe_rig, Rig, RigNotes};
pub use system::{probe_system, ProbeOptions, SystemInfo};
pub use vram::{check_vram_fit, ComputeDevice, VramFit};
