//! Command-template backends: any engine launched from a command line
//! with placeholders ([`CommandTemplate`]), a configurable health check
//! ([`TemplateHealth`]) and an optional version command, together a
//! [`TemplateEngine`].
//!
//! ```text
//! my-engine serve --model {model} --host {host} --port {port} {args}
//! ```
//!
//! The template is split into words like a POSIX shell would (quotes and
//! backslashes; the `shlex` crate) and is never run through a shell.
//! Placeholders ([`PLACEHOLDERS`]) may stand inside a word
//! (`--port={port}`); `{args}` must be a word of its own and expands to
//! the `--backend-arg`s as separate arguments. A brace pair around
//! anything that is not a lower-case identifier (`{"a": 1}`) is literal
//! text; an unknown identifier (`{modle}`) is an error, found when the
//! template is parsed, before anything is launched.

use std::collections::BTreeMap;
use std::path::Path;

use crate::recipe::CommandLine;

/// The placeholders a template may use.
pub const PLACEHOLDERS: &str = "{model} {host} {port} {threads} {ctx_size} {parallel} {args}";

/// Why a template or an engine definition is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template cannot be split into words (an unclosed quote or a
    /// trailing backslash).
    #[error("the command template {template:?} cannot be split into words (an unclosed quote or a trailing backslash?)")]
    Split {
        /// The template as given.
        template: String,
    },
    /// The template has no words.
    #[error("the command template is empty; give the program and its arguments, e.g. 'my-engine serve --port {{port}}'")]
    Empty,
    /// A `{name}` that is not one of [`PLACEHOLDERS`].
    #[error("unknown placeholder {{{name}}} in the command template {template:?}; known: {PLACEHOLDERS}")]
    UnknownPlaceholder {
        /// The name between the braces.
        name: String,
        /// The template as given.
        template: String,
    },
    /// `{args}` inside a longer word, or as the program.
    #[error("{{args}} must be a word of its own after the program in {template:?} (it expands to the --backend-args as separate arguments)")]
    ArgsNotAWord {
        /// The template as given.
        template: String,
    },
    /// A recipe-only operation (`identify`) was asked of a template
    /// engine.
    #[error("a template engine has no built-in recipe identity; use its template identity")]
    NoRecipe,
    /// A log-line health pattern that is not a valid regular expression.
    #[error("the health log pattern {pattern:?} is not a valid regular expression: {message}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// The regex crate's message (first line).
        message: String,
    },
}

/// A value a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Model,
    Host,
    Port,
    Threads,
    CtxSize,
    Parallel,
}

impl Var {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "model" => Var::Model,
            "host" => Var::Host,
            "port" => Var::Port,
            "threads" => Var::Threads,
            "ctx_size" => Var::CtxSize,
            "parallel" => Var::Parallel,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    /// `{args}`: zero or more arguments.
    Args,
    /// Text with placeholders: exactly one argument.
    Text(Vec<Piece>),
}

/// A parsed command template: checked words with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    source: String,
    words: Vec<Word>,
}

/// The values placeholders expand to.
#[derive(Debug, Clone, Copy)]
pub struct TemplateValues<'a> {
    /// `{model}`: the model path or id as given.
    pub model: &'a Path,
    /// `{host}`: the interface to listen on.
    pub host: &'a str,
    /// `{port}`: the port to listen on.
    pub port: u16,
    /// `{threads}`: CPU threads.
    pub threads: usize,
    /// `{ctx_size}`: context size, tokens.
    pub ctx_size: u64,
    /// `{parallel}`: requests served concurrently.
    pub parallel: usize,
    /// `{args}`: the pass-through arguments, one argv item each.
    pub args: &'a [String],
}

impl CommandTemplate {
    /// Splits `template` into words like a shell would and checks every
    /// placeholder.
    ///
    /// # Errors
    /// [`TemplateError::Split`], [`TemplateError::Empty`],
    /// [`TemplateError::UnknownPlaceholder`], [`TemplateError::ArgsNotAWord`].
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let split = shlex::split(template).ok_or_else(|| TemplateError::Split {
            template: template.to_owned(),
        })?;
        if split.is_empty() {
            return Err(TemplateError::Empty);
        }
        let words = split
            .iter()
            .map(|w| parse_word(w, template))
            .collect::<Result<Vec<_>, _>>()?;
        if words[0] == Word::Args {
            return Err(TemplateError::ArgsNotAWord {
                template: template.to_owned(),
            });
        }
        Ok(Self {
            source: template.to_owned(),
            words,
        })
    }

    /// The template as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The program word as written (placeholders unexpanded), e.g.
    /// `"my-engine"`; its file name names an engine given by template.
    pub fn program_name(&self) -> String {
        let first = match self.words.first() {
            Some(Word::Text(pieces)) => pieces
                .iter()
                .map(|p| match p {
                    Piece::Lit(s) => s.as_str(),
                    Piece::Var(_) => "",
                })
                .collect::<String>(),
            _ => String::new(),
        };
        Path::new(&first)
            .file_name()
            .map_or(first.clone(), |n| n.to_string_lossy().into_owned())
    }

    /// The words with every placeholder replaced: program first.
    pub fn expand(&self, values: &TemplateValues<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for word in &self.words {
            match word {
                Word::Args => out.extend(values.args.iter().cloned()),
                Word::Text(pieces) => out.push(pieces.iter().map(|p| piece(p, values)).collect()),
            }
        }
        out
    }
}

