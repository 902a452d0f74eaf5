//! Go's `url.QueryUnescape` / `url.PathUnescape`: `%XX` decoding that rejects malformed escapes (the `url`
//! crate's decoders are lenient), with `+` as a space only in query mode.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `url.QueryUnescape`: `+` is a space.
    Query,
    /// `url.PathUnescape` (and URL user information): `+` is a plus.
    Path,
}

/// Why a component could not be decoded. Never carries the input (it may be a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EscapeError {
    BadEscape,
    NotUtf8,
}

impl EscapeError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            EscapeError::BadEscape => "invalid %-escape",
            EscapeError::NotUtf8 => "the decoded text is not UTF-8",
        }
    }
}

pub(crate) fn unescape(input: &str, mode: Mode) -> Result<String, EscapeError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let high = bytes.get(index + 1).and_then(|b| (*b as char).to_digit(16));
                let low = bytes.get(index + 2).and_then(|b| (*b as char).to_digit(16));
                match (high, low) {
                    (Some(high), Some(low)) => out.push((high * 16 + low) as u8),
                    _ => return Err(EscapeError::BadEscape),
                }
                index += 3;
            }
            b'+' if mode == Mode::Query => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| EscapeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_go() {
        assert_eq!(unescape("p%40ss+word", Mode::Query).unwrap(), "p@ss word");
        assert_eq!(unescape("p%40ss+word", Mode::Path).unwrap(), "p@ss+word");
        assert_eq!(unescape("%E2%82%AC", Mode::Path).unwrap(), "€");
        assert_eq!(unescape("plain", Mode::Query).unwrap(), "plain");
    }

    #[test]
    fn rejects_malformed_escapes() {
        assert_eq!(unescape("100%", Mode::Query), Err(EscapeError::BadEscape));
        assert_eq!(unescape("%zz", Mode::Path), Err(EscapeError::BadEscape));
        assert_eq!(unescape("%ff", Mode::Path), Err(EscapeError::NotUtf8));
    }
}
