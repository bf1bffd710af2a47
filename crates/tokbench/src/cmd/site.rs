//! `tokbench site`: build the static results website from run records.

use std::path::PathBuf;
use std::process::ExitCode;

use tokbench_site::{
    build_site, default_cache_dir, SiteOptions, DEFAULT_CHART_BARS, DEFAULT_INDEX_ROWS,
};

/// Arguments of `tokbench site`.
#[derive(Debug, clap::Args)]
pub struct SiteArgs {
    /// Folders of run records (`*.yaml`), searched recursively.
    #[arg(value_name = "RUNS_DIR", default_value = "runs")]
    pub runs_dirs: Vec<PathBuf>,
    /// Output directory. It is replaced as a whole, so it must be absent,
    /// empty, or a site built by `tokbench site` before.
    #[arg(long, short, value_name = "DIR", default_value = "site")]
    pub out: PathBuf,
    /// Extra models catalog (family → display name, release month), same
    /// format as the built-in one; repeatable, later files win.
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
    /// Exit 0 even when some record files are malformed (they are still
    /// reported on stderr and left out of the site).
    #[arg(long)]
    pub keep_going: bool,
    /// Rows per model family on the index page (the fastest ones; each
    /// family page lists all of them).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_INDEX_ROWS)]
    pub index_rows: usize,
    /// Bars per "tok/s by workload" chart on the index page (the workload
    /// pages draw up to 1000).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHART_BARS)]
    pub chart_bars: usize,
    /// Parse cache folder: records whose bytes were parsed before are read
    /// back from it as JSON, several times faster than parsing their
    /// YAML. Default: site/ in tokbench's cache folder,
    /// ${TOKBENCH_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/tokbench}/site.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Parse every record, reading and writing no parse cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

/// Runs `tokbench site`: builds the site, reports each malformed record
/// (file, line, reason) on stderr, and exits non-zero when there was one
/// unless `--keep-going`.
pub fn run(args: SiteArgs) -> anyhow::Result<ExitCode> {
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache_dir.or_else(default_cache_dir)
    };
    let opts = SiteOptions {
        catalogs: args.catalog,
        cache_dir,
        index_rows: args.index_rows,
        chart_bars: args.chart_bars,
        ..SiteOptions::new(args.runs_dirs, args.out)
    };
    let report = build_site(&opts)?;
    for e in &report.record_errors {
        eprintln!("error: {e}");
    }
    let f = report.files;
    eprintln!(
        "site: {} records, {} crossval records, {} sweep records ({} results, {} pages) → {} in {:.2} s (loading {:.2} s, {} from cache); \
         files: {} written, {} unchanged ({} run pages reused), {} removed; index.html {:.0} kB",
        report.records,
        report.crossvals,
        report.sweeps,
        report.rows,
        report.pages,
        opts.out_dir.display(),
        report.total_time.as_secs_f64(),
        report.load_time.as_secs_f64(),
        report.cache_hits,
        f.changed,
        f.unchanged,
        f.reused,
        f.removed,
        report.index_bytes as f64 / 1000.0,
    );
    let bad = report.record_errors.len();
    if bad == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    if args.keep_going {
        eprintln!("warning: {bad} record file(s) left out (--keep-going)");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {bad} record file(s) could not be read; the site was built without them (--keep-going exits 0)");
        Ok(ExitCode::FAILURE)
    }
}
