//! Where tokbench keeps its caches, decided in one place.
//!
//! The rule, shared with `scripts/setup`: every cache lives in its own
//! folder (or file) below the **cache root**, which is
//!
//! - `$TOKBENCH_CACHE_DIR` when set and non-empty, else
//! - `$XDG_CACHE_HOME/tokbench` when `XDG_CACHE_HOME` is set and non-empty,
//!   else
//! - `~/.cache/tokbench` (`~` is `$HOME`, else the home directory the
//!   `dirs` crate finds).
//!
//! i.e. `${TOKBENCH_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/tokbench}`. An
//! empty variable counts as unset. The users, each below the root:
//! `site/` (the site's parse cache), `sha256-cache.json` (model hashes),
//! `llama.cpp/` and `models/` (what `scripts/setup` installs).

use std::ffi::OsString;
use std::path::PathBuf;

/// The variable that, when set, is the cache root itself.
pub const CACHE_DIR_VAR: &str = "TOKBENCH_CACHE_DIR";

/// The cache root of this process's environment (see the crate docs);
/// `None` when no home directory can be found either.
pub fn cache_root() -> Option<PathBuf> {
    cache_root_with(&|name| {
        std::env::var_os(name).or_else(|| {
            (name == "HOME")
                .then(dirs::home_dir)
                .flatten()
                .map(OsString::from)
        })
    })
}

/// `subdir` below [`cache_root`]: the folder (or file) of one cache.
pub fn cache_dir(subdir: &str) -> Option<PathBuf> {
    cache_root().map(|root| root.join(subdir))
}

/// The cache root with environment variables read through `env` (so the
/// rule can be tested, or applied to another process's environment).
pub fn cache_root_with(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var(CACHE_DIR_VAR)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("tokbench")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("tokbench")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(vars: &[(&str, &str)]) -> Option<PathBuf> {
        cache_root_with(&|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn override_then_xdg_then_home() {
        let all = [
            ("TOKBENCH_CACHE_DIR", "/o"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(root(&all), Some(PathBuf::from("/o")));
        assert_eq!(root(&all[1..]), Some(PathBuf::from("/x/tokbench")));
        assert_eq!(root(&all[2..]), Some(PathBuf::from("/h/.cache/tokbench")));
        assert_eq!(root(&[]), None);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let vars = [
            ("TOKBENCH_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", ""),
            ("HOME", "/h"),
        ];
        assert_eq!(root(&vars), Some(PathBuf::from("/h/.cache/tokbench")));
    }

    #[test]
    fn cache_dir_is_below_the_root() {
        let (Some(root), Some(dir)) = (cache_root(), cache_dir("site")) else {
            return;
        };
        assert_eq!(dir, root.join("site"));
    }
}
