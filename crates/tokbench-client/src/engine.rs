//! The load engine: one engine, independent settings.
//!
//! Two independent knobs decide *when* a request is sent and *how many* may
//! be in flight:
//!
//! - **Closed loop** (`rate: None`): `concurrency` workers each send their
//!   next request as soon as the previous one finished. The intended send
//!   time is the moment the slot became free.
//! - **Open loop** (`rate: Some(r)`): send times are precomputed as absolute
//!   offsets of a Poisson process (exponential gaps with mean `1/r`, seeded),
//!   and `concurrency` caps the requests in flight. A request whose slot is
//!   not free at its intended time waits; both times are recorded, so
//!   client-side queueing shows up as queue delay instead of silently
//!   lowering the offered load (no coordinated omission).
//!
//! A run has an optional warm-up phase (same settings, excluded from
//! statistics) followed by the measured phase, which stops after a request
//! count and/or a duration. Cancellation (Ctrl-C) stops issuing, cancels
//! in-flight requests (recorded as [`ErrorKind::Cancelled`]) and keeps every
//! completed one.
//!
//! The hot path only stamps times and counts bytes (see
//! [`crate::recorder`]); samples are collected once per finished request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokbench_stats::{ErrorKind, Outcome, RequestSample};
use tokio::sync::{watch, Semaphore};

use crate::client::{micros_since, Client, RequestSpec};
use crate::stamp::SendClock;

/// Produces the request with a given sequence number (unique prompts).
pub trait RequestSource: Send + Sync {
    /// The request numbered `id` (0-based across warm-up and measurement).
    fn request(&self, id: u64) -> RequestSpec;
}

impl RequestSource for crate::prompt::RequestTemplate {
    fn request(&self, id: u64) -> RequestSpec {
        self.spec(id)
    }
}

/// Decides, from the measured requests completed so far, that the answer is
/// known and issuing can stop early (e.g. "the 95% CI of the median decode
/// tok/s is within ±3%"). Called from a monitor task a few times a second,
/// never on the request path, and only once `min_requests` measured requests
/// have completed.
pub trait StopRule: Send + Sync + std::fmt::Debug {
    /// `true` when measurement may stop. `completed` holds the measured
    /// (non-warm-up) samples finished so far, borrowed (never copied).
    fn converged(&self, completed: &[&RequestSample]) -> bool;
}

/// An adaptive stop: at least `min_requests` measured requests, then stop as
/// soon as `rule` is satisfied. `LoadConfig::requests` / `duration` remain
/// the caps.
#[derive(Debug, Clone)]
pub struct AdaptiveStop {
    /// Measured requests before the rule is consulted.
    pub min_requests: u64,
    /// The convergence rule.
    pub rule: Arc<dyn StopRule>,
}

/// The standard rule: the bootstrap CI of the median per-request decode
/// tok/s (docs/methodology.md) lies within `±rel` of the median.
#[derive(Debug, Clone, Copy)]
pub struct DecodeCiRule {
    /// Allowed relative half-width, e.g. 0.03 for ±3%.
    pub rel: f64,
    /// Bootstrap settings.
    pub options: tokbench_stats::SummaryOptions,
}

impl StopRule for DecodeCiRule {
    fn converged(&self, completed: &[&RequestSample]) -> bool {
        let rates: Vec<f64> = completed
            .iter()
            .filter(|s| s.is_ok())
            .filter_map(|s| tokbench_stats::RequestMetrics::from_sample(s).decode_tok_s)
            .collect();
        tokbench_stats::Summary::from_vec(rates, &self.options)
            .is_some_and(|s| s.converged(self.rel))
    }
}

/// Settings of one load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Requests in flight (closed loop), or the in-flight cap (open loop).
    pub concurrency: usize,
    /// Open-loop Poisson arrival rate, requests/s; `None` = closed loop.
    pub rate: Option<f64>,
    /// Measured requests to issue; `None` = until `duration`.
    pub requests: Option<u64>,
    /// Stop issuing new measured requests after this long.
    pub duration: Option<Duration>,
    /// Warm-up requests before measurement (excluded from statistics).
    pub warmup: u64,
    /// Seed of the arrival schedule.
    pub seed: u64,
    /// Optional early stop once the answer is known.
    pub adaptive: Option<AdaptiveStop>,
    /// Closed loop: spread the workers' first requests of each phase evenly
    /// over this long (worker `i` starts `i × ramp_up / concurrency` late),
    /// so that N streams do not all start — and emit their first tokens —
    /// in the same instant. Zero = all at once.
    pub ramp_up: Duration,
}

