//! Sweep pages: one page per sweep record (`kind: sweep`, the result of
//! `tokbench sweep MODEL --set NAME=v1,v2 …`) at `sweeps/<slug>.html`,
//! with the record copied beside it as `sweeps/<slug>.yaml`, and the list
//! of every sweep record at `sweeps/index.html`.
//!
//! A page shows the sweep (model, backend, dates, command line, whether it
//! was interrupted, host load), the space and the settings (rounds,
//! requests, reference, quality gate, SLOs), then per objective the ranked
//! table (the winner marked; configurations that failed the quality gate
//! or an SLO ranked but not eligible) and its chart
//! ([`crate::sweep_chart`]), the configurations that failed or were
//! dropped with their reasons, each winner's exact server command line,
//! and every configuration with links to its run records' pages (a run
//! record not on the site is named without a link).

use std::collections::HashMap;

use serde::Serialize;
use tokbench_record::{
    ConfigStatus, QualityResult, RankedConfig, SweepConfig, SweepObjective, SweepRecord,
};

use crate::facts::{self, Fact};
use crate::format;
use crate::load::LoadedSweep;
use crate::names::UniqueNames;
use crate::site::Site;
use crate::sweep_chart::{ci_text, sweep_chart, with_unit, SweepChart};

/// An objective's winner, for lists.
#[derive(Debug, Clone, Serialize)]
pub struct WinnerLink {
    /// Objective label, e.g. `decode_tok_s@chat@1`.
    pub objective: String,
    /// Winning configuration label; `None` when no configuration was
    /// eligible.
    pub label: Option<String>,
}

/// What lists of sweep records (the index, the sweeps index) show of one
/// record.
#[derive(Debug, Clone, Serialize)]
pub struct SweepLink {
    /// Page name stem: `sweeps/<slug>.html`.
    pub slug: String,
    /// `run.id` as recorded (display only).
    pub id: String,
    /// The record's file name (display only).
    pub file_name: String,
    /// Start date, `YYYY-MM-DD`.
    pub date: String,
    /// The model: its file name, else the path or name given.
    pub model: String,
    /// The backend.
    pub backend: String,
    /// Number of configurations.
    pub configs: usize,
    /// The winner of each objective, in the record's order.
    pub winners: Vec<WinnerLink>,
}

