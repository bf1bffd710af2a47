//! File names for pages: record strings never become paths directly.
//!
//! Every page path is built from [`slugify`]d components, which hold only
//! `[a-z0-9_-]`, so no record value (an id of `../../etc/passwd`, a rig
//! named `<script>`) can name a file outside the output directory or a
//! hidden file. [`UniqueNames`] keeps two records with the same slug apart.

use std::collections::HashSet;

/// Longest slug kept (before a uniqueness suffix).
pub const MAX_SLUG: usize = 80;

/// Lower-case ASCII slug of `s`: letters, digits and `_` kept, runs of
/// anything else become one `-`, leading/trailing `-` trimmed, at most
/// [`MAX_SLUG`] bytes; `fallback` when nothing is left. The result never
/// contains `.` or `/`, so it is always one safe path component.
pub fn slugify(s: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_SLUG));
    for c in s.chars() {
        if out.len() >= MAX_SLUG {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        fallback.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// True when `rel` is a relative site path made of slug-like components
/// (`[A-Za-z0-9_.-]`, not starting with `.`), joined with `/`.
pub fn is_safe_rel(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        })
}

/// Hands out unique slugs within one namespace (one output folder).
#[derive(Debug, Default)]
pub struct UniqueNames {
    used: HashSet<String>,
}

impl UniqueNames {
    /// The slug of `s` if still free, else with `-2`, `-3`, … appended.
    pub fn claim(&mut self, s: &str, fallback: &str) -> String {
        let base = slugify(s, fallback);
        if self.used.insert(base.clone()) {
            return base;
        }
        let mut n = 2u64;
        loop {
            let candidate = format!("{base}-{n}");
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// The last component of `path` as text (lossy UTF-8); empty when it has
/// none. Used for "Record: `<file>`" lines of run, crossval and sweep pages.
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_single_safe_components() {
        assert_eq!(
            slugify("SmolLM2 135M-Instruct", "x"),
            "smollm2-135m-instruct"
        );
        assert_eq!(slugify("../../etc/passwd", "x"), "etc-passwd");
        assert_eq!(slugify("..", "run"), "run");
        assert_eq!(
            slugify("<script>alert(1)</script>", "x"),
            "script-alert-1-script"
        );
        assert_eq!(slugify("Qwen2.5", "x"), "qwen2-5");
        assert_eq!(slugify("", "fallback"), "fallback");
        assert_eq!(slugify("Ünïcode—名前", "x"), "n-code");
        let long = "a".repeat(500);
        assert_eq!(slugify(&long, "x").len(), MAX_SLUG);
        for s in ["../x", "a/b", ".hidden", "\\..\\x", "\0"] {
            let slug = slugify(s, "x");
            assert!(is_safe_rel(&slug), "{slug}");
            assert!(!slug.contains(['/', '.', '\\']), "{slug}");
        }
    }

    #[test]
    fn safe_rel_rejects_escapes() {
        assert!(is_safe_rel("runs/a-b.html"));
        assert!(is_safe_rel("data/runs.csv"));
        for bad in [
            "", "../x", "a/../b", "/abs", "a//b", ".x", "a/.x", "a\\b", "a b",
        ] {
            assert!(!is_safe_rel(bad), "{bad}");
        }
    }

    #[test]
    fn unique_names_add_suffixes() {
        let mut u = UniqueNames::default();
        assert_eq!(u.claim("A b", "x"), "a-b");
        assert_eq!(u.claim("a-b", "x"), "a-b-2");
        assert_eq!(u.claim("A_B", "x"), "a_b");
        assert_eq!(u.claim("a b", "x"), "a-b-3");
        assert_eq!(u.claim("a-b-2", "x"), "a-b-2-2");
    }
}
