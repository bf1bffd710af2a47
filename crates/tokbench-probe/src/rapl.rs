//! CPU package energy from the Linux powercap RAPL interface
//! (<https://docs.kernel.org/power/powercap/powercap.html>):
//! `/sys/class/powercap/intel-rapl:N/energy_uj`, a microjoule counter that
//! wraps at `max_energy_range_uj`. Also present on AMD Zen (same driver).
//!
//! Since Linux 5.10 `energy_uj` is readable by root only (CVE-2020-8694,
//! "PLATYPUS"); then the meter reports `None` with a note.

use std::path::{Path, PathBuf};

use crate::util::{read_trimmed, read_u64, under};

/// One RAPL package domain (`intel-rapl:N` whose `name` is `package-N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaplDomain {
    /// The `name` file, e.g. `package-0`.
    pub name: String,
    /// The domain directory.
    pub dir: PathBuf,
    /// Counter range, microjoules; the counter wraps to 0 past it.
    pub max_energy_range_uj: u64,
}

/// Lists the package domains under `<root>/sys/class/powercap` (sub-domains
/// such as `intel-rapl:0:0` "core" are parts of a package and left out, so
/// energy is not counted twice).
pub fn discover_packages(root: &Path) -> Vec<RaplDomain> {
    let base = under(root, "/sys/class/powercap");
    let mut out: Vec<RaplDomain> = std::fs::read_dir(base)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name();
            let n = file.to_str()?.strip_prefix("intel-rapl:")?;
            if !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let dir = e.path();
            let name = read_trimmed(&dir.join("name"))?;
            let max_energy_range_uj = read_u64(&dir.join("max_energy_range_uj"))?;
            name.starts_with("package").then_some(RaplDomain {
                name,
                dir,
                max_energy_range_uj,
            })
        })
        .collect();
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    out
}

/// Energy between two counter readings, microjoules, allowing for one
/// wraparound: when `cur < prev` the counter passed `max_range` and
/// restarted at 0, so the energy is `(max_range − prev) + cur`.
pub fn energy_delta_uj(prev: u64, cur: u64, max_range: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else {
        max_range.saturating_sub(prev) + cur
    }
}

/// Accumulates package energy across samples. Read it more often than the
/// counter wraps (minutes at server power) so at most one wrap happens
/// between two readings.
#[derive(Debug, Clone)]
pub struct RaplMeter {
    domains: Vec<RaplDomain>,
    last_uj: Vec<u64>,
    total_uj: u64,
}

impl RaplMeter {
    /// Finds the package domains under `root` and takes the first readings.
    ///
    /// # Errors
    /// A note for the run record when there is no RAPL or it is unreadable.
    pub fn start(root: &Path) -> Result<Self, String> {
        let domains = discover_packages(root);
        if domains.is_empty() {
            return Err("no RAPL package domains under /sys/class/powercap".to_string());
        }
        let mut last_uj = Vec::with_capacity(domains.len());
        for d in &domains {
            let path = d.dir.join("energy_uj");
            match std::fs::read_to_string(&path) {
                Ok(t) => last_uj.push(
                    t.trim()
                        .parse()
                        .map_err(|_| format!("{}: not a number", path.display()))?,
                ),
                Err(e) => {
                    return Err(format!(
                        "RAPL counter {} not readable ({e}); it is root-only since Linux 5.10",
                        path.display()
                    ))
                }
            }
        }
        Ok(Self {
            domains,
            last_uj,
            total_uj: 0,
        })
    }

    /// Reads every counter and adds the energy since the last reading. A
    /// domain that fails to read this time is skipped until the next.
    pub fn update(&mut self) {
        for (d, last) in self.domains.iter().zip(self.last_uj.iter_mut()) {
            if let Some(cur) = read_u64(&d.dir.join("energy_uj")) {
                self.total_uj += energy_delta_uj(*last, cur, d.max_energy_range_uj);
                *last = cur;
            }
        }
    }

    /// Energy of all packages since [`RaplMeter::start`], joules.
    pub fn energy_j(&self) -> f64 {
        self.total_uj as f64 / 1e6
    }

    /// The domains being read.
    pub fn domains(&self) -> &[RaplDomain] {
        &self.domains
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::util::testing::write_file as write;

    #[test]
    fn wraparound() {
        assert_eq!(energy_delta_uj(100, 250, 1000), 150);
        assert_eq!(energy_delta_uj(900, 50, 1000), 150);
        assert_eq!(energy_delta_uj(500, 500, 1000), 0);
        // Real range of an Intel package counter.
        let max = 262_143_328_850;
        assert_eq!(energy_delta_uj(max - 1_000_000, 2_000_000, max), 3_000_000);
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let pc = dir.path().join("sys/class/powercap");
        write(&pc.join("intel-rapl/enabled"), "1\n");
        for (d, name, e) in [
            ("intel-rapl:0", "package-0", "900"),
            ("intel-rapl:1", "package-1", "10"),
            ("intel-rapl:0:0", "core", "5"),
            ("intel-rapl:0:1", "dram", "5"),
        ] {
            write(&pc.join(d).join("name"), &format!("{name}\n"));
            write(&pc.join(d).join("max_energy_range_uj"), "1000\n");
            write(&pc.join(d).join("energy_uj"), &format!("{e}\n"));
        }
        dir
    }

    #[test]
    fn meter_sums_packages_across_a_wrap() {
        let dir = tree();
        let names: Vec<_> = discover_packages(dir.path())
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["package-0", "package-1"]);
        let mut m = RaplMeter::start(dir.path()).unwrap();
        let pc = dir.path().join("sys/class/powercap");
        write(&pc.join("intel-rapl:0/energy_uj"), "100\n"); // wrapped: +200
        write(&pc.join("intel-rapl:1/energy_uj"), "310\n"); // +300
        m.update();
        write(&pc.join("intel-rapl:0/energy_uj"), "600\n"); // +500
        m.update();
        assert!((m.energy_j() - 1000e-6).abs() < 1e-12, "{}", m.energy_j());
    }

    #[test]
    fn absent_or_unreadable_rapl_gives_a_note() {
        let empty = tempfile::tempdir().unwrap();
        assert!(RaplMeter::start(empty.path())
            .unwrap_err()
            .contains("no RAPL"));
        let dir = tree();
        std::fs::remove_file(dir.path().join("sys/class/powercap/intel-rapl:1/energy_uj")).unwrap();
        assert!(RaplMeter::start(dir.path())
            .unwrap_err()
            .contains("not readable"));
    }
}
