//! Non-streaming responses: wait for the schedule to play out, then answer
//! with one JSON completion.
//!
//! The request is held until its last token's deadline, so the total latency
//! matches a streamed request. Faults: `StallMidStream` lengthens the wait;
//! `NoUsage` omits `usage`; `MalformedChunk` truncates the JSON body (status
//! 200, invalid JSON); `CloseMidStream` sends the status line and headers at
//! the fault point and then closes the connection without a body.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use futures_util::stream;
use serde_json::{json, Value};
use tokio::time::{sleep_until, Instant};

use crate::config::FaultMode;
use crate::error::StreamAborted;
use crate::events::{token_text, Usage};
use crate::plan::RequestPlan;
use crate::request::Endpoint;
use crate::slots::Slot;
use crate::timings::Timings;

/// Offsets (from slot acquisition) that a non-streaming request waits for.
struct Waypoints {
    first: Duration,
    last: Duration,
    close_at: Option<Duration>,
}

fn waypoints(plan: &RequestPlan) -> Waypoints {
    let close_after = match plan.fault {
        Some(FaultMode::CloseMidStream { after_tokens }) => Some(after_tokens),
        _ => None,
    };
    let mut points = Waypoints {
        first: plan.schedule.prefill,
        last: plan.schedule.prefill,
        close_at: close_after.filter(|&a| a == 0).map(|_| Duration::ZERO),
    };
    for (i, group) in plan.schedule.groups(plan.rng.clone()).enumerate() {
        if i == 0 {
            points.first = group.offset;
        }
        points.last = group.offset;
        if points.close_at.is_none() && close_after.is_some_and(|a| group.end >= a) {
            points.close_at = Some(group.offset);
        }
    }
    points
}

/// Waits for `plan`'s schedule while holding `slot`, then builds the
/// response.
pub(crate) async fn respond(
    plan: RequestPlan,
    slot: Slot,
    model: &str,
    emit_timings: bool,
) -> Response {
    let points = waypoints(&plan);
    if let Some(close_at) = points.close_at {
        sleep_until(slot.acquired + close_at).await;
        slot.mark_served();
        let body = stream::once(async {
            // Pending once, so that hyper flushes the headers first.
            tokio::task::yield_now().await;
            Err::<bytes::Bytes, _>(StreamAborted)
        });
        return json_response(Body::from_stream(body));
    }
    sleep_until(slot.acquired + points.first).await;
    let first = Instant::now();
    sleep_until(slot.acquired + points.last).await;
    let last = Instant::now();
    let timings = emit_timings.then(|| {
        let (prompt_n, predicted_n) = (plan.request.prompt_tokens, u64::from(plan.tokens));
        Timings::measured(prompt_n, predicted_n, slot.acquired, first, last).to_json()
    });
    let text = completion_json(&plan, model, timings).to_string();
    slot.mark_completed();
    if matches!(plan.fault, Some(FaultMode::MalformedChunk { .. })) {
        return json_response(Body::from(truncate(&text)));
    }
    json_response(Body::from(text))
}

/// Cuts `text` just inside its `choices` array and appends garbage, so the
/// result is not valid JSON.
fn truncate(text: &str) -> String {
    let cut = text.find("\"choices\"").unwrap_or(0);
    format!("{}#tokbench-emulated-garbage#", &text[..cut])
}

fn json_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    *response.status_mut() = StatusCode::OK;
    response
}

/// Text of tokens `start..end` of `plan`.
fn text(plan: &RequestPlan, start: u32, end: u32) -> String {
    match &plan.text {
        Some(text) => text.text(start..end),
        None => token_text(start, end),
    }
}

/// The choice of `plan`'s completion object.
fn choice_json(plan: &RequestPlan) -> Value {
    let logprobs = plan.text.as_ref().and_then(|t| t.logprobs(0..plan.tokens));
    match plan.request.endpoint {
        Endpoint::Chat => {
            let mut message = json!({
                "role": "assistant",
                "content": text(plan, plan.reasoning, plan.tokens),
            });
            if plan.reasoning > 0 {
                message["reasoning_content"] = Value::from(text(plan, 0, plan.reasoning));
            }
            let mut choice = json!({"index": 0, "message": message, "finish_reason": "length"});
            if let Some(logprobs) = logprobs {
                choice["logprobs"] = logprobs;
            }
            choice
        }
        Endpoint::Completions => json!({
            "index": 0,
            "text": text(plan, 0, plan.tokens),
            "logprobs": logprobs,
            "finish_reason": "length",
        }),
    }
}

/// The full completion object of `plan`.
fn completion_json(plan: &RequestPlan, model: &str, timings: Option<Value>) -> Value {
    let choice = choice_json(plan);
    let object = match plan.request.endpoint {
        Endpoint::Chat => "chat.completion",
        Endpoint::Completions => "text_completion",
    };
    let mut body = json!({
        "id": plan.id,
        "object": object,
        "created": plan.created,
        "model": model,
        "choices": [choice],
    });
    if plan.fault != Some(FaultMode::NoUsage) {
        let usage = Usage {
            prompt: plan.request.prompt_tokens,
            completion: u64::from(plan.tokens),
            reasoning: u64::from(plan.reasoning),
        };
        body["usage"] = usage.to_json();
    }
    if let Some(timings) = timings {
        body["timings"] = timings;
    }
    body
}
