//! One side's greedy output for one prompt, and the rule that says when two
//! tokens are the same.
//!
//! **Token identity.** Two tokens are the same when their texts are equal
//! (byte for byte) and, when both carry a token id, the ids are equal too.
//! Ids alone are not enough: llama.cpp merges the tokens of a multi-byte
//! UTF-8 character into one `logprobs` entry that carries one piece's id,
//! so two different characters can share an id (`こ` and `ん` both come as
//! id 237 from SmolLM2). Texts alone are not enough either: different
//! tokens can decode to the same text (a partial character sent as a
//! replacement character). The same rule matches top-k candidates.

use serde::{Deserialize, Serialize};

/// One alternative the server listed at a position (its top-k).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopCandidate {
    /// Token id, when the server returns it.
    #[serde(default)]
    pub id: Option<u32>,
    /// Token text as the server returned it.
    pub text: String,
    /// Natural-log probability of this token at this position (nats, ≤ 0).
    pub logprob: f64,
}

/// One generated token with what the server reported about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenStep {
    /// Token id, when the server returns it.
    #[serde(default)]
    pub id: Option<u32>,
    /// Token text as the server returned it.
    pub text: String,
    /// Natural-log probability of the chosen token (nats, ≤ 0), when the
    /// server returns log-probabilities.
    #[serde(default)]
    pub logprob: Option<f64>,
    /// The server's top-k candidates at this position, most likely first
    /// as sent (order is not relied on); empty when not requested or not
    /// supported.
    #[serde(default)]
    pub top: Vec<TopCandidate>,
}

/// One side's greedy (temperature 0) output for one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The prompt's id in the prompt set; sides are paired on it.
    pub prompt_id: String,
    /// The generated tokens in order; position `i` is token index `i`
    /// (0-based, counted from the first generated token).
    pub steps: Vec<TokenStep>,
    /// The generated text as the server returned it (token texts can be
    /// partial UTF-8; this is whole); `None` when not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The prompt's token ids as the server tokenized it (the
    /// tokenization pre-check); `None` when the server could not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_token_ids: Option<Vec<u32>>,
    /// The chat template's rendering of the prompt, when the server shows
    /// it (llama.cpp's `/apply-template`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_prompt: Option<String>,
}

impl Output {
    /// An output of `steps` only (no text, no prompt facts).
    pub fn new(prompt_id: impl Into<String>, steps: Vec<TokenStep>) -> Self {
        Output {
            prompt_id: prompt_id.into(),
            steps,
            text: None,
            prompt_token_ids: None,
            rendered_prompt: None,
        }
    }

    /// The generated text: [`Output::text`] when kept, else the token
    /// texts joined.
    pub fn full_text(&self) -> String {
        match &self.text {
            Some(t) => t.clone(),
            None => self.steps.iter().map(|s| s.text.as_str()).collect(),
        }
    }
}

/// The token-identity rule of this module on raw parts: equal texts, and
/// equal ids when both are present.
pub(crate) fn same_key(id_a: Option<u32>, text_a: &str, id_b: Option<u32>, text_b: &str) -> bool {
    text_a == text_b
        && match (id_a, id_b) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

impl TokenStep {
    /// Whether `self` and `other` are the same token (equal texts, and
    /// equal ids when both have them; see the [module docs](self)).
    pub fn same_token(&self, other: &TokenStep) -> bool {
        same_key(self.id, &self.text, other.id, &other.text)
    }

    /// Whether `candidate` is this token (same rule as
    /// [`TokenStep::same_token`]).
    pub fn is_candidate(&self, candidate: &TopCandidate) -> bool {
        same_key(self.id, &self.text, candidate.id, &candidate.text)
    }

    /// The log-probability (nats) this side's top-k gives `token`: the first
    /// matching candidate with a finite log-probability; `None` when
    /// `token` is not among them.
    pub fn top_logprob_of(&self, token: &TokenStep) -> Option<f64> {
        self.usable_top()
            .find(|c| token.is_candidate(c))
            .map(|c| c.logprob)
    }

    /// The log-probability (nats) of the chosen token: its own top-k entry
    /// when listed (the same source as its competitors'), else
    /// [`TokenStep::logprob`] when finite.
    pub fn chosen_logprob(&self) -> Option<f64> {
        self.top_logprob_of(self)
            .or(self.logprob.filter(|l| l.is_finite()))
    }

    /// Top-k candidates with a finite log-probability (NaN and ±∞ are
    /// ignored everywhere in this crate).
    pub(crate) fn usable_top(&self) -> impl Iterator<Item = &TopCandidate> {
        self.top.iter().filter(|c| c.logprob.is_finite())
    }
}
