//! Data downloads: `data/runs.csv` and `data/runs.json`, one row per cell
//! (record × shape × concurrency), each naming its record (id and file) and
//! run page, with the summaries of every metric. Floats are rounded to
//! [`SIG_DIGITS`] significant digits (the record has full precision).

use std::borrow::Cow;
use std::io::Write;

use tokbench_record::{Cell, Record, Summary};

use crate::error::SiteError;
use crate::site::{RunView, Site};

/// Significant digits of exported floats. Measurements on shared hardware
/// vary far more than 1 part in 10^6, and full-precision floats would
/// double the size of the downloads; the record keeps every digit.
pub const SIG_DIGITS: usize = 6;

/// Metrics exported, with their summaries.
const METRICS: [&str; 11] = [
    "ttft_ms",
    "ttfc_ms",
    "prefill_tok_s",
    "server_prefill_tok_s",
    "decode_tok_s",
    "server_decode_tok_s",
    "tpot_ms",
    "itl_ms",
    "e2e_ms",
    "queue_delay_ms",
    "answer_tok_s",
];
/// Summary statistics exported per metric.
const STATS: [&str; 6] = ["median", "p90", "p99", "ci95_lo", "ci95_hi", "n"];

/// Columns before the metric summaries.
const BASE: [&str; 46] = [
    "record_id",
    "record_file",
    "run_page",
    "record_yaml",
    "family",
    "variant",
    "model_id",
    "quant",
    "params",
    "rig",
    "hardware",
    "gpu",
    "gpu_count",
    "backend",
    "backend_version",
    "device",
    "mode",
    "started_utc",
    "run_noisy",
    "run_incomplete",
    "run_spill",
    "shape",
    "concurrency",
    "rate_rps",
    "prompt_tokens_target",
    "output_tokens_target",
    "stop",
    "skipped",
    "cell_noisy",
    "cell_prompt_cache",
    "cached_prompt_share",
    "requests",
    "ok",
    "errors",
    "window_s",
    "aggregate_output_tok_s",
    "request_throughput_rps",
    "decode_ci_rel_half_width",
    "total_output_tokens",
    "memory_bandwidth_gb_s",
    "decode_ceiling_tok_s",
    "decode_bandwidth_efficiency_pct",
    "total_reasoning_tokens",
    "good_requests",
    "goodput_rps",
    "goodput_pct",
];

/// One exported value (strings borrowed from the record where they can
/// be: 80,000 rows of 46 columns).
#[derive(Debug, Clone, PartialEq)]
enum V<'a> {
    S(Cow<'a, str>),
    F(Option<f64>),
    U(Option<u64>),
    B(bool),
}

impl V<'_> {
    /// Appends the value to the CSV record being written and to the JSON
    /// row, formatting it once (`buf` is scratch space).
    fn emit(
        &self,
        csv: &mut csv::Writer<Vec<u8>>,
        json: &mut Vec<u8>,
        buf: &mut String,
    ) -> Result<(), String> {
        use std::fmt::Write as _;
        buf.clear();
        match self {
            V::S(s) => {
                // A string a spreadsheet would run as a formula gets a
                // leading `'` in the CSV (OWASP); the JSON keeps it as is.
                if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    buf.push('\'');
                }
                buf.push_str(s);
                serde_json::to_writer(&mut *json, s).map_err(|e| e.to_string())?;
                return csv.write_field(buf.as_bytes()).map_err(|e| e.to_string());
            }
            V::F(Some(f)) if f.is_finite() => write_sig(buf, *f).map_err(|e| e.to_string())?,
            V::U(Some(u)) => write!(buf, "{u}").map_err(|e| e.to_string())?,
            V::B(b) => buf.push_str(if *b { "true" } else { "false" }),
            V::F(_) | V::U(_) => {
                json.extend_from_slice(b"null");
                return csv.write_field(b"").map_err(|e| e.to_string());
            }
        }
        json.extend_from_slice(buf.as_bytes());
        csv.write_field(buf.as_bytes()).map_err(|e| e.to_string())
    }
}

/// Writes `x` rounded to [`SIG_DIGITS`] significant digits (integer digits
/// are never dropped), in plain
/// decimal notation without trailing zeros (`66.0747`, `13400`,
/// `0.0193246`).
fn write_sig(buf: &mut String, x: f64) -> std::fmt::Result {
    use std::fmt::Write as _;
    if x == 0.0 {
        buf.push('0');
        return Ok(());
    }
    // Digits after the point that leave SIG_DIGITS significant ones.
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (SIG_DIGITS as i32 - 1 - magnitude).clamp(0, 330) as usize;
    if !write_fixed_fast(buf, x, decimals) {
        write!(buf, "{x:.decimals$}")?;
    }
    if buf.contains('.') {
        let kept = buf.trim_end_matches('0').trim_end_matches('.').len();
        buf.truncate(kept);
    }
    if buf == "-0" {
        buf.replace_range(.., "0");
    }
    Ok(())
}

