//! Pairing sides, the summary and its headline, self-consistency, serde
//! names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{out, seq, step};
use tokbench_crossval::{
    compare_output, compare_sides, self_consistency, CrossvalError, DivergenceKind,
    DivergenceOptions, KlStats, Output, SelfConsistency, Side, Summary,
};

/// `n` tokens `0..n`, and a copy that differs first at `at`.
fn pair(id: &str, n: u32, at: Option<u32>) -> (Output, Output) {
    let a: Vec<u32> = (0..n).collect();
    let mut b = a.clone();
    if let Some(k) = at {
        b[k as usize] = 1000;
    }
    (out(id, seq(&a)), out(id, seq(&b)))
}

fn summary_with(indices: Vec<usize>, kinds: [usize; 4], prompts: usize) -> Summary {
    Summary {
        prompts,
        identical: prompts - indices.len(),
        diverged: indices.len(),
        near_tie: kinds[0],
        hard: kinds[1],
        unclassified: kinds[2],
        length: kinds[3],
        divergence_indices: indices,
        top1_agreed: 0,
        top1_positions: 0,
        top1_agreement: None,
        kl: KlStats::default(),
    }
}

#[test]
fn summary_of_ten_prompts_and_its_headline() {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..7 {
        let (x, y) = pair(&format!("same{i}"), 300, None);
        a.push(x);
        b.push(y);
    }
    // Near-ties at 88 and 41, a hard divergence at 203 (prompt order).
    let near = |k: usize, x: &mut Output, y: &mut Output| {
        x.steps[k] = step(1, &[(1, -0.5), (2, -0.55)]);
        y.steps[k] = step(2, &[(2, -0.5), (1, -0.55)]);
    };
    for (id, k, hard) in [
        ("d88", 88usize, false),
        ("d203", 203, true),
        ("d41", 41, false),
    ] {
        let (mut x, mut y) = pair(id, 300, None);
        near(k, &mut x, &mut y);
        if hard {
            y.steps[k] = step(2, &[(2, -0.1), (1, -3.0)]);
        }
        a.push(x);
        b.push(y);
    }
    let results = compare_sides(&a, &b, &DivergenceOptions::default()).unwrap();
    assert_eq!(results[7].prompt_id, "d88", "side A's order");
    let s = Summary::from_results(&results);
    assert_eq!((s.prompts, s.identical, s.diverged), (10, 7, 3));
    assert_eq!((s.near_tie, s.hard, s.unclassified, s.length), (2, 1, 0, 0));
    assert_eq!(s.divergence_indices, [41, 88, 203]);
    assert_eq!(s.top1_agreed, 7 * 300 + 88 + 203 + 41);
    assert_eq!(s.top1_positions, s.top1_agreed + 3);
    let want = s.top1_agreed as f64 / s.top1_positions as f64;
    assert_eq!(s.top1_agreement, Some(want));
    assert_eq!(
        s.headline(),
        "7/10 identical; 3 diverge at tokens 41, 88, 203 — 2 near-ties, 1 hard"
    );
}

#[test]
fn headline_formats() {
    assert_eq!(
        summary_with(vec![], [0; 4], 10).headline(),
        "10/10 identical"
    );
    assert_eq!(summary_with(vec![], [0; 4], 0).headline(), "0/0 identical");
    assert_eq!(
        summary_with(vec![5], [0, 0, 0, 1], 2).headline(),
        "1/2 identical; 1 diverges at token 5 — 1 length mismatch"
    );
    assert_eq!(
        summary_with(vec![1, 2, 3, 4, 5, 6], [1, 2, 1, 2], 6).headline(),
        "0/6 identical; 6 diverge at tokens 1, 2, 3, 4, 5, 6 — \
         1 near-tie, 2 hard, 1 unclassified, 2 length mismatches"
    );
    assert_eq!(
        summary_with((0..12).collect(), [0, 12, 0, 0], 12).headline(),
        "0/12 identical; 12 diverge at tokens 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (+2 more) — 12 hard"
    );
}

#[test]
fn summary_of_nothing() {
    let s = Summary::from_results(&[]);
    assert_eq!((s.prompts, s.identical, s.diverged), (0, 0, 0));
    assert_eq!(s.top1_agreement, None);
    assert_eq!(s.kl.mean_nats, None);
}

