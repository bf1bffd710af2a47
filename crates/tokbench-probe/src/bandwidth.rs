//! Memory bandwidth, the ceiling of decode: every generated token reads the
//! model's weights (and the KV cache) once, so decode tok/s ≤ memory
//! bandwidth ÷ bytes read per token (the roofline model, Williams, Waterman
//! & Patterson, "Roofline", CACM 2009).
//!
//! Two figures live here:
//! * [`measure_cpu_bandwidth`]: a STREAM-style (McCalpin, <https://www.cs.virginia.edu/stream/>)
//!   multi-threaded *read* bandwidth of host memory, measured. Decode only
//!   reads the weights, so a read-only sum is the closer kernel than
//!   STREAM's copy/triad, which also write.
//! * [`nvml_theoretical_gb_s`]: a GPU's theoretical peak from its memory
//!   clock and bus width, computed, never measured.
//!
//! Units: GB = 10⁹ bytes throughout (`_gb_s` = 10⁹ bytes per second), as in
//! vendor spec sheets and STREAM's MB/s (10⁶ bytes).

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::hostload::{HostLoadConfig, HostLoadSampler, HostLoadSummary};
use crate::util::{read_trimmed, read_u64, under};
use crate::ProbeError;

/// Timed passes of [`BandwidthConfig::new`].
pub const DEFAULT_REPEATS: usize = 5;

/// Smallest default buffer, bytes (256 MiB): larger than any consumer CPU's
/// last-level cache several times over, even when the cache size is unknown.
pub const MIN_DEFAULT_BUFFER_BYTES: u64 = 256 << 20;

/// Smallest buffer [`measure_cpu_bandwidth`] accepts, bytes (1 MiB). Such a
/// buffer measures a cache, not DRAM; it exists for quick tests.
pub const MIN_BUFFER_BYTES: u64 = 1 << 20;

/// The default buffer is at least this many times the last-level cache.
pub const LLC_MULTIPLE: u64 = 4;

/// Host-load sampling interval during the measurement.
const LOAD_INTERVAL: Duration = Duration::from_millis(250);

/// Bytes per element of the buffer (`u64`).
const WORD: u64 = 8;

/// What [`measure_cpu_bandwidth`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BandwidthConfig {
    /// Reader threads (≥ 1); one per physical core usually saturates DRAM.
    pub threads: usize,
    /// Buffer size, bytes (≥ [`MIN_BUFFER_BYTES`] and ≥ 8 × `threads`);
    /// rounded down to whole `u64` words.
    pub buffer_bytes: u64,
    /// Timed passes over the buffer (≥ 1), after one untimed warm-up pass.
    pub repeats: usize,
    /// Root under which `/sys` and `/proc` are read (`/` in production).
    pub root: PathBuf,
}

impl BandwidthConfig {
    /// `threads` readers, a buffer of [`default_buffer_bytes`]`(root)` and
    /// [`DEFAULT_REPEATS`] timed passes.
    pub fn new(threads: usize, root: &Path) -> Self {
        Self {
            threads,
            buffer_bytes: default_buffer_bytes(root),
            repeats: DEFAULT_REPEATS,
            root: root.to_path_buf(),
        }
    }
}

/// A measured host-memory read bandwidth. GB = 10⁹ bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuBandwidth {
    /// The kernel: `stream-read-sum` (each thread sums its contiguous chunk
    /// of a `u64` buffer with wrapping adds).
    pub method: String,
    /// Bytes read per pass (the configured size, in whole `u64` words).
    pub buffer_bytes: u64,
    /// Last-level cache of cpu0, bytes, when sysfs tells it.
    pub llc_bytes: Option<u64>,
    /// Reader threads.
    pub threads: usize,
    /// Timed passes.
    pub repeats: usize,
    /// Sweeps of the whole buffer in each timed repeat, chosen from the
    /// warm-up sweep so a repeat lasts at least [`MIN_REPEAT`].
    pub sweeps_per_repeat: usize,
    /// Bandwidth of each timed pass, GB/s (10⁹ bytes per second), in order.
    pub samples_gb_s: Vec<f64>,
    /// Median of `samples_gb_s`, GB/s.
    pub median_gb_s: f64,
    /// (max − min) ÷ median × 100 over `samples_gb_s`, percent.
    pub spread_pct: f64,
    /// Host load while measuring; a noisy host reads low.
    pub host_load: HostLoadSummary,
}

