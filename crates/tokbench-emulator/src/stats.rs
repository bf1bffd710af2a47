//! Live counters of a running emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A snapshot of an emulator's counters (see [`crate::EmulatorHandle::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmulatorStats {
    /// Completion requests accepted (valid JSON) since start.
    pub received: u64,
    /// Completion requests whose response was fully produced, faulty ones
    /// included (an emulated 500/429, a stream closed by the
    /// `CloseMidStream` fault); a client that disconnects early does not
    /// count.
    pub served: u64,
    /// Requests holding a slot right now.
    pub in_flight: u64,
    /// Requests waiting for a slot right now.
    pub queued: u64,
    /// Token events (SSE events carrying tokens) emitted so far.
    pub token_events: u64,
    /// Sum over token events of how late each was handed to the HTTP layer
    /// after its deadline (timer granularity is 1 ms, so ~1 ms is normal).
    /// With `events_per_write > 1` the deadline is that of the write
    /// carrying the event (its last event's).
    pub total_lateness: Duration,
    /// The largest such lateness: a large value means the emulator itself
    /// could not keep its schedule (overloaded host), so client-side
    /// measurements are not ground truth.
    pub max_lateness: Duration,
}

impl EmulatorStats {
    /// Mean lateness of token events (zero when none were emitted).
    pub fn mean_lateness(&self) -> Duration {
        let n = u32::try_from(self.token_events.max(1)).unwrap_or(u32::MAX);
        self.total_lateness / n
    }
}

/// Shared atomic counters behind [`EmulatorStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    served: AtomicU64,
    in_flight: AtomicU64,
    queued: AtomicU64,
    token_events: AtomicU64,
    lateness_sum_ns: AtomicU64,
    lateness_max_ns: AtomicU64,
}

impl Counters {
    /// Reads every counter (each read is atomic; the set is not a snapshot
    /// taken at one instant).
    pub fn snapshot(&self) -> EmulatorStats {
        EmulatorStats {
            received: self.received.load(Ordering::Relaxed),
            served: self.served.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            token_events: self.token_events.load(Ordering::Relaxed),
            total_lateness: Duration::from_nanos(self.lateness_sum_ns.load(Ordering::Relaxed)),
            max_lateness: Duration::from_nanos(self.lateness_max_ns.load(Ordering::Relaxed)),
        }
    }

    /// Counts a token event emitted `late` after its deadline.
    pub fn token_event(&self, late: Duration) {
        let ns = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        self.token_events.fetch_add(1, Ordering::Relaxed);
        self.lateness_sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.lateness_max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// Counts an accepted completion request.
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a fully produced response.
    pub fn served(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
    }
}

/// Which gauge a [`Gauge`] holds up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GaugeKind {
    /// [`EmulatorStats::in_flight`].
    InFlight,
    /// [`EmulatorStats::queued`].
    Queued,
}

/// Increments a gauge on creation and decrements it on drop, so that
/// cancelled requests (client gone) are accounted for.
#[derive(Debug)]
pub(crate) struct Gauge {
    counters: Arc<Counters>,
    kind: GaugeKind,
}

impl Gauge {
    /// Increments `kind` until the returned guard is dropped.
    pub fn new(counters: Arc<Counters>, kind: GaugeKind) -> Self {
        counters.gauge(kind).fetch_add(1, Ordering::Relaxed);
        Gauge { counters, kind }
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        self.counters
            .gauge(self.kind)
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    fn gauge(&self, kind: GaugeKind) -> &AtomicU64 {
        match kind {
            GaugeKind::InFlight => &self.in_flight,
            GaugeKind::Queued => &self.queued,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_follow_guards() {
        let counters = Arc::new(Counters::default());
        let q = Gauge::new(Arc::clone(&counters), GaugeKind::Queued);
        let f = Gauge::new(Arc::clone(&counters), GaugeKind::InFlight);
        counters.received();
        let snap = counters.snapshot();
        assert_eq!(
            (snap.received, snap.served, snap.in_flight, snap.queued),
            (1, 0, 1, 1)
        );
        drop(q);
        counters.served();
        drop(f);
        let snap = counters.snapshot();
        assert_eq!(
            (snap.received, snap.served, snap.in_flight, snap.queued),
            (1, 1, 0, 0)
        );
        assert_eq!(snap.mean_lateness(), Duration::ZERO);
    }

    #[test]
    fn lateness_sum_and_max() {
        let counters = Counters::default();
        counters.token_event(Duration::from_millis(1));
        counters.token_event(Duration::from_millis(5));
        let snap = counters.snapshot();
        assert_eq!(snap.token_events, 2);
        assert_eq!(snap.max_lateness, Duration::from_millis(5));
        assert_eq!(snap.mean_lateness(), Duration::from_millis(3));
    }
}
