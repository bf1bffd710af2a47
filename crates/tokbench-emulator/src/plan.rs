//! Per-request plan: output length, fault draw, schedule and identifiers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{EmulatorConfig, FaultMode, ReasoningSwitch};
use crate::logprobs::Generated;
use crate::request::{Endpoint, ParsedRequest};
use crate::schedule::{prefill_duration, Schedule};
use crate::text::generate;

/// Everything decided about a request before it waits for a slot.
#[derive(Debug, Clone)]
pub(crate) struct RequestPlan {
    /// The endpoint and the request's own parameters.
    pub request: ParsedRequest,
    /// Tokens to emit (reasoning included).
    pub tokens: u32,
    /// Leading tokens that are reasoning (chat only, ≤ `tokens`).
    pub reasoning: u32,
    /// Send the usage chunk (asked for, and the fault is not `NoUsage`).
    pub send_usage: bool,
    /// The fault this request shows, if the draw hit.
    pub fault: Option<FaultMode>,
    /// Deadlines, as offsets from slot acquisition.
    pub schedule: Schedule,
    /// Token events per network write (≥ 1).
    pub events_per_write: u32,
    /// RNG for the schedule's jitter (seeded per request).
    pub rng: ChaCha8Rng,
    /// `chatcmpl-…` / `cmpl-…` id.
    pub id: String,
    /// Unix seconds at arrival.
    pub created: u64,
    /// The deterministic text, in text mode ([`EmulatorConfig::text_seed`]).
    pub text: Option<Arc<Generated>>,
}

impl RequestPlan {
    /// Plans request number `index` (0-based arrival order) under `cfg`.
    ///
    /// The RNG is ChaCha8 seeded with `cfg.seed` on stream `index`, so a
    /// given seed replays the same fault draws and jitter for the same
    /// arrival order. The fault draw comes first, then the jitter.
    pub fn new(cfg: &EmulatorConfig, request: ParsedRequest, index: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(index);
        let fault = cfg.fault.and_then(|f| {
            let draw: f64 = rng.random();
            (draw < f.probability).then_some(f.mode)
        });
        let (tokens, reasoning) = output_tokens(cfg, &request);
        let stall = match fault {
            Some(FaultMode::StallMidStream {
                after_tokens,
                stall_ms,
            }) => Some((after_tokens, Duration::from_millis(stall_ms))),
            _ => None,
        };
        let schedule = Schedule {
            prefill: prefill_duration(cfg.prefill, request.prompt_tokens),
            decode_tok_s: cfg.decode_tok_s,
            jitter_s: cfg.jitter_ms / 1000.0,
            stall,
            tokens,
            tokens_per_chunk: cfg.tokens_per_chunk,
        };
        let prefix = match request.endpoint {
            Endpoint::Chat => "chatcmpl",
            Endpoint::Completions => "cmpl",
        };
        let text = cfg.text_seed.map(|seed| {
            let top_k = request.logprobs;
            let steps = generate(seed, request.prompt_key, tokens, cfg.diverge, top_k);
            Arc::new(Generated::new(steps, top_k.map(|_| request.endpoint)))
        });
        RequestPlan {
            request,
            tokens,
            reasoning,
            send_usage: request.include_usage && fault != Some(FaultMode::NoUsage),
            fault,
            schedule,
            events_per_write: cfg.events_per_write.max(1),
            rng,
            id: format!("{prefix}-tokbench-{index}"),
            created: unix_now(),
            text,
        }
    }

    /// `after_tokens` of a fault that acts on the body (close, malformed).
    pub fn body_fault_point(&self) -> Option<u32> {
        match self.fault {
            Some(FaultMode::CloseMidStream { after_tokens })
            | Some(FaultMode::MalformedChunk { after_tokens }) => Some(after_tokens),
            _ => None,
        }
    }
}

