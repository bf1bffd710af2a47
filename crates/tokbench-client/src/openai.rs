//! Decoding of OpenAI-compatible streaming chunks.
//!
//! One SSE `data:` payload is either `[DONE]` or a JSON object shaped like
//! OpenAI's `chat.completion.chunk` / `text_completion` objects. Only the
//! fields tokbench times are decoded, borrowing from the input so that the
//! common case allocates nothing:
//!
//! - `choices[].delta.content` / `choices[].text` → content bytes;
//! - `choices[].delta.reasoning_content` (llama.cpp, DeepSeek, vLLM) or
//!   `choices[].delta.reasoning` (vLLM ≥ 0.10, Ollama) → reasoning bytes;
//! - `choices[].delta.tool_calls[].function.{name,arguments}` → tool bytes;
//! - `choices[].finish_reason`;
//! - `usage` (OpenAI `stream_options.include_usage`; may arrive with empty
//!   `choices`), including `completion_tokens_details.reasoning_tokens` and
//!   `prompt_tokens_details.cached_tokens`;
//! - `timings` (llama.cpp server: `prompt_n`, `cache_n`, `prompt_ms`,
//!   `prompt_per_second`, `predicted_n`, `predicted_ms`,
//!   `predicted_per_second`);
//! - `error` (an error object sent inside the stream).

use std::borrow::Cow;

use serde::Deserialize;
use tokbench_stats::{ServerTimings, Usage};

/// The sentinel payload that ends an OpenAI stream.
pub const DONE: &[u8] = b"[DONE]";

/// What one decoded chunk carried. Byte counts are UTF-8 bytes of decoded
/// (unescaped) text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkInfo {
    /// Visible answer text bytes.
    pub content_bytes: u32,
    /// Hidden reasoning text bytes.
    pub reasoning_bytes: u32,
    /// Tool-call name/argument bytes.
    pub tool_bytes: u32,
    /// `finish_reason` of the first choice that had one.
    pub finish_reason: Option<String>,
    /// Usage, when present.
    pub usage: Option<Usage>,
    /// llama.cpp timings, when present.
    pub timings: Option<ServerTimings>,
    /// Error message of an in-stream `error` object.
    pub error: Option<String>,
}

