//! Renders every page of the site into the output directory.
//!
//! Layout (all relative, so the site works from `file://` and any static
//! host): `index.html`, `hardware.html`, `methodology.html`,
//! `family/<family>.html`, `model/<family-variant>.html`, `hw/<rig>.html`,
//! `workload/<shape>-c<N>.html`, `runs/<run>.html` with `runs/<run>.yaml`
//! (the record) and, when they exist beside the record,
//! `runs/<run>.samples.jsonl` and `runs/<run>.server.log`; when there are
//! crossval records, `crossval/index.html` and `crossval/<crossval>.html`
//! with `crossval/<crossval>.yaml` ([`crate::crossval_page`]); when there
//! are sweep records, `sweeps/index.html` and `sweeps/<sweep>.html` with
//! `sweeps/<sweep>.yaml` ([`crate::sweep_page`]);
//! `data/runs.json`, `data/runs.csv`; `assets/site.css`, `assets/site.js`.
//!
//! The index renders the fastest rows of each family and embeds the
//! filter facets of all of them ([`crate::facets`]), so that a filter
//! matching only rows left off the index still shows and counts them.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use minijinja::value::Value;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::charts::{self, Chart};
use crate::crossval_page::{crossval_page, CrossvalLink};
use crate::definitions::Definitions;
use crate::error::SiteError;
use crate::history_chart::{history_charts, Analysed};
use crate::load::{LoadedCrossval, LoadedRecord, LoadedSweep};
use crate::output::Output;
use crate::render::{ctx, filters, row_views, RowView, Templates};
use crate::rig_page::{rig_view, RigView};
use crate::run_page::{run_page, RunFiles};
use crate::site::{Group, RunView, Site};
use crate::sweep_page::{run_pages, sweep_page, SweepLink};
use crate::{facets, model_page, SiteOptions};

/// Most bars drawn on one workload page.
const MAX_BARS: usize = 1000;

/// Everything a page needs.
pub struct Pages<'a> {
    /// The analysed site.
    pub site: &'a Site<'a>,
    /// Compiled templates.
    pub templates: &'a Templates,
    /// Definitions.
    pub defs: &'a Definitions,
    /// Where files go.
    pub output: &'a Output,
    /// Build options.
    pub opts: &'a SiteOptions,
    /// The crossval records.
    pub crossvals: &'a [LoadedCrossval],
    /// Their list views ([`crate::crossval_page::crossval_links`]), in
    /// the same order.
    pub crossval_links: &'a [CrossvalLink],
    /// The sweep records.
    pub sweeps: &'a [LoadedSweep],
    /// Their list views ([`crate::sweep_page::sweep_links`]), in the same
    /// order.
    pub sweep_links: &'a [SweepLink],
}

#[derive(Serialize)]
struct Link {
    slug: String,
    variant: String,
}

#[derive(Serialize)]
struct FamilyView<'a> {
    title: &'a str,
    slug: &'a str,
    released: Option<&'a str>,
    org: Option<&'a str>,
    n_runs: usize,
    n_rows: usize,
    rows: Vec<RowView<'a>>,
    models: Vec<Link>,
}

/// A link to a workload page.
#[derive(Serialize)]
struct ShapeLink {
    name: String,
    /// Page path relative to the site root.
    slug: String,
}

