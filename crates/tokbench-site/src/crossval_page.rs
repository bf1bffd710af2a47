//! Crossval pages: one page per crossval record (`kind: crossval`, the
//! result of `tokbench crossval A B`) at `crossval/<slug>.html`, with the
//! record copied beside it as `crossval/<slug>.yaml`, and the list of every
//! crossval record at `crossval/index.html`.
//!
//! A page shows the headline, both sides, the settings, the prompt set,
//! the summary counts and statistics, the host load, how to reproduce it,
//! and one row per prompt with its first divergence: the shared context,
//! each side's token there (highlighted) and each side's next tokens. The
//! definitions are the methodology's (`methodology.html#crossval`).
//!
//! A crossval record belongs to the model page of the run records of the
//! same model ([`crossval_links`]): the same model file (SHA-256) when both
//! records have one, else the same model id.

use serde::Serialize;
use tokbench_record::{
    Consistency, CrossvalPrompt, CrossvalRecord, CrossvalSide, DivergenceClass, DivergencePoint,
    Gap, ModelSection, PromptVerdict, SideSource, TokenSource, TokenizationStatus,
};

use crate::facts::{self, Fact};
use crate::format;
use crate::load::LoadedCrossval;
use crate::names::UniqueNames;
use crate::site::Site;

/// What lists of crossval records (index, model pages, the crossval index)
/// show of one record.
#[derive(Debug, Clone, Serialize)]
pub struct CrossvalLink {
    /// Page name stem: `crossval/<slug>.html`.
    pub slug: String,
    /// `run.id` as recorded (display only).
    pub id: String,
    /// The record's file name (display only).
    pub file_name: String,
    /// Start date, `YYYY-MM-DD`.
    pub date: String,
    /// What differs between the sides, e.g. `no extra flags vs -fa on`.
    pub sides: String,
    /// The record's headline.
    pub headline: String,
    /// The model page stem, when run records of the same model exist.
    pub model_slug: Option<String>,
    /// The model's name: the model page's title, else the model id.
    pub model: String,
}

/// The list views of `crossvals`, each with a unique page name and its
/// model page in `site` (when there is one).
pub fn crossval_links(site: &Site<'_>, crossvals: &[LoadedCrossval]) -> Vec<CrossvalLink> {
    let mut names = UniqueNames::default();
    crossvals
        .iter()
        .map(|loaded| {
            let r = &loaded.record;
            let run = model_run(site, r);
            let model_id = side_models(r).next().map(|m| m.id.clone());
            CrossvalLink {
                slug: names.claim(&r.run.id, "crossval"),
                id: r.run.id.clone(),
                file_name: crate::names::file_name(&loaded.path),
                date: r.run.started_utc.chars().take(10).collect(),
                sides: sides_short(&r.sides),
                headline: r.summary.headline.clone(),
                model_slug: run.map(|i| site.runs[i].model_slug.clone()),
                model: run
                    .map(|i| site.runs[i].model_label.clone())
                    .or(model_id)
                    .unwrap_or_else(|| "unknown model".into()),
            }
        })
        .collect()
}

/// The models of the sides, A first.
fn side_models(r: &CrossvalRecord) -> impl Iterator<Item = &ModelSection> {
    r.sides.iter().filter_map(|s| s.model.as_ref())
}

/// Whether a run's model `run` is a side's model `side`: the same file when
/// both name its SHA-256, else the same model id.
fn same_model(run: &ModelSection, side: &ModelSection) -> bool {
    match (&run.sha256, &side.sha256) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => run.id == side.id,
    }
}

/// Index (into [`Site::runs`]) of the first run record of the model of
/// `r`'s side A, else of side B.
fn model_run(site: &Site<'_>, r: &CrossvalRecord) -> Option<usize> {
    side_models(r).find_map(|m| {
        site.records
            .iter()
            .position(|l| same_model(&l.record.model, m))
    })
}

