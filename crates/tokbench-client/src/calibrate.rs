//! Prompt-length calibration: how many synthesised words make one token for
//! the server's tokenizer.
//!
//! Exact counts come from the server's `/tokenize` where it exists: llama.cpp
//! (`{"content": …}` → `{"tokens": [...]}`) and vLLM (`{"model": …,
//! "prompt": …}` → `{"count": N}`). Elsewhere the caller falls back to the
//! `usage.prompt_tokens` of a probe request ([`words_per_token_from_usage`]).

use serde_json::json;

use crate::client::Client;
use crate::prompt::RequestTemplate;

/// Words in the calibration text.
const CALIBRATION_WORDS: u64 = 400;

/// Counts the tokens of `text` with the server's `/tokenize`, trying the
/// llama.cpp form, then the vLLM form. `None` when neither is served.
pub async fn tokenize_count(client: &Client, model: &str, text: &str) -> Option<u64> {
    if let Ok(v) = client
        .post_json("/tokenize", &json!({"content": text, "add_special": false}))
        .await
    {
        if let Some(tokens) = v.get("tokens").and_then(|t| t.as_array()) {
            return Some(tokens.len() as u64);
        }
        if let Some(n) = v.get("count").and_then(serde_json::Value::as_u64) {
            return Some(n);
        }
    }
    let v = client
        .post_json(
            "/tokenize",
            &json!({"model": model, "prompt": text, "add_special_tokens": false}),
        )
        .await
        .ok()?;
    v.get("count")
        .and_then(serde_json::Value::as_u64)
        .or_else(|| {
            v.get("tokens")
                .and_then(|t| t.as_array())
                .map(|t| t.len() as u64)
        })
}

/// Tokens of the chat prompt that every request with the system message
/// `system` shares: two chats with different user messages are rendered by
/// the server's chat template (llama.cpp's `/apply-template`) and tokenized
/// by it with special tokens (`/tokenize`, `add_special`, `parse_special`),
/// and the length of their common token prefix is returned. `None` when the
/// server lacks either endpoint.
pub async fn chat_prefix_tokens(client: &Client, system: &str) -> Option<u64> {
    let a = rendered_tokens(client, system, "alpha 1 first user message").await?;
    let b = rendered_tokens(client, system, "Zulu 9 other user message").await?;
    Some(a.iter().zip(&b).take_while(|(x, y)| x == y).count() as u64)
}

/// The server's tokens of a chat of `system` and `user`, as its chat
/// template renders it.
async fn rendered_tokens(
    client: &Client,
    system: &str,
    user: &str,
) -> Option<Vec<serde_json::Value>> {
    let messages = json!({"messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]});
    let rendered = client.post_json("/apply-template", &messages).await.ok()?;
    let prompt = rendered.get("prompt")?.as_str()?;
    let body = json!({"content": prompt, "add_special": true, "parse_special": true});
    let v = client.post_json("/tokenize", &body).await.ok()?;
    v.get("tokens")?.as_array().cloned()
}

/// Calibration result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Synthesised words per token.
    pub words_per_token: f64,
    /// How it was obtained.
    pub method: CalibrationMethod,
}

/// How a calibration was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalibrationMethod {
    /// The server's `/tokenize`.
    Tokenize,
    /// A probe request's `usage.prompt_tokens`.
    Usage,
}

/// Words per token from the server's tokenizer, `None` without `/tokenize`.
pub async fn calibrate_with_tokenizer(client: &Client, model: &str) -> Option<Calibration> {
    let template = RequestTemplate::chat(model, CALIBRATION_WORDS, 1);
    let text = template.prompt_text(u64::MAX);
    let tokens = tokenize_count(client, model, &text).await?;
    (tokens > 0).then(|| Calibration {
        words_per_token: CALIBRATION_WORDS as f64 / tokens as f64,
        method: CalibrationMethod::Tokenize,
    })
}

/// Words per token from a probe request of `words` words whose server
/// reported `prompt_tokens` (chat-template overhead included, so this
/// slightly underestimates words per token for short prompts).
pub fn words_per_token_from_usage(words: u64, prompt_tokens: u64) -> Option<Calibration> {
    (prompt_tokens > 0 && words > 0).then(|| Calibration {
        words_per_token: words as f64 / prompt_tokens as f64,
        method: CalibrationMethod::Usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_fallback() {
        let c = words_per_token_from_usage(300, 400).unwrap();
        assert!((c.words_per_token - 0.75).abs() < 1e-12);
        assert_eq!(c.method, CalibrationMethod::Usage);
        assert!(words_per_token_from_usage(300, 0).is_none());
    }
}
