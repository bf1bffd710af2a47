//! Request slots: at most `slots` requests generate at once; the rest wait
//! in a FIFO queue (tokio's [`Semaphore`] is fair).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::stats::{Counters, Gauge, GaugeKind};

/// The pool of slots shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct SlotPool {
    semaphore: Arc<Semaphore>,
    counters: Arc<Counters>,
}

/// A held slot; dropping it frees the slot for the next queued request.
#[derive(Debug)]
pub(crate) struct Slot {
    /// When the slot was acquired (`A` in the schedule).
    pub acquired: Instant,
    counters: Arc<Counters>,
    _permit: OwnedSemaphorePermit,
    _in_flight: Gauge,
}

impl SlotPool {
    /// A pool of `slots` slots reporting into `counters`.
    pub fn new(slots: usize, counters: Arc<Counters>) -> Self {
        SlotPool {
            semaphore: Arc::new(Semaphore::new(slots)),
            counters,
        }
    }

    /// Waits in FIFO order for a free slot (counted as queued meanwhile).
    /// `None` only if the semaphore was closed, which this crate never does.
    pub async fn acquire(&self) -> Option<Slot> {
        let queued = Gauge::new(Arc::clone(&self.counters), GaugeKind::Queued);
        let permit = Arc::clone(&self.semaphore).acquire_owned().await.ok()?;
        let in_flight = Gauge::new(Arc::clone(&self.counters), GaugeKind::InFlight);
        drop(queued);
        Some(Slot {
            acquired: Instant::now(),
            counters: Arc::clone(&self.counters),
            _permit: permit,
            _in_flight: in_flight,
        })
    }
}

impl Slot {
    /// Counts the response as fully produced (see
    /// [`crate::EmulatorStats::served`]).
    pub fn mark_served(&self) {
        self.counters.served();
    }

    /// Records a token event emitted `late` after its deadline.
    pub fn record_lateness(&self, late: std::time::Duration) {
        self.counters.token_event(late);
    }
}
