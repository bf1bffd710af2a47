//! The sweep's result: per objective, the configurations ranked by the
//! median of their pooled requests, the winner with its server command
//! line, the dropped and failed configurations with their reasons, and
//! what racing saved.

use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use tokbench_compare::Unit;
use tokbench_stats::{quantile_sorted, Direction};

use super::args::Objective;
use super::state::{ConfigState, Status};

/// The objective's unit for tables (`tok/s`, `ms`).
pub fn unit_of(obj: &Objective) -> &'static str {
    match obj.quantity.unit() {
        Unit::TokS => "tok/s",
        Unit::Ms => "ms",
        Unit::Rps => "req/s",
        Unit::JPerToken => "J/token",
        Unit::Bytes => "bytes",
    }
}

/// Median of the pooled values, `None` without any.
pub fn median(values: &[Vec<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, 0.5).ok().flatten()
}

/// Indices of the configurations with values for objective `o`, best first.
pub fn ranking(states: &[ConfigState], o: usize, obj: &Objective) -> Vec<(usize, f64)> {
    let mut ranked: Vec<(usize, f64)> = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, median(s.values.get(&o)?)?)))
        .collect();
    let higher = obj.quantity.direction() == Direction::HigherIsBetter;
    ranked.sort_by(|a, b| {
        if higher {
            b.1.total_cmp(&a.1)
        } else {
            a.1.total_cmp(&b.1)
        }
    });
    ranked
}

/// The winner of objective `o`: the best configuration that can win
/// (still in the race, quality kept, every SLO met).
pub fn winner(states: &[ConfigState], o: usize, obj: &Objective) -> Option<(usize, f64)> {
    ranking(states, o, obj)
        .into_iter()
        .find(|(i, _)| states[*i].can_win())
}

/// Where a configuration stands, as shown: its status, then why it cannot
/// win when it failed the quality gate or missed an SLO.
pub fn standing(s: &ConfigState) -> String {
    let mut parts = vec![status_text(&s.status)];
    if let Some(q) = s.quality.as_ref().filter(|q| !q.passed) {
        parts.push(format!(
            "failed quality: {}",
            q.note.as_deref().unwrap_or("below the bar")
        ));
    }
    if !s.slo_misses.is_empty() {
        parts.push(format!("missed SLO: {}", s.slo_misses.join("; ")));
    }
    parts.join("; ")
}

fn status_text(s: &Status) -> String {
    match s {
        Status::Active => "in the race".into(),
        Status::Dropped {
            round,
            leader,
            ratio,
        } => format!(
            "dropped after round {round}: {:.3} [{:.3}, {:.3}] × {leader}",
            ratio.ratio, ratio.lo, ratio.hi
        ),
        Status::Failed { reason, .. } => reason.clone(),
    }
}

/// The whole report as text.
pub fn render(states: &[ConfigState], objectives: &[Objective], reference: usize) -> String {
    let mut out = String::new();
    for (o, obj) in objectives.iter().enumerate() {
        let unit = unit_of(obj);
        let _ = writeln!(out, "Objective {} ({unit}):", obj.label());
        let ref_value = states
            .get(reference)
            .and_then(|s| median(s.values.get(&o)?));
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header([
            "Rank",
            "Configuration",
            &format!("Median {unit}"),
            "vs reference",
            "Requests",
            "Quality",
            "Status",
        ]);
        for (rank, (i, v)) in ranking(states, o, obj).into_iter().enumerate() {
            let s = &states[i];
            let vs =
                ref_value.map_or_else(|| "-".into(), |r| format!("{:+.1}%", (v / r - 1.0) * 100.0));
            let n: usize = s.values.get(&o).map_or(0, |v| v.iter().map(Vec::len).sum());
            table.add_row([
                (rank + 1).to_string(),
                s.label_marked(i == reference),
                format!("{v:.1}"),
                vs,
                n.to_string(),
                s.quality.as_ref().map_or_else(|| "-".into(), |q| q.text()),
                standing(s),
            ]);
        }
        let _ = writeln!(out, "{table}");
        out.push_str(&winner_lines(states, o, obj, ref_value));
        out.push('\n');
    }
    out.push_str(&failures(states));
    out
}

/// `Winner: label (value unit, +N% vs reference)` and its server command
/// line, or why there is none.
fn winner_lines(
    states: &[ConfigState],
    o: usize,
    obj: &Objective,
    ref_value: Option<f64>,
) -> String {
    let Some((i, v)) = winner(states, o, obj) else {
        return "Winner: none (no configuration was measured that kept the quality and met every SLO)\n"
            .into();
    };
    let vs = ref_value
        .map(|r| format!(", {:+.0}% vs reference", (v / r - 1.0) * 100.0))
        .unwrap_or_default();
    let mut out = format!(
        "Winner: {} ({v:.1} {}{vs})\n",
        states[i].config.label,
        unit_of(obj)
    );
    if let Some(cmd) = &states[i].command {
        let _ = writeln!(
            out,
            "  server: {}",
            tokbench_runner::assemble::shell_join(cmd)
        );
    }
    out
}

/// Failed configurations with their reasons (and any kept record), then
/// those that failed the quality gate or missed an SLO.
fn failures(states: &[ConfigState]) -> String {
    let mut out = String::new();
    for s in states {
        if let Some(q) = s.quality.as_ref().filter(|q| !q.passed) {
            let why = q.note.as_deref().unwrap_or("below the bar");
            let _ = writeln!(out, "Failed quality: {} — {why}", s.config.label);
        } else if let Some(note) = s.quality.as_ref().and_then(|q| q.note.as_ref()) {
            let _ = writeln!(out, "Note: {} — {note}", s.config.label);
        }
        if !s.slo_misses.is_empty() {
            let _ = writeln!(
                out,
                "Missed SLO: {} — {}",
                s.config.label,
                s.slo_misses.join("; ")
            );
        }
        if let Status::Failed { reason, path } = &s.status {
            let kept = path
                .as_ref()
                .map(|p| format!(" (record kept: {})", p.display()))
                .unwrap_or_default();
            let _ = writeln!(out, "Failed: {} — {reason}{kept}", s.config.label);
        }
    }
    out
}

/// The requests line: measured, what measuring every surviving
/// configuration in every round would have taken, and the saving.
pub fn requests_line(used: u64, full: u64, exhaustive: bool) -> String {
    if exhaustive || full == 0 {
        return format!("Requests measured: {used} (exhaustive: every configuration, every round)");
    }
    let saved = full.saturating_sub(used);
    format!(
        "Racing: {used} requests measured; measuring every configuration in every round would take \
         {full} (saved {saved}, {:.0}%)",
        saved as f64 / full as f64 * 100.0
    )
}
