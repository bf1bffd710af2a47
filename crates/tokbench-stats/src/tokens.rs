//! Token counting: how many tokens a request produced, of which kind, and
//! how many tokens each stream event carried.
//!
//! Rules (see `docs/methodology.md#token-counting`):
//!
//! * Output tokens: the server's `usage.completion_tokens` when the stream
//!   carried a `usage` object, otherwise the number of token events (one SSE
//!   event with text is assumed to carry one token).
//! * Discrepancy: `usage.completion_tokens − events` when usage is present.
//!   Positive values mean events carried several tokens (or the server
//!   counts tokens it never streamed); negative values mean tokens were
//!   split across events.
//! * Reasoning tokens: `usage.completion_tokens_details.reasoning_tokens`
//!   when reported; else, with usage present, the reasoning share of events
//!   scaled to the usage total, `round(reasoning_events · output / events)`
//!   (half rounds up); else the reasoning event count. Clamped to
//!   `output_tokens`.
//! * Content tokens: `output − reasoning`; tool-call tokens are counted on
//!   the content side.
//! * Prompt tokens: `usage.prompt_tokens`, else the workload's hint.
//! * First arrival: the first token event and every event that arrived in
//!   the same network chunk (same `t_us`); its tokens, `Σ nᵢ` by
//!   [`apportion_tokens`], are left out of the decode rate and of ITL
//!   ([`tokens_in_first_arrival`]).

use serde::{Deserialize, Serialize};

use crate::sample::{Channel, RequestSample, TokenEvent, Usage};

/// Where a request's output-token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `usage.completion_tokens` reported by the server.
    Usage,
    /// Count of token events in the stream (no usage reported).
    StreamEvents,
}

/// Token counts of one request, derived by the rules in the
/// [module docs](self). All counts are tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Output (completion) tokens, reasoning included.
    pub output_tokens: u64,
    /// Where `output_tokens` came from.
    pub source: TokenSource,
    /// `usage.completion_tokens − token events` when usage is present.
    pub discrepancy: Option<i64>,
    /// Reasoning tokens (`≤ output_tokens`).
    pub reasoning_tokens: u64,
    /// `output_tokens − reasoning_tokens` (content and tool-call tokens).
    pub content_tokens: u64,
    /// Prompt tokens: usage first, else the workload's hint; `None` if
    /// neither is known.
    pub prompt_tokens: Option<u64>,
}

impl TokenCounts {
    /// Derive the token counts of `sample`; never fails.
    pub fn from_sample(sample: &RequestSample) -> Self {
        let events = sample.events.len() as u64;
        let (output_tokens, source) = output_tokens(sample);
        let discrepancy = sample
            .usage
            .map(|u| to_i64(u.completion_tokens).saturating_sub(to_i64(events)));
        let reasoning_tokens = reasoning_tokens(sample, output_tokens);
        Self {
            output_tokens,
            source,
            discrepancy,
            reasoning_tokens,
            content_tokens: output_tokens - reasoning_tokens,
            prompt_tokens: sample
                .usage
                .map(|u| u.prompt_tokens)
                .or(sample.prompt_tokens_hint),
        }
    }
}

/// Output tokens of `sample` and their source: `usage.completion_tokens`
/// when usage is present, else the number of token events.
pub fn output_tokens(sample: &RequestSample) -> (u64, TokenSource) {
    match sample.usage {
        Some(u) => (u.completion_tokens, TokenSource::Usage),
        None => (sample.events.len() as u64, TokenSource::StreamEvents),
    }
}

/// Reasoning tokens by the rule in the [module docs](self), clamped to
/// `output`.
fn reasoning_tokens(sample: &RequestSample, output: u64) -> u64 {
    let reasoning_events = sample
        .events
        .iter()
        .filter(|e| e.channel == Channel::Reasoning)
        .count() as u64;
    let events = sample.events.len() as u64;
    let reasoning = match sample.usage {
        Some(Usage {
            reasoning_tokens: Some(r),
            ..
        }) => r,
        Some(_) => scale_rounded(reasoning_events, output, events),
        None => reasoning_events,
    };
    reasoning.min(output)
}

