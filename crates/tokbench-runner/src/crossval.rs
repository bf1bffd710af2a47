//! Collecting one side's greedy outputs for `tokbench crossval`: the
//! requests (temperature 0, `top_k` 1 where accepted, a fixed seed, prompt
//! cache off, log-probabilities with token ids and top-k), the tokenization
//! pre-check facts, and the fallbacks when a server sends no
//! log-probabilities. Comparing sides is `tokbench-crossval`'s; the rules
//! are in `docs/methodology.md#crossval`.
//!
//! Endpoints: a chat prompt goes to `/v1/chat/completions` with
//! `logprobs: true, top_logprobs: k`; a raw-text prompt to
//! `/v1/completions` with `logprobs: k`. llama.cpp answers both with
//! `logprobs.content` entries carrying token ids. The pre-check renders a
//! chat through llama.cpp's `POST /apply-template` and tokenizes the
//! rendering (or the raw text) through `POST /tokenize` with
//! `add_special: true`, as the server does for a request.

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokbench_crossval::{parse_response, Output, Prompt, TokenStep};
use tokbench_record::TokenSource;

use crate::target::{CacheControl, Target};
use crate::RunError;

/// Backends known to accept a `top_k` request field.
const ACCEPTS_TOP_K: [&str; 4] = ["llama.cpp", "tokbench-emulator", "vLLM", "SGLang"];

/// The request settings of a crossval side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GreedySettings {
    /// `max_tokens` per prompt.
    pub tokens: u64,
    /// `seed` sent with every request.
    pub seed: u64,
    /// Top-k log-probabilities asked for per position (0 = none).
    pub top_logprobs: u32,
    /// Requests in flight at once (1 = one prompt after another).
    pub concurrency: usize,
}

/// One run of a side over a prompt set.
#[derive(Debug, Clone, PartialEq)]
pub struct SideRun {
    /// One output per answered prompt, in prompt order (all prompts
    /// unless [`SideRun::failure`]).
    pub outputs: Vec<Output>,
    /// How the tokens were identified (the weakest source any prompt
    /// needed).
    pub token_source: TokenSource,
    /// Whether every output with tokens carried top-k candidates.
    pub top_logprobs: bool,
    /// `usage.prompt_tokens` per prompt, when sent.
    pub usage_prompt_tokens: Vec<Option<u64>>,
    /// Why the run ended before every prompt was answered (the failed
    /// request's prompt and error); `None` when all were.
    pub failure: Option<String>,
    /// Prompts whose token count disagrees with the server's own
    /// `usage.completion_tokens`, one line each (empty when all agree).
    pub count_mismatches: Vec<String>,
}

/// Whether requests to `target` carry `top_k: 1` (`Some(1)`) or no
/// `top_k` (`None`, a server that may reject unknown fields).
pub fn top_k_sent(target: &Target) -> Option<u64> {
    top_k_sent_name(&target.backend.name)
}

/// [`top_k_sent`] by the record's backend name.
pub fn top_k_sent_name(backend: &str) -> Option<u64> {
    ACCEPTS_TOP_K.contains(&backend).then_some(1)
}

/// Sends every prompt to `target` greedily, `settings.concurrency` at a
/// time, and reads the outputs; with `precheck` also renders and tokenizes
/// each prompt (facts kept in [`Output::prompt_token_ids`] and
/// [`Output::rendered_prompt`]; a server without those endpoints leaves
/// them `None`).
///
/// Never fails: the first request that fails, or whose response cannot be
/// read, ends the run, and the outputs answered before it (in prompt
/// order) are kept with the error in [`SideRun::failure`], so a backend
/// that dies keeps its completed work.
pub async fn collect_side(
    target: &Target,
    prompts: &[Prompt],
    settings: &GreedySettings,
    precheck: bool,
) -> SideRun {
    let mut answers = stream::iter(prompts)
        .map(|p| one_prompt(target, p, settings, precheck))
        .buffered(settings.concurrency.max(1));
    let mut done: Vec<Answer> = Vec::with_capacity(prompts.len());
    let mut failure = None;
    while let Some(answer) = answers.next().await {
        match answer {
            Ok(a) => done.push(a),
            Err(e) => {
                let prompt = prompts.get(done.len()).map_or("?", |p| p.id.as_str());
                failure = Some(format!("prompt {prompt}: {e}"));
                break;
            }
        }
    }
    let token_source = done
        .iter()
        .map(|d| d.source)
        .max_by_key(|s| match s {
            TokenSource::Logprobs => 0,
            TokenSource::Tokenize => 1,
            TokenSource::Characters => 2,
        })
        .unwrap_or(TokenSource::Logprobs);
    let top_logprobs = done.iter().all(|d| d.has_top || d.output.steps.is_empty());
    SideRun {
        count_mismatches: done
            .iter()
            .filter_map(|d| d.count_mismatch.clone())
            .collect(),
        usage_prompt_tokens: done.iter().map(|d| d.usage_prompt_tokens).collect(),
        outputs: done.into_iter().map(|d| d.output).collect(),
        token_source,
        top_logprobs,
        failure,
    }
}

/// One prompt's answer.
struct Answer {
    output: Output,
    source: TokenSource,
    has_top: bool,
    usage_prompt_tokens: Option<u64>,
    count_mismatch: Option<String>,
}

