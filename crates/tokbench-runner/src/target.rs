//! The server under test: launched by tokbench from a model file, or
//! attached to by URL ([`TargetSpec`]). Either way the result is a
//! [`Target`] carrying the record's `model` and `backend` sections.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokbench_backend::{BackendInfo, BackendKind, BackendProcess, LaunchSpec, TemplateEngine};
use tokbench_client::Client;
use tokbench_gguf::ModelIdentity;
use tokbench_probe::{check_vram_fit, ComputeDevice, GpuMemoryReading, GpuProbe, VramFit};
use tokbench_record::{BackendSection, LoadTime, ModelSection};

use crate::model::{id_only_model, inspect_model, model_section};
use crate::plan::ClientSettings;
use crate::roofline::BandwidthSettings;
use crate::RunError;

/// Which server to measure: one tokbench launches from a model, or one
/// already running.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// Launch a backend for a model file (or, for vLLM/SGLang/Ollama, a
    /// model id).
    Launch {
        /// The model file or id.
        model: PathBuf,
        /// How to launch the backend.
        options: LaunchOptions,
    },
    /// Attach to a running OpenAI-compatible server.
    Attach {
        /// Base URL, e.g. `http://127.0.0.1:8080`.
        url: String,
        /// Model id to request; `None` = the first in `GET /v1/models`.
        model: Option<String>,
        /// Bearer token; never recorded.
        api_key: Option<String>,
    },
}

impl TargetSpec {
    /// The record's backend label before the server is known: the backend
    /// kind's name when launching, `server` when attaching.
    pub fn backend_label(&self) -> &str {
        match self {
            TargetSpec::Launch { options, .. } => match &options.template {
                Some(t) => &t.name,
                None => options.kind.name(),
            },
            TargetSpec::Attach { .. } => "server",
        }
    }

    /// The record's model label before the server is known: the file stem,
    /// else the `--model` id, else `model`.
    pub fn model_label(&self) -> String {
        match self {
            TargetSpec::Launch { model, .. } => model
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned()),
            TargetSpec::Attach { model, .. } => model.clone().unwrap_or_else(|| "model".into()),
        }
    }
}

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
    /// The model file's GGUF identity, when launched from one.
    pub identity: Option<ModelIdentity>,
}

impl Target {
    /// Stops the server's process group when tokbench launched it (a no-op
    /// when attached), waiting up to 10 s before killing it.
    ///
    /// # Errors
    /// The process could not be signalled or reaped.
    pub async fn stop(&mut self) -> Result<(), RunError> {
        if let Some(p) = self.process.as_mut() {
            p.stop(Duration::from_secs(10)).await?;
        }
        Ok(())
    }
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

/// Settings of launch mode that the user chooses.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Which server (ignored when [`LaunchOptions::template`] is set).
    pub kind: BackendKind,
    /// Launch this command-template engine instead of a built-in recipe
    /// (`binary` does not apply; the template names its program).
    pub template: Option<Box<TemplateEngine>>,
    /// Explicit server binary.
    pub binary: Option<PathBuf>,
    /// Flags passed through to the server.
    pub extra_args: Vec<String>,
    /// CPU threads (llama.cpp `--threads`); `None` = the rig's physical
    /// cores.
    pub threads: Option<usize>,
    /// Context size, tokens; `None` = parallel × (largest prompt + output
    /// + 25% + 64).
    pub ctx_size: Option<u64>,
    /// Port; `None` = a free one.
    pub port: Option<u16>,
    /// How long to wait for `/health`.
    pub health_timeout: Duration,
    /// Record a VRAM spill instead of refusing.
    pub allow_spill: bool,
    /// How the decode roofline's bandwidth is obtained.
    pub bandwidth: BandwidthSettings,
}

/// Launch settings that follow from the plan and the rig.
#[derive(Debug, Clone, Copy)]
pub struct LaunchSizing {
    /// Parallel slots (the largest concurrency).
    pub parallel: usize,
    /// Largest prompt + output of the plan's shapes plus 25% headroom
    /// (prompts are calibrated approximately), tokens.
    pub max_request_tokens: u64,
    /// CPU threads when [`LaunchOptions::threads`] is unset.
    pub default_threads: usize,
    /// Leave the server's automatic prefix caching on (vLLM, SGLang).
    pub prefix_caching: bool,
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
        load_time: None,
    }
}

