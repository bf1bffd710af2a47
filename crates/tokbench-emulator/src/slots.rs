//! Request slots: at most `slots` requests generate at once; the rest wait
//! in a FIFO queue (tokio's [`Semaphore`] is fair). Each held slot has an
//! id (the lowest free one) and a row in the [`SlotTable`] behind
//! `GET /slots` and the KV-usage gauges.
//!
//! # `GET /slots`
//! A JSON array with one object per slot, in llama-server's (b6000+)
//! metrics-only form (`server_slot::to_json`):
//! `id`, `n_ctx` ([`crate::EmulatorConfig::ctx_per_slot`]),
//! `speculative` (false), `is_processing`, `n_past` (tokens in the slot's
//! context: prompt + tokens decoded so far), and, once the slot has served
//! a request (its current one, or its last one when idle): `id_task` (the
//! request's 0-based arrival index), `n_prompt_tokens`,
//! `n_prompt_tokens_processed` (both the prompt length; no prompt cache),
//! `n_prompt_tokens_cache` (0), `params` (`{"n_predict": N}`) and
//! `next_token`, a one-element array of `{has_next_token, has_new_line,
//! n_remain, n_decoded}`.
//!
//! `n_decoded` follows the unjittered schedule: the number of tokens `i`
//! whose deadline `prefill + i / decode_tok_s` (+ stall) has passed since
//! the slot was acquired, frozen when the slot is released.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::metrics::{Figures, Metrics};
use crate::plan::RequestPlan;
use crate::schedule::Schedule;
use crate::stats::{Counters, Gauge, GaugeKind};

/// What a slot needs to know about the request it serves.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// 0-based arrival index (`id_task`).
    pub index: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// The request's schedule (its `tokens` are the output length).
    pub schedule: Schedule,
    /// The schedule's jitter RNG, as the response draws from it.
    pub rng: ChaCha8Rng,
    /// When the request arrived (before queueing).
    pub arrived: Instant,
}

impl Job {
    /// The job of request `index` planned as `plan`, arrived at `arrived`.
    pub fn new(plan: &RequestPlan, index: u64, arrived: Instant) -> Self {
        Job {
            index,
            prompt_tokens: plan.request.prompt_tokens,
            schedule: plan.schedule,
            rng: plan.rng.clone(),
            arrived,
        }
    }
}

