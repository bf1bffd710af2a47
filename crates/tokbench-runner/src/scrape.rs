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

use std::collections::BTreeMap;
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
    /// llama-server `/slots` series per poll, `(at_s, value)`, by name
    /// ([`slot_values`]); empty when `/slots` is not served.
    pub slots: BTreeMap<String, Vec<(f64, f64)>>,
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
    /// Served: the samples so far, by series.
    Served(BTreeMap<String, Vec<(f64, f64)>>),
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
                slots: BTreeMap::new(),
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
                if !matches!(self.slots, SlotsPoll::Served(_)) {
                    self.slots = SlotsPoll::Served(BTreeMap::new());
                }
                if let SlotsPoll::Served(series) = &mut self.slots {
                    for (name, value) in slot_values(&v) {
                        series.entry(name).or_default().push((at_s, value));
                    }
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
            slots: match self.slots {
                SlotsPoll::Served(s) => s,
                _ => BTreeMap::new(),
            },
        }
    }
}

/// The series of one llama-server `/slots` answer (an array of slot
/// objects): `slots:busy`, the slots with `is_processing: true`, and per
/// slot `slots:context_tokens{id="N"}`, the tokens in its context: `n_past`
/// where the server gives it, else `n_prompt_tokens` + `next_token[0].n_decoded`
/// of the task in progress, else 0 (idle). Any other shape gives nothing.
pub fn slot_values(v: &serde_json::Value) -> Vec<(String, f64)> {
    let Some(slots) = v.as_array() else {
        return Vec::new();
    };
    let busy = slots
        .iter()
        .filter(|s| s["is_processing"].as_bool() == Some(true))
        .count();
    let mut out = vec![("slots:busy".to_owned(), busy as f64)];
    for (i, slot) in slots.iter().enumerate() {
        let id = slot["id"].as_u64().unwrap_or(i as u64);
        out.push((
            format!("slots:context_tokens{{id=\"{id}\"}}"),
            context_tokens(slot),
        ));
    }
    out
}

/// Tokens in one slot's context ([`slot_values`]).
fn context_tokens(slot: &serde_json::Value) -> f64 {
    if let Some(n) = slot["n_past"].as_f64() {
        return n;
    }
    if slot["is_processing"].as_bool() != Some(true) {
        return 0.0;
    }
    let prompt = slot["n_prompt_tokens"].as_f64().unwrap_or(0.0);
    let decoded = slot["next_token"][0]["n_decoded"].as_f64().unwrap_or(0.0);
    prompt + decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_values_count_busy_slots_and_context_per_slot() {
        // The shape of a real llama-server answer (b7000-era, no n_past).
        let v = serde_json::json!([
            {"id": 0, "n_ctx": 1024, "is_processing": false},
            {"id": 1, "n_ctx": 1024, "is_processing": true, "n_prompt_tokens": 53,
             "next_token": [{"has_next_token": true, "n_remain": 185, "n_decoded": 15}]},
            {"id": 2, "is_processing": true, "n_past": 7},
        ]);
        let got: BTreeMap<String, f64> = slot_values(&v).into_iter().collect();
        assert_eq!(got["slots:busy"], 2.0);
        assert_eq!(got["slots:context_tokens{id=\"0\"}"], 0.0);
        assert_eq!(got["slots:context_tokens{id=\"1\"}"], 68.0);
        assert_eq!(got["slots:context_tokens{id=\"2\"}"], 7.0);
        assert!(slot_values(&serde_json::json!({"error": "x"})).is_empty());
    }
}
