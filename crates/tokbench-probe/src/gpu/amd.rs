//! AMD GPUs through amdgpu sysfs: `/sys/class/drm/card*/device` with PCI
//! vendor `0x1002`. No library, no root needed.
//!
//! Files read (all optional), per the amdgpu kernel docs
//! (<https://docs.kernel.org/gpu/amdgpu/driver-misc.html>,
//! <https://docs.kernel.org/gpu/amdgpu/thermal.html>):
//! `mem_info_vram_total|used`, `mem_info_gtt_total|used` (bytes),
//! `gpu_busy_percent`, `product_name`, `unique_id`, `uevent`
//! (`PCI_SLOT_NAME`, `PCI_ID`), `current|max_link_speed|width`,
//! `pp_dpm_sclk|mclk`, and `hwmon/hwmon*/power1_cap{,_default,_min,_max}`,
//! `power1_average` / `power1_input` (microwatts), `temp1_input`
//! (millidegrees C).
//!
//! Caveat: on many Radeon cards the PCIe link files describe the link to the
//! card's internal switch, not the slot, so they can read lower than reality.

use std::path::{Path, PathBuf};

use super::{GpuClocks, GpuInfo, GpuPower, GpuProbe, GpuSource, PcieLink};
use crate::util::{read_opt, read_trimmed, read_u64, under};
use crate::ProbeError;

/// amdgpu sysfs probe over the `device` directories found at construction.
#[derive(Debug, Clone)]
pub struct AmdSysfsProbe {
    devices: Vec<AmdCard>,
}

/// One card's sysfs directories, located once so that the samplers'
/// per-tick readings do not list directories again.
#[derive(Debug, Clone)]
struct AmdCard {
    /// `card<N>/device`.
    dir: PathBuf,
    /// Its first `hwmon/hwmon*` directory (power, temperature), if any.
    hwmon: Option<PathBuf>,
}

