//! The streamed (SSE) response body: a state machine that sleeps until each
//! absolute deadline and yields one preformatted event per step.
//!
//! Event order: role chunk (chat only, at once), token groups, the empty
//! finish chunk, the usage chunk (if asked for and not suppressed), then
//! `data: [DONE]`. `timings` ride on the last JSON event. Body faults
//! (malformed event, close) fire once, before the first group that would
//! start at or after `after_tokens` emitted tokens (so `after_tokens = 0`
//! fires right after the role chunk, and `after_tokens = N` after the last
//! token).

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, Stream};
use rand_chacha::ChaCha8Rng;
use tokio::time::{sleep_until, Instant};

use crate::config::FaultMode;
use crate::error::StreamAborted;
use crate::events::{EventWriter, Usage, DONE};
use crate::plan::RequestPlan;
use crate::request::Endpoint;
use crate::schedule::Groups;
use crate::slots::Slot;
use crate::timings::Timings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Role,
    Tokens,
    Finish,
    Usage,
    Done,
    End,
}

/// State of one streamed response.
struct SseState {
    phase: Phase,
    writer: EventWriter,
    groups: Groups<ChaCha8Rng>,
    slot: Slot,
    prefill: Duration,
    prompt_tokens: u64,
    tokens: u32,
    reasoning: u32,
    send_usage: bool,
    emit_timings: bool,
    body_fault: Option<(FaultMode, u32)>,
    emitted: u32,
    first_emit: Option<Instant>,
    last_emit: Option<Instant>,
}

/// The SSE body of `plan`, generated while holding `slot`.
pub(crate) fn sse_body(
    plan: RequestPlan,
    slot: Slot,
    model: &str,
    emit_timings: bool,
) -> impl Stream<Item = Result<Bytes, StreamAborted>> + Send + 'static {
    let body_fault = plan.fault.zip(plan.body_fault_point());
    let endpoint = plan.request.endpoint;
    let state = SseState {
        phase: match endpoint {
            Endpoint::Chat => Phase::Role,
            Endpoint::Completions => Phase::Tokens,
        },
        writer: EventWriter::new(endpoint, plan.id, plan.created, model),
        groups: plan.schedule.groups(plan.rng),
        slot,
        prefill: plan.schedule.prefill,
        prompt_tokens: plan.request.prompt_tokens,
        tokens: plan.tokens,
        reasoning: plan.reasoning,
        send_usage: plan.send_usage,
        emit_timings,
        body_fault,
        emitted: 0,
        first_emit: None,
        last_emit: None,
    };
    stream::unfold(state, |mut state| async move {
        let item = state.next_event().await?;
        Some((item, state))
    })
}

impl SseState {
    async fn next_event(&mut self) -> Option<Result<Bytes, StreamAborted>> {
        loop {
            let item = match self.phase {
                Phase::Role => {
                    self.phase = Phase::Tokens;
                    Ok(self.writer.role())
                }
                Phase::Tokens => match self.token_step().await {
                    Some(item) => item,
                    None => {
                        self.phase = Phase::Finish;
                        continue;
                    }
                },
                Phase::Finish => Ok(self.finish_step().await),
                Phase::Usage => Ok(self.usage_step()),
                Phase::Done => {
                    self.phase = Phase::End;
                    self.slot.mark_served();
                    Ok(Bytes::from_static(DONE))
                }
                Phase::End => return None,
            };
            return Some(item);
        }
    }

    /// Fires a due body fault or emits the next token group; `None` once
    /// every group is out.
    async fn token_step(&mut self) -> Option<Result<Bytes, StreamAborted>> {
        if let Some((mode, after)) = self.body_fault {
            if self.emitted >= after {
                self.body_fault = None;
                if let FaultMode::CloseMidStream { .. } = mode {
                    self.phase = Phase::End;
                    self.slot.mark_served();
                    // Be pending once so hyper flushes the tokens already
                    // handed over; an immediate error would discard them.
                    tokio::task::yield_now().await;
                    return Some(Err(StreamAborted));
                }
                return Some(Ok(self.writer.malformed()));
            }
        }
        let group = self.groups.next()?;
        let deadline = self.slot.acquired + group.offset;
        if self.first_emit.is_none() {
            sleep_until_precise(deadline).await;
        } else {
            sleep_until(deadline).await;
        }
        let now = Instant::now();
        self.slot
            .record_lateness(now.saturating_duration_since(deadline));
        self.first_emit.get_or_insert(now);
        self.last_emit = Some(now);
        self.emitted = group.end;
        Some(Ok(self.writer.tokens(
            group.start,
            group.end,
            self.reasoning,
        )))
    }

    /// The finish chunk. With zero tokens it still waits for the end of
    /// prefill, which then stands in for the first emission.
    async fn finish_step(&mut self) -> Bytes {
        if self.first_emit.is_none() {
            sleep_until(self.slot.acquired + self.prefill).await;
            let now = Instant::now();
            self.first_emit = Some(now);
            self.last_emit = Some(now);
        }
        self.phase = if self.send_usage {
            Phase::Usage
        } else {
            Phase::Done
        };
        let timings = if self.send_usage {
            None
        } else {
            self.timings()
        };
        self.writer.finish(timings)
    }

    fn usage_step(&mut self) -> Bytes {
        self.phase = Phase::Done;
        let usage = Usage {
            prompt: self.prompt_tokens,
            completion: u64::from(self.tokens),
            reasoning: u64::from(self.reasoning),
        };
        let timings = self.timings();
        self.writer.usage(usage, timings)
    }

    /// The timings object, if enabled, from the recorded emission instants.
    fn timings(&self) -> Option<serde_json::Value> {
        if !self.emit_timings {
            return None;
        }
        let first = self.first_emit?;
        let last = self.last_emit.unwrap_or(first);
        let predicted_n = u64::from(self.tokens);
        let timings = Timings::measured(
            self.prompt_tokens,
            predicted_n,
            self.slot.acquired,
            first,
            last,
        );
        Some(timings.to_json())
    }
}

/// Margin before a deadline at which [`sleep_until_precise`] stops trusting
/// the timer wheel (tokio's timer has 1 ms ticks and rounds deadlines up).
const PRECISE_MARGIN: std::time::Duration = std::time::Duration::from_micros(1500);

/// Sleeps until `deadline` with sub-millisecond precision: the timer brings
/// the task to within [`PRECISE_MARGIN`], then it yields to the scheduler
/// until the deadline has passed. Used for the first token only, which
/// defines TTFT; later tokens keep plain absolute timers (their constant
/// sub-millisecond lateness cancels out of decode rates).
async fn sleep_until_precise(deadline: Instant) {
    if let Some(early) = deadline.checked_sub(PRECISE_MARGIN) {
        sleep_until(early).await;
    }
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}
