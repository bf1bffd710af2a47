//! Backend recipes: how a swept parameter's value becomes the server's own
//! flags ([`flag_args`], [`config_args`]).
//!
//! | recipe | parameters |
//! |---|---|
//! | llama.cpp | `threads` `threads-batch` `batch-size` `ubatch-size` `ctx-size` `flash-attn` (on/off/auto) `cache-type-k` `cache-type-v` `n-gpu-layers` (`ngl`) `n-cpu-moe` `split-mode` `load-mode` `cont-batching` (on/off) |
//! | vLLM | `max-num-seqs` `max-num-batched-tokens` `gpu-memory-utilization` `tensor-parallel-size` `kv-cache-dtype` `enforce-eager` (on/off) `enable-chunked-prefill` (on/off) |
//! | template | any name: `--NAME VALUE`, or the backends file's spelling |
//!
//! Refused, because tokbench sets them itself: llama.cpp `parallel`
//! (from the concurrency), vLLM `max-model-len` (from `--ctx-size`).
//! llama.cpp `mlock` and `mmap` are refused too: current `llama-server`
//! builds (checked: build 11434) reject `--mlock` and `--no-mmap` and take
//! `--load-mode {auto,none,mmap,mlock,mmap+mlock,dio}` instead.
//!
//! Flag spellings were checked against `llama-server --help` (build 11434).
//! `threads`, `ctx-size` (llama.cpp) and `max-num-seqs` (vLLM) are flags
//! the recipes also set from the run's options; the swept value comes
//! later on the command line, and both servers take the last one.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::SweepError;
use crate::space::Config;

/// Whose flags a parameter maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipe {
    /// llama.cpp's `llama-server`.
    LlamaCpp,
    /// vLLM's `vllm serve`.
    Vllm,
    /// A command-template engine: `--NAME VALUE`, unless `flags` maps the
    /// name to another spelling (the backends file's `flags:`; e.g.
    /// `kappa` → `--kappa-value`).
    Template {
        /// Parameter name → flag spelling.
        flags: BTreeMap<String, String>,
    },
}

impl fmt::Display for Recipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Recipe::LlamaCpp => "llama.cpp",
            Recipe::Vllm => "vLLM",
            Recipe::Template { .. } => "the template engine",
        })
    }
}

