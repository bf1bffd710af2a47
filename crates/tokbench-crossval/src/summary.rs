//! Many prompts: pairing the sides by prompt id ([`compare_sides`]), the
//! [`Summary`] of their results with its one-line headline, and
//! [`SelfConsistency`] (a side against its own second run).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::divergence::{compare_output, DivergenceKind, DivergenceOptions, PromptResult};
use crate::error::{CrossvalError, Side};
use crate::kl::KlStats;
use crate::output::Output;

/// Most divergence indices [`Summary::headline`] lists before it writes
/// `… (+N more)`.
pub const HEADLINE_MAX_INDICES: usize = 10;

/// Compares side A's and side B's outputs prompt by prompt, paired on
/// [`Output::prompt_id`], in side A's order.
///
/// # Errors
///
/// * [`CrossvalError::InvalidEpsilon`] from [`DivergenceOptions::validate`].
/// * [`CrossvalError::DuplicatePrompt`] when a side has two outputs for one
///   prompt (side A checked first).
/// * [`CrossvalError::MissingPrompt`] when a prompt has an output on one
///   side only (side A's prompts checked first).
pub fn compare_sides(
    a: &[Output],
    b: &[Output],
    opts: &DivergenceOptions,
) -> Result<Vec<PromptResult>, CrossvalError> {
    opts.validate()?;
    let index_a = index_by_prompt(a, Side::A)?;
    let index_b = index_by_prompt(b, Side::B)?;
    if let Some(o) = b
        .iter()
        .find(|o| !index_a.contains_key(o.prompt_id.as_str()))
    {
        return Err(CrossvalError::MissingPrompt {
            missing_on: Side::A,
            prompt_id: o.prompt_id.clone(),
        });
    }
    a.iter()
        .map(|oa| match index_b.get(oa.prompt_id.as_str()) {
            Some(&j) => Ok(compare_output(oa, &b[j], opts)),
            None => Err(CrossvalError::MissingPrompt {
                missing_on: Side::B,
                prompt_id: oa.prompt_id.clone(),
            }),
        })
        .collect()
}

/// Prompt id → position in `outputs`; errors on a repeated id.
fn index_by_prompt(outputs: &[Output], side: Side) -> Result<HashMap<&str, usize>, CrossvalError> {
    let mut index = HashMap::with_capacity(outputs.len());
    for (i, o) in outputs.iter().enumerate() {
        if index.insert(o.prompt_id.as_str(), i).is_some() {
            return Err(CrossvalError::DuplicatePrompt {
                side,
                prompt_id: o.prompt_id.clone(),
            });
        }
    }
    Ok(index)
}

/// Counts and pooled statistics over many prompts' [`PromptResult`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Prompts compared.
    pub prompts: usize,
    /// Prompts whose outputs are identical.
    pub identical: usize,
    /// Prompts whose outputs diverge (`prompts − identical`).
    pub diverged: usize,
    /// Divergences classified [`DivergenceKind::NearTie`].
    pub near_tie: usize,
    /// Divergences classified [`DivergenceKind::Hard`].
    pub hard: usize,
    /// Divergences classified [`DivergenceKind::Unclassified`].
    pub unclassified: usize,
    /// Divergences classified [`DivergenceKind::Length`].
    pub length: usize,
    /// The first-divergence token index of each diverging prompt,
    /// ascending.
    pub divergence_indices: Vec<usize>,
    /// Σ [`PromptResult::top1_agreed`].
    pub top1_agreed: usize,
    /// Σ [`PromptResult::top1_positions`].
    pub top1_positions: usize,
    /// Pooled top-1 agreement `top1_agreed / top1_positions`, in `[0, 1]`;
    /// `None` when no position was compared.
    pub top1_agreement: Option<f64>,
    /// KL on the shared top-k support, pooled over every prompt's agreeing
    /// prefix (mean weighted by positions; max over all).
    pub kl: KlStats,
}

