//! Crossval records on the site: their pages, their place on the index and
//! model pages, escaping, and bad crossval files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use tokbench_record::crossval_fixture::example_crossval;
use tokbench_record::fixture::ExampleSpec;
use tokbench_record::CrossvalRecord;

/// The SmolLM2 crossval: its sides' model is the first fixture record's.
const SMOL: &str = "2026-11-22-crossval-smollm2-135m-instruct-0a1b2c";
/// A crossval of a model no run record measured.
const ORPHAN: &str = "2026-11-26-crossval-orphan-7b-9f8e7d";

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

/// `s` as the template engine escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// The example crossval with id `id`, its sides' model matched by model id
/// (`model_id`; no SHA-256).
fn crossval(id: &str, model_id: &str) -> CrossvalRecord {
    let mut r = example_crossval(id, &ExampleSpec::default());
    for s in &mut r.sides {
        let m = s.model.as_mut().unwrap();
        m.id = model_id.into();
        m.sha256 = None;
    }
    r
}

/// The fixture runs folder plus the SmolLM2 and the orphan crossval.
fn runs_with_crossvals(root: &Path) -> std::path::PathBuf {
    let runs = common::runs_dir(root);
    let smol_model = common::records()[0].model.id.clone();
    common::write_crossval(&runs, &format!("{SMOL}.yaml"), &crossval(SMOL, &smol_model));
    let mut orphan = crossval(ORPHAN, "Orphan-7B");
    orphan.summary.headline = "3/3 identical".into();
    orphan.run.started_utc = "2026-11-26T08:00:00Z".into();
    common::write_crossval(&runs, "xv/orphan.yaml", &orphan);
    runs
}

#[test]
fn crossval_page_shows_headline_sides_prompts_and_divergences() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_crossvals(tmp.path());
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert!(
        report.record_errors.is_empty(),
        "{:?}",
        report.record_errors
    );
    assert_eq!((report.records, report.crossvals), (3, 2));
    let html = read(&out.join(format!("crossval/{SMOL}.html")));
    let headline = "1/3 identical; 2 diverge at tokens 41, 88 — 1 near-tie, 1 hard";
    assert!(
        html.contains(&format!("<p class=\"headline\">{}</p>", escaped(headline))),
        "headline"
    );
    // One row per prompt, with its divergence index and kind.
    assert_eq!(html.matches("<tr class=\"v-").count(), 3);
    for id in ["chat-short", "code", "arithmetic"] {
        assert!(html.contains(&format!(">{id}</a></td>")), "{id}");
    }
    assert!(html.contains("token 41 · near-tie"));
    assert!(html.contains("token 88 · hard"));
    // The divergence point: context, then each side's token marked, then
    // that side's next tokens.
    let a = "<span class=\"ctx\"> is in</span><mark class=\"tok-a\" title=\"side A's token\"> the</mark><span class=\"after\"> end</span>";
    let b = "<span class=\"ctx\"> is in</span><mark class=\"tok-b\" title=\"side B's token\"> a</mark><span class=\"after\"> start</span>";
    assert_eq!(
        html.matches(a).count(),
        4,
        "side A at both divergences, twice"
    );
    assert_eq!(
        html.matches(b).count(),
        4,
        "side B at both divergences, twice"
    );
    // Sides, settings, prompt set, summary numbers.
    for text in [
        "Side A",
        "Side B",
        "<td>-fa on</td>",
        "3&#x2f;3 identical (second run at concurrency 1)",
        "<td>logprobs of the response</td>",
        &"ab".repeat(32),
        "<td>0.1 nats</td>",
        "99.2% (257&#x2f;259)",
        "4.0e-4 &#x2f; 3.0e-3 nats over 257 positions",
        "41&#x2f;42 (97.6%)",
        "Answer to code from B",
        "Prompt arithmetic",
        "tokbench crossval model.gguf --b-arg=-fa --b-arg=on",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    // Definitions, the record copy and the model page.
    assert!(html.contains("href=\"../methodology.html#crossval\""));
    assert!(html.contains(&format!("href=\"{SMOL}.yaml\"")));
    assert!(html.contains("href=\"../model/smollm2-135m-instruct.html\""));
    assert_eq!(
        std::fs::read(out.join(format!("crossval/{SMOL}.yaml"))).unwrap(),
        std::fs::read(runs.join(format!("{SMOL}.yaml"))).unwrap()
    );
    insta::assert_snapshot!("crossval_smollm2", stable(&html));
}

