//! Host identity: CPU, memory, OS, kernel, hostname, virtualization, CPU
//! frequency governor.
//!
//! Sources: `sysinfo` for what the kernel answers through calls (memory,
//! physical core count, logical CPUs, kernel release, hostname); files under
//! [`ProbeOptions::root`] for the rest (`/proc/cpuinfo` flags,
//! `/etc/os-release`, DMI, container markers, cpufreq), so tests can point
//! those at a fake tree.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cpuinfo::{parse_cpuinfo, CpuInfoText};
use crate::util::{read_opt, read_trimmed, under};

/// Options shared by the probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Filesystem root under which `/proc`, `/sys`, `/etc` and `/run` are
    /// read; `/` in production, a temporary tree in tests.
    pub root: PathBuf,
    /// Record the hostname (off for privacy when sharing results).
    pub include_hostname: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            include_hostname: true,
        }
    }
}

/// Everything about the host except GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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

/// Probes the host. Never fails: what cannot be read is `None` with a note.
pub fn probe_system(opts: &ProbeOptions) -> SystemInfo {
    let root = &opts.root;
    let mut notes = Vec::new();
    let cpuinfo = match read_opt(&under(root, "/proc/cpuinfo")) {
        Some(text) => parse_cpuinfo(&text),
        None => {
            notes.push("/proc/cpuinfo unreadable: no ISA flags".to_string());
            CpuInfoText::default()
        }
    };
    let cpu = cpu_summary(root, &cpuinfo, &mut notes);
    let memory = memory_summary(&mut notes);
    let mut os = read_opt(&under(root, "/etc/os-release"))
        .or_else(|| read_opt(&under(root, "/usr/lib/os-release")))
        .map(|t| parse_os_release(&t))
        .unwrap_or_default();
    os.kernel_release = sysinfo::System::kernel_version()
        .ok()
        .or_else(|| read_trimmed(&under(root, "/proc/sys/kernel/osrelease")));
    if os.pretty_name.is_none() {
        os.pretty_name = sysinfo::System::long_os_version().ok();
    }
    let hostname = if opts.include_hostname {
        sysinfo::System::host_name().ok()
    } else {
        None
    };
    SystemInfo {
        cpu,
        memory,
        os,
        hostname,
        virtualization: detect_virtualization(root, &cpuinfo),
        notes,
    }
}

fn cpu_summary(root: &Path, cpuinfo: &CpuInfoText, notes: &mut Vec<String>) -> CpuSummary {
    let mut sys = sysinfo::System::new().ok();
    if let Some(sys) = sys.as_mut() {
        sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    }
    let first = sys.as_ref().and_then(|s| s.cpus().first());
    let sys_brand = first.map(|c| c.brand().trim().to_string());
    let sys_vendor = first.map(|c| c.vendor_id().trim().to_string());
    let sys_count = sys.as_ref().map_or(0, |s| s.cpus().len());
    let physical_cores = sysinfo::System::physical_core_count().ok();
    if physical_cores.is_none() {
        notes.push("physical core count unknown".to_string());
    }
    let (governor, cpufreq_driver) = read_cpufreq(root);
    CpuSummary {
        model_name: cpuinfo
            .model_name
            .clone()
            .or(sys_brand.filter(|b| !b.is_empty())),
        vendor: cpuinfo
            .vendor
            .clone()
            .or(sys_vendor.filter(|v| !v.is_empty())),
        arch: std::env::consts::ARCH.to_string(),
        physical_cores,
        logical_threads: if sys_count > 0 {
            sys_count
        } else {
            cpuinfo.logical_processors.max(1)
        },
        isa_flags: cpuinfo.isa_flags_of_interest(),
        governor,
        cpufreq_driver,
    }
}

fn memory_summary(notes: &mut Vec<String>) -> MemorySummary {
    let Ok(mut sys) = sysinfo::System::new() else {
        notes.push("sysinfo unavailable: memory unknown".to_string());
        return MemorySummary {
            ram_total_bytes: 0,
            ram_available_bytes: 0,
            swap_total_bytes: 0,
            swap_free_bytes: 0,
            cgroup_limit_bytes: None,
        };
    };
    sys.refresh_memory();
    MemorySummary {
        ram_total_bytes: sys.total_memory(),
        ram_available_bytes: sys.available_memory(),
        swap_total_bytes: sys.total_swap(),
        swap_free_bytes: sys.free_swap(),
        cgroup_limit_bytes: sys
            .cgroup_limits()
            .map(|c| c.total_memory)
            .filter(|&t| t > 0 && t < sys.total_memory()),
    }
}

