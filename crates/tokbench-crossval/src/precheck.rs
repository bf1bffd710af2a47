//! The tokenization pre-check: did both sides feed the model the same
//! prompt tokens? A prompt the sides tokenized (or templated) differently
//! is reported as such and its outputs are not compared, so a tokenizer or
//! chat-template difference is never reported as a model divergence.
//!
//! Evidence, strongest first:
//!
//! 1. both sides' prompt token ids ([`Output::prompt_token_ids`]): equal →
//!    [`PrecheckStatus::Same`], else [`PrecheckStatus::Mismatch`] at the
//!    first differing index (or the shorter length);
//! 2. both sides' chat-template renderings ([`Output::rendered_prompt`]):
//!    different → mismatch (equal renderings are only noted: the same text
//!    can still tokenize differently);
//! 3. both sides' `usage.prompt_tokens`: different counts → mismatch;
//! 4. otherwise [`PrecheckStatus::Unchecked`], with the reason; the
//!    outputs are compared.

use crate::output::Output;

/// The verdict of [`precheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecheckStatus {
    /// The same prompt tokens on both sides.
    Same,
    /// Different prompt tokens: do not compare the outputs.
    Mismatch,
    /// Not enough evidence either way.
    Unchecked,
}

/// What the pre-check found for one prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precheck {
    /// The verdict.
    pub status: PrecheckStatus,
    /// Prompt tokens of side A (ids, else `usage`), when known.
    pub prompt_tokens_a: Option<u64>,
    /// Prompt tokens of side B, when known.
    pub prompt_tokens_b: Option<u64>,
    /// First differing prompt-token index, when the ids differ.
    pub first_difference: Option<u64>,
    /// Whether the chat-template renderings are equal, when both are known.
    pub template_same: Option<bool>,
    /// What differs, or why nothing could be checked.
    pub note: Option<String>,
}

/// Checks one prompt's inputs on both sides (rules in the
/// [module docs](self)); `usage_a`/`usage_b` are the sides'
/// `usage.prompt_tokens`.
pub fn precheck(a: &Output, b: &Output, usage_a: Option<u64>, usage_b: Option<u64>) -> Precheck {
    let count = |o: &Output, usage: Option<u64>| {
        o.prompt_token_ids
            .as_ref()
            .map(|ids| ids.len() as u64)
            .or(usage)
    };
    let template_same = match (&a.rendered_prompt, &b.rendered_prompt) {
        (Some(x), Some(y)) => Some(x == y),
        _ => None,
    };
    let mut p = Precheck {
        status: PrecheckStatus::Unchecked,
        prompt_tokens_a: count(a, usage_a),
        prompt_tokens_b: count(b, usage_b),
        first_difference: None,
        template_same,
        note: None,
    };
    if let (Some(x), Some(y)) = (&a.prompt_token_ids, &b.prompt_token_ids) {
        let first = (0..x.len().min(y.len()))
            .find(|&i| x[i] != y[i])
            .or((x.len() != y.len()).then(|| x.len().min(y.len())));
        match first {
            None => p.status = PrecheckStatus::Same,
            Some(i) => {
                p.status = PrecheckStatus::Mismatch;
                p.first_difference = Some(i as u64);
                p.note = Some(format!(
                    "prompt token ids differ at index {i} (A: {}, B: {})",
                    id_or_end(x, i),
                    id_or_end(y, i)
                ));
            }
        }
    } else if template_same == Some(false) {
        p.status = PrecheckStatus::Mismatch;
        p.note = Some("the chat templates render the prompt differently".into());
    } else if let (Some(x), Some(y)) = (usage_a, usage_b) {
        if x == y {
            p.note = Some(format!(
                "no token ids; both sides report {x} prompt tokens (usage)"
            ));
        } else {
            p.status = PrecheckStatus::Mismatch;
            p.note = Some(format!("usage.prompt_tokens differ: A {x}, B {y}"));
        }
    } else {
        p.note = Some("a side gave neither prompt token ids nor usage.prompt_tokens".into());
    }
    p
}

fn id_or_end(ids: &[u32], i: usize) -> String {
    ids.get(i)
        .map_or_else(|| "end of prompt".to_owned(), |id| format!("id {id}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn with_ids(ids: Option<Vec<u32>>, rendered: Option<&str>) -> Output {
        let mut o = Output::new("p", Vec::new());
        o.prompt_token_ids = ids;
        o.rendered_prompt = rendered.map(str::to_owned);
        o
    }

    #[test]
    fn equal_ids_are_the_same_prompt() {
        let a = with_ids(Some(vec![1, 2, 3]), Some("x"));
        let p = precheck(&a, &a.clone(), Some(99), None);
        assert_eq!(p.status, PrecheckStatus::Same);
        assert_eq!((p.prompt_tokens_a, p.prompt_tokens_b), (Some(3), Some(3)));
        assert_eq!(p.template_same, Some(true));
    }

    #[test]
    fn different_ids_are_a_mismatch_at_the_first_difference() {
        let a = with_ids(Some(vec![1, 2, 3]), None);
        let b = with_ids(Some(vec![1, 5, 3]), None);
        let p = precheck(&a, &b, None, None);
        assert_eq!(
            (p.status, p.first_difference),
            (PrecheckStatus::Mismatch, Some(1))
        );
        assert!(p.note.unwrap().contains("A: id 2, B: id 5"));
        let shorter = with_ids(Some(vec![1, 2]), None);
        let p = precheck(&a, &shorter, None, None);
        assert_eq!(p.first_difference, Some(2));
        assert!(p.note.unwrap().contains("B: end of prompt"));
    }

    #[test]
    fn without_ids_templates_then_usage_decide() {
        let a = with_ids(None, Some("<|user|>hi"));
        let b = with_ids(None, Some("<user>hi"));
        let p = precheck(&a, &b, Some(5), Some(5));
        assert_eq!(
            (p.status, p.template_same),
            (PrecheckStatus::Mismatch, Some(false))
        );
        let (a, b) = (with_ids(None, None), with_ids(None, None));
        assert_eq!(
            precheck(&a, &b, Some(5), Some(6)).status,
            PrecheckStatus::Mismatch
        );
        let p = precheck(&a, &b, Some(5), Some(5));
        assert_eq!(p.status, PrecheckStatus::Unchecked);
        assert_eq!((p.prompt_tokens_a, p.prompt_tokens_b), (Some(5), Some(5)));
        assert_eq!(
            precheck(&a, &b, None, Some(5)).status,
            PrecheckStatus::Unchecked
        );
    }
}
