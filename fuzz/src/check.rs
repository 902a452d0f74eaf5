//! The properties the fuzzer checks for one input. Each failure panics with the input, the quoted text and
//! what it read back as, which is what libFuzzer records as a crash.

use dbprov_core::quote::{
    quote_identifier, quote_literal, quote_mysql_grant_database, unescape_mysql_grant_database,
};
use dbprov_core::{Dialect, MySqlStringMode, Name, NameError, NameKind, SqlBuilder, Statement};

use crate::scan::{ScanError, Scanned};
use crate::statement::{Session, Token, lex};
use crate::{mysql, postgres, sqlite};

const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);
const MYSQL_NO_BACKSLASH: Dialect = Dialect::MySql(MySqlStringMode::NoBackslashEscapes);
const ALL_DIALECTS: [Dialect; 4] = [Dialect::Postgres, MYSQL, MYSQL_NO_BACKSLASH, Dialect::Sqlite];

/// The sessions each dialect's statements must read correctly in. PostgreSQL literals must not depend on
/// `standard_conforming_strings`; MySQL literals are built for the session's `sql_mode`.
const SESSIONS: [(Dialect, Session); 5] = [
    (
        Dialect::Postgres,
        Session::Postgres {
            standard_conforming_strings: true,
        },
    ),
    (
        Dialect::Postgres,
        Session::Postgres {
            standard_conforming_strings: false,
        },
    ),
    (
        MYSQL,
        Session::MySql {
            backslash_escapes: true,
        },
    ),
    (
        MYSQL_NO_BACKSLASH,
        Session::MySql {
            backslash_escapes: false,
        },
    ),
    (Dialect::Sqlite, Session::Sqlite),
];

/// Checks every property for one fuzzer input.
pub fn check(data: &[u8]) {
    // Names and values are Rust strings: input that is not UTF-8 cannot reach the quoting functions.
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if input.contains('\0') {
        nul_is_refused(input);
        return;
    }
    literals_read_back_exactly(input);
    names_are_kept_verbatim(input);
    if input.is_empty() {
        // A zero-length quoted identifier is a syntax error on every server; names are never empty.
        return;
    }
    identifiers_read_back_exactly(input);
    grant_patterns_match_one_database(input);
    statements_read_back_exactly(input);
}

fn assert_whole_token(what: &str, input: &str, quoted: &str, scanned: Result<Scanned, ScanError>) {
    match scanned {
        Ok(scanned) if scanned.end == quoted.len() && scanned.value == input => {}
        Ok(scanned) => panic!(
            "{what}: {input:?} quoted as {quoted:?} reads back as {:?}, ending at byte {} of {}",
            scanned.value,
            scanned.end,
            quoted.len()
        ),
        Err(error) => panic!("{what}: {input:?} quoted as {quoted:?} does not read back: {error}"),
    }
}

fn literal(dialect: Dialect, input: &str) -> String {
    quote_literal(dialect, input).unwrap_or_else(|error| panic!("{input:?} has no NUL but: {error}"))
}

fn identifiers_read_back_exactly(input: &str) {
    let quoted = quote_identifier(Dialect::Postgres, input);
    assert_whole_token(
        "PostgreSQL identifier",
        input,
        &quoted,
        postgres::identifier(&quoted),
    );
    for dialect in [MYSQL, MYSQL_NO_BACKSLASH] {
        let quoted = quote_identifier(dialect, input);
        assert_whole_token("MySQL identifier", input, &quoted, mysql::identifier(&quoted));
    }
    let quoted = quote_identifier(Dialect::Sqlite, input);
    assert_whole_token("SQLite identifier", input, &quoted, sqlite::identifier(&quoted));
}