/// Reads the cpufreq governor(s) and driver of all CPUs under `root`.
fn read_cpufreq(root: &Path) -> (Option<String>, Option<String>) {
    let base = under(root, "/sys/devices/system/cpu");
    let mut governors: Vec<String> = Vec::new();
    let mut driver = None;
    let Ok(entries) = std::fs::read_dir(&base) else {
        return (None, None);
    };
    let mut cpus: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix("cpu")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| e.path())
        .collect();
    cpus.sort();
    for cpu in cpus {
        if let Some(g) = read_trimmed(&cpu.join("cpufreq/scaling_governor")) {
            if !governors.contains(&g) {
                governors.push(g);
            }
        }
        if driver.is_none() {
            driver = read_trimmed(&cpu.join("cpufreq/scaling_driver"));
        }
    }
    let governor = (!governors.is_empty()).then(|| governors.join(","));
    (governor, driver)
}

/// Parses os-release text (`KEY=value` lines, values optionally quoted with
/// `"` or `'`, `\` escapes inside double quotes). Unknown keys are ignored;
/// `kernel_release` is left `None`.
pub fn parse_os_release(text: &str) -> OsInfo {
    let mut os = OsInfo::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "PRETTY_NAME" => os.pretty_name = Some(value),
            "ID" => os.id = Some(value),
            "VERSION_ID" => os.version_id = Some(value),
            _ => {}
        }
    }
    os
}

fn unquote(raw: &str) -> String {
    let quoted = |q: char| raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q);
    if quoted('\'') {
        return raw[1..raw.len() - 1].to_string();
    }
    if !quoted('"') {
        return raw.to_string();
    }
    let mut out = String::new();
    let mut chars = raw[1..raw.len() - 1].chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// DMI `sys_vendor` / `product_name` substrings and the hypervisor they name.
const DMI_VMS: &[(&str, &str)] = &[
    ("QEMU", "qemu"),
    ("KVM", "kvm"),
    ("VMware", "vmware"),
    ("innotek GmbH", "virtualbox"),
    ("VirtualBox", "virtualbox"),
    ("Xen", "xen"),
    ("Amazon EC2", "amazon"),
    ("Google Compute Engine", "google"),
    ("Parallels", "parallels"),
    ("Bochs", "bochs"),
    ("OpenStack", "openstack"),
    ("Virtual Machine", "hyperv"),
];

