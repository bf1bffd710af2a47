//! Host load during a benchmark: is something other than tokbench and the
//! backend eating CPU?
//!
//! [`HostLoadSampler`] reads `/proc/stat` (all CPUs) and `/proc/<pid>/stat`
//! (the tracked processes and, optionally, their descendants) on a std
//! thread at a fixed interval. For each interval, "others" is the machine's
//! busy time minus the tracked processes' CPU time; hypervisor `steal` time
//! counts as others (noisy neighbours).
//!
//! # Verdict
//! The run is flagged `noisy` when others used more than
//! [`NOISY_OTHERS_CORES`] (a quarter of one core) averaged over the run: a
//! background job of that size visibly shifts latency percentiles, while an
//! idle desktop (timers, a terminal) stays well below it.
//!
//! The 1-minute load average before the start is recorded but does not
//! decide: it lags by a minute and includes tokbench's and the backend's own
//! work of the previous cell, so it flagged every cell after the first on a
//! quiet machine.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::procfs::{read_loadavg, read_proc_stat, read_tracked_ticks, CpuTimes, LoadAvg};
use crate::ticker::Ticker;
use crate::ProbeError;

/// Others' mean CPU use, in cores, above which a run is noisy.
pub const NOISY_OTHERS_CORES: f64 = 0.25;

/// What to sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLoadConfig {
    /// Root under which `/proc` is read (`/` in production).
    pub root: PathBuf,
    /// Sampling interval (1 s is plenty: `/proc/stat` counts in 10 ms ticks).
    pub interval: Duration,
    /// Processes whose CPU time is "ours": tokbench itself and the backend.
    pub tracked_pids: Vec<u32>,
    /// Also count live descendants of the tracked processes as ours.
    pub include_descendants: bool,
}

impl Default for HostLoadConfig {
    /// `/`, 1 s, this process only, descendants included.
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            interval: Duration::from_secs(1),
            tracked_pids: vec![std::process::id()],
            include_descendants: true,
        }
    }
}

/// One sampling interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HostLoadSample {
    /// End of the interval, seconds since the sampler started.
    pub elapsed_s: f64,
    /// Busy share of all CPUs, percent (0–100).
    pub busy_pct: f64,
    /// Busy share of all CPUs used by untracked processes, percent (0–100).
    pub others_busy_pct: f64,
    /// Same as `others_busy_pct`, in cores (1.0 = one logical CPU fully busy).
    pub others_busy_cores: f64,
    /// 1-minute load average at the end of the interval.
    pub load_avg_1m: Option<f64>,
}

/// Summary of a sampled period, with the noise verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostLoadSummary {
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Wall time sampled, seconds.
    pub duration_s: f64,
    /// Logical CPUs (per-CPU lines in `/proc/stat`).
    pub logical_cpus: usize,
    /// Number of intervals measured.
    pub samples: usize,
    /// Load averages just before the start.
    pub load_avg_before: Option<LoadAvg>,
    /// Highest 1-minute load average seen during the period.
    pub load_avg_1m_max: Option<f64>,
    /// Mean busy share of all CPUs, percent (time-weighted).
    pub busy_pct_mean: Option<f64>,
    /// Mean busy share of all CPUs used by untracked processes, percent.
    pub others_busy_pct_mean: Option<f64>,
    /// Highest per-interval `others_busy_pct`.
    pub others_busy_pct_max: Option<f64>,
    /// Mean CPU use of untracked processes, in cores.
    pub others_busy_cores_mean: Option<f64>,
    /// Highest per-interval `others_busy_cores`.
    pub others_busy_cores_max: Option<f64>,
    /// True when the host was too busy for trustworthy numbers (see module docs).
    pub noisy: bool,
    /// Why `noisy` is true; `None` when it is false.
    pub noisy_reason: Option<String>,
    /// Readings that failed during sampling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Applies the documented threshold to others' mean CPU use (cores).
/// Returns `(noisy, reason)`.
pub fn noise_verdict(others_cores_mean: Option<f64>) -> (bool, Option<String>) {
    match others_cores_mean.filter(|&c| c > NOISY_OTHERS_CORES) {
        Some(cores) => (
            true,
            Some(format!(
                "other processes used {cores:.2} cores on average (threshold {NOISY_OTHERS_CORES})"
            )),
        ),
        None => (false, None),
    }
}

/// One reading of the counters.
#[derive(Debug, Clone)]
struct Reading {
    at: Instant,
    cpu: CpuTimes,
    tracked: HashMap<u32, u64>,
}

/// The sampler thread's state.
#[derive(Debug)]
struct State {
    config: HostLoadConfig,
    started: Instant,
    logical_cpus: usize,
    prev: Reading,
    samples: Vec<HostLoadSample>,
    /// Busy, others and total ticks summed over all intervals.
    sums: (u64, u64, u64),
    notes: Vec<String>,
}

