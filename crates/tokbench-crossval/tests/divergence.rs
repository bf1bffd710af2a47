//! Known-answer tests of `compare_output`: identity, first divergence,
//! context, classification at the ε boundary, length, ids and texts, KL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{out, plain, seq, step};
use tokbench_crossval::{
    compare_output, kl_on_shared_support, DivergenceKind, DivergenceOptions, LogprobGap, TokenStep,
};

fn opts(eps: f64) -> DivergenceOptions {
    DivergenceOptions {
        epsilon_nats: eps,
        ..DivergenceOptions::default()
    }
}

#[test]
fn identical_outputs() {
    let a = out("p", seq(&[1, 2, 3, 4]));
    let r = compare_output(&a, &a.clone(), &DivergenceOptions::default());
    assert!(r.is_identical());
    assert_eq!((r.tokens_a, r.tokens_b), (4, 4));
    assert_eq!((r.top1_agreed, r.top1_positions), (4, 4));
    assert_eq!(r.top1_agreement(), Some(1.0));
    // No top-k anywhere: every position skipped, no KL value.
    assert_eq!((r.kl.positions, r.kl.skipped_positions), (0, 4));
    assert_eq!(r.kl.mean_nats, None);
}

#[test]
fn both_empty_is_identical_with_no_positions() {
    let r = compare_output(
        &out("p", vec![]),
        &out("p", vec![]),
        &DivergenceOptions::default(),
    );
    assert!(r.is_identical());
    assert_eq!(r.top1_positions, 0);
    assert_eq!(r.top1_agreement(), None);
}

#[test]
fn first_divergence_found_exactly() {
    let base: Vec<u32> = (0..12).collect();
    for k in [0usize, 1, 5, 11] {
        let mut other = base.clone();
        other[k] = 100;
        // Later tokens differ too; only the first counts.
        if k + 2 < other.len() {
            other[k + 2] = 101;
        }
        let r = compare_output(&out("p", seq(&base)), &out("p", seq(&other)), &opts(0.1));
        let d = r.divergence.as_ref().expect("diverges");
        assert_eq!(d.token_index, k, "k = {k}");
        assert_eq!(d.token_a.as_deref(), Some(format!("t{k}").as_str()));
        assert_eq!(d.token_b.as_deref(), Some("t100"));
        assert_eq!((r.top1_agreed, r.top1_positions), (k, k + 1));
        assert_eq!(
            d.kind,
            DivergenceKind::Unclassified,
            "no top-k: never guessed"
        );
        assert_eq!((d.gap_a, d.gap_b), (None, None));
    }
}

#[test]
fn context_window_before_and_after() {
    let a = out("p", seq(&[0, 1, 2, 3, 4, 5, 6, 7, 8]));
    let b = out("p", seq(&[0, 1, 2, 3, 4, 50, 60]));
    let o = DivergenceOptions {
        context_tokens: 2,
        ..DivergenceOptions::default()
    };
    let d = compare_output(&a, &b, &o).divergence.unwrap();
    assert_eq!(d.token_index, 5);
    assert_eq!(d.context_before, ["t3", "t4"]);
    assert_eq!(d.after_a, ["t6", "t7"]);
    assert_eq!(d.after_b, ["t60"]);
    // Near the start the window is clipped.
    let b = out("p", seq(&[0, 9]));
    let d = compare_output(&a, &b, &o).divergence.unwrap();
    assert_eq!(d.context_before, ["t0"]);
    assert!(d.after_b.is_empty());
}

#[test]
fn texts_must_match_and_ids_too_when_both_sides_have_them() {
    let tok = |id: Option<u32>, text: &str| TokenStep {
        id,
        text: text.to_owned(),
        logprob: None,
        top: vec![],
    };
    let cmp = |x: TokenStep, y: TokenStep| {
        compare_output(&out("p", vec![x]), &out("p", vec![y]), &opts(0.1)).is_identical()
    };
    // llama.cpp gives a merged multi-byte character one piece's id: `こ`
    // and `ん` both arrive as id 237.
    assert!(
        !cmp(tok(Some(237), "こ"), tok(Some(237), "ん")),
        "same id, other text"
    );
    assert!(
        !cmp(tok(Some(7), "a"), tok(Some(8), "a")),
        "other id, same text"
    );
    assert!(
        cmp(tok(None, "a"), tok(Some(8), "a")),
        "one id missing: text"
    );
    assert!(
        !cmp(tok(Some(7), "a"), tok(None, "b")),
        "one id missing: text"
    );
    assert!(cmp(tok(None, "a"), tok(None, "a")));
}

