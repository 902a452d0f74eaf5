//! MySQL/MariaDB lexical rules for quoted tokens, after `sql/sql_lex.cc` (`get_text`, `get_quoted_token`)
//! and the grant-table pattern matcher (`wild_case_compare` with `\` as the escape character).
//!
//! * `` `identifier` ``: ``` `` ``` is a backtick, nothing else is special, empty is an error.
//! * `'string'`: `''` is a quote. Unless `sql_mode` has `NO_BACKSLASH_ESCAPES`, a backslash escapes the next
//!   character: `\0 \b \n \r \t \Z` are control characters, `\%` and `\_` keep their backslash (for `LIKE`),
//!   any other pair is the character. With `NO_BACKSLASH_ESCAPES` a backslash is ordinary.
//!   (Multi-byte characters are skipped whole by the server; in utf8mb4 no continuation byte is `\` or `'`,
//!   so reading by character is the same.)
//! * Grant database patterns: `\x` is the character `x`; an unescaped `_` or `%` is a wildcard.

use crate::scan::{ScanError, Scanned, quoted_identifier};

pub fn identifier(text: &str) -> Result<Scanned, ScanError> {
    quoted_identifier(text, '`')
}

/// Scans a `'...'` string as a session with (`backslash_escapes`) or without `NO_BACKSLASH_ESCAPES` reads it.
pub fn string(text: &str, backslash_escapes: bool) -> Result<Scanned, ScanError> {
    let body = text.strip_prefix('\'').ok_or(ScanError::NotThisToken)?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((index, ch)) = chars.next() {
        match ch {
            '\'' if chars.next_if(|&(_, next)| next == '\'').is_some() => value.push('\''),
            '\'' => {
                return Ok(Scanned {
                    value,
                    end: 1 + index + 1,
                });
            }
            '\\' if backslash_escapes => {
                let (_, escaped) = chars.next().ok_or(ScanError::Unterminated)?;
                match escaped {
                    '0' => value.push('\0'),
                    'b' => value.push('\u{8}'),
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'Z' => value.push('\u{1a}'),
                    '%' | '_' => {
                        value.push('\\');
                        value.push(escaped);
                    }
                    other => value.push(other),
                }
            }
            other => value.push(other),
        }
    }
    Err(ScanError::Unterminated)
}

/// A grant-table database pattern read back: the literal name it stands for, or `None` when it holds a
/// wildcard (and would match other databases too).
pub fn grant_pattern_literal(pattern: &str) -> Option<String> {
    let mut literal = String::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        match ch {
            // A trailing backslash has nothing to escape and matches itself.
            '\\' => literal.push(chars.next().unwrap_or('\\')),
            '_' | '%' => return None,
            other => literal.push(other),
        }
    }
    Some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, backslash_escapes: bool) -> Result<String, ScanError> {
        string(text, backslash_escapes).map(|scanned| scanned.value)
    }

    #[test]
    fn backslashes_depend_on_the_sql_mode() {
        assert_eq!(value(r"'a\\b'", true).as_deref(), Ok(r"a\b"));
        assert_eq!(value(r"'a\\b'", false).as_deref(), Ok(r"a\\b"));
        assert_eq!(value(r"'a\'", true), Err(ScanError::Unterminated));
        assert_eq!(value(r"'a\'", false).as_deref(), Ok(r"a\"));
        assert_eq!(value(r"'\0\Z\%\_\q'", true).as_deref(), Ok("\0\u{1a}\\%\\_q"));
        assert_eq!(value("'it''s' x", true).map(|v| v.len()), Ok(4));
    }

    #[test]
    fn patterns_hold_wildcards_unless_escaped() {
        assert_eq!(grant_pattern_literal(r"a\_b\%c\\").as_deref(), Some(r"a_b%c\"));
        assert_eq!(grant_pattern_literal("a_b"), None);
        assert_eq!(grant_pattern_literal("100%"), None);
    }
}