#[test]
fn model_page_index_and_crossval_index_list_crossvals() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs_with_crossvals(tmp.path()), &out);
    let headline = escaped("1/3 identical; 2 diverge at tokens 41, 88 — 1 near-tie, 1 hard");
    let smol_link = format!("crossval/{SMOL}.html\">{headline}</a>");
    let orphan_link = format!("crossval/{ORPHAN}.html\">3&#x2f;3 identical</a>");
    let model = read(&out.join("model/smollm2-135m-instruct.html"));
    assert!(model.contains("<h2 id=\"crossval\">Cross-validation</h2>"));
    assert!(model.contains(&smol_link), "model page link");
    assert!(model.contains("<td>no extra flags vs -fa on</td>"));
    assert!(model.contains("<td>2026-11-22</td>"));
    assert!(!model.contains(ORPHAN));
    let qwen = read(&out.join("model/qwen2-5-0-5b-instruct.html"));
    assert!(!qwen.contains("crossval/"), "no crossval of Qwen");
    // The orphan has no model page: the index and the crossval index list
    // it, by model id.
    for page in ["index.html", "crossval/index.html"] {
        let html = read(&out.join(page));
        assert!(html.contains(&smol_link), "{page}: SmolLM2 crossval");
        assert!(html.contains(&orphan_link), "{page}: orphan crossval");
        assert!(html.contains("<td>Orphan-7B</td>"), "{page}: orphan model");
        // Newest first.
        assert!(html.find(ORPHAN).unwrap() < html.find(SMOL).unwrap());
    }
    assert!(read(&out.join("index.html")).contains("href=\"crossval/index.html\""));
    let orphan = read(&out.join(format!("crossval/{ORPHAN}.html")));
    assert!(orphan.contains("<td>Orphan-7B</td>") && !orphan.contains("../model/"));
    let html_pages = common::files(&out)
        .iter()
        .filter(|f| f.ends_with(".html"))
        .count();
    assert_eq!(report.pages, html_pages);
    let checked = common::assert_links_resolve(&out);
    assert!(checked > 40, "{checked}");
}

#[test]
fn without_crossvals_no_crossval_pages_or_sections() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&common::runs_dir(tmp.path()), &out);
    assert_eq!(report.crossvals, 0);
    assert!(!out.join("crossval").exists());
    assert!(!read(&out.join("index.html")).contains("crossval"));
}

/// A crossval whose every free-text field tries to break out of HTML.
fn hostile_crossval(script: &str, img: &str) -> CrossvalRecord {
    let mut r = crossval(&format!("../../escape-{script}"), img);
    r.summary.headline = format!("{script} {img}");
    r.run.notes = vec![script.into()];
    r.run.command_line.push(script.into());
    r.provenance.reproduce = img.into();
    r.prompt_set.name = script.into();
    for s in &mut r.sides {
        s.description = format!("{script} {img}");
        s.golden_file = Some(img.into());
        let b = s.backend.as_mut().unwrap();
        b.flags = vec![script.into(), img.into()];
        b.name = img.into();
        s.model.as_mut().unwrap().quant = Some(script.into());
    }
    for p in &mut r.prompts {
        p.id = format!("{script}{}", p.id);
        p.category = img.into();
        p.prompt_excerpt = format!("{script} {img}");
        p.text_a = format!("A {script}");
        p.text_b = format!("B {img}");
        p.tokenization.note = Some(script.into());
        if let Some(d) = p.divergence.as_mut() {
            d.token_a = Some(script.into());
            d.token_b = Some(img.into());
            d.context_before = vec![script.into(), img.into()];
            d.after_a = vec![img.into()];
            d.after_b = vec![script.into()];
        }
    }
    r
}

#[test]
fn crossval_strings_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let script = "<script>alert(1)</script>";
    let img = "\"><img src=x onerror=alert(1)>";
    common::write(&runs, "run.yaml", &common::records()[0]);
    common::write_crossval(&runs, "evil.yaml", &hostile_crossval(script, img));
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert!(
        report.record_errors.is_empty(),
        "{:?}",
        report.record_errors
    );
    assert_eq!(report.crossvals, 1);
    let files = common::files(&out);
    assert!(
        files.iter().all(|f| !f.contains("..") && !f.contains('<')),
        "{files:?}"
    );
    let page = "crossval/escape-script-alert-1-script.html";
    assert!(files.iter().any(|f| f == page), "{files:?}");
    for f in &files {
        let Ok(text) = std::fs::read_to_string(out.join(f)) else {
            continue;
        };
        if f.ends_with(".yaml") {
            continue; // the record copy, served as YAML
        }
        assert!(!text.contains("<script>alert"), "{f}: raw script");
        assert!(!text.contains("<img src=x"), "{f}: raw img");
        assert!(!text.contains("\"><img"), "{f}: attribute break-out");
    }
    let html = read(&out.join(page));
    assert!(html.contains(&escaped(script)), "escaped script missing");
    assert!(html.contains(&escaped(img)), "escaped img missing");
    // The marked tokens, the texts and the flags, escaped.
    let mark = format!(
        "<mark class=\"tok-a\" title=\"side A's token\">{}</mark>",
        escaped(script)
    );
    assert!(html.contains(&mark), "marked token A");
    assert!(html.contains(&format!("A {}", escaped(script))));
    assert!(html.contains(&format!("B {}", escaped(img))));
    for listing in ["index.html", "crossval/index.html"] {
        let html = read(&out.join(listing));
        assert!(
            html.contains(&escaped(&format!("{script} {img}"))),
            "{listing}"
        );
    }
}

