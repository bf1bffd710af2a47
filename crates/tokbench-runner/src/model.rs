//! The record's model section: from a GGUF file's identity (family,
//! variant, quantisation, parameters, sha256) or, when only an id is known,
//! from the id.

use std::path::Path;

use tokbench_gguf::{Hashing, ModelIdentity, Sha256Cache};
use tokbench_record::{Experts, ModelSection};

use crate::RunError;

/// Fine-tune tags recognised in `general.finetune` or the file name.
const FINETUNE_TAGS: &[(&str, &str)] = &[
    ("instruct", "Instruct"),
    ("it", "it"),
    ("chat", "Chat"),
    ("base", "Base"),
    ("coder", "Coder"),
    ("thinking", "Thinking"),
    ("reasoning", "Reasoning"),
];

fn finetune_tag(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|word| {
            FINETUNE_TAGS
                .iter()
                .find(|(k, _)| *k == word)
                .map(|(_, v)| *v)
        })
}

/// `family` and `variant` from GGUF metadata: `general.basename` (else the
/// name, else the file stem), and the size label plus a recognised
/// fine-tune tag from `general.finetune` or the file name (`135M-Instruct`).
pub fn family_variant(id: &ModelIdentity) -> (String, String) {
    let stem = id.file_name.trim_end_matches(".gguf").to_owned();
    let family = id
        .basename
        .clone()
        .or_else(|| id.name.clone())
        .unwrap_or_else(|| stem.clone());
    let size = id.size_label.clone().unwrap_or_else(|| id.params.clone());
    let tag = id
        .finetune
        .as_deref()
        .and_then(finetune_tag)
        .or_else(|| finetune_tag(&stem));
    let variant = match tag {
        Some(t) => format!("{size}-{t}"),
        None => size,
    };
    (family, variant)
}

/// The record's model section from a GGUF identity.
pub fn model_section(id: &ModelIdentity, model_id: &str) -> ModelSection {
    let (family, variant) = family_variant(id);
    ModelSection {
        id: model_id.to_owned(),
        family,
        variant,
        architecture: id.architecture.clone(),
        quant: Some(id.quant.clone()),
        params: Some(id.parameter_count),
        params_label: Some(id.params.clone()),
        file_name: Some(id.file_name.clone()),
        file_bytes: Some(id.file_size),
        sha256: id.sha256.clone(),
        context_length: id.context_length,
        experts: match (id.expert_count, id.expert_used_count) {
            (Some(count), Some(used)) if count > 0 => Some(Experts { count, used }),
            _ => None,
        },
        tokenizer: id.tokenizer_model.clone(),
    }
}

/// The model section when only the model id is known (attach mode, or a
/// hub id given to vLLM/SGLang/Ollama): `org/name` becomes family `name`.
pub(crate) fn id_only_model(model_id: &str) -> ModelSection {
    ModelSection {
        id: model_id.to_owned(),
        family: model_id.rsplit('/').next().unwrap_or(model_id).to_owned(),
        variant: String::new(),
        architecture: None,
        quant: None,
        params: None,
        params_label: None,
        file_name: None,
        file_bytes: None,
        sha256: None,
        context_length: None,
        experts: None,
        tokenizer: None,
    }
}

/// Reads the GGUF identity (sha256 cached by path, size and mtime).
///
/// # Errors
/// [`RunError::ModelMissing`]; [`RunError::Model`] for a truncated or
/// non-GGUF file (named with the offset).
pub fn inspect_model(path: &Path) -> Result<ModelIdentity, RunError> {
    if !path.is_file() {
        return Err(RunError::ModelMissing {
            path: path.to_owned(),
        });
    }
    let id = match Sha256Cache::load_default() {
        Ok(mut cache) => {
            let id = tokbench_gguf::identify(path, Hashing::Cached(&mut cache));
            let _ = cache.save();
            id
        }
        Err(_) => tokbench_gguf::identify(path, Hashing::Uncached),
    };
    id.map_err(|source| RunError::Model {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(file: &str, basename: Option<&str>, finetune: Option<&str>) -> ModelIdentity {
        serde_json::from_value(serde_json::json!({
            "file_name": file, "file_size": 1, "params": "135M", "parameter_count": 1,
            "quant": "Q4_1", "quant_source": "file_type", "gguf_version": 3, "tensor_count": 1,
            "basename": basename, "finetune": finetune, "size_label": "135M"
        }))
        .unwrap()
    }

    #[test]
    fn variants_keep_recognised_tags_only() {
        let id = identity(
            "smollm2-135m-instruct-q4_1.gguf",
            Some("smollm2"),
            Some("8k-lc100k-mix1-ep2"),
        );
        assert_eq!(
            family_variant(&id),
            ("smollm2".into(), "135M-Instruct".into())
        );
        let id = identity("gemma-3-270m-it-q4_k_m.gguf", Some("gemma-3"), None);
        assert_eq!(family_variant(&id).1, "135M-it");
        let id = identity("model.gguf", None, Some("Chat"));
        assert_eq!(family_variant(&id), ("model".into(), "135M-Chat".into()));
        let id = identity("x-q4.gguf", Some("x"), None);
        assert_eq!(family_variant(&id).1, "135M");
    }
}