/// Launches a server for `model_path` and checks that it fits in VRAM.
///
/// # Errors
/// Missing binary or model, port in use, server exiting or never healthy
/// (with its log tail, [`RunError::Backend`]), or a VRAM spill without
/// [`LaunchOptions::allow_spill`] ([`RunError::Spill`]).
pub async fn launch(
    model_path: &Path,
    opts: &LaunchOptions,
    sizing: &LaunchSizing,
    client: &ClientSettings,
    log_path: &Path,
    gpus: &dyn GpuProbe,
) -> Result<Target, RunError> {
    let identity = file_identity(opts, model_path)?;
    let spec = launch_spec(model_path, opts, sizing, log_path);
    let ctx = spec.ctx_size.unwrap_or_default();
    let before = gpus.memory_snapshot();
    let process = match &opts.template {
        Some(engine) => BackendProcess::launch_template_healthy(spec, (**engine).clone()).await?,
        None => BackendProcess::launch_healthy(spec).await?,
    };
    let after = gpus.memory_snapshot();
    let (mut backend, device) = launched_backend(&process, opts.kind, &before, &after).await;
    let fit = vram_fit(identity.as_ref(), device, &before, &after);
    if let VramFit::Spill { message, .. } = &fit {
        if !opts.allow_spill {
            return Err(RunError::Spill(message.clone()));
        }
    }
    describe_launch(&mut backend, &process, opts, sizing, ctx);
    let client = Client::new(&client.config(process.base_url(), None))?;
    let fallback_id = identity
        .as_ref()
        .map_or_else(|| model_path.display().to_string(), |i| i.file_name.clone());
    let model_id = first_model_id(&client).await.unwrap_or(fallback_id);
    let trained = identity
        .as_ref()
        .and_then(|i| i.context_length)
        .unwrap_or(u64::MAX);
    let cache_control = match opts.template {
        Some(_) => template_props(&client, &mut backend, sizing.prefix_caching).await,
        None => CacheControl::for_launch(opts.kind, sizing.prefix_caching, &opts.extra_args),
    };
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
        context_per_request: Some((ctx / sizing.parallel.max(1) as u64).min(trained)),
        cache_control,
        identity,
    })
}

/// The backend section of a launched server and the device its VRAM fit
/// is judged for: a recipe's identity ([`BackendProcess::identify`]), or
/// a template engine's (named by its engine name, version from its
/// version command, `build_info` saying it is a template backend; device
/// from its log or version output, else `cuda` when GPU memory rose during
/// its start ([`template_device_label`]), else `unknown`, judged as the CPU).
async fn launched_backend(
    process: &BackendProcess,
    kind: BackendKind,
    before: &[GpuMemoryReading],
    after: &[GpuMemoryReading],
) -> (BackendSection, ComputeDevice) {
    let Some(engine) = process.template() else {
        let info = process
            .identify()
            .await
            .unwrap_or_else(|_| BackendInfo::new(kind));
        return (
            backend_section(&info, process.base_url(), true),
            compute_device(&info),
        );
    };
    let id = process.template_identity().await.unwrap_or_default();
    let named = id
        .device
        .as_deref()
        .and_then(ComputeDevice::from_backend_name);
    let device = template_device(named, before, after);
    let mut section = generic_backend(process.base_url());
    section.name = engine.name.clone();
    section.version = id.version;
    section.device = template_device_label(named, device).to_owned();
    section.launched = true;
    section.ctx_size = id.n_ctx;
    section.build_info = Some(engine.build_info());
    (section, device)
}

