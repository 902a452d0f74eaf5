//! The one audited module where names and values become SQL text.
//!
//! Every statement dbprov runs is built with a [`SqlBuilder`]: static keywords go in with [`SqlBuilder::push`]
//! (a `&'static str`, so user input cannot reach it), identifiers with [`SqlBuilder::ident`], values with
//! [`SqlBuilder::literal`], secrets with [`SqlBuilder::secret_literal`] (shown as `<redacted>` in every
//! rendering meant for people) and numbers with [`SqlBuilder::int`]. The rules per dialect:
//!
//! * PostgreSQL: identifiers in double quotes with `"` doubled; literals through `postgres-protocol`'s
//!   `escape_literal` (the libpq rules: `'` doubled, and an `E''` string with `\` doubled when a backslash is
//!   present), which is correct whatever `standard_conforming_strings` says.
//! * MySQL/MariaDB: identifiers in backticks with `` ` `` doubled (this also covers account names, which MySQL
//!   accepts as `` `user`@`host` ``); literals with `'` doubled and, unless the session runs with
//!   `NO_BACKSLASH_ESCAPES`, `\` doubled ([`MySqlStringMode`] is read from the server at connect time). The
//!   connection character set is always utf8mb4, so no multi-byte sequence can hide a backslash.
//!   Database names in `GRANT ... ON db.*` are patterns: `_` and `%` are wildcards there and are escaped.
//! * SQLite: identifiers in double quotes with `"` doubled; literals with `'` doubled.

use std::fmt::Write as _;

use crate::plan::Statement;

/// How MySQL interprets backslashes in string literals for the session that will run the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MySqlStringMode {
    /// The default: `\` starts an escape sequence.
    #[default]
    BackslashEscapes,
    /// `sql_mode` contains `NO_BACKSLASH_ESCAPES`: `\` is an ordinary character.
    NoBackslashEscapes,
}

/// The SQL dialect a statement is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql(MySqlStringMode),
    Sqlite,
}

/// A value that cannot be written as a literal of the dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("a {what} contains a NUL byte, which {dialect} cannot store")]
    Nul {
        what: &'static str,
        dialect: &'static str,
    },
}

/// Quotes an identifier (database, role, schema, table, column...).
pub fn quote_identifier(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Postgres | Dialect::Sqlite => {
            let mut out = String::with_capacity(name.len() + 2);
            out.push('"');
            for ch in name.chars() {
                if ch == '"' {
                    out.push('"');
                }
                out.push(ch);
            }
            out.push('"');
            out
        }
        Dialect::MySql(_) => {
            let mut out = String::with_capacity(name.len() + 2);
            out.push('`');
            for ch in name.chars() {
                if ch == '`' {
                    out.push('`');
                }
                out.push(ch);
            }
            out.push('`');
            out
        }
    }
}

/// Quotes a string literal.
pub fn quote_literal(dialect: Dialect, value: &str) -> Result<String, QuoteError> {
    if value.contains('\0') {
        return Err(QuoteError::Nul {
            what: "string value",
            dialect: dialect_name(dialect),
        });
    }
    Ok(match dialect {
        // libpq's PQescapeLiteral rules; a leading space is added before E'' and is harmless.
        Dialect::Postgres => postgres_protocol::escape::escape_literal(value)
            .trim_start()
            .to_owned(),
        Dialect::Sqlite => {
            let mut out = String::with_capacity(value.len() + 2);
            out.push('\'');
            for ch in value.chars() {
                if ch == '\'' {
                    out.push('\'');
                }
                out.push(ch);
            }
            out.push('\'');
            out
        }
        Dialect::MySql(mode) => {
            let mut out = String::with_capacity(value.len() + 2);
            out.push('\'');
            for ch in value.chars() {
                match ch {
                    '\'' => out.push_str("''"),
                    '\\' if mode == MySqlStringMode::BackslashEscapes => out.push_str("\\\\"),
                    _ => out.push(ch),
                }
            }
            out.push('\'');
            out
        }
    })
}

