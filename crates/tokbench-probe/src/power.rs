//! Power and energy during a measurement: GPU power (through [`GpuProbe`]),
//! peak VRAM, CPU package energy (RAPL) and the backend's peak RSS.
//!
//! GPU energy is the integral of sampled power over time by the composite
//! trapezoidal rule on a non-uniform grid,
//! `E = Σ (P[i] + P[i+1]) / 2 · (t[i+1] − t[i])`
//! (<https://en.wikipedia.org/wiki/Trapezoidal_rule#Non-uniform_grid>).
//! Sampling misses spikes shorter than the interval, and NVML's
//! `power_usage` is itself averaged over about a second on recent GPUs, so
//! where the GPU keeps an energy counter (NVML, Volta and newer) its delta is
//! reported too (`energy_counter_j`) and is the better number.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::gpu::GpuProbe;
use crate::procfs::read_peak_rss_bytes;
use crate::rapl::RaplMeter;
use crate::ticker::Ticker;
use crate::ProbeError;

/// What to sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerSamplerConfig {
    /// Root under which `/proc` and `/sys` are read (`/` in production).
    pub root: PathBuf,
    /// Sampling interval.
    pub interval: Duration,
    /// Backend server process whose peak RSS (`VmHWM`) is reported.
    pub backend_pid: Option<u32>,
}

impl Default for PowerSamplerConfig {
    /// `/`, 250 ms, no backend pid.
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            interval: Duration::from_millis(250),
            backend_pid: None,
        }
    }
}

/// Power and memory of one GPU over the sampled period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuPowerSummary {
    /// GPU index in the probe's list.
    pub index: usize,
    /// Number of power readings that succeeded.
    pub power_samples: usize,
    /// Trapezoid-integrated energy, joules; `None` without two power readings.
    pub energy_j: Option<f64>,
    /// Delta of the GPU's own energy counter, joules, when it has one.
    pub energy_counter_j: Option<f64>,
    /// Time-weighted mean power (`energy_j` / span), watts.
    pub power_mean_w: Option<f64>,
    /// Highest power reading, watts.
    pub power_max_w: Option<f64>,
    /// Highest used-memory reading, bytes (a sampled peak: allocations that
    /// live shorter than the interval can be missed).
    pub vram_peak_used_bytes: Option<u64>,
}

/// Summary of a [`PowerSampler`] run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerSummary {
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Wall time from start to stop, seconds.
    pub duration_s: f64,
    /// Per-GPU results.
    pub gpus: Vec<GpuPowerSummary>,
    /// Sum of the GPUs' best energy figure (counter, else trapezoid), joules.
    pub gpu_energy_j: Option<f64>,
    /// CPU package energy from RAPL, joules; `None` when unreadable (see notes).
    pub cpu_package_energy_j: Option<f64>,
    /// Backend peak RSS (`VmHWM`), bytes.
    pub backend_peak_rss_bytes: Option<u64>,
    /// Why figures are missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Energy in joules of power samples `(t_s, watts)` with non-decreasing
/// timestamps, by the trapezoidal rule. Fewer than two samples give 0.
pub fn trapezoid_energy_j(samples: &[(f64, f64)]) -> f64 {
    samples
        .windows(2)
        .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0))
        .sum()
}

#[derive(Debug)]
struct GpuTrack {
    power: Vec<(f64, f64)>,
    vram_peak: Option<u64>,
    energy_first: Option<f64>,
    energy_last: Option<f64>,
}

struct State {
    probe: Arc<dyn GpuProbe>,
    started: Instant,
    gpus: Vec<GpuTrack>,
    rapl: Option<RaplMeter>,
    config: PowerSamplerConfig,
    peak_rss: Option<u64>,
}

