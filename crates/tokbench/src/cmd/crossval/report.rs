//! The crossval report printed to stdout, and the `--min-identical`,
//! `--max-hard`, `--min-top1` bars.

use std::fmt::Write as _;

use tokbench_record::{
    Consistency, CrossvalPrompt, CrossvalRecord, CrossvalSummary, PromptVerdict,
};

use super::args::CrossvalArgs;

/// The report of a crossval record: headline, sides with their
/// self-consistency, then one line per prompt (and its divergence point).
pub fn render(rec: &CrossvalRecord) -> String {
    let mut out = String::new();
    let s = &rec.summary;
    let _ = writeln!(out, "crossval: {}", s.headline);
    for side in &rec.sides {
        let _ = writeln!(out, "  side {}: {}", side.label, side.description);
        if let Some(c) = &side.self_consistency {
            let _ = writeln!(out, "    self-consistency: {}", consistency_line(c));
        }
        if let Some(c) = &side.batch_invariance {
            let _ = writeln!(out, "    batch invariance: {}", consistency_line(c));
        }
    }
    let pct = s
        .top1_agreement
        .map_or("n/a".into(), |x| format!("{:.2}%", 100.0 * x));
    let kl = match (s.kl_mean_nats, s.kl_max_nats) {
        (Some(m), Some(x)) => format!(
            "mean {} nats, max {} nats over {} positions",
            nats(m),
            nats(x),
            s.kl_positions
        ),
        _ => "n/a (no shared top-k)".into(),
    };
    let _ = writeln!(
        out,
        "  top-1 agreement: {pct} ({}/{}); KL on shared top-k: {kl}",
        s.top1_agreed, s.top1_positions
    );
    for p in &rec.prompts {
        let _ = writeln!(out, "{}", prompt_line(p));
    }
    out
}

/// A KL value: `0` exactly, else 3 significant digits in scientific form.
fn nats(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

fn consistency_line(c: &Consistency) -> String {
    let mut line = format!("{}/{} identical at c={}", c.identical, c.of, c.concurrency);
    if !c.divergence_indices.is_empty() {
        let idx: Vec<String> = c.divergence_indices.iter().map(u64::to_string).collect();
        line.push_str(&format!(" (diverge at tokens {})", idx.join(", ")));
    }
    line
}

fn prompt_line(p: &CrossvalPrompt) -> String {
    let head = format!("  {:<14} {:>4}/{:<4} tokens", p.id, p.tokens_a, p.tokens_b);
    match (p.verdict, &p.divergence) {
        (PromptVerdict::TokenizationMismatch, _) => format!(
            "{head}  NOT COMPARED: {}",
            p.tokenization
                .note
                .as_deref()
                .unwrap_or("tokenization differs")
        ),
        (PromptVerdict::NotAnswered, _) => format!("{head}  NOT COMPARED: a side did not answer"),
        (_, None) => format!("{head}  identical"),
        (_, Some(d)) => {
            let gap = |g: Option<tokbench_record::Gap>| {
                g.map_or("?".into(), |g| {
                    format!("{}{:.3}", if g.exact { "" } else { "≥" }, g.nats)
                })
            };
            format!(
                "{head}  diverges at token {} ({:?}; gaps A {} B {} nats): …{}[A: {:?} | B: {:?}]",
                d.token_index,
                d.kind,
                gap(d.gap_a),
                gap(d.gap_b),
                // One line per prompt: newlines and tabs shown escaped.
                d.context_before.concat().escape_debug(),
                d.token_a.as_deref().unwrap_or("<end>"),
                d.token_b.as_deref().unwrap_or("<end>")
            )
        }
    }
}

/// The bars of `args` that `s` misses, one line each.
pub fn missed_bars(args: &CrossvalArgs, s: &CrossvalSummary) -> Vec<String> {
    let mut missed = Vec::new();
    if let Some(n) = args.min_identical {
        if s.identical < n {
            missed.push(format!(
                "identical {}/{} < --min-identical {n}",
                s.identical, s.prompts
            ));
        }
    }
    if let Some(n) = args.max_hard {
        if s.hard > n {
            missed.push(format!("hard divergences {} > --max-hard {n}", s.hard));
        }
    }
    if let Some(f) = args.min_top1 {
        match s.top1_agreement {
            Some(x) if x >= f => {}
            Some(x) => missed.push(format!("top-1 agreement {:.4} < --min-top1 {f}", x)),
            None => missed.push("top-1 agreement unknown (no compared position)".into()),
        }
    }
    missed
}