impl Summary {
    /// Summarises `results` (any order; an empty slice gives zero counts).
    pub fn from_results(results: &[PromptResult]) -> Self {
        let mut s = Summary {
            prompts: results.len(),
            identical: 0,
            diverged: 0,
            near_tie: 0,
            hard: 0,
            unclassified: 0,
            length: 0,
            divergence_indices: Vec::new(),
            top1_agreed: 0,
            top1_positions: 0,
            top1_agreement: None,
            kl: KlStats::default(),
        };
        for r in results {
            s.top1_agreed += r.top1_agreed;
            s.top1_positions += r.top1_positions;
            s.kl.merge(&r.kl);
            let Some(d) = &r.divergence else {
                s.identical += 1;
                continue;
            };
            s.diverged += 1;
            s.divergence_indices.push(d.token_index);
            *match d.kind {
                DivergenceKind::NearTie => &mut s.near_tie,
                DivergenceKind::Hard => &mut s.hard,
                DivergenceKind::Unclassified => &mut s.unclassified,
                DivergenceKind::Length => &mut s.length,
            } += 1;
        }
        s.divergence_indices.sort_unstable();
        s.top1_agreement =
            (s.top1_positions > 0).then(|| s.top1_agreed as f64 / s.top1_positions as f64);
        s
    }

    /// One line for a report. Format:
    ///
    /// * no divergence: `"{identical}/{prompts} identical"`, e.g.
    ///   `"10/10 identical"`;
    /// * otherwise that, then `"; {diverged} diverge at tokens {indices} — {kinds}"`,
    ///   e.g. `"7/10 identical; 3 diverge at tokens 41, 88, 203 — 2 near-ties, 1 hard"`.
    ///   With one divergence: `"1 diverges at token 41"`.
    ///
    /// `{indices}` are the first-divergence indices ascending, joined by
    /// `", "`; past [`HEADLINE_MAX_INDICES`] the rest is written
    /// `", … (+N more)"`. `{kinds}` lists the non-zero counts in the order
    /// near-tie, hard, unclassified, length, joined by `", "`, as
    /// `"1 near-tie"`/`"N near-ties"`, `"N hard"`, `"N unclassified"`,
    /// `"1 length mismatch"`/`"N length mismatches"`. The dash is U+2014.
    pub fn headline(&self) -> String {
        let mut line = format!("{}/{} identical", self.identical, self.prompts);
        if self.diverged == 0 {
            return line;
        }
        let (verb, noun) = if self.diverged == 1 {
            ("diverges", "token")
        } else {
            ("diverge", "tokens")
        };
        let shown = self.divergence_indices.len().min(HEADLINE_MAX_INDICES);
        let mut indices: Vec<String> = self.divergence_indices[..shown]
            .iter()
            .map(ToString::to_string)
            .collect();
        if self.divergence_indices.len() > shown {
            indices.push(format!(
                "… (+{} more)",
                self.divergence_indices.len() - shown
            ));
        }
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let kinds: Vec<String> = [
            (
                self.near_tie,
                plural(self.near_tie, "near-tie", "near-ties"),
            ),
            (self.hard, plural(self.hard, "hard", "hard")),
            (
                self.unclassified,
                plural(self.unclassified, "unclassified", "unclassified"),
            ),
            (
                self.length,
                plural(self.length, "length mismatch", "length mismatches"),
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, s)| s)
        .collect();
        line.push_str(&format!(
            "; {} {verb} at {noun} {} — {}",
            self.diverged,
            indices.join(", "),
            kinds.join(", ")
        ));
        line
    }
}

/// A side against its own second run on the same prompts: how many prompts
/// came out identical. An engine that is not deterministic with itself
/// cannot be expected to match another engine token for token, so a report
/// sets cross-engine divergences against this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfConsistency {
    /// Prompts whose two runs are identical token for token.
    pub identical: usize,
    /// Prompts compared.
    pub of: usize,
}

impl SelfConsistency {
    /// Counts the identical results among `results` (of a side against
    /// itself).
    pub fn from_results(results: &[PromptResult]) -> Self {
        Self {
            identical: results.iter().filter(|r| r.is_identical()).count(),
            of: results.len(),
        }
    }

    /// Whether every prompt was identical on both runs (vacuously true for
    /// zero prompts).
    pub fn is_deterministic(&self) -> bool {
        self.identical == self.of
    }

    /// `"{identical}/{of} identical on a second run"`.
    pub fn headline(&self) -> String {
        format!("{}/{} identical on a second run", self.identical, self.of)
    }
}

/// Compares a side's first run with its second run on the same prompts
/// (paired by prompt id, as [`compare_sides`] with default options).
///
/// # Errors
///
/// As [`compare_sides`]: a prompt repeated within a run, or present in one
/// run only (`Side::A` is the first run, `Side::B` the second).
pub fn self_consistency(
    first: &[Output],
    second: &[Output],
) -> Result<SelfConsistency, CrossvalError> {
    let results = compare_sides(first, second, &DivergenceOptions::default())?;
    Ok(SelfConsistency::from_results(&results))
}
