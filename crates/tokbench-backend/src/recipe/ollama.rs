//! `ollama serve` environment.
//!
//! Limits: Ollama serves every pulled model; the model is chosen per
//! request by name (the spec's `model` is not passed to the server and
//! must already be pulled: `ollama pull NAME`). The first request loads it,
//! so the first measured request includes the load unless the benchmark
//! warms up. `OLLAMA_CONTEXT_LENGTH` needs Ollama ≥ 0.5.13 (older versions
//! ignore it); `threads` is ignored (Ollama sets threads per request).
//! `OLLAMA_HOST` is read by both the server and the `ollama` CLI, so the
//! server listens exactly where health checks go. `ollama serve` takes no
//! options: tune it through `env` (e.g. `OLLAMA_FLASH_ATTENTION=1`,
//! `OLLAMA_KV_CACHE_TYPE=q8_0`), not `extra_args`.

use crate::LaunchSpec;

/// `OLLAMA_HOST=h:p OLLAMA_NUM_PARALLEL=N [OLLAMA_CONTEXT_LENGTH=C]`.
pub(super) fn env(spec: &LaunchSpec, port: u16) -> Vec<(String, String)> {
    let host = if spec.host.contains(':') && !spec.host.starts_with('[') {
        format!("[{}]:{port}", spec.host)
    } else {
        format!("{}:{port}", spec.host)
    };
    let mut e = vec![
        ("OLLAMA_HOST".to_owned(), host),
        ("OLLAMA_NUM_PARALLEL".to_owned(), spec.parallel.to_string()),
    ];
    if let Some(c) = spec.ctx_size {
        e.push(("OLLAMA_CONTEXT_LENGTH".to_owned(), c.to_string()));
    }
    e
}
