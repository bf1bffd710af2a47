//! The comparison of two sides ([`Comparison`]) and the crossval record
//! built from it ([`build`]): `tokbench-crossval`'s results converted into
//! the record crate's types.

use tokbench_crossval::{
    compare_output, compare_sides, precheck, Divergence, DivergenceKind, DivergenceOptions,
    LogprobGap, Output, PrecheckStatus, PromptResult, PromptSet, Summary,
};
use tokbench_record::{
    Consistency, CrossvalPrompt, CrossvalRecord, CrossvalRun, CrossvalSettings, CrossvalSide,
    CrossvalSummary, DivergenceClass, DivergencePoint, Gap, PromptSetInfo, PromptVerdict,
    Provenance, RecordKind, TokenizationCheck, TokenizationStatus, CROSSVAL_SCHEMA_VERSION,
};
use tokbench_runner::assemble::{now_utc, shell_join, short_id, system_section};
use tokbench_runner::{crossval::top_k_sent_name, Invocation};

use super::args::CrossvalArgs;
use super::side::{SideContext, SideData};

/// Most characters of a prompt kept in the record.
const PROMPT_EXCERPT_CHARS: usize = 400;

/// What came of one prompt.
pub enum Outcome {
    /// Compared (the pre-check found no mismatch).
    Compared(Box<PromptResult>),
    /// Not compared: the sides tokenized it differently.
    TokenizationMismatch,
    /// Not compared: a side did not answer it.
    NotAnswered,
}

/// Both sides compared: per prompt, the pre-check and the outcome;
/// overall, the summary of the compared prompts.
pub struct Comparison {
    /// The pre-check of each prompt, in prompt order (`None` when a side
    /// did not answer it).
    pub prechecks: Vec<Option<tokbench_crossval::Precheck>>,
    /// The outcome of each prompt, in prompt order.
    pub outcomes: Vec<Outcome>,
    /// The summary over the compared prompts.
    pub summary: Summary,
}

/// A side's first-run output for prompt `id` with its `usage.prompt_tokens`.
fn answer<'s>(side: &'s SideData, id: &str) -> Option<(&'s Output, Option<u64>)> {
    let i = side.first.outputs.iter().position(|o| o.prompt_id == id)?;
    let usage = side.first.usage_prompt_tokens.get(i).copied().flatten();
    Some((&side.first.outputs[i], usage))
}

/// A side that answered some prompt twice (a hand-edited golden file).
fn check_unique(side: &SideData) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    match side
        .first
        .outputs
        .iter()
        .find(|o| !seen.insert(o.prompt_id.as_str()))
    {
        Some(o) => anyhow::bail!(
            "side {}: prompt {:?} occurs more than once",
            side.label,
            o.prompt_id
        ),
        None => Ok(()),
    }
}

impl Comparison {
    /// Compares side A's first run with side B's, prompt by prompt.
    ///
    /// # Errors
    /// A bad ε, or a side with two outputs for one prompt.
    pub fn new(
        args: &CrossvalArgs,
        set: &PromptSet,
        a: &SideData,
        b: &SideData,
    ) -> anyhow::Result<Self> {
        let opts = DivergenceOptions {
            epsilon_nats: args.epsilon,
            ..DivergenceOptions::default()
        };
        opts.validate()?;
        check_unique(a)?;
        check_unique(b)?;
        let (mut prechecks, mut outcomes) = (Vec::new(), Vec::new());
        for p in &set.prompts {
            let Some(((oa, ua), (ob, ub))) = answer(a, &p.id).zip(answer(b, &p.id)) else {
                prechecks.push(None);
                outcomes.push(Outcome::NotAnswered);
                continue;
            };
            let check = precheck(oa, ob, ua, ub);
            outcomes.push(match check.status {
                PrecheckStatus::Mismatch => Outcome::TokenizationMismatch,
                _ => Outcome::Compared(Box::new(compare_output(oa, ob, &opts))),
            });
            prechecks.push(Some(check));
        }
        let compared: Vec<PromptResult> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Compared(r) => Some((**r).clone()),
                _ => None,
            })
            .collect();
        Ok(Comparison {
            summary: Summary::from_results(&compared),
            prechecks,
            outcomes,
        })
    }

    /// Prompts not compared for a tokenization mismatch.
    pub fn mismatches(&self) -> usize {
        self.count(|o| matches!(o, Outcome::TokenizationMismatch))
    }

    /// Prompts not compared because a side did not answer them.
    pub fn not_answered(&self) -> usize {
        self.count(|o| matches!(o, Outcome::NotAnswered))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }

    /// The summary's headline, plus the prompts not compared.
    pub fn headline(&self) -> String {
        let mut line = self.summary.headline();
        let total = self.outcomes.len();
        for (n, why) in [
            (self.mismatches(), "not compared: tokenization differs"),
            (self.not_answered(), "not answered: a side's server failed"),
        ] {
            if n > 0 {
                line.push_str(&format!("; {n} of {total} {why}"));
            }
        }
        line
    }
}

