//! Prompt calibration (words per token), the prompt tokens a shape shares
//! on purpose, and the record's `run.prompts`
//! (docs/methodology.md#prompt-cache).

use tokbench_client::calibrate::{
    calibrate_with_tokenizer, chat_prefix_tokens, tokenize_count, words_per_token_from_usage,
    CalibrationMethod,
};
use tokbench_client::{Endpoint, RequestTemplate, SendClock};
use tokbench_record::PromptSettings;
use tokbench_stats::{prompt_cache, RequestSample};

use crate::plan::Plan;
use crate::target::Target;

/// Prompt words per token: given by the user, else from the server's
/// `/tokenize`, else from `usage.prompt_tokens` of one probe request, else
/// 0.75; how it was found goes into `notes`.
pub(crate) async fn words_per_token(target: &Target, plan: &Plan, notes: &mut Vec<String>) -> f64 {
    if let Some(w) = plan.words_per_token {
        notes.push(format!(
            "prompt calibration: {w} words/token given by the user"
        ));
        return w;
    }
    if let Some(c) = calibrate_with_tokenizer(&target.client, &target.model_id).await {
        notes.push(format!(
            "prompt calibration: {:.3} words/token from the server's /tokenize",
            c.words_per_token
        ));
        return c.words_per_token;
    }
    let probe = RequestTemplate::chat(&target.model_id, 200, 2);
    let mut sample = RequestSample::new(0, true, 0, 0);
    target
        .client
        .execute(&probe.spec(u64::MAX - 1), &mut sample, &SendClock::start())
        .await;
    let words = probe.prompt_text(u64::MAX - 1).split_whitespace().count() as u64;
    match sample
        .usage
        .and_then(|u| words_per_token_from_usage(words, u.prompt_tokens))
    {
        Some(c) if c.method == CalibrationMethod::Usage => {
            notes.push(format!(
                "prompt calibration: {:.3} words/token from usage.prompt_tokens",
                c.words_per_token
            ));
            c.words_per_token
        }
        _ => {
            notes.push("prompt calibration: none possible; assuming 0.75 words/token".into());
            0.75
        }
    }
}

/// Prompt tokens a template's requests share on purpose, leaving out the
/// deliberate `--prefix-cache` prefix (whose reuse is to be flagged): the
/// chat prompt up to the user message, rendered and tokenized by the server
/// ([`chat_prefix_tokens`]); else the system prompt's tokens by `/tokenize`
/// (else estimated from its words and the calibration) plus
/// [`prompt_cache::MIN_TOKENS`] for the chat template's wrapping.
pub(crate) async fn intended_shared_tokens(target: &Target, t: &RequestTemplate) -> u64 {
    let Some(system) = &t.system_prompt else {
        return 0;
    };
    if t.endpoint == Endpoint::Chat {
        if let Some(n) = chat_prefix_tokens(&target.client, system).await {
            return n;
        }
    }
    let tokens = match tokenize_count(&target.client, &target.model_id, system).await {
        Some(n) => n,
        None => (system.split_whitespace().count() as f64 / t.words_per_token).round() as u64,
    };
    tokens + prompt_cache::MIN_TOKENS
}

/// The record's `run.prompts`.
pub(crate) fn prompt_settings(target: &Target, plan: &Plan) -> PromptSettings {
    let p = plan.prompts;
    PromptSettings {
        seed: plan.cells.seed,
        seed_given: p.seed_given,
        cache_allowed: p.cache_allowed,
        cache_control: match plan.extra_body.get("cache_prompt") {
            // The user's --extra-body wins over tokbench's own field.
            Some(v) => Some(format!("cache_prompt: {v} (--extra-body)")),
            None if p.cache_allowed => None,
            None => target.cache_control.describe(),
        },
        shared_prefix_tokens: p.prefix_cache_tokens,
    }
}
