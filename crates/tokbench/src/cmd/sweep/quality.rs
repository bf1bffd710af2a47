//! The sweep's quality gate: does a configuration still give the
//! reference configuration's answers?
//!
//! Before its first measurement, each configuration's server is launched
//! once more (through the runner's one launch path) and asked the crossval
//! prompt set greedily at concurrency 1 ([`tokbench_runner::collect_side`]);
//! with `--quality-cmd`, an external evaluation then runs against the same
//! server and prints a score. The reference configuration is asked twice,
//! so a reference that does not agree with itself is said, not hidden. The
//! outputs are compared token for token with the reference's
//! ([`tokbench_crossval::compare_sides`]); [`verdict`] passes a
//! configuration with at most `max_hard` hard divergences, at least
//! `min_identical` identical prompts and, with a command, a score no more
//! than `max_score_drop` below the reference's. A configuration that fails
//! the gate is shown and recorded, but can never win.
//! Definitions: `docs/methodology.md#quality-gate`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokbench_crossval::{compare_sides, DivergenceOptions, Output, PromptSet, Summary};
use tokbench_probe::{GpuProbe, Rig};
use tokbench_runner::{
    collect_side, launch, ClientSettings, GreedySettings, LaunchOptions, LaunchSizing,
};

use super::measure::classify;
use crate::cmd::crossval::longest_request_tokens;

/// How configurations are checked against the reference.
#[derive(Debug, Clone)]
pub struct QualityGate {
    /// The prompts (the crossval set unless `--quality-prompts`).
    pub set: PromptSet,
    /// Greedy request settings (tokens per prompt, seed, top-k).
    pub settings: GreedySettings,
    /// Identical prompts needed to pass (a count of `set`'s prompts).
    pub min_identical: usize,
    /// Hard divergences allowed.
    pub max_hard: usize,
    /// `--quality-cmd`: run against each configuration's server; its last
    /// number printed is the score (higher is better).
    pub cmd: Option<String>,
    /// How far below the reference's score a configuration may score.
    pub max_score_drop: f64,
    /// How long the command may run.
    pub cmd_timeout: Duration,
}

/// What one configuration's server answered.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// One greedy output per prompt.
    pub outputs: Vec<Output>,
    /// A second run's outputs (the reference's self-consistency).
    pub second: Option<Vec<Output>>,
    /// The score `--quality-cmd` printed.
    pub score: Option<f64>,
}

/// A configuration's result at the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Whether it passed.
    pub passed: bool,
    /// Prompts compared.
    pub compared: usize,
    /// Prompts with identical outputs.
    pub identical: usize,
    /// Hard divergences.
    pub hard: usize,
    /// Near-tie divergences.
    pub near_tie: usize,
    /// Unclassified and length divergences.
    pub other: usize,
    /// Its `--quality-cmd` score.
    pub score: Option<f64>,
    /// The reference's score.
    pub reference_score: Option<f64>,
    /// Why it failed, or what limits the verdict.
    pub note: Option<String>,
}

impl Quality {
    /// `✓ 10/10 identical` / `✗ 6/10 identical, 2 hard` (and the score).
    pub fn text(&self) -> String {
        let mark = if self.passed { "✓" } else { "✗" };
        let mut s = format!("{mark} {}/{} identical", self.identical, self.compared);
        if self.hard > 0 {
            s.push_str(&format!(", {} hard", self.hard));
        }
        if let Some(score) = self.score {
            s.push_str(&format!(", score {score:.4}"));
        }
        s
    }
}

/// The gate's verdict for outputs `b` against the reference's `a`.
///
/// # Errors
/// The two output sets answer different prompts.
pub fn verdict(
    gate: &QualityGate,
    reference: &Answers,
    b: &Answers,
) -> Result<Quality, tokbench_crossval::CrossvalError> {
    let results = compare_sides(
        &reference.outputs,
        &b.outputs,
        &DivergenceOptions::default(),
    )?;
    let sum = Summary::from_results(&results);
    let mut why = Vec::new();
    if sum.hard > gate.max_hard {
        let s = if sum.hard == 1 { "" } else { "s" };
        why.push(format!(
            "{} hard divergence{s} (at most {})",
            sum.hard, gate.max_hard
        ));
    }
    if sum.identical < gate.min_identical {
        why.push(format!(
            "{} of {} prompts identical (at least {})",
            sum.identical, sum.prompts, gate.min_identical
        ));
    }
    match (b.score, reference.score, &gate.cmd) {
        (Some(s), Some(r), Some(_)) if s < r - gate.max_score_drop => why.push(format!(
            "score {s:.4} below the reference's {r:.4} by more than {}",
            gate.max_score_drop
        )),
        (None, _, Some(_)) => why.push("the quality command printed no score".into()),
        (Some(_), None, Some(_)) => why.push("the reference has no score to compare with".into()),
        _ => {}
    }
    Ok(Quality {
        passed: why.is_empty(),
        compared: sum.prompts,
        identical: sum.identical,
        hard: sum.hard,
        near_tie: sum.near_tie,
        other: sum.unclassified + sum.length,
        score: b.score,
        reference_score: reference.score,
        note: (!why.is_empty()).then(|| why.join("; ")),
    })
}

