//! The server under test: launched by tokbench from a model file, or
//! attached to by URL. Either way the result is a [`Target`] carrying the
//! record's `model` and `backend` sections.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokbench_backend::{BackendInfo, BackendKind, BackendProcess, LaunchSpec};
use tokbench_client::{Client, ClientConfig};
use tokbench_gguf::{Hashing, ModelIdentity, Sha256Cache};
use tokbench_probe::{check_vram_fit, ComputeDevice, GpuMemoryReading, GpuProbe, VramFit};
use tokbench_record::{BackendSection, Experts, ModelSection};

/// A server ready to be measured.
pub struct Target {
    /// Streaming client bound to the server.
    pub client: Client,
    /// Model id sent in requests.
    pub model_id: String,
    /// Record section: model.
    pub model: ModelSection,
    /// Record section: backend.
    pub backend: BackendSection,
    /// The server process, when launched.
    pub process: Option<BackendProcess>,
    /// VRAM before/after the server start and the fit verdict.
    pub vram: VramCheck,
    /// Longest prompt + output one request may use, tokens, when known.
    pub context_per_request: Option<u64>,
    /// How this server can be asked not to reuse cached prompts.
    pub cache_control: CacheControl,
}

/// How a server can be asked not to serve prompts from its cache
/// (docs/methodology.md#prompt-cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheControl {
    /// Per request: llama.cpp's `cache_prompt: false` (llama-server and the
    /// built-in emulator accept it).
    RequestField,
    /// At launch: this flag turned the server's prefix cache off.
    LaunchFlag(&'static str),
    /// The server was launched with its prefix cache on, as asked.
    LaunchedWithCache,
    /// Nothing can be asked (Ollama, an unknown OpenAI-compatible server);
    /// what the server reports is still recorded.
    Unavailable,
}

impl CacheControl {
    /// The record's `run.prompts.cache_control` text, `None` when nothing
    /// was asked.
    pub fn describe(self) -> Option<String> {
        match self {
            CacheControl::RequestField => Some("cache_prompt: false".into()),
            CacheControl::LaunchFlag(flag) => Some(format!("{flag} (launch flag)")),
            CacheControl::LaunchedWithCache | CacheControl::Unavailable => None,
        }
    }

    /// The control launch mode uses for `kind`, given whether the user
    /// allowed prompt caching and the flags passed through.
    fn for_launch(kind: BackendKind, allowed: bool, extra_args: &[String]) -> Self {
        let user_set = |topic: &str| extra_args.iter().any(|a| a.contains(topic));
        match kind {
            BackendKind::LlamaCpp => CacheControl::RequestField,
            _ if allowed => CacheControl::LaunchedWithCache,
            BackendKind::Vllm if !user_set("prefix-caching") => {
                CacheControl::LaunchFlag("--no-enable-prefix-caching")
            }
            BackendKind::Sglang if !user_set("radix-cache") => {
                CacheControl::LaunchFlag("--disable-radix-cache")
            }
            _ => CacheControl::Unavailable,
        }
    }
}

/// GPU memory snapshots around the server start.
#[derive(Debug, Clone)]
pub struct VramCheck {
    /// Used bytes per GPU before the start.
    pub before: Vec<GpuMemoryReading>,
    /// Used bytes per GPU once healthy.
    pub after: Vec<GpuMemoryReading>,
    /// Verdict.
    pub fit: VramFit,
}

