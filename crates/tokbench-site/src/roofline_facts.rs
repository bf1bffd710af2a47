//! The decode roofline on run pages: its run-wide inputs (bandwidth and
//! where it came from, bytes per token) and each cell's ceiling and
//! efficiency (docs/methodology.md, "Decode roofline").

use tokbench_record::{BandwidthSource, CellRoofline, Roofline};

use crate::facts::Fact;
use crate::format;
use crate::run_page::host_load;

/// Megabytes (10⁶ bytes) with one decimal and the exact count:
/// `96.6 MB (96,577,380 bytes)`.
fn mb(bytes: u64) -> String {
    format!(
        "{:.1} MB ({} bytes)",
        bytes as f64 / 1e6,
        format::count(bytes)
    )
}

/// What a bandwidth source is called on the page.
fn source_text(s: BandwidthSource) -> &'static str {
    match s {
        BandwidthSource::Measured => "measured on this CPU by tokbench",
        BandwidthSource::NvmlTheoretical => {
            "NVML theoretical peak (2 × max memory clock × bus width)"
        }
        BandwidthSource::RigFile => "declared in the rig file",
    }
}

/// The run-wide facts: device, bandwidth, bytes per token, KV cache.
pub fn roofline_facts(r: &Roofline) -> Vec<Fact> {
    let mut out = vec![Fact::new("Decoding device", r.device.clone())];
    let bandwidth = match (r.bandwidth_gb_s, r.bandwidth_source) {
        (Some(b), Some(s)) => {
            let detail = r
                .bandwidth_source_detail
                .as_deref()
                .map_or_else(String::new, |d| format!(" ({d})"));
            format!("{} GB/s, {}{detail}", format::num(Some(b)), source_text(s))
        }
        (Some(b), None) => format!("{} GB/s", format::num(Some(b))),
        _ => "unknown (no ceiling; see the notes)".into(),
    };
    out.push(Fact::new("Memory bandwidth", bandwidth));
    if let Some(m) = &r.cpu_bandwidth {
        let samples: Vec<String> = m
            .samples_gb_s
            .iter()
            .map(|s| format::num(Some(*s)))
            .collect();
        out.push(Fact::new(
            "Bandwidth measurement",
            format!(
                "{}: {} threads over a {} buffer (last-level cache {}), {} repeats of {} \
                 sweeps: {} GB/s; median {} GB/s, spread {}%",
                m.method,
                m.threads,
                format::bytes(m.buffer_bytes),
                format::opt_bytes(m.llc_bytes),
                m.repeats,
                m.sweeps_per_repeat,
                samples.join(", "),
                format::num(Some(m.median_gb_s)),
                format::num(Some(m.spread_pct)),
            ),
        ));
        if let Some(h) = &m.host_load {
            out.extend(host_load(h).into_iter().map(|mut f| {
                f.label = format!("While measuring: {}", f.label);
                f
            }));
        }
    }
    out.extend(bytes_facts(r));
    out.extend(
        r.notes
            .iter()
            .map(|n| Fact::new("Roofline note", n.clone())),
    );
    out
}

fn bytes_facts(r: &Roofline) -> Vec<Fact> {
    let Some(b) = &r.decode_bytes else {
        return vec![Fact::new("Weights read per token", "unknown")];
    };
    let mut out = vec![Fact::new("Weights read per token", mb(b.weights_bytes))];
    let head = if b.output_tied {
        "output head tied to token_embd, read whole"
    } else {
        "output.weight"
    };
    out.push(Fact::new(
        "Of which",
        format!(
            "dense tensors {}; output head {} ({head}); embedding rows {}",
            mb(b.dense_bytes),
            mb(b.output_bytes),
            format::count(b.lookup_bytes)
        ),
    ));
    if let (Some(count), Some(used)) = (b.experts_count, b.experts_used) {
        out.push(Fact::new(
            "Routed experts",
            format!(
                "{used} of {count} used: {} of {} expert bytes read",
                mb(b.expert_bytes_read),
                mb(b.expert_bytes_total)
            ),
        ));
    }
    out.push(Fact::new("All weights", mb(b.total_weight_bytes)));
    let kv = r.kv_bytes_per_position.map_or_else(
        || "not modelled".into(),
        |k| format!("{} bytes per position", format::num(Some(k))),
    );
    out.push(Fact::new(
        "KV cache read per token",
        format!("{kv} (K {}, V {})", r.kv_cache_type_k, r.kv_cache_type_v),
    ));
    out
}

/// A cell's ceiling and efficiency, as `(ceiling text, efficiency text)`.
pub fn cell_texts(c: &CellRoofline) -> (String, String) {
    let ceiling = format!(
        "{} tok/s ({} bytes per token at context {})",
        format::num(Some(c.decode_ceiling_tok_s)),
        format::count(c.bytes_per_token.round() as u64),
        format::num(Some(c.context_tokens))
    );
    let eff = c
        .decode_bandwidth_efficiency_pct
        .map_or_else(|| "—".into(), |e| format!("{}%", format::num(Some(e))));
    (ceiling, eff)
}
