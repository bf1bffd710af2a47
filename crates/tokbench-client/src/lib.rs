//! Streaming OpenAI-compatible client, SSE timing path and load engine.
//!
//! Data flow: [`prompt::RequestTemplate`] makes unique request bodies →
//! [`engine::run_load`] decides when each is sent → [`client::Client`]
//! streams the response → [`recorder::StreamRecorder`] frames SSE
//! ([`sse`]), decodes chunks ([`openai`]) and stamps token events into a
//! [`tokbench_stats::RequestSample`], whose times count from the moment
//! the request's last byte went to the connection ([`stamp`]). Metrics are computed afterwards by
//! `tokbench-stats`.

pub mod calibrate;
pub mod client;
pub mod engine;
pub mod openai;
pub mod prompt;
pub mod reasoning;
pub mod recorder;
pub mod shapes;
pub mod sse;
pub mod stamp;

pub use client::{Client, ClientConfig, ClientError, Endpoint, RequestSpec};
pub use engine::{
    run_load, AdaptiveStop, Cancel, ConfigError, DecodeCiRule, LoadConfig, LoadResult, Progress,
    RequestSource, StopReason, StopRule,
};
pub use prompt::RequestTemplate;
pub use reasoning::{reasoning_switch, ReasoningMode, ReasoningSwitch};
pub use shapes::{Shape, ShapeError, ShapeSet, Stresses};
pub use stamp::SendClock;
