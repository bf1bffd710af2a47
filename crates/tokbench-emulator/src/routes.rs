//! HTTP routes and their handlers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::complete;
use crate::config::{EmulatorConfig, FaultMode};
use crate::metrics::{Gauges, Metrics, Scrape};
use crate::plan::RequestPlan;
use crate::request::{self, Endpoint};
use crate::slots::{Job, SlotPool, SlotTable};
use crate::stats::Counters;
use crate::stream::sse_body;
use crate::text::TEXT_MAX_TOKENS;
use crate::tokenizer::{tokenize, tokenize_text_mode};

/// Largest accepted request body (long prompts are the point of a
/// benchmark): 64 MiB.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// State shared by every handler.
#[derive(Debug)]
pub(crate) struct App {
    cfg: EmulatorConfig,
    slots: SlotPool,
    table: Arc<SlotTable>,
    counters: Arc<Counters>,
    metrics: Arc<Metrics>,
    next_index: AtomicU64,
}

impl App {
    /// State for a server running `cfg` (already validated).
    pub fn new(cfg: EmulatorConfig) -> Arc<Self> {
        let counters = Arc::new(Counters::default());
        let table = Arc::new(SlotTable::new(cfg.slots, cfg.ctx_per_slot));
        let metrics = Arc::new(Metrics::new(cfg.metrics, &cfg.model, cfg.metrics_fault));
        let slots = SlotPool::new(
            Arc::clone(&table),
            Arc::clone(&counters),
            Arc::clone(&metrics),
        );
        Arc::new(App {
            slots,
            table,
            cfg,
            counters,
            metrics,
            next_index: AtomicU64::new(0),
        })
    }

    /// The live counters.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }
}

/// The emulator's router.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/models", get(models))
        .route("/props", get(props))
        .route("/metrics", get(metrics))
        .route("/slots", get(slots))
        .route("/tokenize", post(tokenize_handler))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

/// An OpenAI-style error response:
/// `{"error":{"message":…,"type":…,"code":STATUS}}`.
pub(crate) fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn models(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": app.cfg.model, "object": "model", "owned_by": "tokbench"}],
    }))
}

async fn props(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({
        "build_info": concat!("tokbench-emulator ", env!("CARGO_PKG_VERSION")),
        "total_slots": app.cfg.slots,
        "model_path": "emulator",
    }))
}

/// `GET /metrics`: the configured engine's exposition (see
/// [`crate::exposition`]), 501 when disabled, 500 under the `Http500`
/// metrics fault.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let stats = app.counters.snapshot();
    let gauges = Gauges {
        running: stats.in_flight,
        waiting: stats.queued,
        kv_usage: app.table.kv_usage(),
    };
    match app.metrics.scrape(gauges) {
        Scrape::Text(text) => {
            let mut response = Response::new(Body::from(text));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(EXPOSITION_CONTENT_TYPE),
            );
            response
        }
        Scrape::Disabled => error_response(
            StatusCode::NOT_IMPLEMENTED,
            "not_supported_error",
            "This server does not support metrics endpoint. Start it with `--metrics`",
        ),
        Scrape::Failed => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "emulated /metrics failure",
        ),
    }
}

/// `Content-Type` of the Prometheus text format 0.0.4.
const EXPOSITION_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /slots`: llama-server's per-slot array (see [`crate::slots`]).
async fn slots(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.table.to_json())
}

#[derive(Deserialize)]
struct TokenizeBody {
    content: String,
}

/// `/tokenize`: word ids; in deterministic-text mode generated tokens keep
/// their stream ids ([`tokenize_text_mode`]).
async fn tokenize_handler(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match serde_json::from_slice::<TokenizeBody>(&body) {
        Ok(req) => {
            let tokens = match app.cfg.text_seed {
                Some(_) => tokenize_text_mode(&req.content),
                None => tokenize(&req.content),
            };
            Json(json!({ "tokens": tokens })).into_response()
        }
        Err(err) => bad_request(&err.to_string()),
    }
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

async fn chat(State(app): State<Arc<App>>, body: Bytes) -> Response {
    completion(app, Endpoint::Chat, &body).await
}

async fn completions(State(app): State<Arc<App>>, body: Bytes) -> Response {
    completion(app, Endpoint::Completions, &body).await
}

/// Parses, plans, applies HTTP-level faults (before queueing, like a
/// server rejecting at the door), waits for a slot, then answers.
async fn completion(app: Arc<App>, endpoint: Endpoint, body: &[u8]) -> Response {
    let arrived = tokio::time::Instant::now();
    let request = match request::parse(endpoint, body) {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    let tokens = request.max_tokens.unwrap_or(app.cfg.default_max_tokens);
    if app.cfg.text_seed.is_some() && tokens > TEXT_MAX_TOKENS {
        let message = format!(
            "deterministic text is generated up front: at most {TEXT_MAX_TOKENS} tokens, got {tokens}"
        );
        return bad_request(&message);
    }
    app.counters.received();
    let index = app.next_index.fetch_add(1, Ordering::Relaxed);
    let plan = RequestPlan::new(&app.cfg, request, index);
    if let Some(response) = http_fault(plan.fault) {
        app.counters.served();
        return response;
    }
    let job = Job::new(&plan, index, arrived);
    let Some(slot) = app.slots.acquire(job).await else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable_error",
            "emulator is shutting down",
        );
    };
    let (model, timings) = (app.cfg.model.as_str(), app.cfg.emit_timings);
    if !request.stream {
        return complete::respond(plan, slot, model, timings).await;
    }
    let mut response = Response::new(Body::from_stream(sse_body(plan, slot, model, timings)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The response of an HTTP-level fault (500, 429), if `fault` is one.
fn http_fault(fault: Option<FaultMode>) -> Option<Response> {
    match fault? {
        FaultMode::Http500 => Some(error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "emulated internal error",
        )),
        FaultMode::Http429 { retry_after_s } => {
            let mut response = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "emulated rate limit: retry later",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            Some(response)
        }
        _ => None,
    }
}
