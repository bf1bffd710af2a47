//! End-to-end tests of the site generator on small fixture runs folders.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use tokbench_site::{build_site, SiteOptions};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The page without the parts that change with the tokbench version.
fn stable(html: &str) -> String {
    html.replace(
        &format!("tokbench {}", env!("CARGO_PKG_VERSION")),
        "tokbench [version]",
    )
}

#[test]
fn snapshots_of_index_model_and_run_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!((report.records, report.rows), (3, 5));
    assert!(report.record_errors.is_empty());
    insta::assert_snapshot!("index", stable(&read(&out.join("index.html"))));
    insta::assert_snapshot!(
        "model_smollm2",
        stable(&read(&out.join("model/smollm2-135m-instruct.html")))
    );
    let run = &common::records()[2].run.id;
    insta::assert_snapshot!(
        "run_qwen",
        stable(&read(
            &out.join(format!("runs/{}.html", run.replace('.', "-")))
        ))
    );
}

#[test]
fn pages_downloads_and_sidecars_are_all_there() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    let files = common::files(&out);
    let a = "2026-11-22-smollm2-135m-instruct-llama-cpp-0a1b2c";
    for f in [
        "index.html",
        "hardware.html",
        "methodology.html",
        "assets/site.css",
        "assets/site.js",
        "data/runs.csv",
        "data/runs.json",
        "family/smollm2.html",
        "family/qwen2-5.html",
        "model/qwen2-5-0-5b-instruct.html",
        "hw/ci-box.html",
        "hw/gaming-5070.html",
        "workload/chat-c1.html",
        "workload/chat-c2.html",
        "workload/rag-c1.html",
        "workload/codegen-c1.html",
        &format!("runs/{a}.html"),
        &format!("runs/{a}.yaml"),
        &format!("runs/{a}.samples.jsonl"),
        &format!("runs/{a}.server.log"),
        ".tokbench-site",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} missing from {files:?}");
    }
    let html_pages = files.iter().filter(|f| f.ends_with(".html")).count();
    assert_eq!(report.pages, html_pages);
    // The YAML copy is the record file byte for byte.
    let original =
        std::fs::read(runs.join(format!("{}.yaml", common::records()[0].run.id))).unwrap();
    assert_eq!(
        std::fs::read(out.join(format!("runs/{a}.yaml"))).unwrap(),
        original
    );
}

#[test]
fn downloads_have_one_row_per_cell_naming_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    common::build(&common::runs_dir(tmp.path()), &out);
    // One CSV/JSON row per cell: 4 + 4 + 2 cells, each naming its record.
    let csv = read(&out.join("data/runs.csv"));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..4],
        ["record_id", "record_file", "run_page", "record_yaml"]
    );
    assert!(header.contains(&"decode_tok_s_ci95_lo"));
    assert_eq!(lines.clone().count(), 10);
    assert!(lines.all(|l| l.starts_with("2026-11-2")));
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("data/runs.json"))).unwrap();
    let columns: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns, header);
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let col = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let first = &rows[0];
    assert_eq!(
        first[col("record_id")],
        common::records()[0].run.id.as_str()
    );
    assert_eq!(
        first[col("record_file")],
        format!("{}.yaml", common::records()[0].run.id).as_str()
    );
    let median = common::records()[0].cells[0]
        .metrics
        .as_ref()
        .unwrap()
        .decode_tok_s
        .as_ref()
        .unwrap()
        .median;
    // Rounded to 6 significant digits; the record keeps full precision.
    let exported = first[col("decode_tok_s_median")].as_f64().unwrap();
    assert!(
        (exported - median).abs() <= median.abs() * 5e-6,
        "{exported} vs {median}"
    );
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let text = first[col("decode_tok_s_median")].to_string();
    assert!(digits(&text).trim_start_matches('0').len() <= 6, "{text}");
    assert!(first[col("server_decode_tok_s_median")].is_null());
}

