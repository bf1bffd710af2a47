//! Per-model view (family + variant): the quant × hardware × backend
//! matrix, one entry per record.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::facts::Fact;
use crate::format;
use crate::labels::Badge;
use crate::site::{Group, Row, Site};

/// A matrix column: one rig with one backend.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Column {
    /// Rig name.
    pub rig: String,
    /// Rig page stem.
    pub rig_slug: String,
    /// Backend label.
    pub backend: String,
}

/// One record in a matrix cell.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Run page stem.
    pub slug: String,
    /// Gen tok/s range at `conc`.
    pub gen: String,
    /// The concurrency shown.
    pub conc: u64,
    /// Mode label.
    pub mode: String,
    /// Flags.
    pub badges: Vec<Badge>,
}

/// A matrix row: one quant.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    /// Quant name.
    pub quant: String,
    /// One list of entries per column.
    pub cells: Vec<Vec<Entry>>,
}

/// The matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, by quant (bits, then name).
    pub rows: Vec<MatrixRow>,
}

/// What the model template shows besides the results table.
#[derive(Debug, Serialize)]
pub struct ModelView {
    /// `Family Variant`.
    pub title: String,
    /// Family display name.
    pub family: String,
    /// Family page stem.
    pub family_slug: String,
    /// Variant.
    pub variant: String,
    /// Facts.
    pub facts: Vec<Fact>,
}

/// Sort key of a quant name: its first number (bits), then the name.
fn quant_key(q: &str) -> (u32, String) {
    let digits: String = q
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.parse().unwrap_or(u32::MAX), q.to_owned())
}

/// The matrix of model group `g`.
pub fn matrix(site: &Site<'_>, g: &Group) -> Matrix {
    // Each record's lowest closed-loop level (else its lowest level).
    let mut first: BTreeMap<usize, &Row> = BTreeMap::new();
    for &ri in &g.rows {
        let row = &site.rows[ri];
        let better = |old: &Row| (row.rate.is_some(), row.conc) < (old.rate.is_some(), old.conc);
        if first.get(&row.run).is_none_or(|old| better(old)) {
            first.insert(row.run, row);
        }
    }
    let column = |run: usize| {
        let v = &site.runs[run];
        Column {
            rig: v.rig.clone(),
            rig_slug: v.rig_slug.clone(),
            backend: v.backend.clone(),
        }
    };
    let columns: Vec<Column> = first
        .keys()
        .map(|&r| column(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut quants: Vec<String> = first
        .keys()
        .map(|&r| site.runs[r].quant.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    quants.sort_by_key(|q| quant_key(q));
    let mut rows: Vec<MatrixRow> = quants
        .iter()
        .map(|q| MatrixRow {
            quant: q.clone(),
            cells: vec![Vec::new(); columns.len()],
        })
        .collect();
    for (&run, row) in &first {
        let v = &site.runs[run];
        let (Some(qi), Ok(ci)) = (
            quants.iter().position(|q| *q == v.quant),
            columns.binary_search(&column(run)),
        ) else {
            continue;
        };
        let gens: Vec<f64> = row.vals.iter().flatten().filter_map(|s| s.gen).collect();
        rows[qi].cells[ci].push(Entry {
            slug: v.slug.clone(),
            gen: format::range(&gens),
            conc: row.conc,
            mode: v.mode.clone(),
            badges: v.badges.clone(),
        });
    }
    Matrix { columns, rows }
}

/// The header facts of model group `g`.
pub fn model_view(site: &Site<'_>, g: &Group) -> ModelView {
    let family = g.parent.and_then(|f| site.families.get(f));
    let records = g.runs.iter().map(|&i| &site.records[i].record);
    let distinct = |f: fn(&tokbench_record::Record) -> Option<String>| {
        records
            .clone()
            .filter_map(f)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let variant = g
        .runs
        .first()
        .map(|&i| site.runs[i].variant.clone())
        .unwrap_or_default();
    let mut facts = Vec::new();
    if let Some(f) = family {
        facts.push(Fact::new("Family", f.title.clone()).link(format!("family/{}.html", f.slug)));
        facts.push(Fact::new(
            "Released",
            f.released.clone().unwrap_or_else(|| "unknown".into()),
        ));
    }
    facts.push(Fact::new("Runs", g.runs.len().to_string()));
    for (label, value) in [
        ("Parameters", distinct(|r| r.model.params_label.clone())),
        ("Architecture", distinct(|r| r.model.architecture.clone())),
        ("Quants", distinct(|r| r.model.quant.clone())),
    ] {
        if !value.is_empty() {
            facts.push(Fact::new(label, value));
        }
    }
    ModelView {
        title: g.title.clone(),
        family: family.map(|f| f.title.clone()).unwrap_or_default(),
        family_slug: family.map(|f| f.slug.clone()).unwrap_or_default(),
        variant,
        facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quants_sort_by_bits() {
        let mut q = vec!["Q8_0", "F16", "Q2_K", "IQ4_XS", "Q4_K_M", "unknown", "Q4_0"];
        q.sort_by_key(|s| quant_key(s));
        assert_eq!(
            q,
            ["Q2_K", "IQ4_XS", "Q4_0", "Q4_K_M", "Q8_0", "F16", "unknown"]
        );
    }
}