fn piece(p: &Piece, v: &TemplateValues<'_>) -> String {
    match p {
        Piece::Lit(s) => s.clone(),
        Piece::Var(Var::Model) => v.model.display().to_string(),
        Piece::Var(Var::Host) => v.host.to_owned(),
        Piece::Var(Var::Port) => v.port.to_string(),
        Piece::Var(Var::Threads) => v.threads.to_string(),
        Piece::Var(Var::CtxSize) => v.ctx_size.to_string(),
        Piece::Var(Var::Parallel) => v.parallel.to_string(),
    }
}

/// The placeholder name at the start of `s` (just after a `{`): a
/// lower-case identifier followed by `}`; `None` for anything else.
fn placeholder_at(s: &str) -> Option<&str> {
    let len = s
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    let name = &s[..len];
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    (starts_well && s[len..].starts_with('}')).then_some(name)
}

fn parse_word(word: &str, template: &str) -> Result<Word, TemplateError> {
    if word == "{args}" {
        return Ok(Word::Args);
    }
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        lit.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(name) = placeholder_at(after) else {
            lit.push('{');
            rest = after;
            continue;
        };
        let var = Var::from_name(name).ok_or_else(|| match name {
            "args" => TemplateError::ArgsNotAWord {
                template: template.to_owned(),
            },
            _ => TemplateError::UnknownPlaceholder {
                name: name.to_owned(),
                template: template.to_owned(),
            },
        })?;
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Var(var));
        rest = &after[name.len() + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(Word::Text(pieces))
}

/// How a template engine's readiness is decided.
#[derive(Debug, Clone)]
pub enum TemplateHealth {
    /// `GET path` answers 200 (the default: `/health`).
    Http {
        /// Path, starting with `/`.
        path: String,
    },
    /// `GET /v1/models` answers 200 and lists at least one model.
    ModelListed,
    /// A line of this launch's log matches the regular expression.
    LogLine(regex::Regex),
}

impl Default for TemplateHealth {
    fn default() -> Self {
        TemplateHealth::Http {
            path: "/health".to_owned(),
        }
    }
}

impl TemplateHealth {
    /// A [`TemplateHealth::LogLine`] check.
    ///
    /// # Errors
    /// [`TemplateError::BadPattern`].
    pub fn log_line(pattern: &str) -> Result<Self, TemplateError> {
        regex::Regex::new(pattern)
            .map(TemplateHealth::LogLine)
            .map_err(|e| TemplateError::BadPattern {
                pattern: pattern.to_owned(),
                message: e.to_string().lines().last().unwrap_or_default().to_owned(),
            })
    }

    /// A short description for messages and records, e.g.
    /// `GET /health answers 200`.
    pub fn describe(&self) -> String {
        match self {
            TemplateHealth::Http { path } => format!("GET {path} answers 200"),
            TemplateHealth::ModelListed => "GET /v1/models lists a model".to_owned(),
            TemplateHealth::LogLine(re) => format!("a log line matches {:?}", re.as_str()),
        }
    }
}

/// An engine launched from a command template.
#[derive(Debug, Clone)]
pub struct TemplateEngine {
    /// The engine's name as recorded: its backends-file name, else the
    /// template's program name.
    pub name: String,
    /// The command.
    pub command: CommandTemplate,
    /// When it is ready.
    pub health: TemplateHealth,
    /// A command whose output (first non-empty line) is the version,
    /// e.g. `["my-engine", "--version"]`; run once the server is healthy.
    pub version_command: Option<Vec<String>>,
    /// Environment added to the inherited one (after the launch's own).
    pub env: Vec<(String, String)>,
    /// Where it was defined, for the record: `--backend-cmd` or
    /// `engines.yaml` (the backends file's name).
    pub origin: String,
    /// Swept parameter name → the engine's flag spelling (the backends
    /// file's `flags:`, e.g. `kappa` → `--kappa-value`); a name not here
    /// is passed as `--NAME`. Empty for `--backend-cmd`.
    pub flag_spellings: BTreeMap<String, String>,
}

impl TemplateEngine {
    /// An engine from a `--backend-cmd` template: named after its
    /// program, default health check, no version command.
    ///
    /// # Errors
    /// Those of [`CommandTemplate::parse`].
    pub fn from_command(template: &str) -> Result<Self, TemplateError> {
        let command = CommandTemplate::parse(template)?;
        Ok(Self {
            name: command.program_name(),
            command,
            health: TemplateHealth::default(),
            version_command: None,
            env: Vec::new(),
            origin: "--backend-cmd".to_owned(),
            flag_spellings: BTreeMap::new(),
        })
    }

    /// The command line for `values`, with `extra_env` (the launch's
    /// environment) before the engine's own variables.
    pub fn command_line(
        &self,
        values: &TemplateValues<'_>,
        extra_env: &[(String, String)],
    ) -> CommandLine {
        let mut words = self.command.expand(values).into_iter();
        let program = words.next().unwrap_or_default();
        let mut env = extra_env.to_vec();
        env.extend(self.env.iter().cloned());
        CommandLine {
            program: program.into(),
            args: words.collect(),
            env,
        }
    }

    /// The record's `build_info` for this engine: says it is a template
    /// backend and where it was defined.
    pub fn build_info(&self) -> String {
        format!("template backend ({})", self.origin)
    }
}

#[cfg(test)]
mod tests;