/// The list views of `sweeps`, each with a unique page name, in the order
/// of `sweeps`.
pub fn sweep_links(sweeps: &[LoadedSweep]) -> Vec<SweepLink> {
    let mut names = UniqueNames::default();
    sweeps
        .iter()
        .map(|loaded| {
            let r = &loaded.record;
            SweepLink {
                slug: names.claim(&r.run.id, "sweep"),
                id: r.run.id.clone(),
                file_name: crate::names::file_name(&loaded.path),
                date: r.run.started_utc.chars().take(10).collect(),
                model: model_name(r),
                backend: r.backend.clone(),
                configs: r.configs.len(),
                winners: r
                    .objectives
                    .iter()
                    .map(|o| WinnerLink {
                        objective: o.label.clone(),
                        label: o.winner.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn model_name(r: &SweepRecord) -> String {
    r.model
        .file_name
        .clone()
        .unwrap_or_else(|| r.model.path.clone())
}

/// The run-record pages on the site: record id → page stem (the page is
/// `runs/<stem>.html`); the first record of an id wins.
pub fn run_pages(site: &Site<'_>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in &site.runs {
        out.entry(v.id.clone()).or_insert_with(|| v.slug.clone());
    }
    out
}

/// A run record of a configuration: its id, and its page stem when on the
/// site.
#[derive(Debug, Serialize)]
struct RecordLink {
    id: String,
    slug: Option<String>,
}

/// One row of an objective's ranked table.
#[derive(Debug, Serialize)]
struct RankRow {
    rank: usize,
    label: String,
    winner: bool,
    eligible: bool,
    median: String,
    ci: String,
    vs_reference: String,
    requests: String,
    quality: String,
    quality_class: &'static str,
    status: String,
    reason: String,
}

/// One objective: its table and chart.
#[derive(Debug, Serialize)]
struct ObjectiveView {
    label: String,
    anchor: String,
    metric: String,
    shape: String,
    concurrency: u64,
    unit: String,
    direction: &'static str,
    winner: Option<String>,
    rows: Vec<RankRow>,
    chart: SweepChart,
}

/// One configuration.
#[derive(Debug, Serialize)]
struct ConfigView {
    label: String,
    status: String,
    reason: String,
    rounds: u64,
    requests: String,
    quality: String,
    quality_class: &'static str,
    slo_violations: String,
    server_command: Option<String>,
    records: Vec<RecordLink>,
}

/// A winning configuration and what it won.
#[derive(Debug, Serialize)]
struct WinnerView {
    label: String,
    objectives: String,
    command: Option<String>,
}

/// Everything the sweep template shows.
#[derive(Debug, Serialize)]
pub struct SweepPage<'a> {
    sw: &'a SweepLink,
    /// The record copy beside the page (relative to `sweeps/`).
    yaml: String,
    interrupted: bool,
    run_facts: Vec<Fact>,
    command_line: String,
    host_load: Vec<Fact>,
    space: Vec<Fact>,
    settings: Vec<Fact>,
    quality_gate: Vec<Fact>,
    slo: Vec<String>,
    objectives: Vec<ObjectiveView>,
    failed: Vec<ConfigView>,
    winners: Vec<WinnerView>,
    configs: Vec<ConfigView>,
    system: Vec<Fact>,
    reproduce: String,
    details: Vec<Fact>,
}

/// The page of sweep record `r`, listed as `sw`; `run_pages` maps the run
/// record ids on the site to their page stems ([`run_pages`]).
pub fn sweep_page<'a>(
    r: &'a SweepRecord,
    sw: &'a SweepLink,
    run_pages: &HashMap<String, String>,
) -> SweepPage<'a> {
    let configs: Vec<ConfigView> = r
        .configs
        .iter()
        .map(|c| config_view(r, c, run_pages))
        .collect();
    let failed = r
        .configs
        .iter()
        .filter(|c| c.status != ConfigStatus::Measured)
        .map(|c| config_view(r, c, run_pages))
        .collect();
    let mut anchors = UniqueNames::default();
    SweepPage {
        sw,
        yaml: format!("{}.yaml", sw.slug),
        interrupted: r.run.interrupted,
        run_facts: run_facts(r),
        command_line: facts::shell_join(&r.run.command_line),
        host_load: (r.run.host_load.as_ref())
            .map(crate::run_page::host_load)
            .unwrap_or_default(),
        space: (r.space.iter())
            .map(|p| Fact::new(p.name.clone(), p.values.join(", ")))
            .collect(),
        settings: settings(r),
        quality_gate: quality_gate(r),
        slo: r.settings.slo.clone(),
        objectives: (r.objectives.iter())
            .map(|o| objective_view(r, o, anchors.claim(&o.label, "objective")))
            .collect(),
        failed,
        winners: winners(r),
        configs,
        system: facts::system(&r.system),
        reproduce: r.provenance.reproduce.clone(),
        details: (r.provenance.details.iter())
            .map(|(k, v)| Fact::new(k.clone(), v.clone()))
            .collect(),
    }
}

/// `1 h 2 min 3 s`, `42 min 30 s`, `12.5 s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 60.0 {
        return format!("{} s", format::num(Some(seconds)));
    }
    let s = seconds.round() as u64;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h} h {m} min {s} s")
    } else {
        format!("{m} min {s} s")
    }
}

fn run_facts(r: &SweepRecord) -> Vec<Fact> {
    let mut out = vec![
        Fact::new("Sweep id", r.run.id.clone()),
        Fact::new("Model", r.model.path.clone()),
    ];
    if let Some(f) = &r.model.file_name {
        out.push(Fact::new("Model file", f.clone()));
    }
    if let Some(h) = &r.model.sha256 {
        out.push(Fact::new("Model SHA-256", h.clone()));
    }
    let version = format!(
        "{} {}",
        r.run.tokbench_version,
        r.run.tokbench_commit.as_deref().unwrap_or("")
    );
    out.extend([
        Fact::new("Backend", r.backend.clone()),
        Fact::new("Started (UTC)", r.run.started_utc.clone()),
        Fact::new("Finished (UTC)", r.run.finished_utc.clone()),
        Fact::new("Duration", duration(r.run.duration_s)),
        Fact::new(
            "Interrupted",
            if r.run.interrupted {
                "yes: the sweep was stopped before every configuration was measured"
            } else {
                "no"
            },
        ),
        Fact::new("tokbench", version.trim_end().to_owned()),
        Fact::new("Rig", r.system.rig_name.clone()),
    ]);
    out
}

