//! The statements each driver sends, built from the (quoted) migrations table name. They reproduce
//! golang-migrate's statements character for character where the text is visible afterwards (the DDL, which
//! PostgreSQL and MySQL normalise and SQLite stores verbatim in `sqlite_master`).

use dbprov_core::quote::quote_identifier;
use dbprov_core::{Dialect, MySqlStringMode, SqlBuilder};

use super::DriverError;

/// PostgreSQL statements for `"schema"."table"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PostgresStatements {
    pub qualified_table: String,
    pub create_table: String,
    pub select_version: String,
}

pub(crate) fn postgres(schema: &str, table: &str) -> Result<PostgresStatements, DriverError> {
    let qualified_table = build(Dialect::Postgres, table, |b| {
        b.qualified(schema, table);
    })?;
    let with_table = |before: &'static str, after: &'static str| {
        build(Dialect::Postgres, table, |b| {
            b.push(before).qualified(schema, table).push(after);
        })
    };
    Ok(PostgresStatements {
        create_table: with_table(
            "CREATE TABLE IF NOT EXISTS ",
            " (version bigint not null primary key, dirty boolean not null)",
        )?,
        select_version: with_table("SELECT version, dirty FROM ", " LIMIT 1")?,
        qualified_table,
    })
}

/// golang-migrate's `SetVersion` in one simple-protocol message (one round trip), which PostgreSQL runs as a
/// single implicit transaction: empty the table, then insert the row unless the version is -1 and clean.
///
/// The table is emptied with `DELETE`, as golang-migrate's pgx driver does (upstream PR #862). Its lib/pq
/// driver uses `TRUNCATE`, which leaves the same table but takes an ACCESS EXCLUSIVE lock (blocking behind
/// `pg_dump`) and rewrites the table's files twice per migration, which made it several times slower.
pub(crate) fn postgres_set_version(
    schema: &str,
    table: &str,
    version: i64,
    dirty: bool,
) -> Result<String, DriverError> {
    build(Dialect::Postgres, table, |b| {
        b.push("DELETE FROM ").qualified(schema, table);
        if version >= 0 || dirty {
            b.push("; INSERT INTO ")
                .qualified(schema, table)
                .push(" (version, dirty) VALUES (")
                .int(version)
                .push(if dirty { ", true)" } else { ", false)" });
        }
    })
}

/// golang-migrate's `SetVersion` (a SERIALIZABLE transaction: `DELETE ... LIMIT 1`, then the row) as one
/// multi-statement query, one round trip. `LIMIT 1` keeps servers running with `sql_safe_updates` happy
/// (golang-migrate PR #1070).
pub(crate) fn mysql_set_version(table: &str, version: i64, dirty: bool) -> Result<String, DriverError> {
    const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);
    build(MYSQL, table, |b| {
        b.push("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION; DELETE FROM ")
            .ident(table)
            .push(" LIMIT 1");
        if version >= 0 || dirty {
            b.push("; INSERT INTO ")
                .ident(table)
                .push(" (version, dirty) VALUES (")
                .int(version)
                .push(if dirty { ", 1)" } else { ", 0)" });
        }
        b.push("; COMMIT");
    })
}

/// MySQL statements for `` `table` ``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MySqlStatements {
    pub quoted_table: String,
    pub create_table: String,
    pub select_version: String,
}

pub(crate) fn mysql(table: &str) -> Result<MySqlStatements, DriverError> {
    // Identifiers are quoted the same way whatever the backslash mode.
    const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);
    let with_table = |before: &'static str, after: &'static str| {
        build(MYSQL, table, |b| {
            b.push(before).ident(table).push(after);
        })
    };
    Ok(MySqlStatements {
        quoted_table: with_table("", "")?,
        create_table: with_table(
            "CREATE TABLE ",
            " (version bigint not null primary key, dirty boolean not null)",
        )?,
        select_version: with_table("SELECT version, dirty FROM ", " LIMIT 1")?,
    })
}

/// SQLite statements for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqliteStatements {
    pub table: String,
    /// Both statements in one string, exactly as golang-migrate sends them.
    pub ensure_table: String,
    pub delete: String,
    pub insert: String,
    pub select_version: String,
}

pub(crate) fn sqlite(table: &str) -> Result<SqliteStatements, DriverError> {
    if table.contains('\0') {
        return Err(DriverError::InvalidTableName {
            table: table.to_owned(),
            reason: "it contains a NUL byte".into(),
        });
    }
    let name = sqlite_table_name(table);
    Ok(SqliteStatements {
        // golang-migrate's text, leading newline and indentation included: SQLite stores the CREATE TABLE and
        // CREATE INDEX text in sqlite_master as written.
        ensure_table: format!(
            "\n\tCREATE TABLE IF NOT EXISTS {name} (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON {name} (version);\n  "
        ),
        delete: format!("DELETE FROM {name}"),
        insert: format!("INSERT INTO {name} (version, dirty) VALUES (?, ?)"),
        select_version: format!("SELECT version, dirty FROM {name} LIMIT 1"),
        table: name,
    })
}

