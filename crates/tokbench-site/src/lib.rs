//! Static results website for tokbench run records.
//!
//! [`build_site`] reads every record below the runs folders (the record,
//! schema v1, is the only input; crossval records, `kind: crossval`, and
//! sweep records, `kind: sweep`, get a page each: [`crossval_page`],
//! [`sweep_page`]), groups results by model family, model and
//! rig, and writes a self-contained static site: HTML, one CSS file, a few
//! lines of vanilla JavaScript for sorting and filtering, SVG charts drawn
//! at build time, and CSV/JSON downloads. No page requests anything from
//! another host; the site works from `file://`.
//!
//! Rules the pages keep:
//!
//! * every number links back to the record it came from, and nothing is
//!   averaged across records or configurations (a row is one record at one
//!   concurrency level; a range is over that record's shapes). The one
//!   exception is the "History" chart of model and rig pages
//!   ([`history_chart`]), whose segment means average one configuration's
//!   runs between two change points;
//! * every record string is HTML-escaped by the template engine
//!   (auto-escaping is on for every template), and never used as a path:
//!   page names are slugs ([`names`]);
//! * a bad record file is reported with its file and line
//!   ([`BuildReport::record_errors`]) and left out; the rest is built;
//! * every file is replaced atomically (temporary file + rename), only
//!   when its content changed, and files of earlier builds that are no
//!   longer produced are removed ([`output`]).
//!
//! Page layout: see [`pages`].

pub mod catalog;
pub mod charts;
pub mod crossval_page;
pub mod definitions;
pub mod engine_facts;
pub mod error;
pub mod export;
pub mod facets;
pub mod facts;
pub mod format;
pub mod history_chart;
pub mod labels;
pub mod load;
pub mod methodology;
pub mod model_page;
pub mod names;
pub mod output;
pub mod pages;
pub mod render;
pub mod rig_page;
pub mod roofline_facts;
pub mod run_options_facts;
pub mod run_page;
pub mod site;
pub mod sweep_chart;
pub mod sweep_page;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use catalog::{Catalog, CatalogEntry};
pub use definitions::Definitions;
pub use error::SiteError;
pub use load::default_cache_dir;
pub use tokbench_record::RecordError;

/// Default rows per family on the index page.
pub const DEFAULT_INDEX_ROWS: usize = 50;
/// Default bars per chart on the index page.
pub const DEFAULT_CHART_BARS: usize = 20;

/// What to build, from what.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// Folders holding run records (searched recursively).
    pub runs_dirs: Vec<PathBuf>,
    /// Output directory: absent, empty, or an earlier site (whose files are
    /// replaced, and removed when no longer produced).
    pub out_dir: PathBuf,
    /// Extra models catalogs, applied in order after the built-in one.
    pub catalogs: Vec<PathBuf>,
    /// Parse cache directory; `None` parses every record. `tokbench site`
    /// uses [`default_cache_dir`] unless told otherwise.
    pub cache_dir: Option<PathBuf>,
    /// Rows per family on the index page (the fastest; the family page has
    /// all of them, and the index's filters count all of them: [`facets`]).
    pub index_rows: usize,
    /// Bars per chart on the index page (the workload pages have more).
    pub chart_bars: usize,
}

impl SiteOptions {
    /// Options with the defaults for everything but the folders.
    pub fn new(runs_dirs: Vec<PathBuf>, out_dir: PathBuf) -> Self {
        Self {
            runs_dirs,
            out_dir,
            catalogs: Vec::new(),
            cache_dir: None,
            index_rows: DEFAULT_INDEX_ROWS,
            chart_bars: DEFAULT_CHART_BARS,
        }
    }
}

/// What a build did.
#[derive(Debug)]
pub struct BuildReport {
    /// Run records on the site.
    pub records: usize,
    /// Crossval records on the site.
    pub crossvals: usize,
    /// Sweep records on the site.
    pub sweeps: usize,
    /// Result rows (record × concurrency level).
    pub rows: usize,
    /// HTML pages on the site.
    pub pages: usize,
    /// Files changed, unchanged and removed in the output directory.
    pub files: output::OutputStats,
    /// Records read from the parse cache.
    pub cache_hits: usize,
    /// One error per record file that was left out (file, line, reason).
    pub record_errors: Vec<RecordError>,
    /// Size of `index.html`, bytes.
    pub index_bytes: u64,
    /// Time spent loading records.
    pub load_time: Duration,
    /// Total build time.
    pub total_time: Duration,
}

/// Builds the site described by `opts`: loads the records, then
/// (re)writes the output directory.
///
/// Bad record files do not fail the build: they are listed in
/// [`BuildReport::record_errors`] (the caller decides the exit code).
///
/// # Errors
/// [`SiteError`] when a catalog is malformed, a runs folder cannot be
/// listed, the output directory may not be replaced, or writing fails.
pub fn build_site(opts: &SiteOptions) -> Result<BuildReport, SiteError> {
    let start = Instant::now();
    let mut catalog = Catalog::builtin()?;
    for path in &opts.catalogs {
        catalog.extend_from_file(path)?;
    }
    let defs = Definitions::builtin()?;
    let templates = render::Templates::new(&defs)?;
    let output = output::Output::open(&opts.out_dir)?;
    let loaded = load::load_records(
        &opts.runs_dirs,
        std::slice::from_ref(&opts.out_dir),
        opts.cache_dir.as_deref(),
    )?;
    let load_time = start.elapsed();
    let site = site::Site::build(&loaded.records, &catalog);
    let crossval_links = crossval_page::crossval_links(&site, &loaded.crossvals);
    let sweep_links = sweep_page::sweep_links(&loaded.sweeps);
    let pages = pages::Pages {
        site: &site,
        templates: &templates,
        defs: &defs,
        output: &output,
        opts,
        crossvals: &loaded.crossvals,
        crossval_links: &crossval_links,
        sweeps: &loaded.sweeps,
        sweep_links: &sweep_links,
    };
    // The downloads are built and written beside the pages.
    let (written, data) = std::thread::scope(|s| {
        let data = s.spawn(|| {
            let (csv, json) = export::csv_and_json(&site)?;
            output.write("data/runs.csv", &csv)?;
            output.write("data/runs.json", &json)
        });
        let written = pages.write_all();
        (
            written,
            data.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    let pages = written?;
    data?;
    let index_bytes = std::fs::metadata(output.dir().join("index.html")).map_or(0, |m| m.len());
    let (records, rows) = (site.runs.len(), site.rows.len());
    let files = output.finish()?;
    Ok(BuildReport {
        records,
        crossvals: loaded.crossvals.len(),
        sweeps: loaded.sweeps.len(),
        rows,
        pages,
        files,
        cache_hits: loaded.cache_hits,
        record_errors: loaded.errors,
        index_bytes,
        load_time,
        total_time: start.elapsed(),
    })
}
