//! NVIDIA GPUs through NVML (`nvml-wrapper`, which `dlopen`s
//! `libnvidia-ml.so.1` at run time, so the binary builds and runs on machines
//! without the NVIDIA driver).
//!
//! Units from NVML: power in milliwatts, energy in millijoules, clocks in
//! MHz, temperature in °C, memory in bytes; converted to W, J, MHz, °C, bytes.

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::{Device, Nvml};

use super::{GpuClocks, GpuInfo, GpuPower, GpuProbe, GpuSource, PcieLink};
use crate::ProbeError;

/// NVML-backed probe. Construction never fails: without the library or the
/// driver it sees no GPU and says why in [`GpuProbe::notes`].
pub struct NvmlProbe {
    nvml: Option<Nvml>,
    note: Option<String>,
}

impl std::fmt::Debug for NvmlProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlProbe")
            .field("loaded", &self.nvml.is_some())
            .field("note", &self.note)
            .finish()
    }
}

impl Default for NvmlProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl NvmlProbe {
    /// Loads and initializes NVML.
    pub fn new() -> Self {
        match Nvml::init() {
            Ok(nvml) => Self {
                nvml: Some(nvml),
                note: None,
            },
            Err(e) => Self {
                nvml: None,
                note: Some(format!("NVML unavailable (no NVIDIA GPU or driver?): {e}")),
            },
        }
    }

    /// True when NVML loaded and initialized.
    pub fn is_available(&self) -> bool {
        self.nvml.is_some()
    }

    fn device(&self, index: usize) -> Option<Device<'_>> {
        let nvml = self.nvml.as_ref()?;
        nvml.device_by_index(u32::try_from(index).ok()?).ok()
    }
}

/// Milliwatts to watts.
fn mw(v: u32) -> f64 {
    f64::from(v) / 1000.0
}

fn describe(nvml: &Nvml, d: &Device<'_>, index: usize) -> GpuInfo {
    let name = d.name().unwrap_or_else(|_| format!("NVIDIA GPU {index}"));
    let mut g = GpuInfo::named(index, GpuSource::Nvml, name);
    g.uuid = d.uuid().ok();
    g.pci_bus_id = d.pci_info().ok().map(|p| p.bus_id);
    if let Ok(m) = d.memory_info() {
        g.vram_total_bytes = Some(m.total);
        g.vram_used_bytes = Some(m.used);
    }
    g.driver_version = nvml.sys_driver_version().ok();
    g.cuda_driver_version = nvml.sys_cuda_driver_version().ok().map(|v| {
        format!(
            "{}.{}",
            nvml_wrapper::cuda_driver_version_major(v),
            nvml_wrapper::cuda_driver_version_minor(v)
        )
    });
    let constraints = d.power_management_limit_constraints().ok();
    g.power = GpuPower {
        limit_w: d.enforced_power_limit().ok().map(mw),
        default_limit_w: d.power_management_limit_default().ok().map(mw),
        min_limit_w: constraints.as_ref().map(|c| mw(c.min_limit)),
        max_limit_w: constraints.as_ref().map(|c| mw(c.max_limit)),
        draw_w: d.power_usage().ok().map(mw),
    };
    g.pcie = PcieLink {
        gen_current: d.current_pcie_link_gen().ok(),
        gen_max: d.max_pcie_link_gen().ok(),
        width_current: d.current_pcie_link_width().ok(),
        width_max: d.max_pcie_link_width().ok(),
    };
    g.clocks = GpuClocks {
        graphics_mhz: d.clock_info(Clock::Graphics).ok(),
        graphics_max_mhz: d.max_clock_info(Clock::Graphics).ok(),
        memory_mhz: d.clock_info(Clock::Memory).ok(),
        memory_max_mhz: d.max_clock_info(Clock::Memory).ok(),
    };
    g.temperature_c = d.temperature(TemperatureSensor::Gpu).ok();
    g.busy_pct = d.utilization_rates().ok().map(|u| u.gpu);
    g.memory_bus_width_bits = d.memory_bus_width().ok();
    g
}

impl GpuProbe for NvmlProbe {
    fn device_count(&self) -> usize {
        self.nvml
            .as_ref()
            .and_then(|n| n.device_count().ok())
            .map_or(0, |n| n as usize)
    }

    fn gpus(&self) -> Result<Vec<GpuInfo>, ProbeError> {
        let Some(nvml) = self.nvml.as_ref() else {
            return Ok(Vec::new());
        };
        Ok((0..self.device_count())
            .filter_map(|i| self.device(i).map(|d| describe(nvml, &d, i)))
            .collect())
    }

    fn memory_used_bytes(&self, index: usize) -> Option<u64> {
        self.device(index)?.memory_info().ok().map(|m| m.used)
    }

    fn power_draw_w(&self, index: usize) -> Option<f64> {
        self.device(index)?.power_usage().ok().map(mw)
    }

    fn energy_counter_j(&self, index: usize) -> Option<f64> {
        let mj = self.device(index)?.total_energy_consumption().ok()?;
        Some(mj as f64 / 1000.0)
    }

    fn notes(&self) -> Vec<String> {
        self.note.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds on any machine: with NVML the list matches the count; without
    /// it (CI, this dev box) the list is empty, no error, and a note says why.
    #[test]
    fn absent_or_present_never_fails() {
        let p = NvmlProbe::new();
        let gpus = p.gpus();
        assert!(gpus.is_ok());
        let n = gpus.map(|g| g.len()).unwrap_or(usize::MAX);
        assert_eq!(n, p.device_count());
        if !p.is_available() {
            assert_eq!(n, 0);
            assert_eq!(p.notes().len(), 1);
            assert_eq!(p.memory_used_bytes(0), None);
            assert_eq!(p.power_draw_w(0), None);
        }
    }
}