/// What a template engine's `/props` tells, as in attach mode: an engine
/// that answers it as llama-server does (a llama-server behind a template,
/// or a server built on it) or as the built-in emulator does takes
/// llama.cpp's per-request `cache_prompt: false`, exactly as the built-in
/// recipe's requests do; a llama-server's per-slot context
/// (`default_generation_settings.n_ctx`, which it may round up from the
/// flag) replaces the requested one in `backend`, as for the built-in
/// recipe. Any other engine has no known control (docs/methodology.md#prompt-cache).
async fn template_props(
    client: &Client,
    backend: &mut BackendSection,
    cache_allowed: bool,
) -> CacheControl {
    let props = client.get_json("/props").await.ok();
    let (control, n_ctx) = template_cache_control(props, cache_allowed);
    if n_ctx.is_some() {
        backend.ctx_size = n_ctx;
    }
    control
}

/// [`template_props`]' decision from the `/props` answer (`None`: not
/// served): the cache control, and llama-server's per-slot context.
fn template_cache_control(
    props: Option<serde_json::Value>,
    cache_allowed: bool,
) -> (CacheControl, Option<u64>) {
    let control = props_cache_control(props.as_ref(), cache_allowed);
    let llama = props.and_then(detect_backend);
    (control, llama.and_then(|i| i.n_ctx))
}

/// How a server whose `/props` answered `props` (`None`: not served) can
/// be asked not to reuse cached prompts, in attach mode and for a template
/// engine alike: llama.cpp (recognised by [`detect_backend`]) and the
/// built-in emulator take the request field; any other server cannot be
/// asked ([`CacheControl::LaunchedWithCache`] when caching was allowed).
fn props_cache_control(props: Option<&serde_json::Value>, cache_allowed: bool) -> CacheControl {
    match (
        props.is_some_and(is_llama_props) || is_emulator(props),
        cache_allowed,
    ) {
        (true, _) => CacheControl::RequestField,
        (false, true) => CacheControl::LaunchedWithCache,
        (false, false) => CacheControl::Unavailable,
    }
}

/// The built-in emulator's `/props` (`build_info: "tokbench-emulator …"`).
fn is_emulator(props: Option<&serde_json::Value>) -> bool {
    props
        .and_then(|p| p["build_info"].as_str())
        .is_some_and(|b| b.starts_with(EMULATOR))
}

/// The backend crate's launch spec; the context size defaults to parallel
/// × (largest request + 64).
fn launch_spec(
    model_path: &Path,
    opts: &LaunchOptions,
    sizing: &LaunchSizing,
    log_path: &Path,
) -> LaunchSpec {
    let ctx = opts
        .ctx_size
        .unwrap_or(sizing.parallel as u64 * (sizing.max_request_tokens + 64));
    let mut spec = LaunchSpec::new(opts.kind, model_path, log_path);
    spec.parallel = sizing.parallel;
    spec.ctx_size = Some(ctx);
    spec.threads = Some(opts.threads.unwrap_or(sizing.default_threads));
    spec.extra_args = opts.extra_args.clone();
    spec.binary = opts.binary.clone();
    spec.port = opts.port;
    spec.health_timeout = opts.health_timeout;
    spec.prefix_caching = sizing.prefix_caching;
    spec
}

/// The device a template engine's VRAM fit is judged for: the one its
/// log or version output names; else a GPU when any GPU's used memory
/// rose during its start; else the CPU (no verdict).
fn template_device(
    named: Option<ComputeDevice>,
    before: &[GpuMemoryReading],
    after: &[GpuMemoryReading],
) -> ComputeDevice {
    let rose = after.iter().any(|a| {
        let b = before.iter().find(|b| b.index == a.index);
        matches!((a.used_bytes, b.and_then(|b| b.used_bytes)), (Some(x), Some(y)) if x > y)
    });
    named.unwrap_or(if rose {
        ComputeDevice::Cuda
    } else {
        ComputeDevice::Cpu
    })
}

/// A template engine's `backend.device`: the device it names; else `cuda`
/// when its start grew NVIDIA GPU memory ([`template_device`]); else
/// `unknown` (a CPU engine, or a GPU that NVML cannot see).
fn template_device_label(named: Option<ComputeDevice>, judged: ComputeDevice) -> &'static str {
    match (named, judged) {
        (Some(d), _) => d.as_str(),
        (None, ComputeDevice::Cuda) => ComputeDevice::Cuda.as_str(),
        (None, _) => "unknown",
    }
}

