//! `tokbench crossval` end to end on a real llama-server with SmolLM2 135M
//! (installed by scripts/setup): the same configuration on both sides is
//! identical and self-consistent, with the tokenization pre-check passing
//! on real `/apply-template` and `/tokenize`; a golden file saved from it
//! gives the same verdict later, against a numerics-changing setting
//! (`-ctk q8_0 -ctv q8_0`) too.
//!
//! Without the set-up these tests print SKIP locally; under CI (`CI=true`)
//! a missing set-up is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod common;

use common::{serial, setup, tokbench, Setup};
use tokbench_record::{read_crossval, CrossvalRecord, TokenSource, TokenizationStatus};

/// Three short prompts: a chat, a multilingual chat, a raw completion.
const PROMPTS: &str = r#"{"id": "capital", "category": "chat", "messages": [{"role": "user", "content": "What is the capital of France?"}]}
{"id": "cjk", "category": "multilingual", "messages": [{"role": "user", "content": "Say hello in Japanese 🌞 こんにちは"}]}
{"id": "fox", "category": "completion", "text": "The quick brown fox"}
"#;

fn crossval(s: &Setup, dir: &Path, args: &[&str]) -> CrossvalRecord {
    let prompts = dir.join("prompts.jsonl");
    std::fs::write(&prompts, PROMPTS).unwrap();
    let runs = dir.join(format!("runs-{}", args.len()));
    let out = tokbench(s)
        .arg("crossval")
        .args(args)
        .arg("--prompts")
        .arg(&prompts)
        .args(["--tokens", "24", "--threads", "2", "--runs-dir"])
        .arg(&runs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "yaml"))
        .unwrap();
    read_crossval(&path).unwrap()
}

#[test]
fn same_configuration_is_identical_and_a_golden_file_gives_the_same_verdict() {
    let _serial = serial();
    let Some(s) = setup() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let model = s.model.to_str().unwrap().to_owned();
    let golden = tmp.path().join("smollm2.golden.json");
    let aa = crossval(
        &s,
        tmp.path(),
        &[&model, "--save-golden", golden.to_str().unwrap()],
    );
    assert_eq!(aa.summary.headline, "3/3 identical");
    // The outside account: every output's entries agree with the server's
    // usage.completion_tokens except the Japanese one, where llama.cpp
    // merges a multi-byte character's tokens into one logprobs entry.
    assert!(!aa.run.notes.is_empty());
    for n in &aa.run.notes {
        assert!(n.contains("prompt cjk: "), "{n}");
        assert!(n.contains("usage.completion_tokens"), "{n}");
    }
    assert_eq!(aa.summary.top1_agreement, Some(1.0));
    assert_eq!(aa.summary.kl_max_nats, Some(0.0));
    for side in &aa.sides {
        assert_eq!(side.token_source, TokenSource::Logprobs);
        assert!(side.top_logprobs);
        let sc = side.self_consistency.as_ref().unwrap();
        assert_eq!((sc.identical, sc.of), (3, 3));
        assert_eq!(side.backend.as_ref().unwrap().name, "llama.cpp");
    }
    for p in &aa.prompts {
        // Real ids from /tokenize of the real template rendering.
        assert_eq!(p.tokenization.status, TokenizationStatus::Same, "{}", p.id);
        assert!(p.tokenization.prompt_tokens_a.unwrap() > 3, "{}", p.id);
        assert!(p.tokens_a > 0);
    }
    let chat = aa.prompts.iter().find(|p| p.id == "capital").unwrap();
    assert_eq!(chat.tokenization.template_same, Some(true));
    assert!(!chat.text_a.is_empty());
    assert_eq!(chat.text_a, chat.text_b);
    // The golden file against a live server with another KV-cache type:
    // same verdict as the live A/B comparison.
    let kv = [
        "--b-arg=-ctk",
        "--b-arg=q8_0",
        "--b-arg=-ctv",
        "--b-arg=q8_0",
        "--no-self-check",
    ];
    let mut live_args = vec![model.as_str()];
    live_args.extend(kv);
    let live = crossval(&s, tmp.path(), &live_args);
    let mut later_args = vec![golden.to_str().unwrap(), model.as_str()];
    later_args.extend(kv);
    later_args.push("--top-logprobs=5");
    let later = crossval(&s, tmp.path(), &later_args);
    assert_eq!(later.summary.headline, live.summary.headline);
    assert_eq!(
        later.summary.divergence_indices,
        live.summary.divergence_indices
    );
    assert_eq!(
        later.sides[0].golden_file.as_deref(),
        Some("smollm2.golden.json")
    );
    assert!(later
        .prompts
        .iter()
        .all(|p| p.tokenization.status == TokenizationStatus::Same));
}
