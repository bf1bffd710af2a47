//! The template environment (templates are files under `templates/`,
//! compiled in; HTML auto-escaping on for every one of them) and the views
//! shared by several pages: result rows and filter options.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::definitions::{Definition, Definitions};
use crate::error::SiteError;
use crate::format;
use crate::site::{Row, RunView, Site};

/// Every template, by name.
const TEMPLATES: [(&str, &str); 17] = [
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("family.html", include_str!("../templates/family.html")),
    ("model.html", include_str!("../templates/model.html")),
    ("rig.html", include_str!("../templates/rig.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("crossval.html", include_str!("../templates/crossval.html")),
    (
        "crossval_index.html",
        include_str!("../templates/crossval_index.html"),
    ),
    ("sweep.html", include_str!("../templates/sweep.html")),
    (
        "sweeps_index.html",
        include_str!("../templates/sweeps_index.html"),
    ),
    ("workload.html", include_str!("../templates/workload.html")),
    (
        "methodology.html",
        include_str!("../templates/methodology.html"),
    ),
    ("hardware.html", include_str!("../templates/hardware.html")),
    (
        "definitions.html",
        include_str!("../templates/definitions.html"),
    ),
    (
        "metric_head.html",
        include_str!("../templates/metric_head.html"),
    ),
    (
        "hardware_list.html",
        include_str!("../templates/hardware_list.html"),
    ),
];

/// Compiled templates plus the definitions every page can use.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    defs: Value,
}

/// A definition as templates see it.
#[derive(Serialize)]
struct DefView<'a> {
    label: &'a str,
    title: String,
    href: Option<String>,
    unit: Option<&'a str>,
}

fn def_map(defs: &[Definition]) -> BTreeMap<&str, DefView<'_>> {
    defs.iter()
        .map(|d| {
            let view = DefView {
                label: &d.label,
                title: d.title(),
                href: d.href(),
                unit: d.unit.as_deref(),
            };
            (d.key.as_str(), view)
        })
        .collect()
}

impl Templates {
    /// Compiles every template.
    ///
    /// # Errors
    /// [`SiteError::Template`] when one does not compile (a bug).
    pub fn new(defs: &Definitions) -> Result<Self, SiteError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|source| SiteError::Template {
                name: "<syntax>".into(),
                source,
            })?;
        env.set_syntax(syntax);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|source| SiteError::Template {
                    name: name.into(),
                    source,
                })?;
        }
        add_run_page_fragments(&mut env, defs)?;
        let defs = ctx(BTreeMap::from([
            ("col", def_map(&defs.columns)),
            ("metric", def_map(&defs.metrics)),
            ("cell", def_map(&defs.cell_values)),
        ]));
        Ok(Self { env, defs })
    }

    /// Renders template `name` with `ctx`, plus `root` (the path prefix back
    /// to the site root), `defs` and the tokbench version.
    ///
    /// # Errors
    /// [`SiteError::Template`] when rendering fails (a bug).
    pub fn render(&self, name: &str, root: &str, ctx: Value) -> Result<String, SiteError> {
        let err = |source| SiteError::Template {
            name: name.into(),
            source,
        };
        let base = Value::from(BTreeMap::from([
            ("root", Value::from(root)),
            ("defs", self.defs.clone()),
            ("version", Value::from(env!("CARGO_PKG_VERSION"))),
        ]));
        let ctx = minijinja::value::merge_maps([ctx, base]);
        self.env
            .get_template(name)
            .map_err(err)?
            .render(ctx)
            .map_err(err)
    }
}

/// Adds the globals that are the same on every run page, rendered once per
/// build: `definitions_html` (the definitions list, `definitions.html`) and
/// `metric_heads` (metric key → the header of its row, `metric_head.html`).
fn add_run_page_fragments(
    env: &mut Environment<'static>,
    defs: &Definitions,
) -> Result<(), SiteError> {
    // Rendered once: every run page lists the same definitions.
    let list = minijinja::context! {
        definitions => ctx(crate::run_page::definitions_list(defs)),
    };
    let html = env
        .get_template("definitions.html")
        .and_then(|t| t.render(list))
        .map_err(|source| SiteError::Template {
            name: "definitions.html".into(),
            source,
        })?;
    env.add_global("definitions_html", Value::from_safe_string(html));
    // The header of a metric row, the same on every run page.
    let head_err = |source| SiteError::Template {
        name: "metric_head.html".into(),
        source,
    };
    let head = env.get_template("metric_head.html").map_err(head_err)?;
    let mut heads = BTreeMap::new();
    for d in &defs.metrics {
        let html = head
            .render(minijinja::context! { d => ctx(d) })
            .map_err(head_err)?;
        heads.insert(d.key.clone(), Value::from_safe_string(html));
    }
    env.add_global("metric_heads", Value::from(heads));
    Ok(())
}

/// Fingerprint of everything compiled into tokbench that shapes a page:
/// templates, assets, definitions, methodology, version.
pub fn fingerprint() -> &'static str {
    static FP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FP.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (name, source) in TEMPLATES {
            h.update(name.as_bytes());
            h.update(source.as_bytes());
        }
        h.update(include_bytes!("../assets/site.css"));
        h.update(include_bytes!("../assets/site.js"));
        h.update(include_bytes!("../data/definitions.yaml"));
        h.update(crate::methodology::SOURCE.as_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        crate::load::hex(&h.finalize())
    })
}

/// A serialisable value as a template context value.
pub fn ctx<T: Serialize>(value: T) -> Value {
    Value::from(Serde(value))
}

