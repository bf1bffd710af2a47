//! Helpers shared by the integration tests: spawning an emulator and
//! reading raw SSE bytes with arrival instants.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokbench_emulator::{spawn, EmulatorConfig, EmulatorHandle, Prefill};

/// A fast schedule for tests: 20 ms prefill, 200 tok/s.
pub fn fast() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_prefill(Prefill::Fixed { ms: 20.0 })
        .with_decode_tok_s(200.0)
}

/// Spawns `cfg` on 127.0.0.1:0.
pub async fn start(cfg: EmulatorConfig) -> EmulatorHandle {
    spawn(([127, 0, 0, 1], 0).into(), cfg).await.unwrap()
}

/// A client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A streaming chat request body with a 4-word prompt.
pub fn chat_body(max_tokens: u32, include_usage: bool) -> Value {
    json!({
        "model": "x",
        "messages": [{"role": "user", "content": "say four words please"}],
        "max_tokens": max_tokens,
        "stream": true,
        "stream_options": {"include_usage": include_usage},
    })
}

/// One SSE event: its `data:` payload and when its last byte arrived.
#[derive(Debug, Clone)]
pub struct Event {
    /// Arrival of the read that completed the event.
    pub at: Instant,
    /// The text after `data: `.
    pub data: String,
}

impl Event {
    /// The payload as JSON, if it parses.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }

    /// `data: [DONE]`.
    pub fn is_done(&self) -> bool {
        self.data == "[DONE]"
    }
}

/// Everything read from one streamed response.
#[derive(Debug)]
pub struct Streamed {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// When the request was sent.
    pub sent: Instant,
    /// Complete events, in order.
    pub events: Vec<Event>,
    /// The body read error, if the body ended abnormally.
    pub error: Option<String>,
    /// Bytes after the last complete event.
    pub trailing: Vec<u8>,
}

impl Streamed {
    /// JSON events that carry tokens (content, reasoning or text).
    pub fn token_events(&self) -> Vec<(Instant, Value)> {
        self.events
            .iter()
            .filter_map(|e| e.json().map(|j| (e.at, j)))
            .filter(|(_, j)| is_token_event(j))
            .collect()
    }

    /// Whether `data: [DONE]` arrived.
    pub fn has_done(&self) -> bool {
        self.events.iter().any(Event::is_done)
    }
}

/// Whether a chunk carries generated text.
pub fn is_token_event(chunk: &Value) -> bool {
    let choice = &chunk["choices"][0];
    let delta = &choice["delta"];
    [
        &delta["content"],
        &delta["reasoning_content"],
        &choice["text"],
    ]
    .iter()
    .any(|v| v.as_str().is_some_and(|s| !s.is_empty()))
}

/// POSTs `body` to `base + path` and reads the raw body chunk by chunk.
pub async fn stream(base: &str, path: &str, body: &Value) -> Streamed {
    let sent = Instant::now();
    let mut response = client()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let mut buf: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let error = loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                let at = Instant::now();
                buf.extend_from_slice(&bytes);
                drain_events(&mut buf, at, &mut events);
            }
            Ok(None) => break None,
            Err(err) => break Some(err.to_string()),
        }
    };
    Streamed {
        status,
        headers,
        sent,
        events,
        error,
        trailing: buf,
    }
}

fn drain_events(buf: &mut Vec<u8>, at: Instant, events: &mut Vec<Event>) {
    while let Some(pos) = buf.windows(2).position(|w| w == b"\n\n") {
        let raw: Vec<u8> = buf.drain(..pos + 2).collect();
        let text = String::from_utf8(raw[..pos].to_vec()).expect("event is UTF-8");
        let data = text
            .strip_prefix("data: ")
            .expect("event starts with data: ");
        events.push(Event {
            at,
            data: data.to_owned(),
        });
    }
}

/// GETs `base + path` and returns status and JSON body.
pub async fn get_json(base: &str, path: &str) -> (StatusCode, Value) {
    let response = client().get(format!("{base}{path}")).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// POSTs raw `body` to `base + path`; returns status, headers, body text.
pub async fn post_raw(base: &str, path: &str, body: &str) -> (StatusCode, HeaderMap, String) {
    let response = client()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// `ms` milliseconds.
pub fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A minimal HTTP/1.1 client for load checks: POSTs `body` to `path` on
/// `addr` and returns the arrival instant of every SSE event (`data: `
/// occurrences), the first being the role chunk. Much cheaper per event than
/// reqwest, so that a load check measures the server rather than the client.
pub async fn raw_event_arrivals(
    addr: std::net::SocketAddr,
    path: &str,
    body: &Value,
) -> Vec<Instant> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body.as_bytes()).await.unwrap();
    let mut arrivals = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        if n == 0 {
            return arrivals;
        }
        let at = Instant::now();
        carry.extend_from_slice(&buf[..n]);
        let found = carry.windows(6).filter(|w| w == b"data: ").count();
        arrivals.extend(std::iter::repeat_n(at, found));
        // Keep the last 5 bytes: a marker may straddle two reads.
        let keep = carry.len().saturating_sub(5);
        carry.drain(..keep);
    }
}
