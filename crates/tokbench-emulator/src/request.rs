//! Parsing of `/v1/chat/completions` and `/v1/completions` request bodies.
//!
//! Only the fields that shape the response are read; everything else
//! (temperature, tools, …) is accepted and ignored.
//!
//! Prompt key (deterministic text): [`crate::text`]'s hash of the prompt
//! written out as bytes: for chat, each message's role, `0x1F`, the text of
//! its content (a string, or its text parts one after another), `0x1E`; for
//! completions, the prompt string, or each string of a list followed by
//! `0x1E`, or each token id as 8 little-endian bytes (a list of lists: each
//! list followed by `0x1E`).
//!
//! Thinking is switched off ([`ParsedRequest::thinking_off`]) by
//! `chat_template_kwargs.enable_thinking: false` or `.thinking: false`,
//! `reasoning_effort: "none"`, or `/no_think` in a system or user message
//! (chat only; the switches tokbench's `--reasoning off` sends).
//!
//! Log-probabilities are asked for by chat `"logprobs": true` (top-k from
//! `"top_logprobs"`, default 0), completions `"logprobs": k` (an integer;
//! `true` is read as chat's), or `"n_probs": k > 0` (llama.cpp) on either.

use serde::Deserialize;
use serde_json::Value;

use crate::text::hash;
use crate::tokenizer::count_tokens;

/// Which completion endpoint a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/completions`.
    Completions,
}

/// What the emulator needs to know about a completion request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedRequest {
    /// The endpoint it came in on.
    pub endpoint: Endpoint,
    /// Prompt length in emulator tokens (words).
    pub prompt_tokens: u64,
    /// Requested output length, if any: `max_completion_tokens`, then
    /// `max_tokens`, then a non-negative `n_predict`.
    pub max_tokens: Option<u32>,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// Hash of the prompt (the module docs say of what).
    pub prompt_key: u64,
    /// Top-k of the log-probabilities asked for (`None`: not asked for).
    pub logprobs: Option<u32>,
    /// The request asks the model not to think (module docs).
    pub thinking_off: bool,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct Common {
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    n_predict: Option<i64>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    logprobs: Option<Value>,
    #[serde(default)]
    top_logprobs: Option<u32>,
    #[serde(default)]
    n_probs: Option<u32>,
    #[serde(default)]
    chat_template_kwargs: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    reasoning_effort: Option<String>,
}

#[derive(Deserialize)]
struct ChatBody {
    messages: Vec<Message>,
    #[serde(flatten)]
    common: Common,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct CompletionBody {
    prompt: Prompt,
    #[serde(flatten)]
    common: Common,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Prompt {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u64>),
    TokenLists(Vec<Vec<u64>>),
}

impl Content {
    fn texts(&self) -> Vec<&str> {
        match self {
            Content::Text(text) => vec![text.as_str()],
            Content::Parts(parts) => parts
                .iter()
                .filter(|p| p.kind.as_deref().is_none_or(|k| k == "text"))
                .filter_map(|p| p.text.as_deref())
                .collect(),
        }
    }

    fn tokens(&self) -> u64 {
        match self {
            Content::Text(text) => count_tokens(text),
            Content::Parts(parts) => parts
                .iter()
                .filter(|p| p.kind.as_deref().is_none_or(|k| k == "text"))
                .filter_map(|p| p.text.as_deref())
                .map(count_tokens)
                .sum(),
        }
    }
}

impl Prompt {
    fn tokens(&self) -> u64 {
        match self {
            Prompt::Text(text) => count_tokens(text),
            Prompt::Texts(texts) => texts.iter().map(|t| count_tokens(t)).sum(),
            Prompt::Tokens(ids) => ids.len() as u64,
            Prompt::TokenLists(lists) => lists.iter().map(|l| l.len() as u64).sum(),
        }
    }

