//! Arguments of `tokbench sweep` and its objectives
//! (`METRIC@SHAPE[@CONCURRENCY]`).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokbench_backend::TemplateEngine;
use tokbench_compare::Quantity;

use super::slo::Slo;
use crate::cmd::run::{parse_backend_cmd, BackendArg};

/// One thing a sweep ranks configurations by: a metric of one shape at one
/// concurrency, e.g. `decode_tok_s@chat@1` (the default) or
/// `prefill_tok_s@rag`. The metric is a `tokbench compare` quantity
/// (docs/methodology.md); its direction (higher or lower is better) is the
/// quantity's.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// The metric.
    pub quantity: Quantity,
    /// Workload shape name.
    pub shape: String,
    /// Concurrency (default 1).
    pub concurrency: usize,
}

impl Objective {
    /// `metric@shape@c`, as given back in tables.
    pub fn label(&self) -> String {
        format!(
            "{}@{}@{}",
            self.quantity.name(),
            self.shape,
            self.concurrency
        )
    }
}

impl FromStr for Objective {
    type Err = String;

    /// Parses `METRIC@SHAPE[@CONCURRENCY]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('@').collect();
        let (metric, shape, c) = match parts.as_slice() {
            [m, sh] => (*m, *sh, "1"),
            [m, sh, c] => (*m, *sh, *c),
            _ => return Err(format!("{s:?}: expected METRIC@SHAPE[@CONCURRENCY]")),
        };
        let quantity = Quantity::from_str(metric).map_err(|e| format!("{s:?}: {e}"))?;
        if !quantity.per_request() {
            return Err(format!(
                "{s:?}: {metric} is not a per-request metric; a sweep ranks by decode_tok_s, \
                 prefill_tok_s, ttft_ms, e2e_ms, tpot_ms or itl_ms"
            ));
        }
        if shape.is_empty() {
            return Err(format!("{s:?}: the shape is empty"));
        }
        let concurrency = c
            .parse::<usize>()
            .ok()
            .filter(|&c| c >= 1)
            .ok_or_else(|| format!("{s:?}: concurrency {c:?} is not a whole number ≥ 1"))?;
        Ok(Self {
            quantity,
            shape: shape.to_owned(),
            concurrency,
        })
    }
}

/// Arguments of `tokbench sweep`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Racing and the objectives: docs/methodology.md#racing. \
    Every configuration is one server launch per round; its records carry the \
    configuration as their mode label.")]
