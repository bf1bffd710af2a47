//! Parsing of `/v1/chat/completions` and `/v1/completions` request bodies.
//!
//! Only the fields that shape the response are read; everything else
//! (temperature, tools, …) is accepted and ignored.

use serde::Deserialize;

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
}

impl Common {
    fn into_parsed(self, endpoint: Endpoint, prompt_tokens: u64) -> ParsedRequest {
        let n_predict = self.n_predict.and_then(|n| u32::try_from(n).ok());
        ParsedRequest {
            endpoint,
            prompt_tokens,
            max_tokens: self.max_completion_tokens.or(self.max_tokens).or(n_predict),
            stream: self.stream.unwrap_or(false),
            include_usage: self
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
        }
    }
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
            Ok(chat.common.into_parsed(endpoint, prompt))
        }
        Endpoint::Completions => {
            let cmpl: CompletionBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            let prompt = cmpl.prompt.tokens();
            Ok(cmpl.common.into_parsed(endpoint, prompt))
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
    fn rejects_bad_bodies() {
        assert!(parse(Endpoint::Chat, b"{not json").is_err());
        assert!(parse(Endpoint::Chat, br#"{"prompt":"x"}"#).is_err());
        assert!(parse(Endpoint::Completions, br#"{"messages":[]}"#).is_err());
        assert!(parse(Endpoint::Chat, br#"{"messages":[],"max_tokens":"x"}"#).is_err());
    }
}
