//! Each conversion serialises exactly as the measurement type it converts:
//! the record's YAML (and JSON) did not change when the record got its own
//! types. Every optional field is filled (and every enum variant visited)
//! so that a field dropped or renamed in either type shows up here.

use std::collections::BTreeMap;

use serde::Serialize;
use tokbench_probe as probe;
use tokbench_stats as stats;

use super::*;

/// Serialising `measured` and `recorded` gives the same YAML and JSON.
fn assert_same<M: Serialize, R: Serialize>(measured: &M, recorded: &R) {
    let yaml_m = serde_saphyr::to_string(measured).unwrap();
    let yaml_r = serde_saphyr::to_string(recorded).unwrap();
    assert_eq!(yaml_m, yaml_r);
    let json_m = serde_json::to_value(measured).unwrap();
    let json_r = serde_json::to_value(recorded).unwrap();
    assert_eq!(json_m, json_r);
}

/// Reading the measured type's YAML as the record type gives the
/// converted value back.
fn assert_reads_back<M, R>(measured: &M, recorded: &R)
where
    M: Serialize,
    R: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let yaml = serde_saphyr::to_string(measured).unwrap();
    let back: R = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(&back, recorded);
}

fn probed_system() -> probe::SystemInfo {
    probe::SystemInfo {
        cpu: probe::system::CpuSummary {
            model_name: Some("AMD Ryzen 9 7950X 16-Core Processor".into()),
            vendor: Some("AuthenticAMD".into()),
            arch: "x86_64".into(),
            physical_cores: Some(16),
            logical_threads: 32,
            isa_flags: vec!["avx2".into(), "avx512f".into()],
            governor: Some("performance".into()),
            cpufreq_driver: Some("amd-pstate-epp".into()),
        },
        memory: probe::system::MemorySummary {
            ram_total_bytes: 64 << 30,
            ram_available_bytes: 60 << 30,
            swap_total_bytes: 8 << 30,
            swap_free_bytes: 7 << 30,
            cgroup_limit_bytes: Some(32 << 30),
        },
        os: probe::system::OsInfo {
            pretty_name: Some("Ubuntu 24.04.1 LTS".into()),
            id: Some("ubuntu".into()),
            version_id: Some("24.04".into()),
            kernel_release: Some("6.8.0-45-generic".into()),
        },
        hostname: Some("bench-1".into()),
        virtualization: probe::system::Virtualization {
            container: Some("docker".into()),
            vm: Some("kvm".into()),
            evidence: vec!["/.dockerenv exists".into()],
        },
        notes: vec!["physical core count unknown".into()],
    }
}

fn probed_gpu(index: usize, source: probe::GpuSource) -> probe::GpuInfo {
    let mut g = probe::GpuInfo::named(index, source, "NVIDIA GeForce RTX 3090");
    g.uuid = Some("GPU-0123".into());
    g.pci_bus_id = Some("0000:01:00.0".into());
    g.vram_total_bytes = Some(24 << 30);
    g.vram_used_bytes = Some(1 << 30);
    g.gtt_total_bytes = Some(8 << 30);
    g.gtt_used_bytes = Some(1 << 20);
    g.driver_version = Some("595.58.03".into());
    g.cuda_driver_version = Some("13.1".into());
    g.power = probe::GpuPower {
        limit_w: Some(350.0),
        default_limit_w: Some(350.0),
        min_limit_w: Some(100.0),
        max_limit_w: Some(400.0),
        draw_w: Some(31.5),
    };
    g.pcie = probe::PcieLink {
        gen_current: Some(1),
        gen_max: Some(4),
        width_current: Some(16),
        width_max: Some(16),
    };
    g.clocks = probe::GpuClocks {
        graphics_mhz: Some(210),
        graphics_max_mhz: Some(2100),
        memory_mhz: Some(405),
        memory_max_mhz: Some(9751),
    };
    g.temperature_c = Some(41);
    g.busy_pct = Some(3);
    g
}