#[test]
fn index_rows_are_per_record_and_concurrency_never_averaged() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    common::build(&common::runs_dir(tmp.path()), &out);
    let index = read(&out.join("index.html"));
    // Record a at concurrency 1: range over its chat and rag medians.
    let a = &common::records()[0];
    let medians: Vec<f64> = a
        .cells
        .iter()
        .filter(|c| c.concurrency == 1)
        .map(|c| {
            c.metrics
                .as_ref()
                .unwrap()
                .decode_tok_s
                .as_ref()
                .unwrap()
                .median
        })
        .collect();
    let lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = medians.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = format!("{lo:.1}–{hi:.1}");
    assert!(index.contains(&range), "{range} not on the index");
    assert_eq!(index.matches("<tr data-hw=").count(), 5);
    for word in [
        "released 2024-11",
        "released 2024-09",
        "(2 runs, 4 results)",
        "<details open",
    ] {
        assert!(index.contains(word), "{word}");
    }
    for badge in ["b-noisy", "b-spill"] {
        assert!(index.contains(badge), "{badge}");
    }
    // Tooltips quote the methodology and link to it.
    assert!(index.contains("title=\"decode_tok_s = (output_tokens − first_arrival_tokens)"));
    assert!(index.contains("<span class=\"def\">Gen tok&#x2f;s</span>"));
}

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// A record whose every string field tries to break out of HTML or paths.
fn hostile_record(script: &str, img: &str) -> tokbench_record::Record {
    let mut r = common::records()[2].clone();
    r.run.id = format!("../../../escape-{script}");
    r.model.family = script.into();
    r.model.variant = img.into();
    r.model.quant = Some(format!("Q4 {img}"));
    r.system.rig_name = format!("../{script}");
    r.backend.name = img.into();
    r.run.mode = script.into();
    r.cells[0].shape = format!("{script}/../x");
    r.run.notes = vec![script.into()];
    r.run.samples_file = Some("../../secret.jsonl".into());
    r.run.server_log_file = Some("/etc/passwd".into());
    if let Some(n) = r.system.rig.as_mut() {
        n.notes = Some(script.into());
    }
    if let Some(rl) = r.roofline.as_mut() {
        rl.notes = vec![script.into()];
        rl.bandwidth_source_detail = Some(img.into());
        rl.kv_cache_type_k = script.into();
    }
    // Series names and notes come from the server's /metrics.
    if let Some(e) = r.cells[0].engine_metrics.as_mut() {
        let counter = tokbench_record::EngineCounter {
            delta: 7.0,
            rate_per_s: None,
            resets: 0,
        };
        e.counters.insert(format!("evil:{script}"), counter);
        e.notes = vec![img.into()];
    }
    r
}

