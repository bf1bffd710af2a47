//! Text of the emitted tokens and the SSE events that carry them.
//!
//! Token events are the hot path (one per token group, thousands per
//! second), so their JSON is written straight into one reusable [`BytesMut`]
//! after a per-request preformatted head; events sent once per request
//! (finish, usage) go through `serde_json`.
//!
//! Token text: token `i` is `" tok{i}"`, except every 7th token
//! (`i % 7 == 6`), which cycles through the multi-byte strings `" é"`
//! (2-byte), `"日本"` (3-byte) and `" 🦀"` (4-byte) so that clients exercise
//! UTF-8 sequences split across network reads. No token needs JSON escaping.
//! In deterministic-text mode the text and the log-probabilities come from
//! the request's [`Generated`] tokens instead.

use std::ops::Range;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Map, Value};

use crate::logprobs::Generated;
use crate::request::Endpoint;

/// The multi-byte tokens, used in turn for every 7th token.
const MULTIBYTE: [&str; 3] = [" é", "日本", " 🦀"];

/// The terminating event.
pub(crate) const DONE: &[u8] = b"data: [DONE]\n\n";

/// Appends the text of token `index` to `out`.
pub(crate) fn push_token_text(out: &mut impl BufMut, index: u32) {
    if index % 7 == 6 {
        let which = (index / 7) as usize % MULTIBYTE.len();
        out.put_slice(MULTIBYTE[which].as_bytes());
    } else {
        out.put_slice(b" tok");
        push_decimal(out, index);
    }
}

/// Appends the text of tokens `range`, concatenated, to `out`: from `text`
/// in deterministic-text mode.
fn push_tokens(out: &mut impl BufMut, text: Option<&Generated>, range: Range<u32>) {
    match text {
        Some(text) => text.push_text(out, range),
        None => range.for_each(|i| push_token_text(out, i)),
    }
}

fn push_decimal(out: &mut impl BufMut, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[at..]);
}

/// Text of tokens `start..end`, concatenated.
pub(crate) fn token_text(start: u32, end: u32) -> String {
    let mut out = Vec::with_capacity((end.saturating_sub(start) as usize) * 8);
    push_tokens(&mut out, None, start..end);
    // Every piece is valid UTF-8, so this never falls back.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the `logprobs` value of tokens `range`: `null` unless asked
/// for in deterministic-text mode.
fn push_logprobs(out: &mut impl BufMut, text: Option<&Generated>, range: Range<u32>) {
    match text.and_then(|t| t.logprobs(range)) {
        Some(lp) => out.put_slice(lp.to_string().as_bytes()),
        None => out.put_slice(b"null"),
    }
}

/// Usage numbers of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens (reasoning included).
    pub completion: u64,
    /// Reasoning tokens among the completion tokens.
    pub reasoning: u64,
}

impl Usage {
    /// OpenAI's `usage` object.
    pub fn to_json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        })
    }
}