/// Container / VM heuristics: container marker files, pid 1's cgroup paths,
/// WSL kernel release, DMI vendor strings, the x86 `hypervisor` CPU flag.
pub fn detect_virtualization(root: &Path, cpuinfo: &CpuInfoText) -> Virtualization {
    let mut v = Virtualization::default();
    let container = |v: &mut Virtualization, kind: &str, why: String| {
        v.container.get_or_insert_with(|| kind.to_string());
        v.evidence.push(why);
    };
    if under(root, "/.dockerenv").exists() {
        container(&mut v, "docker", "/.dockerenv exists".into());
    }
    if under(root, "/run/.containerenv").exists() {
        container(&mut v, "podman", "/run/.containerenv exists".into());
    }
    let cgroup = read_opt(&under(root, "/proc/1/cgroup")).unwrap_or_default();
    for (needle, kind) in [
        ("kubepods", "kubernetes"),
        ("docker", "docker"),
        ("libpod", "podman"),
        ("lxc", "lxc"),
    ] {
        if cgroup.contains(needle) {
            container(&mut v, kind, format!("/proc/1/cgroup mentions {needle}"));
        }
    }
    let osrelease = read_opt(&under(root, "/proc/sys/kernel/osrelease")).unwrap_or_default();
    if osrelease.to_ascii_lowercase().contains("microsoft") {
        v.vm = Some("wsl".into());
        v.evidence
            .push("kernel release mentions Microsoft (WSL)".into());
    }
    let dmi: Vec<String> = ["sys_vendor", "product_name"]
        .iter()
        .filter_map(|f| read_trimmed(&under(root, &format!("/sys/class/dmi/id/{f}"))))
        .collect();
    if v.vm.is_none() {
        if let Some((needle, kind)) = DMI_VMS
            .iter()
            .find(|(needle, _)| dmi.iter().any(|d| d.contains(needle)))
        {
            v.vm = Some((*kind).to_string());
            v.evidence
                .push(format!("DMI vendor/product mentions {needle}"));
        }
    }
    if cpuinfo.has_hypervisor_flag() {
        v.vm.get_or_insert_with(|| "unknown".into());
        v.evidence.push("CPU reports the hypervisor flag".into());
    }
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cpuinfo::parse_cpuinfo;
    use crate::util::testing::write_under as write;

    #[test]
    fn os_release_quotes_and_escapes() {
        let os = parse_os_release(
            "# comment\nNAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\n\
             VERSION_ID='24.04'\nBOGUS\nHOME_URL=\"https://x\"\n",
        );
        assert_eq!(os.pretty_name.as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(os.id.as_deref(), Some("ubuntu"));
        assert_eq!(os.version_id.as_deref(), Some("24.04"));
        assert_eq!(os.kernel_release, None);
        let esc = parse_os_release(r#"PRETTY_NAME="Say \"hi\" \\o/""#);
        assert_eq!(esc.pretty_name.as_deref(), Some(r#"Say "hi" \o/"#));
        assert_eq!(parse_os_release("PRETTY_NAME=\"\"\n").pretty_name, None);
    }

    #[test]
    fn bare_metal_tree_has_no_hints() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/proc/1/cgroup", "0::/init.scope\n");
        write(dir.path(), "/sys/class/dmi/id/sys_vendor", "ASUS\n");
        let v = detect_virtualization(dir.path(), &parse_cpuinfo("flags : avx2\n"));
        assert_eq!(v, Virtualization::default());
    }

    #[test]
    fn docker_and_kvm_hints_with_evidence() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/.dockerenv", "");
        write(dir.path(), "/proc/1/cgroup", "0::/docker/0123abcd\n");
        write(dir.path(), "/sys/class/dmi/id/product_name", "KVM\n");
        let v = detect_virtualization(dir.path(), &parse_cpuinfo("flags : hypervisor\n"));
        assert_eq!(v.container.as_deref(), Some("docker"));
        assert_eq!(v.vm.as_deref(), Some("kvm"));
        assert_eq!(v.evidence.len(), 4, "{:?}", v.evidence);
    }

    #[test]
    fn podman_wsl_and_bare_hypervisor_flag() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/run/.containerenv", "");
        write(
            dir.path(),
            "/proc/sys/kernel/osrelease",
            "5.15.153.1-microsoft-standard-WSL2\n",
        );
        let v = detect_virtualization(dir.path(), &parse_cpuinfo(""));
        assert_eq!(v.container.as_deref(), Some("podman"));
        assert_eq!(v.vm.as_deref(), Some("wsl"));
        let empty = tempfile::tempdir().unwrap();
        let v = detect_virtualization(empty.path(), &parse_cpuinfo("flags : hypervisor\n"));
        assert_eq!(v.vm.as_deref(), Some("unknown"));
    }

    #[test]
    fn governors_are_deduplicated_in_cpu_order() {
        let dir = tempfile::tempdir().unwrap();
        let base = "/sys/devices/system/cpu";
        write(
            dir.path(),
            &format!("{base}/cpu0/cpufreq/scaling_governor"),
            "performance\n",
        );
        write(
            dir.path(),
            &format!("{base}/cpu0/cpufreq/scaling_driver"),
            "amd-pstate-epp\n",
        );
        write(
            dir.path(),
            &format!("{base}/cpu1/cpufreq/scaling_governor"),
            "performance\n",
        );
        write(
            dir.path(),
            &format!("{base}/cpu2/cpufreq/scaling_governor"),
            "powersave\n",
        );
        write(dir.path(), &format!("{base}/cpufreq/boost"), "1\n");
        let (g, d) = read_cpufreq(dir.path());
        assert_eq!(g.as_deref(), Some("performance,powersave"));
        assert_eq!(d.as_deref(), Some("amd-pstate-epp"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(read_cpufreq(empty.path()), (None, None));
    }

    #[test]
    fn probe_reads_flags_and_os_from_the_root_and_can_hide_the_hostname() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "/proc/cpuinfo",
            "processor : 0\nflags : avx2 fma\n",
        );
        write(dir.path(), "/etc/os-release", "PRETTY_NAME=\"Fake OS 1\"\n");
        let opts = ProbeOptions {
            root: dir.path().to_path_buf(),
            include_hostname: false,
        };
        let s = probe_system(&opts);
        assert_eq!(s.cpu.isa_flags, ["avx2", "fma"]);
        assert_eq!(s.os.pretty_name.as_deref(), Some("Fake OS 1"));
        assert_eq!(s.hostname, None);
        assert!(s.cpu.logical_threads >= 1);
    }
}
