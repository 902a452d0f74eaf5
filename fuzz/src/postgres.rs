//! PostgreSQL's lexical rules for quoted tokens, after `src/backend/parser/scan.l`.
//!
//! * `"identifier"`: `""` is a double quote, nothing else is special, empty is an error.
//! * `'string'`: `''` is a quote. With `standard_conforming_strings = off` a plain string is read like an
//!   escape string, so a backslash in it starts an escape; with `on` it is an ordinary character.
//! * `E'string'`: `''` or `\'` is a quote, and `\b \f \n \r \t \v`, octal `\o[o[o]]`, hex `\xh[h]`,
//!   `\uXXXX` and `\UXXXXXXXX` escapes; any other backslash-character pair is the character.

use crate::scan::{ScanError, Scanned, quoted_identifier};

pub fn identifier(text: &str) -> Result<Scanned, ScanError> {
    quoted_identifier(text, '"')
}

/// Scans a `'...'` or `E'...'` string as a server with the given `standard_conforming_strings` reads it.
pub fn string(text: &str, standard_conforming_strings: bool) -> Result<Scanned, ScanError> {
    let (escapes, start) = if text.starts_with("E'") || text.starts_with("e'") {
        (true, 2)
    } else if text.starts_with('\'') {
        (!standard_conforming_strings, 1)
    } else {
        return Err(ScanError::NotThisToken);
    };
    let bytes = text.as_bytes();
    let mut value: Vec<u8> = Vec::new();
    let mut at = start;
    loop {
        let byte = *bytes.get(at).ok_or(ScanError::Unterminated)?;
        match byte {
            b'\'' if bytes.get(at + 1) == Some(&b'\'') => {
                value.push(b'\'');
                at += 2;
            }
            b'\'' => {
                let value = String::from_utf8(value).map_err(|_| ScanError::BadEscape)?;
                return Ok(Scanned { value, end: at + 1 });
            }
            b'\\' if escapes => at = escape(bytes, at + 1, &mut value)?,
            _ => {
                value.push(byte);
                at += 1;
            }
        }
    }
}

/// Decodes the escape whose first byte after the backslash is at `at`; returns the offset after it.
fn escape(bytes: &[u8], at: usize, value: &mut Vec<u8>) -> Result<usize, ScanError> {
    let first = *bytes.get(at).ok_or(ScanError::Unterminated)?;
    let simple = match first {
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        _ => None,
    };
    if let Some(byte) = simple {
        value.push(byte);
        return Ok(at + 1);
    }
    if first.is_ascii_digit() && first < b'8' {
        let digits = run(bytes, at, 3, |b| (b'0'..=b'7').contains(&b));
        let code = u32::from_str_radix(
            std::str::from_utf8(&bytes[at..at + digits]).expect("octal digits"),
            8,
        )
        .expect("at most three octal digits");
        // scan.l stores the code in an unsigned char.
        value.push((code & 0xff) as u8);
        return Ok(at + digits);
    }
    if first == b'x' {
        let digits = run(bytes, at + 1, 2, |b| b.is_ascii_hexdigit());
        if digits > 0 {
            let code = u8::from_str_radix(
                std::str::from_utf8(&bytes[at + 1..at + 1 + digits]).expect("hex digits"),
                16,
            )
            .expect("at most two hex digits");
            value.push(code);
            return Ok(at + 1 + digits);
        }
    }
    if first == b'u' || first == b'U' {
        let wanted = if first == b'u' { 4 } else { 8 };
        if run(bytes, at + 1, wanted, |b| b.is_ascii_hexdigit()) != wanted {
            return Err(ScanError::BadEscape);
        }
        let hex = std::str::from_utf8(&bytes[at + 1..at + 1 + wanted]).expect("hex digits");
        let code = u32::from_str_radix(hex, 16).map_err(|_| ScanError::BadEscape)?;
        // Surrogate pairs are legal in PostgreSQL but never produced by dbprov's quoting; refusing them keeps
        // this scanner small, and any appearance of one is a finding.
        let ch = char::from_u32(code).ok_or(ScanError::BadEscape)?;
        value.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        return Ok(at + 1 + wanted);
    }
    // Any other pair (`\\`, `\'`, `\"`, a multi-byte character) is the character itself.
    value.push(first);
    Ok(at + 1)
}

/// How many bytes from `at` (at most `max`) satisfy `accept`.
fn run(bytes: &[u8], at: usize, max: usize, accept: impl Fn(u8) -> bool) -> usize {
    bytes
        .iter()
        .skip(at)
        .take(max)
        .take_while(|&&byte| accept(byte))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, standard: bool) -> Result<String, ScanError> {
        string(text, standard).map(|scanned| scanned.value)
    }

    #[test]
    fn standard_strings_depend_on_the_setting() {
        assert_eq!(value(r"'a\b'", true).as_deref(), Ok(r"a\b"));
        assert_eq!(value(r"'a\b'", false).as_deref(), Ok("a\u{8}"));
        assert_eq!(value(r"'a\'", true).as_deref(), Ok(r"a\"));
        assert_eq!(value(r"'a\'", false), Err(ScanError::Unterminated));
    }

    #[test]
    fn escape_strings_decode_every_escape() {
        assert_eq!(value(r"E'a\\b'", true).as_deref(), Ok(r"a\b"));
        assert_eq!(value(r"E'it\'s'", true).as_deref(), Ok("it's"));
        assert_eq!(
            value(r"E'\101\x42\u0043\U00000044\q'", true).as_deref(),
            Ok("ABCDq")
        );
        assert_eq!(value(r"E'\xg'", true).as_deref(), Ok("xg"));
        assert_eq!(value(r"E'\u12'", true), Err(ScanError::BadEscape));
        assert_eq!(
            value(r"E'\377'", true),
            Err(ScanError::BadEscape),
            "invalid UTF-8"
        );
    }

    #[test]
    fn identifiers_double_their_quotes() {
        assert_eq!(identifier("\"a\"\"b\"").map(|s| s.value).as_deref(), Ok("a\"b"));
    }
}