#[test]
fn length_mismatch_is_its_own_kind() {
    let a = out("p", seq(&[1, 2, 3, 4, 5]));
    let b = out("p", seq(&[1, 2, 3, 4, 5, 6, 7]));
    let r = compare_output(&a, &b, &opts(0.1));
    let d = r.divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::Length);
    assert_eq!(d.token_index, 5);
    assert_eq!(d.token_a, None);
    assert_eq!(d.token_b.as_deref(), Some("t6"));
    assert_eq!(d.after_b, ["t7"]);
    assert_eq!((r.top1_agreed, r.top1_positions), (5, 6));
    // And the other way round.
    let d = compare_output(&b, &a, &opts(0.1)).divergence.unwrap();
    assert_eq!((d.token_a.as_deref(), d.token_b), (Some("t6"), None));
}

/// Divergence after one agreeing token: A chose `sa`, B chose `sb`.
fn kind(
    sa: TokenStep,
    sb: TokenStep,
    eps: f64,
) -> (DivergenceKind, Option<LogprobGap>, Option<LogprobGap>) {
    let a = out("p", vec![plain(9), sa]);
    let b = out("p", vec![plain(9), sb]);
    let d = compare_output(&a, &b, &opts(eps)).divergence.unwrap();
    assert_eq!(d.token_index, 1);
    (d.kind, d.gap_a, d.gap_b)
}

#[test]
fn near_tie_vs_hard_at_the_epsilon_boundary() {
    // Gaps of exactly 0.25 nats on both sides (dyadic: exact in binary).
    let a = step(1, &[(1, -0.5), (2, -0.75)]);
    let b = step(2, &[(2, -0.5), (1, -0.75)]);
    let exact = |nats| Some(LogprobGap { nats, exact: true });
    assert_eq!(
        kind(a.clone(), b.clone(), 0.25),
        (DivergenceKind::Hard, exact(0.25), exact(0.25))
    );
    assert_eq!(
        kind(a.clone(), b.clone(), 0.25 + 1e-9).0,
        DivergenceKind::NearTie
    );
    // Default ε = 0.1: gaps 0.0625 are a near-tie, 0.125 hard.
    let eps = DivergenceOptions::default().epsilon_nats;
    assert_eq!(eps, 0.1);
    let a = step(1, &[(1, -0.5), (2, -0.5625)]);
    let b = step(2, &[(2, -0.5), (1, -0.5625)]);
    assert_eq!(kind(a.clone(), b.clone(), eps).0, DivergenceKind::NearTie);
    // One side's gap over ε makes it hard even if the other's is tiny.
    let b_far = step(2, &[(2, -0.5), (1, -0.625)]);
    assert_eq!(kind(a, b_far, eps).0, DivergenceKind::Hard);
}

#[test]
fn token_outside_top_k_uses_a_lower_bound() {
    // B's top-k lacks A's token 1: its gap is at least -0.1 - (-2.0) = 1.9.
    let a = step(1, &[(1, -0.5), (2, -0.55)]);
    let b = step(2, &[(2, -0.1), (3, -2.0)]);
    let (k, _, gb) = kind(a.clone(), b, 0.1);
    assert_eq!(k, DivergenceKind::Hard);
    let gb = gb.unwrap();
    assert!(!gb.exact);
    assert!((gb.nats - 1.9).abs() < 1e-12);
    // A bound below ε proves nothing: unclassified, not a near-tie.
    let b = step(2, &[(2, -0.5), (3, -0.52)]);
    assert_eq!(kind(a, b, 0.1).0, DivergenceKind::Unclassified);
}

#[test]
fn unclassified_without_top_k() {
    // Log-probabilities of the chosen tokens but no top-k.
    let mut a = plain(1);
    a.logprob = Some(-0.5);
    let mut b = plain(2);
    b.logprob = Some(-0.5);
    assert_eq!(kind(a, b, 0.1), (DivergenceKind::Unclassified, None, None));
    // One side with top-k (near), the other with only its own token.
    let a = step(1, &[(1, -0.5), (2, -0.52)]);
    let b = step(2, &[(2, -0.5)]);
    assert_eq!(kind(a, b, 0.1).0, DivergenceKind::Unclassified);
}

