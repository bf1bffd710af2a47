//! Goodput (`--slo`) and reasoning (answer tok/s, `--reasoning`) on the
//! site: sortable columns only where a record has the values, the
//! `reasoning` badge, run-page facts, escaping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tokbench_record::{GoodputSlo, ReasoningSection, Record, Summary};

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn constant(v: f64) -> Summary {
    Summary {
        n: 3,
        mean: v,
        stddev: 0.0,
        min: v,
        max: v,
        median: v,
        p50: v,
        p90: v,
        p99: v,
        ci95_median: None,
    }
}

/// The first fixture record, run with `--slo` and `--reasoning off` that a
/// model ignored: every cell 2 good requests/s, 75% good, answer tok/s
/// 41.5 from 4 reasoning + 8 content tokens.
fn thinking_record() -> Record {
    let mut r = common::records()[0].clone();
    r.run.slo = Some(GoodputSlo {
        ttft_ms: Some(500.0),
        tpot_ms: Some(50.0),
        e2e_ms: None,
    });
    r.run.reasoning = Some(ReasoningSection {
        mode: "off".into(),
        switch: Some("<b>chat_template_kwargs</b>".into()),
        obeyed: Some(false),
        reasoning_tokens: 12,
    });
    for m in r.cells.iter_mut().filter_map(|c| c.metrics.as_mut()) {
        m.total_reasoning_tokens = 4;
        m.reasoning_tokens = Some(constant(4.0));
        m.content_tokens = Some(constant(8.0));
        m.answer_tok_s = Some(constant(41.5));
        m.good_requests = Some(3);
        m.goodput_rps = Some(2.0);
        m.goodput_pct = Some(75.0);
    }
    r
}

#[test]
fn columns_badge_and_facts_appear_only_with_the_values() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    // Without the fields: no new column, no badge.
    common::build(&common::runs_dir(tmp.path()), &out);
    let index = read(&out.join("index.html"));
    assert!(!index.contains("Answer tok&#x2f;s") && !index.contains("Goodput req"));
    assert!(!index.contains("b-reasoning"));

    let runs = tmp.path().join("runs2");
    let r = thinking_record();
    common::write(&runs, "thinking.yaml", &r);
    let out = tmp.path().join("site2");
    common::build(&runs, &out);
    let index = read(&out.join("index.html"));
    let head = &index[index.find("<thead>").unwrap()..index.find("</thead>").unwrap()];
    assert!(head.contains("Answer tok&#x2f;s</span></th>"), "{head}");
    assert!(
        head.contains("Goodput req&#x2f;s</span></th></tr>"),
        "{head}"
    );
    assert!(index.contains("<td class=\"n\" data-i=\"4\" data-sort=\"41.500\">"));
    assert!(index.contains("<td class=\"n\" data-i=\"5\" data-sort=\"2.000\">"));
    assert!(index.contains("class=\"badge b-reasoning\""), "badge");
    assert!(index.contains("--reasoning off was not obeyed."));

    let slug = r.run.id.replace('.', "-");
    let page = read(&out.join(format!("runs/{slug}.html")));
    assert!(
        page.contains("ttft_ms ≤ 500 ms, tpot_ms ≤ 50 ms"),
        "SLO fact"
    );
    assert!(page.contains("3 of "), "good of ok");
    assert!(page.contains("75.0%"));
    assert!(page.contains("41.5 (gen "), "answer fact");
    assert!(page.contains("4.00 reasoning + 8.00 content tokens"));
    assert!(page.contains("NOT obeyed"));
    assert!(
        page.contains("&lt;b&gt;chat_template_kwargs&lt;&#x2f;b&gt;"),
        "record text is escaped"
    );
    assert!(!page.contains("<b>chat_template_kwargs</b>"));
}
