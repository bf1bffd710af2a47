//! Prompt sets: the built-in set of 10 diverse prompts ([`builtin`],
//! versioned as [`BUILTIN_NAME`]) and user sets read from JSON Lines
//! ([`read_prompts`]).
//!
//! **File format** (`--prompts FILE.jsonl`): one JSON object per line,
//! blank lines ignored:
//!
//! ```text
//! {"id": "greeting", "category": "chat", "messages": [{"role": "user", "content": "Hi!"}]}
//! {"id": "fox", "text": "The quick brown fox"}
//! ```
//!
//! `id` is required and unique; `category` is optional (default
//! `custom`); exactly one of `messages` (a chat, sent to
//! `/v1/chat/completions`) or `text` (raw completion text, sent to
//! `/v1/completions`).
//!
//! **Hash**: [`PromptSet::sha256`] is the SHA-256 of the canonical JSON
//! Lines text (each prompt serialised by serde_json in field order, `\n`
//! after each), so two files with the same prompts in the same order hash
//! the same whatever their spacing.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::CrossvalError;

/// Name (and version) of the built-in prompt set. A change to any
/// built-in prompt bumps the version, so golden files stay comparable.
pub const BUILTIN_NAME: &str = "builtin-v1";

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

/// One prompt: a chat or raw completion text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    /// Unique id within the set; outputs are paired on it.
    pub id: String,
    /// What the prompt exercises.
    #[serde(default = "default_category")]
    pub category: String,
    /// A chat (sent to `/v1/chat/completions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Raw completion text (sent to `/v1/completions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

fn default_category() -> String {
    "custom".into()
}

impl Prompt {
    fn chat(id: &str, category: &str, messages: &[(&str, &str)]) -> Self {
        Prompt {
            id: id.into(),
            category: category.into(),
            messages: Some(
                messages
                    .iter()
                    .map(|(role, content)| Message {
                        role: (*role).into(),
                        content: (*content).into(),
                    })
                    .collect(),
            ),
            text: None,
        }
    }

    /// The text a report shows for the prompt: the last message's content,
    /// or the raw text.
    pub fn display_text(&self) -> &str {
        match (&self.messages, &self.text) {
            (Some(m), _) => m.last().map_or("", |m| m.content.as_str()),
            (None, Some(t)) => t,
            (None, None) => "",
        }
    }
}

/// A named, hashed list of prompts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSet {
    /// [`BUILTIN_NAME`], or the file name of a user set.
    pub name: String,
    /// The prompts in order.
    pub prompts: Vec<Prompt>,
}

