//! Databases, extensions and schemas.

use dbprov_core::model::DatabaseSpec;
use dbprov_core::{EngineError, Statement};

use super::{boolean, builder, finish};

/// `CREATE DATABASE` with every declared option (undeclared ones take the server's defaults).
pub(crate) fn create_database(spec: &DatabaseSpec) -> Result<Statement, EngineError> {
    let options = &spec.postgres;
    let mut sql = builder();
    sql.push("CREATE DATABASE ").ident(spec.name.as_str());
    if let Some(owner) = &spec.owner {
        sql.push(" OWNER ").ident(owner.as_str());
    }
    if let Some(encoding) = &options.encoding {
        sql.push(" ENCODING ").literal(encoding);
    }
    if let Some(collate) = &options.lc_collate {
        sql.push(" LC_COLLATE ").literal(collate);
    }
    if let Some(ctype) = &options.lc_ctype {
        sql.push(" LC_CTYPE ").literal(ctype);
    }
    if let Some(template) = &options.template {
        sql.push(" TEMPLATE ").ident(template.as_str());
    }
    if let Some(tablespace) = &options.tablespace {
        sql.push(" TABLESPACE ").ident(tablespace.as_str());
    }
    if let Some(limit) = options.connection_limit {
        sql.push(" CONNECTION LIMIT ").int(limit.into());
    }
    if let Some(is_template) = options.is_template {
        sql.push(" IS_TEMPLATE ");
        boolean(&mut sql, is_template);
    }
    if let Some(allow) = options.allow_connections {
        sql.push(" ALLOW_CONNECTIONS ");
        boolean(&mut sql, allow);
    }
    finish(sql)
}

pub(crate) fn alter_database_owner(database: &str, owner: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER DATABASE ")
        .ident(database)
        .push(" OWNER TO ")
        .ident(owner);
    finish(sql)
}

pub(crate) fn alter_database_connection_limit(database: &str, limit: i32) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER DATABASE ")
        .ident(database)
        .push(" CONNECTION LIMIT ")
        .int(limit.into());
    finish(sql)
}

pub(crate) fn alter_database_is_template(
    database: &str,
    is_template: bool,
) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER DATABASE ").ident(database).push(" IS_TEMPLATE ");
    boolean(&mut sql, is_template);
    finish(sql)
}

pub(crate) fn alter_database_allow_connections(
    database: &str,
    allow: bool,
) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER DATABASE ")
        .ident(database)
        .push(" ALLOW_CONNECTIONS ");
    boolean(&mut sql, allow);
    finish(sql)
}

/// Moves the database's files; cannot run in a transaction nor while anyone is connected to it.
pub(crate) fn alter_database_tablespace(database: &str, tablespace: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER DATABASE ")
        .ident(database)
        .push(" SET TABLESPACE ")
        .ident(tablespace);
    finish(sql)
}

/// `DROP DATABASE IF EXISTS`; `force` (PostgreSQL 13+) terminates the sessions connected to it.
pub(crate) fn drop_database(database: &str, force: bool) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("DROP DATABASE IF EXISTS ").ident(database);
    if force {
        sql.push(" WITH (FORCE)");
    }
    finish(sql)
}

/// Before PostgreSQL 13: ends the other sessions connected to a database about to be dropped.
pub(crate) fn terminate_backends(database: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ")
        .literal(database)
        .push(" AND pid <> pg_backend_pid()");
    finish(sql)
}

/// Whether `sql` is one of the statements above that need every session of `database` gone, so the engine
/// closes its own pooled connections to it first.
pub(crate) fn needs_exclusive_access(sql: &str, database: &str) -> Result<bool, EngineError> {
    // The identifier is followed by a space in the prefix: a quoted identifier ends at a single quote, so
    // `"d" ` cannot be the start of `"d""x"`.
    let mut tablespace = builder();
    tablespace
        .push("ALTER DATABASE ")
        .ident(database)
        .push(" SET TABLESPACE ");
    Ok(sql == drop_database(database, true)?.sql()
        || sql == drop_database(database, false)?.sql()
        || sql == terminate_backends(database)?.sql()
        || sql.starts_with(finish(tablespace)?.sql()))
}

pub(crate) fn create_extension(
    name: &str,
    schema: Option<&str>,
    version: Option<&str>,
) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("CREATE EXTENSION IF NOT EXISTS ").ident(name);
    if let Some(schema) = schema {
        sql.push(" SCHEMA ").ident(schema);
    }
    if let Some(version) = version {
        sql.push(" VERSION ").literal(version);
    }
    finish(sql)
}

pub(crate) fn alter_extension_version(name: &str, version: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER EXTENSION ")
        .ident(name)
        .push(" UPDATE TO ")
        .literal(version);
    finish(sql)
}

pub(crate) fn alter_extension_schema(name: &str, schema: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER EXTENSION ")
        .ident(name)
        .push(" SET SCHEMA ")
        .ident(schema);
    finish(sql)
}

pub(crate) fn create_schema(name: &str, owner: Option<&str>) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("CREATE SCHEMA ").ident(name);
    if let Some(owner) = owner {
        sql.push(" AUTHORIZATION ").ident(owner);
    }
    finish(sql)
}