impl Pages<'_> {
    fn page(&self, rel: &str, template: &str, context: Value) -> Result<(), SiteError> {
        let root = "../".repeat(rel.matches('/').count());
        let html = self.templates.render(template, &root, context)?;
        self.output.write(rel, html.as_bytes())
    }

    /// Writes every page; returns how many HTML pages were written.
    ///
    /// Run pages (most of the work) are taken from one shared counter by a
    /// worker per core; this thread joins them once it has written the
    /// index, family, model, rig and workload pages, so no core idles while
    /// another still has pages to write.
    ///
    /// # Errors
    /// Template and I/O errors.
    pub fn write_all(&self) -> Result<usize, SiteError> {
        let next = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get().min(8));
        std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads)
                .map(|_| scope.spawn(|| self.runs(&next)))
                .collect();
            let mine = self.site_pages().and_then(|pages| {
                self.runs(&next)?;
                Ok(pages + self.site.runs.len())
            });
            if mine.is_err() {
                next.store(self.site.runs.len(), Ordering::Relaxed);
            }
            let theirs = workers.into_iter().try_for_each(|h| match h.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            });
            let pages = mine?;
            theirs.map(|()| pages)
        })
    }

    /// The pages other than run pages; returns how many were written.
    fn site_pages(&self) -> Result<usize, SiteError> {
        self.output
            .write("assets/site.css", include_bytes!("../assets/site.css"))?;
        self.output
            .write("assets/site.js", include_bytes!("../assets/site.js"))?;
        let rigs: Vec<RigView> = self
            .site
            .rigs
            .iter()
            .map(|g| rig_view(self.site, g))
            .collect();
        let workloads = self.workloads();
        self.index(&rigs, &workloads)?;
        self.page(
            "hardware.html",
            "hardware.html",
            minijinja::context! { rigs => ctx(&rigs) },
        )?;
        let body = Value::from_safe_string(crate::methodology::html());
        self.page(
            "methodology.html",
            "methodology.html",
            minijinja::context! { body },
        )?;
        let mut pages = 3 + self.crossval_pages()? + self.sweep_pages()?;
        for f in &self.site.families {
            self.family(f)?;
        }
        let mut analysed = Analysed::default();
        for m in &self.site.models {
            self.model(m, &mut analysed)?;
        }
        for (g, view) in self.site.rigs.iter().zip(&rigs) {
            self.rig(g, view, &mut analysed)?;
        }
        for chart in &workloads {
            let levels: Vec<u64> = workloads
                .iter()
                .filter(|c| c.shape == chart.shape)
                .map(|c| c.conc)
                .collect();
            let rel = Chart::page(&chart.shape_slug, chart.conc);
            self.page(
                &rel,
                "workload.html",
                minijinja::context! { chart => ctx(chart), levels },
            )?;
        }
        pages += self.site.families.len()
            + self.site.models.len()
            + self.site.rigs.len()
            + workloads.len();
        Ok(pages)
    }

    /// The crossval pages, their record copies and the crossval index
    /// (none without crossval records); returns how many pages were
    /// written.
    fn crossval_pages(&self) -> Result<usize, SiteError> {
        if self.crossvals.is_empty() {
            return Ok(0);
        }
        for (loaded, link) in self.crossvals.iter().zip(self.crossval_links) {
            self.output
                .copy(&format!("crossval/{}.yaml", link.slug), &loaded.path)?;
            let page = crossval_page(&loaded.record, link);
            self.page(
                &format!("crossval/{}.html", link.slug),
                "crossval.html",
                ctx(page),
            )?;
        }
        self.page(
            "crossval/index.html",
            "crossval_index.html",
            minijinja::context! { crossvals => ctx(self.crossvals_newest_first(None)) },
        )?;
        Ok(self.crossvals.len() + 1)
    }

    /// The sweep pages, their record copies and the sweeps index (none
    /// without sweep records); returns how many pages were written.
    fn sweep_pages(&self) -> Result<usize, SiteError> {
        if self.sweeps.is_empty() {
            return Ok(0);
        }
        let runs = run_pages(self.site);
        for (loaded, link) in self.sweeps.iter().zip(self.sweep_links) {
            self.output
                .copy(&format!("sweeps/{}.yaml", link.slug), &loaded.path)?;
            let page = sweep_page(&loaded.record, link, &runs);
            self.page(
                &format!("sweeps/{}.html", link.slug),
                "sweep.html",
                ctx(page),
            )?;
        }
        self.page(
            "sweeps/index.html",
            "sweeps_index.html",
            minijinja::context! { sweeps => ctx(self.sweeps_newest_first()) },
        )?;
        Ok(self.sweeps.len() + 1)
    }

    /// The sweep list views, newest first (then by id).
    fn sweeps_newest_first(&self) -> Vec<&SweepLink> {
        let mut list: Vec<&SweepLink> = self.sweep_links.iter().collect();
        list.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.id.cmp(&b.id)));
        list
    }

    /// The crossval list views, newest first; only those of the model page
    /// `model` when given.
    fn crossvals_newest_first(&self, model: Option<&str>) -> Vec<&CrossvalLink> {
        let mut list: Vec<&CrossvalLink> = self
            .crossval_links
            .iter()
            .filter(|c| model.is_none_or(|m| c.model_slug.as_deref() == Some(m)))
            .collect();
        list.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.id.cmp(&b.id)));
        list
    }

    /// Every (shape, closed-loop level) chart with at least one bar.
    fn workloads(&self) -> Vec<Chart> {
        let mut out = Vec::new();
        for si in 0..self.site.shapes.len() {
            for &c in &self.site.concs {
                let chart = charts::chart(self.site, self.defs, si, c, MAX_BARS);
                if chart.total > 0 {
                    out.push(chart);
                }
            }
        }
        out
    }

    /// The families of the index, each with its fastest rows.
    fn index_families(&self) -> Vec<FamilyView<'_>> {
        self.site
            .families
            .iter()
            .map(|f| self.family_view(f, self.opts.index_rows))
            .collect()
    }

    /// Family `f` with its `shown` fastest rows.
    fn family_view<'s>(&'s self, f: &'s Group, shown: usize) -> FamilyView<'s> {
        FamilyView {
            title: &f.title,
            slug: &f.slug,
            released: f.released.as_deref(),
            org: f.org.as_deref(),
            n_runs: f.runs.len(),
            n_rows: f.rows.len(),
            rows: row_views(self.site, &f.rows[..f.rows.len().min(shown)]),
            models: self.model_links(f),
        }
    }

    fn index(&self, rigs: &[RigView], workloads: &[Chart]) -> Result<(), SiteError> {
        let site = self.site;
        let families = self.index_families();
        // Facets of every row (not only the rendered ones), for the filters.
        let facets = Value::from_safe_string(facets::script_json(&facets::index_facets(site)));
        let chart_conc = if site.concs.contains(&1) {
            1
        } else {
            site.concs.first().copied().unwrap_or(1)
        };
        let charts: Vec<Chart> = workloads
            .iter()
            .filter(|c| c.conc == chart_conc)
            .map(|c| {
                let mut c = c.clone();
                c.bars.truncate(self.opts.chart_bars);
                c.height = c.height.min((c.bars.len() as u32).max(1) * 36);
                c
            })
            .collect();
        let other_levels: Vec<ShapeLink> = workloads
            .iter()
            .filter(|c| c.conc != chart_conc)
            .map(|c| ShapeLink {
                name: format!("{} c={}", c.shape, c.conc),
                slug: Chart::page(&c.shape_slug, c.conc),
            })
            .collect();
        let all_rows: Vec<usize> = (0..site.rows.len()).collect();
        let totals = minijinja::context! {
            records => site.runs.len(),
            rows => site.rows.len(),
            families => site.families.len(),
            rigs => site.rigs.len(),
        };
        let context = minijinja::context! {
            totals,
            filters => ctx(filters(site, &all_rows)),
            families => ctx(&families),
            facets,
            charts => ctx(&charts),
            chart_conc,
            other_levels => ctx(&other_levels),
            rigs => ctx(rigs),
            crossvals => ctx(self.crossvals_newest_first(None)),
            sweeps => ctx(self.sweeps_newest_first()),
        };
        self.page("index.html", "index.html", context)
    }

    fn model_links(&self, f: &Group) -> Vec<Link> {
        f.children
            .iter()
            .map(|&m| {
                let g = &self.site.models[m];
                let variant = g
                    .runs
                    .first()
                    .map(|&r| self.site.runs[r].variant.clone())
                    .unwrap_or_default();
                Link {
                    slug: g.slug.clone(),
                    variant,
                }
            })
            .collect()
    }

    fn family(&self, f: &Group) -> Result<(), SiteError> {
        // The family page's rows go to the results table, not the view.
        let view = self.family_view(f, 0);
        let context = minijinja::context! {
            family => ctx(&view),
            filters => ctx(filters(self.site, &f.rows)),
            rows => ctx(row_views(self.site, &f.rows)),
        };
        self.page(&format!("family/{}.html", f.slug), "family.html", context)
    }

    fn model(&self, g: &Group, analysed: &mut Analysed) -> Result<(), SiteError> {
        let context = minijinja::context! {
            model => ctx(model_page::model_view(self.site, g)),
            matrix => ctx(model_page::matrix(self.site, g)),
            crossvals => ctx(self.crossvals_newest_first(Some(&g.slug))),
            history => ctx(history_charts(self.site, &g.runs, analysed)),
            filters => ctx(filters(self.site, &g.rows)),
            rows => ctx(row_views(self.site, &g.rows)),
        };
        self.page(&format!("model/{}.html", g.slug), "model.html", context)
    }

    fn rig(&self, g: &Group, view: &RigView, analysed: &mut Analysed) -> Result<(), SiteError> {
        let context = minijinja::context! {
            rig => ctx(view),
            history => ctx(history_charts(self.site, &g.runs, analysed)),
            filters => ctx(filters(self.site, &g.rows)),
            rows => ctx(row_views(self.site, &g.rows)),
        };
        self.page(&format!("hw/{}.html", g.slug), "rig.html", context)
    }

    /// Run pages and their files, taking indices from `next` until none
    /// is left; on an error, `next` is moved past the end so that the
    /// other workers stop too.
    fn runs(&self, next: &AtomicUsize) -> Result<(), SiteError> {
        let n = self.site.runs.len();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return Ok(());
            }
            if let Err(e) = self.run(i) {
                next.store(n, Ordering::Relaxed);
                return Err(e);
            }
        }
    }

    fn run(&self, i: usize) -> Result<(), SiteError> {
        let loaded = &self.site.records[i];
        let view = &self.site.runs[i];
        let slug = &view.slug;
        let run = &loaded.record.run;
        let samples = tokbench_record::sidecar_path(&loaded.path, run.samples_file.as_deref());
        let log = tokbench_record::sidecar_path(&loaded.path, run.server_log_file.as_deref());
        let files = RunFiles {
            yaml: format!("{slug}.yaml"),
            samples: samples.as_ref().map(|_| format!("{slug}.samples.jsonl")),
            log: log.as_ref().map(|_| format!("{slug}.server.log")),
        };
        let page = format!("runs/{slug}.html");
        let copies: Vec<(String, &Path)> = [
            (Some(&files.yaml), Some(loaded.path.as_path())),
            (files.samples.as_ref(), samples.as_deref()),
            (files.log.as_ref(), log.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, src)| Some((format!("runs/{}", name?), src?)))
        .collect();
        let rels: Vec<String> = copies.iter().map(|(rel, _)| rel.clone()).collect();
        let fp = fingerprint(loaded, view, &copies);
        if self.output.reuse(&page, &fp, &rels) {
            return Ok(());
        }
        for (rel, src) in &copies {
            self.output.copy(rel, src)?;
        }
        let context = run_page(&loaded.record, view, files, self.defs);
        self.page(&page, "run.html", ctx(context))
    }
}

/// Fingerprint of everything a run page is made from: tokbench's templates
/// and definitions, the record's bytes, its labels and page names, and the
/// size and modification time of its sidecar files.
fn fingerprint(loaded: &LoadedRecord, view: &RunView, copies: &[(String, &Path)]) -> String {
    let mut h = Sha256::new();
    h.update(crate::render::fingerprint().as_bytes());
    h.update(loaded.sha256.as_bytes());
    h.update(serde_json::to_vec(view).unwrap_or_default());
    for (rel, src) in copies.iter().skip(1) {
        let meta = std::fs::metadata(src).ok();
        let mtime = meta.as_ref().and_then(|m| m.modified().ok());
        let since = mtime.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        let stamp = format!("{rel}:{:?}:{:?}", meta.map(|m| m.len()), since);
        h.update(stamp.as_bytes());
    }
    crate::load::hex(&h.finalize())
}
