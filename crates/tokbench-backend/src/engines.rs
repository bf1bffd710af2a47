//! Backends files: engines named once, launched by name
//! ([`read_engines`], [`EnginesFile::engine`]). Read with serde-saphyr, so
//! that every error names the file and line.
//!
//! ```yaml
//! engines:
//!   my-engine:
//!     command: my-engine serve --model {model} --host {host} --port {port} {args}
//!     health: {http: /ready}          # or {models: true}, or {log: "listening on"}; default GET /health
//!     version: my-engine --version    # optional; its first non-empty line is the version
//!     env: {MY_ENGINE_CACHE: /tmp/cache}
//!     flags: {kappa: --kappa-value}   # optional; `tokbench sweep --set kappa=…` passes --kappa-value
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::template::{CommandTemplate, TemplateEngine, TemplateHealth};

/// A backends file that cannot be used: unreadable, broken YAML, an
/// unknown field, a bad template or health check, an unknown engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), at_line(*line))]
pub struct EnginesFileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when none applies, e.g. an unreadable file).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The engines of a backends file, by name.
#[derive(Debug, Clone)]
pub struct EnginesFile {
    /// The file they were read from.
    pub path: PathBuf,
    /// The engines, by name.
    pub engines: BTreeMap<String, TemplateEngine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    engines: Spanned<BTreeMap<String, RawEngine>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    command: Spanned<String>,
    health: Option<Spanned<RawHealth>>,
    version: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    flags: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    http: Option<String>,
    models: Option<bool>,
    log: Option<String>,
}

/// `:LINE`, or nothing for line 0 (no line applies).
fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

type Located<T> = Result<T, (usize, String)>;

fn line_of<T>(s: &Spanned<T>) -> usize {
    s.referenced.line() as usize
}

/// Reads and checks a backends file.
///
/// # Errors
/// [`EnginesFileError`] naming the file and line.
pub fn read_engines(path: &Path) -> Result<EnginesFile, EnginesFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| EnginesFileError {
        path: path.to_owned(),
        line: 0,
        message: format!("cannot read the backends file: {e}"),
    })?;
    parse_engines(&text, path)
}

/// Parses a backends file; `path` names the file in errors and in each
/// engine's origin.
///
/// # Errors
/// As [`read_engines`].
pub fn parse_engines(text: &str, path: &Path) -> Result<EnginesFile, EnginesFileError> {
    let err = |line, message| EnginesFileError {
        path: path.to_owned(),
        line,
        message,
    };
    let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line() as usize);
        err(line, e.to_string().lines().next().unwrap_or("").to_owned())
    })?;
    if raw.engines.value.is_empty() {
        return Err(err(
            line_of(&raw.engines),
            "`engines` names no engine".into(),
        ));
    }
    let origin = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let engines = (raw.engines.value.into_iter())
        .map(|(name, e)| {
            let engine = engine(name.clone(), e, &origin).map_err(|(l, m)| err(l, m))?;
            Ok((name, engine))
        })
        .collect::<Result<_, EnginesFileError>>()?;
    Ok(EnginesFile {
        path: path.to_owned(),
        engines,
    })
}

fn engine(name: String, raw: RawEngine, origin: &str) -> Located<TemplateEngine> {
    let command = CommandTemplate::parse(&raw.command.value)
        .map_err(|e| (line_of(&raw.command), format!("engine {name}: {e}")))?;
    let health = match raw.health {
        Some(h) => health(&h).map_err(|(l, m)| (l, format!("engine {name}: {m}")))?,
        None => TemplateHealth::default(),
    };
    let version_command = match raw.version {
        Some(v) => Some(shlex::split(&v.value).filter(|w| !w.is_empty()).ok_or((
            line_of(&v),
            format!("engine {name}: the version command cannot be split into words"),
        ))?),
        None => None,
    };
    let flag_spellings = flags(raw.flags).map_err(|(l, m)| (l, format!("engine {name}: {m}")))?;
    Ok(TemplateEngine {
        name,
        command,
        health,
        version_command,
        env: raw.env.into_iter().collect(),
        origin: origin.to_owned(),
        flag_spellings,
    })
}

/// Checks a `flags:` map: names `[a-z0-9_-]+`, spellings one word that
/// starts with `-`.
fn flags(raw: BTreeMap<String, Spanned<String>>) -> Located<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, spelling) in raw {
        let line = line_of(&spelling);
        let name_ok =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if name.is_empty() || !name.chars().all(name_ok) {
            return Err((
                line,
                format!("flags: the parameter name {name:?} may only use a-z, 0-9, _ and -"),
            ));
        }
        let flag = spelling.value;
        if !flag.starts_with('-') || flag.chars().any(char::is_whitespace) {
            return Err((
                line,
                format!("flags: {name}: the spelling {flag:?} must be one word starting with -, e.g. --{name}"),
            ));
        }
        out.insert(name, flag);
    }
    Ok(out)
}

fn health(h: &Spanned<RawHealth>) -> Located<TemplateHealth> {
    let line = line_of(h);
    let raw = &h.value;
    let given = [
        raw.http.is_some(),
        raw.models == Some(true),
        raw.log.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err((
            line,
            "health needs exactly one of http: PATH, models: true, log: PATTERN".into(),
        ));
    }
    if let Some(path) = &raw.http {
        if !path.starts_with('/') {
            return Err((line, format!("health http path {path:?} must start with /")));
        }
        return Ok(TemplateHealth::Http { path: path.clone() });
    }
    match &raw.log {
        Some(pattern) => TemplateHealth::log_line(pattern).map_err(|e| (line, e.to_string())),
        None => Ok(TemplateHealth::ModelListed),
    }
}

impl EnginesFile {
    /// The engine called `name`.
    ///
    /// # Errors
    /// [`EnginesFileError`] (line 0) listing the names the file has.
    pub fn engine(&self, name: &str) -> Result<&TemplateEngine, EnginesFileError> {
        self.engines.get(name).ok_or_else(|| EnginesFileError {
            path: self.path.clone(),
            line: 0,
            message: format!(
                "no engine {name:?}; the file names {}",
                self.engines.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests;