/// Builds the SSE events of one streamed response.
#[derive(Debug)]
pub(crate) struct EventWriter {
    endpoint: Endpoint,
    /// `chat.completion.chunk` or `text_completion`.
    object: &'static str,
    id: String,
    created: u64,
    model: String,
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[{"index":0,`
    head: Vec<u8>,
    /// Events are written here and split off; it is empty between events.
    buf: BytesMut,
    /// The deterministic text, in text mode.
    text: Option<Arc<Generated>>,
}

/// Appends `parts` to the empty `buf` and splits them off as one event.
fn event(buf: &mut BytesMut, parts: &[&[u8]]) -> Bytes {
    let len = parts.iter().map(|p| p.len()).sum();
    buf.reserve(len);
    for part in parts {
        buf.extend_from_slice(part);
    }
    buf.split().freeze()
}

impl EventWriter {
    /// A writer for response `id` created at `created` (Unix seconds).
    pub fn new(endpoint: Endpoint, id: String, created: u64, model: &str) -> Self {
        let object = match endpoint {
            Endpoint::Chat => "chat.completion.chunk",
            Endpoint::Completions => "text_completion",
        };
        let head = format!(
            "data: {{\"id\":{},\"object\":\"{object}\",\"created\":{created},\"model\":{},\"choices\":[{{\"index\":0,",
            Value::from(id.as_str()),
            Value::from(model),
        );
        EventWriter {
            endpoint,
            object,
            id,
            created,
            model: model.to_owned(),
            head: head.into_bytes(),
            buf: BytesMut::with_capacity(4096),
            text: None,
        }
    }

    /// Writes tokens (and log-probabilities, if asked for) from `text`.
    pub fn with_text(mut self, text: Option<Arc<Generated>>) -> Self {
        self.text = text;
        self
    }

    /// The chat role-only chunk (`delta.role = "assistant"`, no token).
    pub fn role(&mut self) -> Bytes {
        event(
            &mut self.buf,
            &[
                &self.head,
                br#""delta":{"role":"assistant","content":null},"finish_reason":null}]}"#,
                b"\n\n",
            ],
        )
    }

    /// The event carrying tokens `start..end`; tokens below `reasoning` go
    /// to `delta.reasoning_content`, the rest to `delta.content` (chat) or
    /// `text` (completions). A group straddling the boundary carries both.
    #[cfg(test)]
    pub fn tokens(&mut self, start: u32, end: u32, reasoning: u32) -> Bytes {
        self.append_tokens(start, end, reasoning);
        self.take_appended()
    }

    /// Appends the event of [`EventWriter::tokens`] to the pending buffer
    /// without splitting it off, so that several events can leave in one
    /// write ([`EventWriter::take_appended`]).
    pub fn append_tokens(&mut self, start: u32, end: u32, reasoning: u32) {
        let text = self.text.as_deref();
        let out = &mut self.buf;
        out.extend_from_slice(&self.head);
        match self.endpoint {
            Endpoint::Completions => {
                out.extend_from_slice(br#""text":""#);
                push_tokens(out, text, start..end);
                out.extend_from_slice(br#"","logprobs":"#);
                push_logprobs(out, text, start..end);
                out.extend_from_slice(br#","finish_reason":null}]}"#);
            }
            Endpoint::Chat => {
                out.extend_from_slice(br#""delta":{"#);
                let split = reasoning.clamp(start, end);
                if split > start {
                    out.extend_from_slice(br#""reasoning_content":""#);
                    push_tokens(out, text, start..split);
                    out.put_u8(b'"');
                }
                if end > split {
                    if split > start {
                        out.put_u8(b',');
                    }
                    out.extend_from_slice(br#""content":""#);
                    push_tokens(out, text, split..end);
                    out.put_u8(b'"');
                }
                out.put_u8(b'}');
                if let Some(lp) = text.and_then(|t| t.logprobs(start..end)) {
                    out.extend_from_slice(br#","logprobs":"#);
                    out.extend_from_slice(lp.to_string().as_bytes());
                }
                out.extend_from_slice(br#","finish_reason":null}]}"#);
            }
        }
        out.extend_from_slice(b"\n\n");
    }

    /// The events appended since the last call, as one buffer (empty if
    /// none).
    pub fn take_appended(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// An event whose payload is truncated, invalid JSON.
    pub fn malformed(&mut self) -> Bytes {
        let opening: &[u8] = match self.endpoint {
            Endpoint::Chat => br#"data: {"choices":[{"delta":{"content":"#,
            Endpoint::Completions => br#"data: {"choices":[{"text":"#,
        };
        event(
            &mut self.buf,
            &[opening, b"#tokbench-emulated-garbage#\n\n"],
        )
    }

    fn meta(&self, choices: Value) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("id".into(), Value::from(self.id.as_str()));
        map.insert("object".into(), Value::from(self.object));
        map.insert("created".into(), Value::from(self.created));
        map.insert("model".into(), Value::from(self.model.as_str()));
        map.insert("choices".into(), choices);
        map
    }

    fn json_event(&mut self, mut map: Map<String, Value>, timings: Option<Value>) -> Bytes {
        if let Some(timings) = timings {
            map.insert("timings".into(), timings);
        }
        let payload = Value::Object(map).to_string();
        event(&mut self.buf, &[b"data: ", payload.as_bytes(), b"\n\n"])
    }

    /// The empty finish chunk (`finish_reason: "length"`), with `timings`
    /// when given.
    pub fn finish(&mut self, timings: Option<Value>) -> Bytes {
        let choice = match self.endpoint {
            Endpoint::Chat => json!({"index": 0, "delta": {}, "finish_reason": "length"}),
            Endpoint::Completions => {
                json!({"index": 0, "text": "", "logprobs": null, "finish_reason": "length"})
            }
        };
        let map = self.meta(Value::Array(vec![choice]));
        self.json_event(map, timings)
    }

    /// The usage-only chunk (`choices: []`), with `timings` when given.
    pub fn usage(&mut self, usage: Usage, timings: Option<Value>) -> Bytes {
        let mut map = self.meta(Value::Array(Vec::new()));
        map.insert("usage".into(), usage.to_json());
        self.json_event(map, timings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(event: &Bytes) -> Value {
        let text = std::str::from_utf8(event).unwrap();
        let json = text
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn token_texts_include_multibyte() {
        assert_eq!(token_text(0, 3), " tok0 tok1 tok2");
        assert_eq!(token_text(6, 7), " é");
        assert_eq!(token_text(13, 14), "日本");
        assert_eq!(token_text(20, 21), " 🦀");
        assert_eq!(token_text(1234, 1235), " tok1234");
    }

    #[test]
    fn chat_events_are_valid_json() {
        let mut w = EventWriter::new(Endpoint::Chat, "chatcmpl-1".into(), 42, "m\"x");
        let role = payload(&w.role());
        assert_eq!(role["model"], "m\"x");
        assert_eq!(role["object"], "chat.completion.chunk");
        assert_eq!(role["choices"][0]["delta"]["role"], "assistant");
        assert!(role["choices"][0]["delta"]["content"].is_null());
        let mixed = payload(&w.tokens(1, 4, 2));
        let delta = &mixed["choices"][0]["delta"];
        assert_eq!(delta["reasoning_content"], " tok1");
        assert_eq!(delta["content"], " tok2 tok3");
        let reasoning = payload(&w.tokens(0, 1, 2));
        assert!(reasoning["choices"][0]["delta"].get("content").is_none());
        let finish = payload(&w.finish(None));
        assert_eq!(finish["choices"][0]["finish_reason"], "length");
        let usage = Usage {
            prompt: 3,
            completion: 4,
            reasoning: 2,
        };
        let u = payload(&w.usage(usage, Some(json!({"prompt_n": 3}))));
        assert_eq!(u["choices"], json!([]));
        assert_eq!(u["usage"]["total_tokens"], 7);
        assert_eq!(
            u["usage"]["completion_tokens_details"]["reasoning_tokens"],
            2
        );
        assert_eq!(u["timings"]["prompt_n"], 3);
    }

    #[test]
    fn completion_events_and_malformed() {
        let mut w = EventWriter::new(Endpoint::Completions, "cmpl-1".into(), 1, "m");
        let ev = payload(&w.tokens(5, 7, 0));
        assert_eq!(ev["object"], "text_completion");
        assert_eq!(ev["choices"][0]["text"], " tok5 é");
        let bad = w.malformed();
        let text = std::str::from_utf8(&bad).unwrap();
        assert!(text.starts_with("data: {") && text.ends_with("\n\n"));
        let json = text.trim_start_matches("data: ");
        assert!(serde_json::from_str::<Value>(json).is_err());
    }
}