fn settings(r: &SweepRecord) -> Vec<Fact> {
    let s = &r.settings;
    let q = &r.requests;
    let spent = if q.exhaustive > 0 {
        format!(
            "{} of {} an exhaustive sweep would take ({})",
            format::count(q.measured),
            format::count(q.exhaustive),
            format::percent(q.measured as f64 / q.exhaustive as f64)
        )
    } else {
        format::count(q.measured)
    };
    vec![
        Fact::new("Rounds (most per configuration)", s.rounds.to_string()),
        Fact::new(
            "Requests per configuration per round",
            format::count(s.requests_per_round),
        ),
        Fact::new("Workload scale", format!("{}", s.scale)),
        Fact::new(
            "Racing",
            if s.exhaustive {
                "no (--exhaustive): every configuration measured every round"
            } else {
                "yes: configurations that can no longer win are dropped between rounds"
            },
        ),
        Fact::new("Reference configuration", s.reference.clone()),
        Fact::new("Requests sent", spent),
    ]
}

fn quality_gate(r: &SweepRecord) -> Vec<Fact> {
    let Some(g) = &r.settings.quality else {
        return Vec::new();
    };
    let mut out = vec![
        Fact::new("Prompt set", g.prompt_set.clone()),
        Fact::new("Prompts", g.prompts.to_string()),
        Fact::new("Tokens (most per prompt)", g.tokens.to_string()),
        Fact::new(
            "Identical to the reference, at least",
            g.min_identical.to_string(),
        ),
        Fact::new("Hard divergences, at most", g.max_hard.to_string()),
    ];
    if let Some(cmd) = &g.quality_cmd {
        out.push(Fact::new("Quality command", cmd.clone()));
    }
    if let Some(d) = g.max_score_drop {
        out.push(Fact::new("Score drop, at most", format::num(Some(d))));
    }
    out
}

/// The quality verdict of `c` and its CSS class.
fn quality_text(r: &SweepRecord, c: Option<&SweepConfig>) -> (String, &'static str) {
    let q: Option<&QualityResult> = c.and_then(|c| c.quality.as_ref());
    let Some(q) = q else {
        let reference = c.is_some_and(|c| c.label == r.settings.reference);
        return (if reference { "reference" } else { "—" }.into(), "");
    };
    let mark = if q.passed { "✓" } else { "✗" };
    let mut s = format!(
        "{mark} {}/{} identical, {} hard",
        q.identical, q.compared, q.hard
    );
    if let Some(score) = q.score {
        s.push_str(&format!(", score {}", format::num(Some(score))));
        if let Some(rs) = q.reference_score {
            s.push_str(&format!(" (reference {})", format::num(Some(rs))));
        }
    }
    (s, if q.passed { "pass" } else { "fail" })
}

/// `measured`, `dropped after round 1`, `failed`, ….
fn status_text(c: &SweepConfig) -> String {
    match c.status {
        ConfigStatus::Measured => "measured".into(),
        ConfigStatus::Dropped => match c.dropped_after_round {
            Some(n) => format!("dropped after round {n}"),
            None => "dropped".into(),
        },
        ConfigStatus::Failed => "failed".into(),
        ConfigStatus::Interrupted => "interrupted".into(),
        ConfigStatus::NotRun => "not run".into(),
    }
}

/// Why `c` stopped or cannot win: its reason, the quality note, the SLOs
/// it broke.
fn reason_text(c: &SweepConfig) -> String {
    let mut parts: Vec<String> = c.reason.iter().cloned().collect();
    if let Some(note) = c.quality.as_ref().and_then(|q| q.note.as_ref()) {
        parts.push(format!("quality: {note}"));
    }
    if !c.slo_violations.is_empty() {
        parts.push(format!("SLO broken: {}", c.slo_violations.join(", ")));
    }
    parts.join("; ")
}

