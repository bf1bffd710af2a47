//! A request's deterministic text ([`crate::text`]) and the
//! log-probability objects of its chunks.
//!
//! Chat (`"logprobs": true` or `"n_probs"`): each chunk's choice carries
//! `logprobs: {"content": [entry, …]}`, one entry per token of the chunk
//! (reasoning tokens included), where an entry is
//! `{"id", "token", "logprob", "bytes", "top_logprobs": [{"id", "token",
//! "logprob", "bytes"}, …]}`: OpenAI's fields plus llama.cpp's `id` (the
//! token's vocabulary index). `top_logprobs` holds the top `k` (at most
//! 20), the chosen token first.
//!
//! Completions (`"logprobs": k` or `"n_probs"`): the legacy form
//! `{"tokens": [text…], "token_logprobs": [lp…], "top_logprobs":
//! [{text: lp, …}…], "text_offset": [n…]}`, where `text_offset` counts the
//! Unicode characters of the generated text before each token (from the
//! start of the completion, across chunks, as vLLM does without `echo`).
//! No ids in this form: `/tokenize`
//! of the text gives them.
//!
//! Non-streaming responses carry the same objects for all their tokens.

use std::ops::Range;

use bytes::BufMut;
use serde_json::{json, Map, Value};

use crate::request::Endpoint;
use crate::text::{token_piece, Step};

/// The tokens of one request in deterministic-text mode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generated {
    /// One step per token.
    steps: Vec<Step>,
    /// Text of each step's token.
    pieces: Vec<String>,
    /// Characters before each token.
    offsets: Vec<usize>,
    /// Which log-probability object to write, if asked for.
    format: Option<Endpoint>,
}

impl Generated {
    /// The text of `steps`, writing log-probabilities in `format`'s form
    /// when given.
    pub fn new(steps: Vec<Step>, format: Option<Endpoint>) -> Self {
        let pieces: Vec<String> = steps.iter().map(|s| token_piece(s.id)).collect();
        let offsets = pieces
            .iter()
            .scan(0, |at, p| {
                let here = *at;
                *at += p.chars().count();
                Some(here)
            })
            .collect();
        Generated {
            steps,
            pieces,
            offsets,
            format,
        }
    }

    /// Appends the text of tokens `range` (no JSON escaping needed).
    pub fn push_text(&self, out: &mut impl BufMut, range: Range<u32>) {
        for piece in self.slice(&self.pieces, range) {
            out.put_slice(piece.as_bytes());
        }
    }

    /// Text of tokens `range`, concatenated.
    pub fn text(&self, range: Range<u32>) -> String {
        self.slice(&self.pieces, range).concat()
    }

    fn slice<'a, T>(&self, items: &'a [T], range: Range<u32>) -> &'a [T] {
        let end = (range.end as usize).min(items.len());
        let start = (range.start as usize).min(end);
        &items[start..end]
    }

    /// The choice's `logprobs` object for tokens `range`, if asked for.
    pub fn logprobs(&self, range: Range<u32>) -> Option<Value> {
        match self.format? {
            Endpoint::Chat => Some(self.chat(range)),
            Endpoint::Completions => Some(self.legacy(range)),
        }
    }

    fn entry(id: u32, logprob: f64) -> Map<String, Value> {
        let piece = token_piece(id);
        let mut map = Map::new();
        map.insert("id".into(), Value::from(id));
        map.insert("token".into(), Value::from(piece.as_str()));
        map.insert("logprob".into(), Value::from(logprob));
        map.insert("bytes".into(), Value::from(piece.as_bytes().to_vec()));
        map
    }

    fn chat(&self, range: Range<u32>) -> Value {
        let content: Vec<Value> = self
            .slice(&self.steps, range)
            .iter()
            .map(|step| {
                let mut entry = Self::entry(step.id, step.logprob);
                let top: Vec<Value> = step
                    .top
                    .iter()
                    .map(|&(id, lp)| Value::Object(Self::entry(id, lp)))
                    .collect();
                entry.insert("top_logprobs".into(), Value::Array(top));
                Value::Object(entry)
            })
            .collect();
        json!({ "content": content })
    }

    fn legacy(&self, range: Range<u32>) -> Value {
        let steps = self.slice(&self.steps, range.clone());
        let tokens = self.slice(&self.pieces, range.clone());
        let offsets = self.slice(&self.offsets, range);
        let top: Vec<Value> = steps
            .iter()
            .map(|step| {
                let map: Map<String, Value> = step
                    .top
                    .iter()
                    .map(|&(id, lp)| (token_piece(id), Value::from(lp)))
                    .collect();
                Value::Object(map)
            })
            .collect();
        json!({
            "tokens": tokens,
            "token_logprobs": steps.iter().map(|s| s.logprob).collect::<Vec<_>>(),
            "top_logprobs": top,
            "text_offset": offsets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::generate;

    #[test]
    fn chat_and_legacy_shapes() {
        let steps = generate(1, 2, 5, None, Some(3));
        let chat = Generated::new(steps.clone(), Some(Endpoint::Chat));
        let lp = chat.logprobs(1..3).unwrap();
        let content = lp["content"].as_array().unwrap();
        assert_eq!(content.len(), 2);
        assert_eq!(content[0]["id"], steps[1].id);
        assert_eq!(content[0]["token"], chat.text(1..2));
        assert_eq!(content[0]["top_logprobs"].as_array().unwrap().len(), 3);
        assert_eq!(content[0]["top_logprobs"][0]["token"], content[0]["token"]);
        let legacy = Generated::new(steps, Some(Endpoint::Completions));
        let lp = legacy.logprobs(2..5).unwrap();
        assert_eq!(lp["tokens"].as_array().unwrap().len(), 3);
        let before = legacy.text(0..2).chars().count();
        assert_eq!(lp["text_offset"][0], before);
        assert_eq!(lp["top_logprobs"][0].as_object().unwrap().len(), 3);
        assert!(Generated::new(Vec::new(), None).logprobs(0..0).is_none());
    }
}