/// A side's second run against its first, when there is one.
fn consistency(first: &[Output], other: Option<&Vec<Output>>, c: u64) -> Option<Consistency> {
    let other = other?;
    // A run that ended early is compared on the prompts it answered.
    let answered: Vec<Output> = first
        .iter()
        .filter(|o| other.iter().any(|x| x.prompt_id == o.prompt_id))
        .cloned()
        .collect();
    let results = compare_sides(&answered, other, &DivergenceOptions::default()).ok()?;
    let mut divergence_indices: Vec<u64> = results
        .iter()
        .filter_map(|r| r.divergence.as_ref().map(|d| d.token_index as u64))
        .collect();
    divergence_indices.sort_unstable();
    Some(Consistency {
        identical: results.iter().filter(|r| r.is_identical()).count() as u64,
        of: results.len() as u64,
        concurrency: c,
        divergence_indices,
    })
}

fn side_section(s: &SideData, c: u64) -> CrossvalSide {
    CrossvalSide {
        label: s.label.clone(),
        source: s.source,
        description: s.description.clone(),
        backend: s.backend.clone(),
        model: s.model.clone(),
        golden_file: s.golden_file.clone(),
        token_source: s.first.token_source,
        top_logprobs: s.first.top_logprobs,
        self_consistency: consistency(&s.first.outputs, s.second.as_ref(), 1),
        batch_invariance: consistency(&s.first.outputs, s.batch.as_ref(), c),
    }
}

/// The crossval record of a finished comparison.
#[allow(clippy::too_many_arguments)]
pub fn build(
    args: &CrossvalArgs,
    set: &PromptSet,
    ctx: &SideContext<'_>,
    a: &SideData,
    b: &SideData,
    cmp: &Comparison,
    started: String,
    host_load: Option<tokbench_probe::HostLoadSummary>,
) -> CrossvalRecord {
    // Redacted once: the recorded argv and the reproduce line are the same.
    let command_line = tokbench_backend::redact::redact_args(&Invocation::process_args());
    // The model's file stem (an attached server may list a full path as
    // its id), else its id.
    let model = a.model.as_ref().or(b.model.as_ref()).map_or("golden", |m| {
        m.file_name
            .as_deref()
            .map_or(m.id.as_str(), |f| f.strip_suffix(".gguf").unwrap_or(f))
    });
    let date = started.get(..10).unwrap_or("0000-00-00").to_owned();
    let id = format!(
        "{date}-crossval-{}-{}",
        tokbench_record::slug(model),
        short_id(u64::from(std::process::id()))
    );
    CrossvalRecord {
        schema_version: CROSSVAL_SCHEMA_VERSION,
        kind: RecordKind::Crossval,
        run: CrossvalRun {
            id,
            started_utc: started,
            ended_utc: Some(now_utc()),
            tokbench_version: env!("CARGO_PKG_VERSION").to_owned(),
            tokbench_commit: option_env!("TOKBENCH_GIT_COMMIT").map(str::to_owned),
            command_line: command_line.clone(),
            host_load: host_load.map(tokbench_runner::convert::host_load),
            notes: notes(a, b),
            incomplete_reason: incomplete_reason(a, b),
        },
        system: system_section(&ctx.rig),
        prompt_set: PromptSetInfo {
            name: set.name.clone(),
            sha256: set.sha256(),
            prompts: set.prompts.len() as u64,
        },
        settings: settings(args, a, b),
        sides: vec![
            side_section(a, args.concurrency),
            side_section(b, args.concurrency),
        ],
        summary: summary_section(cmp),
        prompts: prompt_entries(set, cmp, a, b),
        provenance: Provenance {
            reproduce: shell_join(&command_line),
            details: Default::default(),
        },
    }
}

