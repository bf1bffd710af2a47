//! What can be compared or gated: a [`Quantity`] (a metric of
//! `docs/methodology.md`, in the record's units) and the statistic taken of
//! it ([`MetricSpec`]).
//!
//! Request quantities have one value per request (from the samples
//! sidecar; ITL one per token interval); run quantities have one value per
//! run (a cell's throughput, a run's energy per token or memory peak).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tokbench_record::{Cell, CellMetrics, Record};
use tokbench_stats::{Direction, RequestMetrics, Statistic};

use crate::error::CompareError;

/// A metric that can be compared or gated. Names are the record's field
/// names (`docs/record-format.md`), units in the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Decode ("gen") rate per request, tok/s.
    DecodeTokS,
    /// Time to first token, ms.
    TtftMs,
    /// Client-side prefill rate per request, tok/s.
    PrefillTokS,
    /// End-to-end latency per request, ms.
    E2eMs,
    /// Time per output token per request, ms.
    TpotMs,
    /// Inter-token latency, one value per token interval, ms.
    ItlMs,
    /// A cell's aggregate output tok/s (run quantity).
    AggregateOutputTokS,
    /// A cell's completed requests per second (run quantity).
    RequestThroughputRps,
    /// A cell's requests per second that met every `--slo` limit (run
    /// quantity; recorded only with `--slo`, docs/methodology.md#goodput).
    GoodputRps,
    /// A run's energy per output token, J (run quantity).
    JPerOutputToken,
    /// A run's largest GPU memory use, bytes (run quantity).
    GpuPeakMemoryBytes,
    /// A run's backend peak resident memory, bytes (run quantity).
    BackendPeakRssBytes,
}

/// Every quantity, in table order.
pub const QUANTITIES: [Quantity; 12] = [
    Quantity::DecodeTokS,
    Quantity::TtftMs,
    Quantity::PrefillTokS,
    Quantity::E2eMs,
    Quantity::TpotMs,
    Quantity::ItlMs,
    Quantity::AggregateOutputTokS,
    Quantity::RequestThroughputRps,
    Quantity::GoodputRps,
    Quantity::JPerOutputToken,
    Quantity::GpuPeakMemoryBytes,
    Quantity::BackendPeakRssBytes,
];

