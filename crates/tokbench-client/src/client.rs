//! Streaming HTTP client for OpenAI-compatible servers.
//!
//! One [`Client`] is shared by every in-flight request. [`Client::execute`]
//! sends a pre-serialised JSON body, stamping the moment `hyper` takes its
//! last byte for writing ([`crate::stamp`]), then reads the response body
//! chunk by chunk, stamping each chunk on the monotonic clock the moment
//! `hyper` hands it over, and feeds it to a [`StreamRecorder`]. There is no retry of
//! any kind: a retried POST would double-count a request.
//!
//! Timeouts: a connect timeout, and a *stall* timeout applied to every wait
//! for the next bytes (headers included) — never a whole-body timeout, which
//! would kill long but healthy generations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use tokbench_stats::{ErrorKind, Outcome, RequestSample};

use crate::recorder::{excerpt, StreamError, StreamRecorder};
use crate::sse::DEFAULT_MAX_LINE_BYTES;
use crate::stamp::{ConnectTimer, SendClock};

/// How long an idle pooled connection is kept: below the ~5 s keep-alive
/// timeout of common servers.
pub const IDLE_POOL_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest wait, with keep-alive, for the end of a response body after its
/// `[DONE]` event (servers send it at once); past it the connection is
/// dropped instead of reused.
pub const DRAIN_AFTER_DONE: Duration = Duration::from_millis(100);

/// Which OpenAI endpoint a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/completions`.
    Completions,
}

impl Endpoint {
    /// The path below the server's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/v1/chat/completions",
            Endpoint::Completions => "/v1/completions",
        }
    }
}

/// One request, ready to send: the body is serialised before the clock
/// starts so that JSON encoding never counts toward TTFT.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Endpoint to post to.
    pub endpoint: Endpoint,
    /// JSON body (with `stream: true`).
    pub body: Bytes,
    /// Prompt tokens the workload intended, if known.
    pub prompt_tokens_hint: Option<u64>,
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Server base URL, e.g. `http://127.0.0.1:8080` (a trailing `/v1` is
    /// accepted and removed).
    pub base_url: String,
    /// Bearer token; sent as `Authorization: Bearer …`, never logged.
    pub api_key: Option<String>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (headers included).
    pub stall_timeout: Duration,
    /// Bound on one SSE line, bytes.
    pub max_line_bytes: usize,
    /// Reuse connections between requests. Off by default: every request
    /// opens its own connection, as vLLM's `bench serve` does, because
    /// servers such as llama-server may close a connection right after a
    /// streamed response, racing its reuse (the next request then fails
    /// unread). Connect time is then recorded per request (`connect_us`);
    /// it is not part of TTFT, which starts once the request is written.
    pub keep_alive: bool,
}

impl ClientConfig {
    /// Defaults: 10 s connect, 300 s stall (CPU prefill of long prompts is
    /// slow), 1 MiB lines.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(300),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            keep_alive: false,
        }
    }
}

/// Errors of the client. Each maps to an [`ErrorKind`] for per-kind counts.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not usable.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Could not build the HTTP client.
    #[error("could not build the HTTP client: {0}")]
    Build(String),
    /// Connection (DNS, TCP, TLS) failed.
    #[error("could not connect to {url}: {cause}")]
    Connect {
        /// URL requested.
        url: String,
        /// The underlying cause chain.
        cause: String,
    },
    /// The server answered with a non-success status.
    #[error("{url} answered HTTP {status}{retry}: {body}", retry = retry_after.as_ref().map(|r| format!(" (Retry-After: {r})")).unwrap_or_default())]
    HttpStatus {
        /// URL requested.
        url: String,
        /// HTTP status code.
        status: u16,
        /// `Retry-After` header, when present.
        retry_after: Option<String>,
        /// Start of the response body.
        body: String,
    },
    /// No bytes arrived within the stall timeout.
    #[error("no data from {url} for {after_ms} ms (stall timeout)")]
    Stall {
        /// URL requested.
        url: String,
        /// The stall timeout that expired, ms.
        after_ms: u128,
    },
    /// The stream was malformed or carried an error.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The connection closed before `[DONE]`.
    #[error("stream from {url} ended before [DONE]{detail}")]
    EarlyClose {
        /// URL requested.
        url: String,
        /// Extra detail (an I/O error), if any.
        detail: String,
    },
    /// Any other transport failure.
    #[error("request to {url} failed: {cause}")]
    Other {
        /// URL requested.
        url: String,
        /// The underlying cause chain.
        cause: String,
    },
}

impl ClientError {
    /// The error kind recorded in request outcomes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Connect { .. } => ErrorKind::Connect,
            ClientError::HttpStatus { .. } => ErrorKind::HttpStatus,
            ClientError::Stall { .. } => ErrorKind::Stall,
            ClientError::Stream(e) => e.kind(),
            ClientError::EarlyClose { .. } => ErrorKind::EarlyClose,
            ClientError::InvalidUrl { .. } | ClientError::Build(_) | ClientError::Other { .. } => {
                ErrorKind::Other
            }
        }
    }
}

