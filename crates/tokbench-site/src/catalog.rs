//! The models catalog: family → display name and release month, shipped in
//! `catalog/models.yaml` and extendable with user files (`--catalog`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::SiteError;

/// The catalog shipped with tokbench.
const BUILTIN: &str = include_str!("../catalog/models.yaml");

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Canonical family name.
    pub family: String,
    /// Name shown on the site (default: `family`).
    pub display: Option<String>,
    /// Release month of the family, `YYYY-MM`.
    pub released: Option<String>,
    /// Publisher.
    pub org: Option<String>,
    /// Other names records may carry.
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl CatalogEntry {
    /// The name shown on the site.
    pub fn display_name(&self) -> &str {
        self.display.as_deref().unwrap_or(&self.family)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    models: Vec<CatalogEntry>,
}

/// Family lookup table.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    by_key: HashMap<String, usize>,
}

/// Lookup key: lower-case ASCII letters and digits only.
pub fn family_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Catalog {
    /// The shipped catalog.
    ///
    /// # Errors
    /// [`SiteError::Catalog`] if the shipped file is malformed (a bug).
    pub fn builtin() -> Result<Self, SiteError> {
        let mut c = Catalog::default();
        c.extend_from_str(BUILTIN, Path::new("<built-in catalog/models.yaml>"))?;
        Ok(c)
    }

    /// Adds (or overrides) the entries of a catalog file.
    ///
    /// # Errors
    /// [`SiteError::Io`] if it cannot be read, [`SiteError::Catalog`] naming
    /// the file and line if it is malformed.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), SiteError> {
        let text = std::fs::read_to_string(path).map_err(SiteError::io(path))?;
        self.extend_from_str(&text, path)
    }

    /// Adds (or overrides) the entries of catalog YAML `text`; `path` names
    /// it in errors.
    ///
    /// # Errors
    /// [`SiteError::Catalog`] naming the file and line.
    pub fn extend_from_str(&mut self, text: &str, path: &Path) -> Result<(), SiteError> {
        let err = |line, message| SiteError::Catalog {
            path: PathBuf::from(path),
            line,
            message,
        };
        let file: CatalogFile = serde_saphyr::from_str(text)
            .map_err(|e| err(e.location().map(|l| l.line()), e.to_string()))?;
        for entry in file.models {
            if let Some(r) = entry.released.as_deref().filter(|r| !is_month(r)) {
                return Err(err(
                    None,
                    format!("family {}: released {r:?} is not YYYY-MM", entry.family),
                ));
            }
            if family_key(&entry.family).is_empty() {
                return Err(err(
                    None,
                    format!("family {:?} has no letters or digits", entry.family),
                ));
            }
            let idx = self.entries.len();
            for name in std::iter::once(&entry.family).chain(&entry.aliases) {
                self.by_key.insert(family_key(name), idx);
            }
            self.entries.push(entry);
        }
        Ok(())
    }

    /// The entry for a record's family: by the whole name, then by the part
    /// after the last `/` (`Qwen/Qwen2.5`).
    pub fn lookup(&self, family: &str) -> Option<&CatalogEntry> {
        let tail = family.rsplit('/').next().unwrap_or(family);
        [family, tail]
            .into_iter()
            .find_map(|name| self.by_key.get(&family_key(name)))
            .and_then(|&i| self.entries.get(i))
    }
}

/// `YYYY-MM` with a month 01–12.
fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && matches!((b[5], b[6]), (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_loads_and_matches_loosely() {
        let c = Catalog::builtin().unwrap();
        let e = c.lookup("qwen2-5").unwrap();
        assert_eq!(
            (e.family.as_str(), e.released.as_deref()),
            ("Qwen2.5", Some("2024-09"))
        );
        assert_eq!(c.lookup("Qwen/Qwen2.5").unwrap().family, "Qwen2.5");
        assert_eq!(c.lookup("Meta-Llama-3.1").unwrap().family, "Llama-3.1");
        assert!(c.lookup("NoSuchModel").is_none());
    }

    #[test]
    fn user_entries_override_and_errors_name_file_and_line() {
        let mut c = Catalog::builtin().unwrap();
        let user = "models:\n  - family: SmolLM2\n    display: Smol LM 2\n    released: 2024-10\n";
        c.extend_from_str(user, Path::new("mine.yaml")).unwrap();
        assert_eq!(c.lookup("SmolLM2").unwrap().display_name(), "Smol LM 2");

        let bad = "models:\n  - family: X\n    colour: red\n";
        let e = c.extend_from_str(bad, Path::new("bad.yaml")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("catalog bad.yaml:"), "{msg}");
        assert!(msg.contains("colour"), "{msg}");

        let month = "models:\n  - family: X\n    released: 2024-13\n";
        let e = c.extend_from_str(month, Path::new("m.yaml")).unwrap_err();
        assert!(e.to_string().contains("not YYYY-MM"), "{e}");
    }
}
