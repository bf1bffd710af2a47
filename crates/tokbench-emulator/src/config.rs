//! Emulator configuration: the token schedule, the slot count and faults.
//!
//! Every type serialises and deserialises with serde (missing fields take
//! their [`Default`]) and [`EmulatorConfig`] has `with_*` builder methods:
//!
//! ```
//! use tokbench_emulator::{EmulatorConfig, Prefill};
//! let cfg = EmulatorConfig::default()
//!     .with_decode_tok_s(100.0)
//!     .with_prefill(Prefill::Rate { tok_s: 2000.0 })
//!     .with_slots(8);
//! assert!(cfg.validate().is_ok());
//! ```

use serde::{Deserialize, Serialize};

use crate::error::EmulatorError;
use crate::metrics::{MetricsFault, MetricsFlavor};
use crate::text::Divergence;

/// How long prompt processing ("prefill") takes for a request.
///
/// Serialised externally tagged, e.g. `{"fixed":{"ms":100.0}}` or
/// `{"rate":{"tok_s":2000.0}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefill {
    /// A fixed prefill time in milliseconds, whatever the prompt length.
    Fixed {
        /// Prefill time in milliseconds (finite, ≥ 0).
        ms: f64,
    },
    /// Prefill time = prompt tokens / `tok_s` seconds.
    Rate {
        /// Prompt-processing speed in tokens per second (finite, > 0).
        tok_s: f64,
    },
}

impl Default for Prefill {
    /// A fixed 100 ms prefill.
    fn default() -> Self {
        Prefill::Fixed { ms: 100.0 }
    }
}

/// Which misbehaviour a faulty request shows.
///
/// `CloseMidStream` and `MalformedChunk` act once `after_tokens` tokens
/// have been emitted (with `tokens_per_chunk > 1`: after the first event
/// that reaches that count; `after_tokens = 0`: right after the role
/// chunk). `StallMidStream` delays every token from index `after_tokens` on
/// (an event is sent at its last token's deadline). Close and malformed
/// fire only if the response has at least `after_tokens` tokens; a stall
/// only shows if it has more.
/// Non-streaming requests: a stall lengthens the wait, a close sends the
/// headers and then drops the connection, a malformed chunk becomes a
/// truncated (invalid) JSON body.
///
/// Serialised externally tagged in snake case, e.g.
/// `{"stall_mid_stream":{"after_tokens":5,"stall_ms":500}}` or `"http500"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// After `after_tokens` tokens, pause `stall_ms` milliseconds; every later
    /// deadline shifts by the stall, then the stream continues normally.
    StallMidStream {
        /// Tokens emitted before the stall.
        after_tokens: u32,
        /// Length of the stall in milliseconds.
        stall_ms: u64,
    },
    /// After `after_tokens` tokens, abort the body: the connection closes
    /// without the terminating chunk and without `data: [DONE]`.
    CloseMidStream {
        /// Tokens emitted before the close.
        after_tokens: u32,
    },
    /// Answer HTTP 500 with an OpenAI-style error body, without queueing.
    Http500,
    /// Answer HTTP 429 with a `Retry-After` header, without queueing.
    Http429 {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_s: u32,
    },
    /// After `after_tokens` tokens, send one SSE event whose payload is
    /// invalid JSON, then continue normally.
    MalformedChunk {
        /// Tokens emitted before the malformed event.
        after_tokens: u32,
    },
    /// Never send usage, even when the request asks for it.
    NoUsage,
}

/// A fault and the probability that a given request shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// The misbehaviour.
    pub mode: FaultMode,
    /// Probability in `[0, 1]` that a completion request is faulty (default
    /// 1.0: every request). Drawn from the seeded per-request RNG.
    #[serde(default = "default_probability")]
    pub probability: f64,
}

fn default_probability() -> f64 {
    1.0
}

impl FaultConfig {
    /// A fault that hits every request (`probability` 1.0).
    pub fn always(mode: FaultMode) -> Self {
        FaultConfig {
            mode,
            probability: 1.0,
        }
    }

    /// Sets the probability in `[0, 1]` (checked by
    /// [`EmulatorConfig::validate`]).
    pub fn with_probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }
}

