//! `tokbench crossval`'s arguments and what a side argument names.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokbench_backend::TemplateEngine;

use crate::cmd::run::{parse_backend_cmd, BackendArg};

/// Most top-k log-probabilities a request may ask for (OpenAI's limit).
pub const MAX_TOP_LOGPROBS: u32 = 20;

/// Same weights, same answer? Token-for-token agreement of two sides'
/// greedy outputs on a prompt set, with divergences classified (near-tie
/// or hard), top-1 agreement, KL on the shared top-k, and each side's
/// self-consistency. Definitions: docs/methodology.md#crossval.
#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES_CROSSVAL)]
pub struct CrossvalArgs {
    /// Side A (the reference): a model file to launch, a server URL
    /// (http://…), or a golden file (*.json) from --save-golden.
    #[arg(value_name = "A")]
    pub a: String,
    /// Side B, as A; default: A again (with --b-arg/--b-backend-bin
    /// applied), e.g. one model with and without a flag.
    #[arg(value_name = "B")]
    pub b: Option<String>,
    /// Backend to launch for model files.
    #[arg(long, value_enum, default_value_t = BackendArg::LlamaCpp)]
    pub backend: BackendArg,
    /// Flag passed to side A's launched backend (repeat: --a-arg=-fa --a-arg=on).
    #[arg(long = "a-arg", allow_hyphen_values = true)]
    pub a_args: Vec<String>,
    /// Flag passed to side B's launched backend (repeat: --b-arg=-ctk --b-arg=q4_0).
    #[arg(long = "b-arg", allow_hyphen_values = true)]
    pub b_args: Vec<String>,
    /// Side A's backend binary (default: as `tokbench run --backend-bin`).
    #[arg(long)]
    pub a_backend_bin: Option<PathBuf>,
    /// Side B's backend binary, e.g. a new build against an old one.
    #[arg(long)]
    pub b_backend_bin: Option<PathBuf>,
    /// Launch side A's model with this command template instead of
    /// --backend (as `tokbench run --backend-cmd`; --a-args fill {args}).
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_backend_cmd,
          conflicts_with = "a_backend_bin")]
    pub a_backend_cmd: Option<TemplateEngine>,
    /// Launch side B's model with this command template instead of
    /// --backend, e.g. your engine against llama.cpp on the same GGUF.
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_backend_cmd,
          conflicts_with = "b_backend_bin")]
    pub b_backend_cmd: Option<TemplateEngine>,
    /// Model id to request from side A's URL (default: the first listed).
    #[arg(long)]
    pub a_model: Option<String>,
    /// Model id to request from side B's URL (default: the first listed).
    #[arg(long)]
    pub b_model: Option<String>,
    /// Bearer token for URL sides; never printed or recorded.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// CPU threads of launched backends (default: physical cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Context size of launched backends (default: fits the longest prompt).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub ctx_size: Option<u64>,
    /// How long to wait for a launched backend to become healthy.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub health_timeout: Duration,
    /// Prompt set: JSON Lines of {"id", "category"?, "messages" | "text"}
    /// (default: the built-in set of 10, builtin-v1).
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Most tokens generated per prompt (max_tokens).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    pub tokens: u64,
    /// Top-k log-probabilities asked for per position (0..=20; 0 = none,
    /// divergences are then unclassified).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_TOP_LOGPROBS)))]
    pub top_logprobs: u32,
    /// Near-tie threshold ε, nats (≥ 0).
    #[arg(long, default_value_t = tokbench_crossval::divergence::DEFAULT_EPSILON_NATS, value_parser = non_negative_f64)]
    pub epsilon: f64,
    /// Seed sent with every request.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also run each server side at this concurrency and compare with its
    /// run at 1 (batch invariance); launched backends get this many slots.
    #[arg(short = 'c', long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: u64,
    /// Skip the second run of each server side (self-consistency).
    #[arg(long)]
    pub no_self_check: bool,
    /// Write side A's outputs to this golden file (JSON), to check later
    /// builds against without running A again.
    #[arg(long)]
    pub save_golden: Option<PathBuf>,
    /// Folder for the crossval record (default: ./runs).
    #[arg(long, conflicts_with = "no_record")]
    pub runs_dir: Option<PathBuf>,
    /// Do not write a record.
    #[arg(long)]
    pub no_record: bool,
    /// Exit 6 unless at least N prompts are identical.
    #[arg(long)]
    pub min_identical: Option<u64>,
    /// Exit 6 when more than N divergences are hard.
    #[arg(long)]
    pub max_hard: Option<u64>,
    /// Exit 6 unless top-1 agreement is at least this fraction (0..=1).
    #[arg(long, value_parser = fraction)]
    pub min_top1: Option<f64>,
}