    fn key(&self) -> u64 {
        let mut bytes = Vec::new();
        let ids = |bytes: &mut Vec<u8>, ids: &[u64]| {
            ids.iter()
                .for_each(|id| bytes.extend_from_slice(&id.to_le_bytes()));
        };
        match self {
            Prompt::Text(text) => bytes.extend_from_slice(text.as_bytes()),
            Prompt::Texts(texts) => texts.iter().for_each(|t| {
                bytes.extend_from_slice(t.as_bytes());
                bytes.push(0x1E);
            }),
            Prompt::Tokens(list) => ids(&mut bytes, list),
            Prompt::TokenLists(lists) => lists.iter().for_each(|l| {
                ids(&mut bytes, l);
                bytes.push(0x1E);
            }),
        }
        hash(&[&bytes])
    }
}

fn chat_key(messages: &[Message]) -> u64 {
    let mut bytes = Vec::new();
    for m in messages {
        bytes.extend_from_slice(m.role.as_deref().unwrap_or_default().as_bytes());
        bytes.push(0x1F);
        for text in m.content.iter().flat_map(Content::texts) {
            bytes.extend_from_slice(text.as_bytes());
        }
        bytes.push(0x1E);
    }
    hash(&[&bytes])
}

impl Common {
    /// A body field that switches thinking off (module docs).
    fn thinking_off(&self) -> bool {
        let kwarg_off = |key: &str| {
            self.chat_template_kwargs
                .as_ref()
                .and_then(|k| k.get(key))
                .is_some_and(|v| v == &Value::Bool(false))
        };
        kwarg_off("enable_thinking")
            || kwarg_off("thinking")
            || self.reasoning_effort.as_deref() == Some("none")
    }

    fn top_k(&self) -> Option<u32> {
        let asked = match &self.logprobs {
            Some(Value::Bool(true)) => Some(self.top_logprobs.unwrap_or(0)),
            Some(Value::Number(n)) => n.as_u64().map(|k| u32::try_from(k).unwrap_or(u32::MAX)),
            _ => None,
        };
        asked.or(self.n_probs.filter(|&n| n > 0))
    }

    fn into_parsed(self, endpoint: Endpoint, prompt_tokens: u64, prompt_key: u64) -> ParsedRequest {
        let n_predict = self.n_predict.and_then(|n| u32::try_from(n).ok());
        let logprobs = self.top_k();
        let thinking_off = self.thinking_off();
        ParsedRequest {
            endpoint,
            prompt_tokens,
            max_tokens: self.max_completion_tokens.or(self.max_tokens).or(n_predict),
            stream: self.stream.unwrap_or(false),
            include_usage: self
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
            prompt_key,
            logprobs,
            thinking_off,
        }
    }
}

/// `/no_think` in a system or user message.
fn no_think_marker(messages: &[Message]) -> bool {
    messages
        .iter()
        .filter(|m| matches!(m.role.as_deref(), Some("system" | "user")))
        .flat_map(|m| m.content.iter().flat_map(Content::texts))
        .any(|t| t.contains("/no_think"))
}

/// Parses a request body for `endpoint`.
///
/// # Errors
/// The serde error's message when the body is not JSON or lacks the
/// endpoint's required field (`messages` for chat, `prompt` for
/// completions), or a field has the wrong type.
pub(crate) fn parse(endpoint: Endpoint, body: &[u8]) -> Result<ParsedRequest, String> {
    match endpoint {
        Endpoint::Chat => {
            let chat: ChatBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            let prompt = chat
                .messages
                .iter()
                .filter_map(|m| m.content.as_ref())
                .map(Content::tokens)
                .sum();
            let key = chat_key(&chat.messages);
            let marker = no_think_marker(&chat.messages);
            let mut parsed = chat.common.into_parsed(endpoint, prompt, key);
            parsed.thinking_off |= marker;
            Ok(parsed)
        }
        Endpoint::Completions => {
            let cmpl: CompletionBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            let prompt = cmpl.prompt.tokens();
            let key = cmpl.prompt.key();
            Ok(cmpl.common.into_parsed(endpoint, prompt, key))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_counts_words_in_strings_and_text_parts() {
        let body = br#"{"model":"x","messages":[
            {"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"one two three"},
                {"type":"image_url","image_url":{"url":"data:..."}}]},
            {"role":"assistant","content":null}],
            "max_tokens":7,"stream":true,"stream_options":{"include_usage":true}}"#;
        let req = parse(Endpoint::Chat, body).unwrap();
        assert_eq!(req.prompt_tokens, 5);
        assert_eq!(req.max_tokens, Some(7));
        assert!(req.stream && req.include_usage);
    }

