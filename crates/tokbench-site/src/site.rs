//! The analysed site: one [`RunView`] per record, one [`Row`] per
//! (record, concurrency), grouped by family, model and rig. Nothing here is
//! ever averaged across records: a row holds one record's per-shape medians.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use tokbench_record::Record;

use crate::catalog::{family_key, Catalog};
use crate::labels::{self, Badge};
use crate::load::LoadedRecord;
use crate::names::UniqueNames;

/// Shapes in the order the site lists them; others follow alphabetically.
const KNOWN_SHAPES: [&str; 7] = [
    "chat", "rag", "codegen", "agent", "prefill", "pp512", "tg128",
];

/// What the pages show of one record.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Page name stem: `runs/<slug>.html`.
    pub slug: String,
    /// `run.id` as recorded (display only).
    pub id: String,
    /// The record's file name (display only).
    pub file_name: String,
    /// Family display name.
    pub family: String,
    /// Family page stem.
    pub family_slug: String,
    /// Model variant.
    pub variant: String,
    /// Model page stem.
    pub model_slug: String,
    /// `Family Variant`.
    pub model_label: String,
    /// Quant name, `unknown` when absent.
    pub quant: String,
    /// Rig name.
    pub rig: String,
    /// Rig page stem.
    pub rig_slug: String,
    /// GPU/CPU summary ([`labels::hardware`]).
    pub hw: String,
    /// GPU or CPU name.
    pub hw_short: String,
    /// `llama.cpp b7100 (cuda)`.
    pub backend: String,
    /// Filter value of the backend (name + device).
    pub backend_key: String,
    /// Filter label of the backend (`llama.cpp (cuda)`).
    pub backend_family: String,
    /// Filter value of the quant.
    pub quant_key: String,
    /// Mode label.
    pub mode: String,
    /// The record's flags.
    pub badges: Vec<Badge>,
    /// Start time, as recorded.
    pub started: String,
}

/// Medians of one shape in one row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ShapeVals {
    /// Median decode ("gen") tok/s.
    pub gen: Option<f64>,
    /// Median TTFT, ms.
    pub ttft: Option<f64>,
    /// Median client prefill tok/s.
    pub pp: Option<f64>,
    /// Decode bandwidth efficiency, percent (concurrency-1 cells only).
    pub bw: Option<f64>,
    /// Median answer tok/s (cells with reasoning tokens only).
    pub answer: Option<f64>,
    /// Goodput, requests/s (records run with `--slo` only).
    pub goodput: Option<f64>,
}

/// One record at one concurrency level.
#[derive(Debug, Clone)]
pub struct Row {
    /// Index into [`Site::runs`].
    pub run: usize,
    /// Concurrency level.
    pub conc: u64,
    /// Open-loop arrival rate, requests/s (a different configuration from
    /// the closed loop at the same concurrency).
    pub rate: Option<f64>,
    /// Per shape of [`Site::shapes`]: the medians, or `None` when the record
    /// has no measured cell of that shape at this level.
    pub vals: Vec<Option<ShapeVals>>,
    /// A cell at this level was noisy.
    pub noisy: bool,
}

impl Row {
    /// Highest per-shape median gen tok/s (the sort key of ranges).
    pub fn best_gen(&self) -> Option<f64> {
        self.vals
            .iter()
            .flatten()
            .filter_map(|v| v.gen)
            .reduce(f64::max)
    }
}

/// A family, model or rig with its records and rows.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Page stem.
    pub slug: String,
    /// Display name.
    pub title: String,
    /// Release month (families).
    pub released: Option<String>,
    /// Publisher (families).
    pub org: Option<String>,
    /// Indices into [`Site::runs`].
    pub runs: Vec<usize>,
    /// Indices into [`Site::rows`], fastest first.
    pub rows: Vec<usize>,
    /// Model groups of a family.
    pub children: Vec<usize>,
    /// Family of a model group.
    pub parent: Option<usize>,
}

/// Everything the pages are rendered from.
#[derive(Debug)]
pub struct Site<'a> {
    /// The loaded records (parallel to `runs`).
    pub records: &'a [LoadedRecord],
    /// One view per record.
    pub runs: Vec<RunView>,
    /// One row per (record, concurrency).
    pub rows: Vec<Row>,
    /// Every shape seen, in display order.
    pub shapes: Vec<String>,
    /// Every concurrency level seen, ascending.
    pub concs: Vec<u64>,
    /// Families, newest release first.
    pub families: Vec<Group>,
    /// Models (family + variant).
    pub models: Vec<Group>,
    /// Rigs, by name.
    pub rigs: Vec<Group>,
}