/// The exit codes of `tokbench crossval`.
pub const EXIT_CODES_CROSSVAL: &str = "\
Exit codes:
  0  compared (and every --min-identical/--max-hard/--min-top1 bar met)
  1  failure (bad prompt or golden file, missing binary or model, unreachable server)
  2  usage error
  3  incomplete: a side's server failed part-way; the prompts it answered are
     compared and recorded (run.incomplete_reason)
  6  a --min-identical/--max-hard/--min-top1 bar was missed

Definitions (identical, near-tie, hard, top-1 agreement, KL, the pre-check):
docs/methodology.md#crossval";

fn non_negative_f64(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a finite number ≥ 0")),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a fraction between 0 and 1")),
    }
}

/// What a side argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideArg {
    /// A model file (or id) to launch.
    Model(PathBuf),
    /// A running server's base URL.
    Url(String),
    /// A golden file.
    Golden(PathBuf),
}

impl SideArg {
    /// `http://`/`https://` → URL; `*.json` → golden file; else a model.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            SideArg::Url(s.to_owned())
        } else if Path::new(s)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            SideArg::Golden(PathBuf::from(s))
        } else {
            SideArg::Model(PathBuf::from(s))
        }
    }
}

impl CrossvalArgs {
    /// Side A's and side B's arguments (B defaults to A).
    pub fn sides(&self) -> (SideArg, SideArg) {
        let a = SideArg::parse(&self.a);
        let b = self.b.as_deref().map_or_else(|| a.clone(), SideArg::parse);
        (a, b)
    }

    /// Flags that mean nothing for the sides given, as usage errors
    /// (exit 2): launch flags without a model side, URL flags without a
    /// URL side, `-c`/`--no-self-check` with two golden sides.
    pub fn check_usage(&self) -> Result<(), String> {
        let (a, b) = self.sides();
        let model = |s: &SideArg| matches!(s, SideArg::Model(_));
        let url = |s: &SideArg| matches!(s, SideArg::Url(_));
        let golden = |s: &SideArg| matches!(s, SideArg::Golden(_));
        let not_model = |s| format!("side {s} is not a model file");
        let not_url = |s| format!("side {s} is not a URL");
        // (flag, given, meaningful, why not)
        let checks: [(&str, bool, bool, String); 12] = [
            (
                "--a-backend-cmd",
                self.a_backend_cmd.is_some(),
                model(&a),
                not_model("A"),
            ),
            (
                "--b-backend-cmd",
                self.b_backend_cmd.is_some(),
                model(&b),
                not_model("B"),
            ),
            (
                "--a-arg",
                !self.a_args.is_empty(),
                model(&a),
                not_model("A"),
            ),
            (
                "--b-arg",
                !self.b_args.is_empty(),
                model(&b),
                not_model("B"),
            ),
            (
                "--a-backend-bin",
                self.a_backend_bin.is_some(),
                model(&a),
                not_model("A"),
            ),
            (
                "--b-backend-bin",
                self.b_backend_bin.is_some(),
                model(&b),
                not_model("B"),
            ),
            (
                "--threads",
                self.threads.is_some(),
                model(&a) || model(&b),
                "no side is a model file".into(),
            ),
            (
                "--ctx-size",
                self.ctx_size.is_some(),
                model(&a) || model(&b),
                "no side is a model file".into(),
            ),
            ("--a-model", self.a_model.is_some(), url(&a), not_url("A")),
            ("--b-model", self.b_model.is_some(), url(&b), not_url("B")),
            (
                "--save-golden",
                self.save_golden.is_some(),
                !golden(&a),
                "side A already is a golden file".into(),
            ),
            (
                "-c",
                self.concurrency > 1,
                !golden(&a) || !golden(&b),
                "both sides are golden files".into(),
            ),
        ];
        match checks.into_iter().find(|(_, given, ok, _)| *given && !*ok) {
            Some((flag, _, _, why)) => Err(format!("{flag} means nothing here: {why}")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn side_arguments_are_told_apart() {
        assert_eq!(
            SideArg::parse("http://h:1"),
            SideArg::Url("http://h:1".into())
        );
        assert_eq!(
            SideArg::parse("ref.JSON"),
            SideArg::Golden("ref.JSON".into())
        );
        assert_eq!(SideArg::parse("m.gguf"), SideArg::Model("m.gguf".into()));
    }
}
