//! `tokbench run`'s goodput and reasoning flags: `--slo KEY=MS[,KEY=MS…]`
//! (per-request latency limits, docs/methodology.md#goodput) and
//! `--reasoning on|off|auto` (docs/methodology.md#reasoning).

use clap::ValueEnum;
use tokbench_client::ReasoningMode;
use tokbench_stats::Slo;

/// The keys `--slo` takes, as vLLM's `bench serve --goodput` names its
/// metrics (with tokbench's `_ms` units), and what each sets.
const SLO_KEYS: [&str; 3] = ["ttft_ms", "tpot_ms", "e2e_ms"];

/// Parses `--slo`: comma-separated `KEY=MS` pairs, `KEY` one of
/// `ttft_ms`, `tpot_ms`, `e2e_ms`, `MS` a finite number > 0 of
/// milliseconds; each key at most once.
///
/// # Errors
/// A message naming the offending pair: no `=`, `tokbench sweep`'s
/// `METRIC.STAT<=V` syntax, an unknown or repeated key, a value that is not
/// a positive number.
pub fn parse_slo(s: &str) -> Result<Slo, String> {
    let mut slo = Slo::default();
    for pair in s.split(',').map(str::trim) {
        if pair.contains("<=") || pair.contains(">=") {
            return Err(format!(
                "{pair:?} is tokbench sweep's METRIC.STAT<=V syntax; run's --slo is \
                 per-request KEY=MS (e.g. ttft_ms=500)"
            ));
        }
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not KEY=MS (e.g. ttft_ms=500)"))?;
        let (key, value) = (key.trim(), value.trim());
        let ms = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("{pair:?}: {value:?} is not a number of ms > 0"))?;
        let slot = match key {
            "ttft_ms" => &mut slo.ttft_ms_max,
            "tpot_ms" => &mut slo.tpot_ms_max,
            "e2e_ms" => &mut slo.e2e_ms_max,
            _ => {
                return Err(format!(
                    "{pair:?}: unknown key {key:?} (one of {})",
                    SLO_KEYS.join(", ")
                ))
            }
        };
        if slot.replace(ms).is_some() {
            return Err(format!("{pair:?}: {key} given twice"));
        }
    }
    Ok(slo)
}

/// `--reasoning`: what to ask of a reasoning model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReasoningArg {
    /// Send nothing; record what the model did.
    #[default]
    Auto,
    /// Ask the model to think (where its family has a switch).
    On,
    /// Ask the model not to think (per-family switch; see
    /// docs/methodology.md#reasoning).
    Off,
}

impl From<ReasoningArg> for ReasoningMode {
    fn from(a: ReasoningArg) -> Self {
        match a {
            ReasoningArg::Auto => ReasoningMode::Auto,
            ReasoningArg::On => ReasoningMode::On,
            ReasoningArg::Off => ReasoningMode::Off,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slo_pairs_set_their_limits() {
        let slo = parse_slo("ttft_ms=500, tpot_ms=50").unwrap_or_default();
        assert_eq!(slo.ttft_ms_max, Some(500.0));
        assert_eq!(slo.tpot_ms_max, Some(50.0));
        assert_eq!(slo.e2e_ms_max, None);
        assert_eq!(parse_slo("e2e_ms=2.5").map(|s| s.e2e_ms_max), Ok(Some(2.5)));
    }

    #[test]
    fn slo_errors_name_the_bad_part() {
        let err = |s: &str| parse_slo(s).err().unwrap_or_default();
        assert!(err("ttft_ms=500,itl=5").contains("unknown key \"itl\""));
        assert!(err("ttft_ms=fast").contains("\"fast\" is not a number"));
        assert!(err("ttft_ms=-1").contains("\"-1\""));
        assert!(err("ttft_ms").contains("is not KEY=MS"));
        assert!(err("tpot_ms=1,tpot_ms=2").contains("given twice"));
        assert!(err("ttft_ms.p99<=500").contains("sweep's METRIC.STAT<=V syntax"));
    }
}
