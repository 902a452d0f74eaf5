//! What every token scanner returns.

use std::fmt;

/// One quoted token read back: the value the server would see and where the token ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub value: String,
    /// Byte offset just past the closing quote, relative to the text given to the scanner.
    pub end: usize,
}

/// Why a scanner could not read a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// The text does not start with the token's opening quote.
    NotThisToken,
    /// The closing quote is missing: the rest of the statement would be swallowed.
    Unterminated,
    /// A quoted identifier with nothing inside, which the server rejects.
    Empty,
    /// An escape sequence the server rejects (bad `\u`, a surrogate, invalid UTF-8 after decoding).
    BadEscape,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScanError::NotThisToken => "the text does not start with this token",
            ScanError::Unterminated => "the quoted token is not terminated",
            ScanError::Empty => "the quoted identifier is empty",
            ScanError::BadEscape => "the token holds an escape the server rejects",
        })
    }
}

/// Scans a token delimited by `quote` in which a doubled `quote` stands for itself and nothing else is
/// special: PostgreSQL and SQLite `"identifiers"`, MySQL `` `identifiers` ``, SQLite `'strings'` and
/// PostgreSQL `'strings'` under `standard_conforming_strings = on`.
pub fn doubled_quote(text: &str, quote: char) -> Result<Scanned, ScanError> {
    let body = text.strip_prefix(quote).ok_or(ScanError::NotThisToken)?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((index, ch)) = chars.next() {
        if ch != quote {
            value.push(ch);
            continue;
        }
        if chars.next_if(|&(_, next)| next == quote).is_some() {
            value.push(quote);
            continue;
        }
        return Ok(Scanned {
            value,
            end: quote.len_utf8() + index + quote.len_utf8(),
        });
    }
    Err(ScanError::Unterminated)
}

/// Like [`doubled_quote`], for identifiers: the servers reject a zero-length quoted identifier.
pub fn quoted_identifier(text: &str, quote: char) -> Result<Scanned, ScanError> {
    let scanned = doubled_quote(text, quote)?;
    if scanned.value.is_empty() {
        return Err(ScanError::Empty);
    }
    Ok(scanned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubled_quotes_stand_for_themselves() {
        assert_eq!(
            doubled_quote("\"a\"\"b\" rest", '"'),
            Ok(Scanned {
                value: "a\"b".to_owned(),
                end: 6
            })
        );
        assert_eq!(
            doubled_quote("'it''s'", '\''),
            Ok(Scanned {
                value: "it's".to_owned(),
                end: 7
            })
        );
    }

    #[test]
    fn a_single_quote_ends_the_token() {
        assert_eq!(doubled_quote("`a` `b`", '`').map(|s| s.end), Ok(3));
        assert_eq!(doubled_quote("'a''", '\''), Err(ScanError::Unterminated));
        assert_eq!(doubled_quote("a'", '\''), Err(ScanError::NotThisToken));
        assert_eq!(quoted_identifier("\"\"", '"'), Err(ScanError::Empty));
    }
}