impl PromptSet {
    /// SHA-256 of the canonical JSON Lines text, lower-case hex (see the
    /// [module docs](self)).
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for p in &self.prompts {
            // A struct of strings always serialises.
            h.update(serde_json::to_string(p).unwrap_or_default().as_bytes());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The built-in set of 10 prompts: short chat, code, arithmetic,
/// multilingual (CJK and emoji), long context (about 2,000 tokens), a
/// tool-call-shaped prompt, step-by-step reasoning, JSON output, a poem
/// and a raw completion.
pub fn builtin() -> PromptSet {
    let long = long_context_document();
    let prompts = vec![
        Prompt::chat("chat-short", "chat", &[("user", "What is the capital of France? Answer in one sentence.")]),
        Prompt::chat("code", "code", &[("user", "Write a Python function `fib(n)` that returns the n-th Fibonacci number iteratively, with a docstring.")]),
        Prompt::chat("arithmetic", "arithmetic", &[("user", "What is 17 * 23? Show the multiplication step by step, then give the result.")]),
        Prompt::chat("multilingual", "multilingual", &[("user", "Translate into Japanese and Chinese: \"Good morning, the weather is nice today.\" 🌞 然后用一句话解释“早上好”的用法。")]),
        Prompt::chat("long-context", "long-context", &[("user", long.as_str())]),
        Prompt::chat("tool-call", "tool-call", &[
            ("system", "You can call tools. Tools: get_weather(city: string, unit: \"celsius\" | \"fahrenheit\"). To call a tool, answer only with JSON: {\"tool\": name, \"arguments\": {...}}."),
            ("user", "What's the weather in Paris right now, in celsius?"),
        ]),
        Prompt::chat("think", "reasoning", &[("user", "Think step by step: a farmer has 17 sheep, all but 9 run away, then he buys 4 more. How many sheep does he have?")]),
        Prompt::chat("json", "structured", &[("user", "List the three primary colours as a JSON array of objects with keys \"name\" and \"hex\". Output only JSON.")]),
        Prompt::chat("poem", "creative", &[("user", "Write a four-line poem about the sea at night.")]),
        Prompt {
            id: "completion".into(),
            category: "completion".into(),
            messages: None,
            text: Some("The history of the printing press begins".into()),
        },
    ];
    PromptSet {
        name: BUILTIN_NAME.into(),
        prompts,
    }
}

/// A maintenance log of 80 dated readings followed by a question about it
/// (deterministic; about 2,000 tokens with common tokenizers).
fn long_context_document() -> String {
    const ROOMS: [&str; 5] = ["north", "east", "south", "west", "central"];
    const NOTES: [&str; 4] = [
        "the door was left open",
        "the calibration sticker was renewed",
        "nothing unusual was observed",
        "a fan was running nearby",
    ];
    let mut doc = String::from("Here is a maintenance log.\n\n");
    for day in 1..=80u32 {
        // A fixed, irregular sequence; day 73 has the highest reading.
        let reading = if day == 73 {
            997
        } else {
            (day * 37 + 11) % 900 + 50
        };
        doc.push_str(&format!(
            "Day {day}: the sensor in the {} room read {reading} units; {}.\n",
            ROOMS[(day % 5) as usize],
            NOTES[(day % 4) as usize]
        ));
    }
    doc.push_str("\nOn which day was the highest reading, in which room, and what was it?");
    doc
}

/// Reads a JSON Lines prompt file (format in the [module docs](self)).
///
/// # Errors
///
/// [`CrossvalError::Io`] when the file cannot be read;
/// [`CrossvalError::Parse`] naming the file and line of a line that is not
/// a prompt, that has both or neither of `messages` and `text`, an empty
/// chat, or a repeated id; and on a file without prompts (line 1).
pub fn read_prompts(path: &Path) -> Result<PromptSet, CrossvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| CrossvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, column: usize, message: String| CrossvalError::Parse {
        path: path.to_owned(),
        line,
        column,
        message,
    };
    let mut prompts = Vec::new();
    let mut ids = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let p: Prompt =
            serde_json::from_str(raw).map_err(|e| bad(i + 1, e.column(), e.to_string()))?;
        let shape_ok = match (&p.messages, &p.text) {
            (Some(m), None) => !m.is_empty(),
            (None, Some(_)) => true,
            _ => false,
        };
        if !shape_ok {
            return Err(bad(
                i + 1,
                1,
                "a prompt needs exactly one of a non-empty `messages` or `text`".into(),
            ));
        }
        if !ids.insert(p.id.clone()) {
            return Err(bad(
                i + 1,
                1,
                format!("prompt id {:?} occurs more than once", p.id),
            ));
        }
        prompts.push(p);
    }
    if prompts.is_empty() {
        return Err(bad(1, 1, "no prompts in the file".into()));
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(PromptSet { name, prompts })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn builtin_set_has_ten_distinct_prompts_and_a_stable_hash() {
        let set = builtin();
        assert_eq!(set.prompts.len(), 10);
        let ids: HashSet<_> = set.prompts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), 10);
        assert_eq!(set.sha256(), builtin().sha256());
        assert_eq!(set.sha256().len(), 64);
        let long = set.prompts.iter().find(|p| p.id == "long-context").unwrap();
        // About 2,000 tokens (2,023 with SmolLM2): over 6,000 characters.
        assert!(
            long.display_text().len() > 6_000,
            "{}",
            long.display_text().len()
        );
        assert!(set.prompts.iter().any(|p| p.display_text().contains('🌞')));
    }

    #[test]
    fn a_file_round_trips_to_the_same_hash_whatever_its_spacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(
            &path,
            "{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n\n{ \"id\":\"b\",\"text\":\"fox\" }\n",
        )
        .unwrap();
        let set = read_prompts(&path).unwrap();
        assert_eq!(set.name, "p.jsonl");
        assert_eq!(set.prompts[0].category, "custom");
        assert_eq!(set.prompts[1].display_text(), "fox");
        let compact = dir.path().join("q.jsonl");
        std::fs::write(
            &compact,
            "{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}\n{\"id\":\"b\",\"text\":\"fox\"}\n",
        )
        .unwrap();
        assert_eq!(read_prompts(&compact).unwrap().sha256(), set.sha256());
    }

    #[test]
    fn bad_lines_are_named_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        for (body, line, needle) in [
            (
                "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}\n",
                2,
                "more than once",
            ),
            ("{\"id\":\"a\"}\n", 1, "exactly one"),
            (
                "{\"id\":\"a\",\"text\":\"x\",\"messages\":[]}\n",
                1,
                "exactly one",
            ),
            ("{\"id\":\"a\",\"text\":\"x\"}\nnot json\n", 2, "expected"),
            ("{\"id\":\"a\",\"txt\":\"x\"}\n", 1, "unknown field"),
            ("\n\n", 1, "no prompts"),
        ] {
            std::fs::write(&path, body).unwrap();
            let err = read_prompts(&path).unwrap_err();
            match &err {
                CrossvalError::Parse {
                    line: l, message, ..
                } => {
                    assert_eq!(*l, line, "{body:?}: {err}");
                    assert!(message.contains(needle), "{body:?}: {message}");
                }
                other => panic!("{body:?}: expected a parse error, got {other:?}"),
            }
            assert!(err.to_string().contains("bad.jsonl"), "{err}");
        }
    }
}
