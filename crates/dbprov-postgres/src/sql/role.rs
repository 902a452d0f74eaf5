//! Roles: attributes, passwords (as SCRAM verifiers), memberships, settings, and dropping.

use dbprov_core::{EngineError, Secret, SqlBuilder, Statement};

use super::{builder, finish, setting_name};

/// A role attribute keyword: `SUPERUSER` / `NOSUPERUSER` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoleFlag {
    Login,
    Superuser,
    Createdb,
    Createrole,
    Inherit,
    Replication,
    Bypassrls,
}

impl RoleFlag {
    pub(crate) fn keyword(self, on: bool) -> &'static str {
        match (self, on) {
            (RoleFlag::Login, true) => "LOGIN",
            (RoleFlag::Login, false) => "NOLOGIN",
            (RoleFlag::Superuser, true) => "SUPERUSER",
            (RoleFlag::Superuser, false) => "NOSUPERUSER",
            (RoleFlag::Createdb, true) => "CREATEDB",
            (RoleFlag::Createdb, false) => "NOCREATEDB",
            (RoleFlag::Createrole, true) => "CREATEROLE",
            (RoleFlag::Createrole, false) => "NOCREATEROLE",
            (RoleFlag::Inherit, true) => "INHERIT",
            (RoleFlag::Inherit, false) => "NOINHERIT",
            (RoleFlag::Replication, true) => "REPLICATION",
            (RoleFlag::Replication, false) => "NOREPLICATION",
            (RoleFlag::Bypassrls, true) => "BYPASSRLS",
            (RoleFlag::Bypassrls, false) => "NOBYPASSRLS",
        }
    }

    /// The field name used in drift reports.
    pub(crate) fn field(self) -> &'static str {
        match self {
            RoleFlag::Login => "login",
            RoleFlag::Superuser => "superuser",
            RoleFlag::Createdb => "createdb",
            RoleFlag::Createrole => "createrole",
            RoleFlag::Inherit => "inherit",
            RoleFlag::Replication => "replication",
            RoleFlag::Bypassrls => "bypassrls",
        }
    }
}

/// One attribute of `CREATE ROLE ... WITH` / `ALTER ROLE ... WITH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleAttribute<'a> {
    Flag(RoleFlag, bool),
    ConnectionLimit(i32),
    /// A canonical timestamp (or `infinity`).
    ValidUntil(&'a str),
    /// A SCRAM-SHA-256 verifier, never the plaintext.
    Password(&'a Secret),
}

fn attribute(sql: &mut SqlBuilder, attribute: &RoleAttribute<'_>) {
    match attribute {
        RoleAttribute::Flag(flag, on) => {
            sql.push(flag.keyword(*on));
        }
        RoleAttribute::ConnectionLimit(limit) => {
            sql.push("CONNECTION LIMIT ").int((*limit).into());
        }
        RoleAttribute::ValidUntil(timestamp) => {
            sql.push("VALID UNTIL ").literal(timestamp);
        }
        RoleAttribute::Password(verifier) => {
            sql.push("PASSWORD ").secret_literal(verifier.expose());
        }
    }
}

pub(crate) fn create_role(role: &str, attributes: &[RoleAttribute<'_>]) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("CREATE ROLE ").ident(role).push(" WITH");
    for item in attributes {
        sql.push(" ");
        attribute(&mut sql, item);
    }
    finish(sql)
}

pub(crate) fn alter_role(role: &str, item: &RoleAttribute<'_>) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER ROLE ").ident(role).push(" WITH ");
    attribute(&mut sql, item);
    finish(sql)
}

/// `GRANT parent, ... TO role`.
pub(crate) fn grant_membership(parents: &[&str], role: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("GRANT ");
    sql.list(parents.iter(), |sql, parent| {
        sql.ident(parent);
    });
    sql.push(" TO ").ident(role);
    finish(sql)
}

/// `REVOKE parent, ... FROM role`.
pub(crate) fn revoke_membership(parents: &[&str], role: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("REVOKE ");
    sql.list(parents.iter(), |sql, parent| {
        sql.ident(parent);
    });
    sql.push(" FROM ").ident(role);
    finish(sql)
}

/// A role setting's value: one string, or a list for the settings PostgreSQL stores as quoted identifiers
/// (`search_path`, `temp_tablespaces`, `*_preload_libraries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SettingValue {
    Scalar(String),
    List(Vec<String>),
}

/// `ALTER ROLE role SET name = 'value'` (or `= 'a', 'b'` for a list).
pub(crate) fn alter_role_set(role: &str, name: &str, value: &SettingValue) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER ROLE ").ident(role).push(" SET ");
    setting_name(&mut sql, name);
    sql.push(" = ");
    match value {
        SettingValue::Scalar(value) => {
            sql.literal(value);
        }
        SettingValue::List(items) => {
            sql.list(items.iter(), |sql, item| {
                sql.literal(item);
            });
        }
    }
    finish(sql)
}

