//! Deterministic-text mode over real HTTP: identical streams for the same
//! seed, log-probabilities in OpenAI's shapes, divergence at exactly K.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::{get_json, post_raw, start, stream};
use serde_json::{json, Value};
use tokbench_emulator::text::{NEAR_TIE_EPS, TEXT_VOCAB};
use tokbench_emulator::{DivergeKind, Divergence, EmulatorConfig, Prefill};

const CHAT: &str = "/v1/chat/completions";
const CMPL: &str = "/v1/completions";

fn cfg(seed: u64) -> EmulatorConfig {
    EmulatorConfig::default()
        .with_prefill(Prefill::Fixed { ms: 0.0 })
        .with_decode_tok_s(2000.0)
        .with_text_seed(Some(seed))
}

fn chat(prompt: &str, n: u32, extra: Value) -> Value {
    let mut body = json!({
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": n,
        "stream": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// One `logprobs.content` entry per token, in order, from a chat stream.
async fn chat_entries(cfg: EmulatorConfig, body: &Value) -> (String, Vec<Value>) {
    let server = start(cfg).await;
    let s = stream(&server.base_url(), CHAT, body).await;
    server.shutdown().await;
    assert_eq!(s.status, 200);
    let mut text = String::new();
    let mut entries = Vec::new();
    for (_, chunk) in s.token_events() {
        let choice = &chunk["choices"][0];
        text.push_str(choice["delta"]["content"].as_str().unwrap());
        if let Some(content) = choice["logprobs"]["content"].as_array() {
            entries.extend(content.iter().cloned());
        }
    }
    (text, entries)
}

fn lp(v: &Value) -> f64 {
    v["logprob"].as_f64().unwrap()
}

fn top_ids(entry: &Value) -> Vec<u64> {
    let top = entry["top_logprobs"].as_array().unwrap();
    top.iter().map(|t| t["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn same_seed_same_stream_other_seed_other_stream() {
    let body = chat(
        "tell me a story",
        24,
        json!({"logprobs": true, "top_logprobs": 5}),
    );
    let a = chat_entries(cfg(7), &body).await;
    let b = chat_entries(cfg(7), &body).await;
    assert_eq!(a, b, "two instances, same seed");
    assert_eq!(a.1.len(), 24);
    let other = chat_entries(cfg(8), &body).await;
    assert_ne!(a.0, other.0, "another seed");
    let prompt = chat("tell me a poem", 24, json!({}));
    assert_ne!(a.0, chat_entries(cfg(7), &prompt).await.0, "another prompt");
    // Each entry: id, token, logprob, bytes; the chosen token is the argmax.
    let mut rebuilt = String::new();
    for entry in &a.1 {
        let token = entry["token"].as_str().unwrap();
        rebuilt.push_str(token);
        let bytes: Vec<u8> = serde_json::from_value(entry["bytes"].clone()).unwrap();
        assert_eq!(bytes, token.as_bytes());
        assert!(entry["id"].as_u64().unwrap() < u64::from(TEXT_VOCAB));
        let top = entry["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        assert_eq!(top[0]["token"], entry["token"]);
        assert_eq!(top[0]["id"], entry["id"]);
        assert!(top.windows(2).all(|w| lp(&w[0]) > lp(&w[1])));
        assert_eq!(lp(&top[0]), lp(entry));
        assert!(lp(entry) < 0.0);
    }
    assert_eq!(rebuilt, a.0, "the entries spell the text");
}

#[tokio::test]
async fn logprobs_only_when_asked() {
    let plain = chat("hello there", 6, json!({}));
    let (text, entries) = chat_entries(cfg(1), &plain).await;
    assert!(entries.is_empty());
    let server = start(cfg(1)).await;
    let s = stream(&server.base_url(), CHAT, &plain).await;
    assert!(s
        .token_events()
        .iter()
        .all(|(_, c)| c["choices"][0].get("logprobs").is_none()));
    // Top 0: the chosen tokens' log-probabilities with empty lists.
    let (text0, zero) =
        chat_entries(cfg(1), &chat("hello there", 6, json!({"logprobs": true}))).await;
    assert_eq!(text0, text);
    assert!(zero.iter().all(|e| e["top_logprobs"] == json!([])));
    // llama.cpp's n_probs.
    let (_, n) = chat_entries(cfg(1), &chat("hello there", 6, json!({"n_probs": 3}))).await;
    assert!(n.iter().all(|e| top_ids(e).len() == 3));
    // Without a text seed, no log-probabilities at all.
    let mut untexted = cfg(1);
    untexted.text_seed = None;
    let asked = chat(
        "hello there",
        6,
        json!({"logprobs": true, "top_logprobs": 2}),
    );
    assert!(chat_entries(untexted, &asked).await.1.is_empty());
    // Text mode generates up front, so it caps the output length.
    let huge = chat("hello", 1 << 21, json!({}));
    let (status, _, _) = post_raw(&server.base_url(), CHAT, &huge.to_string()).await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn completions_carry_the_legacy_form_and_match_non_streaming() {
    let server = start(cfg(3).with_tokens_per_chunk(2)).await;
    let body = json!({"prompt": "once upon", "max_tokens": 7, "stream": true, "logprobs": 3});
    let s = stream(&server.base_url(), CMPL, &body).await;
    let (mut text, mut offsets, mut count) = (String::new(), Vec::new(), 0);
    for (_, chunk) in s.token_events() {
        let choice = &chunk["choices"][0];
        let lp = &choice["logprobs"];
        let tokens = lp["tokens"].as_array().unwrap();
        assert_eq!(tokens.concat_str(), choice["text"].as_str().unwrap());
        for (i, token) in tokens.iter().enumerate() {
            let top = lp["top_logprobs"][i].as_object().unwrap();
            assert_eq!(top.len(), 3);
            let best = top
                .iter()
                .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).unwrap());
            assert_eq!(best.unwrap().0, token.as_str().unwrap(), "argmax");
            assert_eq!(top[token.as_str().unwrap()], lp["token_logprobs"][i]);
            offsets.push(lp["text_offset"][i].as_u64().unwrap());
            count += 1;
        }
        text.push_str(choice["text"].as_str().unwrap());
    }
    assert_eq!(count, 7);
    assert_eq!(offsets[0], 0);
    let mut whole = body.clone();
    whole["stream"] = json!(false);
    let (status, _, raw) = post_raw(&server.base_url(), CMPL, &whole.to_string()).await;
    assert_eq!(status, 200);
    let full: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(full["choices"][0]["text"], text.as_str());
    let all = full["choices"][0]["logprobs"]["text_offset"]
        .as_array()
        .unwrap();
    assert_eq!(
        all.iter().map(|v| v.as_u64().unwrap()).collect::<Vec<_>>(),
        offsets
    );
    // /tokenize gives back the stream's ids.
    let chat_body = chat("once upon", 7, json!({"logprobs": true}));
    let (chat_text, entries) = chat_entries(cfg(3), &chat_body).await;
    let (status, _, raw) = post_raw(
        &server.base_url(),
        "/tokenize",
        &json!({"content": chat_text}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<u64> = entries.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    let mut whole_chat = chat_body.clone();
    whole_chat["stream"] = json!(false);
    let (_, _, chat_raw) = post_raw(&server.base_url(), CHAT, &whole_chat.to_string()).await;
    let full: Value = serde_json::from_str(&chat_raw).unwrap();
    assert_eq!(full["choices"][0]["message"]["content"], chat_text.as_str());
    assert_eq!(full["choices"][0]["logprobs"]["content"], json!(entries));
    let tokenized: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(tokenized["tokens"], json!(ids));
    let (_, health) = get_json(&server.base_url(), "/health").await;
    assert_eq!(health["status"], "ok");
    server.shutdown().await;
}

trait ConcatStr {
    fn concat_str(&self) -> String;
}

impl ConcatStr for Vec<Value> {
    fn concat_str(&self) -> String {
        self.iter().filter_map(Value::as_str).collect()
    }
}

#[tokio::test]
async fn divergence_at_exactly_k() {
    let k = 5usize;
    let body = chat(
        "compare me",
        12,
        json!({"logprobs": true, "top_logprobs": 5}),
    );
    let (_, base) = chat_entries(cfg(11), &body).await;
    for kind in [DivergeKind::NearTie, DivergeKind::Hard] {
        let diverge = Divergence { at: k as u32, kind };
        let (_, div) = chat_entries(cfg(11).with_diverge(Some(diverge)), &body).await;
        assert_eq!(base[..k], div[..k], "{kind:?}: identical before K");
        let (a, b) = (&base[k], &div[k]);
        assert_ne!(a["id"], b["id"], "{kind:?}: differs at K");
        let (a_id, b_id) = (a["id"].as_u64().unwrap(), b["id"].as_u64().unwrap());
        let b_top = b["top_logprobs"].as_array().unwrap();
        let gap = lp(&b_top[0]) - lp(&b_top[1]);
        match kind {
            DivergeKind::NearTie => {
                assert!(top_ids(a).contains(&b_id) && top_ids(b).contains(&a_id));
                assert!(gap > 0.0 && gap < NEAR_TIE_EPS, "{gap}");
                let a_top = a["top_logprobs"].as_array().unwrap();
                assert!(lp(&a_top[0]) - lp(&a_top[1]) < NEAR_TIE_EPS);
            }
            DivergeKind::Hard => {
                assert!(!top_ids(a).contains(&b_id) && !top_ids(b).contains(&a_id));
                assert!(gap > 1.0, "{gap}: well above ε");
            }
        }
        // Deterministic after K: the same divergence replays exactly.
        let (_, again) = chat_entries(cfg(11).with_diverge(Some(diverge)), &body).await;
        assert_eq!(div, again);
        assert_ne!(base[k + 1..], div[k + 1..], "continues on the new context");
    }
}