/// Errors of [`LoadConfig::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// Concurrency must be at least 1.
    #[error("concurrency must be at least 1 (got 0)")]
    ZeroConcurrency,
    /// Rate must be finite and positive.
    #[error("request rate must be a positive number of requests/s (got {0})")]
    BadRate(f64),
    /// Neither a request count nor a duration bounds the run.
    #[error("give a request count (-n) or a duration (--duration) to bound the run")]
    Unbounded,
    /// A request count of zero measures nothing.
    #[error("request count must be at least 1")]
    ZeroRequests,
}

impl LoadConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the bad setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.concurrency == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0) {
                return Err(ConfigError::BadRate(r));
            }
        }
        match (self.requests, self.duration) {
            (None, None) => Err(ConfigError::Unbounded),
            (Some(0), _) => Err(ConfigError::ZeroRequests),
            _ => Ok(()),
        }
    }
}

/// Live counters, readable from another task (progress bars) while a run is
/// going. Updated once per finished request, never per token.
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests finished (warm-up included).
    pub finished: AtomicU64,
    /// Finished with an error.
    pub errors: AtomicU64,
    /// Token events received by finished requests.
    pub token_events: AtomicU64,
    /// Warm-up requests finished.
    pub warmup_finished: AtomicU64,
}

/// Why a run stopped issuing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The request count was reached.
    Requests,
    /// The duration elapsed.
    Duration,
    /// Cancelled (Ctrl-C or caller).
    Cancelled,
    /// The adaptive stop rule was satisfied.
    Converged,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Every request's sample, warm-up included, ordered by id.
    pub samples: Vec<RequestSample>,
    /// Why issuing stopped.
    pub stop: StopReason,
    /// Wall time from run start to the last request's end.
    pub elapsed: Duration,
}

/// A cancellation signal shared with the engine (e.g. wired to Ctrl-C).
#[derive(Debug, Clone)]
pub struct Cancel {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    /// A fresh, un-fired signal.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Fires the signal.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether it fired.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }
}

struct Shared {
    client: Client,
    source: Arc<dyn RequestSource>,
    start: Instant,
    cancel: Cancel,
    progress: Arc<Progress>,
    /// Finished samples in completion order; only ever appended to during a
    /// run. Shared with the adaptive-stop monitor, which evaluates its rule
    /// on its own handles without holding this lock.
    samples: Mutex<Vec<Arc<RequestSample>>>,
    converged: AtomicBool,
}

fn us_since(start: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(start).as_micros()).unwrap_or(u64::MAX)
}

impl Shared {
    /// Sends request `id` and stores its sample. `intended` is the intended
    /// send instant; the actual one is when the request's last byte went to
    /// the connection ([`SendClock::sent`]).
    async fn one(&self, id: u64, warmup: bool, intended: Instant) {
        let spec = self.source.request(id);
        let clock = SendClock::start();
        let mut sample = RequestSample::new(id, warmup, us_since(self.start, intended), 0);
        let cancelled = tokio::select! {
            () = self.client.execute(&spec, &mut sample, &clock) => false,
            () = self.cancel.cancelled() => true,
        };
        sample.actual_send_us = us_since(self.start, clock.sent());
        if cancelled {
            sample.connect_us = clock.connect_us();
            sample.end_us = Some(micros_since(clock.sent()));
            sample.outcome = Outcome::Error {
                kind: ErrorKind::Cancelled,
                message: "cancelled before completion".into(),
            };
        }
        let p = &self.progress;
        if !sample.is_ok() {
            p.errors.fetch_add(1, Ordering::Relaxed);
        }
        if warmup {
            p.warmup_finished.fetch_add(1, Ordering::Relaxed);
        }
        p.token_events
            .fetch_add(sample.events.len() as u64, Ordering::Relaxed);
        p.finished.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut v) = self.samples.lock() {
            v.push(Arc::new(sample));
        }
    }
}