/// Settings of launch mode.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Which server.
    pub kind: BackendKind,
    /// Explicit server binary.
    pub binary: Option<PathBuf>,
    /// Flags passed through to the server.
    pub extra_args: Vec<String>,
    /// CPU threads (llama.cpp `--threads`).
    pub threads: usize,
    /// Context size; `None` = parallel × (largest prompt + output) + margin.
    pub ctx_size: Option<u64>,
    /// Port; `None` = a free one.
    pub port: Option<u16>,
    /// Parallel slots (≥ the largest concurrency).
    pub parallel: usize,
    /// Largest prompt + output of the selected shapes, tokens.
    pub max_request_tokens: u64,
    /// How long to wait for `/health`.
    pub health_timeout: Duration,
    /// Record a VRAM spill instead of refusing.
    pub allow_spill: bool,
    /// Reuse HTTP connections between requests.
    pub keep_alive: bool,
    /// Longest wait for the next bytes of a response.
    pub stall_timeout: Duration,
    /// Leave the server's automatic prefix caching on (vLLM, SGLang).
    pub prefix_caching: bool,
}

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
fn id_only_model(model_id: &str) -> ModelSection {
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
/// A missing, truncated or non-GGUF file, named with the offset.
pub fn inspect_model(path: &Path) -> anyhow::Result<ModelIdentity> {
    anyhow::ensure!(
        path.is_file(),
        "model file {} does not exist",
        path.display()
    );
    let id = match Sha256Cache::load_default() {
        Ok(mut cache) => {
            let id = tokbench_gguf::identify(path, Hashing::Cached(&mut cache));
            let _ = cache.save();
            id
        }
        Err(_) => tokbench_gguf::identify(path, Hashing::Uncached),
    };
    id.with_context(|| format!("could not read model file {}", path.display()))
}

/// The device a backend identity names; CPU when it names none.
fn compute_device(info: &BackendInfo) -> ComputeDevice {
    info.device
        .as_deref()
        .and_then(ComputeDevice::from_backend_name)
        .unwrap_or(ComputeDevice::Cpu)
}

fn backend_section(info: &BackendInfo, url: &str, launched: bool) -> BackendSection {
    BackendSection {
        name: info.kind.name().to_owned(),
        version: info.version.clone(),
        commit: info.commit.clone(),
        device: compute_device(info).as_str().to_owned(),
        url: url.to_owned(),
        launched,
        launch_command: None,
        parallel: info.total_slots,
        ctx_size: info.n_ctx,
        threads: None,
        flags: Vec::new(),
        build_info: info.build.clone(),
    }
}

/// Launches a server for `model_path` and checks that it fits in VRAM.
///
/// # Errors
/// Missing binary or model, port in use, server exiting or never healthy
/// (with its log tail), or a VRAM spill without `--allow-spill`.
pub async fn launch(
    model_path: &Path,
    opts: &LaunchOptions,
    log_path: &Path,
    gpus: &dyn GpuProbe,
) -> anyhow::Result<Target> {
    let identity = file_identity(opts.kind, model_path)?;
    let model_bytes = identity.as_ref().map_or(0, |i| i.file_size);
    let ctx = opts
        .ctx_size
        .unwrap_or(opts.parallel as u64 * (opts.max_request_tokens + 64));
    let mut spec = LaunchSpec::new(opts.kind, model_path, log_path);
    spec.parallel = opts.parallel;
    spec.ctx_size = Some(ctx);
    spec.threads = Some(opts.threads);
    spec.extra_args = opts.extra_args.clone();
    spec.binary = opts.binary.clone();
    spec.port = opts.port;
    spec.health_timeout = opts.health_timeout;
    spec.prefix_caching = opts.prefix_caching;
    let before = gpus.memory_snapshot();
    let process = BackendProcess::launch_healthy(spec).await?;
    let after = gpus.memory_snapshot();
    let info = process
        .identify()
        .await
        .unwrap_or_else(|_| BackendInfo::new(opts.kind));
    let mut backend = backend_section(&info, process.base_url(), true);
    let fit = match &identity {
        Some(_) => check_vram_fit(compute_device(&info), &before, &after, model_bytes),
        None => VramFit::NotApplicable {
            reason: "model given by id, not as a file: its size is unknown".into(),
        },
    };
    if let VramFit::Spill { message, .. } = &fit {
        anyhow::ensure!(opts.allow_spill, "{message}");
    }
    describe_launch(&mut backend, &process, opts, ctx);
    let mut cfg = ClientConfig::new(process.base_url());
    cfg.keep_alive = opts.keep_alive;
    cfg.stall_timeout = opts.stall_timeout;
    let client = Client::new(&cfg)?;
    let fallback_id = identity
        .as_ref()
        .map_or_else(|| model_path.display().to_string(), |i| i.file_name.clone());
    let model_id = first_model_id(&client).await.unwrap_or(fallback_id);
    let trained = identity
        .as_ref()
        .and_then(|i| i.context_length)
        .unwrap_or(u64::MAX);
    let per_request = (ctx / opts.parallel.max(1) as u64).min(trained);
    Ok(Target {
        client,
        model: match &identity {
            Some(i) => model_section(i, &model_id),
            None => id_only_model(&model_id),
        },
        model_id,
        backend,
        process: Some(process),
        vram: VramCheck { before, after, fit },
        context_per_request: Some(per_request),
        cache_control: CacheControl::for_launch(opts.kind, opts.prefix_caching, &opts.extra_args),
    })
}

/// The GGUF identity of the model: llama.cpp needs a file; vLLM, SGLang
/// and Ollama also take a model id (e.g. a hub name), which has none.
fn file_identity(kind: BackendKind, path: &Path) -> anyhow::Result<Option<ModelIdentity>> {
    if kind == BackendKind::LlamaCpp || path.is_file() {
        inspect_model(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Fills the launch facts of a backend section.
fn describe_launch(
    backend: &mut BackendSection,
    process: &BackendProcess,
    opts: &LaunchOptions,
    ctx: u64,
) {
    backend.launch_command = Some(process.launch_command());
    backend.parallel = Some(opts.parallel as u64);
    backend.ctx_size = backend.ctx_size.or(Some(ctx));
    backend.threads = Some(opts.threads as u64);
    backend.flags = tokbench_backend::redact::redact_args(&opts.extra_args);
}

/// The first model id of an OpenAI `/v1/models` answer.
fn listed_model_id(models: &serde_json::Value) -> Option<String> {
    models["data"][0]["id"].as_str().map(str::to_owned)
}

async fn first_model_id(client: &Client) -> Option<String> {
    listed_model_id(&client.get_json("/v1/models").await.ok()?)
}

/// Attaches to a running OpenAI-compatible server.
///
/// # Errors
/// An invalid or unreachable URL (named with its cause), or no model id.
pub async fn attach(cfg: &ClientConfig, model: Option<String>) -> anyhow::Result<Target> {
    let client = Client::new(cfg)?;
    let model_id = match model {
        Some(m) => m,
        None => {
            let v = client.get_json("/v1/models").await.with_context(|| {
                format!(
                    "could not list models at {} (pass --model to skip this)",
                    client.base_url()
                )
            })?;
            listed_model_id(&v).with_context(|| {
                format!(
                    "{}/v1/models lists no model; pass --model",
                    client.base_url()
                )
            })?
        }
    };
    let props = client.get_json("/props").await.ok();
    let info = props.clone().and_then(detect_backend);
    let mut backend = match &info {
        Some(i) => backend_section(i, client.base_url(), false),
        None => generic_backend(client.base_url()),
    };
    if let Some(props) = &props {
        let build = props["build_info"].as_str().unwrap_or_default();
        if let Some(version) = build.strip_prefix("tokbench-emulator") {
            backend.name = "tokbench-emulator".into();
            backend.version = Some(version.trim().to_owned());
            backend.device = "emulated".into();
        }
    }
    // llama.cpp's `default_generation_settings.n_ctx` is per slot already.
    let per_request = info.as_ref().and_then(|i| i.n_ctx);
    let cache_control = if info.is_some() || backend.name == "tokbench-emulator" {
        CacheControl::RequestField
    } else {
        CacheControl::Unavailable
    };
    Ok(Target {
        client,
        model: id_only_model(&model_id),
        model_id,
        backend,
        process: None,
        vram: VramCheck {
            before: Vec::new(),
            after: Vec::new(),
            fit: VramFit::NotApplicable {
                reason: "attached to a running server: no before/after snapshot".into(),
            },
        },
        context_per_request: per_request,
        cache_control,
    })
}

/// Recognises llama.cpp by its `/props` (`default_generation_settings`);
/// `None` for any other server (the built-in emulator included).
fn detect_backend(props: serde_json::Value) -> Option<BackendInfo> {
    props.get("default_generation_settings").is_some().then(|| {
        let mut info = BackendInfo::new(BackendKind::LlamaCpp);
        tokbench_backend::identity::apply_llama_props(&mut info, props);
        info
    })
}

fn generic_backend(url: &str) -> BackendSection {
    BackendSection {
        name: "openai-compatible".into(),
        version: None,
        commit: None,
        device: "unknown".into(),
        url: url.to_owned(),
        launched: false,
        launch_command: None,
        parallel: None,
        ctx_size: None,
        threads: None,
        flags: Vec::new(),
        build_info: None,
    }
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
