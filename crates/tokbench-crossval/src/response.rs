//! Reading a non-streaming OpenAI-style response into one side's
//! [`Output`](crate::Output) steps.
//!
//! Where the tokens come from, in order of preference:
//!
//! 1. **`logprobs.content`**: one entry per generated token, `{"id"?,
//!    "token", "logprob", "top_logprobs": [{"id"?, "token", "logprob"}…]}`.
//!    OpenAI's chat format; llama.cpp sends it on both
//!    `/v1/chat/completions` and `/v1/completions` and adds `id`, the
//!    token's vocabulary index.
//! 2. **Legacy completions logprobs**: `{"tokens": [text…],
//!    "token_logprobs": [lp…], "top_logprobs": [{text: lp}…]}` (OpenAI's
//!    `/v1/completions`, vLLM). No ids.
//! 3. **Text only**: [`ParsedResponse::steps`] is `None`; the caller
//!    tokenizes the text through the server's `/tokenize`, or compares
//!    characters.
//!
//! A log-probability of `null` (how llama.cpp writes `-inf`) is read as
//! `-inf` and ignored by every statistic.

use serde_json::Value;

use crate::error::CrossvalError;
use crate::output::{TokenStep, TopCandidate};

/// What a response says about one prompt's output.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResponse {
    /// Per-token steps, when the response carried log-probabilities.
    pub steps: Option<Vec<TokenStep>>,
    /// The generated text (`reasoning_content` first, when the server
    /// splits reasoning out of the chat message).
    pub text: String,
    /// `usage.prompt_tokens`, when sent.
    pub prompt_tokens: Option<u64>,
    /// `usage.completion_tokens`, when sent.
    pub completion_tokens: Option<u64>,
    /// `choices[0].finish_reason`, when sent.
    pub finish_reason: Option<String>,
}

impl ParsedResponse {
    /// Whether any step carries top-k candidates.
    pub fn has_top_logprobs(&self) -> bool {
        self.steps
            .as_ref()
            .is_some_and(|s| s.iter().any(|t| !t.top.is_empty()))
    }
}

/// Reads a response of `/v1/chat/completions` (`chat`) or
/// `/v1/completions`.
///
/// # Errors
///
/// [`CrossvalError::Response`] when there is no `choices[0]`, no text in
/// it, or a `logprobs` object of neither known form.
pub fn parse_response(body: &Value, chat: bool) -> Result<ParsedResponse, CrossvalError> {
    let choice = body
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| bad("no choices[0] in the response"))?;
    let text = if chat {
        let msg = &choice["message"];
        let reasoning = msg["reasoning_content"].as_str().unwrap_or_default();
        let content = msg["content"].as_str().unwrap_or_default();
        if msg.get("content").is_none() && reasoning.is_empty() {
            return Err(bad("no choices[0].message.content in the response"));
        }
        format!("{reasoning}{content}")
    } else {
        choice["text"]
            .as_str()
            .ok_or_else(|| bad("no choices[0].text in the response"))?
            .to_owned()
    };
    let steps = match choice.get("logprobs") {
        None | Some(Value::Null) => None,
        Some(lp) => Some(parse_logprobs(lp)?),
    };
    Ok(ParsedResponse {
        steps,
        text,
        prompt_tokens: body["usage"]["prompt_tokens"].as_u64(),
        completion_tokens: body["usage"]["completion_tokens"].as_u64(),
        finish_reason: choice["finish_reason"].as_str().map(str::to_owned),
    })
}

fn bad(message: &str) -> CrossvalError {
    CrossvalError::Response(message.to_owned())
}

/// Either form of a `logprobs` object.
fn parse_logprobs(lp: &Value) -> Result<Vec<TokenStep>, CrossvalError> {
    if let Some(content) = lp.get("content").and_then(Value::as_array) {
        return content.iter().map(content_entry).collect();
    }
    if let Some(tokens) = lp.get("tokens").and_then(Value::as_array) {
        return legacy(lp, tokens);
    }
    Err(bad(
        "logprobs has neither `content` nor `tokens` (unknown format)",
    ))
}

