//! The token schedule: pure deadline arithmetic, no clocks and no I/O.
//!
//! All instants are offsets from `A`, the instant the request acquired its
//! slot. Prefill ends at `P = A + prefill`. Token `i` (0-based) is due at
//! `P + i / decode_tok_s`, plus the stall if `i` comes after a
//! `StallMidStream` fault point, plus an optional jitter. Every deadline is
//! computed from its index, never by adding intervals, so there is no drift.
//!
//! Jitter: token `i` gets a uniform offset `u_i` in `[0, jitter]` and its
//! deadline is `max(base_i + u_i, deadline_{i-1})`. Deadlines are therefore
//! monotonic and each stays within `[base_i, base_i + jitter]`.
//!
//! Grouping: with `tokens_per_chunk = k`, tokens are cut into consecutive
//! groups of `k` (the last may be shorter); a group is due at the deadline of
//! its last token.

use std::time::Duration;

use rand::{Rng, RngExt};

use crate::config::Prefill;

/// Prefill duration for a prompt of `prompt_tokens` tokens.
pub(crate) fn prefill_duration(prefill: Prefill, prompt_tokens: u64) -> Duration {
    let secs = match prefill {
        Prefill::Fixed { ms } => ms / 1000.0,
        Prefill::Rate { tok_s } => prompt_tokens as f64 / tok_s,
    };
    duration_from_secs(secs)
}

fn duration_from_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
}

/// The schedule of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    /// Time from slot acquisition to the end of prefill.
    pub prefill: Duration,
    /// Decode speed in tokens per second (> 0).
    pub decode_tok_s: f64,
    /// Maximum jitter per token, in seconds (≥ 0; 0 = none).
    pub jitter_s: f64,
    /// `(after_tokens, stall)`: tokens with index ≥ `after_tokens` are
    /// delayed by `stall`.
    pub stall: Option<(u32, Duration)>,
    /// Number of tokens to emit.
    pub tokens: u32,
    /// Tokens per group (≥ 1).
    pub tokens_per_chunk: u32,
}

impl Schedule {
    /// Deadline of token `index` without jitter, as an offset from `A`.
    pub fn base_offset(&self, index: u32) -> Duration {
        let decode = duration_from_secs(f64::from(index) / self.decode_tok_s);
        let mut offset = self.prefill.saturating_add(decode);
        if let Some((after, stall)) = self.stall {
            if index >= after {
                offset = offset.saturating_add(stall);
            }
        }
        offset
    }

    /// Iterates over the token groups in emission order, drawing jitter from
    /// `rng` (nothing is drawn when jitter is 0).
    pub fn groups<R: Rng>(&self, rng: R) -> Groups<R> {
        Groups {
            schedule: *self,
            rng,
            next: 0,
            last_deadline: Duration::ZERO,
        }
    }
}

/// A group of consecutive tokens sent as one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenGroup {
    /// Index of the first token in the group.
    pub start: u32,
    /// One past the index of the last token in the group (`end > start`).
    pub end: u32,
    /// When the group is due, as an offset from `A`.
    pub offset: Duration,
}

/// Iterator over the [`TokenGroup`]s of a [`Schedule`].
#[derive(Debug)]
pub(crate) struct Groups<R> {
    schedule: Schedule,
    rng: R,
    next: u32,
    last_deadline: Duration,
}

impl<R: Rng> Groups<R> {
    /// Deadline of the next token (with jitter, kept monotonic).
    fn next_token_deadline(&mut self) -> Duration {
        let base = self.schedule.base_offset(self.next);
        let jittered = if self.schedule.jitter_s > 0.0 {
            let u: f64 = self.rng.random();
            base.saturating_add(duration_from_secs(u * self.schedule.jitter_s))
        } else {
            base
        };
        self.next += 1;
        self.last_deadline = self.last_deadline.max(jittered);
        self.last_deadline
    }
}

impl<R: Rng> Iterator for Groups<R> {
    type Item = TokenGroup;