#[test]
fn record_strings_are_escaped_and_never_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let script = "<script>alert(1)</script>";
    let img = "\"><img src=x onerror=alert(1)>";
    let r = hostile_record(script, img);
    std::fs::write(tmp.path().join("secret.jsonl"), "secret").unwrap();
    common::write(&runs, "evil.yaml", &r);
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!(report.records, 1, "{:?}", report.record_errors);

    // Nothing outside the output directory besides what the test made.
    let mut top: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["runs", "secret.jsonl", "site"]);
    let files = common::files(&out);
    assert!(
        files.iter().all(|f| !f.contains("..") && !f.contains('<')),
        "{files:?}"
    );
    assert!(files.iter().all(|f| !f.contains("secret")), "{files:?}");
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with(".jsonl") || f.ends_with(".log")),
        "{files:?}"
    );

    let mut pages = 0;
    for f in files.iter().filter(|f| f.ends_with(".html")) {
        let html = read(&out.join(f));
        pages += 1;
        assert!(!html.contains("<script>alert"), "{f}: raw script");
        assert!(!html.contains("<img src=x"), "{f}: raw img");
        assert!(!html.contains("\"><img"), "{f}: attribute break-out");
        let scripts = html.matches("<script").count();
        assert_eq!(
            scripts,
            html.matches("<script src=\"").count() + html.matches(common::FACETS_OPEN).count(),
            "{f}: inline script"
        );
    }
    assert!(pages >= 8);
    let index = read(&out.join("index.html"));
    assert!(index.contains(&escaped(script)), "escaped family missing");
    assert!(index.contains(&escaped(img)), "escaped variant missing");
    // Also inside the SVG chart (labels and tooltips).
    let svg_start = index.find("<svg").unwrap();
    assert!(index[svg_start..].contains(&escaped(script)));
    let rig = read(&out.join("hw/script-alert-1-script.html"));
    assert!(rig.contains(&escaped(script)));
    let run_page = files
        .iter()
        .find(|f| f.starts_with("runs/") && f.ends_with(".html"))
        .unwrap();
    let run_html = read(&out.join(run_page));
    let roofline = &run_html[run_html.find("id=\"roofline\"").unwrap()..];
    assert!(
        roofline.contains(&format!("<td>{}</td>", escaped(script))),
        "roofline note"
    );
    assert!(roofline.contains(&escaped(img)), "bandwidth source detail");
    assert!(
        run_html.contains(&format!("evil:{} +7", escaped(script))),
        "engine counter name"
    );
    assert!(
        run_html.contains(&format!("<td>{}</td>", escaped(img))),
        "engine note"
    );
    // The facet data is inert JSON that no value can break out of.
    let raw = common::facets_json(&index);
    for bad in ['<', '>', '&'] {
        assert!(!raw.contains(bad), "{bad:?} in the facet data: {raw}");
    }
    let facets = common::facets_of(&index);
    assert_eq!(facets.len(), 1);
    let fam = &facets[0];
    let slug = fam["slug"].as_str().unwrap();
    assert!(index.contains(&format!("id=\"family-{slug}\"")), "{slug}");
    assert_eq!(fam["hw"][0], "script-alert-1-script");
    let rows = common::row_facets(&index);
    assert_eq!(common::counted(&facets).values().sum::<usize>(), rows.len());
}

#[test]
fn index_facets_count_every_row_not_only_the_rendered_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    // A second, slower Qwen record on the same rig and quant: its rows
    // merge with the first one's into counts of 2.
    let mut slow = common::records()[2].clone();
    slow.run.id = "2026-11-25-qwen2.5-0.5b-instruct-llama.cpp-slow".into();
    common::write(&runs, "slow.yaml", &slow);
    let out = tmp.path().join("site");
    let opts = SiteOptions {
        index_rows: 1,
        ..SiteOptions::new(vec![runs], out.clone())
    };
    let report = build_site(&opts).unwrap();
    assert_eq!((report.records, report.rows), (4, 6));
    let index = read(&out.join("index.html"));
    let facets = common::facets_of(&index);
    let slugs: Vec<&str> = facets.iter().map(|f| f["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["smollm2", "qwen2-5"]);
    // One row rendered per family, every row counted.
    assert_eq!(common::row_facets(&index).len(), 2);
    let counts = common::counted(&facets);
    assert_eq!(counts.values().sum::<usize>(), 6);
    assert!(counts.values().any(|&n| n == 2), "identical rows merge");
    // The counted rows are exactly the rows of the family pages.
    let mut expected = std::collections::BTreeMap::new();
    for slug in slugs {
        for mut row in common::row_facets(&read(&out.join(format!("family/{slug}.html")))) {
            row.0 = slug.to_owned();
            *expected.entry(row).or_insert(0) += 1;
        }
    }
    assert_eq!(counts, expected);
    for word in [
        "(2 runs, 4 results)",
        "Showing the 1 fastest of 4 results.",
        "Showing the 1 fastest of 2 results.",
    ] {
        assert!(index.contains(word), "{word}");
    }
}

#[test]
fn malformed_records_are_reported_and_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let good = read(&runs.join(format!("{}.yaml", common::records()[0].run.id)));
    let mut lines: Vec<&str> = good.lines().collect();
    let broken_line = lines
        .iter()
        .position(|l| l.trim_start().starts_with("mode:"))
        .unwrap();
    lines[broken_line] = "  mode: [unclosed";
    std::fs::write(runs.join("broken.yaml"), lines.join("\n")).unwrap();
    std::fs::write(
        runs.join("wrong-version.yaml"),
        good.replace("schema_version: 1", "schema_version: 9"),
    )
    .unwrap();

    let out = tmp.path().join("site");
    let report = build_site(&SiteOptions::new(vec![runs.clone()], out.clone())).unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.record_errors.len(), 2);
    let msgs: Vec<String> = report
        .record_errors
        .iter()
        .map(ToString::to_string)
        .collect();
    let broken = msgs.iter().find(|m| m.contains("broken.yaml")).unwrap();
    let at = format!("broken.yaml:{}", broken_line + 1);
    let next = format!("broken.yaml:{}", broken_line + 2);
    assert!(
        broken.contains(&at) || broken.contains(&next),
        "{broken} should name line {}",
        broken_line + 1
    );
    let version = msgs
        .iter()
        .find(|m| m.contains("wrong-version.yaml"))
        .unwrap();
    assert!(version.contains("schema_version"), "{version}");
    assert!(out.join("index.html").is_file());
    assert_eq!(
        common::files(&out.join("runs"))
            .iter()
            .filter(|f| f.ends_with(".html"))
            .count(),
        3
    );
}

