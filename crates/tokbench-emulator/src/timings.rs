//! llama.cpp-style `timings` object, computed from actual emission instants.
//!
//! Semantics follow llama.cpp's server: `prompt_ms` is the time from slot
//! acquisition to the first token's emission (the prefill, plus the wait for
//! a multi-token chunk when `tokens_per_chunk > 1` and for a full write when
//! `events_per_write > 1`); `predicted_ms` is the
//! time from the first to the last token's emission; `predicted_n` counts
//! every generated token (reasoning included), so, as in llama.cpp,
//! `predicted_per_second = predicted_n / predicted_ms` is slightly above the
//! configured decode rate (`n` tokens over `n - 1` intervals). Ratios with a
//! zero denominator are reported as 0.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

/// Measured prefill and decode timings of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timings {
    /// Prompt tokens processed.
    pub prompt_n: u64,
    /// Slot acquisition to first emission.
    pub prompt: Duration,
    /// Tokens generated.
    pub predicted_n: u64,
    /// First emission to last emission.
    pub predicted: Duration,
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

impl Timings {
    /// The timings of a request that acquired its slot at `acquired` and
    /// emitted its first and last tokens at `first` and `last`.
    pub fn measured(
        prompt_n: u64,
        predicted_n: u64,
        acquired: Instant,
        first: Instant,
        last: Instant,
    ) -> Self {
        Timings {
            prompt_n,
            prompt: first - acquired,
            predicted_n,
            predicted: last - first,
        }
    }

    /// The object with llama.cpp's field names (milliseconds, per second).
    pub fn to_json(self) -> Value {
        let prompt_ms = self.prompt.as_secs_f64() * 1000.0;
        let predicted_ms = self.predicted.as_secs_f64() * 1000.0;
        let prompt_n = self.prompt_n as f64;
        let predicted_n = self.predicted_n as f64;
        json!({
            "prompt_n": self.prompt_n,
            "prompt_ms": prompt_ms,
            "prompt_per_token_ms": ratio(prompt_ms, prompt_n),
            "prompt_per_second": ratio(1000.0 * prompt_n, prompt_ms),
            "predicted_n": self.predicted_n,
            "predicted_ms": predicted_ms,
            "predicted_per_token_ms": ratio(predicted_ms, predicted_n),
            "predicted_per_second": ratio(1000.0 * predicted_n, predicted_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_ratios() {
        let t = Timings {
            prompt_n: 10,
            prompt: Duration::from_millis(200),
            predicted_n: 5,
            predicted: Duration::from_millis(100),
        };
        let v = t.to_json();
        assert_eq!(v["prompt_n"], 10);
        assert_eq!(v["prompt_ms"], 200.0);
        assert_eq!(v["prompt_per_token_ms"], 20.0);
        assert_eq!(v["prompt_per_second"], 50.0);
        assert_eq!(v["predicted_n"], 5);
        assert_eq!(v["predicted_ms"], 100.0);
        assert_eq!(v["predicted_per_token_ms"], 20.0);
        assert_eq!(v["predicted_per_second"], 50.0);
    }

    #[test]
    fn zero_denominators_are_zero_not_nan() {
        let t = Timings {
            prompt_n: 0,
            prompt: Duration::ZERO,
            predicted_n: 1,
            predicted: Duration::ZERO,
        };
        let v = t.to_json();
        assert_eq!(v["prompt_per_token_ms"], 0.0);
        assert_eq!(v["predicted_per_second"], 0.0);
    }
}
