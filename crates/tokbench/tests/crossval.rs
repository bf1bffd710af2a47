//! `tokbench crossval` end to end against the built-in emulator in
//! deterministic-text mode (`tokbench emulate --text-seed`): identical
//! sides, injected divergences found at their positions with their kinds,
//! golden files, the tokenization pre-check, bars and exit codes, and the
//! record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use tokbench_record::{read_crossval, CrossvalRecord, DivergenceClass, PromptVerdict};

mod common;

use common::{emulate, Served};

/// An emulator with text seed 7, optionally diverging at `at` (`near-tie`
/// or `hard`).
fn emulator(diverge: Option<(u32, &str)>) -> Served {
    emulator_with(diverge, &[])
}

fn emulator_with(diverge: Option<(u32, &str)>, extra: &[&str]) -> Served {
    let at = diverge.map(|(at, _)| at.to_string()).unwrap_or_default();
    let mut args = vec![
        "--text-seed",
        "7",
        "--decode-tok-s",
        "20000",
        "--prefill-tok-s",
        "1000000",
    ];
    if let Some((_, kind)) = diverge {
        args.extend(["--diverge-at", at.as_str(), "--diverge-kind", kind]);
    }
    args.extend_from_slice(extra);
    emulate(&args)
}

fn crossval(args: &[&str], runs: &Path) -> (Output, Option<CrossvalRecord>) {
    let mut cmd = Command::cargo_bin("tokbench").unwrap();
    cmd.arg("crossval").args(args).args(["--tokens", "24"]);
    // `--runs-dir` and `--no-record` conflict (a usage error).
    if !args.contains(&"--no-record") {
        cmd.arg("--runs-dir").arg(runs);
    }
    let out = cmd.env_remove("OPENAI_API_KEY").output().unwrap();
    let record = std::fs::read_dir(runs).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| read_crossval(&p).unwrap())
    });
    (out, record)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn identical_sides_are_identical_and_self_consistent_and_the_record_validates() {
    let (a, b) = (emulator(None), emulator(None));
    let tmp = tempfile::tempdir().unwrap();
    let (out, rec) = crossval(&[&a.url, &b.url, "-c", "3"], tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = rec.expect("a crossval record");
    assert_eq!(rec.summary.headline, "10/10 identical");
    // Every token count agreed with the emulator's usage.completion_tokens.
    assert!(rec.run.notes.is_empty(), "{:?}", rec.run.notes);
    assert!(stdout(&out).contains("crossval: 10/10 identical"));
    assert_eq!((rec.summary.identical, rec.summary.prompts), (10, 10));
    assert_eq!(rec.summary.top1_agreement, Some(1.0));
    assert_eq!(rec.summary.kl_max_nats, Some(0.0));
    for side in &rec.sides {
        let sc = side.self_consistency.as_ref().unwrap();
        assert_eq!((sc.identical, sc.of, sc.concurrency), (10, 10, 1));
        let bi = side.batch_invariance.as_ref().unwrap();
        assert_eq!((bi.identical, bi.concurrency), (10, 3));
        assert!(side.top_logprobs);
    }
    assert_eq!(rec.prompt_set.name, "builtin-v1");
    assert_eq!(rec.settings.top_k, Some(1));
}

#[test]
fn injected_divergences_are_found_at_their_positions_with_their_kinds() {
    let a = emulator(None);
    for (at, kind, class) in [
        (5, "near-tie", DivergenceClass::NearTie),
        (11, "hard", DivergenceClass::Hard),
    ] {
        let b = emulator(Some((at, kind)));
        let tmp = tempfile::tempdir().unwrap();
        let (out, rec) = crossval(&[&a.url, &b.url, "--no-self-check"], tmp.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rec = rec.unwrap();
        assert_eq!(rec.summary.identical, 0, "{kind}");
        for p in &rec.prompts {
            let d = p.divergence.as_ref().unwrap();
            assert_eq!(
                (d.token_index, d.kind),
                (u64::from(at), class),
                "{kind} {}",
                p.id
            );
            assert_eq!(p.top1_agreed, u64::from(at));
        }
        let plural = if class == DivergenceClass::NearTie {
            "near-ties"
        } else {
            "hard"
        };
        assert!(
            rec.summary.headline.ends_with(&format!("— 10 {plural}")),
            "{}",
            rec.summary.headline
        );
        assert!(rec.sides[0].self_consistency.is_none());
    }
}

#[test]
fn bars_set_the_exit_code() {
    let (a, b) = (emulator(None), emulator(Some((3, "hard"))));
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        a.url.as_str(),
        b.url.as_str(),
        "--no-self-check",
        "--no-record",
    ];
    let run = |extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        crossval(&all, tmp.path()).0
    };
    assert_eq!(run(&["--min-identical", "9"]).status.code(), Some(6));
    let out = run(&["--max-hard", "0"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(stdout(&out).contains("hard divergences 10 > --max-hard 0"));
    assert_eq!(run(&["--min-top1", "0.99"]).status.code(), Some(6));
    assert_eq!(
        run(&["--min-identical", "0", "--max-hard", "10"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_golden_file_gives_the_same_verdict_later_and_a_tokenization_mismatch_is_not_a_divergence() {
    let (a, b) = (emulator(None), emulator(Some((7, "near-tie"))));
    let tmp = tempfile::tempdir().unwrap();
    let golden = tmp.path().join("ref.json");
    let live_dir = tmp.path().join("live");
    let (out, live) = crossval(
        &[&a.url, &b.url, "--save-golden", golden.to_str().unwrap()],
        &live_dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let later_dir = tmp.path().join("later");
    let (out, later) = crossval(&[golden.to_str().unwrap(), &b.url], &later_dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (live, later) = (live.unwrap(), later.unwrap());
    assert_eq!(later.summary.headline, live.summary.headline);
    assert_eq!(later.summary.divergence_indices, vec![7; 10]);
    assert!(later.sides[0].golden_file.as_deref() == Some("ref.json"));
    // The completion prompt's ids were recorded by /tokenize: change one.
    let mut g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
    let outputs = g["outputs"].as_array_mut().unwrap();
    let completion = outputs
        .iter_mut()
        .find(|o| o["prompt_id"] == "completion")
        .unwrap();
    completion["prompt_token_ids"][1] = serde_json::json!(999_999);
    std::fs::write(&golden, serde_json::to_string(&g).unwrap()).unwrap();
    let (out, rec) = crossval(&[golden.to_str().unwrap(), &a.url], &tmp.path().join("tok"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = rec.unwrap();
    let p = rec.prompts.iter().find(|p| p.id == "completion").unwrap();
    assert_eq!(p.verdict, PromptVerdict::TokenizationMismatch);
    assert_eq!(p.tokenization.first_difference, Some(1));
    assert!(p.divergence.is_none());
    assert_eq!(
        (
            rec.summary.compared,
            rec.summary.identical,
            rec.summary.diverged
        ),
        (9, 9, 0)
    );
    assert_eq!(rec.summary.tokenization_mismatch, 1);
    assert!(
        rec.summary
            .headline
            .contains("1 of 10 not compared: tokenization differs"),
        "{}",
        rec.summary.headline
    );
    assert!(stdout(&out).contains("NOT COMPARED: prompt token ids differ at index 1"));
}

#[test]
fn a_golden_file_of_other_prompts_or_tokens_is_refused_and_flags_that_mean_nothing_are_usage_errors(
) {
    let a = emulator(None);
    let tmp = tempfile::tempdir().unwrap();
    let golden = tmp.path().join("ref.json");
    let (out, _) = crossval(
        &[
            &a.url,
            "--no-self-check",
            "--no-record",
            "--save-golden",
            golden.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success());
    let prompts = tmp.path().join("p.jsonl");
    std::fs::write(&prompts, "{\"id\":\"x\",\"text\":\"hello\"}\n").unwrap();
    let (out, _) = crossval(
        &[
            golden.to_str().unwrap(),
            &a.url,
            "--prompts",
            prompts.to_str().unwrap(),
            "--no-record",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answers prompt set builtin-v1"));
    let (out, _) = crossval(&[&a.url, "--b-arg=-fa", "--no-record"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--b-arg means nothing here"));
}

#[test]
fn a_side_that_fails_part_way_keeps_what_it_answered_and_marks_the_record_incomplete() {
    let a = emulator(None);
    // HTTP 500 on 30% of requests (seeded): the first failure ends side B's run.
    let b = emulator_with(
        None,
        &[
            "--fault",
            "http500",
            "--fault-probability",
            "0.3",
            "--seed",
            "3",
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let golden = tmp.path().join("b.json");
    let (out, rec) = crossval(
        &[&b.url, &a.url, "--save-golden", golden.to_str().unwrap()],
        tmp.path(),
    );
    // No golden file from an incomplete side A: exit 1, after the record.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not answer every prompt"));
    assert!(!golden.exists());
    let rec = rec.expect("the record is written before the golden file");
    let reason = rec.run.incomplete_reason.as_deref().unwrap();
    assert!(reason.starts_with("side A, first run: prompt "), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    let s = &rec.summary;
    assert!(s.not_answered >= 1 && s.not_answered <= 10);
    assert_eq!(s.compared + s.not_answered, 10);
    assert_eq!(
        s.identical, s.compared,
        "what both sides answered is identical"
    );
    let answered = rec
        .prompts
        .iter()
        .filter(|p| p.verdict != PromptVerdict::NotAnswered);
    assert_eq!(answered.count() as u64, s.compared);
    assert!(rec
        .summary
        .headline
        .contains("not answered: a side's server failed"));
    let tmp2 = tempfile::tempdir().unwrap();
    let (out, rec) = crossval(&[&a.url, &b.url, "--no-self-check"], tmp2.path());
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rec
        .unwrap()
        .run
        .incomplete_reason
        .unwrap()
        .starts_with("side B, first run"));
}