/// Quotes a MySQL database name used as the database part of `GRANT ... ON db.*`, where `_` and `%` are
/// wildcards. The escaped pattern matches exactly the one database named.
pub fn quote_mysql_grant_database(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len() + 4);
    for ch in name.chars() {
        if matches!(ch, '_' | '%' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    quote_identifier(Dialect::MySql(MySqlStringMode::BackslashEscapes), &pattern)
}

/// Reverses [`quote_mysql_grant_database`]'s escaping, for names read back from `mysql.db` or
/// `information_schema.SCHEMA_PRIVILEGES`. Returns `None` when the stored value is a real wildcard pattern
/// (an unescaped `_` or `%`), which dbprov never writes and therefore never claims to manage.
pub fn unescape_mysql_grant_database(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.push(chars.next().unwrap_or('\\')),
            '_' | '%' => return None,
            _ => out.push(ch),
        }
    }
    Some(out)
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "PostgreSQL",
        Dialect::MySql(_) => "MySQL",
        Dialect::Sqlite => "SQLite",
    }
}

/// Builds one statement, keeping two renderings in step: the SQL sent to the server and the text shown to
/// people (plans, logs, errors), where secrets read `<redacted>`.
#[derive(Debug)]
pub struct SqlBuilder {
    dialect: Dialect,
    sql: String,
    display: String,
    error: Option<QuoteError>,
}

impl SqlBuilder {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            sql: String::new(),
            display: String::new(),
            error: None,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Static SQL text: keywords, punctuation, privilege names. Only `&'static str` is accepted on purpose.
    pub fn push(&mut self, keyword: &'static str) -> &mut Self {
        self.sql.push_str(keyword);
        self.display.push_str(keyword);
        self
    }

    /// A quoted identifier.
    pub fn ident(&mut self, name: &str) -> &mut Self {
        let quoted = quote_identifier(self.dialect, name);
        self.sql.push_str(&quoted);
        self.display.push_str(&quoted);
        self
    }

    /// A qualified identifier `a.b`, each part quoted.
    pub fn qualified(&mut self, schema: &str, name: &str) -> &mut Self {
        self.ident(schema).push(".").ident(name)
    }

    /// A MySQL grant database pattern (see [`quote_mysql_grant_database`]).
    pub fn mysql_grant_database(&mut self, name: &str) -> &mut Self {
        let quoted = quote_mysql_grant_database(name);
        self.sql.push_str(&quoted);
        self.display.push_str(&quoted);
        self
    }

    /// A quoted string literal.
    pub fn literal(&mut self, value: &str) -> &mut Self {
        match quote_literal(self.dialect, value) {
            Ok(quoted) => {
                self.sql.push_str(&quoted);
                self.display.push_str(&quoted);
            }
            Err(error) => self.fail(error),
        }
        self
    }

    /// A string literal holding a secret (password, verifier): sent to the server, shown as `<redacted>`.
    pub fn secret_literal(&mut self, value: &str) -> &mut Self {
        match quote_literal(self.dialect, value) {
            Ok(quoted) => {
                self.sql.push_str(&quoted);
                self.display.push_str("'<redacted>'");
            }
            Err(QuoteError::Nul { dialect, .. }) => self.fail(QuoteError::Nul {
                what: "secret",
                dialect,
            }),
        }
        self
    }

    /// An integer.
    pub fn int(&mut self, value: i64) -> &mut Self {
        let _ = write!(self.sql, "{value}");
        let _ = write!(self.display, "{value}");
        self
    }

    /// Text rendered by the server itself in a form it accepts back as SQL (for example a `regprocedure`
    /// signature, which PostgreSQL quotes with its own `quote_ident`). Never pass client-supplied text.
    pub fn server_rendered(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self.display.push_str(text);
        self
    }