/// What one side is, field by field, for [`sides_short`].
fn side_fields(s: &CrossvalSide) -> [String; 4] {
    let backend = s.backend.as_ref().map_or_else(String::new, |b| {
        format!("{} {}", b.name, b.version.as_deref().unwrap_or(""))
            .trim_end()
            .to_owned()
    });
    let flags = s.backend.as_ref().map_or_else(String::new, |b| {
        if b.flags.is_empty() {
            "no extra flags".to_owned()
        } else {
            facts::shell_join(&b.flags)
        }
    });
    let quant = s
        .model
        .as_ref()
        .and_then(|m| m.quant.clone())
        .unwrap_or_default();
    let golden = s
        .golden_file
        .as_ref()
        .map(|g| format!("golden file {g}"))
        .unwrap_or_default();
    [backend, quant, flags, golden]
}

/// What differs between side A and side B, `A vs B`; the descriptions
/// when nothing of backend, quant, flags and golden file differs.
pub fn sides_short(sides: &[CrossvalSide]) -> String {
    let (Some(a), Some(b)) = (sides.first(), sides.get(1)) else {
        return sides
            .iter()
            .map(|s| s.description.clone())
            .collect::<Vec<_>>()
            .join(" vs ");
    };
    let (fa, fb) = (side_fields(a), side_fields(b));
    let differ: Vec<usize> = (0..fa.len()).filter(|&i| fa[i] != fb[i]).collect();
    if differ.is_empty() {
        return format!("{} vs {}", a.description, b.description);
    }
    let pick = |f: &[String; 4]| {
        let parts: Vec<&str> = differ
            .iter()
            .map(|&i| f[i].as_str())
            .filter(|v| !v.is_empty())
            .collect();
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join(" · ")
        }
    };
    format!("{} vs {}", pick(&fa), pick(&fb))
}

/// One side of the comparison.
#[derive(Debug, Serialize)]
struct SideView {
    label: String,
    description: String,
    facts: Vec<Fact>,
}

/// A first divergence.
#[derive(Debug, Serialize)]
struct DivergenceView {
    index: u64,
    kind: &'static str,
    /// The shared tokens before it, concatenated.
    context: String,
    /// Side A's token; `None` when A stopped.
    token_a: Option<String>,
    token_b: Option<String>,
    after_a: String,
    after_b: String,
    gaps: String,
}

/// One prompt.
#[derive(Debug, Serialize)]
struct PromptView {
    anchor: String,
    id: String,
    category: String,
    verdict: &'static str,
    verdict_class: &'static str,
    tokenization: String,
    tokenization_note: Option<String>,
    tokens: String,
    divergence: Option<DivergenceView>,
    top1: String,
    kl: String,
    excerpt: String,
    text_a: String,
    text_b: String,
}

/// Everything the crossval template shows.
#[derive(Debug, Serialize)]
pub struct CrossvalPage<'a> {
    cv: &'a CrossvalLink,
    /// The record copy beside the page (relative to `crossval/`).
    yaml: String,
    run_facts: Vec<Fact>,
    notes: Vec<String>,
    sides: Vec<SideView>,
    settings: Vec<Fact>,
    prompt_set: Vec<Fact>,
    summary: Vec<Fact>,
    system: Vec<Fact>,
    host_load: Vec<Fact>,
    reproduce: String,
    details: Vec<Fact>,
    command_line: String,
    prompts: Vec<PromptView>,
}

