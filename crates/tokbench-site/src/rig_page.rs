//! Per-rig views: everything probed (from the most recent run, with the
//! values other runs saw), the hand-written rig notes, the backends seen and
//! the VRAM-fit verdicts.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tokbench_record::{Record, RigNotes, VramFit};

use crate::facts::{self, Fact};
use crate::site::{Group, Site};

/// A label with a run count.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    /// What.
    pub label: String,
    /// How many runs.
    pub runs: usize,
}

/// What the rig templates show.
#[derive(Debug, Serialize)]
pub struct RigView {
    /// Page stem.
    pub slug: String,
    /// Rig name.
    pub title: String,
    /// Runs on the rig.
    pub n_runs: usize,
    /// Hardware summary of the most recent run.
    pub hw: String,
    /// Backends seen, with run counts.
    pub backends: Vec<Tally>,
    /// Backends as one line (`llama.cpp b7100 (cuda) ×3, …`).
    pub backends_line: String,
    /// Everything probed.
    pub facts: Vec<Fact>,
    /// Hand-written notes of the most recent run that has them.
    pub notes: Vec<Fact>,
    /// VRAM-fit verdicts.
    pub fit: Vec<Tally>,
}

fn tallies(counts: BTreeMap<String, usize>) -> Vec<Tally> {
    let mut v: Vec<Tally> = counts
        .into_iter()
        .map(|(label, runs)| Tally { label, runs })
        .collect();
    v.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.label.cmp(&b.label)));
    v
}

/// The view of rig group `g`.
pub fn rig_view(site: &Site<'_>, g: &Group) -> RigView {
    let records: Vec<&Record> = g.runs.iter().map(|&i| &site.records[i].record).collect();
    let latest = g
        .runs
        .iter()
        .copied()
        .max_by(|&a, &b| {
            let (ra, rb) = (&site.records[a].record.run, &site.records[b].record.run);
            ra.started_utc
                .cmp(&rb.started_utc)
                .then_with(|| ra.id.cmp(&rb.id))
        })
        .unwrap_or_default();
    let mut backends = BTreeMap::new();
    let mut fit = BTreeMap::new();
    for r in &records {
        *backends.entry(crate::labels::backend(r)).or_insert(0) += 1;
        let verdict = match r.resources.vram_fit {
            VramFit::Fit { .. } => "fit",
            VramFit::Spill { .. } => "spill",
            VramFit::NotApplicable { .. } => "not applicable",
        };
        *fit.entry(verdict.to_owned()).or_insert(0) += 1;
    }
    let backends = tallies(backends);
    let backends_line = backends
        .iter()
        .map(|t| t.label.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let latest_record = site.records.get(latest).map(|l| &l.record);
    let notes = records
        .iter()
        .filter(|r| r.system.rig.is_some())
        .max_by(|a, b| a.run.started_utc.cmp(&b.run.started_utc))
        .and_then(|r| r.system.rig.as_ref())
        .map(rig_notes)
        .unwrap_or_default();
    RigView {
        slug: g.slug.clone(),
        title: g.title.clone(),
        n_runs: g.runs.len(),
        hw: site
            .runs
            .get(latest)
            .map(|v| v.hw.clone())
            .unwrap_or_default(),
        backends,
        backends_line,
        facts: latest_record
            .map(|l| merged_facts(l, &records))
            .unwrap_or_default(),
        notes,
        fit: tallies(fit),
    }
}

/// The facts of `latest`, each with the other values seen in `all`.
fn merged_facts(latest: &Record, all: &[&Record]) -> Vec<Fact> {
    let mut seen: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    for r in all {
        for f in facts::system(&r.system) {
            *seen.entry(f.label).or_default().entry(f.value).or_insert(0) += 1;
        }
    }
    facts::system(&latest.system)
        .into_iter()
        .map(|mut f| {
            let others: Vec<String> = seen
                .get(&f.label)
                .into_iter()
                .flatten()
                .filter(|(v, _)| **v != f.value)
                .map(|(v, n)| format!("{v} in {n} runs"))
                .collect();
            if !others.is_empty() {
                f.also = Some(others.join("; "));
            }
            f
        })
        .collect()
}

fn rig_notes(n: &RigNotes) -> Vec<Fact> {
    let mut out = vec![Fact::new("Name", n.name.clone())];
    for (label, v) in [
        ("Chassis", &n.chassis),
        ("Cooling", &n.cooling),
        ("PSU", &n.psu),
        ("Notes", &n.notes),
    ] {
        if let Some(v) = v {
            out.push(Fact::new(label, v.clone()));
        }
    }
    if !n.tags.is_empty() {
        out.push(Fact::new("Tags", n.tags.join(", ")));
    }
    out.extend(n.extra.iter().map(|(k, v)| Fact::new(k.clone(), v.clone())));
    out
}