fn probed_host_load(notes: Vec<String>) -> probe::HostLoadSummary {
    probe::HostLoadSummary {
        interval_ms: 1000,
        duration_s: 12.5,
        logical_cpus: 32,
        samples: 12,
        load_avg_before: Some(probe::LoadAvg {
            one: 0.52,
            five: 0.58,
            fifteen: 0.59,
        }),
        load_avg_1m_max: Some(1.25),
        busy_pct_mean: Some(12.5),
        others_busy_pct_mean: Some(1.5),
        others_busy_pct_max: Some(3.0),
        others_busy_cores_mean: Some(0.48),
        others_busy_cores_max: Some(0.96),
        noisy: true,
        noisy_reason: Some("other processes used 0.48 cores on average".into()),
        notes,
    }
}

#[test]
fn system_and_gpus_serialise_as_probed() {
    let host = probed_system();
    assert_same(&host, &system_info(host.clone()));
    assert_reads_back(&host, &system_info(host.clone()));
    let mut bare = probed_system();
    bare.notes.clear();
    bare.virtualization = probe::system::Virtualization::default();
    assert_same(&bare, &system_info(bare.clone()));
    for source in [
        probe::GpuSource::Nvml,
        probe::GpuSource::AmdSysfs,
        probe::GpuSource::Fake,
    ] {
        let gpu = probed_gpu(1, source);
        assert_same(&gpu, &gpu_info(gpu.clone()));
        assert_reads_back(&gpu, &gpu_info(gpu.clone()));
    }
    let unknown = probe::GpuInfo::named(0, probe::GpuSource::Nvml, "x");
    assert_same(&unknown, &gpu_info(unknown.clone()));
}

#[test]
fn rig_notes_host_load_and_power_serialise_as_probed() {
    let notes = probe::RigNotes {
        name: "garage-3090".into(),
        chassis: Some("Fractal Meshify 2".into()),
        cooling: Some("3 × 140 mm intake".into()),
        psu: Some("1000 W Platinum".into()),
        notes: Some("power-limited to 300 W".into()),
        tags: vec!["consumer".into(), "cuda".into()],
        extra: BTreeMap::from([("riser".into(), "PCIe 4.0 x16".into())]),
        memory_bandwidth_gb_s: Some(120.0),
        memory_bandwidth_source: Some("vendor spec sheet".into()),
    };
    assert_same(&notes, &rig_notes(notes.clone()));
    assert_reads_back(&notes, &rig_notes(notes.clone()));
    let bare = probe::RigNotes {
        name: "x".into(),
        ..probe::RigNotes::default()
    };
    assert_same(&bare, &rig_notes(bare.clone()));

    for load in [
        probed_host_load(Vec::new()),
        probed_host_load(vec!["/proc/1/stat unreadable".into()]),
    ] {
        assert_same(&load, &host_load(load.clone()));
        assert_reads_back(&load, &host_load(load.clone()));
    }

    let measured = probe::PowerSummary {
        interval_ms: 250,
        duration_s: 60.25,
        gpus: vec![probe::GpuPowerSummary {
            index: 0,
            power_samples: 241,
            energy_j: Some(18_000.5),
            energy_counter_j: Some(17_950.25),
            power_mean_w: Some(298.75),
            power_max_w: Some(351.0),
            vram_peak_used_bytes: Some(20 << 30),
        }],
        gpu_energy_j: Some(17_950.25),
        cpu_package_energy_j: Some(2_400.125),
        backend_peak_rss_bytes: Some(3 << 30),
        notes: vec!["RAPL: permission denied".into()],
    };
    assert_same(&measured, &power(measured.clone()));
    assert_reads_back(&measured, &power(measured.clone()));
}

#[test]
fn every_vram_verdict_serialises_as_probed() {
    for fit in [
        probe::VramFit::Fit {
            delta_bytes: 2_000_000_000,
            model_bytes: 1_000_000_000,
        },
        probe::VramFit::Spill {
            delta_bytes: 40_000_000,
            model_bytes: 400_000_000,
            message: "the model did not fit in VRAM".into(),
        },
        probe::VramFit::NotApplicable {
            reason: "cpu-only backend".into(),
        },
    ] {
        assert_same(&fit, &vram_fit(fit.clone()));
        assert_reads_back(&fit, &vram_fit(fit.clone()));
    }
}