/// The request body of one prompt (see the [module docs](self)).
pub fn request_body(target: &Target, prompt: &Prompt, settings: &GreedySettings) -> Value {
    let k = settings.top_logprobs;
    let mut body = match &prompt.messages {
        Some(messages) => {
            let mut b = json!({"messages": messages});
            if k > 0 {
                b["logprobs"] = json!(true);
                b["top_logprobs"] = json!(k);
            }
            b
        }
        None => {
            let mut b = json!({"prompt": prompt.text.clone().unwrap_or_default()});
            if k > 0 {
                b["logprobs"] = json!(k);
            }
            b
        }
    };
    body["model"] = json!(target.model_id);
    body["max_tokens"] = json!(settings.tokens);
    body["temperature"] = json!(0.0);
    body["seed"] = json!(settings.seed);
    body["stream"] = json!(false);
    if let Some(top_k) = top_k_sent(target) {
        body["top_k"] = json!(top_k);
    }
    if target.cache_control == CacheControl::RequestField {
        body["cache_prompt"] = json!(false);
    }
    body
}

async fn one_prompt(
    target: &Target,
    prompt: &Prompt,
    settings: &GreedySettings,
    precheck: bool,
) -> Result<Answer, RunError> {
    let chat = prompt.messages.is_some();
    let path = if chat {
        "/v1/chat/completions"
    } else {
        "/v1/completions"
    };
    let answer = target
        .client
        .post_json(path, &request_body(target, prompt, settings))
        .await?;
    let parsed = parse_response(&answer, chat)?;
    let has_top = parsed.has_top_logprobs();
    let (steps, source) = match parsed.steps {
        Some(steps) => (steps, TokenSource::Logprobs),
        None => tokens_of_text(target, &parsed.text).await,
    };
    // The outside account: the server's own count of what it generated
    // (characters are not tokens, so that fallback is not checked).
    let count_mismatch = parsed
        .completion_tokens
        .filter(|&n| source != TokenSource::Characters && n != steps.len() as u64)
        .map(|n| {
            format!(
                "prompt {}: {} tokens read, the server's usage.completion_tokens says {n}",
                prompt.id,
                steps.len()
            )
        });
    let mut out = Output::new(prompt.id.clone(), steps);
    out.text = Some(parsed.text);
    if precheck {
        out.rendered_prompt = render(target, prompt).await;
        let input = out.rendered_prompt.clone().or_else(|| prompt.text.clone());
        if let Some(input) = input {
            out.prompt_token_ids = tokenize(target, &input, true)
                .await
                .map(|t| t.into_iter().map(|(id, _)| id).collect());
        }
    }
    Ok(Answer {
        output: out,
        source,
        has_top,
        usage_prompt_tokens: parsed.prompt_tokens,
        count_mismatch,
    })
}

/// Steps of a text without log-probabilities: its tokens through
/// `/tokenize`, else its characters.
async fn tokens_of_text(target: &Target, text: &str) -> (Vec<TokenStep>, TokenSource) {
    let step = |id: Option<u32>, text: String| TokenStep {
        id,
        text,
        logprob: None,
        top: Vec::new(),
    };
    match tokenize(target, text, false).await {
        Some(tokens) => (
            tokens
                .into_iter()
                .map(|(id, p)| step(Some(id), p))
                .collect(),
            TokenSource::Tokenize,
        ),
        None => (
            text.chars().map(|c| step(None, c.to_string())).collect(),
            TokenSource::Characters,
        ),
    }
}

/// The chat template's rendering of a chat prompt (`/apply-template`);
/// `None` for raw text or a server without the endpoint.
async fn render(target: &Target, prompt: &Prompt) -> Option<String> {
    let messages = prompt.messages.as_ref()?;
    let v = target
        .client
        .post_json("/apply-template", &json!({"messages": messages}))
        .await
        .ok()?;
    v["prompt"].as_str().map(str::to_owned)
}

/// `(id, piece)` of each token of `text` through `/tokenize`; `None` when
/// the server has no such endpoint or answers otherwise.
async fn tokenize(target: &Target, text: &str, add_special: bool) -> Option<Vec<(u32, String)>> {
    let body = json!({"content": text, "add_special": add_special, "with_pieces": true});
    let v = target.client.post_json("/tokenize", &body).await.ok()?;
    v["tokens"].as_array()?.iter().map(token_piece).collect()
}

/// One `/tokenize` entry: a bare id, or `{"id", "piece"}` where the piece
/// is a string or (partial UTF-8) an array of bytes.
fn token_piece(t: &Value) -> Option<(u32, String)> {
    if let Some(id) = t.as_u64() {
        return Some((u32::try_from(id).ok()?, String::new()));
    }
    let id = u32::try_from(t["id"].as_u64()?).ok()?;
    let piece = match &t["piece"] {
        Value::String(s) => s.clone(),
        Value::Array(bytes) => {
            let raw: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => String::new(),
    };
    Some((id, piece))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_entries_of_every_form_are_read() {
        assert_eq!(token_piece(&json!(7)), Some((7, String::new())));
        assert_eq!(
            token_piece(&json!({"id": 26843, "piece": "Hi"})),
            Some((26843, "Hi".into()))
        );
        // A partial UTF-8 piece comes as bytes; it is kept lossily.
        let (id, piece) = token_piece(&json!({"id": 250, "piece": [160]})).unwrap();
        assert_eq!(id, 250);
        assert_eq!(piece, "\u{fffd}");
        assert_eq!(token_piece(&json!({"piece": "x"})), None);
    }
}
