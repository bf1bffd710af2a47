//! An OpenAI-compatible inference server that emits tokens on an exact,
//! configurable schedule: tokbench's ground truth for testing and
//! calibrating its client, and a backend to try tokbench against without a
//! GPU.
//!
//! # Schedule
//! A request waits in a FIFO queue for one of [`EmulatorConfig::slots`]
//! slots. Once it holds one (instant `A`), prefill ends at
//! `P = A + prefill` ([`Prefill`]) and token `i` (0-based) is due at
//! `P + i / decode_tok_s`, optionally jittered
//! ([`EmulatorConfig::jitter_ms`]). Deadlines are absolute, so nothing
//! drifts. Every request emits exactly its requested number of tokens
//! (`max_completion_tokens`, `max_tokens`, `n_predict`, else
//! [`EmulatorConfig::default_max_tokens`]) and finishes with
//! `finish_reason: "length"`, as if `ignore_eos` were set.
//!
//! # Tokenizer
//! One token per whitespace-separated word (see [`tokenizer`]); a chat
//! prompt's tokens are the words of every message's content (a string, or
//! the `text` of `{"type":"text"}` parts).
//!
//! # Deterministic text
//! With [`EmulatorConfig::text_seed`], token texts are words of a 512-token
//! vocabulary chosen by a stable hash of (seed, prompt, tokens before), with
//! top-k log-probabilities when the request asks for them, and an optional
//! injected [`Divergence`]; `/tokenize` gives generated tokens their stream
//! ids. See [`text`] for the model and the JSON shapes.
//!
//! # Endpoints
//! - `GET /health` → `{"status":"ok"}`
//! - `GET /v1/models` → the single configured model
//! - `GET /props` → `{"build_info","total_slots","model_path"}` (llama.cpp-like)
//! - `GET /metrics` → Prometheus text exposition in llama.cpp, vLLM or
//!   SGLang form ([`EmulatorConfig::metrics`]; names and values in
//!   [`exposition`], their per-request definitions in [`metrics`]), or 501
//!   with [`MetricsFlavor::None`]; [`MetricsFault`] makes it fail or reset
//! - `GET /slots` → llama-server's (b6000+) metrics-only per-slot array:
//!   `id`, `n_ctx` ([`EmulatorConfig::ctx_per_slot`]), `speculative`,
//!   `is_processing`, `n_past` (prompt + decoded tokens); once a slot has
//!   served a request (its current one, or its last one when idle) also
//!   `id_task` (arrival index), `n_prompt_tokens`,
//!   `n_prompt_tokens_processed`, `n_prompt_tokens_cache` (0), `params`
//!   (`{"n_predict"}`) and `next_token: [{has_next_token, has_new_line,
//!   n_remain, n_decoded}]`, `n_decoded` counting the tokens whose
//!   unjittered deadline has passed. Slots are given lowest id first.
//! - `POST /tokenize` → `{"content":"…"}` → `{"tokens":[…]}`
//! - `POST /v1/chat/completions`, `POST /v1/completions`: streaming (SSE,
//!   OpenAI/llama.cpp format) and non-streaming. A malformed body gets 400
//!   with `{"error":{"message","type":"invalid_request_error","code":400}}`.
//!
//! A streamed chat response is: a role-only chunk as soon as the slot is
//! acquired; one chunk per token group (`delta.reasoning_content` for the
//! first [`EmulatorConfig::reasoning_tokens`] tokens, then
//! `delta.content`; none when the request switches thinking off and
//! [`EmulatorConfig::reasoning_switch`] honours it, see [`ReasoningSwitch`]);
//! an empty-delta chunk with `finish_reason: "length"`;
//! with `stream_options.include_usage`, a usage-only chunk
//! (`choices: []`); then `data: [DONE]`. The last JSON chunk carries a
//! llama.cpp-style `timings` object when [`EmulatorConfig::emit_timings`].
//! Completions stream the same way with `choices[0].text` and no role
//! chunk (and no reasoning tokens). With
//! [`EmulatorConfig::events_per_write`] `n > 1`, token chunks keep their
//! deadlines but leave `n` per network write, at the last one's deadline
//! (a server with a stream interval, or a buffering proxy).
//!
//! # Faults
//! See [`FaultMode`]; one is applied to a request with
//! [`FaultConfig::probability`], drawn from a per-request RNG seeded by
//! [`EmulatorConfig::seed`] and the request's arrival index.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tokbench_emulator::EmulatorError> {
//! use tokbench_emulator::{spawn, EmulatorConfig};
//! let handle = spawn(([127, 0, 0, 1], 0).into(), EmulatorConfig::default()).await?;
//! println!("emulator at {}", handle.base_url());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod complete;
mod config;
mod error;
mod events;
pub mod exposition;
mod logprobs;
pub mod metrics;
mod plan;
mod request;
mod routes;
mod schedule;
mod series;
mod server;
mod slots;
mod stats;
mod stream;
pub mod text;
mod timings;
pub mod tokenizer;

pub use config::ReasoningSwitch;
pub use config::{EmulatorConfig, FaultConfig, FaultMode, Prefill};
pub use error::EmulatorError;
pub use metrics::{MetricsFault, MetricsFlavor};
pub use server::{bind, serve, serve_with_shutdown, spawn, EmulatorHandle, LISTEN_BACKLOG};
pub use stats::EmulatorStats;
pub use text::{DivergeKind, Divergence};