impl AmdSysfsProbe {
    /// Scans `<root>/sys/class/drm/card<N>/device` for AMD GPUs (sorted by N).
    pub fn new(root: &Path) -> Self {
        let drm = under(root, "/sys/class/drm");
        let mut cards: Vec<(u32, PathBuf)> = std::fs::read_dir(drm)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let n = e.file_name().to_str()?.strip_prefix("card")?.parse().ok()?;
                Some((n, e.path().join("device")))
            })
            .filter(|(_, dev)| read_trimmed(&dev.join("vendor")).as_deref() == Some("0x1002"))
            .collect();
        cards.sort();
        Self {
            devices: cards
                .into_iter()
                .map(|(_, dir)| AmdCard {
                    hwmon: Self::hwmon(&dir),
                    dir,
                })
                .collect(),
        }
    }

    fn hwmon(dev: &Path) -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(dev.join("hwmon"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        dirs.sort();
        dirs.into_iter().next()
    }

    fn describe(card: &AmdCard, index: usize) -> GpuInfo {
        let dev = &card.dir;
        let uevent = read_opt(&dev.join("uevent")).unwrap_or_default();
        let field = |key: &str| {
            uevent
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        let device_id = read_trimmed(&dev.join("device"))
            .map(|d| d.trim_start_matches("0x").to_string())
            .or_else(|| field("PCI_ID").and_then(|p| Some(p.split_once(':')?.1.to_lowercase())));
        let name = read_trimmed(&dev.join("product_name"))
            .unwrap_or_else(|| format!("AMD GPU [1002:{}]", device_id.as_deref().unwrap_or("?")));
        let mut g = GpuInfo::named(index, GpuSource::AmdSysfs, name);
        g.uuid = read_trimmed(&dev.join("unique_id"));
        g.pci_bus_id = field("PCI_SLOT_NAME");
        g.vram_total_bytes = read_u64(&dev.join("mem_info_vram_total"));
        g.vram_used_bytes = read_u64(&dev.join("mem_info_vram_used"));
        g.gtt_total_bytes = read_u64(&dev.join("mem_info_gtt_total"));
        g.gtt_used_bytes = read_u64(&dev.join("mem_info_gtt_used"));
        g.busy_pct = read_u64(&dev.join("gpu_busy_percent")).and_then(|v| u32::try_from(v).ok());
        g.pcie = PcieLink {
            gen_current: read_trimmed(&dev.join("current_link_speed")).and_then(|s| pcie_gen(&s)),
            gen_max: read_trimmed(&dev.join("max_link_speed")).and_then(|s| pcie_gen(&s)),
            width_current: read_u64(&dev.join("current_link_width"))
                .and_then(|v| v.try_into().ok()),
            width_max: read_u64(&dev.join("max_link_width")).and_then(|v| v.try_into().ok()),
        };
        let (graphics_mhz, graphics_max_mhz) =
            read_opt(&dev.join("pp_dpm_sclk")).map_or((None, None), |t| parse_dpm(&t));
        let (memory_mhz, memory_max_mhz) =
            read_opt(&dev.join("pp_dpm_mclk")).map_or((None, None), |t| parse_dpm(&t));
        g.clocks = GpuClocks {
            graphics_mhz,
            graphics_max_mhz,
            memory_mhz,
            memory_max_mhz,
        };
        if let Some(h) = &card.hwmon {
            let watts = |f: &str| read_u64(&h.join(f)).map(|uw| uw as f64 / 1e6);
            g.power = GpuPower {
                limit_w: watts("power1_cap"),
                default_limit_w: watts("power1_cap_default"),
                min_limit_w: watts("power1_cap_min"),
                max_limit_w: watts("power1_cap_max"),
                draw_w: draw_w(h),
            };
            g.temperature_c =
                read_u64(&h.join("temp1_input")).and_then(|m| u32::try_from(m / 1000).ok());
        }
        g
    }
}

/// Power draw from a hwmon directory, watts: `power1_average`, else
/// `power1_input` (both microwatts).
fn draw_w(hwmon: &Path) -> Option<f64> {
    let uw = read_u64(&hwmon.join("power1_average"))
        .or_else(|| read_u64(&hwmon.join("power1_input")))?;
    Some(uw as f64 / 1e6)
}

/// PCIe generation from a sysfs link speed such as `16.0 GT/s PCIe`.
pub(crate) fn pcie_gen(speed: &str) -> Option<u32> {
    let gts: f64 = speed.split_whitespace().next()?.parse().ok()?;
    [
        (2.5, 1),
        (5.0, 2),
        (8.0, 3),
        (16.0, 4),
        (32.0, 5),
        (64.0, 6),
    ]
    .iter()
    .find(|(s, _)| (gts - s).abs() < 0.01)
    .map(|(_, g)| *g)
}

/// `(current, max)` MHz from a `pp_dpm_*` table (`1: 2100Mhz *`; the `*`
/// marks the active level).
pub(crate) fn parse_dpm(text: &str) -> (Option<u32>, Option<u32>) {
    let mut current = None;
    let mut max = None;
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(':') else {
            continue;
        };
        let rest = rest.trim();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(mhz) = digits.parse::<u32>() else {
            continue;
        };
        max = max.max(Some(mhz));
        if rest.ends_with('*') {
            current = Some(mhz);
        }
    }
    (current, max)
}

impl GpuProbe for AmdSysfsProbe {
    fn device_count(&self) -> usize {
        self.devices.len()
    }

