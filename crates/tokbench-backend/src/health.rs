//! HTTP plumbing: the client used for health checks and identity, one
//! health probe, and JSON GETs.

use std::time::Duration;

use crate::recipe::HealthCheck;
use crate::BackendError;

/// Longest wait for one health or identity request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A client for talking to a server we launched: no proxy (a launched
/// server is local even when `HTTP_PROXY` is set), short connect timeout.
///
/// # Errors
/// [`BackendError::Http`] when the HTTP stack cannot be initialised.
pub(crate) fn client(server: &str, base_url: &str) -> Result<reqwest::Client, BackendError> {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| BackendError::Http {
            server: server.into(),
            url: base_url.to_owned(),
            message: format!("cannot build the HTTP client: {e}"),
        })
}

/// Result of one health probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    /// Every path of the check answered 200.
    Ready,
    /// Not yet; the reason (status or transport error) for messages.
    NotReady(String),
}

/// Runs `check` once against `base_url`, each request bounded by `timeout`.
pub(crate) async fn probe(
    http: &reqwest::Client,
    base_url: &str,
    check: HealthCheck,
    timeout: Duration,
) -> Health {
    for path in check.paths() {
        if let Health::NotReady(why) = probe_path(http, base_url, path, timeout).await {
            return Health::NotReady(why);
        }
    }
    Health::Ready
}

/// `GET path` once: ready when it answers 200.
pub(crate) async fn probe_path(
    http: &reqwest::Client,
    base_url: &str,
    path: &str,
    timeout: Duration,
) -> Health {
    let url = format!("{base_url}{path}");
    match http.get(&url).timeout(timeout).send().await {
        Ok(resp) if resp.status() == reqwest::StatusCode::OK => Health::Ready,
        Ok(resp) => Health::NotReady(format!("GET {path} answered HTTP {}", resp.status())),
        Err(e) => Health::NotReady(format!("GET {path} failed: {}", describe(&e))),
    }
}

/// `GET /v1/models` once: ready when it answers 200 with a non-empty
/// `data` list.
pub(crate) async fn probe_models(
    http: &reqwest::Client,
    base_url: &str,
    timeout: Duration,
) -> Health {
    let url = format!("{base_url}/v1/models");
    let resp = match http.get(&url).timeout(timeout).send().await {
        Ok(resp) if resp.status() == reqwest::StatusCode::OK => resp,
        Ok(resp) => {
            return Health::NotReady(format!("GET /v1/models answered HTTP {}", resp.status()))
        }
        Err(e) => return Health::NotReady(format!("GET /v1/models failed: {}", describe(&e))),
    };
    let body: Option<serde_json::Value> = resp.json().await.ok();
    let listed = body
        .as_ref()
        .and_then(|b| b["data"].as_array())
        .is_some_and(|d| !d.is_empty());
    if listed {
        Health::Ready
    } else {
        Health::NotReady("GET /v1/models lists no model yet".to_owned())
    }
}

/// `GET base_url + path` and parse the body as JSON.
///
/// # Errors
/// [`BackendError::Http`] for transport errors, non-200 answers and
/// bodies that are not JSON.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    server: &str,
    base_url: &str,
    path: &str,
) -> Result<serde_json::Value, BackendError> {
    let url = format!("{base_url}{path}");
    let fail = |message: String| BackendError::Http {
        server: server.into(),
        url: url.clone(),
        message,
    };
    let resp = http
        .get(&url)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| fail(describe(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let bytes = resp.bytes().await.map_err(|e| fail(describe(&e)))?;
    serde_json::from_slice(&bytes).map_err(|e| fail(format!("the answer is not JSON ({e})")))
}

/// A reqwest error with its cause chain, on one line.
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        let m = cause.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = cause.source();
    }
    s
}