pub(crate) fn alter_role_reset(role: &str, name: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER ROLE ").ident(role).push(" RESET ");
    setting_name(&mut sql, name);
    finish(sql)
}

pub(crate) fn reassign_owned(role: &str, new_owner: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("REASSIGN OWNED BY ")
        .ident(role)
        .push(" TO ")
        .ident(new_owner);
    finish(sql)
}

pub(crate) fn drop_owned(role: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("DROP OWNED BY ").ident(role);
    finish(sql)
}

pub(crate) fn drop_role(role: &str) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("DROP ROLE IF EXISTS ").ident(role);
    finish(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_role_with_attributes_and_a_redacted_verifier() {
        let verifier = Secret::new("SCRAM-SHA-256$4096:c2FsdA==$a:b");
        let statement = create_role(
            "app",
            &[
                RoleAttribute::Flag(RoleFlag::Login, true),
                RoleAttribute::Flag(RoleFlag::Createdb, false),
                RoleAttribute::ConnectionLimit(5),
                RoleAttribute::ValidUntil("2030-01-01T00:00:00.000000Z"),
                RoleAttribute::Password(&verifier),
            ],
        )
        .unwrap();
        assert_eq!(
            statement.sql(),
            "CREATE ROLE \"app\" WITH LOGIN NOCREATEDB CONNECTION LIMIT 5 VALID UNTIL '2030-01-01T00:00:00.000000Z' \
             PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b'"
        );
        assert_eq!(
            statement.display(),
            "CREATE ROLE \"app\" WITH LOGIN NOCREATEDB CONNECTION LIMIT 5 VALID UNTIL '2030-01-01T00:00:00.000000Z' \
             PASSWORD '<redacted>'"
        );
        assert_eq!(
            create_role("g", &[RoleAttribute::Flag(RoleFlag::Login, false)])
                .unwrap()
                .sql(),
            "CREATE ROLE \"g\" WITH NOLOGIN"
        );
    }

    #[test]
    fn alter_role_statements() {
        assert_eq!(
            alter_role("app", &RoleAttribute::Flag(RoleFlag::Bypassrls, true))
                .unwrap()
                .sql(),
            "ALTER ROLE \"app\" WITH BYPASSRLS"
        );
        assert_eq!(
            alter_role("app", &RoleAttribute::ConnectionLimit(-1))
                .unwrap()
                .sql(),
            "ALTER ROLE \"app\" WITH CONNECTION LIMIT -1"
        );
        assert_eq!(
            grant_membership(&["readers", "writers"], "app").unwrap().sql(),
            "GRANT \"readers\", \"writers\" TO \"app\""
        );
        assert_eq!(
            revoke_membership(&["readers"], "app").unwrap().sql(),
            "REVOKE \"readers\" FROM \"app\""
        );
    }

    #[test]
    fn settings_render_scalars_and_lists() {
        assert_eq!(
            alter_role_set("app", "statement_timeout", &SettingValue::Scalar("5s".into()))
                .unwrap()
                .sql(),
            "ALTER ROLE \"app\" SET \"statement_timeout\" = '5s'"
        );
        assert_eq!(
            alter_role_set(
                "app",
                "search_path",
                &SettingValue::List(vec!["$user".into(), "it's".into()])
            )
            .unwrap()
            .sql(),
            "ALTER ROLE \"app\" SET \"search_path\" = '$user', 'it''s'"
        );
        assert_eq!(
            alter_role_reset("app", "myapp.tenant").unwrap().sql(),
            "ALTER ROLE \"app\" RESET \"myapp\".\"tenant\""
        );
    }

    #[test]
    fn drop_statements() {
        assert_eq!(
            reassign_owned("old", "new").unwrap().sql(),
            "REASSIGN OWNED BY \"old\" TO \"new\""
        );
        assert_eq!(drop_owned("old").unwrap().sql(), "DROP OWNED BY \"old\"");
        assert_eq!(drop_role("old").unwrap().sql(), "DROP ROLE IF EXISTS \"old\"");
    }
}
