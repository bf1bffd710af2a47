//! Comparing the two sides' outputs for one prompt: identical, or where and
//! how they first diverge.
//!
//! [`compare_output`] walks the aligned positions `0..min(len_a, len_b)`
//! with the token-identity rule of [`crate::output`] (ids when both sides
//! have them, else text):
//!
//! * **Identical**: every aligned token agrees and the lengths are equal.
//! * **First divergence** at token index `i` (0-based, counted from the
//!   first generated token): the smallest `i` where the tokens differ. Its
//!   kind is [`DivergenceKind::NearTie`], [`DivergenceKind::Hard`] or
//!   [`DivergenceKind::Unclassified`] (rule on [`DivergenceKind`]).
//! * **Length mismatch**: every aligned token agrees but one side has more
//!   tokens; the divergence is at `i = min(len_a, len_b)`, where one side
//!   emitted a token and the other stopped ([`DivergenceKind::Length`]).
//!
//! After the first divergence the two sides condition on different
//! contexts, so nothing after it is compared: top-1 agreement and KL are
//! computed up to it (see [`PromptResult`]).

use serde::{Deserialize, Serialize};

use crate::error::CrossvalError;
use crate::kl::{kl_on_shared_support, KlStats};
use crate::output::{Output, TokenStep};

/// Default near-tie threshold ε: 0.1 nats (a probability ratio of
/// `e^0.1 ≈ 1.105` between the two competing tokens).
pub const DEFAULT_EPSILON_NATS: f64 = 0.1;

/// Default number of context tokens kept around a divergence.
pub const DEFAULT_CONTEXT_TOKENS: usize = 8;

/// Options of [`compare_output`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DivergenceOptions {
    /// Near-tie threshold ε in nats (default [`DEFAULT_EPSILON_NATS`]):
    /// a divergence is a near-tie when the competing tokens'
    /// log-probabilities differ by less than this on both sides.
    pub epsilon_nats: f64,
    /// How many tokens of context a [`Divergence`] keeps before the
    /// divergent token, and after it on each side (default
    /// [`DEFAULT_CONTEXT_TOKENS`]).
    pub context_tokens: usize,
}

impl Default for DivergenceOptions {
    fn default() -> Self {
        Self {
            epsilon_nats: DEFAULT_EPSILON_NATS,
            context_tokens: DEFAULT_CONTEXT_TOKENS,
        }
    }
}

impl DivergenceOptions {
    /// Checks the options.
    ///
    /// # Errors
    ///
    /// [`CrossvalError::InvalidEpsilon`] when `epsilon_nats` is negative,
    /// NaN or infinite. ([`compare_output`] does not validate: with a NaN ε
    /// no divergence is a near-tie or hard, all are unclassified.)
    pub fn validate(&self) -> Result<(), CrossvalError> {
        if self.epsilon_nats.is_finite() && self.epsilon_nats >= 0.0 {
            Ok(())
        } else {
            Err(CrossvalError::InvalidEpsilon(self.epsilon_nats))
        }
    }
}

/// How the first divergence is classified.
///
/// At the divergent position side A chose token `x_a` and side B chose
/// `x_b`. On each side `s` the **gap** is
/// `g_s = |ℓ_s(x_s) − ℓ_s(x_other)|` (nats), the difference between the
/// log-probabilities that side gave its own choice and the other side's
/// choice, both read from its top-k list (the chosen token's own
/// [`TokenStep::logprob`] when it is not listed). When `x_other` is not in
/// side `s`'s top-k, `g_s` is not known but is at least
/// `ℓ_s(x_s) − min(top-k of s)` (the other token ranks below every listed
/// candidate); that lower bound is used.
///
/// * `near_tie`: both gaps are known (each side's choice is in the other
///   side's top-k) and both are `< ε` (strictly).
/// * `hard`: some gap, known or a lower bound, is `≥ ε`: at least one side
///   preferred its token by ε or more.
/// * `unclassified`: neither; in particular when a side has no top-k (or
///   only its chosen token) so nothing bounds its gap. Never guessed.
/// * `length`: no token differs, one side stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// Both sides rank the two tokens within ε of each other: numerical
    /// noise between engines can flip the choice.
    NearTie,
    /// One side preferred its token by at least ε.
    Hard,
    /// Not enough log-probability information to tell.
    Unclassified,
    /// One side ended (end of sequence or a stop) where the other went on.
    Length,
}

/// One side's log-probability gap at the divergent position (see
/// [`DivergenceKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogprobGap {
    /// The gap in nats, ≥ 0.
    pub nats: f64,
    /// `true` when the other side's token is in this side's top-k and
    /// `nats` is the gap itself; `false` when `nats` is a lower bound.
    pub exact: bool,
}

/// Where and how two outputs first differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// 0-based index of the first differing token (for
    /// [`DivergenceKind::Length`], the shorter side's length).
    pub token_index: usize,
    /// The classification.
    pub kind: DivergenceKind,
    /// Side A's token text at `token_index`; `None` when A stopped there.
    pub token_a: Option<String>,
    /// Side B's token text at `token_index`; `None` when B stopped there.
    pub token_b: Option<String>,
    /// Texts of up to `context_tokens` tokens before `token_index` (shared
    /// by both sides; side A's texts).
    pub context_before: Vec<String>,
    /// Texts of up to `context_tokens` tokens after `token_index` on side A.
    pub after_a: Vec<String>,
    /// Texts of up to `context_tokens` tokens after `token_index` on side B.
    pub after_b: Vec<String>,
    /// Side A's gap; `None` when not bounded (no top-k or no
    /// log-probability) and always for `length`.
    pub gap_a: Option<LogprobGap>,
    /// Side B's gap, as `gap_a`.
    pub gap_b: Option<LogprobGap>,
}

