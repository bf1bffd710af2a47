//! Polling the engine's own account during a cell: Prometheus `/metrics`
//! at a fixed interval and, on llama-server, `/slots`
//! (`docs/methodology.md`, "Engine metrics").
//!
//! A [`Scraper`] runs as its own task beside the load engine, on its own
//! HTTP client (its connection never takes one the requests need), and
//! never blocks or delays a request: a slow or failing poll only delays
//! the next poll. The window starts with the first poll after the cell's
//! warm-up requests have all finished, so counter deltas cover the
//! measured requests only (llama-server counts a request when it
//! finishes), and ends with a poll after the last request ended. Poll
//! times are seconds since the scraper started, which is just before the
//! load engine's clock starts (within a millisecond).
//!
//! A failed poll is counted and its first message kept; it is never fatal.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokbench_client::{Client, Progress};
use tokbench_metrics::{Engine, Snapshot, Window, WindowSummary};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Poll interval when none is given: 250 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

/// How often the scraper checks whether the warm-up has finished.
const WARMUP_CHECK: Duration = Duration::from_millis(5);

/// What a finished scrape produced.
#[derive(Debug)]
pub struct Scrape {
    /// Poll interval.
    pub interval: Duration,
    /// The window's summary; `None` when fewer than one poll succeeded.
    pub summary: Option<WindowSummary>,
    /// Polls that failed.
    pub failed_polls: u64,
    /// The first failure of each kind (`/metrics`, `/slots`), for notes.
    pub errors: Vec<String>,
    /// Busy llama-server slots per poll, `(at_s, slots)`; empty when
    /// `/slots` is not served.
    pub slots_busy: Vec<(f64, f64)>,
}

/// A running scrape; [`Scraper::finish`] ends it.
pub struct Scraper {
    stop: watch::Sender<bool>,
    task: JoinHandle<Scrape>,
}

/// What the polling task needs.
struct Poller {
    client: Client,
    origin: Instant,
    interval: Duration,
    polls: Vec<Snapshot>,
    failed: u64,
    errors: Vec<String>,
    slots: SlotsPoll,
}

/// Whether `/slots` is worth asking for.
enum SlotsPoll {
    /// Not yet known (asked once the engine is known to be llama.cpp).
    Unknown,
    /// Served: busy-slot samples so far.
    Served(Vec<(f64, f64)>),
    /// Not served, or not llama.cpp.
    Off,
}

impl Scraper {
    /// Starts polling the server of `client` (on a [sibling](Client::sibling)
    /// client) every `interval` once `progress` shows `warmup` finished
    /// warm-up requests.
    ///
    /// # Errors
    /// A scraper client that cannot be built (as for the load's client).
    pub fn start(
        client: &Client,
        interval: Duration,
        progress: Arc<Progress>,
        warmup: u64,
    ) -> Result<Self, tokbench_client::ClientError> {
        let poller = Poller {
            client: client.sibling()?,
            origin: Instant::now(),
            interval,
            polls: Vec::new(),
            failed: 0,
            errors: Vec::new(),
            slots: SlotsPoll::Unknown,
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(poller.run(progress, warmup, stop_rx));
        Ok(Self { stop, task })
    }

    /// Ends the window with a last poll and summarises it.
    pub async fn finish(self) -> Scrape {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(scrape) => scrape,
            Err(e) => Scrape {
                interval: DEFAULT_INTERVAL,
                summary: None,
                failed_polls: 0,
                errors: vec![format!("the scraper task failed: {e}")],
                slots_busy: Vec::new(),
            },
        }
    }
}

impl Poller {
    async fn run(
        mut self,
        progress: Arc<Progress>,
        warmup: u64,
        mut stop: watch::Receiver<bool>,
    ) -> Scrape {
        while progress.warmup_finished.load(Ordering::Relaxed) < warmup {
            if *stop.borrow() {
                return self.into_scrape();
            }
            tokio::time::sleep(WARMUP_CHECK).await;
        }
        self.poll().await;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => self.poll().await,
                _ = stop.changed() => break,
            }
        }
        self.poll().await;
        self.into_scrape()
    }

    /// One poll of `/metrics` (and `/slots` on llama-server).
    async fn poll(&mut self) {
        let at_s = self.origin.elapsed().as_secs_f64();
        let parsed = match self.client.get_text("/metrics").await {
            Ok(body) => Snapshot::parse(&body, at_s).map_err(|e| format!("/metrics: {e}")),
            Err(e) => Err(format!("/metrics: {e}")),
        };
        match parsed {
            Ok(snapshot) => {
                let llama = tokbench_metrics::detect(&snapshot) == Engine::LlamaCpp;
                self.polls.push(snapshot);
                if llama {
                    self.poll_slots(at_s).await;
                }
            }
            Err(e) => self.fail(e),
        }
    }

    async fn poll_slots(&mut self, at_s: f64) {
        if matches!(self.slots, SlotsPoll::Off) {
            return;
        }
        match self.client.get_json("/slots").await {
            Ok(v) => {
                let busy = busy_slots(&v);
                match &mut self.slots {
                    SlotsPoll::Served(samples) => samples.push((at_s, busy)),
                    _ => self.slots = SlotsPoll::Served(vec![(at_s, busy)]),
                }
            }
            Err(e) => {
                self.errors.push(format!("/slots not read: {e}"));
                self.slots = SlotsPoll::Off;
            }
        }
    }

    fn fail(&mut self, message: String) {
        self.failed += 1;
        if self.failed == 1 {
            self.errors.push(message);
        }
    }

    fn into_scrape(mut self) -> Scrape {
        let summary = match self.polls.len() {
            0 => None,
            _ => {
                let end = self.polls.pop();
                let mut polls = self.polls.into_iter();
                match (polls.next(), end) {
                    (Some(start), Some(end)) => {
                        let mut window = Window::new(start);
                        polls.for_each(|p| window.sample(p));
                        Some(window.finish(end))
                    }
                    (None, Some(only)) => Some(Window::new(only.clone()).finish(only)),
                    _ => None,
                }
            }
        };
        Scrape {
            interval: self.interval,
            summary,
            failed_polls: self.failed,
            errors: self.errors,
            slots_busy: match self.slots {
                SlotsPoll::Served(s) => s,
                _ => Vec::new(),
            },
        }
    }
}

/// Slots with `is_processing: true` in a llama-server `/slots` answer (an
/// array of slot objects); 0 for any other shape.
fn busy_slots(v: &serde_json::Value) -> f64 {
    v.as_array().map_or(0.0, |slots| {
        slots
            .iter()
            .filter(|s| s["is_processing"].as_bool() == Some(true))
            .count() as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_slots_counts_processing_slots_only() {
        let v = serde_json::json!([
            {"id": 0, "is_processing": true},
            {"id": 1, "is_processing": false},
            {"id": 2, "is_processing": true},
        ]);
        assert_eq!(busy_slots(&v), 2.0);
        assert_eq!(busy_slots(&serde_json::json!({"error": "x"})), 0.0);
    }
}