/// The page of crossval record `r`, listed as `cv`.
pub fn crossval_page<'a>(r: &'a CrossvalRecord, cv: &'a CrossvalLink) -> CrossvalPage<'a> {
    let mut anchors = UniqueNames::default();
    CrossvalPage {
        cv,
        yaml: format!("{}.yaml", cv.slug),
        run_facts: run_facts(r, cv),
        // An incomplete comparison says so first.
        notes: (r.run.incomplete_reason.iter())
            .map(|why| {
                format!("Incomplete: {why}. The prompts a side did not answer are not compared.")
            })
            .chain(r.run.notes.iter().cloned())
            .collect(),
        sides: r.sides.iter().map(side_view).collect(),
        settings: settings(r),
        prompt_set: vec![
            Fact::new("Name", r.prompt_set.name.clone()),
            Fact::new("SHA-256", r.prompt_set.sha256.clone()),
            Fact::new("Prompts", r.prompt_set.prompts.to_string()),
        ],
        summary: summary(r),
        system: facts::system(&r.system),
        host_load: r
            .run
            .host_load
            .as_ref()
            .map(crate::run_page::host_load)
            .unwrap_or_default(),
        reproduce: r.provenance.reproduce.clone(),
        details: r
            .provenance
            .details
            .iter()
            .map(|(k, v)| Fact::new(k.clone(), v.clone()))
            .collect(),
        command_line: facts::shell_join(&r.run.command_line),
        prompts: r
            .prompts
            .iter()
            .map(|p| prompt_view(p, anchors.claim(&p.id, "prompt")))
            .collect(),
    }
}

