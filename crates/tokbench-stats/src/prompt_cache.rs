//! Prompt-cache accounting: how much of each prompt the server evaluated,
//! and whether a cell's prefill figures are flattered by cache reuse.
//!
//! Rules (see `docs/methodology.md#prompt-cache`):
//!
//! * **Cached prompt tokens** of a request, from the server's own account,
//!   first match wins: llama.cpp's `timings.cache_n`; else
//!   `usage.prompt_tokens_details.cached_tokens`; else, with llama.cpp
//!   `timings` and `usage` both present, `usage.prompt_tokens −
//!   timings.prompt_n`. Otherwise unknown (`None`).
//! * **Evaluated prompt tokens**: `timings.prompt_n` when the server sent
//!   timings; else `usage.prompt_tokens − cached_tokens` when usage reports
//!   cached tokens; else unknown.
//! * A cell may *intend* to share a prefix (the agent shape's tool-schema
//!   system prompt, `--prefix-cache`): `intended_shared_tokens`. A request
//!   **reused more than intended** when
//!   `cached − intended_shared_tokens > max(5% of its prompt tokens, 8)`
//!   ([`SHARE_THRESHOLD`], [`MIN_TOKENS`]; the allowance covers the few
//!   chat-template tokens every prompt starts with).
//! * A cell is **flagged** (`prompt_cache`) when any successful measured
//!   request reused more than intended.

use serde::{Deserialize, Serialize};

use crate::sample::RequestSample;
use crate::tokens::TokenCounts;

/// Share of a request's prompt tokens that may come from the cache beyond
/// the intended shared prefix before the request counts as a cache hit.
pub const SHARE_THRESHOLD: f64 = 0.05;

/// Tokens that may always come from the cache beyond the intended shared
/// prefix (chat-template tokens common to every prompt).
pub const MIN_TOKENS: u64 = 8;

/// Prompt tokens of `sample` served from the server's cache, by the rule in
/// the [module docs](self); `None` when the server gave no account.
pub fn cached_prompt_tokens(sample: &RequestSample) -> Option<u64> {
    let timings = sample.server_timings;
    timings
        .and_then(|t| t.cache_n)
        .or_else(|| sample.usage.and_then(|u| u.cached_tokens))
        .or_else(|| {
            let (t, u) = (timings?, sample.usage?);
            Some(u.prompt_tokens.saturating_sub(t.prompt_n))
        })
}

/// Prompt tokens the server evaluated for `sample` (cache hits excluded),
/// by the rule in the [module docs](self); `None` when unknown.
pub fn evaluated_prompt_tokens(sample: &RequestSample) -> Option<u64> {
    if let Some(t) = sample.server_timings {
        return Some(t.prompt_n);
    }
    let u = sample.usage?;
    Some(u.prompt_tokens.saturating_sub(u.cached_tokens?))
}

/// The prompt-cache check of one cell: what the server says it reused.
/// Token counts are sums over successful measured requests whose server
/// reported a cached count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptCacheCheck {
    /// Prompt tokens the workload means to share between requests (a
    /// shape's system prompt, `--prefix-cache N`); 0 = none.
    pub intended_shared_tokens: u64,
    /// Successful measured requests.
    pub requests: u64,
    /// Of those, requests whose server reported cached (or evaluated)
    /// prompt tokens.
    pub requests_with_account: u64,
    /// Σ prompt tokens of the requests with an account.
    pub prompt_tokens: u64,
    /// Σ cached prompt tokens of the requests with an account.
    pub cached_tokens: u64,
    /// `cached_tokens / prompt_tokens`; `None` without an account.
    pub cached_share: Option<f64>,
    /// Σ `max(0, cached − intended_shared_tokens)`.
    pub unintended_cached_tokens: u64,
    /// Requests that reused more than intended (see [`reused_more_than_intended`]).
    pub requests_over_threshold: u64,
    /// `requests_over_threshold > 0`: the cell's TTFT and prefill figures are
    /// not (all) measurements of prompt processing.
    pub flagged: bool,
}

/// `true` when `cached` exceeds `intended` by more than
/// `max(SHARE_THRESHOLD × prompt, MIN_TOKENS)` tokens.
pub fn reused_more_than_intended(cached: u64, prompt: u64, intended: u64) -> bool {
    let beyond = cached.saturating_sub(intended) as f64;
    beyond > (SHARE_THRESHOLD * prompt as f64).max(MIN_TOKENS as f64)
}