impl State {
    fn tick(&mut self) {
        let t = self.started.elapsed().as_secs_f64();
        for (i, g) in self.gpus.iter_mut().enumerate() {
            if let Some(w) = self.probe.power_draw_w(i) {
                g.power.push((t, w));
            }
            if let Some(m) = self.probe.memory_used_bytes(i) {
                g.vram_peak = g.vram_peak.max(Some(m));
            }
            if let Some(e) = self.probe.energy_counter_j(i) {
                g.energy_first.get_or_insert(e);
                g.energy_last = Some(e);
            }
        }
        if let Some(r) = self.rapl.as_mut() {
            r.update();
        }
        if let Some(pid) = self.config.backend_pid {
            // VmHWM only grows; the last successful reading is the peak.
            if let Some(rss) = read_peak_rss_bytes(&self.config.root, pid) {
                self.peak_rss = Some(rss);
            }
        }
    }
}

/// Samples power, VRAM and energy on a std thread between
/// [`PowerSampler::start`] and [`PowerSampler::stop`].
pub struct PowerSampler {
    ticker: Ticker<State>,
    notes: Vec<String>,
    interval: Duration,
}

impl PowerSampler {
    /// Takes a first reading of everything (time 0) and starts sampling the
    /// GPUs `probe` sees at start.
    ///
    /// # Errors
    /// [`ProbeError::Spawn`] when the thread cannot start.
    pub fn start(probe: Arc<dyn GpuProbe>, config: PowerSamplerConfig) -> Result<Self, ProbeError> {
        let mut notes = probe.notes();
        let rapl = RaplMeter::start(&config.root)
            .map_err(|err| notes.push(err.to_string()))
            .ok();
        let gpus = (0..probe.device_count())
            .map(|_| GpuTrack {
                power: Vec::new(),
                vram_peak: None,
                energy_first: None,
                energy_last: None,
            })
            .collect();
        let interval = config.interval;
        let mut state = State {
            probe,
            started: Instant::now(),
            gpus,
            rapl,
            config,
            peak_rss: None,
        };
        state.tick();
        let ticker = Ticker::spawn("power", interval, state, State::tick)?;
        Ok(Self {
            ticker,
            notes,
            interval,
        })
    }

    /// Takes a final reading, stops the thread and summarizes.
    ///
    /// # Errors
    /// [`ProbeError::SamplerPanicked`] if the thread panicked.
    pub fn stop(self) -> Result<PowerSummary, ProbeError> {
        let state = self.ticker.stop()?;
        let mut notes = self.notes;
        let gpus: Vec<GpuPowerSummary> = state
            .gpus
            .iter()
            .enumerate()
            .map(|(index, g)| summarize_gpu(index, g))
            .collect();
        let best = |g: &GpuPowerSummary| g.energy_counter_j.or(g.energy_j);
        let gpu_energy_j = (!gpus.is_empty() && gpus.iter().all(|g| best(g).is_some()))
            .then(|| gpus.iter().filter_map(best).sum());
        if state.config.backend_pid.is_some() && state.peak_rss.is_none() {
            notes.push("backend peak RSS unavailable (process gone or /proc unreadable)".into());
        }
        Ok(PowerSummary {
            interval_ms: u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
            duration_s: state.started.elapsed().as_secs_f64(),
            gpus,
            gpu_energy_j,
            cpu_package_energy_j: state.rapl.as_ref().map(RaplMeter::energy_j),
            backend_peak_rss_bytes: state.peak_rss,
            notes,
        })
    }
}

fn summarize_gpu(index: usize, g: &GpuTrack) -> GpuPowerSummary {
    let span = match (g.power.first(), g.power.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => 0.0,
    };
    let energy_j = (g.power.len() >= 2).then(|| trapezoid_energy_j(&g.power));
    let power_mean_w = match (energy_j, g.power.as_slice()) {
        (Some(e), _) if span > 0.0 => Some(e / span),
        (_, [(_, w), ..]) => Some(*w),
        _ => None,
    };
    GpuPowerSummary {
        index,
        power_samples: g.power.len(),
        energy_j,
        energy_counter_j: g
            .energy_first
            .zip(g.energy_last)
            .map(|(a, b)| (b - a).max(0.0)),
        power_mean_w,
        power_max_w: g.power.iter().map(|p| p.1).reduce(f64::max),
        vram_peak_used_bytes: g.vram_peak,
    }
}

#[cfg(test)]
#[path = "power_tests.rs"]
mod tests;