/// Renders an error with its whole `source()` chain.
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut src = err.source();
    while let Some(e) = src {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = e.source();
    }
    s
}

/// A shared streaming client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Option<HeaderValue>,
    stall: Duration,
    max_line: usize,
    keep_alive: bool,
    config: Arc<ClientConfig>,
}

/// Microseconds elapsed since `start`, saturating at `u32::MAX` (71 min).
pub(crate) fn micros_since(start: Instant) -> u32 {
    u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX)
}

impl Client {
    /// Builds a client.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`] for a URL without `http://`/`https://`,
    /// [`ClientError::Build`] when the TLS/HTTP stack cannot be set up.
    pub fn new(cfg: &ClientConfig) -> Result<Self, ClientError> {
        let base = normalise_base(&cfg.base_url)?;
        let idle = if cfg.keep_alive { usize::MAX } else { 0 };
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .pool_max_idle_per_host(idle)
            // With keep-alive, drop idle connections before servers do
            // (~5 s in cpp-httplib and uvicorn), never retrying a POST.
            .pool_idle_timeout(IDLE_POOL_TIMEOUT)
            .tcp_nodelay(true)
            // Times each connect for the request that opens it.
            .connector_layer(ConnectTimer)
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Build(cause_chain(&e)))?;
        let auth = match &cfg.api_key {
            Some(key) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    ClientError::Build("API key contains characters not allowed in a header".into())
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(Self {
            http,
            base,
            auth,
            stall: cfg.stall_timeout,
            max_line: cfg.max_line_bytes,
            keep_alive: cfg.keep_alive,
            config: Arc::new(cfg.clone()),
        })
    }

    /// A client with the same settings (URL, key, timeouts) but its own
    /// connection pool, for side traffic such as metrics polling that must
    /// never take a connection a measured request would reuse.
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn sibling(&self) -> Result<Self, ClientError> {
        Self::new(&self.config)
    }

    /// The normalised base URL (no trailing slash, no `/v1`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends `spec` and records the stream into `sample`. `sample`'s
    /// `outcome`, `connect_us`, `headers_us` and `end_us` are set here;
    /// times are µs since `clock`'s send instant ([`SendClock::sent`]: when
    /// the request's last byte went to the connection). `clock` is started
    /// by the caller just before. Never fails: failures become
    /// [`Outcome::Error`] with what was received before them kept.
    pub async fn execute(&self, spec: &RequestSpec, sample: &mut RequestSample, clock: &SendClock) {
        sample.prompt_tokens_hint = spec.prompt_tokens_hint;
        let result = self.stream(spec, sample, clock).await;
        sample.connect_us = clock.connect_us();
        sample.end_us = Some(micros_since(clock.sent()));
        if let Err(e) = result {
            sample.outcome = Outcome::Error {
                kind: e.kind(),
                message: e.to_string(),
            };
        }
    }

    async fn stream(
        &self,
        spec: &RequestSpec,
        sample: &mut RequestSample,
        clock: &SendClock,
    ) -> Result<(), ClientError> {
        let url = format!("{}{}", self.base, spec.endpoint.path());
        let req = self.authorised(
            self.http
                .post(&url)
                .header(CONTENT_TYPE, "application/json")
                .body(reqwest::Body::wrap(clock.body(spec.body.clone()))),
        );
        let resp = self.wait(&url, clock.scope(req.send())).await?;
        let mut resp = resp.map_err(|e| transport_error(&url, &e))?;
        // The request was written before its answer came: the send instant
        // is known from here on.
        let sent = clock.sent();
        sample.headers_us = Some(micros_since(sent));
        if !resp.status().is_success() {
            return Err(self.status_error(&url, resp).await);
        }
        let mut recorder = StreamRecorder::new(self.max_line);
        loop {
            let next = self.wait(&url, resp.chunk()).await?;
            let chunk = next.map_err(|e| ClientError::EarlyClose {
                url: url.clone(),
                detail: format!(": {}", cause_chain(&e)),
            })?;
            let Some(chunk) = chunk else { break };
            recorder.on_chunk(micros_since(sent), &chunk, sample)?;
            if recorder.is_done() {
                self.drain(resp).await;
                return Ok(());
            }
        }
        Err(ClientError::EarlyClose {
            url,
            detail: if recorder.has_pending() {
                " (inside an unfinished event)".into()
            } else {
                String::new()
            },
        })
    }

    /// With keep-alive, reads what follows `[DONE]` (the end of the chunked
    /// body) so that hyper can return the connection to the pool: a body
    /// dropped unfinished closes its connection, and the next request would
    /// then connect anew. Bounded by [`DRAIN_AFTER_DONE`]; after the
    /// request's end was stamped, so it counts toward no metric.
    async fn drain(&self, mut resp: reqwest::Response) {
        if self.keep_alive {
            let rest = async { while let Ok(Some(_)) = resp.chunk().await {} };
            let _ = tokio::time::timeout(DRAIN_AFTER_DONE, rest).await;
        }
    }

