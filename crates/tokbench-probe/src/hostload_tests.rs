#![allow(clippy::unwrap_used)]
use super::*;
use crate::util::testing::write_under as write;

fn pid_stat(pid: u32, ppid: u32, utime: u64, stime: u64) -> String {
    format!("{pid} (p) S {ppid} 1 1 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0\n")
}

const TWO_CPUS: &str = "cpu0 0 0 0 0\ncpu1 0 0 0 0\n";

#[test]
fn verdict_thresholds() {
    assert_eq!(noise_verdict(Some(0.1)), (false, None));
    assert_eq!(noise_verdict(None), (false, None));
    // Exactly at the threshold is not noisy.
    assert!(!noise_verdict(Some(NOISY_OTHERS_CORES)).0);
    let (noisy, why) = noise_verdict(Some(0.3));
    assert!(noisy);
    assert!(why.unwrap().contains("0.30 cores"));
}

#[test]
fn tracked_delta_counts_new_processes_from_zero() {
    let prev = HashMap::from([(1, 100), (2, 50)]);
    let now = HashMap::from([(1, 130), (3, 7)]);
    assert_eq!(tracked_delta(&prev, &now), 37);
}

#[test]
fn sampler_separates_ours_from_others() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(
        r,
        "/proc/stat",
        &format!("cpu 100 0 50 850 0 0 0 0\n{TWO_CPUS}"),
    );
    write(r, "/proc/loadavg", "0.30 0.20 0.10 1/100 100\n");
    write(r, "/proc/100/stat", &pid_stat(100, 1, 10, 5));
    write(r, "/proc/200/stat", &pid_stat(200, 1, 500, 500));
    let config = HostLoadConfig {
        root: r.to_path_buf(),
        interval: Duration::from_secs(3600), // only the final tick on stop
        tracked_pids: vec![100],
        include_descendants: true,
    };
    let sampler = HostLoadSampler::start(config).unwrap();
    // One interval: busy +150 of +200 ticks; pid 100 +70, new child 101 +10.
    write(
        r,
        "/proc/stat",
        &format!("cpu 220 0 80 900 0 0 0 0\n{TWO_CPUS}"),
    );
    write(r, "/proc/loadavg", "0.90 0.30 0.10 1/100 100\n");
    write(r, "/proc/100/stat", &pid_stat(100, 1, 60, 25));
    write(r, "/proc/101/stat", &pid_stat(101, 100, 8, 2));
    write(r, "/proc/200/stat", &pid_stat(200, 1, 560, 510));
    let s = sampler.stop().unwrap();
    assert_eq!(s.samples, 1);
    assert_eq!(s.logical_cpus, 2);
    assert_eq!(s.load_avg_before.unwrap().one, 0.30);
    assert_eq!(s.load_avg_1m_max, Some(0.90));
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
    assert!(close(s.busy_pct_mean, 75.0), "{:?}", s.busy_pct_mean);
    assert!(close(s.others_busy_pct_mean, 35.0));
    assert!(close(s.others_busy_pct_max, 35.0));
    assert!(close(s.others_busy_cores_mean, 0.7));
    assert!(s.noisy);
    assert!(s.noisy_reason.unwrap().contains("0.70 cores"));
    assert!(s.notes.is_empty());
}

#[test]
fn without_descendants_the_child_counts_as_others() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(
        r,
        "/proc/stat",
        &format!("cpu 0 0 0 1000 0 0 0 0\n{TWO_CPUS}"),
    );
    write(r, "/proc/100/stat", &pid_stat(100, 1, 0, 0));
    let config = HostLoadConfig {
        root: r.to_path_buf(),
        interval: Duration::from_secs(3600),
        tracked_pids: vec![100],
        include_descendants: false,
    };
    let sampler = HostLoadSampler::start(config).unwrap();
    write(
        r,
        "/proc/stat",
        &format!("cpu 20 0 0 1180 0 0 0 0\n{TWO_CPUS}"),
    );
    write(r, "/proc/100/stat", &pid_stat(100, 1, 10, 0));
    write(r, "/proc/101/stat", &pid_stat(101, 100, 10, 0));
    let s = sampler.stop().unwrap();
    // 10 of 20 busy ticks are the untracked child's: 10/200 = 5 %, 0.1 cores.
    assert!((s.others_busy_pct_mean.unwrap() - 5.0).abs() < 1e-9);
    assert!(!s.noisy, "{:?}", s.noisy_reason);
    assert_eq!(s.load_avg_before, None);
}

#[test]
fn no_elapsed_ticks_gives_no_samples_and_missing_proc_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let config = HostLoadConfig {
        root: r.to_path_buf(),
        interval: Duration::from_secs(3600),
        tracked_pids: vec![],
        include_descendants: false,
    };
    assert!(matches!(
        HostLoadSampler::start(config.clone()),
        Err(ProbeError::Io { .. })
    ));
    write(r, "/proc/stat", &format!("cpu 1 0 0 1 0 0 0 0\n{TWO_CPUS}"));
    let s = HostLoadSampler::start(config).unwrap().stop().unwrap();
    assert_eq!(s.samples, 0);
    assert_eq!(s.busy_pct_mean, None);
    assert!(!s.noisy);
}

#[test]
fn sampler_on_this_machine_runs() {
    let config = HostLoadConfig {
        interval: Duration::from_millis(50),
        ..HostLoadConfig::default()
    };
    let sampler = HostLoadSampler::start(config).unwrap();
    std::thread::sleep(Duration::from_millis(220));
    let s = sampler.stop().unwrap();
    assert!(s.logical_cpus >= 1);
    for v in [s.busy_pct_mean, s.others_busy_pct_mean]
        .into_iter()
        .flatten()
    {
        assert!((0.0..=100.0).contains(&v), "{v}");
    }
}