/// What the emulator does with a request that switches thinking off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningSwitch {
    /// Emit no reasoning tokens; the content tokens stay as many as
    /// without the switch (the output is shorter by the reasoning tokens).
    #[default]
    Honour,
    /// Emit the reasoning tokens anyway, as a model whose template ignores
    /// the switch.
    Ignore,
}

/// Full configuration of an emulated server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmulatorConfig {
    /// Model id reported by `/v1/models` and in every completion
    /// (default `"tokbench-emulator"`).
    pub model: String,
    /// Prompt-processing time (default: fixed 100 ms).
    pub prefill: Prefill,
    /// Decode speed in tokens per second per request (default 50.0; > 0).
    pub decode_tok_s: f64,
    /// Requests served concurrently (default 4; ≥ 1). Further requests wait
    /// in a FIFO queue for a free slot.
    pub slots: usize,
    /// Per-token jitter in milliseconds (default 0 = none): each token's
    /// absolute deadline gets a seeded uniform offset in `[0, jitter_ms]`;
    /// deadlines stay monotonic and never drift.
    pub jitter_ms: f64,
    /// Tokens emitted on `delta.reasoning_content` before the content
    /// tokens (chat only); they count toward `max_tokens` (default 0).
    pub reasoning_tokens: u32,
    /// Whether a chat request that switches thinking off
    /// (`chat_template_kwargs.enable_thinking: false` or `.thinking: false`,
    /// `reasoning_effort: "none"`, or `/no_think` in a system or user
    /// message) gets no reasoning tokens (default
    /// [`ReasoningSwitch::Honour`]).
    pub reasoning_switch: ReasoningSwitch,
    /// Tokens per SSE event (default 1; ≥ 1). An event of `k` tokens is sent
    /// at the deadline of its last token.
    pub tokens_per_chunk: u32,
    /// SSE events per network write (default 1; ≥ 1), as servers with a
    /// stream interval (vLLM, SGLang), batching servers or buffering
    /// proxies send them. Events keep their exact deadlines but are handed
    /// to the socket `n` at a time, as one buffer at the deadline of the
    /// write's last event, so a client sees them arrive together. The last
    /// write of a response may hold fewer; a write is cut short at a due
    /// `CloseMidStream`/`MalformedChunk` fault. The role chunk and the
    /// finish, usage and `[DONE]` events are written on their own.
    pub events_per_write: u32,
    /// Output length when the request sets no limit (default 128).
    pub default_max_tokens: u32,
    /// Attach a llama.cpp-style `timings` object to the final chunk / the
    /// non-streaming response (default true).
    pub emit_timings: bool,
    /// Optional injected fault (default none).
    pub fault: Option<FaultConfig>,
    /// Seed of the per-request RNGs (jitter, fault draws); default 0.
    pub seed: u64,
    /// Deterministic text (default none: tokens are `" tok{i}"`): with a
    /// seed, generated tokens and their log-probabilities are a function
    /// of (seed, prompt, tokens before), see [`crate::text`].
    pub text_seed: Option<u64>,
    /// An injected divergence from the seed's tokens (needs
    /// [`EmulatorConfig::text_seed`]).
    pub diverge: Option<Divergence>,
    /// Which engine's `GET /metrics` to serve (default
    /// [`MetricsFlavor::Llamacpp`]; [`MetricsFlavor::None`] answers 501).
    /// Names and values: [`crate::exposition`].
    pub metrics: MetricsFlavor,
    /// Optional misbehaviour of `GET /metrics` (default none).
    pub metrics_fault: Option<MetricsFault>,
    /// Context size of each slot in tokens (default 4096; ≥ 1): `n_ctx` in
    /// `GET /slots` and the denominator of the KV-usage gauges
    /// (`slots × ctx_per_slot`). Nothing is truncated to it.
    pub ctx_per_slot: u32,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            model: "tokbench-emulator".to_owned(),
            prefill: Prefill::default(),
            decode_tok_s: 50.0,
            slots: 4,
            jitter_ms: 0.0,
            reasoning_tokens: 0,
            reasoning_switch: ReasoningSwitch::Honour,
            tokens_per_chunk: 1,
            events_per_write: 1,
            default_max_tokens: 128,
            emit_timings: true,
            fault: None,
            seed: 0,
            text_seed: None,
            diverge: None,
            metrics: MetricsFlavor::default(),
            metrics_fault: None,
            ctx_per_slot: 4096,
        }
    }
}

