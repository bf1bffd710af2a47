//! What to launch: [`LaunchSpec`].

use std::path::PathBuf;
use std::time::Duration;

use crate::{BackendError, BackendKind};

/// Default [`LaunchSpec::health_timeout`]: 300 s (a large model on a slow
/// disk, or vLLM's CUDA-graph capture, takes minutes).
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything needed to start one server.
///
/// How each field maps to each backend's command line is documented in
/// [`crate::recipe`]. Build one with [`LaunchSpec::new`] and set the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// Which server.
    pub kind: BackendKind,
    /// llama.cpp: path of a local `.gguf` file (checked before launch).
    /// vLLM / SGLang: a model id or local directory, passed through.
    /// Ollama: unused by the server (models are chosen per request by
    /// name and must have been pulled with `ollama pull`).
    pub model: PathBuf,
    /// Interface to listen on; default `127.0.0.1`. `0.0.0.0` exposes the
    /// server to the network (health checks still go to `127.0.0.1`).
    pub host: String,
    /// Port to listen on; `None` picks a free one by binding port 0.
    pub port: Option<u16>,
    /// Requests served concurrently (llama.cpp slots, vLLM/SGLang running
    /// requests, `OLLAMA_NUM_PARALLEL`); at least 1.
    pub parallel: usize,
    /// Context length in tokens; `None` keeps the server's default.
    /// llama.cpp: total KV cache, shared by the `parallel` slots.
    pub ctx_size: Option<u64>,
    /// CPU threads (llama.cpp `--threads` only; other backends ignore it).
    pub threads: Option<usize>,
    /// Extra arguments passed through verbatim after the generated ones
    /// (so a repeated flag overrides the generated value).
    pub extra_args: Vec<String>,
    /// Server binary; `None` resolves it (see [`crate::resolve`]).
    pub binary: Option<PathBuf>,
    /// File the server's stdout and stderr are appended to (parent
    /// directories are created).
    pub log_path: PathBuf,
    /// Extra environment for the server, applied after the recipe's own
    /// variables (so these win).
    pub env: Vec<(String, String)>,
    /// How long [`crate::BackendProcess::wait_healthy`] waits.
    pub health_timeout: Duration,
    /// Leave the server's automatic prefix caching on (vLLM, SGLang).
    /// `false` (the default) launches them with it off
    /// (`--no-enable-prefix-caching`, `--disable-radix-cache`) unless
    /// `extra_args` already say something about it, so that repeated or
    /// shared prompt prefixes cannot flatter prefill. llama.cpp is asked per
    /// request instead (`cache_prompt`); Ollama has no switch.
    pub prefix_caching: bool,
}

impl LaunchSpec {
    /// A spec with defaults: host `127.0.0.1`, free port, `parallel` 1,
    /// server defaults for context and threads, no extra arguments or
    /// environment, binary resolved, [`DEFAULT_HEALTH_TIMEOUT`].
    pub fn new(kind: BackendKind, model: impl Into<PathBuf>, log_path: impl Into<PathBuf>) -> Self {
        Self {
            kind,
            model: model.into(),
            host: "127.0.0.1".to_owned(),
            port: None,
            parallel: 1,
            ctx_size: None,
            threads: None,
            extra_args: Vec::new(),
            binary: None,
            log_path: log_path.into(),
            env: Vec::new(),
            health_timeout: DEFAULT_HEALTH_TIMEOUT,
            prefix_caching: false,
        }
    }

    /// Checks the fields that do not need the file system.
    ///
    /// # Errors
    /// [`BackendError::InvalidSpec`] for an empty host, `parallel` 0, a zero
    /// context size or thread count, or an empty model for a backend that
    /// needs one.
    pub fn validate(&self) -> Result<(), BackendError> {
        let invalid = |m: &str| Err(BackendError::InvalidSpec(m.to_owned()));
        if self.host.trim().is_empty() {
            return invalid("the host is empty; use 127.0.0.1");
        }
        if self.parallel == 0 {
            return invalid("parallel must be at least 1");
        }
        if self.ctx_size == Some(0) {
            return invalid("the context size must be at least 1 token (or unset)");
        }
        if self.threads == Some(0) {
            return invalid("threads must be at least 1 (or unset)");
        }
        if self.kind != BackendKind::Ollama && self.model.as_os_str().is_empty() {
            return invalid("no model given");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_each_bad_field() {
        let good = LaunchSpec::new(BackendKind::Vllm, "Qwen/Qwen2.5-0.5B", "/tmp/x.log");
        assert!(good.validate().is_ok());
        type Mutation = fn(&mut LaunchSpec);
        let cases: [(&str, Mutation); 5] = [
            ("host", |s| s.host = " ".into()),
            ("parallel", |s| s.parallel = 0),
            ("context", |s| s.ctx_size = Some(0)),
            ("threads", |s| s.threads = Some(0)),
            ("model", |s| s.model = PathBuf::new()),
        ];
        for (word, mutate) in cases {
            let mut s = good.clone();
            mutate(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(word), "{word}: {err}");
        }
    }

    #[test]
    fn ollama_needs_no_model() {
        let s = LaunchSpec::new(BackendKind::Ollama, "", "/tmp/x.log");
        assert!(s.validate().is_ok());
    }
}
