//! Shared fixtures: a small, deterministic runs folder built from
//! `tokbench_record::fixture::example_record`.

// Test helpers (outside #[test] fns) may unwrap too: a failure is a test
// failure. Each test binary uses a part of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokbench_record::fixture::{example_record, set_example_roofline, ExampleSpec};
use tokbench_record::{
    crossval_to_yaml, to_yaml, CrossvalRecord, GpuInfo, GpuSource, HostLoadSummary, Record,
    RigNotes, VramFit,
};
use tokbench_site::{build_site, BuildReport, SiteOptions};

fn shapes(list: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    list.iter()
        .map(|(s, p, o)| ((*s).to_owned(), *p, *o))
        .collect()
}

fn gpu(r: &mut Record, name: &str) {
    let mut g = GpuInfo::named(0, GpuSource::Fake, name);
    g.vram_total_bytes = Some(12 << 30);
    g.driver_version = Some("595.58.03".into());
    g.power.limit_w = Some(250.0);
    g.power.max_limit_w = Some(300.0);
    r.system.gpus = vec![g];
    set_example_roofline(r, true);
    r.backend.device = "vulkan".into();
    r.resources.vram_before_bytes = vec![Some(600 << 20)];
    r.resources.vram_after_bytes = vec![Some((600 << 20) + 1_100_000_000)];
    r.resources.vram_fit = VramFit::Fit {
        delta_bytes: 1_100_000_000,
        model_bytes: 92_000_000,
    };
}

/// Three records: SmolLM2 on a CPU box and on a GPU rig (noisy), and a
/// Qwen2.5 run that spilled, with rig notes and host load.
pub fn records() -> &'static [Record] {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let a = example_record(&ExampleSpec::default());
        let mut b = example_record(&ExampleSpec {
            id: "2026-11-23-smollm2-135m-instruct-llama.cpp-1d2e3f".into(),
            quant: "Q8_0".into(),
            rig: "gaming-5070".into(),
            decode_tok_s: 300.0,
            ..ExampleSpec::default()
        });
        gpu(&mut b, "NVIDIA GeForce RTX 5070");
        b.run.flags.noisy = true;
        b.cells[1].noisy = true;
        let mut c = example_record(&ExampleSpec {
            id: "2026-11-24-qwen2.5-0.5b-instruct-llama.cpp-4a5b6c".into(),
            family: "Qwen2.5".into(),
            variant: "0.5B-Instruct".into(),
            quant: "Q4_K_M".into(),
            rig: "gaming-5070".into(),
            decode_tok_s: 150.0,
            shapes: shapes(&[("chat", 200, 64), ("codegen", 300, 256)]),
            concurrency: vec![1],
            ..ExampleSpec::default()
        });
        gpu(&mut c, "NVIDIA GeForce RTX 5070");
        c.run.started_utc = "2026-11-24T06:00:00Z".into();
        c.run.flags.spill = true;
        c.resources.vram_fit = VramFit::Spill {
            delta_bytes: 40_000_000,
            model_bytes: 400_000_000,
            message: "GPU memory grew by less than the model file".into(),
        };
        c.system.rig = Some(RigNotes {
            name: "gaming-5070".into(),
            chassis: Some("Mid tower".into()),
            notes: Some("Daily-driver gaming PC, 250 W power cap.".into()),
            ..RigNotes::default()
        });
        c.run.host_load = Some(host_load());
        vec![a, b, c]
    })
}

fn host_load() -> HostLoadSummary {
    // Built from JSON so that optional fields added later stay `None`.
    serde_json::from_value(serde_json::json!({
        "interval_ms": 500,
        "duration_s": 300.0,
        "logical_cpus": 16,
        "samples": 600,
        "load_avg_before": {"one": 0.5, "five": 0.4, "fifteen": 0.3},
        "busy_pct_mean": 12.5,
        "others_busy_pct_mean": 1.5,
        "others_busy_pct_max": 4.0,
        "others_busy_cores_mean": 0.2,
        "others_busy_cores_max": 0.6,
        "noisy": false,
    }))
    .unwrap()
}

/// Writes `record` as `<dir>/<file>.yaml` (the file name is chosen by the
/// test, never taken from the record).
pub fn write(dir: &Path, file: &str, record: &Record) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, to_yaml(record).unwrap()).unwrap();
    path
}

/// Writes crossval record `record` as `<dir>/<file>` (the file name is
/// chosen by the test).
pub fn write_crossval(dir: &Path, file: &str, record: &CrossvalRecord) -> PathBuf {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, crossval_to_yaml(record).unwrap()).unwrap();
    path
}

/// The fixture runs folder under `root/runs`, with the first record's
/// samples and server log beside it.
pub fn runs_dir(root: &Path) -> PathBuf {
    let dir = root.join("runs");
    for r in records() {
        write(&dir, &format!("{}.yaml", r.run.id), r);
    }
    let a = &records()[0];
    let samples = a.run.samples_file.as_deref().unwrap();
    std::fs::write(dir.join(samples), "{\"id\":0}\n{\"id\":1}\n").unwrap();
    let log = a.run.server_log_file.as_deref().unwrap();
    std::fs::write(dir.join(log), "llama-server: listening\n").unwrap();
    dir
}