    fn next(&mut self) -> Option<TokenGroup> {
        let total = self.schedule.tokens;
        if self.next >= total {
            return None;
        }
        let start = self.next;
        let end = start
            .saturating_add(self.schedule.tokens_per_chunk.max(1))
            .min(total);
        let mut offset = Duration::ZERO;
        while self.next < end {
            offset = self.next_token_deadline();
        }
        Some(TokenGroup { start, end, offset })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn schedule(tokens: u32) -> Schedule {
        Schedule {
            prefill: Duration::from_millis(100),
            decode_tok_s: 50.0,
            jitter_s: 0.0,
            stall: None,
            tokens,
            tokens_per_chunk: 1,
        }
    }

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn prefill_fixed_and_rate() {
        let fixed = Prefill::Fixed { ms: 250.0 };
        assert_eq!(prefill_duration(fixed, 9999), Duration::from_millis(250));
        let rate = Prefill::Rate { tok_s: 1000.0 };
        assert_eq!(prefill_duration(rate, 500), Duration::from_millis(500));
        assert_eq!(prefill_duration(rate, 0), Duration::ZERO);
    }

    #[test]
    fn deadlines_are_prefill_plus_index_over_rate() {
        let s = schedule(100);
        assert_eq!(s.base_offset(0), Duration::from_millis(100));
        assert_eq!(s.base_offset(1), Duration::from_millis(120));
        assert_eq!(s.base_offset(50), Duration::from_millis(1100));
        let groups: Vec<_> = s.groups(rng()).collect();
        assert_eq!(groups.len(), 100);
        for (i, g) in groups.iter().enumerate() {
            let i = u32::try_from(i).unwrap();
            assert_eq!((g.start, g.end), (i, i + 1));
            assert_eq!(g.offset, s.base_offset(i));
        }
    }

    #[test]
    fn no_drift_over_long_streams() {
        // 1/3 s per token is not exactly representable; index-based
        // arithmetic keeps token 30_000 exactly 10_000 s after prefill.
        let s = Schedule {
            decode_tok_s: 3.0,
            ..schedule(30_001)
        };
        let last = s.groups(rng()).last().unwrap();
        let expected = Duration::from_millis(100) + Duration::from_secs(10_000);
        let err = last.offset.abs_diff(expected);
        assert!(err < Duration::from_micros(1), "{err:?}");
    }

    #[test]
    fn stall_shifts_every_later_deadline() {
        let s = Schedule {
            stall: Some((3, Duration::from_millis(500))),
            ..schedule(6)
        };
        let offsets: Vec<_> = s.groups(rng()).map(|g| g.offset.as_millis()).collect();
        assert_eq!(offsets, [100, 120, 140, 660, 680, 700]);
    }

    #[test]
    fn stall_after_all_tokens_has_no_effect() {
        let s = Schedule {
            stall: Some((6, Duration::from_millis(500))),
            ..schedule(6)
        };
        let last = s.groups(rng()).last().unwrap();
        assert_eq!(last.offset, Duration::from_millis(200));
    }

    #[test]
    fn jitter_is_monotonic_bounded_and_seeded() {
        let s = Schedule {
            jitter_s: 0.050, // larger than the 20 ms interval: forces the max()
            ..schedule(2000)
        };
        let jitter = Duration::from_millis(50);
        let groups: Vec<_> = s.groups(rng()).collect();
        let mut prev = Duration::ZERO;
        let mut jittered = 0;
        for g in &groups {
            let base = s.base_offset(g.start);
            assert!(g.offset >= base, "token {} early", g.start);
            assert!(g.offset <= base + jitter, "token {} too late", g.start);
            assert!(g.offset >= prev, "token {} not monotonic", g.start);
            jittered += usize::from(g.offset > base);
            prev = g.offset;
        }
        assert!(jittered > 1900, "jitter barely applied: {jittered}");
        let again: Vec<_> = s.groups(rng()).collect();
        assert_eq!(groups, again, "same seed, same schedule");
        let other: Vec<_> = s.groups(ChaCha8Rng::seed_from_u64(8)).collect();
        assert_ne!(groups, other, "different seed, different schedule");
    }

    #[test]
    fn groups_are_sent_at_their_last_token_deadline() {
        let s = Schedule {
            tokens_per_chunk: 4,
            ..schedule(10)
        };
        let groups: Vec<_> = s.groups(rng()).collect();
        let shape: Vec<_> = groups.iter().map(|g| (g.start, g.end)).collect();
        assert_eq!(shape, [(0, 4), (4, 8), (8, 10)]);
        for g in &groups {
            assert_eq!(g.offset, s.base_offset(g.end - 1));
        }
    }

    #[test]
    fn zero_tokens_yield_no_groups() {
        assert_eq!(schedule(0).groups(rng()).count(), 0);
    }
}