#[test]
fn summary_pools_kl_by_position() {
    let lp = |p: f64| p.ln();
    let x = step(1, &[(1, lp(0.3)), (2, lp(0.3))]);
    let y = step(1, &[(1, lp(0.6)), (2, lp(0.2))]);
    // Prompt 1: one KL position of 0.5 ln(4/3); prompt 2: two positions of 0.
    let r1 = compare_output(
        &out("1", vec![x.clone()]),
        &out("1", vec![y]),
        &DivergenceOptions::default(),
    );
    let r2 = compare_output(
        &out("2", vec![x.clone(), x.clone()]),
        &out("2", vec![x.clone(), x]),
        &DivergenceOptions::default(),
    );
    let s = Summary::from_results(&[r1, r2]);
    let k = 0.5 * (4.0f64 / 3.0).ln();
    assert_eq!(s.kl.positions, 3);
    assert!((s.kl.mean_nats.unwrap() - k / 3.0).abs() < 1e-12);
    assert!((s.kl.max_nats.unwrap() - k).abs() < 1e-12);
}

#[test]
fn pairing_errors() {
    let (a, b) = pair("p", 3, None);
    let (c, _) = pair("q", 3, None);
    let d = DivergenceOptions::default();
    let err = compare_sides(&[a.clone(), a.clone()], std::slice::from_ref(&b), &d).unwrap_err();
    assert!(
        matches!(err, CrossvalError::DuplicatePrompt { side: Side::A, ref prompt_id } if prompt_id == "p")
    );
    let err = compare_sides(&[a.clone(), c.clone()], std::slice::from_ref(&b), &d).unwrap_err();
    assert!(
        matches!(err, CrossvalError::MissingPrompt { missing_on: Side::B, ref prompt_id } if prompt_id == "q")
    );
    assert_eq!(err.to_string(), "prompt \"q\" has no output on side B");
    let err = compare_sides(std::slice::from_ref(&a), &[b.clone(), c], &d).unwrap_err();
    assert!(matches!(
        err,
        CrossvalError::MissingPrompt {
            missing_on: Side::A,
            ..
        }
    ));
    for eps in [f64::NAN, -0.1, f64::INFINITY] {
        let bad = DivergenceOptions {
            epsilon_nats: eps,
            ..d
        };
        let err =
            compare_sides(std::slice::from_ref(&a), std::slice::from_ref(&b), &bad).unwrap_err();
        assert!(matches!(err, CrossvalError::InvalidEpsilon(_)), "{eps}");
    }
    assert!(DivergenceOptions {
        epsilon_nats: 0.0,
        ..d
    }
    .validate()
    .is_ok());
}

#[test]
fn self_consistency_counts_identical_prompts() {
    let (a1, a2) = pair("a", 5, None);
    let (b1, b2) = pair("b", 5, Some(3));
    let (c1, c2) = pair("c", 5, None);
    let sc = self_consistency(&[a1, b1, c1], &[c2, a2, b2]).unwrap();
    assert_eq!(
        sc,
        SelfConsistency {
            identical: 2,
            of: 3
        }
    );
    assert!(!sc.is_deterministic());
    assert_eq!(sc.headline(), "2/3 identical on a second run");
    assert!(SelfConsistency {
        identical: 4,
        of: 4
    }
    .is_deterministic());
}

#[test]
fn serde_names_are_snake_case_with_units() {
    assert_eq!(
        serde_json::to_string(&DivergenceKind::NearTie).unwrap(),
        "\"near_tie\""
    );
    assert_eq!(
        serde_json::to_string(&DivergenceKind::Length).unwrap(),
        "\"length\""
    );
    let v = serde_json::to_value(DivergenceOptions::default()).unwrap();
    assert_eq!(v["epsilon_nats"], 0.1);
    let (a, mut b) = pair("p", 4, None);
    b.steps[2] = step(1, &[(1, -0.5), (2, -0.55)]);
    let r = compare_output(&a, &b, &DivergenceOptions::default());
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["divergence"]["token_index"], 2);
    assert_eq!(v["divergence"]["kind"], "unclassified");
    assert!(v["kl"].get("mean_nats").is_some());
    let back: tokbench_crossval::PromptResult = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
    let s = Summary::from_results(&[r]);
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["divergence_indices"], serde_json::json!([2]));
    assert_eq!(serde_json::from_value::<Summary>(v).unwrap(), s);
}
