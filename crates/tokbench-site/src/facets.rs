//! Filter facets of every result row of each family, embedded in the index
//! page as inert JSON (`<script type="application/json" id="facets">`).
//!
//! The index renders only the fastest rows of a family, so the script's
//! filters cannot see the others in the table. The facets let it count the
//! matches among *all* rows: per family, one dictionary per filter
//! (rig slugs, backend keys, quant keys, concurrency levels as the strings
//! of `data-c`, and the distinct sets of measured shapes, as indices into
//! the filter's shape order) and one tuple per distinct combination:
//! `[hw, backend, quant, c, shapes, count]`, each an index into its
//! dictionary, `count` the number of rows with that combination. Tuples
//! come in the family's row order (fastest first).

use std::collections::HashMap;

use serde::Serialize;

use crate::site::{Group, Site};

/// Facets of the rows of one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FamilyFacets {
    /// The family's page stem (its `<details>` has `id="family-<slug>"`).
    pub slug: String,
    /// Rig slugs (`data-hw`).
    pub hw: Vec<String>,
    /// Backend keys (`data-backend`).
    pub backend: Vec<String>,
    /// Quant keys (`data-quant`).
    pub quant: Vec<String>,
    /// Concurrency levels, as the strings of `data-c`.
    pub c: Vec<String>,
    /// Distinct sets of measured shapes: indices into the site's shapes.
    pub shape: Vec<Vec<usize>>,
    /// `[hw, backend, quant, c, shape, count]` per distinct combination.
    pub rows: Vec<[usize; 6]>,
}

/// A dictionary in first-seen order.
struct Dict<T> {
    items: Vec<T>,
    index: HashMap<T, usize>,
}

impl<T: Clone + Eq + std::hash::Hash> Dict<T> {
    fn new() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The index of `item`, added when new.
    fn id(&mut self, item: &T) -> usize {
        if let Some(&i) = self.index.get(item) {
            return i;
        }
        self.items.push(item.clone());
        self.index.insert(item.clone(), self.items.len() - 1);
        self.items.len() - 1
    }
}

/// Facets of every row of family `g`.
pub fn family_facets(site: &Site<'_>, g: &Group) -> FamilyFacets {
    let (mut hw, mut backend, mut quant) = (Dict::new(), Dict::new(), Dict::new());
    let (mut c, mut shape) = (Dict::new(), Dict::new());
    let mut rows: Vec<[usize; 6]> = Vec::new();
    let mut seen: HashMap<[usize; 5], usize> = HashMap::new();
    for &r in &g.rows {
        let row = &site.rows[r];
        let run = &site.runs[row.run];
        let shapes: Vec<usize> = (0..row.vals.len())
            .filter(|&i| row.vals[i].is_some())
            .collect();
        let key = [
            hw.id(&run.rig_slug),
            backend.id(&run.backend_key),
            quant.id(&run.quant_key),
            c.id(&row.conc.to_string()),
            shape.id(&shapes),
        ];
        match seen.get(&key) {
            Some(&i) => rows[i][5] += 1,
            None => {
                seen.insert(key, rows.len());
                rows.push([key[0], key[1], key[2], key[3], key[4], 1]);
            }
        }
    }
    FamilyFacets {
        slug: g.slug.clone(),
        hw: hw.items,
        backend: backend.items,
        quant: quant.items,
        c: c.items,
        shape: shape.items,
        rows,
    }
}

/// Facets of every family of the site, in index order.
pub fn index_facets(site: &Site<'_>) -> Vec<FamilyFacets> {
    site.families
        .iter()
        .map(|g| family_facets(site, g))
        .collect()
}

/// `value` as JSON that is safe inside a `<script>` element: `<`, `>` and
/// `&` are written as `\u003c`, `\u003e`, `\u0026` (the same string to a
/// JSON parser), so no value can close the element (`</script>`) or open a
/// comment (`<!--`). U+2028 and U+2029 are escaped too.
pub fn script_json<T: Serialize>(value: &T) -> String {
    // Cannot fail for plain data (strings, integers, sequences, structs).
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    let mut out = String::with_capacity(json.len());
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_element() {
        let hostile = vec![
            "</script><script>alert(1)</script>",
            "<!-- <script>",
            "a & b > c",
            "line\u{2028}sep",
        ];
        let json = script_json(&hostile);
        for bad in ['<', '>', '&', '\u{2028}'] {
            assert!(!json.contains(bad), "{bad:?} in {json}");
        }
        let back: Vec<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hostile);
    }

    #[test]
    fn dictionaries_keep_first_seen_order() {
        let mut d = Dict::new();
        assert_eq!(
            ["b", "a", "b", "c", "a"].map(|s| d.id(&s.to_owned())),
            [0, 1, 0, 2, 1]
        );
        assert_eq!(d.items, ["b", "a", "c"]);
    }
}
