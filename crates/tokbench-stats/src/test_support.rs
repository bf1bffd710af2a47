//! Sample builders shared by this crate's unit tests.

use crate::sample::{Channel, RequestSample, TokenEvent, Usage};

/// A successful request with content events at `(t_ms, bytes)` and, when
/// `completion_tokens` is given, usage of that many output tokens (10
/// prompt tokens).
pub(crate) fn content_sample(
    events: &[(u32, u32)],
    completion_tokens: Option<u64>,
) -> RequestSample {
    let mut s = RequestSample::new(0, false, 0, 0);
    s.events = events
        .iter()
        .map(|&(t_ms, bytes)| TokenEvent {
            t_us: t_ms * 1000,
            bytes,
            channel: Channel::Content,
        })
        .collect();
    s.usage = completion_tokens.map(|c| Usage {
        prompt_tokens: 10,
        completion_tokens: c,
        reasoning_tokens: None,
        cached_tokens: None,
    });
    s
}