/// One row of a results table.
#[derive(Debug, Serialize)]
pub struct RowView<'a> {
    /// The record.
    pub run: &'a RunView,
    /// `4`, or `4 @ 2 rps` for an open loop.
    pub conc: String,
    /// Concurrency (numeric sort/filter value).
    pub c: u64,
    /// Per-shape values for the script: `gen,ttft,pp,bw` per shape of the
    /// site, `|`-separated, empty when the row lacks the shape; followed by
    /// `,answer,goodput` when the row has either (the script finds them by
    /// their cells' `data-i`).
    pub v: String,
    /// Gen tok/s: range across shapes.
    pub gen: String,
    /// Gen sort key (upper end of the range).
    pub gen_sort: String,
    /// TTFT range.
    pub ttft: String,
    /// TTFT sort key.
    pub ttft_sort: String,
    /// Prefill range.
    pub pp: String,
    /// Prefill sort key.
    pub pp_sort: String,
    /// Decode bandwidth efficiency range, percent.
    pub bw: String,
    /// Its sort key.
    pub bw_sort: String,
    /// Answer tok/s range (empty without reasoning tokens).
    pub answer: String,
    /// Its sort key (empty without reasoning tokens; tables show the column
    /// when some row has one).
    pub answer_sort: String,
    /// Goodput req/s range (empty without `--slo`).
    pub goodput: String,
    /// Its sort key (empty without `--slo`).
    pub goodput_sort: String,
    /// A cell at this level was noisy but the record is not flagged.
    pub cell_noisy: bool,
}

/// The view of `row`.
pub fn row_view<'a>(site: &'a Site<'_>, row: &Row) -> RowView<'a> {
    let run = &site.runs[row.run];
    let pick = |f: fn(&crate::site::ShapeVals) -> Option<f64>| -> Vec<f64> {
        row.vals.iter().flatten().filter_map(f).collect()
    };
    let (gens, ttfts, pps) = (pick(|v| v.gen), pick(|v| v.ttft), pick(|v| v.pp));
    let bws = pick(|v| v.bw);
    let (answers, goodputs) = (pick(|v| v.answer), pick(|v| v.goodput));
    let extra = !(answers.is_empty() && goodputs.is_empty());
    let sort = |xs: &[f64]| {
        xs.iter()
            .copied()
            .reduce(f64::max)
            .map_or_else(String::new, |x| format::fixed(x, 3))
    };
    let mut v = String::with_capacity(row.vals.len() * 18);
    for (i, shape) in row.vals.iter().enumerate() {
        if i > 0 {
            v.push('|');
        }
        let Some(s) = shape else { continue };
        let all = [s.gen, s.ttft, s.pp, s.bw, s.answer, s.goodput];
        let n = if extra { 6 } else { 4 };
        for (j, x) in all.into_iter().take(n).enumerate() {
            if j > 0 {
                v.push(',');
            }
            if let Some(x) = x {
                v.push_str(&format::num(Some(x)));
            }
        }
    }
    RowView {
        run,
        conc: match row.rate {
            Some(rate) => format!("{} @ {} rps", row.conc, format::num(Some(rate))),
            None => row.conc.to_string(),
        },
        c: row.conc,
        v,
        gen: format::range(&gens),
        gen_sort: sort(&gens),
        ttft: format::range(&ttfts),
        ttft_sort: sort(&ttfts),
        pp: format::range(&pps),
        pp_sort: sort(&pps),
        bw: format::range(&bws),
        bw_sort: sort(&bws),
        answer: format::range(&answers),
        answer_sort: sort(&answers),
        goodput: format::range(&goodputs),
        goodput_sort: sort(&goodputs),
        cell_noisy: row.noisy && !run.badges.iter().any(|b| b.kind == "noisy"),
    }
}

/// Views of the rows with indices `rows`.
pub fn row_views<'a>(site: &'a Site<'_>, rows: &[usize]) -> Vec<RowView<'a>> {
    rows.iter()
        .map(|&r| row_view(site, &site.rows[r]))
        .collect()
}

/// One option of a filter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Opt {
    /// Query-string value.
    pub value: String,
    /// Shown label.
    pub label: String,
}

/// The options of every filter of a results table.
#[derive(Debug, Serialize)]
pub struct Filters {
    /// Rigs.
    pub hw: Vec<Opt>,
    /// Backends (name + device).
    pub backend: Vec<Opt>,
    /// Quants.
    pub quant: Vec<Opt>,
    /// Every shape of the site, in the order of [`RowView::v`].
    pub shape: Vec<Opt>,
    /// Concurrency levels.
    pub c: Vec<u64>,
}

/// Filter options for the rows `rows` (shapes: all of the site's).
pub fn filters(site: &Site<'_>, rows: &[usize]) -> Filters {
    let mut hw = std::collections::BTreeSet::new();
    let mut backend = std::collections::BTreeSet::new();
    let mut quant = std::collections::BTreeSet::new();
    let mut c = std::collections::BTreeSet::new();
    for &r in rows {
        let row = &site.rows[r];
        let v = &site.runs[row.run];
        hw.insert((v.rig.clone(), v.rig_slug.clone()));
        backend.insert((v.backend_family.clone(), v.backend_key.clone()));
        quant.insert((v.quant.clone(), v.quant_key.clone()));
        c.insert(row.conc);
    }
    let opts = |set: std::collections::BTreeSet<(String, String)>| {
        let mut seen = std::collections::HashSet::new();
        set.into_iter()
            .filter(|(_, value)| seen.insert(value.clone()))
            .map(|(label, value)| Opt { value, label })
            .collect()
    };
    Filters {
        hw: opts(hw),
        backend: opts(backend),
        quant: opts(quant),
        shape: site
            .shapes
            .iter()
            .map(|s| Opt {
                value: s.clone(),
                label: s.clone(),
            })
            .collect(),
        c: c.into_iter().collect(),
    }
}