/// `(tokens, reasoning)`: the output length (`max_tokens`, else the
/// default) with its leading reasoning tokens (chat only). A request that
/// switches thinking off, under [`ReasoningSwitch::Honour`], gets no
/// reasoning tokens and only the content tokens it would have had.
fn output_tokens(cfg: &EmulatorConfig, request: &ParsedRequest) -> (u32, u32) {
    let tokens = request.max_tokens.unwrap_or(cfg.default_max_tokens);
    let reasoning = match request.endpoint {
        Endpoint::Chat => cfg.reasoning_tokens.min(tokens),
        Endpoint::Completions => 0,
    };
    let honoured = request.thinking_off && cfg.reasoning_switch == ReasoningSwitch::Honour;
    if honoured {
        (tokens - reasoning, 0)
    } else {
        (tokens, reasoning)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FaultConfig;

    fn chat(max_tokens: Option<u32>) -> ParsedRequest {
        ParsedRequest {
            endpoint: Endpoint::Chat,
            prompt_tokens: 3,
            max_tokens,
            stream: true,
            include_usage: true,
            prompt_key: 0,
            logprobs: None,
            thinking_off: false,
        }
    }

    #[test]
    fn a_thinking_switch_is_honoured_or_ignored() {
        let cfg = EmulatorConfig::default().with_reasoning_tokens(5);
        let off = ParsedRequest {
            thinking_off: true,
            ..chat(Some(12))
        };
        let plan = RequestPlan::new(&cfg, off, 0);
        assert_eq!((plan.tokens, plan.reasoning), (7, 0), "content stays 7");
        let ignoring = cfg.with_reasoning_switch(ReasoningSwitch::Ignore);
        let plan = RequestPlan::new(&ignoring, off, 0);
        assert_eq!((plan.tokens, plan.reasoning), (12, 5));
    }

    #[test]
    fn output_length_and_reasoning() {
        let cfg = EmulatorConfig::default().with_reasoning_tokens(5);
        let plan = RequestPlan::new(&cfg, chat(None), 0);
        assert_eq!((plan.tokens, plan.reasoning), (128, 5));
        let plan = RequestPlan::new(&cfg, chat(Some(3)), 0);
        assert_eq!((plan.tokens, plan.reasoning), (3, 3));
        let cmpl = ParsedRequest {
            endpoint: Endpoint::Completions,
            ..chat(Some(9))
        };
        let plan = RequestPlan::new(&cfg, cmpl, 4);
        assert_eq!((plan.tokens, plan.reasoning), (9, 0));
        assert_eq!(plan.id, "cmpl-tokbench-4");
    }

    #[test]
    fn fault_probability_is_seeded_and_roughly_respected() {
        let fault = FaultConfig::always(FaultMode::NoUsage).with_probability(0.3);
        let cfg = EmulatorConfig::default().with_fault(Some(fault));
        let hits: Vec<bool> = (0..1000)
            .map(|i| RequestPlan::new(&cfg, chat(None), i).fault.is_some())
            .collect();
        let count = hits.iter().filter(|&&h| h).count();
        assert!((200..400).contains(&count), "{count} of 1000");
        let again: Vec<bool> = (0..1000)
            .map(|i| RequestPlan::new(&cfg, chat(None), i).fault.is_some())
            .collect();
        assert_eq!(hits, again);
        let plan = (0..1000)
            .map(|i| RequestPlan::new(&cfg, chat(None), i))
            .find(|p| p.fault.is_some())
            .unwrap();
        assert!(!plan.send_usage, "NoUsage suppresses usage");
    }

    #[test]
    fn probability_bounds() {
        for (p, expect) in [(0.0, false), (1.0, true)] {
            let fault = FaultConfig::always(FaultMode::Http500).with_probability(p);
            let cfg = EmulatorConfig::default().with_fault(Some(fault));
            assert!(
                (0..200).all(|i| RequestPlan::new(&cfg, chat(None), i).fault.is_some() == expect)
            );
        }
    }

    #[test]
    fn stall_fault_lands_in_schedule() {
        let mode = FaultMode::StallMidStream {
            after_tokens: 2,
            stall_ms: 300,
        };
        let cfg = EmulatorConfig::default().with_fault(Some(FaultConfig::always(mode)));
        let plan = RequestPlan::new(&cfg, chat(None), 0);
        assert_eq!(plan.schedule.stall, Some((2, Duration::from_millis(300))));
        assert_eq!(plan.body_fault_point(), None);
    }
}
