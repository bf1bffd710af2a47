//! Running the emulator: on a caller's listener, or in a background task.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::error::EmulatorError;
use crate::routes::{router, App};
use crate::stats::{Counters, EmulatorStats};

/// Listen backlog requested by [`bind`] (the kernel caps it at
/// `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listener for the emulator: like [`TcpListener::bind`] (with
/// `SO_REUSEADDR`), but with a [`LISTEN_BACKLOG`] backlog instead of tokio's
/// 128. A benchmark opening hundreds of connections at once overflows a
/// 128-entry accept queue, and each dropped handshake costs its client a
/// ~1 s retransmit that would show up as TTFT. Must be called inside a tokio
/// runtime.
///
/// # Errors
/// [`EmulatorError::Bind`] if the socket cannot be created, bound or put in
/// listening state.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, EmulatorError> {
    let bind_err = |source| EmulatorError::Bind { addr, source };
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(bind_err)?;
    #[cfg(not(windows))]
    socket.set_reuseaddr(true).map_err(bind_err)?;
    socket.bind(addr).map_err(bind_err)?;
    socket.listen(LISTEN_BACKLOG).map_err(bind_err)
}

/// Serves the emulator on `listener` until the process stops. Bind it with
/// [`bind`] to get a large accept backlog.
///
/// # Errors
/// [`EmulatorError::InvalidConfig`] if `cfg` fails
/// [`EmulatorConfig::validate`]; [`EmulatorError::Io`] if serving fails.
pub async fn serve(listener: TcpListener, cfg: EmulatorConfig) -> Result<(), EmulatorError> {
    serve_with_shutdown(listener, cfg, std::future::pending()).await
}

/// Serves the emulator on `listener` until `signal` completes, then shuts
/// down gracefully: stops accepting connections, closes idle ones, and
/// returns once every in-flight response has finished (a streaming response
/// runs to its end).
///
/// # Errors
/// As [`serve`].
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    cfg: EmulatorConfig,
    signal: F,
) -> Result<(), EmulatorError>
where
    F: Future<Output = ()> + Send + 'static,
{
    cfg.validate()?;
    run(listener, App::new(cfg), signal).await
}

async fn run<F>(listener: TcpListener, app: Arc<App>, signal: F) -> Result<(), EmulatorError>
where
    F: Future<Output = ()> + Send + 'static,
{
    // Small SSE writes must leave at once: disable Nagle on every connection.
    let listener = listener.tap_io(|tcp| {
        // Best effort: a socket that refuses still works, only less promptly.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(app))
        .with_graceful_shutdown(signal)
        .await?;
    Ok(())
}

/// Binds `addr` with [`bind`] (port 0 picks a free port) and serves the emulator in a
/// background tokio task until [`EmulatorHandle::shutdown`] or until the
/// handle is dropped.
///
/// # Errors
/// [`EmulatorError::InvalidConfig`] if `cfg` fails
/// [`EmulatorConfig::validate`]; [`EmulatorError::Bind`] if `addr` cannot be
/// bound; [`EmulatorError::Io`] if the bound address cannot be read.
pub async fn spawn(addr: SocketAddr, cfg: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    cfg.validate()?;
    let listener = bind(addr).await?;
    let local = listener.local_addr()?;
    let app = App::new(cfg);
    let counters = app.counters();
    let (stop, stopped) = oneshot::channel::<()>();
    let signal = async move {
        // A dropped sender also means stop.
        let _ = stopped.await;
    };
    let task = tokio::spawn(run(listener, app, signal));
    Ok(EmulatorHandle {
        addr: local,
        counters,
        stop: Some(stop),
        task: Some(task),
    })
}

/// A running emulator started by [`spawn`].
///
/// Dropping the handle starts a graceful shutdown without waiting for it.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), EmulatorError>>>,
}

impl EmulatorHandle {
    /// The bound address (with the actual port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT` to reach the server; an unspecified bind address
    /// (`0.0.0.0`, `::`) is replaced by the loopback address of its family.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Current counters: requests received, served, in flight and queued,
    /// and how punctually token events left (see [`EmulatorStats`]).
    pub fn stats(&self) -> EmulatorStats {
        self.counters.snapshot()
    }

    /// Stops accepting connections and waits until every in-flight response
    /// has finished (see [`serve_with_shutdown`]).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The server task neither panics nor fails after binding; a
            // join error could only mean the runtime is going away.
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
