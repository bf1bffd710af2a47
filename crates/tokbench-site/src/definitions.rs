//! Column and metric definitions (`data/definitions.yaml`), the one place
//! the site's tooltips and metric labels come from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::SiteError;

const SOURCE: &str = include_str!("../data/definitions.yaml");

/// One defined column or metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Stable key (`gen`, `ttft_ms`).
    pub key: String,
    /// Short label for headers.
    pub label: String,
    /// Unit, when the value has one.
    #[serde(default)]
    pub unit: Option<String>,
    /// Section of the methodology page (`decode-tok-s`).
    #[serde(default)]
    pub anchor: Option<String>,
    /// Sentences quoted from `docs/methodology.md`.
    #[serde(default)]
    pub quote: Vec<String>,
    /// How the site shows the value.
    #[serde(default)]
    pub note: Option<String>,
    /// A definition not from the methodology (record fields).
    #[serde(default)]
    pub text: Option<String>,
}

impl Definition {
    /// The tooltip: quotes, then the site note, then any plain text.
    pub fn title(&self) -> String {
        let parts = self.quote.iter().chain(&self.note).chain(&self.text);
        parts.map(String::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Link to the methodology section, relative to the site root.
    pub fn href(&self) -> Option<String> {
        self.anchor
            .as_ref()
            .map(|a| format!("methodology.html#{a}"))
    }
}

/// Everything in `data/definitions.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    /// Table columns and summary statistics.
    pub columns: Vec<Definition>,
    /// Per-request metrics of a cell, in run-page order.
    pub metrics: Vec<Definition>,
    /// Cell-level values.
    pub cell_values: Vec<Definition>,
    /// Shape name → what it stresses; `default` for unknown shapes.
    pub shapes: BTreeMap<String, String>,
}

impl Definitions {
    /// The shipped definitions.
    ///
    /// # Errors
    /// [`SiteError::Definitions`] if the shipped file is malformed (a bug).
    pub fn builtin() -> Result<Self, SiteError> {
        let d: Definitions =
            serde_saphyr::from_str(SOURCE).map_err(|e| SiteError::Definitions(e.to_string()))?;
        for key in [
            "gen", "ttft", "prefill", "conc", "median", "p90", "p99", "ci",
        ] {
            if d.column(key).is_none() {
                return Err(SiteError::Definitions(format!("column {key} missing")));
            }
        }
        if !d.shapes.contains_key("default") {
            return Err(SiteError::Definitions("shape `default` missing".into()));
        }
        Ok(d)
    }

    /// The column definition named `key`.
    pub fn column(&self, key: &str) -> Option<&Definition> {
        self.columns.iter().find(|d| d.key == key)
    }

    /// The sentence for a workload shape (the `default` one when unknown).
    pub fn shape_sentence(&self, shape: &str) -> &str {
        self.shapes
            .get(&shape.to_ascii_lowercase())
            .or_else(|| self.shapes.get("default"))
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Methodology markdown as plain text: links reduced to their text,
    /// `*` and backticks removed, whitespace collapsed.
    fn plain(md: &str) -> String {
        let mut out = String::new();
        let mut rest = md;
        while let Some(open) = rest.find('[') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find("](").zip(after.find(']')) {
                Some((link, close)) if link == close => {
                    out.push_str(&after[..close]);
                    let target = &after[close + 2..];
                    rest = target.find(')').map_or("", |e| &target[e + 1..]);
                }
                _ => {
                    out.push('[');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        let out: String = out.chars().filter(|c| !matches!(c, '*' | '`')).collect();
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn every_quote_is_verbatim_from_the_methodology() {
        let doc = plain(crate::methodology::SOURCE);
        let d = Definitions::builtin().unwrap();
        let all = d.columns.iter().chain(&d.metrics).chain(&d.cell_values);
        let mut checked = 0;
        for def in all {
            for q in &def.quote {
                assert!(
                    doc.contains(q.as_str()),
                    "{}: not in methodology: {q}",
                    def.key
                );
                checked += 1;
            }
        }
        assert!(checked >= 25, "{checked}");
    }

    #[test]
    fn every_anchor_exists_in_the_methodology() {
        let d = Definitions::builtin().unwrap();
        for def in d.columns.iter().chain(&d.metrics).chain(&d.cell_values) {
            if let Some(a) = &def.anchor {
                let tag = format!("<a id=\"{a}\"></a>");
                assert!(
                    crate::methodology::SOURCE.contains(&tag),
                    "{}: #{a}",
                    def.key
                );
            }
        }
    }

    #[test]
    fn shape_sentences_fall_back() {
        let d = Definitions::builtin().unwrap();
        assert!(d.shape_sentence("RAG").contains("prefill dominates TTFT"));
        assert_eq!(d.shape_sentence("weird"), d.shapes["default"]);
        let gen = d.column("gen").unwrap();
        assert!(gen
            .title()
            .starts_with("decode_tok_s = (output_tokens − first_arrival_tokens)"));
        assert_eq!(gen.href().as_deref(), Some("methodology.html#decode-tok-s"));
    }
}
