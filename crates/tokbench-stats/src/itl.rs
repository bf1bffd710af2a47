//! Inter-token latency (ITL), normalised per token.
//!
//! A stream event may carry several tokens (servers batch tokens into one
//! SSE event, or several events share one network chunk). Raw gaps between
//! events would then mix "one token took 40 ms" with "four tokens took
//! 40 ms". tokbench therefore estimates the tokens `nᵢ` each event carried
//! ([`crate::tokens::apportion_tokens`]) and lets the gap that *ends* at
//! event `i` (from event `i − 1`) contribute `nᵢ` values of `gapᵢ / nᵢ`.
//!
//! Consequences: a request yields `output_tokens − n₀` ITL values (the first
//! event's tokens are covered by TTFT); when events and tokens correspond
//! one-to-one the values are the raw event gaps; events that arrived in the
//! same network chunk share a timestamp and contribute gaps of 0 ms.

use crate::sample::RequestSample;
use crate::tokens::{apportion_tokens, output_tokens};

/// Append the normalised ITL values of `sample`, in milliseconds and in
/// stream order, to `out` (nothing is cleared, so one buffer can collect a
/// whole cell). Uses the same output-token count as
/// [`crate::RequestMetrics`]. Appends nothing for fewer than two events.
///
/// Memory: appends `output_tokens − n₀` values, so a server that reports an
/// absurd `usage.completion_tokens` makes this buffer grow accordingly.
pub fn append_itl_ms(sample: &RequestSample, out: &mut Vec<f64>) {
    if sample.events.len() < 2 {
        return;
    }
    let (output, _) = output_tokens(sample);
    let mut counts = Vec::with_capacity(sample.events.len());
    apportion_tokens(&sample.events, output, &mut counts);
    for (pair, &n) in sample.events.windows(2).zip(counts.iter().skip(1)) {
        if n == 0 {
            continue;
        }
        let gap_ms = f64::from(pair[1].t_us.saturating_sub(pair[0].t_us)) / 1000.0;
        let per_token = gap_ms / n as f64;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        out.extend(std::iter::repeat_n(per_token, n));
    }
}

/// The normalised ITL values of one request, in ms (convenience wrapper of
/// [`append_itl_ms`]).
pub fn itl_ms(sample: &RequestSample) -> Vec<f64> {
    let mut out = Vec::new();
    append_itl_ms(sample, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Channel, TokenEvent, Usage};

    fn sample(events: &[(u32, u32)], completion_tokens: Option<u64>) -> RequestSample {
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

    #[test]
    fn one_token_per_event_gives_raw_gaps() {
        // events at 200, 220, 250 ms → gaps 20, 30
        let s = sample(&[(200, 3), (220, 3), (250, 3)], None);
        assert_eq!(itl_ms(&s), vec![20.0, 30.0]);
    }

    #[test]
    fn multi_token_chunk_is_normalised() {
        // 5 tokens over bytes [4, 12, 4] → counts [1, 3, 1].
        // gap 100→130 ms = 30 ms carried 3 tokens → 10, 10, 10;
        // gap 130→150 ms = 20 ms carried 1 token → 20.
        let s = sample(&[(100, 4), (130, 12), (150, 4)], Some(5));
        assert_eq!(itl_ms(&s), vec![10.0, 10.0, 10.0, 20.0]);
    }

    #[test]
    fn appends_without_clearing_and_ignores_single_event() {
        let mut buf = vec![1.5];
        append_itl_ms(&sample(&[(10, 1)], Some(4)), &mut buf);
        assert_eq!(buf, vec![1.5]);
        append_itl_ms(&sample(&[(10, 1), (14, 1)], None), &mut buf);
        assert_eq!(buf, vec![1.5, 4.0]);
    }

    #[test]
    fn same_chunk_events_give_zero_gaps() {
        let s = sample(&[(50, 2), (50, 2), (60, 2)], None);
        assert_eq!(itl_ms(&s), vec![0.0, 10.0]);
    }
}
