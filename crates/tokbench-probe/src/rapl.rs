//! CPU package energy from the Linux powercap RAPL interface
//! (<https://docs.kernel.org/power/powercap/powercap.html>):
//! `/sys/class/powercap/intel-rapl:N/energy_uj`, a microjoule counter that
//! wraps at `max_energy_range_uj`. Also present on AMD Zen (same driver).
//!
//! Since Linux 5.10 `energy_uj` is readable by root only (CVE-2020-8694,
//! "PLATYPUS"); then the meter reports `None` with a note.

use std::io;
use std::path::{Path, PathBuf};

use crate::util::{read_trimmed, read_u64, under};

/// Why a [`RaplMeter`] could not start. Its text is the note a run record
/// carries in place of the CPU package energy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RaplError {
    /// No package domain under the powercap folder: no RAPL driver, or a
    /// CPU without it.
    #[error("no RAPL package domains under {}", dir.display())]
    NoPackages {
        /// `<root>/sys/class/powercap`.
        dir: PathBuf,
    },
    /// A counter exists but this user may not read it.
    #[error(
        "RAPL counter {} not readable (permission denied); it is root-only since Linux 5.10",
        path.display()
    )]
    PermissionDenied {
        /// The `energy_uj` file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A domain's counter file is absent (a partial driver, or the domain
    /// went away between listing and reading).
    #[error("RAPL counter {} is missing", path.display())]
    Missing {
        /// The `energy_uj` file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Reading a counter failed otherwise.
    #[error("RAPL counter {} not readable ({source})", path.display())]
    Io {
        /// The `energy_uj` file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A counter did not hold a whole number of microjoules.
    #[error("RAPL counter {}: {text:?} is not a number", path.display())]
    Parse {
        /// The `energy_uj` file.
        path: PathBuf,
        /// Its trimmed content.
        text: String,
    },
}

impl RaplError {
    /// Classifies an error reading the counter `path`.
    fn read(path: PathBuf, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::PermissionDenied => Self::PermissionDenied { path, source },
            io::ErrorKind::NotFound => Self::Missing { path, source },
            _ => Self::Io { path, source },
        }
    }
}

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

/// Reads one `energy_uj` counter, microjoules.
fn read_counter(path: &Path) -> Result<u64, RaplError> {
    let text = std::fs::read_to_string(path).map_err(|e| RaplError::read(path.to_owned(), e))?;
    let text = text.trim();
    text.parse().map_err(|_| RaplError::Parse {
        path: path.to_owned(),
        text: text.to_owned(),
    })
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
    /// [`RaplError::NoPackages`] when there is no package domain;
    /// [`RaplError::PermissionDenied`], [`RaplError::Missing`] or
    /// [`RaplError::Io`] when a counter cannot be read;
    /// [`RaplError::Parse`] when one does not hold a number. Its text is a
    /// note for the run record.
    pub fn start(root: &Path) -> Result<Self, RaplError> {
        let domains = discover_packages(root);
        if domains.is_empty() {
            return Err(RaplError::NoPackages {
                dir: under(root, "/sys/class/powercap"),
            });
        }
        let last_uj = domains
            .iter()
            .map(|d| read_counter(&d.dir.join("energy_uj")))
            .collect::<Result<_, _>>()?;
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
    fn absent_rapl_is_no_packages() {
        let empty = tempfile::tempdir().unwrap();
        let err = RaplMeter::start(empty.path()).unwrap_err();
        assert!(
            matches!(&err, RaplError::NoPackages { dir } if dir.ends_with("sys/class/powercap")),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("no RAPL package domains under "));
    }

    #[test]
    fn a_missing_counter_is_named() {
        let dir = tree();
        let path = dir.path().join("sys/class/powercap/intel-rapl:1/energy_uj");
        std::fs::remove_file(&path).unwrap();
        let err = RaplMeter::start(dir.path()).unwrap_err();
        assert!(
            matches!(&err, RaplError::Missing { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("RAPL counter {} is missing", path.display())
        );
    }

    #[test]
    fn a_counter_that_is_not_a_number_is_named_with_its_text() {
        let dir = tree();
        let path = dir.path().join("sys/class/powercap/intel-rapl:0/energy_uj");
        write(&path, "12a\n");
        let err = RaplMeter::start(dir.path()).unwrap_err();
        assert!(
            matches!(&err, RaplError::Parse { path: p, text } if *p == path && text == "12a"),
            "{err:?}"
        );
        assert!(err.to_string().contains("\"12a\" is not a number"));
    }

    #[test]
    fn read_errors_are_classified_by_kind() {
        // Permission is not testable through files here (tests may run as
        // root), so the classification is checked directly.
        let p = PathBuf::from("/sys/class/powercap/intel-rapl:0/energy_uj");
        let denied = RaplError::read(p.clone(), io::ErrorKind::PermissionDenied.into());
        assert!(matches!(denied, RaplError::PermissionDenied { .. }));
        assert!(denied.to_string().contains("root-only since Linux 5.10"));
        let missing = RaplError::read(p.clone(), io::ErrorKind::NotFound.into());
        assert!(matches!(missing, RaplError::Missing { .. }));
        let other = RaplError::read(p, io::ErrorKind::InvalidData.into());
        assert!(matches!(other, RaplError::Io { .. }));
        assert!(std::error::Error::source(&other).is_some());
    }
}
