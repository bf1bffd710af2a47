//! Synthesised, unique request bodies.
//!
//! Prompts are made by tokbench (no copied corpora): a unique header naming
//! the request and run nonce, then words drawn from a small built-in
//! vocabulary of common English words with a seeded RNG. The header comes
//! first so that no two prompts share a prefix beyond a few tokens, which
//! keeps server-side prefix caches from flattering prefill figures.
//!
//! Token counts are approximate here: the builder aims at
//! `prompt_tokens × words_per_token` words. Callers that can tokenize
//! (llama.cpp's `/tokenize`) calibrate `words_per_token`; the emulator
//! counts one token per word, so `1.0` is exact there.

use bytes::Bytes;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use crate::client::{Endpoint, RequestSpec};

const VOCAB: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "time",
    "people",
    "year",
    "way",
    "day",
    "man",
    "thing",
    "woman",
    "life",
    "child",
    "world",
    "school",
    "state",
    "family",
    "student",
    "group",
    "country",
    "problem",
    "hand",
    "part",
    "place",
    "case",
    "week",
    "company",
    "system",
    "program",
    "question",
    "work",
    "government",
    "number",
    "night",
    "point",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "name",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
    "good",
    "new",
    "first",
    "last",
    "long",
    "great",
    "little",
    "own",
    "other",
    "old",
    "big",
    "high",
    "different",
    "small",
    "large",
    "next",
    "early",
    "young",
    "important",
    "few",
    "public",
    "bad",
    "same",
    "able",
    "river",
    "garden",
    "window",
    "music",
    "paper",
    "table",
    "light",
    "market",
    "road",
    "stone",
];

/// A function-calling style system prompt: a JSON catalogue of synthetic
/// tools of roughly `tokens` tokens (about 60 tokens per tool for common
/// BPE tokenizers; the record stores the count actually processed).
pub fn tool_schema_prompt(tokens: u64) -> String {
    let tools = (tokens / 60).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(0x7001);
    let word = |rng: &mut ChaCha8Rng| VOCAB[rng.random_range(0..VOCAB.len())];
    let mut list = Vec::with_capacity(tools as usize);
    for i in 0..tools {
        let name = format!("{}_{}_{i}", word(&mut rng), word(&mut rng));
        let desc: Vec<&str> = (0..8).map(|_| word(&mut rng)).collect();
        let mut props = Map::new();
        for _ in 0..2 {
            let pdesc: Vec<&str> = (0..4).map(|_| word(&mut rng)).collect();
            props.insert(
                word(&mut rng).to_owned(),
                json!({"type": "string", "description": pdesc.join(" ")}),
            );
        }
        list.push(json!({
            "type": "function",
            "function": {
                "name": name,
                "description": desc.join(" "),
                "parameters": {"type": "object", "properties": props},
            }
        }));
    }
    format!(
        "You are an agent. Call one of these tools by answering with a JSON object naming it and its arguments.\nTools: {}",
        Value::Array(list)
    )
}