/// Decoding failure of one payload.
#[derive(Debug, thiserror::Error)]
#[error("malformed stream event: {source}")]
pub struct DecodeError {
    #[source]
    source: serde_json::Error,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<UsageJson>,
    #[serde(default)]
    timings: Option<TimingsJson>,
    #[serde(borrow, default)]
    error: Option<ErrorJson<'a>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow, default)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct UsageJson {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct TimingsJson {
    #[serde(default)]
    prompt_n: u64,
    #[serde(default)]
    cache_n: Option<u64>,
    #[serde(default)]
    prompt_ms: f64,
    #[serde(default)]
    prompt_per_second: f64,
    #[serde(default)]
    predicted_n: u64,
    #[serde(default)]
    predicted_ms: f64,
    #[serde(default)]
    predicted_per_second: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorJson<'a> {
    Object {
        #[serde(borrow, default)]
        message: Option<Cow<'a, str>>,
    },
    Text(#[serde(borrow)] Cow<'a, str>),
}

fn len32(s: &Option<Cow<'_, str>>) -> u32 {
    s.as_ref()
        .map_or(0, |s| u32::try_from(s.len()).unwrap_or(u32::MAX))
}

/// Decodes one SSE data payload (not `[DONE]`).
///
/// # Errors
/// [`DecodeError`] when the payload is not a JSON object of the expected
/// shape.
pub fn decode_chunk(data: &[u8]) -> Result<ChunkInfo, DecodeError> {
    let chunk: Chunk<'_> = serde_json::from_slice(data).map_err(|source| DecodeError { source })?;
    let mut info = ChunkInfo::default();
    for choice in chunk.choices.iter().flatten() {
        info.content_bytes = info.content_bytes.saturating_add(len32(&choice.text));
        if let Some(delta) = &choice.delta {
            info.content_bytes = info.content_bytes.saturating_add(len32(&delta.content));
            info.reasoning_bytes = info
                .reasoning_bytes
                .saturating_add(len32(&delta.reasoning_content))
                .saturating_add(len32(&delta.reasoning));
            for call in delta.tool_calls.iter().flatten() {
                if let Some(f) = &call.function {
                    info.tool_bytes = info
                        .tool_bytes
                        .saturating_add(len32(&f.name))
                        .saturating_add(len32(&f.arguments));
                }
            }
        }
        if info.finish_reason.is_none() {
            info.finish_reason = choice.finish_reason.as_deref().map(str::to_owned);
        }
    }
    info.usage = chunk.usage.map(|u| Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens),
        cached_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens),
    });
    info.timings = chunk.timings.map(|t| ServerTimings {
        prompt_n: t.prompt_n,
        cache_n: t.cache_n,
        prompt_ms: t.prompt_ms,
        prompt_per_second: t.prompt_per_second,
        predicted_n: t.predicted_n,
        predicted_ms: t.predicted_ms,
        predicted_per_second: t.predicted_per_second,
    });
    info.error = chunk.error.map(|e| match e {
        ErrorJson::Object { message } => message.map_or_else(|| "error".into(), Cow::into_owned),
        ErrorJson::Text(t) => t.into_owned(),
    });
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_only_first_chunk_carries_nothing() {
        let c = decode_chunk(br#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}"#).unwrap();
        assert_eq!(c, ChunkInfo::default());
    }

    #[test]
    fn empty_content_chunk_carries_nothing() {
        let c = decode_chunk(br#"{"choices":[{"delta":{"content":""}}]}"#).unwrap();
        assert_eq!(c.content_bytes, 0);
    }

    #[test]
    fn content_bytes_count_unescaped_utf8() {
        let c = decode_chunk(br#"{"choices":[{"delta":{"content":"\u65e5 \"x\""}}]}"#).unwrap();
        // 日 (3 bytes) + space + "x" with quotes (3) = 7
        assert_eq!(c.content_bytes, 7);
    }

    #[test]
    fn reasoning_channels_both_spellings() {
        let a = decode_chunk(br#"{"choices":[{"delta":{"reasoning_content":"abc"}}]}"#).unwrap();
        let b = decode_chunk(br#"{"choices":[{"delta":{"reasoning":"abcd"}}]}"#).unwrap();
        assert_eq!((a.reasoning_bytes, a.content_bytes), (3, 0));
        assert_eq!(b.reasoning_bytes, 4);
    }

    #[test]
    fn tool_call_deltas() {
        let c = decode_chunk(br#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get","arguments":"{\"a\":"}}]}}]}"#).unwrap();
        assert_eq!(c.tool_bytes, 3 + 5);
    }

    #[test]
    fn completions_text_field() {
        let c = decode_chunk(
            br#"{"object":"text_completion","choices":[{"text":" hi","finish_reason":"length"}]}"#,
        )
        .unwrap();
        assert_eq!(c.content_bytes, 3);
        assert_eq!(c.finish_reason.as_deref(), Some("length"));
    }

    #[test]
    fn usage_only_final_chunk_with_empty_choices() {
        let c = decode_chunk(br#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"completion_tokens_details":{"reasoning_tokens":5}}}"#).unwrap();
        assert_eq!(
            c.usage,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 34,
                reasoning_tokens: Some(5),
                cached_tokens: None,
            })
        );
    }

    #[test]
    fn cached_prompt_tokens_from_usage_and_timings() {
        // llama.cpp reports both: usage details and timings.cache_n.
        let c = decode_chunk(br#"{"choices":[],"usage":{"prompt_tokens":427,"completion_tokens":26,"prompt_tokens_details":{"cached_tokens":426}},"timings":{"cache_n":426,"prompt_n":1,"prompt_ms":3.1,"prompt_per_second":322.5,"predicted_n":26,"predicted_ms":400.0,"predicted_per_second":65.0}}"#).unwrap();
        assert_eq!(c.usage.unwrap().cached_tokens, Some(426));
        let t = c.timings.unwrap();
        assert_eq!((t.cache_n, t.prompt_n), (Some(426), 1));
        // Older servers report neither.
        let c = decode_chunk(br#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1},"timings":{"prompt_n":5}}"#).unwrap();
        assert_eq!(c.usage.unwrap().cached_tokens, None);
        assert_eq!(c.timings.unwrap().cache_n, None);
    }

    #[test]
    fn llama_cpp_timings() {
        let c = decode_chunk(br#"{"choices":[{"finish_reason":"length","delta":{}}],"timings":{"prompt_n":10,"prompt_ms":20.5,"prompt_per_token_ms":2.05,"prompt_per_second":487.8,"predicted_n":64,"predicted_ms":1280.0,"predicted_per_token_ms":20.0,"predicted_per_second":50.0}}"#).unwrap();
        let t = c.timings.unwrap();
        assert_eq!((t.prompt_n, t.predicted_n), (10, 64));
        assert!((t.predicted_per_second - 50.0).abs() < 1e-9);
        assert!((t.prompt_ms - 20.5).abs() < 1e-9);
    }

    #[test]
    fn in_stream_error_object_and_string() {
        let a = decode_chunk(br#"{"error":{"message":"context full","code":400}}"#).unwrap();
        let b = decode_chunk(br#"{"error":"boom"}"#).unwrap();
        assert_eq!(a.error.as_deref(), Some("context full"));
        assert_eq!(b.error.as_deref(), Some("boom"));
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(decode_chunk(br#"{"choices":[{"delta":{"content":"#).is_err());
        assert!(decode_chunk(b"not json").is_err());
    }
}
