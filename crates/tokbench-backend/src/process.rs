//! [`BackendProcess`]: a launched server and its process group.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::os::unix::process::CommandExt;

use rustix::process::Signal;

use crate::health::{self, Health, REQUEST_TIMEOUT};
use crate::identity::{self, BackendInfo, IdentifyInput, PROBE_TIMEOUT};
use crate::logfile;
use crate::port::{base_url, check_port_free, pick_free_port};
use crate::recipe::{build_command, CommandLine, HealthCheck, HelpFlags};
use crate::resolve::resolve_binary;
use crate::template::{TemplateEngine, TemplateError, TemplateHealth, TemplateValues};
use crate::{group, BackendError, BackendKind, LaunchSpec};

/// What was launched: a built-in recipe or a command-template engine.
#[derive(Debug)]
enum Engine {
    Recipe(BackendKind),
    Template(Box<TemplateEngine>),
}

/// Pause between health probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long to wait for the server to die after SIGKILL.
pub const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often `stop` checks whether the group has exited.
const STOP_POLL: Duration = Duration::from_millis(25);

/// A running (or exited, not yet dropped) server.
///
/// The server is the leader of its own process group, so that stopping it
/// also stops the helper processes it starts (vLLM and SGLang workers).
/// Dropping a `BackendProcess` SIGKILLs the group and reaps the server:
/// no server outlives its handle, even on panic or early return.
#[derive(Debug)]
pub struct BackendProcess {
    engine: Engine,
    child: Child,
    pid: u32,
    port: u16,
    base_url: String,
    command: CommandLine,
    log_path: PathBuf,
    log_offset: u64,
    health_timeout: Duration,
    exit: Option<ExitStatus>,
    spawned: Instant,
    healthy_after: Option<Duration>,
}

impl BackendProcess {
    /// Validates `spec`, resolves the binary, picks or checks the port and
    /// starts the server in a new process group with stdout and stderr
    /// appended to `spec.log_path` (after a `# tokbench …` header line
    /// with the redacted command). Does not wait for health: call
    /// [`BackendProcess::wait_healthy`].
    ///
    /// For llama.cpp, runs `llama-server --help` first (≤ 20 s) to add
    /// optional flags only if this version knows them. For SGLang found on
    /// `PATH`, runs a short blocking `python3 -c` import check. Needs a
    /// Tokio runtime with I/O and time enabled (`#[tokio::main]` has both).
    ///
    /// # Errors
    /// [`BackendError::InvalidSpec`], [`BackendError::BinaryNotFound`],
    /// [`BackendError::ModelNotFound`] (llama.cpp, missing file),
    /// [`BackendError::PortInUse`] (explicit port taken),
    /// [`BackendError::Bind`], [`BackendError::LogFile`],
    /// [`BackendError::Spawn`].
    pub async fn launch(spec: LaunchSpec) -> Result<Self, BackendError> {
        spec.validate()?;
        let bin = resolve_binary(spec.kind, spec.binary.as_deref())?;
        if spec.kind == BackendKind::LlamaCpp && !spec.model.is_file() {
            return Err(BackendError::ModelNotFound {
                path: spec.model.clone(),
            });
        }
        let help = match spec.kind {
            BackendKind::LlamaCpp => {
                let text =
                    identity::run_capture(&bin.program, &["--help"], &spec.env, PROBE_TIMEOUT);
                text.await.map(|t| HelpFlags::parse(&t))
            }
            _ => None,
        };
        // Picked last, to keep the window in which another process could
        // take the port short.
        let port = match spec.port {
            Some(p) => check_port_free(&spec.host, p).map(|()| p)?,
            None => pick_free_port(&spec.host)?,
        };
        let command = build_command(&spec, &bin, port, help.as_ref());
        Self::start(Engine::Recipe(spec.kind), command, spec, port)
    }