/// The VRAM-fit verdict of a launch (not applicable without a model file).
fn vram_fit(
    identity: Option<&ModelIdentity>,
    device: ComputeDevice,
    before: &[GpuMemoryReading],
    after: &[GpuMemoryReading],
) -> VramFit {
    match identity {
        Some(i) => check_vram_fit(device, before, after, i.file_size),
        None => VramFit::NotApplicable {
            reason: "model given by id, not as a file: its size is unknown".into(),
        },
    }
}

/// The GGUF identity of the model: llama.cpp needs a file; vLLM, SGLang
/// and Ollama also take a model id (e.g. a hub name), which has none. A
/// template engine's model is whatever its template passes on: a file
/// that is not GGUF has no identity either.
fn file_identity(opts: &LaunchOptions, path: &Path) -> Result<Option<ModelIdentity>, RunError> {
    if opts.template.is_some() {
        Ok(path.is_file().then(|| inspect_model(path).ok()).flatten())
    } else if opts.kind == BackendKind::LlamaCpp || path.is_file() {
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
    sizing: &LaunchSizing,
    ctx: u64,
) {
    backend.launch_command = Some(process.launch_command());
    backend.parallel = Some(sizing.parallel as u64);
    backend.ctx_size = backend.ctx_size.or(Some(ctx));
    backend.threads = Some(opts.threads.unwrap_or(sizing.default_threads) as u64);
    backend.flags = tokbench_backend::redact::redact_args(&opts.extra_args);
    backend.load_time = process.healthy_after().map(|d| LoadTime {
        healthy_s: d.as_secs_f64(),
        first_request_ttft_ms: None,
        first_token_s: None,
    });
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
pub async fn attach(
    url: &str,
    model: Option<String>,
    api_key: Option<String>,
    client: &ClientSettings,
) -> Result<Target, RunError> {
    let client = Client::new(&client.config(url, api_key))?;
    let model_id = match model {
        Some(m) => m,
        None => {
            let url = client.base_url().to_owned();
            let v = client
                .get_json("/v1/models")
                .await
                .map_err(|source| RunError::ListModels {
                    url: url.clone(),
                    source,
                })?;
            listed_model_id(&v).ok_or(RunError::NoModel { url })?
        }
    };
    let props = client.get_json("/props").await.ok();
    let info = props.clone().and_then(detect_backend);
    let backend = attached_backend(&client, info.as_ref(), props.as_ref());
    // llama.cpp's `default_generation_settings.n_ctx` is per slot already.
    let per_request = info.as_ref().and_then(|i| i.n_ctx);
    let cache_control = props_cache_control(props.as_ref(), false);
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
        identity: None,
    })
}

/// The backend name the built-in emulator is recorded under.
const EMULATOR: &str = "tokbench-emulator";

/// The backend section of an attached server: llama.cpp from its
/// `/props`, the built-in emulator from its `build_info`, else a generic
/// OpenAI-compatible server.
fn attached_backend(
    client: &Client,
    info: Option<&BackendInfo>,
    props: Option<&serde_json::Value>,
) -> BackendSection {
    let mut backend = match info {
        Some(i) => backend_section(i, client.base_url(), false),
        None => generic_backend(client.base_url()),
    };
    let build = props
        .and_then(|p| p["build_info"].as_str())
        .unwrap_or_default();
    if let Some(version) = build.strip_prefix(EMULATOR) {
        backend.name = EMULATOR.into();
        backend.version = Some(version.trim().to_owned());
        backend.device = "emulated".into();
    }
    backend
}

/// Recognises llama.cpp by its `/props` (`default_generation_settings`);
/// `None` for any other server (the built-in emulator included).
fn detect_backend(props: serde_json::Value) -> Option<BackendInfo> {
    is_llama_props(&props).then(|| {
        let mut info = BackendInfo::new(BackendKind::LlamaCpp);
        tokbench_backend::identity::apply_llama_props(&mut info, props);
        info
    })
}

/// llama.cpp's `/props`: it has `default_generation_settings`.
fn is_llama_props(props: &serde_json::Value) -> bool {
    props.get("default_generation_settings").is_some()
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
        load_time: None,
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