/// Runs a load test.
///
/// # Errors
/// [`ConfigError`] when `cfg` is invalid. Request failures are not errors:
/// they are recorded in the samples.
pub async fn run_load(
    client: Client,
    source: Arc<dyn RequestSource>,
    cfg: &LoadConfig,
    cancel: Cancel,
    progress: Arc<Progress>,
) -> Result<LoadResult, ConfigError> {
    cfg.validate()?;
    let shared = Arc::new(Shared {
        client,
        source,
        start: Instant::now(),
        cancel,
        progress,
        samples: Mutex::new(Vec::new()),
        converged: AtomicBool::new(false),
    });
    if cfg.warmup > 0 {
        let warm = Phase {
            first_id: 0,
            count: Some(cfg.warmup),
            deadline: None,
            warmup: true,
        };
        run_phase(&shared, cfg, &warm).await;
    }
    let measured = Phase {
        first_id: cfg.warmup,
        count: cfg.requests,
        deadline: cfg.duration.map(|d| Instant::now() + d),
        warmup: false,
    };
    let stop = if shared.cancel.is_cancelled() {
        StopReason::Cancelled
    } else {
        run_phase(&shared, cfg, &measured).await
    };
    let elapsed = shared.start.elapsed();
    // Every request task and the monitor have ended, so each sample has
    // one owner again and unwrapping copies nothing.
    let mut samples: Vec<RequestSample> = shared
        .samples
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
        .into_iter()
        .map(Arc::unwrap_or_clone)
        .collect();
    samples.sort_by_key(|s| s.id);
    Ok(LoadResult {
        samples,
        stop,
        elapsed,
    })
}

struct Phase {
    first_id: u64,
    count: Option<u64>,
    deadline: Option<Instant>,
    warmup: bool,
}

impl Phase {
    /// Whether request number `n` (0-based within the phase) may start now.
    fn may_issue(&self, n: u64, shared: &Shared) -> Result<(), StopReason> {
        if shared.cancel.is_cancelled() {
            return Err(StopReason::Cancelled);
        }
        if !self.warmup && shared.converged.load(Ordering::Relaxed) {
            return Err(StopReason::Converged);
        }
        if self.count.is_some_and(|c| n >= c) {
            return Err(StopReason::Requests);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(StopReason::Duration);
        }
        Ok(())
    }
}

async fn run_phase(shared: &Arc<Shared>, cfg: &LoadConfig, phase: &Phase) -> StopReason {
    let ramp = cfg.ramp_up;
    let monitor = match (&cfg.adaptive, phase.warmup) {
        (Some(adaptive), false) => Some(tokio::spawn(monitor(shared.clone(), adaptive.clone()))),
        _ => None,
    };
    let reason = match cfg.rate {
        None => closed_loop(shared, cfg.concurrency, ramp, phase).await,
        Some(rate) => open_loop(shared, cfg, rate, phase).await,
    };
    if let Some(m) = monitor {
        m.abort();
        // Wait until the aborted task is dropped, so that it no longer holds
        // handles to the samples.
        let _ = m.await;
    }
    reason
}

/// Consults the stop rule four times a second until it is satisfied.
///
/// The lock on the samples is held only to pick up the samples finished
/// since the last tick (cheap handle copies); the rule (a bootstrap, O(B·n))
/// runs without it, so finishing requests never wait for it.
async fn monitor(shared: Arc<Shared>, adaptive: AdaptiveStop) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut measured: Vec<Arc<RequestSample>> = Vec::new();
    let mut seen = 0;
    loop {
        tick.tick().await;
        match shared.samples.lock() {
            Ok(all) => {
                let new = all.get(seen..).unwrap_or_default();
                measured.extend(new.iter().filter(|s| !s.warmup).cloned());
                seen = all.len();
            }
            Err(_) => continue,
        }
        let done = measured.len() as u64 >= adaptive.min_requests && {
            let refs: Vec<&RequestSample> = measured.iter().map(|s| &**s).collect();
            adaptive.rule.converged(&refs)
        };
        if done {
            shared.converged.store(true, Ordering::Relaxed);
            return;
        }
    }
}

