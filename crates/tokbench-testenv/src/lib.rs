//! Test-only helper: the one rule for tests that need set-up the
//! repository does not build, and where that set-up lives.
//!
//! Some tests need things from outside the workspace: `llama-server` and
//! the demo models (`scripts/setup`), chromium, node and playwright-core
//! (`scripts/install-browser`), `python3`. Such a test asks for each through
//! [`require`] (or a locator built on it: [`llama_server`], [`demo_model`],
//! [`program`]):
//!
//! - present: the test gets its path and runs;
//! - missing, under CI ([`in_ci`]: `CI` set to anything but empty, `0` or
//!   `false`): the test panics with `MISSING SET-UP: <what> (<how to get
//!   it>)`, so CI can never pass a test that did not run;
//! - missing, elsewhere: it prints `SKIP: <what> missing (<how>)` to stderr
//!   and gets `None`; the test returns early.
//!
//! [`CountingAlloc`] and [`measure`] check allocation bounds.
//!
//! ```no_run
//! #[test]
//! fn needs_the_server() {
//!     let Some(server) = tokbench_testenv::llama_server() else { return };
//!     // ... use `server`
//! }
//! ```

pub mod alloc;

pub use alloc::{measure, AllocStats, CountingAlloc};

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Start of the panic message for missing set-up under CI; `scripts/test`
/// collects these lines into its summary.
pub const MISSING: &str = "MISSING SET-UP";

/// The SmolLM2 135M Instruct demo model (Q4_1) installed by `scripts/setup`.
pub const SMOLLM2: &str = "smollm2-135m-instruct-q4_1.gguf";

/// The Gemma 3 270M demo model (Q4_K_M) installed by `scripts/setup`.
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

/// How to get what `scripts/setup` installs.
pub const HOW_SETUP: &str = "run scripts/setup";

/// How to get what `scripts/install-browser` installs.
pub const HOW_BROWSER: &str = "run scripts/install-browser";

/// Whether this process runs under CI: `CI` is set, non-empty, and not
/// `0` or `false` (any case).
pub fn in_ci() -> bool {
    ci_flag(std::env::var_os("CI").as_deref())
}

/// Whether a value of the `CI` variable means CI (see [`in_ci`]).
pub fn ci_flag(value: Option<&OsStr>) -> bool {
    let Some(v) = value else { return false };
    let v = v.to_string_lossy();
    let v = v.trim();
    !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
}

/// `found` when it is `Some`. When it is `None`: under CI a panic naming
/// `what` and `how` (to get it); elsewhere a `SKIP:` line on stderr and
/// `None`.
///
/// # Panics
/// When `found` is `None` and [`in_ci`] is true.
#[track_caller]
pub fn require<T>(what: &str, found: Option<T>, how: &str) -> Option<T> {
    require_in(in_ci(), what, found, how)
}

/// [`require`] with the CI decision given (for tests of the rule itself).
///
/// # Panics
/// When `found` is `None` and `ci` is true.
#[track_caller]
pub fn require_in<T>(ci: bool, what: &str, found: Option<T>, how: &str) -> Option<T> {
    if found.is_some() {
        return found;
    }
    assert!(!ci, "{MISSING}: {what} ({how}); CI must provide it");
    eprintln!("SKIP: {what} missing ({how})");
    None
}

/// Where `scripts/setup` keeps its cache: the one cache-folder rule of
/// [`tokbench_dirs::cache_root`] (`$TOKBENCH_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/tokbench`, else `~/.cache/tokbench`).
pub fn cache_dir() -> Option<PathBuf> {
    tokbench_dirs::cache_root()
}

/// Where the demo models are: `$TOKBENCH_MODELS_DIR`, else
/// [`cache_dir`]`/models`.
pub fn models_dir() -> Option<PathBuf> {
    std::env::var_os("TOKBENCH_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| cache_dir().map(|c| c.join("models")))
}

/// The newest `<root>/<version>/bin/llama-server` that is a file, versions
/// compared as dotted numbers (`11434.0.0` is newer than `9.0.0`).
pub fn newest_llama_server(root: &Path) -> Option<PathBuf> {
    let mut found: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter_map(|dir| {
            let bin = dir.join("bin/llama-server");
            let name = dir.file_name()?.to_string_lossy().into_owned();
            let version = name.split('.').map(|p| p.parse().unwrap_or(0)).collect();
            bin.is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Looks for llama-server as set-up placed it: `$TOKBENCH_LLAMA_SERVER`
/// when set (and then only there), else the newest build in
/// [`cache_dir`]`/llama.cpp`. `Err` says where it looked.
pub fn find_llama_server() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TOKBENCH_LLAMA_SERVER").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "TOKBENCH_LLAMA_SERVER={} is not a file",
                p.display()
            ))
        };
    }
    let Some(root) = cache_dir().map(|c| c.join("llama.cpp")) else {
        return Err("no cache folder (HOME unset)".to_owned());
    };
    newest_llama_server(&root).ok_or_else(|| format!("not in {}/*/bin/", root.display()))
}

/// llama-server per [`find_llama_server`], under the [`require`] rule.
///
/// # Panics
/// Under CI when it is missing.
#[track_caller]
pub fn llama_server() -> Option<PathBuf> {
    match find_llama_server() {
        Ok(p) => Some(p),
        Err(where_) => require(&format!("llama-server ({where_})"), None, HOW_SETUP),
    }
}

/// The demo model file `name` in [`models_dir`] (e.g. [`SMOLLM2`]), under
/// the [`require`] rule.
///
/// # Panics
/// Under CI when it is missing.
#[track_caller]
pub fn demo_model(name: &str) -> Option<PathBuf> {
    let path = models_dir().map(|d| d.join(name));
    let what = match &path {
        Some(p) => format!("demo model {}", p.display()),
        None => format!("demo model {name} (no models folder: HOME unset)"),
    };
    require(&what, path.filter(|p| p.is_file()), HOW_SETUP)
}

/// The first of `names` found as an executable file on `PATH`.
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find_map(|dir| names.iter().map(|n| dir.join(n)).find(|p| is_executable(p)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first of `names` on `PATH` (alternative names of one program, e.g.
/// `chromium`, `chromium-browser`), under the [`require`] rule; `how` says
/// how to install it.
///
/// # Panics
/// Under CI when none is found.
#[track_caller]
pub fn program(names: &[&str], how: &str) -> Option<PathBuf> {
    let what = format!("{} (not on PATH)", names.join(" or "));
    require(&what, find_program(names), how)
}

#[cfg(test)]
mod tests;