fn run_facts(r: &CrossvalRecord, cv: &CrossvalLink) -> Vec<Fact> {
    let mut out = vec![
        Fact::new("Crossval id", r.run.id.clone()),
        Fact::new("Started (UTC)", r.run.started_utc.clone()),
        Fact::new(
            "Ended (UTC)",
            r.run
                .ended_utc
                .clone()
                .unwrap_or_else(|| "— (did not finish)".into()),
        ),
        Fact::new(
            "tokbench",
            format!(
                "{} {}",
                r.run.tokbench_version,
                r.run.tokbench_commit.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_owned(),
        ),
        Fact::new("Rig", r.system.rig_name.clone()),
    ];
    let model = Fact::new("Model", cv.model.clone());
    out.push(match &cv.model_slug {
        Some(slug) => model.link(format!("model/{slug}.html")),
        None => model,
    });
    out
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn consistency(c: &Consistency) -> String {
    let mut s = format!(
        "{}/{} identical (second run at concurrency {})",
        c.identical, c.of, c.concurrency
    );
    if !c.divergence_indices.is_empty() {
        let at: Vec<String> = c.divergence_indices.iter().map(u64::to_string).collect();
        s.push_str(&format!("; diverge at tokens {}", at.join(", ")));
    }
    s
}

fn side_view(s: &CrossvalSide) -> SideView {
    let source = match s.source {
        SideSource::Launched => "server launched by tokbench",
        SideSource::Attached => "running server (attached)",
        SideSource::Golden => "golden file",
    };
    let mut out = vec![Fact::new("Source", source)];
    if let Some(b) = &s.backend {
        let version = b.version.as_deref().unwrap_or("");
        out.push(Fact::new(
            "Backend",
            format!("{} {version} ({})", b.name, b.device),
        ));
        let flags = if b.flags.is_empty() {
            "none".to_owned()
        } else {
            facts::shell_join(&b.flags)
        };
        out.push(Fact::new("Extra flags", flags));
    }
    if let Some(m) = &s.model {
        out.push(Fact::new("Model id", m.id.clone()));
        out.push(Fact::new("Quant", m.quant.clone().unwrap_or_default()));
        out.push(Fact::new(
            "Model SHA-256",
            m.sha256.clone().unwrap_or_default(),
        ));
    }
    if let Some(g) = &s.golden_file {
        out.push(Fact::new("Golden file", g.clone()));
    }
    let tokens = match s.token_source {
        TokenSource::Logprobs => "logprobs of the response",
        TokenSource::Tokenize => "output text through the server's /tokenize",
        TokenSource::Characters => "characters of the output text (no token information)",
    };
    out.push(Fact::new("Tokens from", tokens));
    out.push(Fact::new("Top log-probabilities", yes_no(s.top_logprobs)));
    let none = "not checked".to_owned();
    out.push(Fact::new(
        "Self-consistency",
        s.self_consistency
            .as_ref()
            .map_or(none.clone(), consistency),
    ));
    out.push(Fact::new(
        "Batch invariance",
        s.batch_invariance.as_ref().map_or(none, consistency),
    ));
    out.retain(|f| !f.value.trim().is_empty());
    SideView {
        label: s.label.clone(),
        description: s.description.clone(),
        facts: out,
    }
}

fn settings(r: &CrossvalRecord) -> Vec<Fact> {
    let s = &r.settings;
    vec![
        Fact::new("Tokens (most per prompt)", s.tokens.to_string()),
        Fact::new("Temperature", format!("{}", s.temperature)),
        Fact::new(
            "top_k",
            s.top_k.map_or_else(|| "not sent".into(), |k| k.to_string()),
        ),
        Fact::new("Seed", s.seed.to_string()),
        Fact::new("Top log-probabilities asked", s.top_logprobs.to_string()),
        Fact::new("Near-tie ε", format!("{} nats", s.epsilon_nats)),
        Fact::new("Batch-invariance concurrency", s.concurrency.to_string()),
    ]
}

/// A KL value in nats, readable at any size.
pub fn nats(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(0.0) => "0".into(),
        Some(x) if x.abs() < 0.01 => format!("{x:.1e}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// `agreed/positions (p%)`.
fn agreement(agreed: u64, positions: u64) -> String {
    if positions == 0 {
        return "—".into();
    }
    format!(
        "{agreed}/{positions} ({})",
        format::percent(agreed as f64 / positions as f64)
    )
}

fn summary(r: &CrossvalRecord) -> Vec<Fact> {
    let s = &r.summary;
    let at: Vec<String> = s.divergence_indices.iter().map(u64::to_string).collect();
    let top1 = match s.top1_agreement {
        Some(a) => format!(
            "{} ({}/{})",
            format::percent(a),
            s.top1_agreed,
            s.top1_positions
        ),
        None => "—".into(),
    };
    vec![
        Fact::new(
            "Prompts compared",
            format!("{} of {}", s.compared, s.prompts),
        ),
        Fact::new("Identical", s.identical.to_string()),
        Fact::new("Diverged", s.diverged.to_string()),
        Fact::new(
            "Near-tie / hard / unclassified / length",
            format!(
                "{} / {} / {} / {}",
                s.near_tie, s.hard, s.unclassified, s.length
            ),
        ),
        Fact::new(
            "Tokenization mismatches",
            s.tokenization_mismatch.to_string(),
        ),
        Fact::new("First divergences at tokens", at.join(", ")),
        Fact::new("Top-1 agreement", top1),
        Fact::new(
            "KL on shared top-k, mean / max",
            format!(
                "{} / {} nats over {} positions",
                nats(s.kl_mean_nats),
                nats(s.kl_max_nats),
                s.kl_positions
            ),
        ),
    ]
}

fn tokenization(p: &CrossvalPrompt) -> String {
    let t = &p.tokenization;
    let status = match t.status {
        TokenizationStatus::Same => "same",
        TokenizationStatus::Mismatch => "MISMATCH",
        TokenizationStatus::Unchecked => "unchecked",
    };
    let count = |n: Option<u64>| n.map_or_else(|| "?".into(), |n| n.to_string());
    let mut s = format!(
        "{status}; prompt tokens {} / {}",
        count(t.prompt_tokens_a),
        count(t.prompt_tokens_b)
    );
    if let Some(d) = t.first_difference {
        s.push_str(&format!("; first difference at {d}"));
    }
    if t.template_same == Some(false) {
        s.push_str("; chat templates differ");
    }
    s
}

fn class_name(k: DivergenceClass) -> &'static str {
    match k {
        DivergenceClass::NearTie => "near-tie",
        DivergenceClass::Hard => "hard",
        DivergenceClass::Unclassified => "unclassified",
        DivergenceClass::Length => "length",
    }
}

fn gap(label: &str, g: Option<Gap>) -> String {
    match g {
        None => format!("{label}: gap unknown"),
        Some(g) if g.exact => format!("{label}: gap {} nats", nats(Some(g.nats))),
        Some(g) => format!("{label}: gap ≥ {} nats", nats(Some(g.nats))),
    }
}

fn divergence_view(d: &DivergencePoint) -> DivergenceView {
    DivergenceView {
        index: d.token_index,
        kind: class_name(d.kind),
        context: d.context_before.concat(),
        token_a: d.token_a.clone(),
        token_b: d.token_b.clone(),
        after_a: d.after_a.concat(),
        after_b: d.after_b.concat(),
        gaps: format!("{}; {}", gap("A", d.gap_a), gap("B", d.gap_b)),
    }
}

fn prompt_view(p: &CrossvalPrompt, anchor: String) -> PromptView {
    let (verdict, verdict_class) = match p.verdict {
        PromptVerdict::Identical => ("identical", "same"),
        PromptVerdict::Diverged => ("diverged", "diverged"),
        PromptVerdict::TokenizationMismatch => ("tokenization mismatch (not compared)", "mismatch"),
        PromptVerdict::NotAnswered => ("not answered (not compared)", "mismatch"),
    };
    let kl = if p.kl_mean_nats.is_none() && p.kl_max_nats.is_none() {
        "—".into()
    } else {
        format!("{} / {}", nats(p.kl_mean_nats), nats(p.kl_max_nats))
    };
    PromptView {
        anchor: format!("p-{anchor}"),
        id: p.id.clone(),
        category: p.category.clone(),
        verdict,
        verdict_class,
        tokenization: tokenization(p),
        tokenization_note: p.tokenization.note.clone(),
        tokens: format!("{} / {}", p.tokens_a, p.tokens_b),
        divergence: p.divergence.as_ref().map(divergence_view),
        top1: agreement(p.top1_agreed, p.top1_positions),
        kl,
        excerpt: p.prompt_excerpt.clone(),
        text_a: p.text_a.clone(),
        text_b: p.text_b.clone(),
    }
}

#[cfg(test)]
mod tests {
    use tokbench_record::crossval_fixture::example_crossval;
    use tokbench_record::fixture::ExampleSpec;

    use super::*;

    #[test]
    fn sides_short_names_what_differs() {
        let r = example_crossval("x", &ExampleSpec::default());
        assert_eq!(sides_short(&r.sides), "no extra flags vs -fa on");
        let mut same = r.sides.clone();
        same[1] = same[0].clone();
        assert_eq!(sides_short(&same), "llama-server A vs llama-server A");
    }

    #[test]
    fn models_match_by_sha256_when_both_have_one_else_by_id() {
        let r = example_crossval("x", &ExampleSpec::default());
        let side = r.sides[0].model.clone().unwrap();
        let mut run = side.clone();
        run.id = "renamed".into();
        assert!(same_model(&run, &side), "same file, other id");
        run.sha256 = Some("f".repeat(64));
        run.id = side.id.clone();
        assert!(!same_model(&run, &side), "same id, other file");
        run.sha256 = None;
        assert!(same_model(&run, &side), "no file hash: by id");
        run.id = "other".into();
        assert!(!same_model(&run, &side));
    }

    #[test]
    fn nats_stay_readable() {
        assert_eq!(nats(None), "—");
        assert_eq!(nats(Some(0.0)), "0");
        assert_eq!(nats(Some(0.0004)), "4.0e-4");
        assert_eq!(nats(Some(0.25)), "0.250");
        assert_eq!(agreement(41, 42), "41/42 (97.6%)");
        assert_eq!(agreement(0, 0), "—");
    }
}