    #[test]
    fn output_length_precedence() {
        let body = br#"{"messages":[],"max_tokens":7,"max_completion_tokens":9}"#;
        assert_eq!(parse(Endpoint::Chat, body).unwrap().max_tokens, Some(9));
        let body = br#"{"messages":[],"n_predict":11}"#;
        assert_eq!(parse(Endpoint::Chat, body).unwrap().max_tokens, Some(11));
        let body = br#"{"messages":[],"n_predict":-1}"#;
        let req = parse(Endpoint::Chat, body).unwrap();
        assert_eq!(req.max_tokens, None);
        assert!(!req.stream && !req.include_usage);
    }

    #[test]
    fn completion_prompt_forms() {
        let cases: [(&[u8], u64); 4] = [
            (br#"{"prompt":"a b c"}"#, 3),
            (br#"{"prompt":["a b","c"]}"#, 3),
            (br#"{"prompt":[1,2,3,4]}"#, 4),
            (br#"{"prompt":[[1,2],[3]]}"#, 3),
        ];
        for (body, expected) in cases {
            let req = parse(Endpoint::Completions, body).unwrap();
            assert_eq!(req.prompt_tokens, expected);
            assert_eq!(req.endpoint, Endpoint::Completions);
        }
    }

    #[test]
    fn logprob_requests_and_prompt_keys() {
        let top = |e, b: &[u8]| parse(e, b).unwrap().logprobs;
        let chat = Endpoint::Chat;
        assert_eq!(top(chat, br#"{"messages":[]}"#), None);
        assert_eq!(
            top(
                chat,
                br#"{"messages":[],"logprobs":false,"top_logprobs":3}"#
            ),
            None
        );
        assert_eq!(top(chat, br#"{"messages":[],"logprobs":true}"#), Some(0));
        assert_eq!(
            top(chat, br#"{"messages":[],"logprobs":true,"top_logprobs":3}"#),
            Some(3)
        );
        assert_eq!(top(chat, br#"{"messages":[],"n_probs":4}"#), Some(4));
        let cmpl = Endpoint::Completions;
        assert_eq!(top(cmpl, br#"{"prompt":"a","logprobs":2}"#), Some(2));
        assert_eq!(top(cmpl, br#"{"prompt":"a","logprobs":null}"#), None);
        let key = |e, b: &[u8]| parse(e, b).unwrap().prompt_key;
        let a = key(chat, br#"{"messages":[{"role":"user","content":"a b"}]}"#);
        let parts = br#"{"messages":[{"role":"user","content":[{"type":"text","text":"a b"}]}]}"#;
        assert_eq!(a, key(chat, parts));
        assert_ne!(
            a,
            key(chat, br#"{"messages":[{"role":"system","content":"a b"}]}"#)
        );
        assert_ne!(
            key(cmpl, br#"{"prompt":"a b"}"#),
            key(cmpl, br#"{"prompt":"a c"}"#)
        );
    }

    #[test]
    fn thinking_switches_are_read() {
        let off = |b: &[u8]| parse(Endpoint::Chat, b).unwrap().thinking_off;
        assert!(!off(br#"{"messages":[]}"#));
        assert!(off(
            br#"{"messages":[],"chat_template_kwargs":{"enable_thinking":false}}"#
        ));
        assert!(!off(
            br#"{"messages":[],"chat_template_kwargs":{"enable_thinking":true}}"#
        ));
        assert!(off(
            br#"{"messages":[],"chat_template_kwargs":{"thinking":false}}"#
        ));
        assert!(off(br#"{"messages":[],"reasoning_effort":"none"}"#));
        assert!(!off(br#"{"messages":[],"reasoning_effort":"low"}"#));
        assert!(off(
            br#"{"messages":[{"role":"system","content":"hdr\n/no_think"}]}"#
        ));
        assert!(!off(
            br#"{"messages":[{"role":"assistant","content":"/no_think"}]}"#
        ));
    }

    #[test]
    fn rejects_bad_bodies() {
        assert!(parse(Endpoint::Chat, b"{not json").is_err());
        assert!(parse(Endpoint::Chat, br#"{"prompt":"x"}"#).is_err());
        assert!(parse(Endpoint::Completions, br#"{"messages":[]}"#).is_err());
        assert!(parse(Endpoint::Chat, br#"{"messages":[],"max_tokens":"x"}"#).is_err());
    }
}
