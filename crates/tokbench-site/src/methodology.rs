//! The methodology page: `docs/methodology.md` rendered to HTML at build
//! time, so every tooltip's "more" link works from the static site.

use pulldown_cmark::{html, Options, Parser};

/// The methodology document (the repository's `docs/methodology.md`).
pub const SOURCE: &str = include_str!("../../../docs/methodology.md");

/// The document as HTML. Raw HTML in it (the `<a id>` anchors) is kept:
/// the document is part of tokbench, not of any record.
pub fn html() -> String {
    let parser = Parser::new_ext(SOURCE, Options::ENABLE_TABLES);
    let mut out = String::with_capacity(SOURCE.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
}
