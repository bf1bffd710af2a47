//! What server is this: [`BackendInfo`] and [`identify`].

pub mod parse;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::health::{self, get_json};
use crate::template::TemplateEngine;
use crate::{BackendError, BackendKind};
use parse::{infer_device, parse_build_info, parse_device_list, parse_llama_version};

/// Longest wait for `llama-server --version` / `--help`.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// A server's identity, as recorded with benchmark results.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BackendInfo {
    /// Which server.
    pub kind: BackendKind,
    /// Version: llama.cpp build number (`"7100"`), vLLM/SGLang/Ollama
    /// release (`"0.6.3"`).
    pub version: Option<String>,
    /// Build description: compiler and target from `llama-server --version`
    /// (`"cc (Ubuntu 13.2.0) 13.2.0 for x86_64-linux-gnu"`), else `/props`
    /// `build_info`.
    pub build: Option<String>,
    /// Source commit (llama.cpp), e.g. `"a1b2c3d"`.
    pub commit: Option<String>,
    /// `"cpu"`, `"cuda"`, `"rocm"`, `"vulkan"` or `"metal"` when it can
    /// be told (see [`identify`]).
    pub device: Option<String>,
    /// Raw server properties: llama.cpp `/props`, SGLang
    /// `/get_server_info`, vLLM `/v1/models`.
    pub props: Option<Value>,
    /// Concurrent request slots (llama.cpp `total_slots`).
    pub total_slots: Option<u64>,
    /// Context length in tokens: per slot for llama.cpp
    /// (`default_generation_settings.n_ctx`), the model limit for vLLM
    /// (`max_model_len`).
    pub n_ctx: Option<u64>,
}

impl BackendInfo {
    /// An identity with only the kind known.
    pub fn new(kind: BackendKind) -> Self {
        Self {
            kind,
            version: None,
            build: None,
            commit: None,
            device: None,
            props: None,
            total_slots: None,
            n_ctx: None,
        }
    }
}

/// What [`identify`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct IdentifyInput<'a> {
    /// Which server to expect.
    pub kind: BackendKind,
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub base_url: &'a str,
    /// The server binary, to run `--version` (llama.cpp only); `None` skips it.
    pub binary: Option<&'a Path>,
    /// Environment for that run (e.g. `LD_LIBRARY_PATH`).
    pub env: &'a [(String, String)],
    /// The server log of this run, for [`parse::infer_device`].
    pub log_text: Option<&'a str>,
}

/// Identifies a running server.
///
/// llama.cpp: `binary --version` (optional; failures leave fields `None`)
/// and `GET /props`. vLLM: `GET /version` and `GET /v1/models`. SGLang:
/// `GET /get_server_info` (best effort) and `GET /v1/models`. Ollama:
/// `GET /api/version`. The device comes from the log text and the
/// `--version` output ([`parse::infer_device`]); for llama.cpp, when they
/// do not tell (newer builds log little by default), from
/// `binary --list-devices` ([`parse::parse_device_list`]). A GPU build run
/// with `-ngl 0` is then still reported as the GPU, unless its log says
/// `offloaded 0/N layers`.
///
/// # Errors
/// [`BackendError::Http`] when the kind's main endpoint (`/props`,
/// `/version`, `/v1/models` for SGLang, `/api/version`) cannot be read.
pub async fn identify(input: IdentifyInput<'_>) -> Result<BackendInfo, BackendError> {
    let kind = input.kind;
    let server = kind.name();
    let http = health::client(server, input.base_url)?;
    let base = input.base_url;
    let mut info = BackendInfo::new(kind);
    let mut device_text = input.log_text.unwrap_or_default().to_owned();
    match kind {
        BackendKind::LlamaCpp => {
            if let Some(text) = version_output(input).await {
                let v = parse_llama_version(&text);
                (info.version, info.commit, info.build) = (v.version, v.commit, v.build);
                device_text.push('\n');
                device_text.push_str(&text);
            }
            apply_llama_props(&mut info, get_json(&http, server, base, "/props").await?);
        }
        BackendKind::Vllm => {
            info.version = version_field(&get_json(&http, server, base, "/version").await?);
            apply_models(
                &mut info,
                get_json(&http, server, base, "/v1/models").await.ok(),
            );
        }
        BackendKind::Sglang => {
            let server_info = get_json(&http, server, base, "/get_server_info").await.ok();
            info.version = server_info.as_ref().and_then(version_field);
            let models = get_json(&http, server, base, "/v1/models").await?;
            apply_models(&mut info, Some(models));
            info.props = server_info.or(info.props);
        }
        BackendKind::Ollama => {
            info.version = version_field(&get_json(&http, server, base, "/api/version").await?);
        }
    }
    info.device = infer_device(&device_text).map(str::to_owned);
    if info.device.is_none() && kind == BackendKind::LlamaCpp {
        info.device = list_devices(input).await.map(str::to_owned);
    }
    Ok(info)
}