    fn gpus(&self) -> Result<Vec<GpuInfo>, ProbeError> {
        Ok(self
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| Self::describe(d, i))
            .collect())
    }

    fn memory_used_bytes(&self, index: usize) -> Option<u64> {
        read_u64(&self.devices.get(index)?.dir.join("mem_info_vram_used"))
    }

    fn power_draw_w(&self, index: usize) -> Option<f64> {
        draw_w(self.devices.get(index)?.hwmon.as_ref()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::util::testing::write_file as write;

    /// A fake tree: card1 is a 7900 XTX-like AMD card, card0 an Intel iGPU,
    /// card1-DP-1 a connector.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let drm = dir.path().join("sys/class/drm");
        write(&drm.join("card0/device/vendor"), "0x8086\n");
        write(&drm.join("card1-DP-1/status"), "connected\n");
        let d = drm.join("card1/device");
        write(&d.join("vendor"), "0x1002\n");
        write(&d.join("device"), "0x744c\n");
        write(
            &d.join("uevent"),
            "DRIVER=amdgpu\nPCI_ID=1002:744C\nPCI_SLOT_NAME=0000:03:00.0\n",
        );
        write(&d.join("mem_info_vram_total"), "25753026560\n");
        write(&d.join("mem_info_vram_used"), "1073741824\n");
        write(&d.join("mem_info_gtt_total"), "33554432000\n");
        write(&d.join("mem_info_gtt_used"), "20971520\n");
        write(&d.join("gpu_busy_percent"), "3\n");
        write(&d.join("current_link_speed"), "16.0 GT/s PCIe\n");
        write(&d.join("max_link_speed"), "16.0 GT/s PCIe\n");
        write(&d.join("current_link_width"), "16\n");
        write(&d.join("max_link_width"), "16\n");
        write(
            &d.join("pp_dpm_sclk"),
            "0: 500Mhz\n1: 1200Mhz *\n2: 2526Mhz\n",
        );
        write(
            &d.join("pp_dpm_mclk"),
            "0: 96Mhz\n1: 456Mhz\n2: 1249Mhz *\n",
        );
        let h = d.join("hwmon/hwmon3");
        write(&h.join("power1_cap"), "303000000\n");
        write(&h.join("power1_cap_default"), "303000000\n");
        write(&h.join("power1_cap_max"), "355000000\n");
        write(&h.join("power1_average"), "27000000\n");
        write(&h.join("temp1_input"), "41000\n");
        dir
    }

    #[test]
    fn finds_only_amd_cards_and_reads_everything() {
        let dir = tree();
        let p = AmdSysfsProbe::new(dir.path());
        assert_eq!(p.device_count(), 1);
        let g = &p.gpus().unwrap()[0];
        assert_eq!(g.source, GpuSource::AmdSysfs);
        assert_eq!(g.name, "AMD GPU [1002:744c]");
        assert_eq!(g.pci_bus_id.as_deref(), Some("0000:03:00.0"));
        assert_eq!(g.vram_total_bytes, Some(25_753_026_560));
        assert_eq!(g.vram_used_bytes, Some(1 << 30));
        assert_eq!(g.gtt_used_bytes, Some(20_971_520));
        assert_eq!(g.busy_pct, Some(3));
        assert_eq!(g.power.limit_w, Some(303.0));
        assert_eq!(g.power.default_limit_w, Some(303.0));
        assert_eq!(g.power.max_limit_w, Some(355.0));
        assert_eq!(g.power.min_limit_w, None);
        assert_eq!(g.power.draw_w, Some(27.0));
        assert_eq!(g.temperature_c, Some(41));
        assert_eq!(g.pcie.gen_current, Some(4));
        assert_eq!(g.pcie.width_max, Some(16));
        assert_eq!(g.clocks.graphics_mhz, Some(1200));
        assert_eq!(g.clocks.graphics_max_mhz, Some(2526));
        assert_eq!(g.clocks.memory_mhz, Some(1249));
        assert_eq!(p.memory_used_bytes(0), Some(1 << 30));
        assert_eq!(p.power_draw_w(0), Some(27.0));
        assert_eq!(p.memory_used_bytes(1), None);
    }

    #[test]
    fn product_name_and_power1_input_fallback() {
        let dir = tree();
        let d = dir.path().join("sys/class/drm/card1/device");
        write(&d.join("product_name"), "Radeon RX 7900 XTX\n");
        std::fs::remove_file(d.join("hwmon/hwmon3/power1_average")).unwrap();
        write(&d.join("hwmon/hwmon3/power1_input"), "55500000\n");
        let p = AmdSysfsProbe::new(dir.path());
        assert_eq!(p.gpus().unwrap()[0].name, "Radeon RX 7900 XTX");
        assert_eq!(p.power_draw_w(0), Some(55.5));
    }

    #[test]
    fn no_drm_directory_means_no_gpu() {
        let dir = tempfile::tempdir().unwrap();
        let p = AmdSysfsProbe::new(dir.path());
        assert_eq!(p.device_count(), 0);
        assert!(p.gpus().unwrap().is_empty());
    }

    #[test]
    fn link_speeds_and_dpm_tables() {
        assert_eq!(pcie_gen("2.5 GT/s PCIe"), Some(1));
        assert_eq!(pcie_gen("8.0 GT/s PCIe"), Some(3));
        assert_eq!(pcie_gen("32.0 GT/s PCIe"), Some(5));
        assert_eq!(pcie_gen("Unknown"), None);
        assert_eq!(
            parse_dpm("S: 19Mhz\n0: 500Mhz *\n1: 2100Mhz\n"),
            (Some(500), Some(2100))
        );
        assert_eq!(parse_dpm(""), (None, None));
    }
}