    /// Opens the log, spawns `command` in its own process group and
    /// returns the supervised process (recipe and template launches alike).
    fn start(
        engine: Engine,
        command: CommandLine,
        spec: LaunchSpec,
        port: u16,
    ) -> Result<Self, BackendError> {
        let (log, log_offset) = logfile::open_for_launch(&spec.log_path, &header(&command))?;
        let child = spawn(&command, log)?;
        let spawned = Instant::now();
        Ok(Self {
            spawned,
            healthy_after: None,
            engine,
            pid: child.id(),
            child,
            port,
            base_url: base_url(&spec.host, port),
            command,
            log_path: spec.log_path,
            log_offset,
            health_timeout: spec.health_timeout,
            exit: None,
        })
    }

    /// Load time: from spawning the server to the first health probe that
    /// passed in [`BackendProcess::wait_healthy`] (model load included);
    /// `None` before it passed. The figure is late by at most one probe
    /// interval ([`POLL_INTERVAL`]) plus the probe's own round trip.
    pub fn healthy_after(&self) -> Option<Duration> {
        self.healthy_after
    }

    /// [`BackendProcess::launch`] then [`BackendProcess::wait_healthy`];
    /// on a health failure the server is killed before the error returns.
    ///
    /// # Errors
    /// Those of both.
    pub async fn launch_healthy(spec: LaunchSpec) -> Result<Self, BackendError> {
        let mut process = Self::launch(spec).await?;
        process.wait_healthy().await?;
        Ok(process)
    }

    /// Starts a command-template engine ([`crate::template`]) as
    /// [`BackendProcess::launch`] starts a recipe: `spec` gives the
    /// placeholder values (`model`, `host`, `port` or a free one,
    /// `threads` (default 1), `ctx_size` (default 0), `parallel`,
    /// `extra_args` as `{args}`), the environment (before the engine's),
    /// the log and the health timeout; `spec.kind`, `spec.binary` and
    /// `spec.prefix_caching` do not apply. Does not wait for health.
    ///
    /// # Errors
    /// [`BackendError::InvalidSpec`], [`BackendError::PortInUse`],
    /// [`BackendError::Bind`], [`BackendError::LogFile`],
    /// [`BackendError::Spawn`] (the program cannot be run).
    pub async fn launch_template(
        spec: LaunchSpec,
        engine: TemplateEngine,
    ) -> Result<Self, BackendError> {
        spec.validate()?;
        let port = match spec.port {
            Some(p) => check_port_free(&spec.host, p).map(|()| p)?,
            None => pick_free_port(&spec.host)?,
        };
        let values = TemplateValues {
            model: &spec.model,
            host: &spec.host,
            port,
            threads: spec.threads.unwrap_or(1),
            ctx_size: spec.ctx_size.unwrap_or_default(),
            parallel: spec.parallel,
            args: &spec.extra_args,
        };
        let command = engine.command_line(&values, &spec.env);
        Self::start(Engine::Template(Box::new(engine)), command, spec, port)
    }

    /// [`BackendProcess::launch_template`] then
    /// [`BackendProcess::wait_healthy`]; on a health failure the server is
    /// killed (its whole group) before the error returns.
    ///
    /// # Errors
    /// Those of both.
    pub async fn launch_template_healthy(
        spec: LaunchSpec,
        engine: TemplateEngine,
    ) -> Result<Self, BackendError> {
        let mut process = Self::launch_template(spec, engine).await?;
        process.wait_healthy().await?;
        Ok(process)
    }