/// `round(part · total / whole)` with halves rounded up, exact in integers:
/// `⌊(2·part·total + whole) / (2·whole)⌋`. `0` when `whole == 0`.
fn scale_rounded(part: u64, total: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    let (p, t, w) = (u128::from(part), u128::from(total), u128::from(whole));
    let r = (2 * p * t + w) / (2 * w);
    u64::try_from(r).unwrap_or(u64::MAX)
}

fn to_i64(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// Estimate how many tokens each event carried; writes one count per event
/// into `out` (cleared first), in event order.
///
/// * `output_tokens ≤ events.len()`: every event carries 1 token. (When
///   usage reports fewer tokens than events, the events are trusted for
///   timing purposes; the mismatch stays visible as the discrepancy.)
/// * otherwise `output_tokens` is apportioned proportionally to each event's
///   `bytes`, with every event getting at least 1 token: events whose
///   proportional quota is below 1 are fixed at 1 (smallest first, quotas of
///   the rest recomputed), then the remaining tokens are split among the
///   rest by the largest-remainder (Hamilton) method, ties going to the
///   earlier event. If every event has 0 bytes, all weigh the same. The
///   counts then sum to `output_tokens` exactly.
///
/// Integer arithmetic throughout, so results are exact and deterministic.
/// O(m log m) for `m` events.
pub fn apportion_tokens(events: &[TokenEvent], output_tokens: u64, out: &mut Vec<u64>) {
    out.clear();
    out.resize(events.len(), 1);
    if output_tokens <= events.len() as u64 {
        return;
    }
    let all_zero = events.iter().all(|e| e.bytes == 0);
    let weight = |e: &TokenEvent| if all_zero { 1 } else { u128::from(e.bytes) };
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].bytes, i));
    let mut tokens = u128::from(output_tokens);
    let mut total: u128 = events.iter().map(weight).sum();
    let mut fixed = 0;
    for &i in &order {
        let w = weight(&events[i]);
        // Quota w·tokens/total ≥ 1: this and every heavier event stay free.
        if w * tokens >= total {
            break;
        }
        tokens -= 1;
        total -= w;
        fixed += 1;
    }
    largest_remainder(events, &order[fixed..], tokens, total, &weight, out);
}

/// Number of events in the *first arrival*: the first event and every
/// later event with the same `t_us` (events that arrived in the same network
/// chunk). `0` for no events.
pub fn first_arrival_len(events: &[TokenEvent]) -> usize {
    let Some(first) = events.first() else {
        return 0;
    };
    events.iter().take_while(|e| e.t_us == first.t_us).count()
}

/// Tokens that arrived in the first arrival ([`first_arrival_len`] events),
/// by the per-event estimate of [`apportion_tokens`]: `Σ nᵢ` over those
/// events. With `output_tokens ≤ events.len()` every event counts 1, so this
/// is the number of events in the first arrival (no allocation); otherwise
/// the apportioned counts are summed. `0` for no events.
pub fn tokens_in_first_arrival(events: &[TokenEvent], output_tokens: u64) -> u64 {
    let first = first_arrival_len(events);
    if output_tokens <= events.len() as u64 {
        return first as u64;
    }
    let mut counts = Vec::with_capacity(events.len());
    apportion_tokens(events, output_tokens, &mut counts);
    counts.iter().take(first).sum()
}

