//! A deliberately small statement lexer: words, numbers, punctuation and the quoted tokens of each dialect.
//!
//! It knows nothing of comments, operators, dollar quoting or parameters: the fuzzed statements are built
//! from templates that contain none of them, so meeting one means a name or value escaped its quotes, and
//! the lexer reports it instead of guessing.

use std::fmt;

use crate::scan::{ScanError, Scanned};
use crate::{mysql, postgres, sqlite};

/// How the server session reads the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    Postgres { standard_conforming_strings: bool },
    MySql { backslash_escapes: bool },
    Sqlite,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare word, upper-cased (keywords and unquoted names).
    Word(String),
    Ident(String),
    Str(String),
    Number(String),
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.reason)
    }
}

/// Splits `sql` into tokens as `session` would.
pub fn lex(sql: &str, session: Session) -> Result<Vec<Token>, LexError> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < sql.len() {
        let rest = &sql[at..];
        let ch = rest.chars().next().expect("at is inside sql");
        if ch.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let quoted = |scanned: Result<Scanned, ScanError>, token: fn(String) -> Token| {
            scanned
                .map(|scanned| (token(scanned.value), scanned.end))
                .map_err(|error| LexError {
                    offset: at,
                    reason: error.to_string(),
                })
        };
        let (token, length) = match (ch, session) {
            ('"', Session::Postgres { .. }) => quoted(postgres::identifier(rest), Token::Ident)?,
            ('"', Session::Sqlite) => quoted(sqlite::identifier(rest), Token::Ident)?,
            ('`', Session::MySql { .. }) => quoted(mysql::identifier(rest), Token::Ident)?,
            (
                '\'',
                Session::Postgres {
                    standard_conforming_strings,
                },
            ) => quoted(postgres::string(rest, standard_conforming_strings), Token::Str)?,
            (
                'E' | 'e',
                Session::Postgres {
                    standard_conforming_strings,
                },
            ) if rest[1..].starts_with('\'') => {
                quoted(postgres::string(rest, standard_conforming_strings), Token::Str)?
            }
            ('\'', Session::MySql { backslash_escapes }) => {
                quoted(mysql::string(rest, backslash_escapes), Token::Str)?
            }
            ('\'', Session::Sqlite) => quoted(sqlite::string(rest), Token::Str)?,
            (',' | ';' | '.' | '(' | ')' | '=' | '*' | '@', _) => (Token::Punct(ch), 1),
            _ if ch.is_ascii_digit() => {
                let length = rest.bytes().take_while(u8::is_ascii_digit).count();
                (Token::Number(rest[..length].to_owned()), length)
            }
            _ if ch.is_ascii_alphabetic() || ch == '_' => {
                let length = rest
                    .bytes()
                    .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
                    .count();
                (Token::Word(rest[..length].to_ascii_uppercase()), length)
            }
            _ => {
                return Err(LexError {
                    offset: at,
                    reason: format!("unexpected {ch:?}: text outside any quoted token"),
                });
            }
        };
        tokens.push(token);
        at += length;
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: Session = Session::Postgres {
        standard_conforming_strings: true,
    };

    #[test]
    fn reads_a_statement() {
        assert_eq!(
            lex("SELECT \"a\"\"b\".x, E'c\\\\' ;", PG),
            Ok(vec![
                Token::Word("SELECT".into()),
                Token::Ident("a\"b".into()),
                Token::Punct('.'),
                Token::Word("X".into()),
                Token::Punct(','),
                Token::Str("c\\".into()),
                Token::Punct(';'),
            ])
        );
    }

    #[test]
    fn an_escaped_name_is_an_error_not_a_guess() {
        assert!(lex("SELECT 'x'; DROP TABLE t; --'", PG).is_err());
        assert!(
            lex(
                "SELECT `a` #",
                Session::MySql {
                    backslash_escapes: true
                }
            )
            .is_err()
        );
    }
}