pub struct SweepArgs {
    /// The model file (GGUF for llama.cpp).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// A parameter and its values, llama-bench style: NAME=v1,v2 or ranges
    /// 1-8+1 (additive), 16-512*2 (multiplicative). Repeat per parameter.
    #[arg(long = "set", value_name = "NAME=LIST", conflicts_with = "space")]
    pub sets: Vec<String>,
    /// A sweep space file (params, follow, skip, named configs).
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,
    /// What to rank by, `METRIC@SHAPE[@CONCURRENCY]`; repeat for one winner
    /// per objective (the first one drives racing).
    #[arg(
        long = "objective",
        value_name = "OBJECTIVE",
        default_value = "decode_tok_s@chat@1"
    )]
    pub objectives: Vec<Objective>,
    /// The reference configuration (its label); default: the first.
    #[arg(long, value_name = "LABEL")]
    pub reference: Option<String>,
    /// Measure every configuration in every round (no racing).
    #[arg(long)]
    pub exhaustive: bool,
    /// Rounds of measurement.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub rounds: u64,
    /// Measured requests per configuration, objective and round.
    #[arg(short = 'n', long, default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub requests: u64,
    /// Shrink every shape's prompt and output lengths by this factor.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Print the configurations and each server command line; launch nothing.
    #[arg(long, conflicts_with_all = ["log", "slos", "quality_cmd", "quality_prompts", "exhaustive"])]
    pub dry_run: bool,
    /// Which server (built-in recipe).
    #[arg(long, value_enum, default_value_t = BackendArg::LlamaCpp)]
    pub backend: BackendArg,
    /// Explicit server binary.
    #[arg(long, value_name = "PATH")]
    pub backend_bin: Option<PathBuf>,
    /// Launch a command-template engine instead of a recipe.
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_backend_cmd,
          conflicts_with_all = ["backend_bin", "backend_file"])]
    pub backend_cmd: Option<TemplateEngine>,
    /// Backends file naming the --engine.
    #[arg(
        long,
        value_name = "FILE",
        requires = "engine",
        conflicts_with = "backend_bin"
    )]
    pub backend_file: Option<PathBuf>,
    /// Engine of the backends file.
    #[arg(long, value_name = "NAME", requires = "backend_file")]
    pub engine: Option<String>,
    /// A flag every configuration's server gets (repeat).
    #[arg(long = "backend-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub backend_args: Vec<String>,
    /// How long to wait for each server to become healthy.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub health_timeout: Duration,
    /// Where the run records go.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub runs_dir: PathBuf,
    /// Rig file (notes, declared memory bandwidth).
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// Do not measure the CPU's memory bandwidth before each configuration.
    #[arg(long)]
    pub no_bandwidth: bool,
    /// Do not check configurations against the reference's answers (no
    /// quality gate; every configuration can win).
    #[arg(long)]
    pub no_quality: bool,
    /// The quality gate's prompts (JSON Lines, as `tokbench crossval
    /// --prompts`); default: crossval's built-in set of 10.
    #[arg(long, value_name = "FILE", conflicts_with = "no_quality")]
    pub quality_prompts: Option<PathBuf>,
    /// Tokens generated per prompt at the quality gate.
    #[arg(long, default_value_t = 64, conflicts_with = "no_quality",
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub quality_tokens: u64,
    /// Share of the prompts whose output must be identical to the
    /// reference's, 0..=1 (8 of the built-in 10 by default).
    #[arg(long, default_value_t = 0.8, value_parser = fraction, conflicts_with = "no_quality")]
    pub min_identical: f64,
    /// Hard divergences from the reference allowed.
    #[arg(long, default_value_t = 0, conflicts_with = "no_quality")]
    pub max_hard: u64,
    /// An external evaluation run against each configuration's server
    /// (`{url}` and `{model}` replaced; TOKBENCH_URL and TOKBENCH_MODEL
    /// set); the last number it prints is the score, higher is better.
    #[arg(long, value_name = "CMD", conflicts_with = "no_quality")]
    pub quality_cmd: Option<String>,
    /// How far below the reference's score a configuration may score.
    #[arg(long, default_value_t = 0.0, requires = "quality_cmd", value_parser = non_negative)]
    pub max_score_drop: f64,
    /// How long `--quality-cmd` may run per configuration.
    #[arg(long, default_value = "30m", requires = "quality_cmd",
          value_parser = humantime::parse_duration)]
    pub quality_timeout: Duration,
    /// A bound every measured cell must meet, `METRIC.STAT<=VALUE` or
    /// `>=` (STAT: p50, p90, p95, p99, mean, max), e.g. `ttft_ms.p99<=2000`
    /// or a memory ceiling `backend_peak_rss_bytes.max<=4e9`; repeat. A
    /// configuration that misses one cannot win. Not `tokbench run`'s
    /// --slo, which sets per-request limits for goodput (KEY=MS; see
    /// docs/methodology.md#goodput).
    #[arg(long = "slo", value_name = "SLO")]
    pub slos: Vec<Slo>,
    /// Append the ranked tables to this performance log (as `tokbench
    /// perflog append` does).
    #[arg(long, value_name = "PERF_LOG.md")]
    pub log: Option<PathBuf>,
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number in 0..=1")),
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number ≥ 0")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn objectives_parse_with_a_default_concurrency_and_name_bad_parts() {
        let o: Objective = "decode_tok_s@chat".parse().unwrap();
        assert_eq!(
            (o.quantity, o.shape.as_str(), o.concurrency),
            (Quantity::DecodeTokS, "chat", 1)
        );
        let o: Objective = "ttft_ms@rag@4".parse().unwrap();
        assert_eq!(o.label(), "ttft_ms@rag@4");
        for (bad, says) in [
            ("decode_tok_s", "METRIC@SHAPE"),
            ("speed@chat", "speed"),
            ("aggregate_output_tok_s@chat", "not a per-request metric"),
            ("decode_tok_s@chat@0", "whole number"),
            ("decode_tok_s@@1", "shape is empty"),
        ] {
            let e = bad.parse::<Objective>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
