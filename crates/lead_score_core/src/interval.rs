//! Durations in model specs ("30 days", "1 hour 30 minutes") as microseconds,
//! the unit PostgreSQL uses for timestamptz.

pub const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// Parses a positive duration. Months count as 30 days and years as 365.25 days,
/// the same convention PostgreSQL uses for `extract(epoch from interval)`.
pub fn parse_interval(text: &str) -> Option<i64> {
    let micros = interval_seconds(text)? * MICROS_PER_SECOND;
    if !micros.is_finite() || !(1.0..=MAX_INTERVAL_MICROS).contains(&micros) {
        return None;
    }
    Some(micros.round() as i64)
}

/// The longest interval a spec may give, in microseconds (73,067 years):
/// four of them still fit a timestamp difference.
pub const MAX_INTERVAL_MICROS: f64 = i64::MAX as f64 / 4.0;

/// Whether `text` reads as an interval longer than [`MAX_INTERVAL_MICROS`],
/// so an error can say so rather than call it invalid.
pub fn interval_too_long(text: &str) -> bool {
    interval_seconds(text).is_some_and(|s| s * MICROS_PER_SECOND > MAX_INTERVAL_MICROS)
}

/// The seconds `text` reads as, before any bound.
fn interval_seconds(text: &str) -> Option<f64> {
    let mut tokens = text.split_whitespace().peekable();
    let mut total_seconds = 0.0f64;
    let mut any = false;
    while let Some(token) = tokens.next() {
        // Accept both "30 days" and "30days".
        let split = token
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(token.len());
        let (number_text, attached_unit) = token.split_at(split);
        if number_text.is_empty() {
            return None;
        }
        let number: f64 = number_text.parse().ok()?;
        let unit = if attached_unit.is_empty() {
            tokens.next()?
        } else {
            attached_unit
        };
        let seconds_per_unit = match unit.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "week" | "weeks" => 604_800.0,
            "mon" | "month" | "months" => 30.0 * 86_400.0,
            "y" | "year" | "years" => 365.25 * 86_400.0,
            _ => return None,
        };
        total_seconds += number * seconds_per_unit;
        any = true;
    }
    any.then_some(total_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_interval("30 days"), Some(30 * 86_400_000_000));
        assert_eq!(parse_interval("1 hour 30 minutes"), Some(5_400_000_000));
        assert_eq!(parse_interval("2w"), Some(14 * 86_400_000_000));
        assert_eq!(parse_interval("1.5 h"), Some(5_400_000_000));
        assert_eq!(parse_interval("1 month"), Some(30 * 86_400_000_000));
    }

    #[test]
    fn rejects_non_positive_and_garbage() {
        for bad in [
            "",
            "0 days",
            "-1 day",
            "NaN days",
            "inf hours",
            "days",
            "3 fortnights",
            "5",
        ] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }
}