/// The request settings as recorded.
fn settings(args: &CrossvalArgs, a: &SideData, b: &SideData) -> CrossvalSettings {
    CrossvalSettings {
        tokens: args.tokens,
        temperature: 0.0,
        top_k: [a, b]
            .iter()
            .filter_map(|s| s.backend.as_ref())
            .find_map(|b| top_k_sent_name(&b.name)),
        seed: args.seed,
        top_logprobs: u64::from(args.top_logprobs),
        epsilon_nats: args.epsilon,
        concurrency: args.concurrency,
    }
}

/// One entry per prompt, in prompt-set order.
fn prompt_entries(
    set: &PromptSet,
    cmp: &Comparison,
    a: &SideData,
    b: &SideData,
) -> Vec<CrossvalPrompt> {
    set.prompts
        .iter()
        .zip(cmp.prechecks.iter().zip(&cmp.outcomes))
        .map(|(p, (check, outcome))| {
            let (oa, ob) = (output_of(a, &p.id), output_of(b, &p.id));
            prompt_entry(p, check.as_ref(), outcome, oa, ob)
        })
        .collect()
}

fn output_of<'s>(side: &'s SideData, id: &str) -> Option<&'s Output> {
    side.first.outputs.iter().find(|o| o.prompt_id == id)
}

