//! Number, byte and range formatting shared by pages and downloads.

/// A metric value for tables: 1 decimal from 10 up, 2 below 10, 3 below
/// 0.1; `—` for a missing value.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let a = x.abs();
            if a >= 10.0 {
                fixed(x, 1)
            } else if a >= 0.1 || a == 0.0 {
                fixed(x, 2)
            } else {
                fixed(x, 3)
            }
        }
        _ => "—".to_owned(),
    }
}

/// `x` with `decimals` (≤ 6) digits after the point, rounded half away
/// from zero. Integer arithmetic and a digit buffer: a run page formats
/// hundreds of numbers, and `format!` (or `{:.1}`, an exact decimal
/// expansion) costs several times more per number.
pub fn fixed(x: f64, decimals: u32) -> String {
    let decimals = decimals.min(6) as usize;
    let scaled = (x * 10u64.pow(decimals as u32) as f64).round();
    if !scaled.is_finite() || scaled.abs() >= 9.0e15 {
        return format!("{x:.decimals$}");
    }
    let n = scaled as i64;
    let mut out = String::with_capacity(24);
    push_scaled(&mut out, n < 0, n.unsigned_abs(), decimals);
    out
}

/// Appends `-` when `negative`, then the integer `scaled` (a count of
/// 10^-`decimals`) as a decimal with `decimals` digits after the point and
/// at least one before it: `push_scaled(s, false, 1234, 2)` appends
/// `12.34`, `(false, 5, 3)` appends `0.005`. The rounding is the caller's.
pub(crate) fn push_scaled(out: &mut String, negative: bool, scaled: u64, decimals: usize) {
    // Digits, least significant first (u64: at most 20).
    let mut digits = [0u8; 24];
    let mut len = 0;
    let mut v = scaled;
    while len < digits.len() && (v > 0 || len <= decimals) {
        digits[len] = b'0' + (v % 10) as u8;
        v /= 10;
        len += 1;
    }
    if negative {
        out.push('-');
    }
    for i in (0..len).rev() {
        out.push(char::from(digits[i]));
        if i == decimals && decimals > 0 {
            out.push('.');
        }
    }
}

/// `min–max` of the values (formatted with [`num`]); one value when they
/// format the same; `—` when there is none. The JavaScript of the results
/// tables rebuilds ranges with the same rule from the per-shape strings.
pub fn range(values: &[f64]) -> String {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let min = finite.clone().reduce(f64::min);
    let max = finite.reduce(f64::max);
    let (lo, hi) = (num(min), num(max));
    if lo == hi {
        lo
    } else {
        format!("{lo}–{hi}")
    }
}

/// Bytes in binary units: `24 GiB`, `11.94 GiB`, `512 MiB`.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || (v - v.round()).abs() < 0.005 {
        format!("{} {}", v.round(), UNITS[unit])
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

/// Optional bytes, `—` when absent.
pub fn opt_bytes(b: Option<u64>) -> String {
    b.map_or_else(|| "—".to_owned(), bytes)
}

/// Watts without a needless `.0`: `250 W`, `72.5 W`.
pub fn watts(w: f64) -> String {
    if (w - w.round()).abs() < 0.05 {
        format!("{} W", w.round())
    } else {
        format!("{w:.1} W")
    }
}

/// A plain integer with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A percentage of a ratio: `0.034` → `3.4%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(Some(206.54)), "206.5");
        assert_eq!(num(Some(9.876)), "9.88");
        assert_eq!(num(Some(0.0123)), "0.012");
        assert_eq!(num(Some(0.0)), "0.00");
        assert_eq!(num(None), "—");
        assert_eq!(num(Some(f64::NAN)), "—");
    }

    #[test]
    fn fixed_point() {
        assert_eq!(fixed(206.54, 1), "206.5");
        assert_eq!(fixed(-4.12345, 3), "-4.123");
        assert_eq!(fixed(0.05, 2), "0.05");
        assert_eq!(fixed(1.0e20, 1), format!("{:.1}", 1.0e20));
        assert_eq!(fixed(12.5, 0), "13");
        assert_eq!(fixed(7.0, 2), "7.00");
    }

    /// The digit-buffer formatting gives what the `format!` version gave.
    #[test]
    fn fixed_point_matches_format() {
        let reference = |x: f64, decimals: u32| {
            let scale = 10u64.pow(decimals);
            let n = (x * scale as f64).round() as i64;
            let sign = if n < 0 { "-" } else { "" };
            let n = n.unsigned_abs();
            if decimals == 0 {
                return format!("{sign}{n}");
            }
            let width = decimals as usize;
            format!("{sign}{}.{:0width$}", n / scale, n % scale)
        };
        let mut x = 1.0e-4_f64;
        while x < 1.0e9 {
            for v in [x, -x, x * 1.000_7, -x * 3.3] {
                for d in 0..=6 {
                    assert_eq!(fixed(v, d), reference(v, d), "{v} with {d} decimals");
                }
            }
            x *= 1.37;
        }
        assert_eq!(fixed(-0.0001, 1), "0.0");
        assert_eq!(fixed(0.0, 0), "0");
    }

    #[test]
    fn ranges() {
        assert_eq!(range(&[216.7, 206.5, 210.0]), "206.5–216.7");
        assert_eq!(range(&[5.0]), "5.00");
        assert_eq!(range(&[100.01, 100.02]), "100.0");
        assert_eq!(range(&[]), "—");
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(24 << 30), "24 GiB");
        assert_eq!(bytes(12_820_000_000), "11.94 GiB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(opt_bytes(None), "—");
    }

    #[test]
    fn misc() {
        assert_eq!(watts(250.0), "250 W");
        assert_eq!(watts(72.5), "72.5 W");
        assert_eq!(count(12_345_678), "12,345,678");
        assert_eq!(count(999), "999");
        assert_eq!(percent(0.034), "3.4%");
    }
}