/// A log-probability value: a number, or `null` for `-inf`.
fn logprob(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NEG_INFINITY)
}

fn token_id(v: &Value) -> Option<u32> {
    v.get("id")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
}

fn content_entry(e: &Value) -> Result<TokenStep, CrossvalError> {
    let text = e["token"]
        .as_str()
        .ok_or_else(|| bad("a logprobs.content entry has no `token`"))?;
    let top = e["top_logprobs"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| {
                    Some(TopCandidate {
                        id: token_id(c),
                        text: c["token"].as_str()?.to_owned(),
                        logprob: logprob(&c["logprob"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TokenStep {
        id: token_id(e),
        text: text.to_owned(),
        logprob: e.get("logprob").map(logprob),
        top,
    })
}

fn legacy(lp: &Value, tokens: &[Value]) -> Result<Vec<TokenStep>, CrossvalError> {
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let text = t
                .as_str()
                .ok_or_else(|| bad("logprobs.tokens holds a non-string"))?;
            let top = lp["top_logprobs"][i]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| TopCandidate {
                            id: None,
                            text: k.clone(),
                            logprob: logprob(v),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(TokenStep {
                id: None,
                text: text.to_owned(),
                logprob: lp["token_logprobs"].get(i).map(logprob),
                top,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_content_entries_keep_ids_and_top_k() {
        let body = json!({
            "choices": [{"message": {"role": "assistant", "content": "1."},
                "finish_reason": "length",
                "logprobs": {"content": [
                    {"id": 33, "token": "1", "logprob": -2.12, "top_logprobs": [
                        {"id": 33, "token": "1", "logprob": -2.12},
                        {"id": 57, "token": "I", "logprob": null}]},
                    {"id": 30, "token": ".", "logprob": -0.42, "top_logprobs": []}]}}],
            "usage": {"prompt_tokens": 31, "completion_tokens": 2}
        });
        let r = parse_response(&body, true).unwrap();
        let steps = r.steps.as_ref().unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[0].id, steps[0].text.as_str()), (Some(33), "1"));
        assert_eq!(steps[0].top[1].id, Some(57));
        assert_eq!(steps[0].top[1].logprob, f64::NEG_INFINITY);
        assert_eq!(steps[1].logprob, Some(-0.42));
        assert!(r.has_top_logprobs());
        assert_eq!(
            (r.text.as_str(), r.prompt_tokens, r.completion_tokens),
            ("1.", Some(31), Some(2))
        );
        assert_eq!(r.finish_reason.as_deref(), Some("length"));
    }

    #[test]
    fn legacy_completions_logprobs_have_no_ids() {
        let body = json!({"choices": [{"text": " fox jumps",
            "logprobs": {"tokens": [" fox", " jumps"], "token_logprobs": [-0.5, -1.0],
                "top_logprobs": [{" fox": -0.5, " cat": -1.5}, {" jumps": -1.0}],
                "text_offset": [0, 4]}}]});
        let r = parse_response(&body, false).unwrap();
        let steps = r.steps.unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].id, None);
        assert_eq!(steps[0].top.len(), 2);
        assert!(steps[0]
            .top
            .iter()
            .any(|c| c.text == " cat" && c.logprob == -1.5));
        assert_eq!(steps[1].logprob, Some(-1.0));
    }

    #[test]
    fn text_only_responses_have_no_steps_and_reasoning_comes_first() {
        let body =
            json!({"choices": [{"message": {"content": "answer", "reasoning_content": "think "}}]});
        let r = parse_response(&body, true).unwrap();
        assert_eq!(r.steps, None);
        assert_eq!(r.text, "think answer");
        assert!(!r.has_top_logprobs());
    }

    #[test]
    fn malformed_responses_are_errors() {
        for (body, chat, needle) in [
            (json!({}), true, "choices[0]"),
            (json!({"choices": [{"message": {}}]}), true, "content"),
            (json!({"choices": [{}]}), false, "text"),
            (
                json!({"choices": [{"text": "x", "logprobs": {"odd": 1}}]}),
                false,
                "unknown format",
            ),
        ] {
            let err = parse_response(&body, chat).unwrap_err();
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
    }
}
