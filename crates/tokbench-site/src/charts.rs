//! "Tok/s by workload": per (shape, concurrency), a ranked horizontal bar
//! chart of median gen tok/s, one bar per record, laid out here and drawn as
//! inline SVG by the `chart` macro of `templates/macros.html` (readable
//! without JavaScript; every label is escaped by the template engine).

use serde::Serialize;

use crate::definitions::Definitions;
use crate::format;
use crate::site::Site;

/// Chart width, px.
const WIDTH: u32 = 760;
/// Height of one bar row, px.
const ROW: u32 = 36;
/// Where bars start, px (labels sit left of it).
const BAR_X: u32 = 340;
/// Longest bar, px.
const BAR_MAX: u32 = 330;
/// Longest model label / meta line kept, characters.
const LABEL_CHARS: usize = 44;
const META_CHARS: usize = 56;

/// One bar.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// Top of the row, px.
    pub y: u32,
    /// Bar length, px.
    pub w: u32,
    /// `Family Variant` (shortened).
    pub label: String,
    /// `Quant · hardware · backend` (shortened).
    pub meta: String,
    /// Full label for the tooltip.
    pub title: String,
    /// The value, formatted.
    pub value: String,
    /// Run page stem.
    pub slug: String,
}

/// One chart.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Shape name.
    pub shape: String,
    /// Page stem of the shape's workload pages.
    pub shape_slug: String,
    /// Concurrency level.
    pub conc: u64,
    /// What the shape stresses.
    pub sentence: String,
    /// SVG width and height, px.
    pub width: u32,
    /// SVG height, px.
    pub height: u32,
    /// Bar start, px.
    pub bar_x: u32,
    /// Bars, fastest first.
    pub bars: Vec<Bar>,
    /// Records with a value for this shape at this level.
    pub total: usize,
}

impl Chart {
    /// The workload page of this chart, relative to the site root.
    pub fn page(shape_slug: &str, conc: u64) -> String {
        format!("workload/{shape_slug}-c{conc}.html")
    }
}

/// Page stem of a shape (shape names come from records).
pub fn shape_slug(shape: &str) -> String {
    crate::names::slugify(shape, "shape")
}

/// The chart of shape number `si` at concurrency `conc` (closed loop
/// only), at most `limit` bars.
pub fn chart(site: &Site<'_>, defs: &Definitions, si: usize, conc: u64, limit: usize) -> Chart {
    let shape = &site.shapes[si];
    let mut values: Vec<(f64, usize)> = site
        .rows
        .iter()
        .filter(|r| r.conc == conc && r.rate.is_none())
        .filter_map(|r| {
            let gen = r.vals[si].and_then(|v| v.gen)?;
            gen.is_finite().then_some((gen, r.run))
        })
        .collect();
    values.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| site.runs[a.1].id.cmp(&site.runs[b.1].id))
    });
    let total = values.len();
    let max = values.first().map_or(1.0, |v| v.0.max(f64::MIN_POSITIVE));
    let bars: Vec<Bar> = values
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, &(gen, run))| {
            let v = &site.runs[run];
            let meta = format!("{} · {} · {}", v.quant, v.hw_short, v.backend);
            Bar {
                y: i as u32 * ROW,
                w: ((gen / max) * f64::from(BAR_MAX)).round().max(1.0) as u32,
                label: shorten(&v.model_label, LABEL_CHARS),
                meta: shorten(&meta, META_CHARS),
                title: format!(
                    "{} — {meta} — {} tok/s",
                    v.model_label,
                    format::num(Some(gen))
                ),
                value: format!("{} tok/s", format::num(Some(gen))),
                slug: v.slug.clone(),
            }
        })
        .collect();
    Chart {
        shape: shape.clone(),
        shape_slug: shape_slug(shape),
        conc,
        sentence: defs.shape_sentence(shape).to_owned(),
        width: WIDTH,
        height: (bars.len() as u32 * ROW).max(ROW),
        bar_x: BAR_X,
        bars,
        total,
    }
}

/// `s` cut to `max` characters, with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ééééé", 3), "éé…");
    }
}