/// The reference's note when it does not agree with itself: the gate
/// cannot ask more of a configuration than the reference gives.
pub fn self_consistency_note(reference: &Answers) -> Option<String> {
    let second = reference.second.as_ref()?;
    let results = compare_sides(&reference.outputs, second, &DivergenceOptions::default()).ok()?;
    let sum = Summary::from_results(&results);
    (sum.identical < sum.prompts).then(|| {
        format!(
            "the reference is not self-consistent: {} of {} prompts identical on a second run",
            sum.identical, sum.prompts
        )
    })
}

/// Everything a quality launch needs besides the configuration.
pub struct QualityContext<'a> {
    /// The gate.
    pub gate: &'a QualityGate,
    /// The model file.
    pub model: &'a Path,
    /// The machine.
    pub rig: &'a Rig,
    /// GPUs, for the VRAM snapshots around the launch.
    pub gpus: &'a dyn GpuProbe,
    /// The server log's folder.
    pub log_dir: &'a Path,
}

/// Launches the configuration's server, asks the prompts (twice when
/// `twice`), runs the quality command, stops the server.
///
/// # Errors
/// A reason as the sweep records it: `OOM`, `refused: …`, `crashed: …` or
/// `failed: …`.
pub async fn answers(
    ctx: &QualityContext<'_>,
    opts: &LaunchOptions,
    label: &str,
    twice: bool,
) -> Result<Answers, String> {
    let client = ClientSettings {
        keep_alive: false,
        stall_timeout: Duration::from_secs(300),
    };
    let cpu = &ctx.rig.system.cpu;
    let sizing = LaunchSizing {
        parallel: 1,
        max_request_tokens: longest_request_tokens(&ctx.gate.set, ctx.gate.settings.tokens),
        default_threads: cpu.physical_cores.unwrap_or(cpu.logical_threads.max(1)),
        prefix_caching: false,
    };
    let log = ctx.log_dir.join(format!(
        "tokbench-sweep-{}-quality-{}.server.log",
        std::process::id(),
        tokbench_record::slug(label)
    ));
    let mut opts = opts.clone();
    opts.bandwidth.measure = false;
    let mut target = launch(ctx.model, &opts, &sizing, &client, &log, ctx.gpus)
        .await
        .map_err(|e| classify(&format!("{e:#}")))?;
    let result = ask(ctx.gate, &target, twice).await;
    if let Err(e) = target.stop().await {
        eprintln!("warning: {label}: stopping the quality server: {e}");
    }
    // The log is kept only when something went wrong.
    match &result {
        Ok(_) => {
            let _ = std::fs::remove_file(&log);
        }
        Err(_) => eprintln!("  server log: {}", log.display()),
    }
    result
}

async fn ask(
    gate: &QualityGate,
    target: &tokbench_runner::Target,
    twice: bool,
) -> Result<Answers, String> {
    let first = collect_side(target, &gate.set.prompts, &gate.settings, false).await;
    if let Some(f) = first.failure {
        return Err(format!("crashed during the quality check: {f}"));
    }
    let second = if twice {
        let run = collect_side(target, &gate.set.prompts, &gate.settings, false).await;
        run.failure.is_none().then_some(run.outputs)
    } else {
        None
    };
    let score = match &gate.cmd {
        Some(cmd) => Some(
            run_quality_cmd(
                cmd,
                target.client.base_url(),
                &target.model_id,
                gate.cmd_timeout,
            )
            .await
            .map_err(|e| format!("failed: quality command: {e:#}"))?,
        ),
        None => None,
    };
    Ok(Answers {
        outputs: first.outputs,
        second,
        score,
    })
}

/// Runs `--quality-cmd` (split like a shell would, never through one) with
/// `{url}` and `{model}` replaced and `TOKBENCH_URL`/`TOKBENCH_MODEL` set;
/// the score is the last number on its standard output.
///
/// # Errors
/// The command cannot be split or started, exits non-zero, runs past
/// `timeout`, or prints no number.
pub async fn run_quality_cmd(
    cmd: &str,
    url: &str,
    model: &str,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let words = shlex::split(cmd).context("the command has unbalanced quotes")?;
    let words: Vec<String> = words
        .iter()
        .map(|w| w.replace("{url}", url).replace("{model}", model))
        .collect();
    let (program, rest) = words.split_first().context("the command is empty")?;
    let child = tokio::process::Command::new(program)
        .args(rest)
        .env("TOKBENCH_URL", url)
        .env("TOKBENCH_MODEL", model)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, child)
        .await
        .with_context(|| format!("ran past {}", humantime::format_duration(timeout)))?
        .with_context(|| format!("cannot start {program}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "{program} exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
    );
    last_number(&stdout).with_context(|| format!("{program} printed no number"))
}