/// Successful requests with usage and llama.cpp timings (so every summary,
/// server ones included, is defined) and one failure of every kind.
fn measured_samples() -> Vec<stats::RequestSample> {
    let mut out: Vec<stats::RequestSample> = (0..8u32)
        .map(|i| {
            let mut s = stats::RequestSample::new(u64::from(i), i == 0, 1_000 * u64::from(i), 0);
            s.actual_send_us = 1_000 * u64::from(i) + 250;
            s.headers_us = Some(400);
            s.events = (0..16u32)
                .map(|k| stats::TokenEvent {
                    t_us: 20_000 + k * (10_000 + 100 * i),
                    bytes: 4,
                    channel: if k < 3 {
                        stats::Channel::Reasoning
                    } else {
                        stats::Channel::Content
                    },
                })
                .collect();
            s.end_us = s.events.last().map(|e| e.t_us + 50);
            s.usage = Some(stats::Usage {
                prompt_tokens: 200,
                completion_tokens: 17,
                reasoning_tokens: Some(3),
                cached_tokens: Some(if i % 2 == 0 { 150 } else { 0 }),
            });
            s.server_timings = Some(stats::ServerTimings {
                prompt_n: 50,
                cache_n: Some(150),
                prompt_ms: 10.0 + f64::from(i),
                prompt_per_second: 5_000.0 - f64::from(i),
                predicted_n: 17,
                predicted_ms: 160.0,
                predicted_per_second: 106.25 + f64::from(i),
            });
            s
        })
        .collect();
    let kinds = [
        stats::ErrorKind::Connect,
        stats::ErrorKind::HttpStatus,
        stats::ErrorKind::Stall,
        stats::ErrorKind::MalformedEvent,
        stats::ErrorKind::LineTooLong,
        stats::ErrorKind::EarlyClose,
        stats::ErrorKind::StreamError,
        stats::ErrorKind::Other,
        stats::ErrorKind::Cancelled,
    ];
    for (i, kind) in (100u64..).zip(kinds) {
        let mut s = stats::RequestSample::new(i, false, 9_000, 9_000);
        s.end_us = Some(5_000);
        s.outcome = stats::Outcome::Error {
            kind,
            message: "boom".into(),
        };
        out.push(s);
    }
    out
}

#[test]
fn cell_metrics_and_prompt_cache_check_serialise_as_computed() {
    let samples = measured_samples();
    let metrics = stats::CellMetrics::compute(&samples, &stats::SummaryOptions::default());
    // The fixture fills what it means to: every summary, every error kind.
    assert_eq!(metrics.errors_by_kind.len(), 9);
    assert!(metrics.server_decode_tok_s.is_some() && metrics.itl_ms.is_some());
    assert!(metrics.decode_tok_s.as_ref().unwrap().ci95_median.is_some());
    assert_same(&metrics, &cell_metrics(metrics.clone()));
    assert_reads_back(&metrics, &cell_metrics(metrics.clone()));

    let empty = stats::CellMetrics::compute(&[], &stats::SummaryOptions::default());
    assert_same(&empty, &cell_metrics(empty.clone()));

    let check = stats::PromptCacheCheck::compute(&samples, 20);
    assert!(check.flagged && check.cached_share.is_some());
    assert_same(&check, &prompt_cache_check(check.clone()));
    assert_reads_back(&check, &prompt_cache_check(check.clone()));
}

#[test]
fn converted_summary_keeps_the_convergence_figure() {
    let values: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i % 7)).collect();
    let measured = stats::Summary::from_values(&values, &stats::SummaryOptions::default()).unwrap();
    let recorded = summary(measured.clone());
    assert!(measured.ci_relative_half_width().is_some());
    assert_eq!(
        recorded.ci_relative_half_width(),
        measured.ci_relative_half_width()
    );
}