fn literals_read_back_exactly(input: &str) {
    let quoted = literal(Dialect::Postgres, input);
    assert_whole_token(
        "PostgreSQL literal (standard_conforming_strings on)",
        input,
        &quoted,
        postgres::string(&quoted, true),
    );
    assert_whole_token(
        "PostgreSQL literal (standard_conforming_strings off)",
        input,
        &quoted,
        postgres::string(&quoted, false),
    );

    let quoted = literal(MYSQL, input);
    assert_whole_token("MySQL literal", input, &quoted, mysql::string(&quoted, true));
    // Built for the default mode but read by a NO_BACKSLASH_ESCAPES session, the value is wrong (backslashes
    // stay doubled) but the token still ends where it should: a mode mix-up cannot become an injection.
    match mysql::string(&quoted, false) {
        Ok(scanned) if scanned.end == quoted.len() => {}
        other => panic!(
            "MySQL literal {quoted:?} for {input:?} escapes its quotes under NO_BACKSLASH_ESCAPES: {other:?}"
        ),
    }

    let quoted = literal(MYSQL_NO_BACKSLASH, input);
    assert_whole_token(
        "MySQL literal (NO_BACKSLASH_ESCAPES)",
        input,
        &quoted,
        mysql::string(&quoted, false),
    );

    let quoted = literal(Dialect::Sqlite, input);
    assert_whole_token("SQLite literal", input, &quoted, sqlite::string(&quoted));
}

fn grant_patterns_match_one_database(input: &str) {
    let quoted = quote_mysql_grant_database(input);
    let pattern = mysql::identifier(&quoted)
        .ok()
        .filter(|scanned| scanned.end == quoted.len())
        .unwrap_or_else(|| panic!("grant database {input:?} quoted as {quoted:?} is not one identifier"))
        .value;
    assert_eq!(
        mysql::grant_pattern_literal(&pattern).as_deref(),
        Some(input),
        "grant database {input:?} became the pattern {pattern:?}, which does not match exactly that database"
    );
    assert_eq!(
        unescape_mysql_grant_database(&pattern).as_deref(),
        Some(input),
        "dbprov reads its own grant pattern {pattern:?} back as another name"
    );
    // Read as a pattern stored by someone else, the input means what the server's matcher says it means.
    assert_eq!(
        unescape_mysql_grant_database(input),
        mysql::grant_pattern_literal(input),
        "dbprov reads the stored grant pattern {input:?} differently from the server"
    );
}

/// `SELECT <schema>.<name> AS <name>, <literal>, <secret> FROM t WHERE n = <length> AND v IN (<literal>,
/// <literal>);`
fn select(dialect: Dialect, input: &str) -> Statement {
    let mut sql = SqlBuilder::new(dialect);
    sql.push("SELECT ")
        .qualified(input, input)
        .push(" AS ")
        .ident(input)
        .push(", ")
        .literal(input)
        .push(", ")
        .secret_literal(input)
        .push(" FROM t WHERE n = ")
        .int(i64::try_from(input.len()).expect("inputs are far below i64::MAX bytes"))
        .push(" AND v IN (")
        .list([input, input], |sql, value| {
            sql.literal(value);
        })
        .push(");");
    sql.build().expect("a NUL-free value always quotes")
}

fn select_tokens(input: &str, secret: &str) -> Vec<Token> {
    let word = |word: &str| Token::Word(word.to_owned());
    vec![
        word("SELECT"),
        Token::Ident(input.to_owned()),
        Token::Punct('.'),
        Token::Ident(input.to_owned()),
        word("AS"),
        Token::Ident(input.to_owned()),
        Token::Punct(','),
        Token::Str(input.to_owned()),
        Token::Punct(','),
        Token::Str(secret.to_owned()),
        word("FROM"),
        word("T"),
        word("WHERE"),
        word("N"),
        Token::Punct('='),
        Token::Number(input.len().to_string()),
        word("AND"),
        word("V"),
        word("IN"),
        Token::Punct('('),
        Token::Str(input.to_owned()),
        Token::Punct(','),
        Token::Str(input.to_owned()),
        Token::Punct(')'),
        Token::Punct(';'),
    ]
}

/// `GRANT SELECT ON <database>.* TO <user>@<host>;`
fn grant(input: &str) -> Statement {
    let mut sql = SqlBuilder::new(MYSQL);
    sql.push("GRANT SELECT ON ")
        .mysql_grant_database(input)
        .push(".* TO ")
        .ident(input)
        .push("@")
        .literal(input)
        .push(";");
    sql.build().expect("a NUL-free value always quotes")
}

fn assert_tokens(what: &str, input: &str, text: &str, session: Session, expected: &[Token]) {
    match lex(text, session) {
        Ok(tokens) => assert_eq!(
            tokens, expected,
            "{what} for {input:?} in a {session:?} session: {text:?} has other tokens than built"
        ),
        Err(error) => panic!("{what} for {input:?} in a {session:?} session: {text:?} does not lex: {error}"),
    }
}

