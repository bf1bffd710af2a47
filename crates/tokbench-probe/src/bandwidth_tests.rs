#![allow(clippy::unwrap_used)]
use super::*;
use crate::util::testing::write_under as write;

/// A fake root with one CPU in `/proc/stat` and the given cache entries
/// `(index, level, size)` for cpu0.
fn fake_root(caches: &[(u32, u32, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "/proc/stat",
        "cpu 1 0 1 10 0 0 0 0\ncpu0 1 0 1 10\n",
    );
    for (index, level, size) in caches {
        let base = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        write(dir.path(), &format!("{base}/level"), &format!("{level}\n"));
        write(dir.path(), &format!("{base}/size"), &format!("{size}\n"));
    }
    dir
}

#[test]
fn cache_sizes_parse_with_and_without_units() {
    assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
    assert_eq!(parse_cache_size("2M"), Some(2 << 20));
    assert_eq!(parse_cache_size("1G"), Some(1 << 30));
    assert_eq!(parse_cache_size("512"), Some(512));
    assert_eq!(parse_cache_size("48k"), Some(48 << 10));
    assert_eq!(parse_cache_size("12X"), None);
    assert_eq!(parse_cache_size("K"), None);
    assert_eq!(parse_cache_size(""), None);
}

#[test]
fn llc_is_the_largest_cache_of_the_highest_level() {
    // L1d, L1i, L2, and two L3 entries: the larger L3 wins, not the L2.
    let dir = fake_root(&[
        (0, 1, "48K"),
        (1, 1, "32K"),
        (2, 2, "2048K"),
        (3, 3, "16M"),
        (4, 3, "32768K"),
    ]);
    assert_eq!(last_level_cache_bytes(dir.path()), Some(32 << 20));
    // 4 × 32 MiB = 128 MiB is under the 256 MiB floor.
    assert_eq!(default_buffer_bytes(dir.path()), MIN_DEFAULT_BUFFER_BYTES);
}

#[test]
fn default_buffer_is_four_times_a_large_llc() {
    let dir = fake_root(&[(0, 2, "1024K"), (3, 3, "96M")]);
    assert_eq!(last_level_cache_bytes(dir.path()), Some(96 << 20));
    assert_eq!(default_buffer_bytes(dir.path()), 384 << 20);
}

#[test]
fn unknown_llc_gives_the_floor() {
    let dir = fake_root(&[]);
    assert_eq!(last_level_cache_bytes(dir.path()), None);
    assert_eq!(default_buffer_bytes(dir.path()), 256 << 20);
    // An entry without a readable size is skipped.
    write(
        dir.path(),
        "/sys/devices/system/cpu/cpu0/cache/index0/level",
        "1\n",
    );
    assert_eq!(last_level_cache_bytes(dir.path()), None);
}

#[test]
fn config_new_uses_the_defaults() {
    let dir = fake_root(&[(3, 3, "128M")]);
    let cfg = BandwidthConfig::new(3, dir.path());
    assert_eq!(cfg.threads, 3);
    assert_eq!(cfg.repeats, DEFAULT_REPEATS);
    assert_eq!(cfg.buffer_bytes, 512 << 20);
    assert_eq!(cfg.root, dir.path());
}

#[test]
fn nvml_theoretical_bandwidth_matches_spec_sheets() {
    // H100 SXM: 3.35 TB/s; RTX 4090: 1008 GB/s.
    assert!((nvml_theoretical_gb_s(5120, 2619) - 3352.32).abs() < 1e-9);
    assert!((nvml_theoretical_gb_s(384, 10501) - 1008.096).abs() < 1e-9);
    assert_eq!(nvml_theoretical_gb_s(0, 10501), 0.0);
}

#[test]
fn sum_is_exact_for_every_tail_length() {
    for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 1000] {
        let v: Vec<u64> = (0..n as u64).collect();
        let expected = (n as u64) * (n as u64).saturating_sub(1) / 2;
        assert_eq!(sum_words(&v), expected, "n = {n}");
    }
    assert_eq!(sum_words(&[u64::MAX, 2]), 1, "adds wrap");
}

#[test]
fn split_covers_the_buffer_with_near_equal_chunks() {
    let v: Vec<u64> = (0..10).collect();
    let chunks = split(&v, 4);
    let lens: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
    assert_eq!(lens, [2, 3, 2, 3]);
    assert_eq!(chunks.concat(), v);
    assert_eq!(split(&v, 10).iter().filter(|c| c.len() == 1).count(), 10);
}