/// Settings that turn a request number into a unique request body.
///
/// Layout of a prompt (docs/methodology.md#prompt-cache): the shared part
/// first (`shared_prefix`, then `system_prompt`), then a unique header
/// naming the cell, the request and the run nonce, then seeded words. With
/// no shared part, a chat request carries the header as its own system
/// message, so that no chat template inserts a default system prompt that
/// every request would share.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// Endpoint to use.
    pub endpoint: Endpoint,
    /// `model` field of the body.
    pub model: String,
    /// Target length of the unique part of the prompt, tokens.
    pub prompt_tokens: u64,
    /// Output length forced with `max_tokens` (and `min_tokens`/`ignore_eos`
    /// when `force_length`).
    pub output_tokens: u64,
    /// Words emitted per target token (calibration factor, default 1.0).
    pub words_per_token: f64,
    /// Send `ignore_eos: true` and `min_tokens` so servers that accept them
    /// (llama.cpp, vLLM, SGLang) always produce `output_tokens`.
    pub force_length: bool,
    /// Optional system prompt (chat only), e.g. a tool schema; shared by
    /// every request of the template.
    pub system_prompt: Option<String>,
    /// Text every request starts with (`--prefix-cache N`), shared on
    /// purpose so that a server may serve it from its cache.
    pub shared_prefix: Option<String>,
    /// `cache_prompt` field of the body (llama.cpp: `false` asks the server
    /// to evaluate the whole prompt instead of reusing cached KV); `None`
    /// sends nothing.
    pub cache_prompt: Option<bool>,
    /// Extra top-level JSON fields merged into every body.
    pub extra: Map<String, Value>,
    /// Text appended after a newline to the system message of every chat
    /// request (a reasoning switch such as `/no_think`,
    /// [`crate::reasoning`]); `None` appends nothing.
    pub system_marker: Option<String>,
    /// Run nonce mixed into headers and the word RNG.
    pub seed: u64,
    /// Ordinal of the cell within the run, mixed into headers and the word
    /// RNG so that no two cells send the same prompt.
    pub cell: u64,
}

impl RequestTemplate {
    /// A chat template with defaults (`words_per_token` 1.0, forced length,
    /// no shared part, nothing said about caching).
    pub fn chat(model: impl Into<String>, prompt_tokens: u64, output_tokens: u64) -> Self {
        Self {
            endpoint: Endpoint::Chat,
            model: model.into(),
            prompt_tokens,
            output_tokens,
            words_per_token: 1.0,
            force_length: true,
            system_prompt: None,
            shared_prefix: None,
            cache_prompt: None,
            extra: Map::new(),
            system_marker: None,
            seed: 0x746f_6b62,
            cell: 0,
        }
    }

    /// The unique header of request `id` (two whitespace-separated words):
    /// first a 64-bit hash of (run nonce, cell, id) in hex, so that two
    /// prompts differ from their very first token, then the cell ordinal,
    /// request id and run nonce in readable form.
    pub fn header(&self, id: u64) -> String {
        format!(
            "{:016x} request-{:x}.{id:x}-{:x}:",
            self.mix(id),
            self.cell,
            self.seed
        )
    }

    /// The seed of request `id`'s words (and the start of its header): the
    /// run nonce mixed with the request id and the cell ordinal, finalised
    /// with SplitMix64's mixer (Steele, Lea & Flood, OOPSLA 2014).
    fn mix(&self, id: u64) -> u64 {
        let mut z = self.seed
            ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ self
                .cell
                .wrapping_add(1)
                .wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The unique text of request `id`: its header, then seeded words, about
    /// `prompt_tokens × words_per_token` words in all.
    pub fn prompt_text(&self, id: u64) -> String {
        let words = ((self.prompt_tokens as f64) * self.words_per_token).round() as u64;
        let header = self.header(id);
        let body_words = words.saturating_sub(2);
        let mix = id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ self
                .cell
                .wrapping_add(1)
                .wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ mix);
        let mut text = String::with_capacity(header.len() + body_words as usize * 7);
        text.push_str(&header);
        for _ in 0..body_words {
            text.push(' ');
            text.push_str(VOCAB[rng.random_range(0..VOCAB.len())]);
        }
        text
    }

    /// The shared part every prompt starts with (`shared_prefix`, then the
    /// system prompt), or `None`.
    pub fn shared_text(&self) -> Option<String> {
        match (&self.shared_prefix, &self.system_prompt) {
            (None, None) => None,
            (Some(p), None) => Some(p.clone()),
            (None, Some(s)) => Some(s.clone()),
            (Some(p), Some(s)) => Some(format!("{p}\n{s}")),
        }
    }

