#![allow(clippy::unwrap_used)]
use super::*;
use crate::gpu::{FakeGpuProbe, GpuInfo, GpuSource};
use crate::util::testing::write_under as write;

const GIB: u64 = 1 << 30;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn trapezoid_known_answers() {
    // Constant 100 W for 10 s.
    assert!(close(
        trapezoid_energy_j(&[(0.0, 100.0), (10.0, 100.0)]),
        1000.0
    ));
    // Ramp 0 -> 100 W over 10 s: a triangle, 500 J.
    let ramp: Vec<(f64, f64)> = (0..=10)
        .map(|t| (f64::from(t), 10.0 * f64::from(t)))
        .collect();
    assert!(close(trapezoid_energy_j(&ramp), 500.0));
    // Non-uniform grid: 5 + 20 + 75.
    let uneven = [(0.0, 0.0), (1.0, 10.0), (3.0, 10.0), (6.0, 40.0)];
    assert!(close(trapezoid_energy_j(&uneven), 100.0));
    assert_eq!(trapezoid_energy_j(&[(1.0, 50.0)]), 0.0);
    assert_eq!(trapezoid_energy_j(&[]), 0.0);
}

/// With an interval of an hour the sampler reads exactly twice: at start and
/// at stop, so scripted readings give exact answers.
#[test]
fn fake_gpus_rapl_and_rss_through_the_sampler() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "sys/class/powercap/intel-rapl:0/name", "package-0\n");
    write(
        root,
        "sys/class/powercap/intel-rapl:0/max_energy_range_uj",
        "1000000000\n",
    );
    write(
        root,
        "sys/class/powercap/intel-rapl:0/energy_uj",
        "999000000\n",
    );
    write(root, "proc/4242/status", "VmHWM:\t 1000 kB\n");
    let probe = FakeGpuProbe::new(vec![
        GpuInfo::named(0, GpuSource::Fake, "A"),
        GpuInfo::named(1, GpuSource::Fake, "B"),
    ])
    .with_power_readings(0, vec![Some(100.0), Some(300.0)])
    .with_memory_readings(0, vec![Some(GIB), Some(3 * GIB)])
    .with_energy_readings(0, vec![Some(1000.0), Some(1450.5)])
    .with_power_readings(1, vec![None])
    .with_note("fake probe");
    let config = PowerSamplerConfig {
        root: root.to_path_buf(),
        interval: Duration::from_secs(3600),
        backend_pid: Some(4242),
    };
    let sampler = PowerSampler::start(Arc::new(probe), config).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    // 1 J past the wrap point of the counter: +1 J + 2 J.
    write(
        root,
        "sys/class/powercap/intel-rapl:0/energy_uj",
        "2000000\n",
    );
    write(root, "proc/4242/status", "VmHWM:\t 5000 kB\n");
    let s = sampler.stop().unwrap();
    assert!(s.duration_s >= 0.03);
    assert_eq!(s.gpus.len(), 2);
    let a = &s.gpus[0];
    assert_eq!(a.power_samples, 2);
    assert!(
        close(a.power_mean_w.unwrap(), 200.0),
        "{:?}",
        a.power_mean_w
    );
    assert_eq!(a.power_max_w, Some(300.0));
    assert!(a.energy_j.unwrap() > 200.0 * 0.029, "{:?}", a.energy_j);
    assert_eq!(a.energy_counter_j, Some(450.5));
    assert_eq!(a.vram_peak_used_bytes, Some(3 * GIB));
    let b = &s.gpus[1];
    assert_eq!(
        (b.power_samples, b.energy_j, b.power_mean_w),
        (0, None, None)
    );
    // GPU B has no energy figure, so no total.
    assert_eq!(s.gpu_energy_j, None);
    assert!(close(s.cpu_package_energy_j.unwrap(), 3.0));
    assert_eq!(s.backend_peak_rss_bytes, Some(5000 * 1024));
    assert_eq!(s.notes, ["fake probe"]);
}

#[test]
fn gpu_total_prefers_the_counter_and_falls_back_to_the_trapezoid() {
    let probe = FakeGpuProbe::new(vec![
        GpuInfo::named(0, GpuSource::Fake, "A"),
        GpuInfo::named(1, GpuSource::Fake, "B"),
    ])
    .with_power_readings(0, vec![Some(50.0)])
    .with_energy_readings(0, vec![Some(10.0), Some(20.0)])
    .with_power_readings(1, vec![Some(100.0)]);
    let dir = tempfile::tempdir().unwrap();
    let config = PowerSamplerConfig {
        root: dir.path().to_path_buf(),
        interval: Duration::from_millis(5),
        backend_pid: Some(1),
    };
    let sampler = PowerSampler::start(Arc::new(probe), config).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let s = sampler.stop().unwrap();
    let b = &s.gpus[1];
    assert!(b.power_samples >= 2, "{}", b.power_samples);
    assert!(close(b.power_mean_w.unwrap(), 100.0));
    let total = s.gpu_energy_j.unwrap();
    assert!(close(total, 10.0 + b.energy_j.unwrap()), "{total}");
    assert_eq!(s.cpu_package_energy_j, None);
    assert!(
        s.notes.iter().any(|n| n.contains("no RAPL")),
        "{:?}",
        s.notes
    );
    assert!(
        s.notes.iter().any(|n| n.contains("peak RSS")),
        "{:?}",
        s.notes
    );
}

#[test]
fn no_gpus_on_this_machine_still_samples_rss() {
    let probe = FakeGpuProbe::new(vec![]);
    let config = PowerSamplerConfig {
        backend_pid: Some(std::process::id()),
        interval: Duration::from_millis(10),
        ..PowerSamplerConfig::default()
    };
    let s = PowerSampler::start(Arc::new(probe), config)
        .unwrap()
        .stop()
        .unwrap();
    assert!(s.gpus.is_empty());
    assert_eq!(s.gpu_energy_j, None);
    assert!(s.backend_peak_rss_bytes.unwrap() > 0);
}