impl PromptCacheCheck {
    /// Checks the successful measured requests of `samples` (warm-up and
    /// failed requests are skipped) against `intended_shared_tokens`.
    pub fn compute(samples: &[RequestSample], intended_shared_tokens: u64) -> Self {
        let mut c = Self {
            intended_shared_tokens,
            requests: 0,
            requests_with_account: 0,
            prompt_tokens: 0,
            cached_tokens: 0,
            cached_share: None,
            unintended_cached_tokens: 0,
            requests_over_threshold: 0,
            flagged: false,
        };
        for s in samples.iter().filter(|s| !s.warmup && s.is_ok()) {
            c.requests += 1;
            let Some(cached) = cached_prompt_tokens(s) else {
                continue;
            };
            let prompt = TokenCounts::from_sample(s).prompt_tokens.unwrap_or(cached);
            c.requests_with_account += 1;
            c.prompt_tokens = c.prompt_tokens.saturating_add(prompt);
            c.cached_tokens = c.cached_tokens.saturating_add(cached);
            c.unintended_cached_tokens = c
                .unintended_cached_tokens
                .saturating_add(cached.saturating_sub(intended_shared_tokens));
            if reused_more_than_intended(cached, prompt, intended_shared_tokens) {
                c.requests_over_threshold += 1;
            }
        }
        c.cached_share =
            (c.prompt_tokens > 0).then(|| c.cached_tokens as f64 / c.prompt_tokens as f64);
        c.flagged = c.requests_over_threshold > 0;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{ErrorKind, Outcome, ServerTimings, Usage};

    fn usage(prompt: u64, cached: Option<u64>) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: 16,
            reasoning_tokens: None,
            cached_tokens: cached,
        }
    }

    fn timings(prompt_n: u64, cache_n: Option<u64>) -> ServerTimings {
        ServerTimings {
            prompt_n,
            cache_n,
            ..ServerTimings::default()
        }
    }

    fn sample(u: Option<Usage>, t: Option<ServerTimings>) -> RequestSample {
        let mut s = RequestSample::new(0, false, 0, 0);
        s.usage = u;
        s.server_timings = t;
        s
    }

    #[test]
    fn cached_and_evaluated_counts_follow_the_precedence() {
        // timings.cache_n wins over usage details.
        let s = sample(Some(usage(427, Some(400))), Some(timings(1, Some(426))));
        assert_eq!(cached_prompt_tokens(&s), Some(426));
        assert_eq!(evaluated_prompt_tokens(&s), Some(1));
        // usage details alone (vLLM with --enable-prompt-tokens-details).
        let s = sample(Some(usage(427, Some(400))), None);
        assert_eq!(cached_prompt_tokens(&s), Some(400));
        assert_eq!(evaluated_prompt_tokens(&s), Some(27));
        // older llama.cpp: timings without cache_n, usage without details.
        let s = sample(Some(usage(427, None)), Some(timings(373, None)));
        assert_eq!(cached_prompt_tokens(&s), Some(54));
        assert_eq!(evaluated_prompt_tokens(&s), Some(373));
        // no account at all.
        let s = sample(Some(usage(427, None)), None);
        assert_eq!(
            (cached_prompt_tokens(&s), evaluated_prompt_tokens(&s)),
            (None, None)
        );
    }

    #[test]
    fn threshold_is_five_percent_or_eight_tokens() {
        // 60-token prompt: allowance max(3, 8) = 8 tokens.
        assert!(!reused_more_than_intended(8, 60, 0));
        assert!(reused_more_than_intended(9, 60, 0));
        // 427-token prompt: allowance 21.35 tokens.
        assert!(!reused_more_than_intended(21, 427, 0));
        assert!(reused_more_than_intended(22, 427, 0));
        // Intended prefix of 1,050 tokens, 1,500-token prompt: allowance 75.
        assert!(!reused_more_than_intended(1_125, 1_500, 1_050));
        assert!(reused_more_than_intended(1_126, 1_500, 1_050));
    }

    /// The table of the issue that found the defect: SmolLM2 rag at c=2,
    /// 427 prompt tokens of which the server evaluated 1.
    #[test]
    fn cell_check_flags_a_cached_cell_and_passes_a_fresh_one() {
        let cached: Vec<_> = (0..4)
            .map(|_| sample(Some(usage(427, Some(426))), Some(timings(1, Some(426)))))
            .collect();
        let c = PromptCacheCheck::compute(&cached, 0);
        assert_eq!((c.requests, c.requests_with_account), (4, 4));
        assert_eq!((c.prompt_tokens, c.cached_tokens), (1_708, 1_704));
        assert_eq!(c.cached_share, Some(1_704.0 / 1_708.0));
        assert_eq!((c.requests_over_threshold, c.flagged), (4, true));

        let fresh: Vec<_> = (0..4)
            .map(|_| sample(Some(usage(427, Some(3))), Some(timings(424, Some(3)))))
            .collect();
        let c = PromptCacheCheck::compute(&fresh, 0);
        assert_eq!(c.cached_share, Some(12.0 / 1_708.0));
        assert_eq!((c.requests_over_threshold, c.flagged), (0, false));
    }

    #[test]
    fn intended_prefix_warmup_failures_and_unknowns() {
        let mut v = vec![
            // agent: 1,050 intended + 10 template tokens reused: fine.
            sample(Some(usage(1_500, Some(1_060))), None),
            // reused the whole prompt: over.
            sample(Some(usage(1_500, Some(1_499))), None),
            // no account: counted as a request, not in the sums.
            sample(Some(usage(1_500, None)), None),
        ];
        let mut warm = sample(Some(usage(1_500, Some(1_500))), None);
        warm.warmup = true;
        let mut failed = sample(Some(usage(1_500, Some(1_500))), None);
        failed.outcome = Outcome::Error {
            kind: ErrorKind::Stall,
            message: "x".into(),
        };
        v.push(warm);
        v.push(failed);
        let c = PromptCacheCheck::compute(&v, 1_050);
        assert_eq!((c.requests, c.requests_with_account), (3, 2));
        assert_eq!(c.unintended_cached_tokens, 10 + 449);
        assert_eq!((c.requests_over_threshold, c.flagged), (1, true));
        let none = PromptCacheCheck::compute(&v[2..3], 0);
        assert_eq!((none.cached_share, none.flagged), (None, false));
    }
}
