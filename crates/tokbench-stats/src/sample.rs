//! Raw per-request measurements, as recorded on the client's hot path.
//!
//! These types are the contract between the load engine (`tokbench-client`),
//! which fills them while a request streams, and the metric definitions in
//! [`crate::metrics`], which turn them into TTFT, decode tok/s, ITL, … after
//! the run. They are deliberately compact: one [`TokenEvent`] is 12 bytes, so
//! 256 streams × 50 tok/s × 5 min stay well under 100 MiB.
//!
//! Time base: every request has an *actual send* instant, when its last
//! byte was handed to the connection. Times inside a request are
//! microseconds since that instant (`u32`, good for 71 minutes);
//! send times themselves are microseconds since the start of the run (`u64`).
//! All instants come from a monotonic clock.

use serde::{Deserialize, Serialize};

/// Which output channel an SSE event carried tokens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Visible answer text (`delta.content`, or `text` for `/v1/completions`).
    Content,
    /// Hidden reasoning text (`delta.reasoning_content` / `delta.reasoning`).
    Reasoning,
    /// Tool-call argument or name deltas (`delta.tool_calls`).
    ToolCall,
}

/// One token-bearing SSE event: when it arrived and how much text it carried.
///
/// Events without text (role-only first chunk, empty content, usage-only
/// final chunk, `[DONE]`) are not recorded as token events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEvent {
    /// Arrival of the network chunk that completed this event, in µs since
    /// the request's actual send instant.
    pub t_us: u32,
    /// UTF-8 bytes of text (or tool-call arguments) this event carried.
    pub bytes: u32,
    /// Channel the text belongs to.
    pub channel: Channel,
}

/// Token usage as reported by the server (`usage` object of the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// `usage.prompt_tokens`.
    pub prompt_tokens: u64,
    /// `usage.completion_tokens` (includes reasoning tokens on servers that
    /// report them separately).
    pub completion_tokens: u64,
    /// `usage.completion_tokens_details.reasoning_tokens`, when reported.
    pub reasoning_tokens: Option<u64>,
    /// `usage.prompt_tokens_details.cached_tokens`, when reported: prompt
    /// tokens the server served from its prefix/prompt cache instead of
    /// evaluating them (OpenAI, vLLM with prompt-token details, llama.cpp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
}

/// Server-side timings as reported by llama.cpp's `timings` object
/// (`tools/server` in llama.cpp: `prompt_n`, `prompt_ms`, … on the final chunk).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerTimings {
    /// Prompt tokens the server actually evaluated (cache hits excluded).
    pub prompt_n: u64,
    /// Prompt tokens reused from the server's cache (`timings.cache_n`),
    /// when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_n: Option<u64>,
    /// Server time spent on prompt evaluation, ms.
    pub prompt_ms: f64,
    /// Server-side prefill rate, tok/s.
    pub prompt_per_second: f64,
    /// Tokens the server generated.
    pub predicted_n: u64,
    /// Server time spent generating, ms.
    pub predicted_ms: f64,
    /// Server-side decode rate, tok/s.
    pub predicted_per_second: f64,
}

/// Why a request failed. Grouped into kinds for "errors by kind" counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect / DNS failure.
    Connect,
    /// Non-2xx HTTP status.
    HttpStatus,
    /// No bytes for longer than the read (stall) timeout.
    Stall,
    /// An SSE event that is not valid JSON or not the expected shape.
    MalformedEvent,
    /// A line longer than the framing limit.
    LineTooLong,
    /// Stream ended without `[DONE]`.
    EarlyClose,
    /// Error object sent inside the stream.
    StreamError,
    /// Any other I/O or protocol error.
    Other,
    /// The request was cancelled (Ctrl-C, deadline) before it finished.
    Cancelled,
}

/// Outcome of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Stream finished with `[DONE]` (or a clean end on servers without it).
    Ok,
    /// Request failed; events received before the failure are kept.
    Error {
        /// Error classification.
        kind: ErrorKind,
        /// Human-readable message (already truncated by the client).
        message: String,
    },
}

/// Everything recorded for one request. Filled on the hot path with
/// timestamps and byte counts only; see [`crate::metrics`] for what is
/// derived from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSample {
    /// Sequence number within the run (0-based, in issue order).
    pub id: u64,
    /// Warm-up requests are kept but excluded from statistics.
    pub warmup: bool,
    /// Intended send time, µs since run start (open loop: the Poisson
    /// schedule; closed loop: when the slot became free).
    pub intended_send_us: u64,
    /// Actual send time, µs since run start: when the request's last byte
    /// was handed to the connection (after any connect). `actual -
    /// intended` is the client-side queueing delay (coordinated omission
    /// made visible); it includes the connect.
    pub actual_send_us: u64,
    /// Time taken to open the connection this request went out on, µs (TCP
    /// connect, plus TLS for `https`); `None` when it reused a kept-alive
    /// connection (or never connected). Not part of any time below.
    #[serde(default)]
    pub connect_us: Option<u32>,
    /// Response headers received, µs since actual send.
    pub headers_us: Option<u32>,
    /// Token-bearing events in arrival order.
    pub events: Vec<TokenEvent>,
    /// Stream end (`[DONE]`, error or close), µs since actual send.
    pub end_us: Option<u32>,
    /// Prompt tokens the client intended to send (from the workload), if known.
    pub prompt_tokens_hint: Option<u64>,
    /// Server-reported usage, when the stream carried it.
    pub usage: Option<Usage>,
    /// llama.cpp `timings`, when the stream carried them.
    pub server_timings: Option<ServerTimings>,
    /// `finish_reason` of the (first) choice, if any.
    pub finish_reason: Option<String>,
    /// Success or failure.
    pub outcome: Outcome,
}

impl RequestSample {
    /// A new, empty sample for a request about to be sent.
    pub fn new(id: u64, warmup: bool, intended_send_us: u64, actual_send_us: u64) -> Self {
        Self {
            id,
            warmup,
            intended_send_us,
            actual_send_us,
            connect_us: None,
            headers_us: None,
            events: Vec::new(),
            end_us: None,
            prompt_tokens_hint: None,
            usage: None,
            server_timings: None,
            finish_reason: None,
            outcome: Outcome::Ok,
        }
    }

    /// `true` when the request completed without error.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_written_before_connect_us_still_read() {
        let old = r#"{"id":3,"warmup":false,"intended_send_us":10,"actual_send_us":12,
            "headers_us":5,"events":[],"end_us":9,"prompt_tokens_hint":null,"usage":null,
            "server_timings":null,"finish_reason":null,"outcome":{"status":"ok"}}"#;
        let s: RequestSample = serde_json::from_str(old).expect("old sample reads");
        assert_eq!(s.connect_us, None);
        assert_eq!(s.actual_send_us, 12);
        let mut new = RequestSample::new(4, false, 1, 2);
        new.connect_us = Some(150);
        let text = serde_json::to_string(&new).expect("serialises");
        let back: RequestSample = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, new);
    }
}
