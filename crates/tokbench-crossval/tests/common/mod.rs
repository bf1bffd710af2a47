//! Builders shared by the integration tests.
#![allow(dead_code)]

use tokbench_crossval::{Output, TokenStep, TopCandidate};

/// A token with id `id`, text `t{id}`, no log-probabilities.
pub fn plain(id: u32) -> TokenStep {
    TokenStep {
        id: Some(id),
        text: format!("t{id}"),
        logprob: None,
        top: Vec::new(),
    }
}

/// Tokens `ids` without log-probabilities.
pub fn seq(ids: &[u32]) -> Vec<TokenStep> {
    ids.iter().map(|&i| plain(i)).collect()
}

/// A token `id` with top-k `(id, logprob)` (texts `t{id}`); its own
/// log-probability is its top-k entry when listed.
pub fn step(id: u32, top: &[(u32, f64)]) -> TokenStep {
    TokenStep {
        id: Some(id),
        text: format!("t{id}"),
        logprob: top.iter().find(|c| c.0 == id).map(|c| c.1),
        top: top
            .iter()
            .map(|&(i, lp)| TopCandidate {
                id: Some(i),
                text: format!("t{i}"),
                logprob: lp,
            })
            .collect(),
    }
}

/// An output for prompt `id`.
pub fn out(id: &str, steps: Vec<TokenStep>) -> Output {
    Output::new(id, steps)
}
