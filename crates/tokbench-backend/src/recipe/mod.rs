//! Per-backend command lines and health checks.
//!
//! | spec field | llama.cpp | vLLM | SGLang | Ollama |
//! |---|---|---|---|---|
//! | `model` | `-m FILE` | `serve MODEL` | `--model-path M` | — (per request) |
//! | `host`, `port` | `--host --port` | `--host --port` | `--host --port` | `OLLAMA_HOST=h:p` |
//! | `parallel` | `--parallel N` | `--max-num-seqs N` | `--max-running-requests N` | `OLLAMA_NUM_PARALLEL=N` |
//! | `ctx_size` | `--ctx-size C` | `--max-model-len C` | `--context-length C` | `OLLAMA_CONTEXT_LENGTH=C` |
//! | `threads` | `--threads T` | ignored | ignored | ignored |
//! | always | `--metrics`, `--no-ui` (or older `--no-webui`) when the binary knows them | | | |
//! | `prefix_caching: false` | — (per request: `cache_prompt: false`) | `--no-enable-prefix-caching` | `--disable-radix-cache` | — |
//!
//! `extra_args` follow the generated arguments verbatim; `env` is applied
//! after the recipe's variables. Health: see [`HealthCheck`].

mod llama_cpp;
mod ollama;
mod sglang;
mod vllm;

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::redact::redact_args;
use crate::resolve::ResolvedBinary;
use crate::{BackendKind, LaunchSpec};

/// `true` when the server should be launched with its prefix cache off:
/// [`LaunchSpec::prefix_caching`] is off and no `extra_args` flag mentions
/// `topic` (the user's own setting wins).
fn disable_caching(spec: &LaunchSpec, topic: &str) -> bool {
    !spec.prefix_caching && !spec.extra_args.iter().any(|a| a.contains(topic))
}

/// A fully built command: program, arguments, extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// Program to execute.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment added to the inherited one, in order (later wins).
    pub env: Vec<(String, String)>,
}

impl CommandLine {
    /// Shell-like tokens: `NAME=value` for each variable, the program, the
    /// arguments. Secrets are *not* hidden; see [`CommandLine::redacted`].
    pub fn tokens(&self) -> Vec<String> {
        let env = self.env.iter().map(|(k, v)| format!("{k}={v}"));
        let program = std::iter::once(self.program.display().to_string());
        env.chain(program)
            .chain(self.args.iter().cloned())
            .collect()
    }

    /// [`CommandLine::tokens`] with secrets replaced by `***`
    /// ([`crate::redact`]); safe to log and record.
    pub fn redacted(&self) -> Vec<String> {
        redact_args(&self.tokens())
    }
}

/// Long flags (`--name`) a server's `--help` lists, to add optional flags
/// only where the installed version has them (an unknown flag makes
/// llama-server exit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpFlags {
    flags: BTreeSet<String>,
}

impl HelpFlags {
    /// Collects every `--flag` token of a help text (commas, `=` and `,`
    /// separated aliases handled; `--no-x` forms kept as written).
    pub fn parse(help: &str) -> Self {
        let flags = help
            .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == ']')
            .map(|t| t.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
            .filter(|t| t.len() > 2 && t.starts_with("--") && !t.starts_with("---"))
            .map(str::to_owned)
            .collect();
        Self { flags }
    }

    /// Whether `flag` (with its dashes, e.g. `"--no-webui"`) was listed.
    pub fn supports(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    /// Number of flags found; 0 means the help text was not usable.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether no flag was found.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }
}

/// Builds the command for `spec` listening on `port`.
///
/// `help` is the server's parsed `--help` (llama.cpp only): `--no-ui`
/// (newer) or `--no-webui` (older) is added only when listed; `--metrics` when listed or when `help` is
/// `None`/empty (every llama-server since 2023 has it).
pub fn build_command(
    spec: &LaunchSpec,
    bin: &ResolvedBinary,
    port: u16,
    help: Option<&HelpFlags>,
) -> CommandLine {
    let (args, env) = match spec.kind {
        BackendKind::LlamaCpp => (llama_cpp::args(spec, port, help), Vec::new()),
        BackendKind::Vllm => (vllm::args(spec, port), Vec::new()),
        BackendKind::Sglang => (sglang::args(spec, port), Vec::new()),
        BackendKind::Ollama => (Vec::new(), ollama::env(spec, port)),
    };
    let mut all_args = bin.prefix_args.clone();
    all_args.extend(args);
    all_args.extend(spec.extra_args.iter().cloned());
    let mut all_env = env;
    all_env.extend(spec.env.iter().cloned());
    CommandLine {
        program: bin.program.clone(),
        args: all_args,
        env: all_env,
    }
}

/// How readiness is decided, per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheck {
    /// llama.cpp: `GET /health` answers 200 (503 while the model loads).
    LlamaHealth,
    /// vLLM, SGLang: `GET /health` answers 200, then `GET /v1/models` does.
    HealthThenModels,
    /// Ollama: `GET /api/version` answers 200.
    OllamaVersion,
}

impl HealthCheck {
    /// The check for `kind`.
    pub fn for_kind(kind: BackendKind) -> Self {
        match kind {
            BackendKind::LlamaCpp => HealthCheck::LlamaHealth,
            BackendKind::Vllm | BackendKind::Sglang => HealthCheck::HealthThenModels,
            BackendKind::Ollama => HealthCheck::OllamaVersion,
        }
    }

    /// Paths that must all answer 200, in order.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            HealthCheck::LlamaHealth => &["/health"],
            HealthCheck::HealthThenModels => &["/health", "/v1/models"],
            HealthCheck::OllamaVersion => &["/api/version"],
        }
    }
}

pub(crate) fn push_opt<T: ToString>(args: &mut Vec<String>, flag: &str, value: Option<T>) {
    if let Some(v) = value {
        args.push(flag.to_owned());
        args.push(v.to_string());
    }
}

#[cfg(test)]
mod tests;