/// The name of the kernel in [`CpuBandwidth::method`].
pub const METHOD: &str = "stream-read-sum";

/// Size of cpu0's last-level cache, bytes: the largest `size` among
/// `{root}/sys/devices/system/cpu/cpu0/cache/index*/` entries with the
/// highest `level`. Sizes read like `32768K`, `2M` or plain bytes.
///
/// This is one cache instance: CPUs with several L3 slices (AMD CCDs) have
/// more last-level cache in total. `None` when sysfs has no cache entries.
pub fn last_level_cache_bytes(root: &Path) -> Option<u64> {
    let dir = under(root, "/sys/devices/system/cpu/cpu0/cache");
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let level = read_u64(&e.path().join("level"))?;
            let size = parse_cache_size(&read_trimmed(&e.path().join("size"))?)?;
            Some((level, size))
        })
        .max()
        .map(|(_, size)| size)
}

/// Parses a sysfs cache size (`32768K`, `2M`, `1G`, `512`) into bytes.
fn parse_cache_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return None,
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Default buffer size, bytes: max([`LLC_MULTIPLE`] × last-level cache,
/// [`MIN_DEFAULT_BUFFER_BYTES`]); 256 MiB when the cache size is unknown.
///
/// The buffer must be several times the last-level cache so that reads come
/// from DRAM, not from cache: STREAM's rule is that each array be at least
/// 4 × the sum of all caches.
pub fn default_buffer_bytes(root: &Path) -> u64 {
    last_level_cache_bytes(root)
        .map_or(0, |llc| llc.saturating_mul(LLC_MULTIPLE))
        .max(MIN_DEFAULT_BUFFER_BYTES)
}

/// Theoretical peak bandwidth of GPU memory, GB/s (10⁹ bytes/s):
/// 2 × `memory_max_mhz` × 10⁶ × `bus_width_bits` ÷ 8 ÷ 10⁹.
///
/// NVML reports the memory clock such that twice it is the data rate per
/// pin, for GDDR and HBM alike: an H100 SXM reports 2619 MHz on a 5120-bit
/// bus (3352 GB/s), an RTX 4090 10501 MHz on 384 bits (1008 GB/s), matching
/// their spec sheets. A peak, never reached: measured copies get 80–90 %.
pub fn nvml_theoretical_gb_s(bus_width_bits: u32, memory_max_mhz: u32) -> f64 {
    2.0 * f64::from(memory_max_mhz) * 1e6 * f64::from(bus_width_bits) / 8.0 / 1e9
}

/// Measures host-memory read bandwidth, STREAM-style: fills a `u64` buffer
/// of `cfg.buffer_bytes` (faulting every page in), runs one untimed warm-up
/// pass, then `cfg.repeats` timed passes in which `cfg.threads` threads,
/// released together, each sum one contiguous chunk. A pass's bandwidth is
/// bytes read ÷ seconds from just before the release to when the last thread
/// finishes. Host load is sampled under `cfg.root` meanwhile.
///
/// The buffer is filled by one thread, so on a NUMA machine its pages sit on
/// that thread's node, and threads are not pinned to cores.
///
/// # Errors
/// [`ProbeError::Bandwidth`] for an invalid config (no threads, no repeats,
/// a buffer under [`MIN_BUFFER_BYTES`] or under 8 bytes per thread), when
/// the buffer cannot be allocated or a reader thread panics;
/// [`ProbeError::Spawn`] when a thread cannot start; the host-load sampler's
/// errors (`/proc/stat` unreadable under `cfg.root`).
pub fn measure_cpu_bandwidth(cfg: &BandwidthConfig) -> Result<CpuBandwidth, ProbeError> {
    let words = validate(cfg)?;
    let buffer = filled_buffer(words)?;
    let chunks = split(&buffer, cfg.threads);
    let sampler = HostLoadSampler::start(HostLoadConfig {
        root: cfg.root.clone(),
        interval: LOAD_INTERVAL,
        ..HostLoadConfig::default()
    })?;
    let passes = timed_passes(&chunks, cfg.repeats);
    // Stop the sampler before returning a pass error, so its thread ends.
    let host_load = sampler.stop()?;
    let (sweeps, secs) = passes?;
    let bytes = words as f64 * WORD as f64 * sweeps as f64;
    let samples_gb_s: Vec<f64> = secs.iter().map(|s| bytes / s / 1e9).collect();
    let median_gb_s = median(&samples_gb_s);
    let spread_pct = spread_pct(&samples_gb_s, median_gb_s);
    Ok(CpuBandwidth {
        method: METHOD.to_string(),
        buffer_bytes: words as u64 * WORD,
        llc_bytes: last_level_cache_bytes(&cfg.root),
        threads: cfg.threads,
        repeats: cfg.repeats,
        sweeps_per_repeat: sweeps,
        samples_gb_s,
        median_gb_s,
        spread_pct,
        host_load,
    })
}

/// Checks `cfg`; returns the buffer length in `u64` words.
fn validate(cfg: &BandwidthConfig) -> Result<usize, ProbeError> {
    let bad = |m: String| Err(ProbeError::Bandwidth(m));
    if cfg.threads == 0 {
        return bad("threads must be at least 1".into());
    }
    if cfg.repeats == 0 {
        return bad("repeats must be at least 1".into());
    }
    if cfg.buffer_bytes < MIN_BUFFER_BYTES {
        return bad(format!(
            "buffer of {} bytes is under the minimum of {MIN_BUFFER_BYTES} bytes (1 MiB)",
            cfg.buffer_bytes
        ));
    }
    let threads = u64::try_from(cfg.threads).unwrap_or(u64::MAX);
    if cfg.buffer_bytes / WORD < threads {
        return bad(format!(
            "buffer of {} bytes gives {} threads less than 8 bytes each",
            cfg.buffer_bytes, cfg.threads
        ));
    }
    usize::try_from(cfg.buffer_bytes / WORD).or_else(|_| {
        bad(format!(
            "buffer of {} bytes does not fit in this machine's address space",
            cfg.buffer_bytes
        ))
    })
}

/// A buffer of `words` elements, every one written (so every page is
/// faulted in before timing), element `i` holding `i`.
fn filled_buffer(words: usize) -> Result<Vec<u64>, ProbeError> {
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(words).map_err(|e| {
        ProbeError::Bandwidth(format!(
            "cannot allocate a buffer of {} bytes: {e}",
            words as u64 * WORD
        ))
    })?;
    buffer.extend((0..words).map(|i| i as u64));
    Ok(buffer)
}

/// `threads` contiguous chunks covering `buffer`, none empty when
/// `buffer.len() ≥ threads`, sizes differing by at most one.
fn split(buffer: &[u64], threads: usize) -> Vec<&[u64]> {
    let n = buffer.len();
    (0..threads)
        .map(|i| &buffer[i * n / threads..(i + 1) * n / threads])
        .collect()
}

/// Wrapping sum of `words`, with eight independent accumulators so the adds
/// are not serialized on one register (the loop is then bound by memory,
/// not by add latency, and vectorizes).
fn sum_words(words: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    let mut blocks = words.chunks_exact(8);
    for block in &mut blocks {
        for (a, &w) in acc.iter_mut().zip(block) {
            *a = a.wrapping_add(w);
        }
    }
    let tail = blocks
        .remainder()
        .iter()
        .fold(0u64, |s, &w| s.wrapping_add(w));
    acc.iter().fold(tail, |s, &a| s.wrapping_add(a))
}

/// Shortest timed repeat: long enough that waking the readers (tens of µs,
/// more on a VM) is noise, as STREAM asks of each kernel's timing.
pub const MIN_REPEAT: Duration = Duration::from_millis(200);

/// Most sweeps of the buffer in one repeat.
const MAX_SWEEPS: usize = 64;

/// One untimed warm-up sweep, which also sizes the repeats: each timed
/// repeat sweeps the buffer `sweeps` times so it lasts at least
/// [`MIN_REPEAT`]. Returns `(sweeps, seconds of each repeat)`.
fn timed_passes(chunks: &[&[u64]], repeats: usize) -> Result<(usize, Vec<f64>), ProbeError> {
    let warm = timed_pass(chunks, 1)?;
    let sweeps = ((MIN_REPEAT.as_secs_f64() / warm).ceil() as usize).clamp(1, MAX_SWEEPS);
    let secs = (0..repeats)
        .map(|_| timed_pass(chunks, sweeps))
        .collect::<Result<_, _>>()?;
    Ok((sweeps, secs))
}

/// Spawns one reader per chunk, waits until all are ready, releases them
/// together (each sums its chunk `sweeps` times) and returns the seconds
/// from just before the release until the last one finished.
fn timed_pass(chunks: &[&[u64]], sweeps: usize) -> Result<f64, ProbeError> {
    let gate = StartGate::default();
    let elapsed = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(chunks.len());
        for &chunk in chunks {
            let gate = &gate;
            let spawned = std::thread::Builder::new()
                .name("bandwidth".into())
                .spawn_scoped(s, move || {
                    gate.arrive_and_wait().then(|| {
                        (0..sweeps).fold(0u64, |acc, _| {
                            acc ^ std::hint::black_box(sum_words(std::hint::black_box(chunk)))
                        })
                    })
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(source) => {
                    gate.open(false); // the spawned readers return at once
                    return Err(ProbeError::Spawn {
                        name: "bandwidth",
                        source,
                    });
                }
            }
        }
        gate.wait_ready(chunks.len());
        let start = Instant::now();
        gate.open(true);
        for h in handles {
            h.join()
                .map_err(|_| ProbeError::Bandwidth("a bandwidth reader thread panicked".into()))?;
        }
        Ok(start.elapsed())
    })?;
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        Ok(secs)
    } else {
        Err(ProbeError::Bandwidth(
            "the clock did not advance during a pass".into(),
        ))
    }
}

/// A start barrier that can also be cancelled (a `std::sync::Barrier`
/// cannot, so a failed spawn would leave the spawned readers waiting).
#[derive(Debug, Default)]
struct StartGate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    ready: usize,
    /// `Some(true)`: go; `Some(false)`: cancelled.
    open: Option<bool>,
}

impl StartGate {
    /// Counts the caller as ready and blocks until the gate opens; true to go.
    fn arrive_and_wait(&self) -> bool {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.ready += 1;
        self.changed.notify_all();
        loop {
            if let Some(go) = st.open {
                return go;
            }
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Blocks until `n` callers wait at the gate.
    fn wait_ready(&self, n: usize) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while st.ready < n {
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Opens the gate: `go` true releases the readers, false cancels them.
    fn open(&self, go: bool) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.open = Some(go);
        self.changed.notify_all();
    }
}

/// Median of `xs` (mean of the two middle values for an even count); NaN
/// when empty.
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// (max − min) ÷ `median` × 100, percent.
fn spread_pct(xs: &[f64], median: f64) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    (max - min) / median * 100.0
}

#[cfg(test)]
#[path = "bandwidth_tests.rs"]
mod tests;