#[test]
fn parse_cache_gives_identical_records_and_site() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let cache = tmp.path().join("cache");
    let opts = |out: &str| SiteOptions {
        cache_dir: Some(cache.clone()),
        ..SiteOptions::new(vec![runs.clone()], tmp.path().join(out))
    };
    let cold = build_site(&opts("a")).unwrap();
    let warm = build_site(&opts("b")).unwrap();
    assert_eq!((cold.cache_hits, warm.cache_hits), (0, 3));
    let loaded =
        tokbench_site::load::load_records(std::slice::from_ref(&runs), &[], Some(&cache)).unwrap();
    let fresh = tokbench_site::load::load_records(std::slice::from_ref(&runs), &[], None).unwrap();
    assert_eq!(loaded.cache_hits, 3);
    let recs = |l: &tokbench_site::load::Loaded| {
        l.records
            .iter()
            .map(|r| r.record.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(recs(&loaded), recs(&fresh));
    for f in common::files(&tmp.path().join("a")) {
        let a = std::fs::read(tmp.path().join("a").join(&f)).unwrap();
        let b = std::fs::read(tmp.path().join("b").join(&f)).unwrap();
        assert!(a == b, "{f} differs between cold and warm builds");
    }
    // A bad file is never cached: it is reported on every build.
    std::fs::write(runs.join("bad.yaml"), "schema_version: [").unwrap();
    for _ in 0..2 {
        let r = build_site(&opts("c")).unwrap();
        assert_eq!(r.record_errors.len(), 1);
    }
}

#[test]
fn output_inside_the_runs_folder_is_not_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = runs.join("site");
    assert_eq!(common::build(&runs, &out).records, 3);
    assert_eq!(common::build(&runs, &out).records, 3);
}

#[test]
fn every_link_resolves_inside_the_site() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    common::build(&common::runs_dir(tmp.path()), &out);
    let checked = common::assert_links_resolve(&out);
    assert!(checked > 40, "{checked}");
}

#[test]
fn empty_runs_folder_builds_an_empty_site() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    let report = common::build(&runs, &tmp.path().join("site"));
    assert_eq!((report.records, report.rows), (0, 0));
    assert!(tmp.path().join("site/index.html").is_file());
}

#[test]
fn user_catalog_sets_display_name_and_release() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let catalog = tmp.path().join("catalog.yaml");
    std::fs::write(
        &catalog,
        "models:\n  - family: SmolLM2\n    display: Smol LM Two\n    released: 2023-01\n",
    )
    .unwrap();
    let out = tmp.path().join("site");
    let opts = SiteOptions {
        catalogs: vec![catalog],
        ..SiteOptions::new(vec![runs], out.clone())
    };
    build_site(&opts).unwrap();
    let index = read(&out.join("index.html"));
    assert!(index.contains("Smol LM Two") && index.contains("released 2023-01"));
}

