//! Finding the server binary.
//!
//! Order: the explicit [`crate::LaunchSpec::binary`], then the kind's
//! environment variable ([`BackendKind::env_var`]), then `PATH`, then (for
//! llama.cpp only) the build that `scripts/setup` left in tokbench's cache:
//! `$CACHE/llama.cpp/<version>/bin/llama-server`, where `$CACHE` is
//! `$TOKBENCH_CACHE_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/tokbench`
//! ([`cache_dir_with`]), and `<version>` the highest version folder holding
//! an executable `llama-server` (versions compared number by number).
//!
//! | kind | on `PATH` | program run |
//! |---|---|---|
//! | llama.cpp | `llama-server` | `llama-server …` |
//! | vLLM | `vllm` | `vllm serve …` |
//! | SGLang | `python3` where `import sglang` resolves | `python3 -m sglang.launch_server …` |
//! | Ollama | `ollama` | `ollama serve` |
//!
//! An explicit binary or environment value without a `/` is looked up on
//! `PATH`; with one it must name an executable file. For SGLang both name a
//! Python interpreter. A value that does not resolve is an error (no silent
//! fall-through to `PATH`), so a typo is reported, not papered over.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{BackendError, BackendKind};

/// Where a binary was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinarySource {
    /// [`crate::LaunchSpec::binary`].
    Explicit,
    /// The named environment variable.
    EnvVar(&'static str),
    /// A `PATH` search.
    Path,
    /// The llama.cpp build of `scripts/setup` in tokbench's cache.
    SetupCache,
}

/// A resolved server program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedBinary {
    /// Absolute (or as-given) path of the program to execute.
    pub program: PathBuf,
    /// Arguments that come before the recipe's own, e.g.
    /// `["-m", "sglang.launch_server"]` for SGLang, `["serve"]` for vLLM.
    pub prefix_args: Vec<String>,
    /// How it was found.
    pub source: BinarySource,
}

/// Resolves the binary for `kind` using this process's environment.
///
/// # Errors
/// [`BackendError::BinaryNotFound`] with install instructions.
pub fn resolve_binary(
    kind: BackendKind,
    explicit: Option<&Path>,
) -> Result<ResolvedBinary, BackendError> {
    resolve_binary_with(kind, explicit, &|name| std::env::var_os(name))
}

/// Like [`resolve_binary`], reading environment variables (the kind's
/// variable and `PATH`) through `env` — for tests and for callers that
/// launch with a different environment.
///
/// # Errors
/// [`BackendError::BinaryNotFound`] with install instructions.
pub fn resolve_binary_with(
    kind: BackendKind,
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<ResolvedBinary, BackendError> {
    let path_var = env("PATH").unwrap_or_default();
    let not_found = |tried: String| BackendError::BinaryNotFound { kind, tried };
    let (program, source) = if let Some(given) = explicit {
        let found = lookup(given.as_os_str(), &path_var);
        let found = found.ok_or_else(|| not_found(describe_missing(given, "the given binary")))?;
        (found, BinarySource::Explicit)
    } else if let Some(value) = env(kind.env_var()).filter(|v| !v.is_empty()) {
        let what = format!("${}", kind.env_var());
        let found = lookup(&value, &path_var)
            .ok_or_else(|| not_found(describe_missing(Path::new(&value), &what)))?;
        (found, BinarySource::EnvVar(kind.env_var()))
    } else {
        match from_path(kind, &path_var) {
            Ok(found) => (found, BinarySource::Path),
            Err(e) => match from_setup_cache(kind, env) {
                Some(found) => (found, BinarySource::SetupCache),
                None => return Err(e),
            },
        }
    };
    Ok(ResolvedBinary {
        program,
        prefix_args: prefix_args(kind),
        source,
    })
}

fn from_path(kind: BackendKind, path_var: &OsStr) -> Result<PathBuf, BackendError> {
    let name = path_program(kind);
    let not_found = |tried: String| BackendError::BinaryNotFound { kind, tried };
    let found = find_in_path(name, path_var).ok_or_else(|| {
        let cache = if kind == BackendKind::LlamaCpp {
            " nor in tokbench's cache"
        } else {
            ""
        };
        not_found(format!(
            "${} is unset and {name:?} is not on PATH{cache}",
            kind.env_var()
        ))
    })?;
    if kind == BackendKind::Sglang && !python_has_module(&found, "sglang", path_var) {
        return Err(not_found(format!(
            "${} is unset and {} cannot import sglang",
            kind.env_var(),
            found.display()
        )));
    }
    Ok(found)
}

/// tokbench's cache root with environment variables read through `env`:
/// `$TOKBENCH_CACHE_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/tokbench`
/// (the one rule, [`tokbench_dirs::cache_root_with`]); `None` when none of
/// them is set.
pub fn cache_dir_with(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    tokbench_dirs::cache_root_with(env)
}

/// The `llama-server` that `scripts/setup` built: the highest version folder
/// under `$CACHE/llama.cpp` holding an executable `bin/llama-server`. Only
/// llama.cpp is built by set-up; other kinds give `None`.
fn from_setup_cache(kind: BackendKind, env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if kind != BackendKind::LlamaCpp {
        return None;
    }
    let root = cache_dir_with(env)?.join("llama.cpp");
    let mut builds: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(&root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let exe = entry.path().join("bin").join("llama-server");
            let version = entry.file_name().to_string_lossy().into_owned();
            is_executable(&exe).then(|| (version_key(&version), exe))
        })
        .collect();
    builds.sort();
    builds.pop().map(|(_, exe)| exe)
}

/// A version folder name as numbers for ordering (`11434.0.0` → `[11434, 0,
/// 0]`); a part that is not a number counts as 0.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['.', '-'])
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

fn describe_missing(given: &Path, what: &str) -> String {
    if given.components().count() > 1 {
        format!("{what} {} is not an executable file", given.display())
    } else {
        format!("{what} {:?} is not on PATH", given.display().to_string())
    }
}

/// The program name searched on `PATH` for `kind`.
pub fn path_program(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::LlamaCpp => "llama-server",
        BackendKind::Vllm => "vllm",
        BackendKind::Sglang => "python3",
        BackendKind::Ollama => "ollama",
    }
}

fn prefix_args(kind: BackendKind) -> Vec<String> {
    let args: &[&str] = match kind {
        BackendKind::LlamaCpp => &[],
        BackendKind::Vllm | BackendKind::Ollama => &["serve"],
        BackendKind::Sglang => &["-m", "sglang.launch_server"],
    };
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn lookup(given: &OsStr, path_var: &OsStr) -> Option<PathBuf> {
    let p = Path::new(given);
    if p.components().count() > 1 {
        is_executable(p).then(|| p.to_path_buf())
    } else {
        find_in_path(given, path_var)
    }
}

/// First executable file named `name` in the `:`-separated `path_var`.
pub fn find_in_path(name: impl AsRef<OsStr>, path_var: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name.as_ref()))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `python -c 'import importlib.util …'` finds `module` (without
/// importing it, so this is fast even for heavy packages).
pub fn python_has_module(python: &Path, module: &str, path_var: &OsStr) -> bool {
    let code = format!(
        "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module:?}) else 1)"
    );
    Command::new(python)
        .args(["-c", &code])
        .env("PATH", path_var)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests;