#[test]
fn kl_known_value_three_candidates() {
    // p_a = (0.5, 0.3, 0.2), p_b = (0.4, 0.4, 0.2) on the same three tokens.
    let a = step(1, &[(1, 0.5f64.ln()), (2, 0.3f64.ln()), (3, 0.2f64.ln())]);
    let b = step(1, &[(2, 0.4f64.ln()), (1, 0.4f64.ln()), (3, 0.2f64.ln())]);
    let kl = kl_on_shared_support(&a, &b).unwrap();
    let want = 0.5 * (0.5f64 / 0.4).ln() + 0.3 * (0.3f64 / 0.4).ln();
    assert!((kl - want).abs() < 1e-12, "{kl} vs {want}");
    assert!((kl - 0.025_267_16).abs() < 1e-7, "{kl}");
    assert_eq!(kl_on_shared_support(&a, &a), Some(0.0));
}

#[test]
fn kl_renormalises_on_the_shared_support() {
    // Shared {1, 2}: A (0.3, 0.3) -> (0.5, 0.5); B (0.6, 0.2) -> (0.75, 0.25).
    // KL = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25) = 0.5 ln(4/3).
    let a = step(1, &[(1, 0.3f64.ln()), (2, 0.3f64.ln()), (5, 0.4f64.ln())]);
    let b = step(1, &[(1, 0.6f64.ln()), (2, 0.2f64.ln()), (6, 0.2f64.ln())]);
    let kl = kl_on_shared_support(&a, &b).unwrap();
    assert!((kl - 0.5 * (4.0f64 / 3.0).ln()).abs() < 1e-12, "{kl}");
    // One shared candidate: skipped.
    let c = step(1, &[(1, -0.1), (7, -3.0)]);
    assert_eq!(kl_on_shared_support(&a, &c), None);
}

#[test]
fn kl_over_the_agreeing_prefix_only() {
    let half = 0.5f64.ln();
    let p0a = step(1, &[(1, 0.3f64.ln()), (2, 0.3f64.ln())]);
    let p0b = step(1, &[(1, 0.6f64.ln()), (2, 0.2f64.ln())]);
    let p1 = step(3, &[(3, half)]); // one shared candidate: skipped
    let p2a = step(4, &[(4, 0.5f64.ln()), (5, 0.3f64.ln()), (6, 0.2f64.ln())]);
    let p2b = step(4, &[(4, 0.4f64.ln()), (5, 0.4f64.ln()), (6, 0.2f64.ln())]);
    // Divergent position with wildly different distributions: not counted.
    let da = step(7, &[(7, -0.01), (8, -5.0)]);
    let db = step(8, &[(8, -0.01), (7, -5.0)]);
    let a = out("p", vec![p0a, p1.clone(), p2a, da]);
    let b = out("p", vec![p0b, p1, p2b, db]);
    let r = compare_output(&a, &b, &opts(0.1));
    assert_eq!(r.divergence.as_ref().unwrap().kind, DivergenceKind::Hard);
    let k0 = 0.5 * (4.0f64 / 3.0).ln();
    let k2 = 0.5 * (0.5f64 / 0.4).ln() + 0.3 * (0.3f64 / 0.4).ln();
    assert_eq!((r.kl.positions, r.kl.skipped_positions), (2, 1));
    assert!((r.kl.mean_nats.unwrap() - (k0 + k2) / 2.0).abs() < 1e-12);
    assert!((r.kl.max_nats.unwrap() - k0).abs() < 1e-12);
}

#[test]
fn kl_matches_by_text_without_ids_and_ignores_bad_entries() {
    use tokbench_crossval::TopCandidate;
    let cand = |text: &str, p: f64| TopCandidate {
        id: None,
        text: text.to_owned(),
        logprob: p.ln(),
    };
    let with = |top: Vec<TopCandidate>| TokenStep {
        id: None,
        text: "x".to_owned(),
        logprob: None,
        top,
    };
    let mut nan = cand("z", 0.1);
    nan.logprob = f64::NAN;
    // A: x listed twice (first entry counts) and a NaN entry (ignored).
    let a = with(vec![cand("x", 0.3), cand("y", 0.3), cand("x", 0.01), nan]);
    let b = with(vec![cand("y", 0.2), cand("x", 0.6), cand("z", 0.1)]);
    let kl = kl_on_shared_support(&a, &b).unwrap();
    assert!((kl - 0.5 * (4.0f64 / 3.0).ln()).abs() < 1e-12, "{kl}");
}

#[test]
fn chosen_logprob_falls_back_to_the_step() {
    // A's own token is not in its top-k; its step log-probability is used.
    let mut a = step(1, &[(2, -0.55), (3, -4.0)]);
    a.logprob = Some(-0.5);
    let b = step(2, &[(2, -0.5), (1, -0.55)]);
    let (k, ga, gb) = kind(a, b, 0.1);
    assert_eq!(k, DivergenceKind::NearTie);
    assert!((ga.unwrap().nats - 0.05).abs() < 1e-12);
    assert!(gb.unwrap().exact);
}