/// The last number in `text` (a word that parses as a finite `f64` once
/// trailing punctuation is trimmed).
pub fn last_number(text: &str) -> Option<f64> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '|' || c == '=' || c == ':')
        .rev()
        .filter_map(|w| w.trim_end_matches(['%', ')', ';', '.']).parse::<f64>().ok())
        .find(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokbench_crossval::TokenStep;

    fn output(id: &str, tokens: &[&str]) -> Output {
        Output {
            prompt_id: id.into(),
            steps: tokens
                .iter()
                .map(|t| TokenStep {
                    id: None,
                    text: (*t).into(),
                    logprob: None,
                    top: Vec::new(),
                })
                .collect(),
            text: None,
            prompt_token_ids: None,
            rendered_prompt: None,
        }
    }

    fn gate(min_identical: usize) -> QualityGate {
        QualityGate {
            set: tokbench_crossval::builtin(),
            settings: GreedySettings {
                tokens: 4,
                seed: 1,
                top_logprobs: 0,
                concurrency: 1,
            },
            min_identical,
            max_hard: 0,
            cmd: None,
            max_score_drop: 0.0,
            cmd_timeout: Duration::from_secs(1),
        }
    }

    fn answers(outputs: Vec<Output>) -> Answers {
        Answers {
            outputs,
            ..Answers::default()
        }
    }

    #[test]
    fn identical_outputs_pass_and_too_few_identical_fail() {
        let a = answers(vec![output("p1", &["a", "b"]), output("p2", &["c", "d"])]);
        let same = verdict(&gate(2), &a, &a.clone()).unwrap();
        assert!(same.passed, "{same:?}");
        assert_eq!((same.identical, same.compared), (2, 2));
        let b = answers(vec![output("p1", &["a", "b"]), output("p2", &["c", "x"])]);
        let q = verdict(&gate(2), &a, &b).unwrap();
        assert!(!q.passed);
        assert_eq!(q.identical, 1);
        assert!(q
            .note
            .unwrap()
            .contains("1 of 2 prompts identical (at least 2)"));
        // Without log-probabilities the divergence is unclassified, not hard.
        assert_eq!((q.hard, q.other), (0, 1));
        assert!(verdict(&gate(1), &a, &b).unwrap().passed);
    }

    #[test]
    fn the_score_gates_against_the_reference() {
        let mut g = gate(0);
        g.cmd = Some("eval".into());
        g.max_score_drop = 0.01;
        let mut a = answers(vec![output("p1", &["a"])]);
        a.score = Some(0.50);
        let mut b = a.clone();
        b.score = Some(0.495);
        assert!(verdict(&g, &a, &b).unwrap().passed);
        b.score = Some(0.48);
        let q = verdict(&g, &a, &b).unwrap();
        assert!(!q.passed);
        assert!(q
            .note
            .unwrap()
            .contains("score 0.4800 below the reference's 0.5000"));
        b.score = None;
        assert!(!verdict(&g, &a, &b).unwrap().passed);
    }

    #[test]
    fn a_reference_that_disagrees_with_itself_is_said() {
        let mut a = answers(vec![output("p1", &["a"]), output("p2", &["b"])]);
        assert_eq!(self_consistency_note(&a), None);
        a.second = Some(vec![output("p1", &["a"]), output("p2", &["b"])]);
        assert_eq!(self_consistency_note(&a), None);
        a.second = Some(vec![output("p1", &["a"]), output("p2", &["z"])]);
        assert!(self_consistency_note(&a)
            .unwrap()
            .contains("1 of 2 prompts identical"));
    }

    #[test]
    fn the_last_number_printed_is_the_score() {
        assert_eq!(last_number("acc: 0.25\nacc_norm: 0.5\n"), Some(0.5));
        assert_eq!(last_number("|arc|acc|0.4312|\n"), Some(0.4312));
        assert_eq!(last_number("score 71.5%."), Some(71.5));
        assert_eq!(last_number("no score here"), None);
        assert_eq!(last_number("nan inf"), None);
    }

    #[tokio::test]
    async fn the_quality_command_gets_the_url_and_gives_its_score() {
        let score = run_quality_cmd(
            "sh -c 'echo \"$TOKBENCH_URL {url} {model}\"; echo 0.75'",
            "http://127.0.0.1:9",
            "m",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(score, 0.75);
        let e = run_quality_cmd("sh -c 'exit 3'", "u", "m", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("exited"), "{e:#}");
        let e = run_quality_cmd("echo none", "u", "m", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("printed no number"), "{e:#}");
    }
}