impl<'a> Site<'a> {
    /// Analyses `records` (looked up in `catalog`).
    pub fn build(records: &'a [LoadedRecord], catalog: &Catalog) -> Site<'a> {
        let shapes = shape_order(records.iter().map(|l| &l.record));
        let shape_idx: HashMap<&str, usize> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let mut site = Site {
            records,
            runs: Vec::with_capacity(records.len()),
            rows: Vec::new(),
            concs: Vec::new(),
            families: Vec::new(),
            models: Vec::new(),
            rigs: Vec::new(),
            shapes: shapes.clone(),
        };
        let mut grouper = Grouper::default();
        let mut run_names = UniqueNames::default();
        for (i, loaded) in records.iter().enumerate() {
            let view = grouper.view(i, loaded, catalog, &mut run_names, &mut site);
            site.runs.push(view);
            for row in rows_of(i, &loaded.record, &shape_idx, shapes.len()) {
                let r = site.rows.len();
                let (f, m, g) = grouper.of_run[i];
                site.families[f].rows.push(r);
                site.models[m].rows.push(r);
                site.rigs[g].rows.push(r);
                site.rows.push(row);
            }
        }
        let concs: BTreeSet<u64> = site.rows.iter().map(|r| r.conc).collect();
        site.concs = concs.into_iter().collect();
        site.sort_groups();
        site
    }

    /// Orders rows fastest first, families newest first, the rest by name.
    fn sort_groups(&mut self) {
        let rows = &self.rows;
        let runs = &self.runs;
        let by_speed = |a: &usize, b: &usize| {
            let (ra, rb) = (&rows[*a], &rows[*b]);
            let key = |r: &Row| r.best_gen().unwrap_or(f64::NEG_INFINITY);
            key(rb)
                .total_cmp(&key(ra))
                .then_with(|| runs[ra.run].id.cmp(&runs[rb.run].id))
                .then(ra.conc.cmp(&rb.conc))
                .then(ra.rate.unwrap_or(0.0).total_cmp(&rb.rate.unwrap_or(0.0)))
        };
        for g in self
            .families
            .iter_mut()
            .chain(&mut self.models)
            .chain(&mut self.rigs)
        {
            g.rows.sort_by(by_speed);
        }
        let models = &self.models;
        for f in &mut self.families {
            f.children
                .sort_by(|a, b| models[*a].title.cmp(&models[*b].title));
        }
        let order = |released: &Option<String>| std::cmp::Reverse(released.clone());
        self.families.sort_by(|a, b| {
            order(&a.released)
                .cmp(&order(&b.released))
                .then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase()))
        });
        for (fi, f) in self.families.iter().enumerate() {
            for &m in &f.children {
                self.models[m].parent = Some(fi);
            }
        }
        self.rigs.sort_by(|a, b| a.title.cmp(&b.title));
    }
}

/// Assigns records to family, model and rig groups.
#[derive(Default)]
struct Grouper {
    families: HashMap<String, usize>,
    models: HashMap<(usize, String), usize>,
    rigs: HashMap<String, usize>,
    family_names: UniqueNames,
    model_names: UniqueNames,
    rig_names: UniqueNames,
    /// (family, model, rig) of each record.
    of_run: Vec<(usize, usize, usize)>,
}

impl Grouper {
    /// The family group of `r` (created on first sight).
    fn family(&mut self, r: &Record, catalog: &Catalog, site: &mut Site<'_>) -> usize {
        let entry = catalog.lookup(&r.model.family);
        let key = entry.map_or_else(|| family_key(&r.model.family), |e| family_key(&e.family));
        *self.families.entry(key).or_insert_with(|| {
            site.families.push(Group {
                slug: self.family_names.claim(&r.model.family, "family"),
                title: entry
                    .map_or(r.model.family.as_str(), |e| e.display_name())
                    .to_owned(),
                released: entry.and_then(|e| e.released.clone()),
                org: entry.and_then(|e| e.org.clone()),
                ..Group::default()
            });
            site.families.len() - 1
        })
    }

    /// The model group of `r` within family `f`.
    fn model(&mut self, r: &Record, f: usize, site: &mut Site<'_>) -> usize {
        let family = &site.families[f].title;
        let title = format!("{family} {}", r.model.variant);
        *self
            .models
            .entry((f, r.model.variant.clone()))
            .or_insert_with(|| {
                site.models.push(Group {
                    slug: self.model_names.claim(&title, "model"),
                    title,
                    ..Group::default()
                });
                site.families[f].children.push(site.models.len() - 1);
                site.models.len() - 1
            })
    }

