//! Durations as the API writes them (`minAge: 168h`, `ttl: 7d`): Go's `time.ParseDuration` units for whole
//! numbers (`s`, `m`, `h`), plus `d` (24 h) and `w` (7 d), concatenated: `1d12h`, `90m`.

use chrono::TimeDelta;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {value:?}: {reason} (expected whole numbers with units s, m, h, d or w, like 168h or 7d)"
)]
pub struct InvalidDuration {
    pub value: String,
    pub reason: &'static str,
}

pub fn parse_duration(value: &str) -> Result<TimeDelta, InvalidDuration> {
    let invalid = |reason| InvalidDuration {
        value: value.to_owned(),
        reason,
    };
    let text = value.trim();
    if text == "0" {
        return Ok(TimeDelta::zero());
    }
    if text.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut total = TimeDelta::zero();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid("a unit is not preceded by a number"));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| invalid("a number is too large"))?;
        rest = &rest[digits..];
        let unit_length = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let seconds_per_unit = match &rest[..unit_length] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "" => return Err(invalid("a number has no unit")),
            _ => return Err(invalid("it has an unknown unit")),
        };
        rest = &rest[unit_length..];
        let part = number
            .checked_mul(seconds_per_unit)
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| invalid("it is too large"))?;
        total = total
            .checked_add(&part)
            .ok_or_else(|| invalid("it is too large"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_and_day_units() {
        assert_eq!(parse_duration("168h").unwrap(), TimeDelta::days(7));
        assert_eq!(parse_duration("7d").unwrap(), TimeDelta::days(7));
        assert_eq!(parse_duration("1w").unwrap(), TimeDelta::days(7));
        assert_eq!(parse_duration("1h30m15s").unwrap(), TimeDelta::seconds(5415));
        assert_eq!(parse_duration("1d12h").unwrap(), TimeDelta::hours(36));
        assert_eq!(parse_duration("0").unwrap(), TimeDelta::zero());
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for bad in [
            "",
            "h",
            "7",
            "1.5h",
            "-1h",
            "3y",
            "5 m",
            "99999999999999999999s",
            "9223372036854775807w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