/// Tokens of `schedule` due by `elapsed` after slot acquisition (unjittered
/// deadlines; `base_offset` is monotonic, so a binary search).
fn decoded_by(schedule: &Schedule, elapsed: Duration) -> u32 {
    let (mut lo, mut hi) = (0u32, schedule.tokens);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if schedule.base_offset(mid) <= elapsed {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// One slot's row: its current or last request.
#[derive(Debug, Clone)]
struct Row {
    index: u64,
    prompt_tokens: u64,
    schedule: Schedule,
    acquired: Instant,
    /// `None` while processing.
    released: Option<Instant>,
}

impl Row {
    fn decoded(&self, now: Instant) -> u32 {
        let until = self.released.unwrap_or(now);
        decoded_by(
            &self.schedule,
            until.saturating_duration_since(self.acquired),
        )
    }

    fn to_json(&self, id: usize, n_ctx: u32, now: Instant) -> Value {
        let decoded = self.decoded(now);
        let processing = self.released.is_none();
        json!({
            "id": id,
            "n_ctx": n_ctx,
            "speculative": false,
            "is_processing": processing,
            "n_past": self.prompt_tokens + u64::from(decoded),
            "id_task": self.index,
            "n_prompt_tokens": self.prompt_tokens,
            "n_prompt_tokens_processed": self.prompt_tokens,
            "n_prompt_tokens_cache": 0,
            "params": {"n_predict": self.schedule.tokens},
            "next_token": [{
                "has_next_token": processing && decoded < self.schedule.tokens,
                "has_new_line": false,
                "n_remain": self.schedule.tokens - decoded,
                "n_decoded": decoded,
            }],
        })
    }
}

/// The rows of every slot, for `/slots` and the KV-usage gauges.
#[derive(Debug)]
pub(crate) struct SlotTable {
    n_ctx: u32,
    rows: Mutex<Vec<Option<Row>>>,
}

impl SlotTable {
    /// `slots` empty rows of `n_ctx` tokens each.
    pub fn new(slots: usize, n_ctx: u32) -> Self {
        SlotTable {
            n_ctx,
            rows: Mutex::new(vec![None; slots]),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Option<Row>>> {
        // Nothing panics while holding the lock.
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the lowest slot that is not processing (there is one for
    /// every semaphore permit) and returns its id.
    fn claim(&self, job: &Job, acquired: Instant) -> usize {
        let mut rows = self.lock();
        let free = rows
            .iter()
            .position(|r| r.as_ref().is_none_or(|r| r.released.is_some()))
            .unwrap_or(0);
        if let Some(row) = rows.get_mut(free) {
            *row = Some(Row {
                index: job.index,
                prompt_tokens: job.prompt_tokens,
                schedule: job.schedule,
                acquired,
                released: None,
            });
        }
        free
    }

    fn release(&self, id: usize) {
        if let Some(Some(row)) = self.lock().get_mut(id) {
            row.released = Some(Instant::now());
        }
    }

    /// The `/slots` body (see the module docs).
    pub fn to_json(&self) -> Value {
        let now = Instant::now();
        let rows = self.lock();
        let slots = rows.iter().enumerate().map(|(id, row)| match row {
            Some(row) => row.to_json(id, self.n_ctx, now),
            None => json!({"id": id, "n_ctx": self.n_ctx, "speculative": false,
                "is_processing": false, "n_past": 0}),
        });
        Value::Array(slots.collect())
    }

    /// KV-cache usage, ratio 0..1: tokens held by processing slots (prompt
    /// + decoded so far) / (slots × `n_ctx`), capped at 1.
    pub fn kv_usage(&self) -> f64 {
        let now = Instant::now();
        let rows = self.lock();
        let held: u64 = rows
            .iter()
            .flatten()
            .filter(|r| r.released.is_none())
            .map(|r| r.prompt_tokens + u64::from(r.decoded(now)))
            .sum();
        let capacity = rows.len() as f64 * f64::from(self.n_ctx);
        if capacity > 0.0 {
            (held as f64 / capacity).min(1.0)
        } else {
            0.0
        }
    }
}

/// The pool of slots shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct SlotPool {
    semaphore: Arc<Semaphore>,
    counters: Arc<Counters>,
    table: Arc<SlotTable>,
    metrics: Arc<Metrics>,
}

/// A held slot; dropping it frees the slot for the next queued request.
#[derive(Debug)]
pub(crate) struct Slot {
    /// When the slot was acquired (`A` in the schedule).
    pub acquired: Instant,
    id: usize,
    job: Job,
    counters: Arc<Counters>,
    table: Arc<SlotTable>,
    metrics: Arc<Metrics>,
    _permit: OwnedSemaphorePermit,
    _in_flight: Gauge,
}

impl SlotPool {
    /// A pool of `table`'s slots reporting into `counters` and `metrics`.
    pub fn new(table: Arc<SlotTable>, counters: Arc<Counters>, metrics: Arc<Metrics>) -> Self {
        let slots = table.lock().len();
        SlotPool {
            semaphore: Arc::new(Semaphore::new(slots)),
            counters,
            table,
            metrics,
        }
    }

    /// Waits in FIFO order for a free slot (counted as queued meanwhile).
    /// `None` only if the semaphore was closed, which this crate never does.
    pub async fn acquire(&self, job: Job) -> Option<Slot> {
        let queued = Gauge::new(Arc::clone(&self.counters), GaugeKind::Queued);
        let permit = Arc::clone(&self.semaphore).acquire_owned().await.ok()?;
        let in_flight = Gauge::new(Arc::clone(&self.counters), GaugeKind::InFlight);
        drop(queued);
        let acquired = Instant::now();
        let id = self.table.claim(&job, acquired);
        Some(Slot {
            acquired,
            id,
            job,
            counters: Arc::clone(&self.counters),
            table: Arc::clone(&self.table),
            metrics: Arc::clone(&self.metrics),
            _permit: permit,
            _in_flight: in_flight,
        })
    }
}

impl Slot {
    /// Counts the response as fully produced (see
    /// [`crate::EmulatorStats::served`]) without accounting it in the
    /// metrics (a fault cut it short).
    pub fn mark_served(&self) {
        self.counters.served();
    }

    /// Counts a complete, normal response: served, and accounted in the
    /// metrics ([`crate::metrics`]).
    pub fn mark_completed(&self) {
        self.counters.served();
        self.metrics.record(&Figures::of(&self.job, self.acquired));
    }

    /// Records a token event emitted `late` after its deadline.
    pub fn record_lateness(&self, late: std::time::Duration) {
        self.counters.token_event(late);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Runs before the permit is released, so a new holder always finds
        // a free row.
        self.table.release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::metrics::MetricsFlavor;

    fn job(index: u64) -> Job {
        Job {
            index,
            prompt_tokens: 10,
            schedule: Schedule {
                prefill: Duration::from_millis(100),
                decode_tok_s: 50.0,
                jitter_s: 0.0,
                stall: None,
                tokens: 20,
                tokens_per_chunk: 1,
            },
            rng: ChaCha8Rng::seed_from_u64(0),
            arrived: Instant::now(),
        }
    }

    #[test]
    fn decoded_counts_passed_deadlines() {
        let s = job(0).schedule;
        assert_eq!(decoded_by(&s, Duration::from_millis(99)), 0);
        assert_eq!(decoded_by(&s, Duration::from_millis(100)), 1);
        assert_eq!(decoded_by(&s, Duration::from_millis(159)), 3);
        assert_eq!(decoded_by(&s, Duration::from_secs(60)), 20);
    }

    #[tokio::test]
    async fn slots_take_the_lowest_free_id_and_keep_the_last_task() {
        let table = Arc::new(SlotTable::new(2, 100));
        let metrics = Arc::new(Metrics::new(MetricsFlavor::None, "m", None));
        let pool = SlotPool::new(Arc::clone(&table), Arc::default(), metrics);
        let a = pool.acquire(job(7)).await.unwrap();
        let b = pool.acquire(job(8)).await.unwrap();
        assert_eq!((a.id, b.id), (0, 1));
        // 2 prompts of 10 tokens, nothing decoded yet, in 2 × 100 tokens.
        assert!((table.kv_usage() - 0.1).abs() < 1e-12);
        drop(a);
        let slots = table.to_json();
        assert_eq!(slots[0]["is_processing"], false);
        assert_eq!(slots[0]["id_task"], 7);
        assert_eq!(slots[1]["is_processing"], true);
        assert!((table.kv_usage() - 0.05).abs() < 1e-12);
        let c = pool.acquire(job(9)).await.unwrap();
        assert_eq!(c.id, 0);
        assert_eq!(table.to_json()[0]["id_task"], 9);
    }
}