fn statements_read_back_exactly(input: &str) {
    for (dialect, session) in SESSIONS {
        let statement = select(dialect, input);
        assert_tokens(
            "statement",
            input,
            statement.sql(),
            session,
            &select_tokens(input, input),
        );
        assert_tokens(
            "displayed statement",
            input,
            statement.display(),
            session,
            &select_tokens(input, "<redacted>"),
        );
        assert_eq!(statement.to_string(), statement.display());
    }

    let statement = grant(input);
    let tokens = lex(
        statement.sql(),
        Session::MySql {
            backslash_escapes: true,
        },
    )
    .unwrap_or_else(|error| panic!("grant for {input:?}: {:?} does not lex: {error}", statement.sql()));
    let Some(Token::Ident(pattern)) = tokens.get(3) else {
        panic!(
            "grant for {input:?}: {:?} has no database pattern",
            statement.sql()
        );
    };
    assert_eq!(mysql::grant_pattern_literal(pattern).as_deref(), Some(input));
    let word = |word: &str| Token::Word(word.to_owned());
    let expected = vec![
        word("GRANT"),
        word("SELECT"),
        word("ON"),
        Token::Ident(pattern.clone()),
        Token::Punct('.'),
        Token::Punct('*'),
        word("TO"),
        Token::Ident(input.to_owned()),
        Token::Punct('@'),
        Token::Str(input.to_owned()),
        Token::Punct(';'),
    ];
    assert_eq!(tokens, expected, "grant for {input:?}: {:?}", statement.sql());
}

fn names_are_kept_verbatim(input: &str) {
    match Name::parse(NameKind::Database, input) {
        Ok(name) => assert_eq!(name.as_str(), input),
        Err(NameError::Empty { .. }) => assert!(input.is_empty()),
        Err(NameError::TooLong { .. }) => assert!(input.len() > dbprov_core::name::MAX_NAME_BYTES),
        Err(error) => panic!("{input:?} was rejected for another reason: {error}"),
    }
}

fn nul_is_refused(input: &str) {
    for dialect in ALL_DIALECTS {
        assert!(
            quote_literal(dialect, input).is_err(),
            "{dialect:?}: a literal with NUL must be refused, not truncated: {input:?}"
        );
        let mut value = SqlBuilder::new(dialect);
        value.push("SELECT ").literal(input);
        assert!(
            value.build().is_err(),
            "{dialect:?}: a statement with a NUL literal was built"
        );
        let mut secret = SqlBuilder::new(dialect);
        secret.push("SELECT ").secret_literal(input);
        assert!(
            secret.build().is_err(),
            "{dialect:?}: a statement with a NUL secret was built"
        );
    }
    assert!(
        Name::parse(NameKind::Role, input).is_err(),
        "a name with NUL must be refused: {input:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks must be able to fail: quoting that forgets to double a quote or a backslash is caught.
    #[test]
    #[should_panic(expected = "reads back as")]
    fn an_undoubled_quote_is_caught() {
        let quoted = "'x'y'";
        assert_whole_token("naive literal", "x'y", quoted, sqlite::string(quoted));
    }

    #[test]
    #[should_panic(expected = "reads back as")]
    fn an_undoubled_backslash_is_caught() {
        // `a\'b` quoted by doubling quotes only: the backslash eats the first quote under MySQL's default mode.
        let quoted = r"'a\''b'";
        assert_whole_token("naive literal", r"a\'b", quoted, mysql::string(quoted, true));
    }

    #[test]
    #[should_panic(expected = "does not read back")]
    fn a_trailing_backslash_left_alone_is_caught() {
        let quoted = r"'a\'";
        assert_whole_token("naive literal", r"a\", quoted, mysql::string(quoted, true));
    }

    #[test]
    #[should_panic(expected = "does not lex")]
    fn a_name_ending_its_identifier_is_caught() {
        let text = "SELECT \"a\"; DROP TABLE t; --\"";
        assert_tokens(
            "naive statement",
            "a\"; DROP TABLE t; --",
            text,
            Session::Sqlite,
            &[],
        );
    }
}
