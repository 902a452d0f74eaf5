//! SQLite's lexical rules for quoted tokens, after `src/tokenize.c`: `"identifier"` and `'string'`, each with
//! its quote doubled and nothing else special (SQLite has no backslash escapes).

use crate::scan::{ScanError, Scanned, doubled_quote, quoted_identifier};

pub fn identifier(text: &str) -> Result<Scanned, ScanError> {
    quoted_identifier(text, '"')
}

pub fn string(text: &str) -> Result<Scanned, ScanError> {
    doubled_quote(text, '\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backslashes_are_ordinary() {
        assert_eq!(string(r"'a\'").map(|s| s.value).as_deref(), Ok(r"a\"));
        assert_eq!(identifier("\"a\\\"").map(|s| s.value).as_deref(), Ok("a\\"));
    }
}
