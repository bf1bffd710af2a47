//! Workload shapes: named (prompt, output) token budgets shipped in
//! `shapes.yaml` and extendable by users.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::prompt::RequestTemplate;

/// The shapes shipped with tokbench.
pub const BUILTIN_SHAPES: &str = include_str!("../shapes.yaml");

/// What bounds a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stresses {
    /// Prompt processing dominates.
    Prefill,
    /// Token generation dominates.
    Decode,
    /// Both matter.
    Mixed,
}

/// The system prompt a shape carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemPrompt {
    /// None.
    #[default]
    None,
    /// A synthesised JSON catalogue of tools (function-calling shaped).
    ToolSchema,
}

/// One workload shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Prompt tokens (system prompt included).
    pub prompt_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// System prompt kind.
    #[serde(default)]
    pub system_prompt: SystemPrompt,
    /// Share of `prompt_tokens` spent on the system prompt (0–1).
    #[serde(default)]
    pub system_share: f64,
    /// What bounds it.
    pub stresses: Stresses,
    /// One sentence for tables and the site.
    pub description: String,
}

/// A shapes file: the shapes and the default selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeSet {
    /// Shapes run when none is selected.
    #[serde(default)]
    pub default: Vec<String>,
    /// Shapes by name.
    pub shapes: BTreeMap<String, Shape>,
}

/// Errors loading or selecting shapes.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// The file could not be read.
    #[error("could not read shapes file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid shapes file.
    #[error("invalid shapes file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong (with line when known).
        message: String,
    },
    /// A selected shape does not exist.
    #[error("unknown shape `{name}` (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Known names.
        known: String,
    },
}

impl ShapeSet {
    /// The shipped shapes.
    ///
    /// # Errors
    /// Only if the shipped file is broken (a test guards it).
    pub fn builtin() -> Result<Self, ShapeError> {
        Self::parse(BUILTIN_SHAPES, "<builtin shapes.yaml>")
    }

    /// Parses a shapes document; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ShapeError::Parse`] with the parser's message (line included).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ShapeError> {
        serde_saphyr::from_str(text).map_err(|e| ShapeError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })
    }

    /// Adds (or replaces) the shapes of a user file.
    ///
    /// # Errors
    /// I/O or parse errors naming the file.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), ShapeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ShapeError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let extra = Self::parse(&text, &path.display().to_string())?;
        self.shapes.extend(extra.shapes);
        if !extra.default.is_empty() {
            self.default = extra.default;
        }
        Ok(())
    }

    /// Resolves a selection (empty = the default list), scaled by `scale`
    /// (token budgets × scale, prompt ≥ 4, output ≥ 2).
    ///
    /// # Errors
    /// [`ShapeError::Unknown`] for a name not in the set.
    pub fn select(&self, names: &[String], scale: f64) -> Result<Vec<(String, Shape)>, ShapeError> {
        let names = if names.is_empty() {
            &self.default
        } else {
            names
        };
        names
            .iter()
            .map(|name| {
                let shape = self.shapes.get(name).ok_or_else(|| ShapeError::Unknown {
                    name: name.clone(),
                    known: self.shapes.keys().cloned().collect::<Vec<_>>().join(", "),
                })?;
                let mut s = shape.clone();
                s.prompt_tokens = ((s.prompt_tokens as f64 * scale).round() as u64).max(4);
                s.output_tokens = ((s.output_tokens as f64 * scale).round() as u64).max(2);
                Ok((name.clone(), s))
            })
            .collect()
    }
}

impl Shape {
    /// A request template for this shape (chat endpoint).
    pub fn template(&self, model: &str) -> RequestTemplate {
        let mut t = RequestTemplate::chat(model, self.prompt_tokens, self.output_tokens);
        if self.system_prompt == SystemPrompt::ToolSchema {
            let share = self.system_share.clamp(0.0, 0.95);
            let sys_tokens = (self.prompt_tokens as f64 * share).round() as u64;
            t.system_prompt = Some(crate::prompt::tool_schema_prompt(sys_tokens));
            t.prompt_tokens = self.prompt_tokens.saturating_sub(sys_tokens).max(4);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_shapes_parse_and_default_to_four() {
        let set = ShapeSet::builtin().unwrap();
        assert_eq!(set.default, ["chat", "rag", "codegen", "agent"]);
        let chat = &set.shapes["chat"];
        assert_eq!((chat.prompt_tokens, chat.output_tokens), (200, 256));
        assert_eq!(set.shapes["prefill"].prompt_tokens, 10_000);
        assert!(set.shapes.contains_key("pp512") && set.shapes.contains_key("tg128"));
    }

    #[test]
    fn selection_and_scale() {
        let set = ShapeSet::builtin().unwrap();
        let sel = set.select(&["rag".into()], 0.1).unwrap();
        assert_eq!(sel[0].0, "rag");
        assert_eq!((sel[0].1.prompt_tokens, sel[0].1.output_tokens), (400, 26));
        assert_eq!(set.select(&[], 1.0).unwrap().len(), 4);
        let err = set.select(&["nope".into()], 1.0).unwrap_err().to_string();
        assert!(
            err.contains("unknown shape `nope`") && err.contains("chat"),
            "{err}"
        );
    }

    #[test]
    fn user_file_extends_and_reports_errors() {
        let dir = std::env::temp_dir().join(format!("tb-shapes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.yaml");
        std::fs::write(&good, "shapes:\n  tiny:\n    prompt_tokens: 10\n    output_tokens: 5\n    stresses: decode\n    description: tiny\n").unwrap();
        let mut set = ShapeSet::builtin().unwrap();
        set.extend_from_file(&good).unwrap();
        assert_eq!(set.shapes["tiny"].output_tokens, 5);
        assert_eq!(set.default.len(), 4, "default kept when the file has none");
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, "shapes:\n  x:\n    prompt_tokens: ten\n").unwrap();
        let err = set.extend_from_file(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn agent_template_carries_a_tool_schema() {
        let set = ShapeSet::builtin().unwrap();
        let t = set.shapes["agent"].template("m");
        let sys = t.system_prompt.as_deref().unwrap();
        assert!(sys.contains("\"name\""), "{sys}");
        assert_eq!(t.prompt_tokens, 1500 - 1050);
    }
}
