//! Go duration strings (`300ms`, `1.5h`, `2h45m`), as upstream's `interval` and `timeout` fields use.

use std::time::Duration;

/// Parses a Go `time.ParseDuration` string. Negative durations are rejected (no field accepts them).
pub fn parse_go_duration(value: &str) -> Result<Duration, String> {
    parse(value, false)
}

/// Parses an age or lifetime (`ttl`, `minAge`): a Go duration, where `d` (24 h) and `w` (7 d) are also units
/// (`7d`, `1w2d`, `168h`).
pub fn parse_age(value: &str) -> Result<Duration, String> {
    parse(value, true)
}

fn parse(value: &str, days: bool) -> Result<Duration, String> {
    let invalid = || {
        if days {
            format!("{value:?} is not a duration (examples: 30m, 168h, 7d, 2w)")
        } else {
            format!("{value:?} is not a duration (examples: 30s, 5m, 1h30m)")
        }
    };
    let mut rest = value.strip_prefix('+').unwrap_or(value);
    if rest.starts_with('-') {
        return Err(format!("{value:?} is negative"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|ch: char| ch.is_ascii_digit() || ch == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" if days => 86_400.0,
            "w" if days => 604_800.0,
            _ => return Err(invalid()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > 1e12 {
        return Err(format!("{value:?} is too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_go_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_go_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_go_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_go_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "5 m", "m", "-5s", "5d", "1.2.3s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_age("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(
            parse_age("1w12h").unwrap(),
            Duration::from_secs(7 * 86_400 + 43_200)
        );
        assert_eq!(parse_age("168h").unwrap(), Duration::from_secs(7 * 86_400));
        for bad in ["", "7", "3y", "-1d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