    /// Adds the bearer token, when one is configured.
    fn authorised(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Some(auth) => req.header(reqwest::header::AUTHORIZATION, auth.clone()),
            None => req,
        }
    }

    async fn wait<T>(
        &self,
        url: &str,
        fut: impl std::future::Future<Output = T>,
    ) -> Result<T, ClientError> {
        tokio::time::timeout(self.stall, fut)
            .await
            .map_err(|_| ClientError::Stall {
                url: url.to_owned(),
                after_ms: self.stall.as_millis(),
            })
    }

    async fn status_error(&self, url: &str, resp: reqwest::Response) -> ClientError {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match self.wait(url, resp.bytes()).await {
            Ok(Ok(b)) => excerpt(&b),
            _ => String::new(),
        };
        ClientError::HttpStatus {
            url: url.to_owned(),
            status,
            retry_after,
            body,
        }
    }

    /// `POST` a JSON body to a path below the base URL and parse the JSON
    /// answer (used for `/tokenize`, never on the timing path).
    ///
    /// # Errors
    /// Connect, status, stall or a body that is not JSON.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}{}", self.base, path);
        let req = self.http.post(&url).json(body);
        self.send_for_json(&url, req).await
    }

    /// Adds the bearer token, sends, and parses a JSON answer.
    async fn send_for_json(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, ClientError> {
        let resp = self
            .wait(url, self.authorised(req).send())
            .await?
            .map_err(|e| transport_error(url, &e))?;
        self.json_body(url, resp).await
    }

    async fn json_body(
        &self,
        url: &str,
        resp: reqwest::Response,
    ) -> Result<serde_json::Value, ClientError> {
        if !resp.status().is_success() {
            return Err(self.status_error(url, resp).await);
        }
        let bytes = self
            .wait(url, resp.bytes())
            .await?
            .map_err(|e| transport_error(url, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Other {
            url: url.to_owned(),
            cause: format!("response is not JSON ({e}): {}", excerpt(&bytes)),
        })
    }

    /// `GET` a JSON document below the base URL (e.g. `/v1/models`,
    /// `/health`, `/props`).
    ///
    /// # Errors
    /// Connect, status, stall or a body that is not JSON.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}{}", self.base, path);
        let req = self.http.get(&url);
        self.send_for_json(&url, req).await
    }

    /// `GET` a text document below the base URL (e.g. Prometheus
    /// `/metrics`), never on the timing path.
    ///
    /// # Errors
    /// Connect, a non-success status (with the body's start), stall, or a
    /// body that is not UTF-8.
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let url = format!("{}{}", self.base, path);
        let req = self.authorised(self.http.get(&url));
        let resp = self
            .wait(&url, req.send())
            .await?
            .map_err(|e| transport_error(&url, &e))?;
        if !resp.status().is_success() {
            return Err(self.status_error(&url, resp).await);
        }
        let bytes = self
            .wait(&url, resp.bytes())
            .await?
            .map_err(|e| transport_error(&url, &e))?;
        String::from_utf8(bytes.to_vec()).map_err(|e| ClientError::Other {
            url,
            cause: format!("response is not UTF-8 text: {e}"),
        })
    }
}

fn transport_error(url: &str, e: &reqwest::Error) -> ClientError {
    let cause = cause_chain(e);
    if e.is_connect() {
        ClientError::Connect {
            url: url.to_owned(),
            cause,
        }
    } else {
        ClientError::Other {
            url: url.to_owned(),
            cause,
        }
    }
}

/// Normalises a base URL: requires `http(s)://`, drops a trailing `/` and a
/// trailing `/v1`.
///
/// # Errors
/// [`ClientError::InvalidUrl`] when the scheme is missing or the host empty.
pub fn normalise_base(url: &str) -> Result<String, ClientError> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(|| ClientError::InvalidUrl {
            url: url.to_owned(),
            reason: "expected http:// or https://".into(),
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(ClientError::InvalidUrl {
            url: url.to_owned(),
            reason: "no host".into(),
        });
    }
    Ok(trimmed.strip_suffix("/v1").unwrap_or(trimmed).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_normalisation() {
        assert_eq!(normalise_base("http://h:1/").unwrap(), "http://h:1");
        assert_eq!(normalise_base("http://h:1/v1").unwrap(), "http://h:1");
        assert_eq!(
            normalise_base("https://h/api/v1/").unwrap(),
            "https://h/api"
        );
        assert!(normalise_base("h:1").is_err());
        assert!(normalise_base("http://").is_err());
    }

    #[test]
    fn error_kinds() {
        let e = ClientError::Stall {
            url: "u".into(),
            after_ms: 5,
        };
        assert_eq!(e.kind(), ErrorKind::Stall);
        let e = ClientError::HttpStatus {
            url: "u".into(),
            status: 429,
            retry_after: Some("3".into()),
            body: "{}".into(),
        };
        assert_eq!(e.kind(), ErrorKind::HttpStatus);
        assert!(e.to_string().contains("Retry-After: 3"));
    }
}