impl State {
    fn read(&self) -> Result<Reading, ProbeError> {
        let c = &self.config;
        Ok(Reading {
            at: Instant::now(),
            cpu: read_proc_stat(&c.root)?.cpu,
            tracked: read_tracked_ticks(&c.root, &c.tracked_pids, c.include_descendants),
        })
    }

    fn tick(&mut self) {
        let now = match self.read() {
            Ok(r) => r,
            Err(e) => {
                if self.notes.len() < 8 {
                    self.notes.push(e.to_string());
                }
                return;
            }
        };
        let total = now.cpu.total().saturating_sub(self.prev.cpu.total());
        if total == 0 {
            return; // no tick elapsed (e.g. the final tick right after one)
        }
        let busy = now.cpu.busy().saturating_sub(self.prev.cpu.busy());
        let ours = tracked_delta(&self.prev.tracked, &now.tracked);
        let others = busy.saturating_sub(ours);
        let share = |t: u64| t as f64 / total as f64;
        self.samples.push(HostLoadSample {
            elapsed_s: (now.at - self.started).as_secs_f64(),
            busy_pct: 100.0 * share(busy),
            others_busy_pct: 100.0 * share(others),
            others_busy_cores: share(others) * self.logical_cpus as f64,
            load_avg_1m: read_loadavg(&self.config.root).map(|l| l.one),
        });
        self.sums.0 += busy;
        self.sums.1 += others;
        self.sums.2 += total;
        self.prev = now;
    }
}

/// CPU ticks the tracked processes used between two readings. A process
/// new in `now` counts from zero (it started during the interval); one gone
/// from `now` is lost for that interval (its last ticks show as others').
fn tracked_delta(prev: &HashMap<u32, u64>, now: &HashMap<u32, u64>) -> u64 {
    now.iter()
        .map(|(pid, &t)| t.saturating_sub(prev.get(pid).copied().unwrap_or(0)))
        .sum()
}

/// Samples host load on a std thread between [`HostLoadSampler::start`] and
/// [`HostLoadSampler::stop`].
pub struct HostLoadSampler {
    ticker: Ticker<State>,
    load_before: Option<LoadAvg>,
    interval: Duration,
}

impl HostLoadSampler {
    /// Takes the "before" readings and starts sampling.
    ///
    /// # Errors
    /// [`ProbeError::Io`]/[`ProbeError::Parse`] when `/proc/stat` cannot be
    /// read; [`ProbeError::Spawn`] when the thread cannot start.
    pub fn start(config: HostLoadConfig) -> Result<Self, ProbeError> {
        let load_before = read_loadavg(&config.root);
        let stat = read_proc_stat(&config.root)?;
        let interval = config.interval;
        let started = Instant::now();
        let prev = Reading {
            at: started,
            cpu: stat.cpu,
            tracked: read_tracked_ticks(
                &config.root,
                &config.tracked_pids,
                config.include_descendants,
            ),
        };
        let state = State {
            logical_cpus: stat.logical_cpus.max(1),
            config,
            started,
            prev,
            samples: Vec::new(),
            sums: (0, 0, 0),
            notes: Vec::new(),
        };
        let ticker = Ticker::spawn("host-load", interval, state, State::tick)?;
        Ok(Self {
            ticker,
            load_before,
            interval,
        })
    }

    /// Takes a final reading, stops the thread and summarizes.
    ///
    /// # Errors
    /// [`ProbeError::SamplerPanicked`] if the thread panicked.
    pub fn stop(self) -> Result<HostLoadSummary, ProbeError> {
        let state = self.ticker.stop()?;
        Ok(summarize(&state, self.load_before, self.interval))
    }
}

fn summarize(state: &State, load_before: Option<LoadAvg>, interval: Duration) -> HostLoadSummary {
    let (busy, others, total) = state.sums;
    let share = |t: u64| (total > 0).then(|| t as f64 / total as f64);
    let cpus = state.logical_cpus as f64;
    let max = |f: fn(&HostLoadSample) -> f64| state.samples.iter().map(f).reduce(f64::max);
    let others_cores_mean = share(others).map(|s| s * cpus);
    let (noisy, noisy_reason) = noise_verdict(others_cores_mean);
    HostLoadSummary {
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        duration_s: state.samples.last().map_or(0.0, |s| s.elapsed_s),
        logical_cpus: state.logical_cpus,
        samples: state.samples.len(),
        load_avg_before: load_before,
        load_avg_1m_max: state
            .samples
            .iter()
            .filter_map(|s| s.load_avg_1m)
            .reduce(f64::max),
        busy_pct_mean: share(busy).map(|s| 100.0 * s),
        others_busy_pct_mean: share(others).map(|s| 100.0 * s),
        others_busy_pct_max: max(|s| s.others_busy_pct),
        others_busy_cores_mean: others_cores_mean,
        others_busy_cores_max: max(|s| s.others_busy_cores),
        noisy,
        noisy_reason,
        notes: state.notes.clone(),
    }
}

#[cfg(test)]
#[path = "hostload_tests.rs"]
mod tests;