/// Split `tokens` among the `free` events proportionally to `weight`
/// (summing to `total > 0`), by the largest-remainder method.
fn largest_remainder(
    events: &[TokenEvent],
    free: &[usize],
    tokens: u128,
    total: u128,
    weight: &dyn Fn(&TokenEvent) -> u128,
    out: &mut [u64],
) {
    if total == 0 {
        return;
    }
    let mut assigned = 0u128;
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(free.len());
    for &i in free {
        let share = weight(&events[i]) * tokens;
        let whole = share / total;
        out[i] = u64::try_from(whole).unwrap_or(u64::MAX);
        assigned += whole;
        remainders.push((share % total, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let leftover = usize::try_from(tokens.saturating_sub(assigned)).unwrap_or(usize::MAX);
    for &(_, i) in remainders.iter().take(leftover) {
        out[i] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(t_ms: u32, bytes: u32, channel: Channel) -> TokenEvent {
        TokenEvent {
            t_us: t_ms * 1000,
            bytes,
            channel,
        }
    }

    fn with_bytes(bytes: &[u32]) -> Vec<TokenEvent> {
        bytes.iter().map(|&b| ev(0, b, Channel::Content)).collect()
    }

    fn apportion(bytes: &[u32], output: u64) -> Vec<u64> {
        let mut out = vec![99];
        apportion_tokens(&with_bytes(bytes), output, &mut out);
        out
    }

    #[test]
    fn one_token_per_event_when_counts_match_or_usage_is_lower() {
        assert_eq!(apportion(&[5, 1, 9], 3), vec![1, 1, 1]);
        assert_eq!(apportion(&[5, 1, 9], 2), vec![1, 1, 1]);
        assert_eq!(apportion(&[], 4), Vec::<u64>::new());
    }

    #[test]
    fn exact_proportional_split() {
        // 5 tokens, bytes [4, 12, 4] (total 20): quotas 1, 3, 1 exactly.
        assert_eq!(apportion(&[4, 12, 4], 5), vec![1, 3, 1]);
    }

    #[test]
    fn small_events_are_fixed_at_one() {
        // 5 tokens, bytes [1, 1, 8]: plain proportional quotas 0.5, 0.5, 4
        // would leave events with 0 tokens. Smallest first: 1·5 < 10 → fix
        // (4 tokens, 9 bytes left); 1·4 < 9 → fix (3 tokens, 8 bytes);
        // 8·3 ≥ 8 → free, gets all 3.
        assert_eq!(apportion(&[1, 1, 8], 5), vec![1, 1, 3]);
    }

    #[test]
    fn largest_remainder_ties_go_to_earlier_event() {
        // 7 tokens, bytes [4, 12, 4] (total 20): shares 28, 84, 28 →
        // floors 1, 4, 1 (sum 6), remainders 8, 4, 8 → the one leftover
        // token goes to the earlier of the two remainder-8 events.
        assert_eq!(apportion(&[4, 12, 4], 7), vec![2, 4, 1]);
    }

    #[test]
    fn zero_byte_events() {
        // All zero: equal weights, 5 tokens over 2 → 2 r1, 2 r1 → [3, 2].
        assert_eq!(apportion(&[0, 0], 5), vec![3, 2]);
        // A zero-byte event among others is fixed at 1: 6 tokens, bytes
        // [0, 10]: 0·6 < 10 → fix; 10·5 ≥ 10 → free, gets 5.
        assert_eq!(apportion(&[0, 10], 6), vec![1, 5]);
    }

    fn sample(events: Vec<TokenEvent>, usage: Option<Usage>) -> RequestSample {
        let mut s = RequestSample::new(0, false, 0, 0);
        s.events = events;
        s.usage = usage;
        s.prompt_tokens_hint = Some(64);
        s
    }

    fn mixed_events() -> Vec<TokenEvent> {
        // 2 reasoning events then 3 content events.
        vec![
            ev(100, 3, Channel::Reasoning),
            ev(120, 3, Channel::Reasoning),
            ev(140, 3, Channel::Content),
            ev(160, 3, Channel::Content),
            ev(180, 3, Channel::ToolCall),
        ]
    }

    #[test]
    fn stream_events_fallback() {
        let c = TokenCounts::from_sample(&sample(mixed_events(), None));
        assert_eq!(c.output_tokens, 5);
        assert_eq!(c.source, TokenSource::StreamEvents);
        assert_eq!(c.discrepancy, None);
        // 2 reasoning events; content = 5 − 2 (tool call counts as content)
        assert_eq!((c.reasoning_tokens, c.content_tokens), (2, 3));
        assert_eq!(c.prompt_tokens, Some(64));
    }

    #[test]
    fn usage_first_with_scaled_reasoning() {
        let usage = Usage {
            prompt_tokens: 80,
            completion_tokens: 10,
            reasoning_tokens: None,
            cached_tokens: None,
        };
        let c = TokenCounts::from_sample(&sample(mixed_events(), Some(usage)));
        assert_eq!((c.output_tokens, c.source), (10, TokenSource::Usage));
        // 10 usage tokens − 5 events
        assert_eq!(c.discrepancy, Some(5));
        // round(2 · 10 / 5) = 4 reasoning, 6 content
        assert_eq!((c.reasoning_tokens, c.content_tokens), (4, 6));
        assert_eq!(c.prompt_tokens, Some(80));
    }

    #[test]
    fn usage_reasoning_detail_wins_and_is_clamped() {
        let usage = Usage {
            prompt_tokens: 80,
            completion_tokens: 4,
            reasoning_tokens: Some(3),
            cached_tokens: None,
        };
        let c = TokenCounts::from_sample(&sample(mixed_events(), Some(usage)));
        // 4 − 5 events = −1: tokens split across events
        assert_eq!(c.discrepancy, Some(-1));
        assert_eq!((c.reasoning_tokens, c.content_tokens), (3, 1));
        let bogus = Usage {
            reasoning_tokens: Some(9),
            ..usage
        };
        let c = TokenCounts::from_sample(&sample(mixed_events(), Some(bogus)));
        assert_eq!((c.reasoning_tokens, c.content_tokens), (4, 0));
    }

    #[test]
    fn scaled_reasoning_rounds_half_up() {
        // 1.5 → 2; 4/3 ≈ 1.33 → 1; 8/3 ≈ 2.67 → 3
        assert_eq!(scale_rounded(1, 3, 2), 2);
        assert_eq!(scale_rounded(1, 4, 3), 1);
        assert_eq!(scale_rounded(2, 4, 3), 3);
        assert_eq!(scale_rounded(2, 4, 0), 0);
    }

    #[test]
    fn first_arrival_counts_events_and_their_tokens() {
        let at = |ms: &[(u32, u32)]| -> Vec<TokenEvent> {
            ms.iter()
                .map(|&(t, b)| ev(t, b, Channel::Content))
                .collect()
        };
        assert_eq!(first_arrival_len(&[]), 0);
        assert_eq!(tokens_in_first_arrival(&[], 5), 0);
        // Four events in the first chunk (t = 100 ms), one later.
        let events = at(&[(100, 4), (100, 4), (100, 4), (100, 4), (120, 4)]);
        assert_eq!(first_arrival_len(&events), 4);
        // No usage beyond the events: one token each → 4.
        assert_eq!(tokens_in_first_arrival(&events, 5), 4);
        // 10 tokens over equal bytes [4; 5]: shares 8/4 = 2 each → 2·4 = 8.
        assert_eq!(tokens_in_first_arrival(&events, 10), 8);
        // Distinct times: only the first event; bytes [4, 12, 4], 5 tokens
        // → counts [1, 3, 1] → 1.
        let events = at(&[(100, 4), (130, 12), (150, 4)]);
        assert_eq!(first_arrival_len(&events), 1);
        assert_eq!(tokens_in_first_arrival(&events, 5), 1);
        // bytes [12, 4, 4], 5 tokens → counts [3, 1, 1] → 3.
        let events = at(&[(100, 12), (130, 4), (150, 4)]);
        assert_eq!(tokens_in_first_arrival(&events, 5), 3);
    }

    proptest! {
        #[test]
        fn apportion_invariants(
            bytes in prop::collection::vec(0u32..200, 1..40),
            extra in 0u64..500,
        ) {
            let output = bytes.len() as u64 + extra;
            let counts = apportion(&bytes, output);
            prop_assert_eq!(counts.len(), bytes.len());
            prop_assert_eq!(counts.iter().sum::<u64>(), output);
            prop_assert!(counts.iter().all(|&c| c >= 1));
            for i in 0..bytes.len() {
                for j in 0..bytes.len() {
                    if bytes[i] > bytes[j] {
                        prop_assert!(counts[i] >= counts[j], "{:?} → {:?}", bytes, counts);
                    }
                }
            }
        }
    }
}
