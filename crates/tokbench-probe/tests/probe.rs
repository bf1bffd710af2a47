//! Runs the real probes on the machine the tests run on (a developer box or
//! CI, neither of which has a GPU) and checks facts that hold anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use tokbench_probe::{
    probe_rig, CompositeProbe, GpuProbe, HostLoadConfig, HostLoadSampler, NvmlProbe, PowerSampler,
    PowerSamplerConfig, ProbeOptions,
};

#[test]
fn real_system_facts_are_sane() {
    let opts = ProbeOptions::default();
    let probe = CompositeProbe::system(&opts.root);
    let rig = probe_rig(&opts, &probe);
    let s = &rig.system;
    assert!(s.cpu.logical_threads >= 1);
    if let Some(p) = s.cpu.physical_cores {
        assert!(
            p >= 1 && p <= s.cpu.logical_threads,
            "{p} physical, {} logical",
            s.cpu.logical_threads
        );
    }
    assert!(!s.cpu.arch.is_empty());
    assert!(s.memory.ram_total_bytes > 0);
    assert!(s.memory.ram_available_bytes <= s.memory.ram_total_bytes);
    let kernel = s.os.kernel_release.as_deref().unwrap_or("");
    assert!(!kernel.is_empty());
    assert!(s.hostname.as_deref().is_some_and(|h| !h.is_empty()));
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
    assert!(l.samples >= 1, "{l:?}");
    assert!(l.logical_cpus >= 1);
    assert_eq!(l.noisy, l.noisy_reason.is_some());
    assert!(p.duration_s >= 0.35);
    assert!(p.backend_peak_rss_bytes.is_some_and(|b| b > 0));
    // Without RAPL access (no powercap, or not root) there is a note instead.
    assert!(p.cpu_package_energy_j.is_some() || !p.notes.is_empty());
}