async fn closed_loop(
    shared: &Arc<Shared>,
    concurrency: usize,
    ramp: Duration,
    phase: &Phase,
) -> StopReason {
    let next = Arc::new(AtomicU64::new(0));
    let phase = Arc::new(Phase { ..*phase });
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (shared, next, phase) = (shared.clone(), next.clone(), phase.clone());
        let delay = ramp.mul_f64(w as f64 / concurrency as f64);
        workers.spawn(async move {
            tokio::time::sleep(delay).await;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if let Err(reason) = phase.may_issue(n, &shared) {
                    return reason;
                }
                shared
                    .one(phase.first_id + n, phase.warmup, Instant::now())
                    .await;
            }
        });
    }
    // The last worker's reason, unless any worker saw the cancellation.
    let mut reason = StopReason::Requests;
    while let Some(r) = workers.join_next().await {
        if let Ok(r) = r {
            if reason != StopReason::Cancelled {
                reason = r;
            }
        }
    }
    reason
}

/// Exponential inter-arrival gap with mean `1/rate` seconds, by inversion
/// (`-ln(U)/rate`, U uniform in (0,1]).
fn exp_gap(rng: &mut ChaCha8Rng, rate: f64) -> Duration {
    let u: f64 = 1.0 - rng.random::<f64>();
    Duration::from_secs_f64(-u.ln() / rate)
}

async fn open_loop(shared: &Arc<Shared>, cfg: &LoadConfig, rate: f64, phase: &Phase) -> StopReason {
    let slots = Arc::new(Semaphore::new(cfg.concurrency));
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ phase.first_id);
    let origin = Instant::now();
    let mut offset = Duration::ZERO;
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0u64;
    let reason = loop {
        offset += exp_gap(&mut rng, rate);
        let intended = origin + offset;
        tokio::select! {
            () = tokio::time::sleep_until(intended.into()) => {}
            () = shared.cancel.cancelled() => {}
        }
        if let Err(reason) = phase.may_issue(n, shared) {
            break reason;
        }
        let (shared, slots) = (shared.clone(), slots.clone());
        let (id, warmup) = (phase.first_id + n, phase.warmup);
        tasks.spawn(async move {
            let Ok(_permit) = slots.acquire_owned().await else {
                return;
            };
            shared.one(id, warmup, intended).await;
        });
        n += 1;
    };
    while tasks.join_next().await.is_some() {}
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LoadConfig {
        LoadConfig {
            concurrency: 1,
            rate: None,
            requests: Some(1),
            duration: None,
            warmup: 0,
            seed: 0,
            adaptive: None,
            ramp_up: Duration::ZERO,
        }
    }

    #[test]
    fn validation() {
        assert!(cfg().validate().is_ok());
        let c = LoadConfig {
            concurrency: 0,
            ..cfg()
        };
        assert_eq!(c.validate(), Err(ConfigError::ZeroConcurrency));
        let c = LoadConfig {
            rate: Some(-1.0),
            ..cfg()
        };
        assert_eq!(c.validate(), Err(ConfigError::BadRate(-1.0)));
        let c = LoadConfig {
            rate: Some(f64::NAN),
            ..cfg()
        };
        assert!(matches!(c.validate(), Err(ConfigError::BadRate(_))));
        let c = LoadConfig {
            requests: None,
            ..cfg()
        };
        assert_eq!(c.validate(), Err(ConfigError::Unbounded));
        let c = LoadConfig {
            requests: Some(0),
            ..cfg()
        };
        assert_eq!(c.validate(), Err(ConfigError::ZeroRequests));
    }

    #[test]
    fn exponential_gaps_have_the_right_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 20_000;
        let total: f64 = (0..n).map(|_| exp_gap(&mut rng, 4.0).as_secs_f64()).sum();
        let mean = total / f64::from(n);
        // Mean 0.25 s; standard error 0.25/sqrt(20000) ≈ 0.0018.
        assert!((mean - 0.25).abs() < 0.01, "mean {mean}");
    }
}