pub(crate) fn alter_schema_owner(name: &str, owner: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER SCHEMA ")
        .ident(name)
        .push(" OWNER TO ")
        .ident(owner);
    finish(sql)
}

#[cfg(test)]
mod tests {
    use dbprov_core::model::PgDatabaseOptions;
    use dbprov_core::{Name, NameKind};

    use super::*;

    fn name(value: &str) -> Name {
        Name::parse(NameKind::Database, value).unwrap()
    }

    #[test]
    fn create_database_renders_every_declared_option() {
        let spec = DatabaseSpec {
            owner: Some(name("app owner")),
            postgres: PgDatabaseOptions {
                encoding: Some("UTF8".into()),
                lc_collate: Some("C".into()),
                lc_ctype: Some("C".into()),
                template: Some(name("template0")),
                tablespace: Some(name("pg_default")),
                connection_limit: Some(10),
                is_template: Some(false),
                allow_connections: Some(true),
                ..PgDatabaseOptions::default()
            },
            ..DatabaseSpec::new(name("orders"))
        };
        assert_eq!(
            create_database(&spec).unwrap().sql(),
            "CREATE DATABASE \"orders\" OWNER \"app owner\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' \
             TEMPLATE \"template0\" TABLESPACE \"pg_default\" CONNECTION LIMIT 10 IS_TEMPLATE false \
             ALLOW_CONNECTIONS true"
        );
        assert_eq!(
            create_database(&DatabaseSpec::new(name("x\"; DROP DATABASE y; --")))
                .unwrap()
                .sql(),
            "CREATE DATABASE \"x\"\"; DROP DATABASE y; --\""
        );
    }

    #[test]
    fn alter_and_drop_statements() {
        assert_eq!(
            alter_database_owner("d", "o").unwrap().sql(),
            "ALTER DATABASE \"d\" OWNER TO \"o\""
        );
        assert_eq!(
            alter_database_connection_limit("d", -1).unwrap().sql(),
            "ALTER DATABASE \"d\" CONNECTION LIMIT -1"
        );
        assert_eq!(
            alter_database_is_template("d", true).unwrap().sql(),
            "ALTER DATABASE \"d\" IS_TEMPLATE true"
        );
        assert_eq!(
            alter_database_allow_connections("d", false).unwrap().sql(),
            "ALTER DATABASE \"d\" ALLOW_CONNECTIONS false"
        );
        assert_eq!(
            alter_database_tablespace("d", "fast").unwrap().sql(),
            "ALTER DATABASE \"d\" SET TABLESPACE \"fast\""
        );
        assert_eq!(
            drop_database("d", true).unwrap().sql(),
            "DROP DATABASE IF EXISTS \"d\" WITH (FORCE)"
        );
        assert_eq!(
            drop_database("d", false).unwrap().sql(),
            "DROP DATABASE IF EXISTS \"d\""
        );
        assert_eq!(
            terminate_backends("it's").unwrap().sql(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'it''s' AND pid <> pg_backend_pid()"
        );
    }

    #[test]
    fn exclusive_statements_are_recognized_exactly() {
        for statement in [
            drop_database("d", true).unwrap(),
            drop_database("d", false).unwrap(),
            alter_database_tablespace("d", "t").unwrap(),
            terminate_backends("d").unwrap(),
        ] {
            assert!(
                needs_exclusive_access(statement.sql(), "d").unwrap(),
                "{statement}"
            );
        }
        for other in [
            drop_database("d\"x", true).unwrap(),
            alter_database_tablespace("d\"x", "t").unwrap(),
            alter_database_owner("d", "o").unwrap(),
        ] {
            assert!(!needs_exclusive_access(other.sql(), "d").unwrap(), "{other}");
        }
    }

    #[test]
    fn extensions_and_schemas() {
        assert_eq!(
            create_extension("pg_trgm", Some("ext"), Some("1.6"))
                .unwrap()
                .sql(),
            "CREATE EXTENSION IF NOT EXISTS \"pg_trgm\" SCHEMA \"ext\" VERSION '1.6'"
        );
        assert_eq!(
            create_extension("hstore", None, None).unwrap().sql(),
            "CREATE EXTENSION IF NOT EXISTS \"hstore\""
        );
        assert_eq!(
            alter_extension_version("citext", "1.6").unwrap().sql(),
            "ALTER EXTENSION \"citext\" UPDATE TO '1.6'"
        );
        assert_eq!(
            alter_extension_schema("citext", "ext").unwrap().sql(),
            "ALTER EXTENSION \"citext\" SET SCHEMA \"ext\""
        );
        assert_eq!(
            create_schema("app", Some("owner")).unwrap().sql(),
            "CREATE SCHEMA \"app\" AUTHORIZATION \"owner\""
        );
        assert_eq!(create_schema("app", None).unwrap().sql(), "CREATE SCHEMA \"app\"");
        assert_eq!(
            alter_schema_owner("app", "o").unwrap().sql(),
            "ALTER SCHEMA \"app\" OWNER TO \"o\""
        );
    }
}
