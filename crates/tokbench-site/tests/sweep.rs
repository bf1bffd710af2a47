//! Sweep records on the site: their pages (ranked tables, winners,
//! charts, failures, links to run pages), their place on the index,
//! escaping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use tokbench_record::fixture::ExampleSpec;
use tokbench_record::sweep_fixture::example_sweep;
use tokbench_record::{sweep_to_yaml, write_sweep, SweepRecord};

const ID: &str = "2026-11-23-sweep-smollm2-135m-instruct-5e6f70";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `s` as the template engine escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// The example sweep whose winner's first round is the first fixture run
/// record (on the site); its other run records are not on the site.
fn sweep(id: &str) -> SweepRecord {
    let mut r = example_sweep(id, &ExampleSpec::default());
    r.configs[1].records[0] = common::records()[0].run.id.clone();
    r
}

/// The fixture runs folder plus the example sweep in `sweeps/`.
fn runs_with_sweep(root: &Path) -> PathBuf {
    let runs = common::runs_dir(root);
    write_sweep(&runs.join("sweeps"), &sweep(ID)).unwrap();
    runs
}

/// The `<table>` of objective `label` on a sweep page.
fn objective_table<'h>(html: &'h str, label: &str) -> &'h str {
    let start = html
        .find(&format!("{}</h2>", escaped(label)))
        .unwrap_or_else(|| panic!("no objective {label}"));
    let rest = &html[start..];
    &rest[..rest.find("</table>").unwrap()]
}

#[test]
fn sweep_page_ranks_configurations_and_marks_the_winner() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_sweep(tmp.path());
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert!(
        report.record_errors.is_empty(),
        "{:?}",
        report.record_errors
    );
    assert_eq!((report.records, report.crossvals, report.sweeps), (3, 0, 1));
    let html = read(&out.join(format!("sweeps/{ID}.html")));
    let decode = objective_table(&html, "decode_tok_s@chat@1");
    // Ranking order as recorded: on/2, off/2, off/4, on/8, on/4.
    let order = [
        "flash-attn=on, threads=2",
        "flash-attn=off, threads=2",
        "flash-attn=off, threads=4",
        "flash-attn=on, threads=8",
        "flash-attn=on, threads=4",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|l| {
            decode
                .find(&format!("<td>{l}"))
                .unwrap_or_else(|| panic!("{l}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert_eq!(decode.matches("<tr class=").count(), 5);
    assert!(decode.contains(
        "<tr class=\"winner\"><td class=\"n\">1</td><td>flash-attn=on, threads=2 <strong class=\"win\">★ winner</strong>"
    ));
    assert_eq!(decode.matches("★ winner").count(), 1);
    for text in [
        "<td class=\"n\">96.0 tok&#x2f;s</td>",
        "<td class=\"n\">94.5–97.5</td>",
        "<td class=\"n\">+20.0%</td>",
        "<td class=\"n\">reference</td>",
        "<td class=\"q-pass\">✓ 3&#x2f;3 identical, 0 hard</td>",
        "<td class=\"q-fail\">✗ 1&#x2f;3 identical, 2 hard</td>",
        "measured · not eligible",
        "SLO broken: ttft_ms.p99&lt;=2000",
    ] {
        assert!(
            decode.contains(text),
            "{text} missing from the decode table"
        );
    }
    // Lower is better: the reference wins time to first token.
    let ttft = objective_table(&html, "ttft_ms@chat@1");
    assert!(ttft.contains("<td>flash-attn=off, threads=2 <strong class=\"win\">★ winner</strong>"));
    assert!(ttft.contains("350.0 ms"));
    // One chart per objective, with whiskers.
    assert_eq!(html.matches("<figure class=\"chart sweep\">").count(), 2);
    assert_eq!(html.matches("<path class=\"ci\"").count(), 10);
}

#[test]
fn sweep_page_shows_failures_commands_settings_and_run_links() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_sweep(tmp.path());
    let out = tmp.path().join("site");
    common::build(&runs, &out);
    let html = read(&out.join(format!("sweeps/{ID}.html")));
    let failed =
        &html[html.find("id=\"failed\"").unwrap()..html.find("id=\"configurations\"").unwrap()];
    assert!(failed.contains(
        "<li><strong>flash-attn=off, threads=4</strong>: dropped after round 1 — could not win"
    ));
    assert!(failed.contains(&format!(
        "<li><strong>flash-attn=off, threads=8</strong>: failed — {}",
        escaped("refused: llama-server exited with status 1: invalid value for --threads")
    )));
    assert_eq!(failed.matches("<li>").count(), 2);
    // Each winner's exact server command.
    for cmd in [
        "llama-server -m models&#x2f;model.gguf --flash-attn on --threads 2",
        "llama-server -m models&#x2f;model.gguf --flash-attn off --threads 2",
    ] {
        assert!(
            html.contains(&format!("<pre class=\"cmd\">{cmd}</pre>")),
            "{cmd}"
        );
    }
    // Space, settings, quality gate, SLOs, header.
    for text in [
        "<th scope=\"row\">threads</th><td>2, 4, 8</td>",
        "<td>520 of 600 an exhaustive sweep would take (86.7%)</td>",
        "<th scope=\"row\">Reference configuration</th><td>flash-attn=off, threads=2</td>",
        "<th scope=\"row\">Hard divergences, at most</th><td>0</td>",
        "<li><code>ttft_ms.p99&lt;=2000</code></li>",
        "<td>42 min 30 s</td>",
        "<th scope=\"row\">Interrupted</th><td>no</td>",
        "tokbench sweep model.gguf --set flash-attn=off,on",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    // The run record on the site is linked; the others are named only.
    let run = &common::records()[0].run.id;
    let slug = "2026-11-22-smollm2-135m-instruct-llama-cpp-0a1b2c";
    assert!(html.contains(&format!("<a href=\"../runs/{slug}.html\">{run}</a>")));
    let absent = format!("{}-c2-r2", ExampleSpec::default().id);
    assert!(html.contains(&format!(
        "<span class=\"m\" title=\"not on this site\">{absent}</span>"
    )));
    assert!(!html.contains(&format!("href=\"../runs/{absent}")));
    assert_eq!(
        std::fs::read(out.join(format!("sweeps/{ID}.yaml"))).unwrap(),
        std::fs::read(runs.join(format!("sweeps/{ID}.yaml"))).unwrap()
    );
    assert!(html.contains(&format!("<a href=\"{ID}.yaml\">{ID}.yaml</a>")));
    let checked = common::assert_links_resolve(&out);
    assert!(checked > 40, "{checked}");
}

#[test]
fn index_and_sweeps_index_list_sweeps_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_sweep(tmp.path());
    let mut older = sweep("2026-10-01-sweep-old-000001");
    older.run.started_utc = "2026-10-01T09:00:00Z".into();
    older.objectives[0].winner = None;
    write_sweep(&runs.join("sweeps"), &older).unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!(report.sweeps, 2);
    let index = read(&out.join("index.html"));
    assert!(index.contains("<a href=\"sweeps/index.html\">All 2 sweep records →</a>"));
    // `root` (`../` on the sweeps index) is escaped like every value.
    for (page, prefix) in [
        ("index.html", "sweeps/"),
        ("sweeps/index.html", "..&#x2f;sweeps/"),
    ] {
        let html = read(&out.join(page));
        let new = html
            .find(&format!("<a href=\"{prefix}{ID}.html\">2026-11-23</a>"))
            .unwrap_or_else(|| panic!("{page}: newest sweep"));
        let old = html.find("2026-10-01-sweep-old-000001.html").unwrap();
        assert!(new < old, "{page}: newest first");
        assert!(html.contains("<td>model.gguf</td><td>llama.cpp</td><td class=\"n\">6</td>"));
        assert!(html.contains("decode_tok_s@chat@1: <strong>flash-attn=on, threads=2</strong>"));
        assert!(
            html.contains("decode_tok_s@chat@1: none"),
            "{page}: no winner"
        );
    }
}

#[test]
fn without_sweeps_no_sweep_pages_or_sections() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&common::runs_dir(tmp.path()), &out);
    assert_eq!(report.sweeps, 0);
    assert!(!out.join("sweeps").exists());
    assert!(!read(&out.join("index.html")).contains("sweeps/"));
}