/// Writes `x` with `decimals` digits after the point exactly as
/// `format!("{x:.decimals$}")` does, from one `f64` product and integer
/// formatting, when that product decides the rounding; returns `false`
/// (and writes nothing) when it cannot, so the caller formats it with
/// `std` (whose exact algorithm is several times slower on most values:
/// on 10,000 generated records, 74,000 rows, std alone added ~0.85 s to
/// the ~1.3 s a cached rebuild spends after loading).
///
/// `10^decimals` is exact for `decimals <= 22`, so `|x|·10^decimals` is
/// off by at most half an ulp: below 2^24 (the range of every value
/// [`write_sig`] asks for with `decimals > 0`) that is under 10^-9, so
/// unless the fraction lies within 10^-6 of one half, rounding the product
/// to the nearest integer rounds the exact value the same way. Ties and
/// near-ties are left to `std`, which rounds the exact binary value.
fn write_fixed_fast(buf: &mut String, x: f64, decimals: usize) -> bool {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let Some(scale) = POW10.get(decimals) else {
        return false;
    };
    let scaled = x.abs() * scale;
    let limit = if decimals == 0 { 9.0e15 } else { 16_777_216.0 };
    if scaled.is_nan() || scaled >= limit {
        return false;
    }
    let whole = scaled.floor();
    let frac = scaled - whole;
    if (frac - 0.5).abs() < 1e-6 {
        return false;
    }
    let rounded = whole as u64 + u64::from(frac > 0.5);
    crate::format::push_scaled(buf, x.is_sign_negative(), rounded, decimals);
    true
}

/// Every column name, in order.
pub fn headers() -> Vec<String> {
    let metric_cols = METRICS
        .iter()
        .flat_map(|m| STATS.iter().map(move |s| format!("{m}_{s}")));
    BASE.iter()
        .map(|s| (*s).to_owned())
        .chain(metric_cols)
        .collect()
}

fn summary<'m>(c: &'m Cell, key: &str) -> Option<&'m Summary> {
    c.metrics.as_ref()?.summary(key)
}

fn cell_row<'a>(r: &'a Record, v: &'a RunView, c: &'a Cell) -> Vec<V<'a>> {
    let s = |x: &'a str| V::S(Cow::Borrowed(x));
    let opt = |x: &'a Option<String>| s(x.as_deref().unwrap_or_default());
    let gpu = r.system.gpus.first();
    let m = c.metrics.as_ref();
    let mut row = vec![
        s(&r.run.id),
        s(&v.file_name),
        V::S(Cow::Owned(format!("runs/{}.html", v.slug))),
        V::S(Cow::Owned(format!("runs/{}.yaml", v.slug))),
        s(&r.model.family),
        s(&r.model.variant),
        s(&r.model.id),
        s(&v.quant),
        opt(&r.model.params_label),
        s(&r.system.rig_name),
        s(&v.hw),
        s(gpu.map_or("", |g| g.name.as_str())),
        V::U(Some(r.system.gpus.len() as u64)),
        s(&r.backend.name),
        opt(&r.backend.version),
        s(&r.backend.device),
        s(&r.run.mode),
        s(&r.run.started_utc),
        V::B(r.run.flags.noisy),
        V::B(r.run.flags.incomplete),
        V::B(r.run.flags.spill || r.resources.vram_fit.is_spill()),
        s(&c.shape),
        V::U(Some(c.concurrency)),
        V::F(c.rate_rps),
        V::U(Some(c.prompt_tokens_target)),
        V::U(Some(c.output_tokens_target)),
        s(c.stop.as_str()),
        opt(&c.skipped),
        V::B(c.noisy),
        V::B(c.prompt_cache),
        V::F(c.prompt_cache_check.as_ref().and_then(|p| p.cached_share)),
        V::U(m.map(|m| m.requests)),
        V::U(m.map(|m| m.ok)),
        V::U(m.map(|m| m.errors_by_kind.values().sum())),
        V::F(m.and_then(|m| m.window_s)),
        V::F(m.and_then(|m| m.aggregate_output_tok_s)),
        V::F(m.and_then(|m| m.request_throughput_rps)),
        V::F(c.decode_ci_rel_half_width),
        V::U(m.map(|m| m.total_output_tokens)),
        V::F(r.roofline.as_ref().and_then(|x| x.bandwidth_gb_s)),
        V::F(c.roofline.map(|x| x.decode_ceiling_tok_s)),
        V::F(c.roofline.and_then(|x| x.decode_bandwidth_efficiency_pct)),
        V::U(m.map(|m| m.total_reasoning_tokens)),
        V::U(m.and_then(|m| m.good_requests)),
        V::F(m.and_then(|m| m.goodput_rps)),
        V::F(m.and_then(|m| m.goodput_pct)),
    ];
    row.extend(METRICS.iter().flat_map(|key| metric_values(c, key)));
    row
}