/// What is known of a running template engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateIdentity {
    /// The first non-empty line of the version command's output, without a
    /// leading `version:`.
    pub version: Option<String>,
    /// `"cpu"`, `"cuda"`, … when the log or the version output tells
    /// ([`parse::infer_device`]).
    pub device: Option<String>,
    /// The `/v1/models` answer, when it gave one.
    pub models: Option<Value>,
    /// `data[0].max_model_len` of `/v1/models`, when listed.
    pub n_ctx: Option<u64>,
}

/// Identifies a template engine: runs its version command (if any, with
/// `env` and the engine's variables, ≤ [`PROBE_TIMEOUT`]), reads
/// `/v1/models` (best effort) and infers the device from `log_text` and
/// the version output. Never fails: what cannot be read stays `None`.
pub async fn template_identity(
    engine: &TemplateEngine,
    base_url: &str,
    env: &[(String, String)],
    log_text: &str,
) -> TemplateIdentity {
    let mut out = TemplateIdentity::default();
    let mut device_text = log_text.to_owned();
    if let Some((program, args)) = engine
        .version_command
        .as_deref()
        .and_then(<[_]>::split_first)
    {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if let Some(text) = run_capture(Path::new(program), &args, env, PROBE_TIMEOUT).await {
            // `version: 0.6.0-dev (build …)` (llama.cpp's form) records as
            // `0.6.0-dev (build …)`.
            out.version = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| {
                    let l = l.strip_prefix("version:").map_or(l, str::trim);
                    l.to_owned()
                });
            device_text.push('\n');
            device_text.push_str(&text);
        }
    }
    if let Ok(http) = health::client(&engine.name, base_url) {
        let models = get_json(&http, &engine.name, base_url, "/v1/models")
            .await
            .ok();
        out.n_ctx = models
            .as_ref()
            .and_then(|m| m.pointer("/data/0/max_model_len"))
            .and_then(Value::as_u64);
        out.models = models;
    }
    out.device = infer_device(&device_text).map(str::to_owned);
    out
}

/// Fills `info` from llama.cpp's `/props` (`build_info`, `total_slots`,
/// `default_generation_settings.n_ctx`); keeps what `--version` found.
pub fn apply_llama_props(info: &mut BackendInfo, props: Value) {
    if let Some(build_info) = props.get("build_info").and_then(Value::as_str) {
        let (version, commit) = parse_build_info(build_info);
        info.version = info.version.take().or(version);
        info.commit = info.commit.take().or(commit);
        info.build = info.build.take().or_else(|| Some(build_info.to_owned()));
    }
    info.total_slots = props.get("total_slots").and_then(Value::as_u64);
    info.n_ctx = props
        .pointer("/default_generation_settings/n_ctx")
        .or_else(|| props.get("n_ctx"))
        .and_then(Value::as_u64);
    info.props = Some(props);
}

/// Fills `n_ctx` (`data[0].max_model_len`) and `props` from an
/// OpenAI `/v1/models` answer.
fn apply_models(info: &mut BackendInfo, models: Option<Value>) {
    if let Some(m) = models {
        info.n_ctx = m.pointer("/data/0/max_model_len").and_then(Value::as_u64);
        info.props = Some(m);
    }
}

fn version_field(v: &Value) -> Option<String> {
    v.get("version").and_then(Value::as_str).map(str::to_owned)
}

/// Output (stdout then stderr) of `binary --version`, `None` when it
/// cannot run or takes longer than [`PROBE_TIMEOUT`].
async fn version_output(input: IdentifyInput<'_>) -> Option<String> {
    run_capture(input.binary?, &["--version"], input.env, PROBE_TIMEOUT).await
}

/// [`parse_device_list`] over `binary --list-devices`.
async fn list_devices(input: IdentifyInput<'_>) -> Option<&'static str> {
    let text = run_capture(input.binary?, &["--list-devices"], input.env, PROBE_TIMEOUT).await?;
    parse_device_list(&text)
}

/// Runs `program args` with extra `env`, returns stdout followed by
/// stderr (lossy UTF-8) whatever the exit status; `None` when it cannot
/// start or outlives `timeout` (it is then killed).
pub(crate) async fn run_capture(
    program: &Path,
    args: &[&str],
    env: &[(String, String)],
    timeout: Duration,
) -> Option<String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .ok()?
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text)
}

#[cfg(test)]
mod tests;