/// How one known parameter becomes flags.
#[derive(Debug, Clone, Copy)]
enum Map {
    /// `FLAG VALUE`, any value.
    Value(&'static str),
    /// `FLAG VALUE`, the value one of the list.
    OneOf(&'static str, &'static [&'static str]),
    /// `on` → the first (if any), `off` → the second (if any).
    Switch(Option<&'static str>, Option<&'static str>),
    /// Not sweepable; the reason.
    Refused(&'static str),
}

const LLAMA_CPP: &[(&str, Map)] = &[
    ("threads", Map::Value("--threads")),
    ("threads-batch", Map::Value("--threads-batch")),
    ("batch-size", Map::Value("--batch-size")),
    ("ubatch-size", Map::Value("--ubatch-size")),
    ("ctx-size", Map::Value("--ctx-size")),
    (
        "flash-attn",
        Map::OneOf("--flash-attn", &["on", "off", "auto"]),
    ),
    ("cache-type-k", Map::Value("--cache-type-k")),
    ("cache-type-v", Map::Value("--cache-type-v")),
    ("n-gpu-layers", Map::Value("--n-gpu-layers")),
    ("ngl", Map::Value("--n-gpu-layers")),
    ("n-cpu-moe", Map::Value("--n-cpu-moe")),
    (
        "split-mode",
        Map::OneOf("--split-mode", &["none", "layer", "row", "tensor"]),
    ),
    (
        "load-mode",
        Map::OneOf(
            "--load-mode",
            &["auto", "none", "mmap", "mlock", "mmap+mlock", "dio"],
        ),
    ),
    (
        "cont-batching",
        Map::Switch(Some("--cont-batching"), Some("--no-cont-batching")),
    ),
    (
        "parallel",
        Map::Refused("tokbench sets --parallel from the concurrency (-c); sweep -c 1,4,16 instead"),
    ),
    (
        "mlock",
        Map::Refused(
            "llama-server no longer has --mlock; sweep load-mode=mmap,mlock,mmap+mlock instead",
        ),
    ),
    (
        "mmap",
        Map::Refused("llama-server no longer has --no-mmap; sweep load-mode=mmap,none instead"),
    ),
];

const VLLM: &[(&str, Map)] = &[
    ("max-num-seqs", Map::Value("--max-num-seqs")),
    (
        "max-num-batched-tokens",
        Map::Value("--max-num-batched-tokens"),
    ),
    (
        "gpu-memory-utilization",
        Map::Value("--gpu-memory-utilization"),
    ),
    ("tensor-parallel-size", Map::Value("--tensor-parallel-size")),
    ("kv-cache-dtype", Map::Value("--kv-cache-dtype")),
    ("enforce-eager", Map::Switch(Some("--enforce-eager"), None)),
    (
        "enable-chunked-prefill",
        Map::Switch(
            Some("--enable-chunked-prefill"),
            Some("--no-enable-chunked-prefill"),
        ),
    ),
    (
        "max-model-len",
        Map::Refused("tokbench sets --max-model-len from --ctx-size; sweep that instead"),
    ),
];

impl Recipe {
    /// The parameter names this recipe can sweep, in table order; empty
    /// for a template (it takes any name).
    pub fn known_params(&self) -> Vec<String> {
        (self.table().iter())
            .filter(|(_, m)| !matches!(m, Map::Refused(_)))
            .map(|(n, _)| (*n).to_owned())
            .collect()
    }

    fn table(&self) -> &'static [(&'static str, Map)] {
        match self {
            Recipe::LlamaCpp => LLAMA_CPP,
            Recipe::Vllm => VLLM,
            Recipe::Template { .. } => &[],
        }
    }
}

/// The server arguments that set parameter `name` to `value` under
/// `recipe`: e.g. llama.cpp `threads=4` → `["--threads", "4"]`,
/// `cont-batching=off` → `["--no-cont-batching"]`, vLLM
/// `enforce-eager=off` → `[]`.
///
/// # Errors
/// [`SweepError::UnknownParam`] listing the names the recipe knows,
/// [`SweepError::Refused`] for parameters tokbench sets itself,
/// [`SweepError::BadValue`] for a value the flag does not take.
pub fn flag_args(recipe: &Recipe, name: &str, value: &str) -> Result<Vec<String>, SweepError> {
    if let Recipe::Template { flags } = recipe {
        let flag = flags
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("--{name}"));
        return Ok(vec![flag, value.to_owned()]);
    }
    let map = (recipe.table().iter())
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
        .ok_or_else(|| SweepError::UnknownParam {
            name: name.to_owned(),
            recipe: recipe.to_string(),
            known: recipe.known_params(),
        })?;
    let bad_value = |allowed: &[&str]| SweepError::BadValue {
        name: name.to_owned(),
        value: value.to_owned(),
        recipe: recipe.to_string(),
        allowed: allowed.iter().map(|a| (*a).to_owned()).collect(),
    };
    match map {
        Map::Value(flag) => Ok(vec![flag.to_owned(), value.to_owned()]),
        Map::OneOf(flag, allowed) if allowed.contains(&value) => {
            Ok(vec![flag.to_owned(), value.to_owned()])
        }
        Map::OneOf(_, allowed) => Err(bad_value(allowed)),
        Map::Switch(on, off) => match value {
            "on" => Ok(on.map(str::to_owned).into_iter().collect()),
            "off" => Ok(off.map(str::to_owned).into_iter().collect()),
            _ => Err(bad_value(&["on", "off"])),
        },
        Map::Refused(reason) => Err(SweepError::Refused {
            name: name.to_owned(),
            recipe: recipe.to_string(),
            reason: reason.to_owned(),
        }),
    }
}

/// All the server arguments of `config` under `recipe`, parameter by
/// parameter in the configuration's order.
///
/// # Errors
/// The first error of [`flag_args`].
pub fn config_args(recipe: &Recipe, config: &Config) -> Result<Vec<String>, SweepError> {
    let mut out = Vec::new();
    for (name, value) in &config.values {
        out.extend(flag_args(recipe, name, value)?);
    }
    Ok(out)
}

/// Checks every parameter of every configuration against `recipe` before
/// anything is launched.
///
/// # Errors
/// The first error of [`flag_args`].
pub fn check_configs(recipe: &Recipe, configs: &[Config]) -> Result<(), SweepError> {
    configs
        .iter()
        .try_for_each(|c| config_args(recipe, c).map(|_| ()))
}

#[cfg(test)]
mod tests;
