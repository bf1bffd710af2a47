//! Progress bar for a load run, drawn off the hot path.
//!
//! A plain std thread wakes four times a second, reads the engine's atomic
//! counters and updates an indicatif bar on stderr (hidden when stderr is
//! not a terminal). Request tasks never touch the bar.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokbench_client::Progress;
use tokbench_runner::{CellProgress, ProgressSink};

/// Progress bars on stderr for `tokbench run`'s cells (nothing when
/// `enabled` is false or stderr is not a terminal).
#[derive(Debug, Clone, Copy)]
pub struct Bars {
    /// Draw at all (`--no-progress` turns it off).
    pub enabled: bool,
}

impl ProgressSink for Bars {
    fn cell_started(
        &self,
        label: String,
        total: Option<u64>,
        progress: Arc<Progress>,
    ) -> Box<dyn CellProgress> {
        Box::new(ProgressDisplay::start(label, total, progress, self.enabled))
    }
}

impl CellProgress for ProgressDisplay {
    fn finish(self: Box<Self>) {
        (*self).finish();
    }
}

/// A running progress display; stop it with [`ProgressDisplay::finish`].
pub struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressDisplay {
    /// Starts drawing `label` with a total of `total` requests (unknown when
    /// the run is bounded by duration only). `enabled: false` draws nothing.
    pub fn start(
        label: String,
        total: Option<u64>,
        progress: Arc<Progress>,
        enabled: bool,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if !enabled {
            return Self { stop, thread: None };
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(4));
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} req {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let done = progress.finished.load(Ordering::Relaxed);
                bar.set_position(done);
                bar.set_message(format!(
                    "{} tok events, {} errors",
                    progress.token_events.load(Ordering::Relaxed),
                    progress.errors.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(250));
            }
            bar.finish_and_clear();
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and clears the bar.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
