//! RFC 3339 timestamps (`run.started_utc`) as Unix seconds, to order and
//! place the points of a history.

/// Seconds since 1970-01-01T00:00:00Z of an RFC 3339 timestamp
/// (`2026-11-22T06:00:00Z`, `2026-11-22T07:00:00.25+01:00`); the
/// fraction of a second is dropped, the offset applied.
///
/// `None` when `s` is not of that form (a leap second `:60` is accepted
/// and counts as the next second).
pub fn unix_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if b.len() < 20 || !seps.iter().all(|&(i, c)| b[i] == c) || !matches!(b[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (year, month, day) = (digits(s, 0, 4)?, digits(s, 5, 7)?, digits(s, 8, 10)?);
    let (hour, minute, second) = (digits(s, 11, 13)?, digits(s, 14, 16)?, digits(s, 17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let rest = s.get(19..)?;
    let rest = match rest.strip_prefix('.') {
        Some(frac) => {
            let tail = frac.trim_start_matches(|c: char| c.is_ascii_digit());
            (tail.len() < frac.len()).then_some(tail)?
        }
        None => rest,
    };
    let offset = offset_seconds(rest)?;
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset)
}

/// The number in `s[from..to]`, which must be ASCII digits only.
fn digits(s: &str, from: usize, to: usize) -> Option<i64> {
    let part = s.get(from..to)?;
    if !part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// `Z` → 0, `±HH:MM` → the offset east of UTC in seconds.
fn offset_seconds(rest: &str) -> Option<i64> {
    if rest == "Z" || rest == "z" {
        return Some(0);
    }
    let sign = match rest.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if rest.len() != 6 || rest.as_bytes()[3] != b':' {
        return None;
    }
    let (h, m) = (digits(rest, 1, 3)?, digits(rest, 4, 6)?);
    (h <= 23 && m <= 59).then_some(sign * (h * 3_600 + m * 60))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        // 2000-03-01 is day 11017 (30 years · 365 + 7 leap days + Jan + Feb 2000).
        assert_eq!(
            unix_seconds("2000-03-01T00:00:01Z"),
            Some((30 * 365 + 7 + 31 + 29) * 86_400 + 1)
        );
        let utc = unix_seconds("2026-11-22T06:00:00Z");
        assert_eq!(unix_seconds("2026-11-22T07:00:00.75+01:00"), utc);
        assert_eq!(unix_seconds("2026-11-22T05:30:00-00:30"), utc);
        assert_eq!(
            unix_seconds("2026-11-23T06:00:00Z")
                .zip(utc)
                .map(|(a, b)| a - b),
            Some(86_400)
        );
    }

    #[test]
    fn malformed_is_none() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T06:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T06:00:00.Z",
            "2026-11-22T06:00:00+1:00",
            "+026-11-22T06:00:00Z",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }
}
