//! Role settings and `VALID UNTIL` in the forms the catalog reads back, so declarations compare equal.

use chrono::{DateTime, SubsecRound, Utc};
use dbprov_core::EngineError;

use crate::sql::role::SettingValue;

/// Settings PostgreSQL stores as a list of quoted identifiers, and whether unquoted items are folded to lower
/// case (identifier lists are; library lists are not).
const LIST_SETTINGS: [(&str, bool); 5] = [
    ("search_path", true),
    ("temp_tablespaces", true),
    ("local_preload_libraries", false),
    ("session_preload_libraries", false),
    ("shared_preload_libraries", false),
];

/// A declared or stored setting value in comparable form: list settings are split into their items
/// (`"$user", public` → `$user`, `public`), so the declaration and the server's quoted rendering compare equal.
pub(super) fn setting_value(setting: &str, value: &str) -> SettingValue {
    match LIST_SETTINGS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(setting))
    {
        Some((_, fold_case)) => SettingValue::List(split_list(value, *fold_case)),
        None => SettingValue::Scalar(value.to_owned()),
    }
}

/// Splits a comma-separated list of possibly double-quoted items, like PostgreSQL's `SplitIdentifierString`.
fn split_list(value: &str, fold_case: bool) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|ch| ch.is_whitespace()).is_some() {}
        let mut item = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(ch) = chars.next() {
                if ch == '"' {
                    if chars.next_if_eq(&'"').is_some() {
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(ch);
                }
            }
            while chars.next_if(|ch| *ch != ',').is_some() {}
        } else {
            while let Some(ch) = chars.next_if(|ch| *ch != ',') {
                item.push(ch);
            }
            item = item.trim_end().to_owned();
            if fold_case {
                item = item.to_ascii_lowercase();
            }
        }
        items.push(item);
        if chars.next().is_none() {
            break;
        }
    }
    items
}

/// `VALID UNTIL` in the one form the catalog is read back in: RFC 3339 in UTC with microseconds, or
/// `infinity`. Other spellings are refused: PostgreSQL would read them in the session's time zone.
pub(super) fn canonical_timestamp(object: &str, value: &str) -> Result<String, EngineError> {
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("infinity") || trimmed.eq_ignore_ascii_case("-infinity") {
        return Ok(trimmed.to_ascii_lowercase());
    }
    let parsed = DateTime::parse_from_rfc3339(trimmed).map_err(|_| {
        EngineError::invalid_spec(
            object,
            "validUntil",
            format!(
                "{value:?} is not an RFC 3339 timestamp with a time zone (2030-01-01T00:00:00Z) nor infinity"
            ),
        )
    })?;
    Ok(parsed
        .with_timezone(&Utc)
        .round_subsecs(6)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_utc_with_microseconds() {
        assert_eq!(canonical_timestamp("r", "infinity").unwrap(), "infinity");
        assert_eq!(
            canonical_timestamp("r", "next tuesday").unwrap_err().kind(),
            "InvalidSpec"
        );
        assert_eq!(
            canonical_timestamp("r", "2030-06-01T12:30:00.1234567-02:00").unwrap(),
            "2030-06-01T14:30:00.123457Z"
        );
    }

    #[test]
    fn list_settings_split_like_the_server() {
        assert_eq!(split_list("\"$user\", public", true), vec!["$user", "public"]);
        assert_eq!(split_list("A ,\"B\"\"c\"", true), vec!["a", "B\"c"]);
        assert_eq!(split_list("", true), vec![""]);
        assert_eq!(split_list("Lib", false), vec!["Lib"]);
    }
}
