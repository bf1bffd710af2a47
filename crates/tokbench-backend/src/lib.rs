//! Launch an inference server, wait until it is healthy, identify it, and
//! stop it — with its whole process group — cleanly.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tokbench_backend::BackendError> {
//! use std::time::Duration;
//! use tokbench_backend::{BackendKind, BackendProcess, LaunchSpec};
//!
//! let mut spec = LaunchSpec::new(BackendKind::LlamaCpp, "model.gguf", "logs/llama-server.log");
//! spec.parallel = 4;
//! let mut server = BackendProcess::launch_healthy(spec).await?;
//! let info = server.identify().await?;
//! println!("{} {:?} at {}", info.kind, info.version, server.base_url());
//! server.stop(Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```
//!
//! Modules: [`resolve`] finds binaries, [`recipe`] builds command lines
//! and names health checks, [`port`] picks ports, [`process`] runs the
//! server, [`identity`] reads versions and properties, [`redact`] hides
//! secrets in recorded command lines, [`logfile`] reads log tails,
//! [`template`] launches any engine from a command template and
//! [`engines`] reads backends files that name such engines.
//! Unix only (process groups, signals).

mod error;
mod health;
mod kind;
mod spec;

pub mod engines;
pub mod group;
pub mod identity;
pub mod logfile;
pub mod port;
pub mod process;
pub mod recipe;
pub mod redact;
pub mod resolve;
pub mod template;

pub use error::BackendError;
pub use identity::{identify, BackendInfo, IdentifyInput};
pub use kind::{BackendKind, UnknownBackend};
pub use process::BackendProcess;
pub use recipe::{CommandLine, HealthCheck};
pub use resolve::{resolve_binary, ResolvedBinary};
pub use spec::{LaunchSpec, DEFAULT_HEALTH_TIMEOUT};
pub use template::{CommandTemplate, TemplateEngine, TemplateError, TemplateHealth};
