//! `tokbench inspect`: print the identity of GGUF model files (architecture,
//! name, quant, parameters, context, vocab, size, sha256) as YAML (default)
//! or JSON, read from the header only; the sha256 is cached in
//! `$CACHE/sha256-cache.json` (see [`tokbench_gguf::Sha256Cache`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tokbench_gguf::{identify, GgufError, Hashing, ModelIdentity, Sha256Cache};

/// Output format of `tokbench inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectFormat {
    /// YAML.
    Yaml,
    /// JSON, pretty-printed.
    Json,
}

/// Arguments of `tokbench inspect`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "One file prints one object; several print a list. A file that \
                        cannot be read is reported on stderr, the others are still \
                        printed, and the exit code is 1."
)]
pub struct InspectArgs {
    /// GGUF model files.
    #[arg(required = true, value_name = "FILE.gguf")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InspectFormat::Yaml)]
    pub format: InspectFormat,
    /// Skip the sha256 of the whole file (then only the header is read).
    #[arg(long)]
    pub no_hash: bool,
}

/// Runs `tokbench inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let mut cache = if args.no_hash {
        None
    } else {
        match Sha256Cache::load_default() {
            Ok(cache) => Some(cache),
            Err(e) => {
                eprintln!("warning: sha256 cache unavailable, hashing without it: {e}");
                None
            }
        }
    };
    let (ids, errors) = inspect_files(&args.files, !args.no_hash, cache.as_mut());
    if let Some(cache) = cache.as_mut() {
        if let Err(e) = cache.save() {
            eprintln!("warning: cannot save the sha256 cache: {e}");
        }
    }
    if !ids.is_empty() {
        print!("{}", render(&ids, args.format)?);
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Identifies each file (hashing when `hash`, through `cache` if given);
/// returns the identities read and the errors of the files that failed.
fn inspect_files(
    files: &[PathBuf],
    hash: bool,
    mut cache: Option<&mut Sha256Cache>,
) -> (Vec<ModelIdentity>, Vec<GgufError>) {
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match identify(file, hashing(hash, cache.as_deref_mut())) {
            Ok(id) => ids.push(id),
            Err(e) => errors.push(e),
        }
    }
    (ids, errors)
}

fn hashing(hash: bool, cache: Option<&mut Sha256Cache>) -> Hashing<'_> {
    match (hash, cache) {
        (false, _) => Hashing::Skip,
        (true, Some(cache)) => Hashing::Cached(cache),
        (true, None) => Hashing::Uncached,
    }
}

/// Renders one identity as an object, several as a list; ends with a newline.
fn render(ids: &[ModelIdentity], format: InspectFormat) -> anyhow::Result<String> {
    match (format, ids) {
        (InspectFormat::Yaml, [one]) => yaml(one),
        (InspectFormat::Yaml, many) => yaml(&many),
        (InspectFormat::Json, [one]) => json(one),
        (InspectFormat::Json, many) => json(&many),
    }
}

fn yaml<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    serde_saphyr::to_string(value).context("cannot render YAML")
}

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value).context("cannot render JSON")? + "\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;
    use tokbench_gguf::write::GgufWriter;
    use tokbench_gguf::{CacheStatus, GgmlType, MetaValue};

    fn tiny_model(dir: &Path, name: &str) -> PathBuf {
        let bytes = GgufWriter::new()
            .kv_str("general.architecture", "llama")
            .kv_str("general.name", "Tiny")
            .kv("general.file_type", MetaValue::U32(7))
            .kv("llama.context_length", MetaValue::U32(2048))
            .tensor("token_embd.weight", &[64, 16], GgmlType::Q8_0)
            .tensor("output_norm.weight", &[64], GgmlType::F32)
            .to_bytes();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn yaml_and_json_render_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let file = tiny_model(dir.path(), "tiny.gguf");
        let (ids, errors) = inspect_files(&[file], false, None);
        assert!(errors.is_empty());
        let yaml = render(&ids, InspectFormat::Yaml).unwrap();
        for line in [
            "file_name: tiny.gguf",
            "architecture: llama",
            "quant: Q8_0",
            "params: 1.1K",
        ] {
            assert!(
                yaml.lines().any(|l| l == line),
                "{line:?} missing in\n{yaml}"
            );
        }
        assert!(!yaml.contains("sha256"), "--no-hash leaves it out");
        let json: serde_json::Value =
            serde_json::from_str(&render(&ids, InspectFormat::Json).unwrap()).unwrap();
        assert_eq!(json["context_length"], 2048);
        assert_eq!(json["parameter_count"], 64 * 16 + 64);
    }

    #[test]
    fn several_files_render_as_a_list_and_bad_ones_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let a = tiny_model(dir.path(), "a.gguf");
        let bad = dir.path().join("bad.gguf");
        std::fs::write(&bad, b"GGML not really").unwrap();
        let b = tiny_model(dir.path(), "b.gguf");
        let (ids, errors) = inspect_files(&[a, bad, b], false, None);
        assert_eq!(ids.len(), 2);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("bad.gguf: not a GGUF file"));
        let json: Vec<ModelIdentity> =
            serde_json::from_str(&render(&ids, InspectFormat::Json).unwrap()).unwrap();
        assert_eq!(json, ids);
        let yaml = render(&ids, InspectFormat::Yaml).unwrap();
        assert_eq!(
            yaml.lines().filter(|l| l.starts_with("- ")).count(),
            2,
            "{yaml}"
        );
    }

    #[test]
    fn hashes_go_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let file = tiny_model(dir.path(), "tiny.gguf");
        let mut cache = Sha256Cache::load(&dir.path().join("cache.json")).unwrap();
        let (ids, _) = inspect_files(std::slice::from_ref(&file), true, Some(&mut cache));
        let sha = ids[0].sha256.clone().unwrap();
        assert_eq!(sha.len(), 64);
        assert_eq!(cache.sha256(&file).unwrap(), (sha, CacheStatus::Hit));
    }

    #[test]
    fn run_fails_with_exit_code_1_for_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("empty.gguf");
        std::fs::write(&bad, b"").unwrap();
        let args = InspectArgs {
            files: vec![bad],
            format: InspectFormat::Json,
            no_hash: true,
        };
        assert_eq!(run(args).unwrap(), ExitCode::from(1));
    }
}