#[test]
fn bad_crossval_files_are_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_crossvals(tmp.path());
    let good = read(&runs.join(format!("{SMOL}.yaml")));
    let mut lines: Vec<&str> = good.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("headline:"))
        .unwrap();
    lines[at] = "  headline: [unclosed";
    std::fs::write(runs.join("broken-crossval.yaml"), lines.join("\n")).unwrap();
    std::fs::write(
        runs.join("invalid-crossval.yaml"),
        good.replace("epsilon_nats: 0.1", "epsilon_nats: fast"),
    )
    .unwrap();
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert_eq!((report.records, report.crossvals), (3, 2));
    let msgs: Vec<String> = report
        .record_errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let broken = msgs
        .iter()
        .find(|m| m.contains("broken-crossval.yaml"))
        .unwrap();
    let lines = [at + 1, at + 2].map(|n| format!("broken-crossval.yaml:{n}"));
    assert!(lines.iter().any(|l| broken.contains(l)), "{broken}");
    let invalid = msgs
        .iter()
        .find(|m| m.contains("invalid-crossval.yaml"))
        .unwrap();
    assert!(invalid.contains("epsilon_nats"), "{invalid}");
}

#[test]
fn crossvals_load_the_same_with_the_parse_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_crossvals(tmp.path());
    let cache = tmp.path().join("cache");
    let load = || {
        tokbench_site::load::load_records(std::slice::from_ref(&runs), &[], Some(&cache)).unwrap()
    };
    let (cold, warm) = (load(), load());
    assert_eq!((cold.cache_hits, warm.cache_hits), (0, 3));
    for l in [&cold, &warm] {
        assert_eq!((l.records.len(), l.crossvals.len()), (3, 2));
        assert!(l.errors.is_empty());
    }
    let ids = |l: &tokbench_site::load::Loaded| {
        l.crossvals
            .iter()
            .map(|c| c.record.run.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&cold), [SMOL, ORPHAN]);
    assert_eq!(ids(&cold), ids(&warm));
}

#[test]
fn tokenization_mismatch_and_length_divergence_are_shown() {
    use tokbench_record::{DivergenceClass, PromptVerdict, TokenizationStatus};
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut r = crossval(SMOL, "SmolLM2-135M-Instruct");
    let p = &mut r.prompts[0];
    p.verdict = PromptVerdict::TokenizationMismatch;
    p.tokenization.status = TokenizationStatus::Mismatch;
    p.tokenization.prompt_tokens_b = Some(31);
    p.tokenization.first_difference = Some(5);
    p.tokenization.template_same = Some(false);
    p.tokenization.note = Some("B adds a BOS token".into());
    let d = r.prompts[2].divergence.as_mut().unwrap();
    d.kind = DivergenceClass::Length;
    d.token_b = None;
    d.after_b.clear();
    d.gap_b = None;
    r.summary.tokenization_mismatch = 1;
    r.summary.compared = 2;
    common::write_crossval(&runs, "cv.yaml", &r);
    let out = tmp.path().join("site");
    let report = common::build(&runs, &out);
    assert!(
        report.record_errors.is_empty(),
        "{:?}",
        report.record_errors
    );
    // No run record: no model page, but the index lists the crossval.
    assert_eq!((report.records, report.crossvals), (0, 1));
    assert!(read(&out.join("index.html")).contains(&format!("crossval/{SMOL}.html")));
    assert!(!out.join("model").exists());
    let html = read(&out.join(format!("crossval/{SMOL}.html")));
    for text in [
        "tokenization mismatch (not compared)",
        "MISMATCH; prompt tokens 30 &#x2f; 31; first difference at 5; chat templates differ",
        "(B adds a BOS token)",
        "token 88 · length",
        "<mark class=\"tok-stop\" title=\"side B stopped here\">end of output</mark>",
        "A: gap 1.700 nats; B: gap unknown",
        "<tr class=\"v-mismatch\">",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
}