#[test]
fn median_and_spread() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    assert!(median(&[]).is_nan());
    assert_eq!(spread_pct(&[9.0, 10.0, 11.0], 10.0), 20.0);
    assert_eq!(spread_pct(&[5.0], 5.0), 0.0);
}

fn invalid(cfg: &BandwidthConfig) -> String {
    match measure_cpu_bandwidth(cfg) {
        Err(e @ ProbeError::Bandwidth(_)) => e.to_string(),
        other => panic!("expected a bandwidth error, got {other:?}"),
    }
}

#[test]
fn invalid_configs_are_errors() {
    let dir = fake_root(&[]);
    let ok = BandwidthConfig {
        threads: 1,
        buffer_bytes: MIN_BUFFER_BYTES,
        repeats: 1,
        root: dir.path().to_path_buf(),
    };
    let msg = invalid(&BandwidthConfig {
        threads: 0,
        ..ok.clone()
    });
    assert!(msg.contains("threads must be at least 1"), "{msg}");
    let msg = invalid(&BandwidthConfig {
        repeats: 0,
        ..ok.clone()
    });
    assert!(msg.contains("repeats must be at least 1"), "{msg}");
    let msg = invalid(&BandwidthConfig {
        buffer_bytes: MIN_BUFFER_BYTES - 1,
        ..ok.clone()
    });
    assert!(msg.contains("under the minimum"), "{msg}");
    let msg = invalid(&BandwidthConfig {
        threads: 200_000,
        ..ok.clone()
    });
    assert!(msg.contains("less than 8 bytes each"), "{msg}");
    let msg = invalid(&BandwidthConfig {
        buffer_bytes: u64::MAX,
        ..ok
    });
    assert!(msg.starts_with("memory bandwidth: "), "{msg}");
}

#[test]
fn measurement_echoes_the_config_and_reads_positive() {
    let dir = fake_root(&[(2, 2, "1M"), (3, 3, "8M")]);
    let cfg = BandwidthConfig {
        threads: 3,
        buffer_bytes: 2 << 20,
        repeats: 3,
        root: dir.path().to_path_buf(),
    };
    let bw = measure_cpu_bandwidth(&cfg).unwrap();
    assert_eq!(bw.method, "stream-read-sum");
    assert_eq!(bw.threads, 3);
    assert_eq!(bw.repeats, 3);
    assert_eq!(bw.buffer_bytes, 2 << 20);
    assert_eq!(bw.llc_bytes, Some(8 << 20));
    assert_eq!(bw.samples_gb_s.len(), 3);
    assert!(bw.samples_gb_s.iter().all(|s| s.is_finite() && *s > 0.0));
    assert_eq!(bw.median_gb_s, median(&bw.samples_gb_s));
    assert!(bw.median_gb_s.is_finite() && bw.median_gb_s > 0.0);
    assert!(bw.spread_pct.is_finite() && bw.spread_pct >= 0.0);
    assert_eq!(bw.host_load.logical_cpus, 1, "sampled under the fake root");
    // JSON floats may come back one ulp off; compare the rest exactly.
    let json = serde_json::to_string(&bw).unwrap();
    let back: CpuBandwidth = serde_json::from_str(&json).unwrap();
    assert_eq!(back.samples_gb_s.len(), 3);
    assert_eq!(
        CpuBandwidth {
            samples_gb_s: Vec::new(),
            median_gb_s: 0.0,
            spread_pct: 0.0,
            ..back
        },
        CpuBandwidth {
            samples_gb_s: Vec::new(),
            median_gb_s: 0.0,
            spread_pct: 0.0,
            ..bw
        }
    );
}

#[test]
fn measurement_without_proc_stat_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BandwidthConfig {
        threads: 1,
        buffer_bytes: MIN_BUFFER_BYTES,
        repeats: 1,
        root: dir.path().to_path_buf(),
    };
    assert!(matches!(
        measure_cpu_bandwidth(&cfg),
        Err(ProbeError::Io { .. })
    ));
}

#[test]
fn a_cancelled_gate_releases_its_waiters_with_false() {
    let gate = StartGate::default();
    let results = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(|| gate.arrive_and_wait())).collect();
        gate.wait_ready(2);
        gate.open(false);
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(results, [false, false]);
}
