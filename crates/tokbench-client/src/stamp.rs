//! Send-side timing: when a request's last byte went to the connection,
//! and how long opening its connection took.
//!
//! The instant a request is *handed to* the HTTP stack is not the instant it
//! is *written*: in between lie the TCP connect and the scheduling of the
//! task that owns the connection, and when hundreds of requests start at
//! once on a busy host that gap reaches tens of milliseconds. tokbench
//! therefore stamps the send where hyper takes the request body's last byte
//! for writing (the body records when it is polled); hyper writes it to the
//! socket in the same step, microseconds later. The connect time is
//! measured by a layer around reqwest's connector and reported on its own.
//! Both land in a [`SendClock`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::client::micros_since;

tokio::task_local! {
    /// The send record of the request the current task is sending; the
    /// connector layer writes the connect time into it.
    static SENDING: Arc<SendTimes>;
}

/// What the send side observed, written from inside the HTTP stack.
#[derive(Debug, Default)]
struct SendTimes {
    /// When hyper took the body's last byte.
    written: OnceLock<Instant>,
    /// Connect time + 1, µs (0 = no connection was opened for the request).
    connect_us_plus_one: AtomicU32,
}

/// The send-side clock of one request.
///
/// Created just before the request is handed to the client; the client
/// fills it in as the request goes out. All times of a request's sample are
/// relative to [`SendClock::sent`].
#[derive(Debug, Clone)]
pub struct SendClock {
    started: Instant,
    times: Arc<SendTimes>,
}

impl SendClock {
    /// A clock started now.
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            times: Arc::new(SendTimes::default()),
        }
    }

    /// When the request was handed to the client.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// When hyper took the request body's last byte for writing, if it did
    /// (it is written to the socket in the same step).
    pub fn written(&self) -> Option<Instant> {
        self.times.written.get().copied()
    }

    /// The request's send instant: [`SendClock::written`], or the start when
    /// the request never got that far (connect failure, cancellation).
    pub fn sent(&self) -> Instant {
        self.written().unwrap_or(self.started)
    }

    /// Time taken to open the connection this request went out on, µs
    /// (TCP connect, plus the TLS handshake for `https`, as seen by the
    /// task sending the request); `None` when it reused a kept-alive
    /// connection or has not connected yet.
    pub fn connect_us(&self) -> Option<u32> {
        match self.times.connect_us_plus_one.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v - 1),
        }
    }

    /// A request body of `data` that stamps this clock's write instant.
    pub(crate) fn body(&self, data: Bytes) -> StampedBody {
        StampedBody {
            data: (!data.is_empty()).then_some(data),
            times: self.times.clone(),
        }
    }

    /// Runs `fut` (which sends the request) with this clock visible to the
    /// connector layer.
    pub(crate) async fn scope<F: Future>(&self, fut: F) -> F::Output {
        SENDING.scope(self.times.clone(), fut).await
    }
}

/// A one-chunk request body that records when hyper takes it: hyper polls
/// a body for its data only when it is about to write it, and flushes the
/// write buffer right after, in the same poll of the connection task.
#[derive(Debug)]
pub(crate) struct StampedBody {
    data: Option<Bytes>,
    times: Arc<SendTimes>,
}

impl http_body::Body for StampedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let data = self.data.take();
        if data.is_some() {
            let _ = self.times.written.set(Instant::now());
        }
        Poll::Ready(data.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

/// A tower layer for reqwest's connector that times each connect and
/// records it in the send clock of the request whose task drives it. A
/// connect that finishes in the background (hyper-util lets one finish when
/// the request took an idle pooled connection instead) is not attributed
/// to any request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnectTimer;

impl<S> tower_layer::Layer<S> for ConnectTimer {
    type Service = TimedConnect<S>;

    fn layer(&self, inner: S) -> TimedConnect<S> {
        TimedConnect(inner)
    }
}

/// The connector service wrapped by [`ConnectTimer`].
#[derive(Debug, Clone)]
pub(crate) struct TimedConnect<S>(S);

/// The future of a timed connect.
type Connecting<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, Req> tower_service::Service<Req> for TimedConnect<S>
where
    S: tower_service::Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Connecting<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let started = Instant::now();
        let connecting = self.0.call(req);
        Box::pin(async move {
            let conn = connecting.await;
            if conn.is_ok() {
                let us = micros_since(started).saturating_add(1);
                let _ = SENDING.try_with(|t| t.connect_us_plus_one.store(us, Ordering::Relaxed));
            }
            conn
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    fn poll(body: &mut StampedBody) -> Option<Bytes> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => frame.into_data().ok(),
            _ => None,
        }
    }

    #[test]
    fn body_yields_its_bytes_once_and_stamps_the_clock() {
        let clock = SendClock::start();
        let mut body = clock.body(Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(body.size_hint().exact(), Some(7));
        assert!(!body.is_end_stream());
        assert_eq!(clock.written(), None);
        assert_eq!(clock.sent(), clock.started());
        assert_eq!(poll(&mut body).as_deref(), Some(&b"{\"a\":1}"[..]));
        let written = clock.written().expect("stamped");
        assert!(written >= clock.started());
        assert_eq!(clock.sent(), written);
        assert!(body.is_end_stream());
        assert_eq!(poll(&mut body), None);
        assert_eq!(clock.written(), Some(written), "stamped once");
    }

    #[test]
    fn connect_time_is_none_until_recorded() {
        let clock = SendClock::start();
        assert_eq!(clock.connect_us(), None);
        clock.times.connect_us_plus_one.store(43, Ordering::Relaxed);
        assert_eq!(clock.connect_us(), Some(42));
    }
}