/// The table name as SQLite DDL should carry it. golang-migrate writes the name bare, and SQLite keeps the
/// DDL text, so a bare name is what makes `sqlite_master` identical to golang-migrate's. A name is left bare
/// only when it is a plain identifier SQLite reads as exactly that name (letters, digits, `_`, not starting
/// with a digit, not a keyword); anything else goes through the quoting module.
pub(crate) fn sqlite_table_name(table: &str) -> String {
    let plain = table
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !SQLITE_KEYWORDS.contains(&table.to_ascii_uppercase().as_str());
    if plain {
        table.to_owned()
    } else {
        quote_identifier(Dialect::Sqlite, table)
    }
}

/// <https://www.sqlite.org/lang_keywords.html>
const SQLITE_KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

fn build(dialect: Dialect, table: &str, write: impl FnOnce(&mut SqlBuilder)) -> Result<String, DriverError> {
    let mut builder = SqlBuilder::new(dialect);
    write(&mut builder);
    builder
        .build()
        .map(|statement| statement.sql().to_owned())
        .map_err(|error| DriverError::InvalidTableName {
            table: table.to_owned(),
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_statements_are_golang_migrates() {
        let statements = postgres("public", "schema_migrations").unwrap();
        assert_eq!(
            statements.create_table,
            r#"CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)"#
        );
        assert_eq!(
            statements.select_version,
            r#"SELECT version, dirty FROM "public"."schema_migrations" LIMIT 1"#
        );
    }

    #[test]
    fn postgres_names_are_quoted() {
        let statements = postgres("my\"schema", "a.b").unwrap();
        assert_eq!(statements.qualified_table, r#""my""schema"."a.b""#);
    }

    #[test]
    fn set_version_in_one_message() {
        assert_eq!(
            postgres_set_version("public", "schema_migrations", 3, true).unwrap(),
            r#"DELETE FROM "public"."schema_migrations"; INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (3, true)"#
        );
        assert_eq!(
            postgres_set_version("public", "schema_migrations", -1, true).unwrap(),
            r#"DELETE FROM "public"."schema_migrations"; INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (-1, true)"#
        );
        assert_eq!(
            postgres_set_version("public", "schema_migrations", -1, false).unwrap(),
            r#"DELETE FROM "public"."schema_migrations""#,
            "no version and clean leaves the table empty"
        );
        assert_eq!(
            mysql_set_version("schema_migrations", 7, false).unwrap(),
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION; DELETE FROM `schema_migrations` LIMIT 1; \
             INSERT INTO `schema_migrations` (version, dirty) VALUES (7, 0); COMMIT"
        );
        assert_eq!(
            mysql_set_version("schema_migrations", -1, false).unwrap(),
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION; DELETE FROM `schema_migrations` LIMIT 1; COMMIT"
        );
    }

    #[test]
    fn mysql_statements_are_golang_migrates() {
        let statements = mysql("schema_migrations").unwrap();
        assert_eq!(
            statements.create_table,
            "CREATE TABLE `schema_migrations` (version bigint not null primary key, dirty boolean not null)"
        );
        assert_eq!(
            statements.select_version,
            "SELECT version, dirty FROM `schema_migrations` LIMIT 1"
        );
        assert_eq!(mysql("a`b").unwrap().quoted_table, "`a``b`");
    }

    #[test]
    fn sqlite_statements_are_golang_migrates() {
        let statements = sqlite("schema_migrations").unwrap();
        assert_eq!(
            statements.ensure_table,
            "\n\tCREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);\n  "
        );
        assert_eq!(statements.delete, "DELETE FROM schema_migrations");
        assert_eq!(
            statements.insert,
            "INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)"
        );
        assert_eq!(
            statements.select_version,
            "SELECT version, dirty FROM schema_migrations LIMIT 1"
        );
    }

    #[test]
    fn sqlite_names_are_bare_only_when_plain() {
        assert_eq!(sqlite_table_name("schema_migrations"), "schema_migrations");
        assert_eq!(sqlite_table_name("_m2"), "_m2");
        assert_eq!(sqlite_table_name("order"), "\"order\"");
        assert_eq!(sqlite_table_name("2fast"), "\"2fast\"");
        assert_eq!(sqlite_table_name("a b"), "\"a b\"");
        assert_eq!(sqlite_table_name("x; DROP TABLE y"), "\"x; DROP TABLE y\"");
        assert_eq!(sqlite_table_name("a\"b"), "\"a\"\"b\"");
        assert_eq!(sqlite_table_name("ünicode"), "\"ünicode\"");
        assert!(sqlite("a\0b").is_err());
    }
}
