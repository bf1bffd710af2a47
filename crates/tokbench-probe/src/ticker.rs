//! A periodic std thread shared by the samplers: calls `tick` every
//! `interval` (deadline-based, so it does not drift), and once more when
//! stopped, then hands its state back.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ProbeError;

/// A running periodic thread owning a state `S`.
pub(crate) struct Ticker<S> {
    name: &'static str,
    stop_tx: Sender<()>,
    handle: JoinHandle<S>,
}

impl<S: Send + 'static> Ticker<S> {
    /// Spawns the thread. The first `tick` runs one `interval` after the
    /// spawn; a final `tick` runs when [`Ticker::stop`] is called.
    pub(crate) fn spawn<F>(
        name: &'static str,
        interval: Duration,
        mut state: S,
        mut tick: F,
    ) -> Result<Self, ProbeError>
    where
        F: FnMut(&mut S) + Send + 'static,
    {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let interval = interval.max(Duration::from_millis(1));
        let handle = std::thread::Builder::new()
            .name(format!("tokbench-{name}"))
            .spawn(move || {
                let mut next = Instant::now() + interval;
                loop {
                    let wait = next.saturating_duration_since(Instant::now());
                    match stop_rx.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {
                            tick(&mut state);
                            next += interval;
                            // After a long stall, skip the missed ticks
                            // instead of firing them back to back.
                            let now = Instant::now();
                            if next < now {
                                next = now + interval;
                            }
                        }
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                            tick(&mut state);
                            return state;
                        }
                    }
                }
            })
            .map_err(|source| ProbeError::Spawn { name, source })?;
        Ok(Self {
            name,
            stop_tx,
            handle,
        })
    }

    /// Stops the thread after one final tick and returns its state.
    pub(crate) fn stop(self) -> Result<S, ProbeError> {
        // A send error means the thread is already gone; join tells why.
        let _ = self.stop_tx.send(());
        self.handle
            .join()
            .map_err(|_| ProbeError::SamplerPanicked(self.name))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn final_tick_runs_on_stop_even_before_the_first_interval() {
        let t = Ticker::spawn("test", Duration::from_secs(3600), 0u32, |n| *n += 1).unwrap();
        assert_eq!(t.stop().unwrap(), 1);
    }

    #[test]
    fn ticks_periodically() {
        let t = Ticker::spawn("test", Duration::from_millis(5), 0u32, |n| *n += 1).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let n = t.stop().unwrap();
        assert!(n >= 3, "only {n} ticks in 100 ms at 5 ms");
    }

    #[test]
    fn a_panicking_tick_is_reported() {
        let t = Ticker::spawn("boom", Duration::from_secs(3600), (), |_| panic!("boom")).unwrap();
        assert!(matches!(t.stop(), Err(ProbeError::SamplerPanicked("boom"))));
    }
}