/// Builds `runs` into `out` without a cache.
pub fn build(runs: &Path, out: &Path) -> BuildReport {
    build_site(&SiteOptions::new(vec![runs.to_owned()], out.to_owned())).unwrap()
}

/// Every file below `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// How the index's facet block starts.
pub const FACETS_OPEN: &str = "<script type=\"application/json\" id=\"facets\">";

/// The text of the index's facet block.
pub fn facets_json(index: &str) -> &str {
    let start = index.find(FACETS_OPEN).expect("facet block") + FACETS_OPEN.len();
    let len = index[start..].find("</script>").unwrap();
    &index[start..start + len]
}

/// The index's facet data, one object per family.
pub fn facets_of(index: &str) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(facets_json(index)).unwrap();
    json.as_array().unwrap().clone()
}

/// The value of attribute `name` in tag `tag`.
pub fn attr<'t>(tag: &'t str, name: &str) -> &'t str {
    let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    let len = tag[start..].find('"').unwrap();
    &tag[start..start + len]
}

/// The filter facets of one result row: (family slug, hw, backend, quant,
/// concurrency, indices of the measured shapes).
pub type Facet = (String, String, String, String, String, Vec<usize>);

/// The facets of every `<tr>` of `html`, with the family of the enclosing
/// `<details id="family-…">` (empty outside one).
pub fn row_facets(html: &str) -> Vec<Facet> {
    let mut out = Vec::new();
    let mut family = String::new();
    for (i, _) in html.match_indices('<') {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        if tag.starts_with("<details") {
            family = attr(tag, "id").trim_start_matches("family-").to_owned();
        } else if tag.starts_with("<tr data-hw") {
            let shapes = attr(tag, "data-v")
                .split('|')
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(i, _)| i)
                .collect();
            let [hw, backend, quant, c] = ["data-hw", "data-backend", "data-quant", "data-c"]
                .map(|a| attr(tag, a).to_owned());
            out.push((family.clone(), hw, backend, quant, c, shapes));
        }
    }
    out
}

/// Rows per distinct facet tuple, decoded from the facet data.
pub fn counted(facets: &[serde_json::Value]) -> std::collections::BTreeMap<Facet, usize> {
    let mut out = std::collections::BTreeMap::new();
    for f in facets {
        let dict = |k: &str, i: &serde_json::Value| {
            f[k][i.as_u64().unwrap() as usize]
                .as_str()
                .unwrap()
                .to_owned()
        };
        for t in f["rows"].as_array().unwrap() {
            let shapes = f["shape"][t[4].as_u64().unwrap() as usize]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_u64().unwrap() as usize)
                .collect();
            let key = (
                f["slug"].as_str().unwrap().to_owned(),
                dict("hw", &t[0]),
                dict("backend", &t[1]),
                dict("quant", &t[2]),
                dict("c", &t[3]),
                shapes,
            );
            let n = t[5].as_u64().unwrap() as usize;
            assert!(
                n > 0 && out.insert(key, n).is_none(),
                "{t}: repeated or empty"
            );
        }
    }
    out
}

/// Every `href`/`src` of every page, decoded, without query.
pub fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in [" href=\"", " src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            let raw = &rest[..end];
            let url = raw
                .replace("&#x2f;", "/")
                .replace("&#x27;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            out.push(url.split('?').next().unwrap().to_owned());
        }
    }
    out
}

/// Checks that every link of every page of the site in `out` names a file
/// inside the site (and, with a fragment, an element of it); returns how
/// many distinct links were checked.
pub fn assert_links_resolve(out: &Path) -> usize {
    let mut checked = std::collections::BTreeSet::new();
    let root = out.canonicalize().unwrap();
    for page in files(out).iter().filter(|f| f.ends_with(".html")) {
        let path = out.join(page);
        let html = std::fs::read_to_string(&path).unwrap();
        for link in links(&html) {
            assert!(
                !link.contains("://") && !link.starts_with("//"),
                "{page}: external link {link}"
            );
            let (file, frag) = link.split_once('#').unwrap_or((&link, ""));
            let target: PathBuf = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            let target = target
                .canonicalize()
                .unwrap_or_else(|_| panic!("{page}: broken link {link}"));
            assert!(target.starts_with(&root), "{page}: {link} leaves the site");
            assert!(target.is_file(), "{page}: {link} is not a file");
            if !frag.is_empty() {
                let body = std::fs::read_to_string(&target).unwrap();
                assert!(
                    body.contains(&format!("id=\"{frag}\"")),
                    "{page}: no #{frag} in {link}"
                );
            }
            checked.insert(link);
        }
    }
    checked.len()
}