/// The comparison of the two sides' outputs for one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptResult {
    /// The prompt id (side A's).
    pub prompt_id: String,
    /// Tokens generated by side A.
    pub tokens_a: usize,
    /// Tokens generated by side B.
    pub tokens_b: usize,
    /// The first divergence; `None` when the outputs are identical.
    pub divergence: Option<Divergence>,
    /// Top-1 agreements: the positions before the first divergence (all
    /// aligned positions when there is none).
    pub top1_agreed: usize,
    /// Positions compared for top-1 agreement: the agreeing prefix plus
    /// the divergent position (including a length divergence, where one
    /// side's next choice was to stop).
    pub top1_positions: usize,
    /// KL divergence on the shared top-k support over the agreeing prefix.
    pub kl: KlStats,
}

impl PromptResult {
    /// Whether the two outputs are identical token for token.
    pub fn is_identical(&self) -> bool {
        self.divergence.is_none()
    }

    /// `top1_agreed / top1_positions`; `None` when no position was
    /// compared (both outputs empty).
    pub fn top1_agreement(&self) -> Option<f64> {
        (self.top1_positions > 0).then(|| self.top1_agreed as f64 / self.top1_positions as f64)
    }
}

/// Compares side A's and side B's output for one prompt (the caller pairs
/// them; `b.prompt_id` is not checked). Never fails; see the
/// [module docs](self) for the rules and [`DivergenceOptions::validate`]
/// for the options.
pub fn compare_output(a: &Output, b: &Output, opts: &DivergenceOptions) -> PromptResult {
    let aligned = a.steps.len().min(b.steps.len());
    let first = (0..aligned).find(|&i| !a.steps[i].same_token(&b.steps[i]));
    let prefix = first.unwrap_or(aligned);
    let mut kl = KlStats::default();
    for (sa, sb) in a.steps[..prefix].iter().zip(&b.steps[..prefix]) {
        kl.push(kl_on_shared_support(sa, sb));
    }
    let divergence = match first {
        Some(i) => Some(divergence_at(a, b, i, opts)),
        None if a.steps.len() != b.steps.len() => Some(divergence_at(a, b, aligned, opts)),
        None => None,
    };
    PromptResult {
        prompt_id: a.prompt_id.clone(),
        tokens_a: a.steps.len(),
        tokens_b: b.steps.len(),
        top1_agreed: prefix,
        top1_positions: prefix + usize::from(divergence.is_some()),
        divergence,
        kl,
    }
}

/// The divergence at `i`: a token on both sides that differs, or the end
/// of one side (a length divergence).
fn divergence_at(a: &Output, b: &Output, i: usize, opts: &DivergenceOptions) -> Divergence {
    let (sa, sb) = (a.steps.get(i), b.steps.get(i));
    let (kind, gap_a, gap_b) = match (sa, sb) {
        (Some(sa), Some(sb)) => {
            let (ga, gb) = (gap(sa, sb), gap(sb, sa));
            (classify(ga, gb, opts.epsilon_nats), ga, gb)
        }
        _ => (DivergenceKind::Length, None, None),
    };
    let n = opts.context_tokens;
    let texts = |steps: &[TokenStep]| steps.iter().map(|s| s.text.clone()).collect::<Vec<_>>();
    let after = |o: &Output| {
        let rest = o.steps.get(i + 1..).unwrap_or_default();
        texts(&rest[..rest.len().min(n)])
    };
    Divergence {
        token_index: i,
        kind,
        token_a: sa.map(|s| s.text.clone()),
        token_b: sb.map(|s| s.text.clone()),
        context_before: texts(&a.steps[i.saturating_sub(n)..i]),
        after_a: after(a),
        after_b: after(b),
        gap_a,
        gap_b,
    }
}

/// Side `own`'s gap between its choice and `other`'s choice (see
/// [`DivergenceKind`]); `None` when nothing bounds it.
fn gap(own: &TokenStep, other: &TokenStep) -> Option<LogprobGap> {
    let chosen = own.chosen_logprob()?;
    if let Some(lp) = own.top_logprob_of(other) {
        return Some(LogprobGap {
            nats: (chosen - lp).abs(),
            exact: true,
        });
    }
    let lowest = own
        .usable_top()
        .map(|c| c.logprob)
        .fold(f64::INFINITY, f64::min);
    lowest.is_finite().then(|| LogprobGap {
        nats: (chosen - lowest).max(0.0),
        exact: false,
    })
}

/// The rule of [`DivergenceKind`] on the two gaps.
fn classify(ga: Option<LogprobGap>, gb: Option<LogprobGap>, eps: f64) -> DivergenceKind {
    let near = |g: Option<LogprobGap>| g.is_some_and(|g| g.exact && g.nats < eps);
    let far = |g: Option<LogprobGap>| g.is_some_and(|g| g.nats >= eps);
    if near(ga) && near(gb) {
        DivergenceKind::NearTie
    } else if far(ga) || far(gb) {
        DivergenceKind::Hard
    } else {
        DivergenceKind::Unclassified
    }
}