impl Quantity {
    /// The record field name, e.g. `decode_tok_s`.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::DecodeTokS => "decode_tok_s",
            Quantity::TtftMs => "ttft_ms",
            Quantity::PrefillTokS => "prefill_tok_s",
            Quantity::E2eMs => "e2e_ms",
            Quantity::TpotMs => "tpot_ms",
            Quantity::ItlMs => "itl_ms",
            Quantity::AggregateOutputTokS => "aggregate_output_tok_s",
            Quantity::RequestThroughputRps => "request_throughput_rps",
            Quantity::GoodputRps => "goodput_rps",
            Quantity::JPerOutputToken => "j_per_output_token",
            Quantity::GpuPeakMemoryBytes => "gpu_peak_memory_bytes",
            Quantity::BackendPeakRssBytes => "backend_peak_rss_bytes",
        }
    }

    /// The unit of the values: `tok/s`, `ms`, `req/s`, `J/token`, `bytes`.
    pub fn unit(self) -> Unit {
        match self {
            Quantity::DecodeTokS | Quantity::PrefillTokS | Quantity::AggregateOutputTokS => {
                Unit::TokS
            }
            Quantity::TtftMs | Quantity::E2eMs | Quantity::TpotMs | Quantity::ItlMs => Unit::Ms,
            Quantity::RequestThroughputRps | Quantity::GoodputRps => Unit::Rps,
            Quantity::JPerOutputToken => Unit::JPerToken,
            Quantity::GpuPeakMemoryBytes | Quantity::BackendPeakRssBytes => Unit::Bytes,
        }
    }

    /// Which way is better (rates up; latencies, energy, memory down).
    pub fn direction(self) -> Direction {
        match self.unit() {
            Unit::TokS | Unit::Rps => Direction::HigherIsBetter,
            Unit::Ms | Unit::JPerToken | Unit::Bytes => Direction::LowerIsBetter,
        }
    }

    /// `true` for quantities with one value per request (or token
    /// interval), taken from the samples sidecar.
    pub fn per_request(self) -> bool {
        matches!(self.unit(), Unit::Ms) || matches!(self, Self::DecodeTokS | Self::PrefillTokS)
    }

    /// The key of the recorded summary (`CellMetrics::summary`), for
    /// request quantities.
    pub fn summary_key(self) -> Option<&'static str> {
        self.per_request().then(|| self.name())
    }

    /// One request's value (`None` for ITL and run quantities, or when the
    /// request's value is undefined).
    pub fn of_request(self, m: &RequestMetrics) -> Option<f64> {
        match self {
            Quantity::DecodeTokS => m.decode_tok_s,
            Quantity::TtftMs => m.ttft_ms,
            Quantity::PrefillTokS => m.prefill_tok_s,
            Quantity::E2eMs => m.e2e_ms,
            Quantity::TpotMs => m.tpot_ms,
            _ => None,
        }
    }

    /// A run quantity's value for one cell of a record (`None` for request
    /// quantities or when not recorded). Values must be finite and
    /// positive, except goodput, for which 0 (no request met the SLOs) is
    /// a real measurement and is kept.
    pub fn of_run(self, record: &Record, cell: &Cell) -> Option<f64> {
        let m: Option<&CellMetrics> = cell.metrics.as_ref();
        let res = &record.resources;
        let v = match self {
            Quantity::AggregateOutputTokS => m?.aggregate_output_tok_s,
            Quantity::RequestThroughputRps => m?.request_throughput_rps,
            Quantity::GoodputRps => {
                return m?.goodput_rps.filter(|x| x.is_finite() && *x >= 0.0);
            }
            Quantity::JPerOutputToken => res.j_per_output_token,
            Quantity::GpuPeakMemoryBytes => res
                .power
                .as_ref()?
                .gpus
                .iter()
                .filter_map(|g| g.vram_peak_used_bytes)
                .max()
                .map(|b| b as f64),
            Quantity::BackendPeakRssBytes => res.backend_peak_rss_bytes.map(|b| b as f64),
            _ => None,
        };
        v.filter(|x| x.is_finite() && *x > 0.0)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Quantity {
    type Err = CompareError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QUANTITIES
            .into_iter()
            .find(|q| q.name() == s)
            .ok_or_else(|| CompareError::UnknownMetric {
                name: s.to_owned(),
                known: QUANTITIES
                    .iter()
                    .map(|q| q.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The unit of a [`Quantity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Tokens per second.
    #[serde(rename = "tok/s")]
    TokS,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Ms,
    /// Requests per second.
    #[serde(rename = "req/s")]
    Rps,
    /// Joules per output token.
    #[serde(rename = "J/token")]
    JPerToken,
    /// Bytes (shown in GB, 10⁹ bytes).
    #[serde(rename = "bytes")]
    Bytes,
}

impl Unit {
    /// Formats a value in this unit for people: `53.2 tok/s`, `812 ms`,
    /// `5.64 GB`.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::TokS => format!("{} tok/s", sig(v)),
            Unit::Ms => format!("{} ms", sig(v)),
            Unit::Rps => format!("{} req/s", sig(v)),
            Unit::JPerToken => format!("{} J/tok", sig(v)),
            Unit::Bytes => format!("{:.2} GB", v / 1e9),
        }
    }

    /// Multiplier from a unit suffix written in a gate spec to this unit
    /// (`GB`/`GiB`/`MB`/`MiB` for bytes, `s`/`ms`/`us` for times), `None`
    /// when the suffix does not belong to this unit.
    pub fn scale_of(self, suffix: &str) -> Option<f64> {
        match (self, suffix) {
            (_, "") => Some(1.0),
            (Unit::Bytes, "B") => Some(1.0),
            (Unit::Bytes, "KB") => Some(1e3),
            (Unit::Bytes, "MB") => Some(1e6),
            (Unit::Bytes, "GB") => Some(1e9),
            (Unit::Bytes, "KiB") => Some(1024.0),
            (Unit::Bytes, "MiB") => Some(1024.0 * 1024.0),
            (Unit::Bytes, "GiB") => Some(1024.0 * 1024.0 * 1024.0),
            (Unit::Ms, "ms") => Some(1.0),
            (Unit::Ms, "s") => Some(1000.0),
            (Unit::Ms, "us" | "µs") => Some(1e-3),
            (Unit::TokS, "tok/s") | (Unit::Rps, "req/s" | "rps") => Some(1.0),
            (Unit::JPerToken, "J/token" | "J/tok" | "J") => Some(1.0),
            _ => None,
        }
    }

    /// The suffixes [`Unit::scale_of`] accepts, for error messages.
    pub fn suffixes(self) -> &'static str {
        match self {
            Unit::Bytes => "B, KB, MB, GB, KiB, MiB, GiB",
            Unit::Ms => "ms, s, us",
            Unit::TokS => "tok/s",
            Unit::Rps => "req/s, rps",
            Unit::JPerToken => "J/token, J/tok, J",
        }
    }
}

/// Three significant digits, no exponent (`53.2`, `812`, `0.0412`).
pub(crate) fn sig(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 100.0 || a == 0.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        (2.0 - a.log10().floor()).clamp(2.0, 8.0) as usize
    };
    format!("{v:.decimals$}")
}

/// A quantity and the statistic taken of it: one row of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    /// The quantity.
    pub quantity: Quantity,
    /// The statistic (the median, or a quantile such as p99 for tails).
    pub statistic: Statistic,
}

impl MetricSpec {
    /// The median of `q`.
    pub const fn median(quantity: Quantity) -> Self {
        Self {
            quantity,
            statistic: Statistic::Median,
        }
    }

    /// The p99 of `q`.
    pub const fn p99(quantity: Quantity) -> Self {
        Self {
            quantity,
            statistic: Statistic::Quantile(0.99),
        }
    }

    /// The row label: `decode_tok_s`, `ttft_ms p99`.
    pub fn label(&self) -> String {
        match self.statistic {
            Statistic::Median => self.quantity.name().to_owned(),
            Statistic::Quantile(q) => format!("{} {}", self.quantity.name(), stat_name(q)),
        }
    }
}

/// Parses a statistic name: `median`, `p50`, `p90`, `p99`, `p99.9`
/// (`pN` is the type 7 quantile at `N/100`).
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_statistic(s: &str) -> Result<Statistic, String> {
    if s == "median" {
        return Ok(Statistic::Median);
    }
    let pct = s
        .strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| (0.0..=100.0).contains(n))
        .ok_or_else(|| format!("unknown statistic {s:?} (use median, p50, p90, p99, p99.9, …)"))?;
    Ok(Statistic::Quantile(pct / 100.0))
}

impl FromStr for MetricSpec {
    type Err = CompareError;

    /// `decode_tok_s` (the median) or `ttft_ms:p99`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, stat) = s.split_once(':').unwrap_or((s, "median"));
        let quantity: Quantity = name.parse()?;
        let statistic = parse_statistic(stat).map_err(|message| CompareError::UnknownMetric {
            name: s.to_owned(),
            known: message,
        })?;
        Ok(Self {
            quantity,
            statistic,
        })
    }
}

/// `p99`, `p50`, `p99.9` for a quantile probability.
pub fn stat_name(q: f64) -> String {
    let pct = q * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("p{}", pct.round())
    } else {
        format!("p{}", sig(pct))
    }
}

/// The rows `tokbench compare` prints, in order: every metric of the issue
/// (medians, with the tails of TTFT and ITL as p99).
pub const DEFAULT_METRICS: [MetricSpec; 13] = [
    MetricSpec::median(Quantity::DecodeTokS),
    MetricSpec::median(Quantity::TtftMs),
    MetricSpec::p99(Quantity::TtftMs),
    MetricSpec::median(Quantity::PrefillTokS),
    MetricSpec::median(Quantity::E2eMs),
    MetricSpec::median(Quantity::TpotMs),
    MetricSpec::p99(Quantity::ItlMs),
    MetricSpec::median(Quantity::AggregateOutputTokS),
    MetricSpec::median(Quantity::RequestThroughputRps),
    MetricSpec::median(Quantity::GoodputRps),
    MetricSpec::median(Quantity::JPerOutputToken),
    MetricSpec::median(Quantity::GpuPeakMemoryBytes),
    MetricSpec::median(Quantity::BackendPeakRssBytes),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known() {
        for q in QUANTITIES {
            assert_eq!(q.name().parse::<Quantity>().unwrap(), q);
        }
        let err = "decode_tps".parse::<Quantity>().unwrap_err().to_string();
        assert!(
            err.contains("decode_tps") && err.contains("decode_tok_s"),
            "{err}"
        );
    }

    #[test]
    fn directions_and_units() {
        assert_eq!(Quantity::DecodeTokS.direction(), Direction::HigherIsBetter);
        assert_eq!(Quantity::TtftMs.direction(), Direction::LowerIsBetter);
        assert!(Quantity::ItlMs.per_request() && !Quantity::AggregateOutputTokS.per_request());
        assert_eq!(Unit::Bytes.scale_of("GB"), Some(1e9));
        assert_eq!(Unit::Bytes.scale_of("ms"), None);
        assert_eq!(Unit::Bytes.show(5.64e9), "5.64 GB");
        assert_eq!(sig(53.21), "53.2");
        assert_eq!(sig(0.04123), "0.0412");
        assert_eq!(MetricSpec::p99(Quantity::TtftMs).label(), "ttft_ms p99");
        assert_eq!(
            "ttft_ms:p99".parse::<MetricSpec>().unwrap(),
            MetricSpec::p99(Quantity::TtftMs)
        );
        let Statistic::Quantile(q) = parse_statistic("p99.9").unwrap() else {
            panic!("p99.9 is a quantile")
        };
        assert!((q - 0.999).abs() < 1e-12);
        assert!("ttft_ms:q3".parse::<MetricSpec>().is_err());
    }
}
