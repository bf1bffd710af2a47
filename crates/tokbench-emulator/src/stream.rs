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
//!
//! Writes: token groups leave `events_per_write` at a time, as one
//! [`Bytes`] yielded at the deadline of the write's last group (hyper hands
//! each yielded buffer to the socket as it comes, so the client receives
//! the events together). A write ends early at the last group or before a
//! due body fault. Every other event is yielded on its own.

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
    events_per_write: u32,
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
        writer: EventWriter::new(endpoint, plan.id, plan.created, model).with_text(plan.text),
        groups: plan.schedule.groups(plan.rng),
        slot,
        prefill: plan.schedule.prefill,
        prompt_tokens: plan.request.prompt_tokens,
        tokens: plan.tokens,
        reasoning: plan.reasoning,
        events_per_write: plan.events_per_write,
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
                    self.slot.mark_completed();
                    Ok(Bytes::from_static(DONE))
                }
                Phase::End => return None,
            };
            return Some(item);
        }
    }

    /// Fires a due body fault or emits the next write (up to
    /// `events_per_write` token groups, sent at the last one's deadline);
    /// `None` once every group is out.
    async fn token_step(&mut self) -> Option<Result<Bytes, StreamAborted>> {
        if self.fault_due() {
            return self.fire_fault().await;
        }
        let mut deadline = None;
        let mut events = 0;
        while events < self.events_per_write && !(events > 0 && self.fault_due()) {
            let Some(group) = self.groups.next() else {
                break;
            };
            self.writer
                .append_tokens(group.start, group.end, self.reasoning);
            deadline = Some(self.slot.acquired + group.offset);
            self.emitted = group.end;
            events += 1;
        }
        let deadline = deadline?;
        if self.first_emit.is_none() {
            sleep_until_precise(deadline).await;
        } else {
            sleep_until(deadline).await;
        }
        let now = Instant::now();
        let late = now.saturating_duration_since(deadline);
        for _ in 0..events {
            self.slot.record_lateness(late);
        }
        self.first_emit.get_or_insert(now);
        self.last_emit = Some(now);
        Some(Ok(self.writer.take_appended()))
    }

    /// `true` when a body fault is pending and its `after_tokens` have been
    /// emitted.
    fn fault_due(&self) -> bool {
        self.body_fault
            .is_some_and(|(_, after)| self.emitted >= after)
    }

    /// Fires the pending body fault: a malformed event, or the close.
    async fn fire_fault(&mut self) -> Option<Result<Bytes, StreamAborted>> {
        let (mode, _) = self.body_fault.take()?;
        if let FaultMode::CloseMidStream { .. } = mode {
            self.phase = Phase::End;
            self.slot.mark_served();
            // Be pending once so hyper flushes the tokens already
            // handed over; an immediate error would discard them.
            tokio::task::yield_now().await;
            return Some(Err(StreamAborted));
        }
        Some(Ok(self.writer.malformed()))
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::StreamExt;

    use super::*;
    use crate::config::{EmulatorConfig, FaultConfig, Prefill};
    use crate::metrics::{Metrics, MetricsFlavor};
    use crate::request::ParsedRequest;
    use crate::slots::{Job, SlotPool, SlotTable};
    use crate::stats::Counters;

    /// Every item the body of a `max_tokens`-token request under `cfg`
    /// yields (0 ms prefill, 2000 tok/s: about 5 ms per 10 tokens).
    async fn items(cfg: EmulatorConfig, endpoint: Endpoint, max_tokens: u32) -> Vec<Option<Bytes>> {
        let cfg = cfg
            .with_prefill(Prefill::Fixed { ms: 0.0 })
            .with_decode_tok_s(2000.0);
        let request = ParsedRequest {
            endpoint,
            prompt_tokens: 3,
            max_tokens: Some(max_tokens),
            stream: true,
            include_usage: true,
            prompt_key: 0,
            logprobs: None,
            thinking_off: false,
        };
        let plan = RequestPlan::new(&cfg, request, 0);
        let table = Arc::new(SlotTable::new(1, 4096));
        let metrics = Arc::new(Metrics::new(MetricsFlavor::None, "m", None));
        let pool = SlotPool::new(table, Arc::new(Counters::default()), metrics);
        let job = Job::new(&plan, 0, Instant::now());
        let slot = pool.acquire(job).await.unwrap();
        let body = sse_body(plan, slot, "m", true);
        body.map(Result::ok).collect().await
    }

    /// SSE events in each item (`None` for an error item).
    fn shape(items: &[Option<Bytes>]) -> Vec<Option<usize>> {
        let count = |b: &Bytes| b.windows(6).filter(|w| w == b"data: ").count();
        items.iter().map(|i| i.as_ref().map(count)).collect()
    }

    #[tokio::test]
    async fn writes_carry_events_per_write_events() {
        let one = items(EmulatorConfig::default(), Endpoint::Chat, 10).await;
        let cfg = EmulatorConfig::default().with_events_per_write(4);
        let four = items(cfg, Endpoint::Chat, 10).await;
        // role, 10 tokens as writes of 4, 4 and 2, finish, usage, [DONE].
        let expected = [1, 4, 4, 2, 1, 1, 1].map(Some);
        assert_eq!(shape(&four), expected);
        assert_eq!(shape(&one), [vec![Some(1); 11], vec![Some(1); 3]].concat());
        // Same token events, byte for byte, only written together.
        let concat = |v: &[Option<Bytes>]| -> Vec<u8> {
            v.iter().flatten().flat_map(|b| b.to_vec()).collect()
        };
        assert_eq!(concat(&one[1..11]), concat(&four[1..4]));
        assert_eq!(four.last(), Some(&Some(Bytes::from_static(DONE))));
    }

    #[tokio::test]
    async fn writes_group_multi_token_events_on_completions() {
        // Groups (0,3) (3,6) (6,9) (9,10), two per write; no role chunk.
        let cfg = EmulatorConfig::default()
            .with_tokens_per_chunk(3)
            .with_events_per_write(2);
        let got = items(cfg, Endpoint::Completions, 10).await;
        assert_eq!(shape(&got), [2, 2, 1, 1, 1].map(Some));
    }

    #[tokio::test]
    async fn a_due_body_fault_cuts_the_write_short() {
        let fault = |mode| {
            EmulatorConfig::default()
                .with_events_per_write(4)
                .with_fault(Some(FaultConfig::always(mode)))
        };
        // Malformed after 5 tokens: writes 4 and 1, the bad event, then
        // writes 4 and 1 and the tail.
        let malformed = fault(FaultMode::MalformedChunk { after_tokens: 5 });
        let got = items(malformed, Endpoint::Chat, 10).await;
        assert_eq!(shape(&got), [1, 4, 1, 1, 4, 1, 1, 1, 1].map(Some));
        // Close after 6 tokens: writes 4 and 2, then the aborting error.
        let close = fault(FaultMode::CloseMidStream { after_tokens: 6 });
        let got = items(close, Endpoint::Chat, 10).await;
        assert_eq!(shape(&got), [Some(1), Some(4), Some(2), None]);
    }
}