/// Every run of either side that ended early, `side X, <run>: <error>`,
/// joined by `; `; `None` when every run answered every prompt.
fn incomplete_reason(a: &SideData, b: &SideData) -> Option<String> {
    let all: Vec<String> = [a, b]
        .iter()
        .flat_map(|s| {
            s.failures
                .iter()
                .map(move |f| format!("side {}, {f}", s.label))
        })
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// Fallbacks worth knowing, one note each.
fn notes(a: &SideData, b: &SideData) -> Vec<String> {
    let mut notes = Vec::new();
    for s in [a, b] {
        match s.first.token_source {
            tokbench_record::TokenSource::Logprobs => {}
            other => notes.push(format!(
                "side {}: no per-token logprobs; tokens from {other:?} (methodology: crossval)",
                s.label
            )),
        }
        notes.extend((s.first.count_mismatches.iter()).map(|m| format!("side {}: {m}", s.label)));
        if !s.first.top_logprobs {
            notes.push(format!(
                "side {}: no top-k log-probabilities; its divergences cannot be classified near-tie",
                s.label
            ));
        }
    }
    notes
}

fn summary_section(cmp: &Comparison) -> CrossvalSummary {
    let s = &cmp.summary;
    CrossvalSummary {
        headline: cmp.headline(),
        prompts: cmp.outcomes.len() as u64,
        compared: s.prompts as u64,
        identical: s.identical as u64,
        diverged: s.diverged as u64,
        near_tie: s.near_tie as u64,
        hard: s.hard as u64,
        unclassified: s.unclassified as u64,
        length: s.length as u64,
        tokenization_mismatch: cmp.mismatches() as u64,
        not_answered: cmp.not_answered() as u64,
        divergence_indices: s.divergence_indices.iter().map(|&i| i as u64).collect(),
        top1_agreed: s.top1_agreed as u64,
        top1_positions: s.top1_positions as u64,
        top1_agreement: s.top1_agreement,
        kl_mean_nats: s.kl.mean_nats,
        kl_max_nats: s.kl.max_nats,
        kl_positions: s.kl.positions as u64,
    }
}

fn prompt_entry(
    p: &tokbench_crossval::Prompt,
    check: Option<&tokbench_crossval::Precheck>,
    outcome: &Outcome,
    a: Option<&Output>,
    b: Option<&Output>,
) -> CrossvalPrompt {
    let (verdict, result) = match outcome {
        Outcome::NotAnswered => (PromptVerdict::NotAnswered, None),
        Outcome::TokenizationMismatch => (PromptVerdict::TokenizationMismatch, None),
        Outcome::Compared(r) if r.is_identical() => (PromptVerdict::Identical, Some(&**r)),
        Outcome::Compared(r) => (PromptVerdict::Diverged, Some(&**r)),
    };
    CrossvalPrompt {
        id: p.id.clone(),
        category: p.category.clone(),
        prompt_excerpt: p
            .display_text()
            .chars()
            .take(PROMPT_EXCERPT_CHARS)
            .collect(),
        verdict,
        tokenization: tokenization(check),
        tokens_a: a.map_or(0, |o| o.steps.len() as u64),
        tokens_b: b.map_or(0, |o| o.steps.len() as u64),
        divergence: result.and_then(|r| r.divergence.as_ref()).map(point),
        top1_agreed: result.map_or(0, |r| r.top1_agreed as u64),
        top1_positions: result.map_or(0, |r| r.top1_positions as u64),
        kl_mean_nats: result.and_then(|r| r.kl.mean_nats),
        kl_max_nats: result.and_then(|r| r.kl.max_nats),
        text_a: a.map(Output::full_text).unwrap_or_default(),
        text_b: b.map(Output::full_text).unwrap_or_default(),
    }
}

/// The record's pre-check; `unchecked` when a side did not answer.
fn tokenization(check: Option<&tokbench_crossval::Precheck>) -> TokenizationCheck {
    let Some(check) = check else {
        return TokenizationCheck {
            status: TokenizationStatus::Unchecked,
            prompt_tokens_a: None,
            prompt_tokens_b: None,
            first_difference: None,
            template_same: None,
            note: Some("a side did not answer this prompt".into()),
        };
    };
    TokenizationCheck {
        status: match check.status {
            PrecheckStatus::Same => TokenizationStatus::Same,
            PrecheckStatus::Mismatch => TokenizationStatus::Mismatch,
            PrecheckStatus::Unchecked => TokenizationStatus::Unchecked,
        },
        prompt_tokens_a: check.prompt_tokens_a,
        prompt_tokens_b: check.prompt_tokens_b,
        first_difference: check.first_difference,
        template_same: check.template_same,
        note: check.note.clone(),
    }
}

fn point(d: &Divergence) -> DivergencePoint {
    let gap = |g: Option<LogprobGap>| {
        g.map(|g| Gap {
            nats: g.nats,
            exact: g.exact,
        })
    };
    DivergencePoint {
        token_index: d.token_index as u64,
        kind: match d.kind {
            DivergenceKind::NearTie => DivergenceClass::NearTie,
            DivergenceKind::Hard => DivergenceClass::Hard,
            DivergenceKind::Unclassified => DivergenceClass::Unclassified,
            DivergenceKind::Length => DivergenceClass::Length,
        },
        token_a: d.token_a.clone(),
        token_b: d.token_b.clone(),
        context_before: d.context_before.clone(),
        after_a: d.after_a.clone(),
        after_b: d.after_b.clone(),
        gap_a: gap(d.gap_a),
        gap_b: gap(d.gap_b),
    }
}
