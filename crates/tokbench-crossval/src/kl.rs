//! Kullback–Leibler divergence between the two sides' next-token
//! distributions, on the support both sides report.
//!
//! Servers return only the top-k log-probabilities at each position, and
//! the two sides' lists need not hold the same tokens. At a position where
//! both sides chose the same token (so both conditioned on the same
//! context), let `S` be the candidates present in both lists (matched by
//! the token-identity rule of [`crate::output`]; candidates with a
//! non-finite log-probability are ignored, and a token listed twice counts
//! once, at its first entry). Renormalise each side on `S`:
//!
//! ```text
//! p_a(t) = exp(ℓ_a(t)) / Σ_{s∈S} exp(ℓ_a(s))      (ℓ: log-probability, nats)
//! p_b(t) = exp(ℓ_b(t)) / Σ_{s∈S} exp(ℓ_b(s))
//! KL(a‖b) = Σ_{t∈S} p_a(t) · ln(p_a(t) / p_b(t))     (nats)
//! ```
//!
//! This is the relative entropy of Kullback & Leibler ("On Information and
//! Sufficiency", *Annals of Mathematical Statistics* 22(1), 1951; Cover &
//! Thomas, *Elements of Information Theory*, 2nd ed., 2006, §2.3) of the
//! two distributions conditioned on `S`. It is 0 when the sides agree on
//! the relative odds of the shared candidates, and it ignores probability
//! mass outside `S`: two sides with the same relative odds on `S` but
//! different mass outside it score 0. It is not an estimate of the
//! full-vocabulary KL; by the chain rule of relative entropy the full KL
//! is at least `P_a(S)` (side A's unnormalised mass on `S`) times it. Positions with `|S| < 2` carry no information (one
//! candidate renormalises to probability 1 on both sides) and are skipped
//! and counted. The sums use log-sum-exp, and rounding below 0 is clamped
//! to 0.

use serde::{Deserialize, Serialize};

use crate::output::{same_key, TokenStep};

/// KL divergence on the shared top-k support of one position, in nats;
/// `None` when fewer than 2 candidates are shared (see the
/// [module docs](self) for the exact rule).
pub fn kl_on_shared_support(a: &TokenStep, b: &TokenStep) -> Option<f64> {
    let pairs = shared_logprobs(a, b);
    if pairs.len() < 2 {
        return None;
    }
    let lse_a = log_sum_exp(pairs.iter().map(|p| p.0));
    let lse_b = log_sum_exp(pairs.iter().map(|p| p.1));
    let kl: f64 = pairs
        .iter()
        .map(|&(la, lb)| {
            let log_pa = la - lse_a;
            let log_pb = lb - lse_b;
            log_pa.exp() * (log_pa - log_pb)
        })
        .sum();
    Some(kl.max(0.0))
}

/// `(ℓ_a, ℓ_b)` for each candidate listed (with a finite log-probability)
/// on both sides, first entries only.
fn shared_logprobs(a: &TokenStep, b: &TokenStep) -> Vec<(f64, f64)> {
    let top_a: Vec<_> = a.usable_top().collect();
    let mut pairs = Vec::new();
    for (i, ca) in top_a.iter().enumerate() {
        let repeated = top_a[..i]
            .iter()
            .any(|e| same_key(e.id, &e.text, ca.id, &ca.text));
        if repeated {
            continue;
        }
        if let Some(cb) = b
            .usable_top()
            .find(|cb| same_key(ca.id, &ca.text, cb.id, &cb.text))
        {
            pairs.push((ca.logprob, cb.logprob));
        }
    }
    pairs
}

/// `ln Σ exp(xᵢ)`, computed as `m + ln Σ exp(xᵢ − m)` with `m = max xᵢ`.
fn log_sum_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// KL divergence over a set of positions (one prompt's agreeing prefix, or
/// all prompts pooled).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct KlStats {
    /// Positions with a KL value (at least 2 shared candidates).
    pub positions: usize,
    /// Positions skipped for fewer than 2 shared candidates (including
    /// positions without top-k on either side).
    pub skipped_positions: usize,
    /// Sum of the per-position KL values (nats); kept so that pooling is
    /// exact.
    pub sum_nats: f64,
    /// Mean per-position KL (nats): `sum_nats / positions`; `None` when
    /// `positions == 0`.
    pub mean_nats: Option<f64>,
    /// Largest per-position KL (nats); `None` when `positions == 0`.
    pub max_nats: Option<f64>,
}

impl KlStats {
    /// Adds one position: `Some(kl)` counts it, `None` counts a skip.
    pub fn push(&mut self, kl: Option<f64>) {
        match kl {
            Some(v) => {
                self.positions += 1;
                self.sum_nats += v;
                self.max_nats = Some(self.max_nats.map_or(v, |m| m.max(v)));
            }
            None => self.skipped_positions += 1,
        }
        self.refresh_mean();
    }

    /// Pools `other` into `self` (position-weighted mean, overall max).
    pub fn merge(&mut self, other: &KlStats) {
        self.positions += other.positions;
        self.skipped_positions += other.skipped_positions;
        self.sum_nats += other.sum_nats;
        self.max_nats = match (self.max_nats, other.max_nats) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
        self.refresh_mean();
    }

    /// Recomputes [`KlStats::mean_nats`] from the sum and count.
    fn refresh_mean(&mut self) {
        self.mean_nats = if self.positions == 0 {
            None
        } else {
            // usize → f64 is exact for any realistic token count (< 2^53).
            Some(self.sum_nats / self.positions as f64)
        };
    }
}
