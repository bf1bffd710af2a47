//! Where a run page's time goes: building its view, turning the view into
//! template values, and rendering `run.html`. Times N renders of the pages
//! of the records in DIR (first 200), one thread, nothing written:
//!
//! ```text
//! cargo run --release -p tokbench-site --example gen_fixture -- 200 /tmp/runs200
//! cargo run --release -p tokbench-site --example run_page_speed -- /tmp/runs200 [N]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use tokbench_site::load::load_records;
use tokbench_site::render::{ctx, Templates};
use tokbench_site::run_page::{run_page, RunFiles};
use tokbench_site::site::Site;
use tokbench_site::{Catalog, Definitions};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: run_page_speed DIR [N]"));
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let mut loaded = load_records(&[dir], &[], None).unwrap();
    loaded.records.truncate(200);
    let catalog = Catalog::builtin().unwrap();
    let defs = Definitions::builtin().unwrap();
    let templates = Templates::new(&defs).unwrap();
    let site = Site::build(&loaded.records, &catalog);
    let count = site.runs.len();
    assert!(count > 0, "no records in the directory");
    let files = |i: usize| RunFiles {
        yaml: format!("{}.yaml", site.runs[i].slug),
        samples: None,
        log: None,
    };
    let (mut t_view, mut t_ctx, mut t_render, mut bytes) = (0.0, 0.0, 0.0, 0usize);
    for k in 0..n {
        let i = k % count;
        let t = Instant::now();
        let page = run_page(&loaded.records[i].record, &site.runs[i], files(i), &defs);
        t_view += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let value = ctx(page);
        t_ctx += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let html = templates.render("run.html", "../", value).unwrap();
        t_render += t.elapsed().as_secs_f64();
        bytes += html.len();
    }
    let per = |s: f64| 1e6 * s / n as f64;
    println!(
        "{n} run pages ({} kB each): view {:.1} µs, template values {:.1} µs, render {:.1} µs; total {:.1} µs/page",
        bytes / n / 1000,
        per(t_view),
        per(t_ctx),
        per(t_render),
        per(t_view + t_ctx + t_render)
    );
}
