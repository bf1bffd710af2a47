//! The crate's error type.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use crate::BackendKind;

/// Everything that can go wrong while launching, waiting for, identifying
/// or stopping a backend. Each message says what happened and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The launch spec is unusable (e.g. `parallel` is 0, the host is empty).
    #[error("invalid launch settings: {0}")]
    InvalidSpec(String),
    /// No server binary was found.
    #[error("{kind} server not found ({tried}); {hint}", hint = kind.install_hint())]
    BinaryNotFound {
        /// Which backend.
        kind: BackendKind,
        /// What was looked at, e.g. `"llama-server" is not on PATH`.
        tried: String,
    },
    /// The GGUF model file given to llama.cpp does not exist.
    #[error(
        "model file {} does not exist; llama.cpp needs a local .gguf file \
         (check the path, or run scripts/setup to fetch the demo models)",
        path.display()
    )]
    ModelNotFound {
        /// The path that was given.
        path: PathBuf,
    },
    /// The explicitly requested port is taken.
    #[error(
        "port {port} on {host} is already in use; stop whatever listens there, \
         choose another port, or leave the port unset to use a free one"
    )]
    PortInUse {
        /// Host that was checked.
        host: String,
        /// The busy port.
        port: u16,
    },
    /// A socket could not be bound to check or pick a port.
    #[error("cannot bind {addr} to check for a free port: {source}; check the host setting")]
    Bind {
        /// Address tried, e.g. `127.0.0.1:0`.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The log file (or its directory) could not be created or read.
    #[error("cannot use the log file {}: {source}; choose a writable log path", path.display())]
    LogFile {
        /// The log path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server process could not be started.
    #[error("cannot start {}: {source}; check that it exists and is executable", program.display())]
    Spawn {
        /// Program that was run.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server exited before it became healthy.
    #[error(
        "the {server} server exited before it became healthy ({status}); last lines of {}:\n{log_tail}",
        log_path.display()
    )]
    ExitedEarly {
        /// Which server: the backend's display name or the template engine's name.
        server: Box<str>,
        /// Its exit status.
        status: ExitStatus,
        /// The server log.
        log_path: PathBuf,
        /// Last lines (≤ 20) this launch wrote to the log.
        log_tail: String,
    },
    /// The server did not become healthy within the health timeout.
    #[error(
        "the {server} server at {url} was not healthy after {:.1} s (last answer: {last}); \
         large models can take minutes to load, so raise the health timeout, or read {}:\n{log_tail}",
        waited.as_secs_f64(),
        log_path.display()
    )]
    NotHealthy {
        /// Which server: the backend's display name or the template engine's name.
        server: Box<str>,
        /// Base URL polled.
        url: String,
        /// How long it was polled.
        waited: Duration,
        /// The last health answer (status or connection error).
        last: Box<str>,
        /// The server log.
        log_path: PathBuf,
        /// Last lines (≤ 20) this launch wrote to the log.
        log_tail: String,
    },
    /// A command template, or a method that does not apply to a template
    /// engine.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// Signalling or waiting for the server's process group failed.
    #[error("cannot {action} server process group {pgid}: {source}")]
    Process {
        /// What was attempted, e.g. `"send SIGTERM to"`.
        action: &'static str,
        /// Process group id (the server's pid).
        pgid: u32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server did not exit even after SIGKILL.
    #[error(
        "server process {pid} did not exit within {:.1} s of SIGKILL; it may be stuck in the \
         kernel (e.g. a GPU driver call): check `ps -o pid,stat,cmd -g {pid}`",
        waited.as_secs_f64()
    )]
    StopTimeout {
        /// The server's pid.
        pid: u32,
        /// How long we waited after SIGKILL.
        waited: Duration,
    },
    /// An identity endpoint could not be read.
    #[error("cannot read {url}: {message}; is the server up and is it a {server} server?")]
    Http {
        /// Which server was assumed: the backend's display name or the
        /// template engine's name.
        server: Box<str>,
        /// URL requested.
        url: String,
        /// Status or transport error.
        message: String,
    },
}