fn rank_row(r: &SweepRecord, o: &SweepObjective, i: usize, c: &RankedConfig) -> RankRow {
    let config = r.configs.iter().find(|k| k.label == c.label);
    let (quality, quality_class) = quality_text(r, config);
    let vs_reference = match c.vs_reference_pct {
        Some(p) => format!("{}{}%", if p > 0.0 { "+" } else { "" }, format::fixed(p, 1)),
        None if c.label == r.settings.reference => "reference".into(),
        None => "—".into(),
    };
    let mut status = config.map_or_else(String::new, status_text);
    if !c.eligible {
        status.push_str(" · not eligible");
    }
    RankRow {
        rank: i + 1,
        label: c.label.clone(),
        winner: o.winner.as_deref() == Some(c.label.as_str()),
        eligible: c.eligible,
        median: with_unit(c.median, &o.unit),
        ci: ci_text(c),
        vs_reference,
        requests: format::count(config.map_or(c.samples, |k| k.requests)),
        quality,
        quality_class,
        status,
        reason: config.map(reason_text).unwrap_or_default(),
    }
}

fn objective_view(r: &SweepRecord, o: &SweepObjective, anchor: String) -> ObjectiveView {
    ObjectiveView {
        label: o.label.clone(),
        anchor: format!("o-{anchor}"),
        metric: o.metric.clone(),
        shape: o.shape.clone(),
        concurrency: o.concurrency,
        unit: o.unit.clone(),
        direction: if o.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        },
        winner: o.winner.clone(),
        rows: (o.ranking.iter().enumerate())
            .map(|(i, c)| rank_row(r, o, i, c))
            .collect(),
        chart: sweep_chart(o),
    }
}

fn config_view(
    r: &SweepRecord,
    c: &SweepConfig,
    run_pages: &HashMap<String, String>,
) -> ConfigView {
    let (quality, quality_class) = quality_text(r, Some(c));
    ConfigView {
        label: c.label.clone(),
        status: status_text(c),
        reason: reason_text(c),
        rounds: c.rounds_measured,
        requests: format::count(c.requests),
        quality,
        quality_class,
        slo_violations: c.slo_violations.join(", "),
        server_command: c.server_command.as_deref().map(facts::shell_join),
        records: (c.records.iter())
            .map(|id| RecordLink {
                id: id.clone(),
                slug: run_pages.get(id).cloned(),
            })
            .collect(),
    }
}

/// Each winning configuration once, with the objectives it won and its
/// server command line.
fn winners(r: &SweepRecord) -> Vec<WinnerView> {
    let mut out: Vec<WinnerView> = Vec::new();
    for o in &r.objectives {
        let Some(label) = &o.winner else { continue };
        if let Some(w) = out.iter_mut().find(|w| &w.label == label) {
            w.objectives.push_str(&format!(", {}", o.label));
            continue;
        }
        let config = r.configs.iter().find(|c| &c.label == label);
        out.push(WinnerView {
            label: label.clone(),
            objectives: o.label.clone(),
            command: (config.and_then(|c| c.server_command.as_deref())).map(facts::shell_join),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use tokbench_record::fixture::ExampleSpec;
    use tokbench_record::sweep_fixture::example_sweep;

    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(12.5), "12.5 s");
        assert_eq!(duration(2.25), "2.25 s");
        assert_eq!(duration(2550.0), "42 min 30 s");
        assert_eq!(duration(3723.0), "1 h 2 min 3 s");
    }

    #[test]
    fn quality_and_status_say_what_happened() {
        let r = example_sweep("s", &ExampleSpec::default());
        let text = |i: usize| quality_text(&r, Some(&r.configs[i])).0;
        assert_eq!(text(0), "reference");
        assert_eq!(text(1), "✓ 3/3 identical, 0 hard");
        assert_eq!(text(2), "—");
        assert_eq!(text(3), "✗ 1/3 identical, 2 hard");
        assert_eq!(status_text(&r.configs[2]), "dropped after round 1");
        assert!(reason_text(&r.configs[5]).contains("SLO broken: ttft_ms.p99<=2000"));
        assert!(reason_text(&r.configs[3]).contains("quality: 2 hard divergences"));
    }

    #[test]
    fn a_configuration_winning_two_objectives_is_listed_once() {
        let mut r = example_sweep("s", &ExampleSpec::default());
        r.objectives[1].winner = r.objectives[0].winner.clone();
        let w = winners(&r);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].objectives, "decode_tok_s@chat@1, ttft_ms@chat@1");
        assert!(w[0].command.as_deref().unwrap().contains("--flash-attn on"));
    }
}