#[test]
fn sweep_strings_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    common::write(&runs, "run.yaml", &common::records()[0]);
    let script = "<script>alert(1)</script> & co";
    let mut r = sweep(&format!("../../escape-{script}"));
    let evil = format!("threads={script}");
    r.configs[1].label = evil.clone();
    r.configs[4].reason = Some(format!("refused: {script}"));
    r.configs[1].server_command = Some(vec!["llama-server".into(), script.into()]);
    r.objectives[0].winner = Some(evil.clone());
    r.objectives[0].ranking[0].label = evil.clone();
    r.objectives[0].label = format!("{script}@chat@1");
    r.backend = script.into();
    r.model.file_name = Some(script.into());
    r.space[0].values.push(script.into());
    r.settings.slo.push(script.into());
    // The file name is the test's: the id is not a plain file name.
    std::fs::write(runs.join("evil.yaml"), sweep_to_yaml(&r).unwrap()).unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert!(
        report.record_errors.is_empty(),
        "{:?}",
        report.record_errors
    );
    let files = common::files(&out);
    assert!(
        files.iter().all(|f| !f.contains("..") && !f.contains('<')),
        "{files:?}"
    );
    let page = "sweeps/escape-script-alert-1-script-co.html";
    assert!(files.iter().any(|f| f == page), "{files:?}");
    for f in files.iter().filter(|f| !f.ends_with(".yaml")) {
        let Ok(text) = std::fs::read_to_string(out.join(f)) else {
            continue;
        };
        assert!(!text.contains("<script>alert"), "{f}: raw script");
        assert!(!text.contains("</script> & co"), "{f}: raw ampersand");
    }
    let html = read(&out.join(page));
    let esc = escaped(script);
    assert!(esc.contains("&amp; co"));
    assert!(html.contains(&format!(
        "<td>threads={esc} <strong class=\"win\">★ winner</strong>"
    )));
    assert!(html.contains(&format!("failed — refused: {esc}")));
    // The winner's command, shell-quoted, then escaped.
    assert!(html.contains(&format!(
        "<pre class=\"cmd\">llama-server &#x27;{esc}&#x27;</pre>"
    )));
    assert!(
        html.contains(&format!("<title>threads={esc} — 96.0 tok&#x2f;s")),
        "chart tooltip"
    );
    let index = read(&out.join("index.html"));
    assert!(index.contains(&format!("<strong>threads={esc}</strong>")));
}

#[test]
fn a_bad_sweep_file_is_reported_and_the_rest_is_built() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_sweep(tmp.path());
    let yaml = sweep_to_yaml(&sweep("2026-11-24-sweep-bad-1"))
        .unwrap()
        .replace("status: failed", "status: exploded");
    std::fs::write(runs.join("sweeps/bad.yaml"), yaml).unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!((report.records, report.sweeps), (3, 1));
    assert_eq!(report.record_errors.len(), 1);
    let err = report.record_errors[0].to_string();
    assert!(
        err.contains("bad.yaml") && err.contains("/configs/4/status"),
        "{err}"
    );
    assert!(out.join(format!("sweeps/{ID}.html")).is_file());
    assert!(!read(&out.join("sweeps/index.html")).contains("sweep-bad"));
}
