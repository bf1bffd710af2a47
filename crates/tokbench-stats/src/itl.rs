//! Inter-token latency (ITL), normalised per token.
//!
//! A stream event may carry several tokens (servers batch tokens into one
//! SSE event, or several events share one network chunk). Raw gaps between
//! events would then mix "one token took 40 ms" with "four tokens took
//! 40 ms". tokbench therefore estimates the tokens `nᵢ` each event carried
//! ([`crate::tokens::apportion_tokens`]) and lets the gap that *ends* at
//! event `i` (from event `i − 1`) contribute `nᵢ` values of `gapᵢ / nᵢ`.
//!
//! The events of the *first arrival* (the first event and every event that
//! arrived in the same network chunk, [`first_arrival_len`]) contribute
//! nothing: their tokens are covered by TTFT, exactly as they are left out of
//! the decode rate ([`crate::metrics`]).
//!
//! Consequences: a request yields `output_tokens − first_arrival_tokens` ITL
//! values, summing to `t_last − t_first`, so their mean equals TPOT; when
//! events and tokens correspond one-to-one the values are the raw event gaps;
//! later events that arrived in the same network chunk share a timestamp and
//! contribute gaps of 0 ms.

use crate::sample::RequestSample;
use crate::tokens::{apportion_tokens, first_arrival_len, output_tokens};

/// Append the normalised ITL values of `sample`, in milliseconds and in
/// stream order, to `out` (nothing is cleared, so one buffer can collect a
/// whole cell). Uses the same output-token count as
/// [`crate::RequestMetrics`]. Appends nothing when no event arrived after
/// the first arrival.
///
/// Memory: appends `output_tokens − first_arrival_tokens` values, so a
/// server that reports an absurd `usage.completion_tokens` makes this buffer
/// grow accordingly.
pub fn append_itl_ms(sample: &RequestSample, out: &mut Vec<f64>) {
    let events = &sample.events;
    let first = first_arrival_len(events);
    if events.len() <= first {
        return;
    }
    let (output, _) = output_tokens(sample);
    let mut counts = Vec::with_capacity(events.len());
    apportion_tokens(events, output, &mut counts);
    // Pair `i − 1, i` for every event `i` after the first arrival.
    let pairs = events.windows(2).zip(&counts[1..]).skip(first - 1);
    for (pair, &n) in pairs {
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

    use crate::test_support::content_sample as sample;

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
    fn later_same_chunk_events_give_zero_gaps() {
        // Arrivals at 50 and 60 ms; the second carries two events.
        let s = sample(&[(50, 2), (60, 2), (60, 2)], None);
        assert_eq!(itl_ms(&s), vec![10.0, 0.0]);
    }

    #[test]
    fn first_arrival_events_are_left_out() {
        // Two events at 50 ms (the first arrival, covered by TTFT), one at
        // 60 ms: only the 10 ms gap counts.
        let s = sample(&[(50, 2), (50, 2), (60, 2)], None);
        assert_eq!(itl_ms(&s), vec![10.0]);
        // Everything in one chunk: no value at all.
        assert!(itl_ms(&sample(&[(50, 2), (50, 2)], None)).is_empty());
    }

    #[test]
    fn coalesced_stream_mean_equals_tpot() {
        // 4 events per arrival, arrivals every 20 ms from 100 ms: 20 events,
        // 1 token each. First arrival (4 tokens) left out; each later
        // arrival gives [20, 0, 0, 0] → 16 values summing to 80 ms, mean
        // 80 / 16 = 5 ms = TPOT at 200 tok/s.
        let events: Vec<(u32, u32)> = (0..20).map(|i| (100 + 20 * (i / 4), 6)).collect();
        let v = itl_ms(&sample(&events, None));
        assert_eq!(v.len(), 16);
        assert_eq!(v[..4], [20.0, 0.0, 0.0, 0.0]);
        assert_eq!(v.iter().sum::<f64>(), 80.0);
    }
}