    /// The JSON body of request `id` (`stream: true`, usage requested).
    pub fn body(&self, id: u64) -> Value {
        let prompt = self.prompt_text(id);
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        match self.endpoint {
            Endpoint::Chat => {
                body.insert("messages".into(), Value::Array(self.messages(id, prompt)));
            }
            Endpoint::Completions => {
                let text = match self.shared_text() {
                    Some(shared) => format!("{shared}\n{prompt}"),
                    None => prompt,
                };
                body.insert("prompt".into(), json!(text));
            }
        }
        body.insert("max_tokens".into(), json!(self.output_tokens));
        if self.force_length {
            body.insert("ignore_eos".into(), json!(true));
            body.insert("min_tokens".into(), json!(self.output_tokens));
        }
        if let Some(cache) = self.cache_prompt {
            body.insert("cache_prompt".into(), json!(cache));
        }
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }

    /// Chat messages of request `id` whose unique text is `prompt`: the
    /// shared part as the system message, else the header alone.
    fn messages(&self, id: u64, prompt: String) -> Vec<Value> {
        let system = |text: String| match &self.system_marker {
            Some(marker) => json!({"role": "system", "content": format!("{text}\n{marker}")}),
            None => json!({"role": "system", "content": text}),
        };
        match self.shared_text() {
            Some(shared) => vec![system(shared), json!({"role": "user", "content": prompt})],
            None => {
                let header = self.header(id);
                let rest = prompt
                    .strip_prefix(&header)
                    .map_or(prompt.as_str(), str::trim_start);
                vec![system(header), json!({"role": "user", "content": rest})]
            }
        }
    }

    /// The ready-to-send request `id`.
    pub fn spec(&self, id: u64) -> RequestSpec {
        let body = serde_json::to_vec(&self.body(id)).unwrap_or_default();
        RequestSpec {
            endpoint: self.endpoint,
            body: Bytes::from(body),
            prompt_tokens_hint: Some(self.prompt_tokens),
        }
    }
}

