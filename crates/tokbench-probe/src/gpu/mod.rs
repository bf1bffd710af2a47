//! GPUs: what they are ([`GpuInfo`]) and how to read their memory and power
//! while a benchmark runs ([`GpuProbe`]).
//!
//! Indices passed to [`GpuProbe::memory_used_bytes`] and
//! [`GpuProbe::power_draw_w`] are positions in the list returned by that same
//! probe's [`GpuProbe::gpus`] (for [`CompositeProbe`], in the merged list).

mod amd;
mod fake;
mod nvml;

pub use amd::AmdSysfsProbe;
pub use fake::FakeGpuProbe;
pub use nvml::NvmlProbe;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ProbeError;

/// Where a [`GpuInfo`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Width of the memory bus, bits (NVML `nvmlDeviceGetMemoryBusWidth`;
    /// amdgpu sysfs does not expose it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bus_width_bits: Option<u32>,
}

impl GpuInfo {
    /// A GPU with a name and nothing else known.
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

    /// Theoretical peak memory bandwidth, GB/s (10⁹ bytes/s), from
    /// [`GpuInfo::memory_bus_width_bits`] and [`GpuClocks::memory_max_mhz`]
    /// by [`crate::nvml_theoretical_gb_s`]; `None` when either is unknown
    /// (always for amdgpu, whose bus width the probe cannot read).
    pub fn theoretical_bandwidth_gb_s(&self) -> Option<f64> {
        let bits = self.memory_bus_width_bits?;
        let mhz = self.clocks.memory_max_mhz?;
        Some(crate::bandwidth::nvml_theoretical_gb_s(bits, mhz))
    }
}

/// Power limits and draw, watts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Device-memory use of one GPU at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuMemoryReading {
    /// GPU index in the probe's list.
    pub index: usize,
    /// Used device memory; `None` when the driver did not answer.
    pub used_bytes: Option<u64>,
}

/// Access to GPUs. Implementations must be cheap to call from a sampler
/// thread every second, and must not fail for "no GPU here".
pub trait GpuProbe: Send + Sync {
    /// Number of GPUs this probe sees (the length of [`GpuProbe::gpus`]).
    fn device_count(&self) -> usize;

    /// Full description of every GPU.
    ///
    /// # Errors
    /// Only when the probe is broken as a whole; "no GPU" is `Ok(vec![])`.
    fn gpus(&self) -> Result<Vec<GpuInfo>, ProbeError>;

    /// Used device memory of GPU `index`, bytes.
    fn memory_used_bytes(&self, index: usize) -> Option<u64>;

    /// Instantaneous power draw of GPU `index`, watts.
    fn power_draw_w(&self, index: usize) -> Option<f64>;

    /// A monotonic energy counter of GPU `index`, joules, when the hardware
    /// keeps one (NVML on Volta and newer); `None` otherwise.
    fn energy_counter_j(&self, _index: usize) -> Option<f64> {
        None
    }

    /// Why GPUs are missing or readings unavailable (e.g. "NVML unavailable: …").
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Used memory of every GPU, for [`crate::check_vram_fit`].
    fn memory_snapshot(&self) -> Vec<GpuMemoryReading> {
        (0..self.device_count())
            .map(|index| GpuMemoryReading {
                index,
                used_bytes: self.memory_used_bytes(index),
            })
            .collect()
    }
}

/// Several probes merged into one list, in the order given; indices are
/// renumbered across the merged list.
pub struct CompositeProbe {
    probes: Vec<Box<dyn GpuProbe>>,
}

impl CompositeProbe {
    /// Merges `probes`.
    pub fn new(probes: Vec<Box<dyn GpuProbe>>) -> Self {
        Self { probes }
    }

    /// The real probes of this machine: NVML, then amdgpu sysfs under `root`.
    pub fn system(root: &Path) -> Self {
        Self::new(vec![
            Box::new(NvmlProbe::new()),
            Box::new(AmdSysfsProbe::new(root)),
        ])
    }

    /// The probe owning merged index `index`, and the index within it.
    fn locate(&self, mut index: usize) -> Option<(&dyn GpuProbe, usize)> {
        for p in &self.probes {
            let n = p.device_count();
            if index < n {
                return Some((p.as_ref(), index));
            }
            index -= n;
        }
        None
    }
}

impl GpuProbe for CompositeProbe {
    fn device_count(&self) -> usize {
        self.probes.iter().map(|p| p.device_count()).sum()
    }