/// The exported statistics of metric `key` in cell `c` ([`STATS`]).
fn metric_values(c: &Cell, key: &str) -> [V<'static>; 6] {
    let s = summary(c, key);
    let ci = s.and_then(|s| s.ci95_median.as_ref());
    [
        V::F(s.map(|s| s.median)),
        V::F(s.map(|s| s.p90)),
        V::F(s.map(|s| s.p99)),
        V::F(ci.map(|c| c.lo)),
        V::F(ci.map(|c| c.hi)),
        V::U(s.map(|s| s.n)),
    ]
}

/// Every cell row of the site.
fn rows<'s>(site: &'s Site<'_>) -> impl Iterator<Item = Vec<V<'s>>> + 's {
    site.records.iter().zip(&site.runs).flat_map(|(l, v)| {
        l.record
            .cells
            .iter()
            .map(move |c| cell_row(&l.record, v, c))
    })
}

/// `data/runs.csv` and `data/runs.json`, in one pass (each value is
/// formatted once). The JSON is `{"columns": [...], "rows": [[...], ...]}`:
/// the same columns and rows as the CSV, numbers as numbers, absent values
/// as `null` (columnar, so 10,000 records stay a reasonable download).
///
/// # Errors
/// [`SiteError::Export`] when a writer fails.
pub fn csv_and_json(site: &Site<'_>) -> Result<(Vec<u8>, Vec<u8>), SiteError> {
    let csv_err = |e: csv::Error| SiteError::Export {
        path: "data/runs.csv".into(),
        message: e.to_string(),
    };
    let json_err = |e: std::io::Error| SiteError::Export {
        path: "data/runs.json".into(),
        message: e.to_string(),
    };
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(site.records.len() * 8192));
    csv.write_record(headers()).map_err(csv_err)?;
    let mut json = Vec::with_capacity(site.records.len() * 8192);
    let columns = serde_json::Value::from(headers()).to_string();
    write!(json, "{{\"columns\":{columns},\n\"rows\":[").map_err(json_err)?;
    let err = |message| SiteError::Export {
        path: "data/runs.*".into(),
        message,
    };
    let mut buf = String::with_capacity(64);
    for (i, row) in rows(site).enumerate() {
        json.write_all(if i == 0 { b"\n[" } else { b",\n[" })
            .map_err(json_err)?;
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                json.push(b',');
            }
            v.emit(&mut csv, &mut json, &mut buf).map_err(err)?;
        }
        json.push(b']');
        csv.write_record(None::<&[u8]>).map_err(csv_err)?;
    }
    json.write_all(b"\n]}\n").map_err(json_err)?;
    let csv = csv.into_inner().map_err(|e| SiteError::Export {
        path: "data/runs.csv".into(),
        message: e.to_string(),
    })?;
    Ok((csv, json))
}

#[cfg(test)]
mod tests {
    use super::{write_fixed_fast, write_sig};

    fn sig(x: f64) -> String {
        let mut s = String::new();
        write_sig(&mut s, x).unwrap();
        s
    }

    /// The fast path writes exactly what `std` writes, on values across
    /// every magnitude the exports see (deterministic pseudo-random).
    #[test]
    fn fast_fixed_formatting_equals_std() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut fast_taken = 0;
        for i in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            let exp = (i % 24) - 9;
            let mut x = unit * 10f64.powi(exp);
            if i % 7 == 0 {
                // Values that sit on or near a rounding tie.
                x = (x * 1e3).round() / 1e3 + 5e-4;
            }
            if i % 2 == 1 {
                x = -x;
            }
            // Half as `write_sig` asks (6 significant digits), half any.
            let decimals = if i % 4 < 2 {
                let magnitude = x.abs().log10().floor() as i32;
                (5 - magnitude).clamp(0, 330) as usize
            } else {
                (i % 11) as usize
            };
            let mut fast = String::new();
            if write_fixed_fast(&mut fast, x, decimals) {
                fast_taken += usize::from(i % 4 < 2);
                assert_eq!(
                    fast,
                    format!("{x:.decimals$}"),
                    "x = {x:e}, decimals {decimals}"
                );
            } else {
                assert!(fast.is_empty());
            }
        }
        // Nearly every value `write_sig` formats takes the fast path.
        assert!(fast_taken > 95_000, "fast path taken {fast_taken} times");
    }

    #[test]
    fn floats_keep_six_significant_digits() {
        assert_eq!(sig(66.07474705760892), "66.0747");
        assert_eq!(sig(13400.0), "13400");
        assert_eq!(sig(0.019324582347682716), "0.0193246");
        assert_eq!(sig(-2.5), "-2.5");
        assert_eq!(sig(99.999996), "100");
        assert_eq!(sig(123456789.0), "123456789");
        assert_eq!(sig(0.0), "0");
        assert_eq!(sig(-0.0000001), "-0.0000001");
        for x in [
            1.0e-7,
            3.3333333333e-3,
            7.77363184079602,
            512.0724502487562,
            1.5e12,
        ] {
            let back: f64 = sig(x).parse().unwrap();
            assert!((back - x).abs() <= x.abs() * 5e-6, "{x} -> {back}");
        }
    }
}