/// A text of about `tokens × words_per_token` words drawn from `seed`
/// alone: the deliberately shared prefix of `--prefix-cache`.
pub fn shared_prefix_text(tokens: u64, words_per_token: f64, seed: u64) -> String {
    let words = ((tokens as f64) * words_per_token).round().max(1.0) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5f3a_11ce_d00d_cafe);
    let mut text = String::from("Shared context:");
    // "Shared context:" counts as two of the words.
    for _ in 2..words {
        text.push(' ');
        text.push_str(VOCAB[rng.random_range(0..VOCAB.len())]);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_unique_and_sized() {
        let t = RequestTemplate::chat("m", 200, 16);
        let a = t.prompt_text(1);
        let b = t.prompt_text(2);
        assert_ne!(a, b);
        let head = |s: &str| s.split(' ').take(2).collect::<Vec<_>>().join(" ");
        assert_ne!(head(&a), head(&b), "headers differ");
        // Two header words + 198 body words: exactly 200 for a word tokenizer.
        assert_eq!(a.split_whitespace().count(), 200);
    }

    #[test]
    fn prompts_are_deterministic_per_seed() {
        let t = RequestTemplate::chat("m", 50, 16);
        assert_eq!(t.prompt_text(7), t.prompt_text(7));
        let mut u = t.clone();
        u.seed = 1;
        assert_ne!(t.prompt_text(7), u.prompt_text(7));
    }

    #[test]
    fn body_forces_length_and_requests_usage() {
        let mut t = RequestTemplate::chat("m", 10, 64);
        t.system_prompt = Some("tools".into());
        t.extra.insert("temperature".into(), json!(0));
        let b = t.body(0);
        assert_eq!(b["max_tokens"], 64);
        assert_eq!(b["min_tokens"], 64);
        assert_eq!(b["ignore_eos"], true);
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"]["include_usage"], true);
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["temperature"], 0);
        assert!(b.get("cache_prompt").is_none(), "nothing said by default");
        t.force_length = false;
        t.cache_prompt = Some(false);
        let b = t.body(0);
        assert!(b.get("ignore_eos").is_none());
        assert_eq!(b["cache_prompt"], false);
    }

    #[test]
    fn system_marker_ends_the_system_message() {
        let mut t = RequestTemplate::chat("m", 10, 8);
        let plain = t.body(3)["messages"][0]["content"].clone();
        t.system_marker = Some("/no_think".into());
        let b = t.body(3);
        assert_eq!(
            b["messages"][0]["content"],
            json!(format!("{}\n/no_think", plain.as_str().unwrap()))
        );
        t.system_prompt = Some("tools".into());
        assert_eq!(t.body(3)["messages"][0]["content"], "tools\n/no_think");
        assert!(!t.body(3)["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("/no_think"));
    }

    #[test]
    fn prompts_differ_across_cells_and_runs_and_repeat_per_seed() {
        let t = RequestTemplate::chat("m", 60, 8);
        let mut other_cell = t.clone();
        other_cell.cell = 1;
        let mut other_run = t.clone();
        other_run.seed = 0x1234_5678_9abc;
        for id in 0..20 {
            // Same request number in another cell or run: another prompt,
            // from its very first word.
            for other in [&other_cell, &other_run] {
                let (a, b) = (t.prompt_text(id), other.prompt_text(id));
                let word = |s: &str| s.split(' ').next().map(str::to_owned);
                assert_ne!(word(&a), word(&b), "{a} / {b}");
                assert_ne!(a, b);
            }
            // The same seed and cell repeat exactly.
            assert_eq!(t.body(id), t.clone().body(id));
        }
    }

    #[test]
    fn first_words_are_distinct_across_requests_and_cells() {
        let mut seen = std::collections::HashSet::new();
        let mut t = RequestTemplate::chat("m", 10, 2);
        for cell in 0..4 {
            t.cell = cell;
            for id in 0..500 {
                let first = t.header(id).split(' ').next().unwrap().to_owned();
                // 16 hex digits; the first two differ in most pairs.
                assert_eq!(first.len(), 16);
                assert!(seen.insert(first), "cell {cell} id {id}");
            }
        }
    }

    #[test]
    fn chat_without_shared_part_sends_its_header_as_the_system_message() {
        let t = RequestTemplate::chat("m", 50, 8);
        let b = t.body(5);
        let sys = b["messages"][0]["content"].as_str().unwrap();
        let user = b["messages"][1]["content"].as_str().unwrap();
        assert_eq!(b["messages"][0]["role"], "system");
        assert!(sys.contains(" request-0.5-"), "{sys}");
        assert_eq!(sys.split(' ').count(), 2, "the header alone: {sys}");
        // header + user words = the whole unique prompt
        assert_eq!(format!("{sys} {user}"), t.prompt_text(5));
        assert_eq!(user.split(' ').count(), 48);
    }

    #[test]
    fn a_shared_prefix_comes_first_and_is_the_same_for_every_request() {
        let mut t = RequestTemplate::chat("m", 50, 8);
        t.system_prompt = Some("TOOLS".into());
        t.shared_prefix = Some(shared_prefix_text(30, 1.0, t.seed));
        let (a, b) = (t.body(1), t.body(2));
        let sys = a["messages"][0]["content"].as_str().unwrap();
        assert_eq!(sys, b["messages"][0]["content"].as_str().unwrap());
        assert!(sys.starts_with("Shared context:") && sys.ends_with("\nTOOLS"));
        assert_eq!(sys.split_whitespace().count(), 31); // 30 words + TOOLS
        let user = a["messages"][1]["content"].as_str().unwrap();
        assert_eq!(
            user.split(' ').nth(1),
            Some(t.header(1).split(' ').nth(1).unwrap())
        );
        // Another run nonce: another shared prefix.
        assert_ne!(
            shared_prefix_text(30, 1.0, 1),
            shared_prefix_text(30, 1.0, 2)
        );
    }

    #[test]
    fn completions_body_uses_prompt() {
        let mut t = RequestTemplate::chat("m", 10, 8);
        t.endpoint = Endpoint::Completions;
        let b = t.body(3);
        assert!(b["prompt"].as_str().unwrap().starts_with(&t.header(3)));
        assert!(b.get("messages").is_none());
    }
}
