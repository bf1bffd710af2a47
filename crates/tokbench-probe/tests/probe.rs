//! Runs the real probes on the machine the tests run on (a developer box or
//! CI, neither of which has a GPU) and checks facts that hold anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tokbench_probe::{
    probe_rig, CompositeProbe, GpuProbe, HostLoadConfig, HostLoadSampler, NvmlProbe, PowerSampler,
    PowerSamplerConfig, ProbeOptions,
};

/// A /proc (or /etc) file, trimmed.
fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

/// A `/proc/meminfo` value in bytes (the file counts in KiB).
fn meminfo_bytes(key: &str) -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().unwrap() * 1024)
        .unwrap()
}

/// Per-CPU lines (`cpu0`, `cpu1`, …) in `/proc/stat`: the online CPUs.
fn proc_stat_cpus() -> usize {
    read("/proc/stat")
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count()
}

/// `VmHWM` (peak resident set) of this process, in bytes.
fn own_vm_hwm() -> u64 {
    let status = read("/proc/self/status");
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().unwrap())
        .unwrap();
    kib * 1024
}

#[test]
fn real_system_facts_match_the_kernel() {
    let opts = ProbeOptions::default();
    let probe = CompositeProbe::system(&opts.root);
    let rig = probe_rig(&opts, &probe);
    let s = &rig.system;
    // CPUs: what /proc/stat lists online, at least what this process may use.
    assert_eq!(s.cpu.logical_threads, proc_stat_cpus());
    let usable = std::thread::available_parallelism().unwrap().get();
    assert!(s.cpu.logical_threads >= usable, "{s:?}");
    if let Some(p) = s.cpu.physical_cores {
        assert!(
            p >= 1 && p <= s.cpu.logical_threads,
            "{p} physical, {} logical",
            s.cpu.logical_threads
        );
    }
    assert_eq!(s.cpu.arch, std::env::consts::ARCH);
    // Every ISA flag reported is one the kernel lists (neon from asimd).
    let cpuinfo = read("/proc/cpuinfo");
    let flags: std::collections::HashSet<&str> = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags") || l.starts_with("Features"))
        .filter_map(|l| l.split_once(':'))
        .flat_map(|(_, v)| v.split_whitespace())
        .collect();
    for f in &s.cpu.isa_flags {
        let ok = flags.contains(f.as_str()) || (f == "neon" && flags.contains("asimd"));
        assert!(ok, "{f} is not in /proc/cpuinfo");
    }
    // Memory: /proc/meminfo's totals, to the byte (it counts in KiB).
    assert_eq!(s.memory.ram_total_bytes, meminfo_bytes("MemTotal"));
    assert_eq!(s.memory.swap_total_bytes, meminfo_bytes("SwapTotal"));
    assert!(s.memory.ram_available_bytes > 0);
    assert!(s.memory.ram_available_bytes <= s.memory.ram_total_bytes);
    assert!(s.memory.swap_free_bytes <= s.memory.swap_total_bytes);
    // OS: the kernel's release and host name, os-release's ID.
    assert_eq!(
        s.os.kernel_release.as_deref(),
        Some(&*read("/proc/sys/kernel/osrelease"))
    );
    assert_eq!(
        s.hostname.as_deref(),
        Some(&*read("/proc/sys/kernel/hostname"))
    );
    let os_id = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("ID="))
                .map(|v| v.trim_matches(['"', '\'']).to_owned())
        });
    assert_eq!(s.os.id, os_id);
    assert!(s.os.pretty_name.as_deref().is_some_and(|n| !n.is_empty()));
    assert_eq!(rig.gpus.len(), probe.device_count());
    // The whole record serializes and reads back.
    let yaml = serde_saphyr::to_string(&rig).unwrap();
    let back: tokbench_probe::Rig = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(back, rig);
}

#[test]
fn hostname_can_be_left_out() {
    let opts = ProbeOptions {
        include_hostname: false,
        ..ProbeOptions::default()
    };
    let rig = probe_rig(&opts, &CompositeProbe::new(vec![]));
    assert_eq!(rig.system.hostname, None);
}

#[test]
fn nvml_absent_means_empty_list_not_error() {
    let nvml = NvmlProbe::new();
    let gpus = nvml.gpus().expect("NVML must not fail the probe");
    if !nvml.is_available() {
        assert!(gpus.is_empty());
        assert!(
            nvml.notes()[0].starts_with("NVML unavailable"),
            "{:?}",
            nvml.notes()
        );
    }
}

#[test]
fn samplers_run_against_the_real_machine() {
    let hwm_before = own_vm_hwm();
    let load = HostLoadSampler::start(HostLoadConfig {
        interval: Duration::from_millis(100),
        ..HostLoadConfig::default()
    })
    .unwrap();
    let power = PowerSampler::start(
        Arc::new(CompositeProbe::system(std::path::Path::new("/"))),
        PowerSamplerConfig {
            backend_pid: Some(std::process::id()),
            ..PowerSamplerConfig::default()
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(350));
    let p = power.stop().unwrap();
    let l = load.stop().unwrap();
    let hwm_after = own_vm_hwm();
    assert!(l.samples >= 1, "{l:?}");
    assert_eq!(l.logical_cpus, proc_stat_cpus());
    assert!((0.35..30.0).contains(&l.duration_s), "{l:?}");
    assert_eq!(l.noisy, l.noisy_reason.is_some());
    assert!((0.35..30.0).contains(&p.duration_s), "{p:?}");
    // The backend here is this process: its peak RSS as sampled lies
    // between its high-water mark before and after.
    let peak = p.backend_peak_rss_bytes.unwrap();
    assert!(
        (hwm_before..=hwm_after).contains(&peak),
        "{hwm_before} <= {peak} <= {hwm_after}"
    );
    // Without RAPL access (no powercap, or not root) there is a note instead.
    assert!(p.cpu_package_energy_j.is_some() || !p.notes.is_empty());
}