    fn gpus(&self) -> Result<Vec<GpuInfo>, ProbeError> {
        let mut all = Vec::new();
        for p in &self.probes {
            for mut g in p.gpus()? {
                g.index = all.len();
                all.push(g);
            }
        }
        Ok(all)
    }

    fn memory_used_bytes(&self, index: usize) -> Option<u64> {
        let (p, i) = self.locate(index)?;
        p.memory_used_bytes(i)
    }

    fn power_draw_w(&self, index: usize) -> Option<f64> {
        let (p, i) = self.locate(index)?;
        p.power_draw_w(i)
    }

    fn energy_counter_j(&self, index: usize) -> Option<f64> {
        let (p, i) = self.locate(index)?;
        p.energy_counter_j(i)
    }

    fn notes(&self) -> Vec<String> {
        self.probes.iter().flat_map(|p| p.notes()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn composite_renumbers_and_routes() {
        let a = FakeGpuProbe::new(vec![GpuInfo::named(0, GpuSource::Fake, "A0")])
            .with_memory_readings(0, vec![Some(10)])
            .with_note("a says hi");
        let b = FakeGpuProbe::new(vec![
            GpuInfo::named(0, GpuSource::Fake, "B0"),
            GpuInfo::named(1, GpuSource::Fake, "B1"),
        ])
        .with_memory_readings(1, vec![Some(21)])
        .with_power_readings(1, vec![Some(210.0)]);
        let c = CompositeProbe::new(vec![Box::new(a), Box::new(b)]);
        assert_eq!(c.device_count(), 3);
        let names: Vec<_> = c
            .gpus()
            .unwrap()
            .into_iter()
            .map(|g| (g.index, g.name))
            .collect();
        assert_eq!(
            names,
            [(0, "A0".into()), (1, "B0".into()), (2, "B1".into())]
        );
        assert_eq!(c.memory_used_bytes(0), Some(10));
        assert_eq!(c.memory_used_bytes(1), None);
        assert_eq!(c.memory_used_bytes(2), Some(21));
        assert_eq!(c.power_draw_w(2), Some(210.0));
        assert_eq!(c.memory_used_bytes(3), None);
        assert_eq!(c.notes(), ["a says hi"]);
        let snap = c.memory_snapshot();
        assert_eq!(snap.len(), 3);
        assert_eq!(
            snap[2],
            GpuMemoryReading {
                index: 2,
                used_bytes: Some(21)
            }
        );
    }

    #[test]
    fn composite_propagates_a_broken_probe() {
        let broken = FakeGpuProbe::failing("driver exploded");
        let c = CompositeProbe::new(vec![Box::new(broken)]);
        assert!(matches!(c.gpus(), Err(ProbeError::Gpu(m)) if m == "driver exploded"));
    }

    #[test]
    fn gpu_info_round_trips_through_json() {
        let mut g = GpuInfo::named(0, GpuSource::AmdSysfs, "AMD GPU [1002:744c]");
        g.vram_total_bytes = Some(24 << 30);
        g.power.limit_w = Some(303.0);
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains("\"source\":\"amd-sysfs\""));
        assert!(json.contains("\"vram_total_bytes\":25769803776"));
        assert_eq!(serde_json::from_str::<GpuInfo>(&json).unwrap(), g);
        assert!(!json.contains("memory_bus_width_bits"), "{json}");
    }

    #[test]
    fn theoretical_bandwidth_needs_bus_width_and_memory_clock() {
        let mut g = GpuInfo::named(0, GpuSource::Nvml, "NVIDIA H100 80GB HBM3");
        assert_eq!(g.theoretical_bandwidth_gb_s(), None);
        g.memory_bus_width_bits = Some(5120);
        assert_eq!(g.theoretical_bandwidth_gb_s(), None);
        g.clocks.memory_max_mhz = Some(2619);
        let gb_s = g.theoretical_bandwidth_gb_s().unwrap();
        assert!((gb_s - 3352.32).abs() < 1e-9, "{gb_s}");
        g.memory_bus_width_bits = None;
        assert_eq!(g.theoretical_bandwidth_gb_s(), None);
        let json = serde_json::to_string(&GpuInfo {
            memory_bus_width_bits: Some(384),
            ..g
        })
        .unwrap();
        assert!(json.contains("\"memory_bus_width_bits\":384"), "{json}");
        // Older records without the field still read.
        let old = json.replace(",\"memory_bus_width_bits\":384", "");
        assert_eq!(
            serde_json::from_str::<GpuInfo>(&old)
                .unwrap()
                .memory_bus_width_bits,
            None
        );
    }
}