    /// Items separated by `", "`, each written by `item`.
    pub fn list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut item: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        for (index, value) in items.into_iter().enumerate() {
            if index > 0 {
                self.push(", ");
            }
            item(self, value);
        }
        self
    }

    fn fail(&mut self, error: QuoteError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    pub fn build(self) -> Result<Statement, QuoteError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(Statement::from_builder(self.sql, self.display)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);
    const MYSQL_NBE: Dialect = Dialect::MySql(MySqlStringMode::NoBackslashEscapes);

    #[test]
    fn postgres_identifiers_double_quotes() {
        assert_eq!(quote_identifier(Dialect::Postgres, "plain"), "\"plain\"");
        assert_eq!(quote_identifier(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(
            quote_identifier(Dialect::Postgres, "Mixed Case"),
            "\"Mixed Case\""
        );
    }

    #[test]
    fn postgres_literals_follow_libpq() {
        assert_eq!(quote_literal(Dialect::Postgres, "it's").unwrap(), "'it''s'");
        assert_eq!(quote_literal(Dialect::Postgres, "a\\b").unwrap(), "E'a\\\\b'");
    }

    #[test]
    fn mysql_identifiers_use_backticks() {
        assert_eq!(quote_identifier(MYSQL, "a`b"), "`a``b`");
        assert_eq!(quote_identifier(MYSQL, "a\"b'c"), "`a\"b'c`");
    }

    #[test]
    fn mysql_literals_depend_on_backslash_mode() {
        assert_eq!(quote_literal(MYSQL, "a'b\\c").unwrap(), "'a''b\\\\c'");
        assert_eq!(quote_literal(MYSQL_NBE, "a'b\\c").unwrap(), "'a''b\\c'");
    }

    #[test]
    fn mysql_grant_database_escapes_wildcards() {
        assert_eq!(quote_mysql_grant_database("client_db"), "`client\\_db`");
        assert_eq!(quote_mysql_grant_database("100%"), "`100\\%`");
        assert_eq!(
            unescape_mysql_grant_database("client\\_db").as_deref(),
            Some("client_db")
        );
        assert_eq!(
            unescape_mysql_grant_database("client_db"),
            None,
            "an unescaped _ is a wildcard"
        );
    }

    #[test]
    fn nul_is_refused_not_truncated() {
        assert!(quote_literal(Dialect::Postgres, "a\0b").is_err());
        let mut builder = SqlBuilder::new(MYSQL);
        builder.push("SELECT ").literal("x\0");
        assert!(builder.build().is_err());
    }

    #[test]
    fn secrets_are_redacted_in_display_only() {
        let mut builder = SqlBuilder::new(Dialect::Postgres);
        builder
            .push("ALTER ROLE ")
            .ident("app")
            .push(" PASSWORD ")
            .secret_literal("s3cr'et");
        let statement = builder.build().unwrap();
        assert_eq!(statement.sql(), "ALTER ROLE \"app\" PASSWORD 's3cr''et'");
        assert_eq!(statement.to_string(), "ALTER ROLE \"app\" PASSWORD '<redacted>'");
        assert!(!format!("{statement:?}").contains("s3cr"));
    }

    proptest::proptest! {
        /// Unquoting what we quoted gives the input back, so nothing can end the quoted token early.
        #[test]
        fn identifiers_round_trip(name in "\\PC{0,80}") {
            for (dialect, quote) in [(Dialect::Postgres, '"'), (MYSQL, '`'), (Dialect::Sqlite, '"')] {
                let quoted = quote_identifier(dialect, &name);
                proptest::prop_assert!(quoted.starts_with(quote) && quoted.ends_with(quote));
                let inner = &quoted[1..quoted.len() - 1];
                let doubled: String = [quote, quote].iter().collect();
                proptest::prop_assert_eq!(inner.replace(&doubled, &quote.to_string()), name.clone());
                // every quote char inside must be doubled: after removing pairs none are left
                proptest::prop_assert!(!inner.replace(&doubled, "").contains(quote));
            }
        }

        #[test]
        fn mysql_literals_round_trip(value in "[^\\x00]{0,80}") {
            for mode in [MySqlStringMode::BackslashEscapes, MySqlStringMode::NoBackslashEscapes] {
                let quoted = quote_literal(Dialect::MySql(mode), &value).unwrap();
                let inner = &quoted[1..quoted.len() - 1];
                let mut decoded = String::new();
                let mut chars = inner.chars().peekable();
                while let Some(ch) = chars.next() {
                    match ch {
                        '\'' => { proptest::prop_assert_eq!(chars.next(), Some('\'')); decoded.push('\''); }
                        '\\' if mode == MySqlStringMode::BackslashEscapes => decoded.push(chars.next().unwrap()),
                        _ => decoded.push(ch),
                    }
                }
                proptest::prop_assert_eq!(decoded, value.clone());
            }
        }
    }
}
