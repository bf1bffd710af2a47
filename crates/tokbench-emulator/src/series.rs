//! Names, help texts and histogram bounds of each engine's series, as the
//! real servers export them (help texts without the `.` that
//! `prometheus-client` appends). Counter names are given without `_total`,
//! which the encoder appends.
//!
//! Sources: llama.cpp `server_task_result_metrics::to_metrics`
//! (`tools/server/server-task.cpp`); vLLM `vllm/v1/metrics/loggers.py`;
//! SGLang `python/sglang/srt/metrics/collector.py`.

/// vLLM's time-to-first-token bounds, seconds.
pub const VLLM_TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/// vLLM's inter-token-latency bounds, seconds.
pub const VLLM_ITL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
/// vLLM's request-latency bounds (e2e, queue, prefill, decode,
/// inference), seconds.
pub const VLLM_REQUEST_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];
/// SGLang's time-to-first-token bounds, seconds.
pub const SGLANG_TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    15.0, 20.0, 25.0, 30.0,
];
/// SGLang's end-to-end latency bounds, seconds.
pub const SGLANG_E2E_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 90.0, 120.0, 150.0,
    180.0, 210.0, 240.0, 270.0, 300.0, 360.0, 420.0, 480.0, 540.0, 600.0,
];

/// `(name, help)` of llama.cpp's counters, in llama-server's order.
pub(crate) const LLAMACPP_COUNTERS: [(&str, &str); 7] = [
    ("prompt_tokens", "Number of prompt tokens processed, excluding cached tokens"),
    ("prompt_tokens_cached", "Number of prompt tokens reused from the cache"),
    ("tokens_predicted", "Number of generation tokens processed"),
    ("n_decode", "Total number of llama_decode() calls, excluding speculative decoding and multimodal decoding"),
    ("spec_decode_num_draft_tokens", "Speculative: Total draft tokens generated"),
    ("spec_decode_num_accepted_tokens", "Speculative: Total draft tokens accepted by the target model"),
    ("spec_decode_num_drafts", "Speculative: Total speculative decoding verification steps"),
];
/// `(name, help)` of llama.cpp's counters of seconds.
pub(crate) const LLAMACPP_SECONDS: [(&str, &str); 2] = [
    ("prompt_seconds", "Total time spent processing prompts"),
    (
        "tokens_predicted_seconds",
        "Total time spent generating tokens",
    ),
];
/// `(name, help)` of llama.cpp's integer gauges.
pub(crate) const LLAMACPP_GAUGES: [(&str, &str); 3] = [
    (
        "n_tokens_max",
        "Largest observed sequence length (prompt + generation)",
    ),
    ("requests_processing", "Number of requests processing"),
    ("requests_deferred", "Number of requests deferred"),
];
/// `(name, help)` of llama.cpp's floating-point gauges.
pub(crate) const LLAMACPP_RATIOS: [(&str, &str); 3] = [
    (
        "prompt_tokens_seconds",
        "Average prompt throughput in tokens/s",
    ),
    (
        "predicted_tokens_seconds",
        "Average generation throughput in tokens/s",
    ),
    (
        "n_busy_slots_per_decode",
        "Average number of busy slots per llama_decode() call",
    ),
];

/// `finished_reason` label values vLLM exports from the start.
pub(crate) const FINISHED_REASONS: [&str; 3] = ["stop", "length", "abort"];

/// `(name, help)` of vLLM's integer gauges.
pub(crate) const VLLM_GAUGES: [(&str, &str); 2] = [
    (
        "num_requests_running",
        "Number of requests in model execution batches",
    ),
    (
        "num_requests_waiting",
        "Number of requests waiting to be processed",
    ),
];
/// `(name, help)` of vLLM's floating-point gauges.
pub(crate) const VLLM_RATIOS: [(&str, &str); 1] = [(
    "kv_cache_usage_perc",
    "KV-cache usage. 1 means 100 percent usage",
)];
/// `(name, help)` of vLLM's unlabelled counters (`_total` is appended).
pub(crate) const VLLM_COUNTERS: [(&str, &str); 5] = [
    (
        "prefix_cache_queries",
        "Prefix cache queries, in terms of number of queried tokens",
    ),
    (
        "prefix_cache_hits",
        "Prefix cache hits, in terms of number of cached tokens",
    ),
    (
        "num_preemptions",
        "Cumulative number of preemption from the engine",
    ),
    ("prompt_tokens", "Number of prefill tokens processed"),
    ("generation_tokens", "Number of generation tokens processed"),
];
/// `(name, help)` of vLLM's histograms.
pub(crate) const VLLM_HISTOGRAMS: [(&str, &str); 7] = [
    (
        "time_to_first_token_seconds",
        "Histogram of time to first token in seconds",
    ),
    (
        "inter_token_latency_seconds",
        "Histogram of inter-token latency in seconds",
    ),
    (
        "e2e_request_latency_seconds",
        "Histogram of e2e request latency in seconds",
    ),
    (
        "request_queue_time_seconds",
        "Histogram of time spent in WAITING phase for request",
    ),
    (
        "request_inference_time_seconds",
        "Histogram of time spent in RUNNING phase for request",
    ),
    (
        "request_prefill_time_seconds",
        "Histogram of time spent in PREFILL phase for request",
    ),
    (
        "request_decode_time_seconds",
        "Histogram of time spent in DECODE phase for request",
    ),
];

/// `(name, help)` of SGLang's counters (`_total` is appended).
pub(crate) const SGLANG_COUNTERS: [(&str, &str); 2] = [
    ("prompt_tokens", "Number of prefill tokens processed"),
    ("generation_tokens", "Number of generation tokens processed"),
];
/// `(name, help)` of SGLang's floating-point gauges.
pub(crate) const SGLANG_RATIOS: [(&str, &str); 2] = [
    ("token_usage", "The token usage"),
    ("cache_hit_rate", "The cache hit rate"),
];
/// `(name, help)` of SGLang's integer gauges.
pub(crate) const SGLANG_GAUGES: [(&str, &str); 2] = [
    ("num_running_reqs", "The number of running requests"),
    (
        "num_queue_reqs",
        "The number of requests in the waiting queue",
    ),
];
/// `(name, help)` of SGLang's histograms.
pub(crate) const SGLANG_HISTOGRAMS: [(&str, &str); 2] = [
    (
        "time_to_first_token_seconds",
        "Histogram of time to first token in seconds",
    ),
    (
        "e2e_request_latency_seconds",
        "Histogram of End-to-end request latency in seconds",
    ),
];
