//! llama-bench-style value lists: `1,2,4`, `on,off`, ranges `1-8+1`
//! (start-end+step, additive; decimals too: `0.5-0.7+0.1`), `1-8` (step 1)
//! and `16-512*2` (multiplicative, integers) — [`parse_values`]; and
//! `--set NAME=LIST` arguments — [`parse_set`].
//!
//! An item is a range only when it starts with a digit and a digit follows
//! its first `-`; anything else (`q8_0`, `-1`, `mmap+mlock`) is kept
//! verbatim. Decimal ranges are computed in fixed point (`A + i·S`), so
//! `0.5-0.7+0.1` is exactly `0.5, 0.6, 0.7`.

use crate::error::{SweepError, MAX_VALUES};

/// Expands a comma list into its values, in order.
///
/// Items are trimmed; ranges expand in place.
///
/// # Errors
/// [`SweepError::EmptyItem`], [`SweepError::BadRange`] (e.g.
/// `"8-1+1": the range ends before it starts`),
/// [`SweepError::TooManyValues`], [`SweepError::Duplicate`].
pub fn parse_values(text: &str) -> Result<Vec<String>, SweepError> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split(',') {
        let item = raw.trim();
        if item.is_empty() {
            return Err(SweepError::EmptyItem {
                list: text.to_owned(),
            });
        }
        for value in expand_item(item)? {
            if out.contains(&value) {
                return Err(SweepError::Duplicate {
                    item: item.to_owned(),
                    value,
                });
            }
            out.push(value);
            if out.len() > MAX_VALUES {
                return Err(SweepError::TooManyValues {
                    item: text.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// Splits `NAME=LIST` into the name and its values.
///
/// The name is non-empty and made of `a-z`, `0-9`, `_` and `-`.
///
/// # Errors
/// [`SweepError::BadSet`] for a missing `=` or a bad name; the errors of
/// [`parse_values`] for the list.
pub fn parse_set(arg: &str) -> Result<(String, Vec<String>), SweepError> {
    let bad = |reason: &str| SweepError::BadSet {
        arg: arg.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, list) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=LIST, e.g. threads=1,2,4"))?;
    check_name(name).map_err(|reason| bad(&reason))?;
    Ok((name.to_owned(), parse_values(list)?))
}

/// Checks a parameter name: non-empty, `[a-z0-9_-]+`.
///
/// # Errors
/// A sentence saying what is wrong.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the parameter name is empty".to_owned());
    }
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.chars().all(ok) {
        Ok(())
    } else {
        Err(format!(
            "the parameter name {name:?} may only use a-z, 0-9, _ and -"
        ))
    }
}

/// A non-negative decimal in fixed point: `units / 10^decimals`.
#[derive(Debug, Clone, Copy)]
struct Fixed {
    units: u64,
    decimals: u32,
}

impl Fixed {
    /// `12`, `0.5`; nothing else (no sign, no exponent).
    fn parse(s: &str) -> Option<Self> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
            return None;
        }
        let decimals = u32::try_from(frac.len()).ok().filter(|d| *d <= 9)?;
        let units = format!("{int}{frac}").parse().ok()?;
        Some(Self { units, decimals })
    }

    /// The units at `decimals` places (at least its own).
    fn at(self, decimals: u32) -> Option<u64> {
        self.units
            .checked_mul(10u64.checked_pow(decimals - self.decimals)?)
    }
}

/// Formats `units / 10^decimals` with exactly `decimals` places.
fn format_fixed(units: u64, decimals: u32) -> String {
    if decimals == 0 {
        return units.to_string();
    }
    let scale = 10u64.pow(decimals);
    let width = decimals as usize;
    format!("{}.{:0width$}", units / scale, units % scale)
}

/// One item's values: a range's expansion, or the item itself.
fn expand_item(item: &str) -> Result<Vec<String>, SweepError> {
    let Some((start, rest)) = split_range(item) else {
        return Ok(vec![item.to_owned()]);
    };
    let bad = |reason: &str| SweepError::BadRange {
        item: item.to_owned(),
        reason: reason.to_owned(),
    };
    let (end, op, step) = match rest.find(['+', '*']) {
        Some(i) => (&rest[..i], &rest[i..i + 1], &rest[i + 1..]),
        None => (rest, "+", "1"),
    };
    let number = |s: &str, what: &str| {
        Fixed::parse(s).ok_or_else(|| {
            bad(&format!(
                "the {what} {s:?} is not a non-negative number (ranges are START-END+STEP or START-END*FACTOR)"
            ))
        })
    };
    let (a, b, s) = (
        number(start, "start")?,
        number(end, "end")?,
        number(step, "step")?,
    );
    if op == "*" {
        multiplicative(item, a, b, s)
    } else {
        additive(item, a, b, s)
    }
}

/// `A` and the rest after the first `-`, when the item looks like a range:
/// starts with a digit and a digit follows the `-`.
fn split_range(item: &str) -> Option<(&str, &str)> {
    let (start, rest) = item.split_once('-')?;
    let digit_first = |s: &str| s.starts_with(|c: char| c.is_ascii_digit());
    (digit_first(start) && digit_first(rest)).then_some((start, rest))
}

fn additive(item: &str, a: Fixed, b: Fixed, s: Fixed) -> Result<Vec<String>, SweepError> {
    let bad = |reason: &str| SweepError::BadRange {
        item: item.to_owned(),
        reason: reason.to_owned(),
    };
    let places = a.decimals.max(s.decimals).max(b.decimals);
    let overflow = || bad("the numbers are too large");
    let (a_u, b_u, s_u) = (
        a.at(places).ok_or_else(overflow)?,
        b.at(places).ok_or_else(overflow)?,
        s.at(places).ok_or_else(overflow)?,
    );
    if s_u == 0 {
        return Err(bad("the step must be greater than 0"));
    }
    if b_u < a_u {
        return Err(bad("the range ends before it starts"));
    }
    let count = (b_u - a_u) / s_u + 1;
    if count > MAX_VALUES as u64 {
        return Err(SweepError::TooManyValues {
            item: item.to_owned(),
        });
    }
    let shown = a.decimals.max(s.decimals);
    let to_shown = 10u64.pow(places - shown);
    Ok((0..count)
        .map(|i| format_fixed((a_u + i * s_u) / to_shown, shown))
        .collect())
}

fn multiplicative(item: &str, a: Fixed, b: Fixed, f: Fixed) -> Result<Vec<String>, SweepError> {
    let bad = |reason: &str| SweepError::BadRange {
        item: item.to_owned(),
        reason: reason.to_owned(),
    };
    if a.decimals + b.decimals + f.decimals > 0 {
        return Err(bad("a multiplicative range takes integers only"));
    }
    if f.units < 2 {
        return Err(bad("the factor must be at least 2"));
    }
    if a.units == 0 {
        return Err(bad("a multiplicative range must start at 1 or more"));
    }
    if b.units < a.units {
        return Err(bad("the range ends before it starts"));
    }
    let mut out = Vec::new();
    let mut v = Some(a.units);
    while let Some(x) = v.filter(|x| *x <= b.units) {
        out.push(x.to_string());
        v = x.checked_mul(f.units);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