    /// Polls the kind's health check ([`HealthCheck`]; a template engine's
    /// [`TemplateHealth`]) every
    /// [`POLL_INTERVAL`] until it passes, the server exits, or the spec's
    /// `health_timeout` passes.
    ///
    /// # Errors
    /// [`BackendError::ExitedEarly`] and [`BackendError::NotHealthy`], both
    /// with the last lines of this launch's log;
    /// [`BackendError::Process`] when the server cannot be waited for.
    pub async fn wait_healthy(&mut self) -> Result<(), BackendError> {
        let http = health::client(self.server_name(), &self.base_url)?;
        let start = Instant::now();
        let mut last = "no answer yet".to_owned();
        loop {
            if let Some(status) = self.poll_exit()? {
                return Err(BackendError::ExitedEarly {
                    server: self.server_name().into(),
                    status,
                    log_path: self.log_path.clone(),
                    log_tail: self.log_tail(),
                });
            }
            let remaining = self.health_timeout.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return Err(BackendError::NotHealthy {
                    server: self.server_name().into(),
                    url: self.base_url.clone(),
                    waited: start.elapsed(),
                    last: last.into(),
                    log_path: self.log_path.clone(),
                    log_tail: self.log_tail(),
                });
            }
            match self.probe_once(&http, remaining.min(REQUEST_TIMEOUT)).await {
                Health::Ready => {
                    self.healthy_after = Some(self.spawned.elapsed());
                    return Ok(());
                }
                Health::NotReady(why) => last = why,
            }
            tokio::time::sleep(POLL_INTERVAL.min(remaining)).await;
        }
    }

    /// One health probe of this server's check.
    async fn probe_once(&self, http: &reqwest::Client, timeout: Duration) -> Health {
        let base = &self.base_url;
        match &self.engine {
            Engine::Recipe(kind) => {
                health::probe(http, base, HealthCheck::for_kind(*kind), timeout).await
            }
            Engine::Template(t) => match &t.health {
                TemplateHealth::Http { path } => {
                    health::probe_path(http, base, path, timeout).await
                }
                TemplateHealth::ModelListed => health::probe_models(http, base, timeout).await,
                TemplateHealth::LogLine(re) => {
                    let log = self.log_text().unwrap_or_default();
                    if log.lines().any(|l| re.is_match(l)) {
                        Health::Ready
                    } else {
                        Health::NotReady(format!("no log line matches {:?} yet", re.as_str()))
                    }
                }
            },
        }
    }

    /// The server's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Which built-in server this is; `None` for a template engine.
    pub fn kind(&self) -> Option<BackendKind> {
        match &self.engine {
            Engine::Recipe(kind) => Some(*kind),
            Engine::Template(_) => None,
        }
    }

    /// The template engine, when launched from a command template.
    pub fn template(&self) -> Option<&TemplateEngine> {
        match &self.engine {
            Engine::Recipe(_) => None,
            Engine::Template(t) => Some(t),
        }
    }

    /// The server's name in messages: the kind's display name
    /// (`llama.cpp`) or the template engine's name.
    pub fn server_name(&self) -> &str {
        match &self.engine {
            Engine::Recipe(kind) => kind.name(),
            Engine::Template(t) => &t.name,
        }
    }

    /// Base URL to reach it, e.g. `http://127.0.0.1:8080` (no trailing
    /// slash, no `/v1`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The command as run — `NAME=value` environment tokens, program,
    /// arguments — with secrets replaced by `***` ([`crate::redact`]).
    pub fn launch_command(&self) -> Vec<String> {
        self.command.redacted()
    }

    /// The server log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything this launch wrote to the log so far (its last 4 MiB).
    ///
    /// # Errors
    /// [`BackendError::LogFile`] when the log cannot be read.
    pub fn log_text(&self) -> Result<String, BackendError> {
        logfile::read_since(&self.log_path, self.log_offset, 4 << 20)
    }

    /// Whether the server process is still running (reaps it if it has
    /// exited; an error while asking counts as not running).
    pub fn is_running(&mut self) -> bool {
        matches!(self.poll_exit(), Ok(None))
    }

    /// Identifies the running server ([`identity::identify`]) using its
    /// binary, environment and this launch's log.
    ///
    /// # Errors
    /// [`BackendError::Http`] when the main identity endpoint fails;
    /// [`BackendError::Template`] for a template engine (use
    /// [`BackendProcess::template_identity`]).
    pub async fn identify(&self) -> Result<BackendInfo, BackendError> {
        let Engine::Recipe(kind) = self.engine else {
            return Err(TemplateError::NoRecipe.into());
        };
        let log = self.log_text().unwrap_or_default();
        identity::identify(IdentifyInput {
            kind,
            base_url: &self.base_url,
            binary: Some(&self.command.program),
            env: &self.command.env,
            log_text: Some(&log),
        })
        .await
    }

    /// Identifies a running template engine
    /// ([`identity::template_identity`]): its version command, this
    /// launch's log and `/v1/models`. `None` for a built-in recipe.
    pub async fn template_identity(&self) -> Option<identity::TemplateIdentity> {
        let engine = self.template()?;
        let log = self.log_text().unwrap_or_default();
        Some(identity::template_identity(engine, &self.base_url, &self.command.env, &log).await)
    }

    /// Stops the server: SIGTERM to its whole process group, up to `grace`
    /// for every member to exit, then SIGKILL to whatever is left; reaps
    /// the server. Returns its exit status (already-exited servers return
    /// theirs at once, after their leftover children are killed).
    ///
    /// # Errors
    /// [`BackendError::Process`] when signalling or waiting fails,
    /// [`BackendError::StopTimeout`] when the server survives SIGKILL for
    /// [`KILL_WAIT`].
    pub async fn stop(&mut self, grace: Duration) -> Result<ExitStatus, BackendError> {
        if let Some(status) = self.poll_exit()? {
            return Ok(status);
        }
        group::signal(self.pid, Signal::TERM)
            .map_err(|source| self.process_err("send SIGTERM to", source))?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            self.reap()?;
            if let Some(status) = self.exit.filter(|_| !group::has_live_members(self.pid)) {
                return Ok(status);
            }
            tokio::time::sleep(STOP_POLL).await;
        }
        self.kill_group()
            .map_err(|source| self.process_err("send SIGKILL to", source))?;
        let kill_deadline = Instant::now() + KILL_WAIT;
        loop {
            if let Some(status) = self.reap()? {
                return Ok(status);
            }
            if Instant::now() >= kill_deadline {
                return Err(BackendError::StopTimeout {
                    pid: self.pid,
                    waited: KILL_WAIT,
                });
            }
            tokio::time::sleep(STOP_POLL).await;
        }
    }

    /// Reaps the server if it has exited; the status is remembered.
    fn reap(&mut self) -> Result<Option<ExitStatus>, BackendError> {
        if self.exit.is_none() {
            self.exit = self
                .child
                .try_wait()
                .map_err(|source| self.process_err("wait for", source))?;
        }
        Ok(self.exit)
    }

    /// [`Self::reap`], and once the server has exited, SIGKILLs any of its
    /// group left behind.
    fn poll_exit(&mut self) -> Result<Option<ExitStatus>, BackendError> {
        let status = self.reap()?;
        if status.is_some() {
            // Best effort: leftovers are killed again on drop.
            let _ = self.kill_group();
        }
        Ok(status)
    }

    /// SIGKILLs the group when that cannot hit a recycled group id: while
    /// the server is unreaped, or while live members keep the id in use.
    fn kill_group(&self) -> std::io::Result<()> {
        if self.exit.is_none() || group::has_live_members(self.pid) {
            group::signal(self.pid, Signal::KILL)?;
        }
        Ok(())
    }

    fn process_err(&self, action: &'static str, source: std::io::Error) -> BackendError {
        BackendError::Process {
            action,
            pgid: self.pid,
            source,
        }
    }

    fn log_tail(&self) -> String {
        logfile::tail_since(&self.log_path, self.log_offset)
    }
}

impl Drop for BackendProcess {
    /// SIGKILLs the whole group (if anything of it is left) and reaps the
    /// server, waiting at most [`KILL_WAIT`]. Never fails or panics.
    fn drop(&mut self) {
        let _ = self.reap();
        let _ = self.kill_group();
        let deadline = Instant::now() + KILL_WAIT;
        while self.exit.is_none() && Instant::now() < deadline {
            if self.reap().is_err() {
                break;
            }
            if self.exit.is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn spawn(command: &CommandLine, log: File) -> Result<Child, BackendError> {
    let spawn_err = |source| BackendError::Spawn {
        program: command.program.clone(),
        source,
    };
    let stderr = log.try_clone().map_err(spawn_err)?;
    Command::new(&command.program)
        .args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(spawn_err)
}

fn header(command: &CommandLine) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "# tokbench launch (unix time {secs}): {}",
        command.redacted().join(" ")
    )
}