    /// The rig group of `r`.
    fn rig(&mut self, r: &Record, site: &mut Site<'_>) -> usize {
        *self
            .rigs
            .entry(r.system.rig_name.clone())
            .or_insert_with(|| {
                site.rigs.push(Group {
                    slug: self.rig_names.claim(&r.system.rig_name, "rig"),
                    title: r.system.rig_name.clone(),
                    ..Group::default()
                });
                site.rigs.len() - 1
            })
    }

    /// Groups record `i` and returns its view.
    fn view(
        &mut self,
        i: usize,
        loaded: &LoadedRecord,
        catalog: &Catalog,
        run_names: &mut UniqueNames,
        site: &mut Site<'_>,
    ) -> RunView {
        let r = &loaded.record;
        let f = self.family(r, catalog, site);
        let m = self.model(r, f, site);
        let g = self.rig(r, site);
        for group in [
            &mut site.families[f],
            &mut site.models[m],
            &mut site.rigs[g],
        ] {
            group.runs.push(i);
        }
        self.of_run.push((f, m, g));
        let family = site.families[f].title.clone();
        let groups = [&site.families[f], &site.models[m], &site.rigs[g]];
        run_view(loaded, run_names, family, groups)
    }
}

/// The view of one record; `groups` are its family, model and rig.
fn run_view(
    loaded: &LoadedRecord,
    run_names: &mut UniqueNames,
    family: String,
    groups: [&Group; 3],
) -> RunView {
    let [fam, model, rig] = groups;
    let r = &loaded.record;
    let quant = r.model.quant.clone().unwrap_or_else(|| "unknown".into());
    RunView {
        slug: run_names.claim(&r.run.id, "run"),
        id: r.run.id.clone(),
        file_name: crate::names::file_name(&loaded.path),
        family,
        family_slug: fam.slug.clone(),
        variant: r.model.variant.clone(),
        model_slug: model.slug.clone(),
        model_label: model.title.clone(),
        quant_key: crate::names::slugify(&quant, "unknown"),
        quant,
        rig: r.system.rig_name.clone(),
        rig_slug: rig.slug.clone(),
        hw: labels::hardware(&r.system),
        hw_short: labels::hardware_short(&r.system),
        backend: labels::backend(r),
        backend_key: crate::names::slugify(&labels::backend_family(r), "backend"),
        backend_family: labels::backend_family(r),
        mode: r.run.mode.clone(),
        badges: labels::record_badges(r),
        started: r.run.started_utc.clone(),
    }
}

/// Every shape of `records`: known ones in [`KNOWN_SHAPES`] order, then the
/// rest alphabetically.
fn shape_order<'r>(records: impl Iterator<Item = &'r Record>) -> Vec<String> {
    let seen: BTreeSet<&str> = records
        .flat_map(|r| r.cells.iter().map(|c| c.shape.as_str()))
        .collect();
    let known = KNOWN_SHAPES.iter().filter(|s| seen.contains(**s));
    let rest = seen.iter().filter(|s| !KNOWN_SHAPES.contains(s));
    known.chain(rest).map(|s| (*s).to_owned()).collect()
}

/// The rows of one record: one per concurrency level with a measured cell.
fn rows_of(run: usize, r: &Record, shape_idx: &HashMap<&str, usize>, n: usize) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for cell in &r.cells {
        let Some(m) = &cell.metrics else { continue };
        let Some(&si) = shape_idx.get(cell.shape.as_str()) else {
            continue;
        };
        let same = |row: &&mut Row| {
            row.conc == cell.concurrency
                && row.rate.map(f64::to_bits) == cell.rate_rps.map(f64::to_bits)
        };
        let row = match rows.iter_mut().find(same) {
            Some(row) => row,
            None => {
                rows.push(Row {
                    run,
                    conc: cell.concurrency,
                    rate: cell.rate_rps,
                    vals: vec![None; n],
                    noisy: false,
                });
                let last = rows.len() - 1;
                &mut rows[last]
            }
        };
        row.noisy |= cell.noisy;
        if row.vals[si].is_none() {
            row.vals[si] = Some(ShapeVals {
                gen: m.decode_tok_s.as_ref().map(|s| s.median),
                ttft: m.ttft_ms.as_ref().map(|s| s.median),
                pp: m.prefill_tok_s.as_ref().map(|s| s.median),
                bw: cell
                    .roofline
                    .and_then(|r| r.decode_bandwidth_efficiency_pct),
                answer: m.answer_tok_s.as_ref().map(|s| s.median),
                goodput: m.goodput_rps,
            });
        }
    }
    rows.sort_by(|a, b| {
        a.conc
            .cmp(&b.conc)
            .then(a.rate.unwrap_or(0.0).total_cmp(&b.rate.unwrap_or(0.0)))
    });
    rows
}