#[cfg(unix)]
#[test]
fn symlinked_records_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let mut other = common::records()[0].clone();
    other.run.id = "outside-the-runs-folder".into();
    let outside = common::write(tmp.path(), "outside.yaml", &other);
    std::os::unix::fs::symlink(&outside, runs.join("link.yaml")).unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!(report.records, 3);
    assert_eq!(report.record_errors.len(), 1);
    let msg = report.record_errors[0].to_string();
    assert!(
        msg.contains("link.yaml") && msg.contains("symbolic link"),
        "{msg}"
    );
    assert!(!read(&out.join("index.html")).contains("outside-the-runs-folder"));
}

/// A symlinked folder inside a runs folder is not walked: it could reach
/// any folder of the machine building the site.
#[cfg(unix)]
#[test]
fn symlinked_folders_are_not_walked() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let mut other = common::records()[0].clone();
    other.run.id = "behind-a-folder-link".into();
    common::write(&elsewhere, "other.yaml", &other);
    std::os::unix::fs::symlink(&elsewhere, runs.join("linked")).unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!(report.records, 3);
    assert!(report.record_errors.is_empty());
    assert!(!read(&out.join("index.html")).contains("behind-a-folder-link"));
    // The same folder given directly is read.
    let direct = tokbench_site::load::load_records(&[elsewhere], &[], None).unwrap();
    assert_eq!(direct.records.len(), 1);
}

#[test]
fn record_copies_follow_record_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("site");
    common::build(&runs, &out);
    let id = &common::records()[0].run.id;
    let src = runs.join(format!("{id}.yaml"));
    let copy = out.join("runs/2026-11-22-smollm2-135m-instruct-llama-cpp-0a1b2c.yaml");
    let mut changed = common::records()[0].clone();
    changed.run.mode = "no-mmap".into();
    // Replace the record the way git does (new file, rename).
    common::write(&runs, "tmp.yml.part", &changed);
    std::fs::rename(runs.join("tmp.yml.part"), &src).unwrap();
    let report = common::build(&runs, &out);
    assert_eq!(report.files.reused, 2, "the two other run pages are reused");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&src).unwrap());
    let page = read(&out.join("runs/2026-11-22-smollm2-135m-instruct-llama-cpp-0a1b2c.html"));
    assert!(page.contains("mode no-mmap"));
}

#[test]
fn the_bandwidth_bound_column_is_sortable_and_run_pages_show_its_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = common::runs_dir(tmp.path());
    let out = tmp.path().join("site");
    common::build(&runs, &out);
    let index = read(&out.join("index.html"));
    let head = &index[index.find("<thead>").unwrap()..index.find("</thead>").unwrap()];
    assert!(
        head.contains("<th data-num title=\"decode_bandwidth_efficiency_pct = "),
        "{head}"
    );
    assert!(
        head.contains("% of BW bound</span></th></tr>"),
        "last column: {head}"
    );
    // The CPU example: 20 GB/s over 90 MB + KV per token; c=1 rows have a
    // sort key, c=2 rows an empty one and a dash.
    let records = common::records();
    let cpu = &records[0];
    let c1 = cpu.cells.iter().find(|c| c.concurrency == 1).unwrap();
    let eff = c1
        .roofline
        .unwrap()
        .decode_bandwidth_efficiency_pct
        .unwrap();
    assert!(eff > 0.0 && eff < 100.0, "{eff}");
    let key = format!("data-sort=\"{eff:.3}\"");
    let best = cpu
        .cells
        .iter()
        .filter_map(|c| c.roofline?.decode_bandwidth_efficiency_pct)
        .fold(0.0, f64::max);
    assert!(index.contains(&format!("data-sort=\"{best:.3}\"")), "{key}");
    assert!(index.contains("<td class=\"n\" data-sort=\"\">—</td></tr>"));
    let slug = cpu.run.id.replace('.', "-");
    let run = read(&out.join(format!("runs/{slug}.html")));
    let section = &run[run.find("<h2 id=\"roofline\">").unwrap()..];
    for fact in [
        "20.0 GB&#x2f;s, measured on this CPU by tokbench",
        "90.0 MB (90,000,000 bytes)",
        "23040.0 bytes per position (K f16, V f16)",
    ] {
        assert!(section.contains(fact), "{fact} not in {section}");
    }
    assert!(run.contains("href=\"#def-decode_bandwidth_efficiency_pct\""));
}