macro_rules! builder {
    ($(#[$doc:meta] $name:ident, $field:ident: $ty:ty;)*) => {
        impl EmulatorConfig {
            $(
                #[$doc]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

builder! {
    /// Sets [`EmulatorConfig::prefill`].
    with_prefill, prefill: Prefill;
    /// Sets [`EmulatorConfig::decode_tok_s`] (tokens per second).
    with_decode_tok_s, decode_tok_s: f64;
    /// Sets [`EmulatorConfig::slots`].
    with_slots, slots: usize;
    /// Sets [`EmulatorConfig::jitter_ms`] (milliseconds).
    with_jitter_ms, jitter_ms: f64;
    /// Sets [`EmulatorConfig::reasoning_tokens`].
    with_reasoning_tokens, reasoning_tokens: u32;
    /// Sets [`EmulatorConfig::reasoning_switch`].
    with_reasoning_switch, reasoning_switch: ReasoningSwitch;
    /// Sets [`EmulatorConfig::tokens_per_chunk`].
    with_tokens_per_chunk, tokens_per_chunk: u32;
    /// Sets [`EmulatorConfig::events_per_write`].
    with_events_per_write, events_per_write: u32;
    /// Sets [`EmulatorConfig::default_max_tokens`].
    with_default_max_tokens, default_max_tokens: u32;
    /// Sets [`EmulatorConfig::emit_timings`].
    with_emit_timings, emit_timings: bool;
    /// Sets [`EmulatorConfig::fault`].
    with_fault, fault: Option<FaultConfig>;
    /// Sets [`EmulatorConfig::seed`].
    with_seed, seed: u64;
    /// Sets [`EmulatorConfig::text_seed`].
    with_text_seed, text_seed: Option<u64>;
    /// Sets [`EmulatorConfig::diverge`].
    with_diverge, diverge: Option<Divergence>;
    /// Sets [`EmulatorConfig::metrics`].
    with_metrics, metrics: MetricsFlavor;
    /// Sets [`EmulatorConfig::metrics_fault`].
    with_metrics_fault, metrics_fault: Option<MetricsFault>;
    /// Sets [`EmulatorConfig::ctx_per_slot`] (tokens).
    with_ctx_per_slot, ctx_per_slot: u32;
}

impl EmulatorConfig {
    /// Sets [`EmulatorConfig::model`].
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`EmulatorError::InvalidConfig`] naming the first offending field:
    /// empty model, non-finite or negative prefill ms, non-positive prefill
    /// or decode rate, `slots` of 0 (or above the semaphore limit), negative
    /// jitter, `tokens_per_chunk` or `events_per_write` of 0, a fault
    /// probability outside `[0, 1]`, a divergence without a text seed, or a
    /// `ctx_per_slot` of 0.
    pub fn validate(&self) -> Result<(), EmulatorError> {
        let bad = |msg: String| Err(EmulatorError::InvalidConfig(msg));
        if self.model.is_empty() {
            return bad("model must not be empty".into());
        }
        match self.prefill {
            Prefill::Fixed { ms } if !(ms.is_finite() && ms >= 0.0) => {
                return bad(format!("prefill ms must be finite and >= 0, got {ms}"));
            }
            Prefill::Rate { tok_s } if !(tok_s.is_finite() && tok_s > 0.0) => {
                return bad(format!("prefill tok/s must be finite and > 0, got {tok_s}"));
            }
            _ => {}
        }
        if !(self.decode_tok_s.is_finite() && self.decode_tok_s > 0.0) {
            return bad(format!(
                "decode tok/s must be finite and > 0, got {}",
                self.decode_tok_s
            ));
        }
        if self.slots == 0 || self.slots > tokio::sync::Semaphore::MAX_PERMITS {
            return bad(format!(
                "slots must be in 1..={}, got {}",
                tokio::sync::Semaphore::MAX_PERMITS,
                self.slots
            ));
        }
        if !(self.jitter_ms.is_finite() && self.jitter_ms >= 0.0) {
            return bad(format!(
                "jitter ms must be finite and >= 0, got {}",
                self.jitter_ms
            ));
        }
        if self.tokens_per_chunk == 0 {
            return bad("tokens per chunk must be >= 1".into());
        }
        if self.events_per_write == 0 {
            return bad("events per write must be >= 1".into());
        }
        if let Some(fault) = &self.fault {
            let p = fault.probability;
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("fault probability must be in [0, 1], got {p}"));
            }
        }
        if self.diverge.is_some() && self.text_seed.is_none() {
            return bad("a divergence needs a text seed".into());
        }
        if self.ctx_per_slot == 0 {
            return bad("context per slot must be >= 1 token".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let cfg = EmulatorConfig::default();
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.model, "tokbench-emulator");
        assert_eq!(cfg.decode_tok_s, 50.0);
        assert_eq!(cfg.tokens_per_chunk, 1);
        assert_eq!(cfg.events_per_write, 1);
        assert_eq!(cfg.default_max_tokens, 128);
        assert!(cfg.emit_timings);
    }

    #[test]
    fn validation_rejects_out_of_range_fields() {
        let base = EmulatorConfig::default();
        let cases = [
            base.clone().with_decode_tok_s(0.0),
            base.clone().with_decode_tok_s(f64::NAN),
            base.clone().with_slots(0),
            base.clone().with_jitter_ms(-1.0),
            base.clone().with_tokens_per_chunk(0),
            base.clone().with_events_per_write(0),
            base.clone().with_prefill(Prefill::Rate { tok_s: 0.0 }),
            base.clone().with_prefill(Prefill::Fixed { ms: -5.0 }),
            base.clone().with_model(""),
            base.clone().with_ctx_per_slot(0),
            base.clone().with_diverge(Some(Divergence {
                at: 3,
                kind: crate::text::DivergeKind::Hard,
            })),
            base.clone().with_fault(Some(
                FaultConfig::always(FaultMode::NoUsage).with_probability(1.5),
            )),
        ];
        for cfg in cases {
            assert!(
                matches!(cfg.validate(), Err(EmulatorError::InvalidConfig(_))),
                "{cfg:?}"
            );
        }
    }

    #[test]
    fn deserialises_with_defaults_and_tags() {
        let json = r#"{"decode_tok_s": 20.0, "prefill": {"rate": {"tok_s": 1000.0}},
            "fault": {"mode": {"stall_mid_stream": {"after_tokens": 3, "stall_ms": 250}}}}"#;
        let cfg: EmulatorConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.decode_tok_s, 20.0);
        assert_eq!(cfg.prefill, Prefill::Rate { tok_s: 1000.0 });
        assert_eq!(cfg.slots, 4);
        let fault = cfg.fault.unwrap();
        assert_eq!(fault.probability, 1.0);
        assert_eq!(
            fault.mode,
            FaultMode::StallMidStream {
                after_tokens: 3,
                stall_ms: 250
            }
        );
        let round_trip: EmulatorConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(round_trip, cfg);
        let http: FaultConfig =
            serde_json::from_str(r#"{"mode":"http500","probability":0.5}"#).unwrap();
        assert_eq!(http.mode, FaultMode::Http500);
    }

    #[test]
    fn metrics_fields_deserialise_in_snake_case() {
        assert_eq!(EmulatorConfig::default().metrics, MetricsFlavor::Llamacpp);
        let json = r#"{"metrics": "vllm", "ctx_per_slot": 512,
            "metrics_fault": {"reset_after_served": {"requests": 2}}}"#;
        let cfg: EmulatorConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.metrics, MetricsFlavor::Vllm);
        assert_eq!(cfg.ctx_per_slot, 512);
        let reset = MetricsFault::ResetAfterServed { requests: 2 };
        assert_eq!(cfg.metrics_fault, Some(reset));
        let none: MetricsFlavor = serde_json::from_str(r#""none""#).unwrap();
        assert_eq!(none, MetricsFlavor::None);
        let fault: MetricsFault = serde_json::from_str(r#""http500""#).unwrap();
        assert_eq!(fault, MetricsFault::Http500);
    }
}
