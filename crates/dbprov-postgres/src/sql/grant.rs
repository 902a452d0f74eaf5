//! `GRANT`, `REVOKE` and `ALTER DEFAULT PRIVILEGES`.

use dbprov_core::model::{PgDefaultObjectType, PgPrivilege};
use dbprov_core::{EngineError, SqlBuilder, Statement};

use super::{builder, finish, privileges};

/// A routine named by the server's `regprocedure` rendering (`app.touch(integer)`), or by schema and name
/// alone when the database does not exist yet (PostgreSQL accepts a name without arguments when it is unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoutineRef<'a> {
    Signature(&'a str),
    Name { schema: &'a str, name: &'a str },
}

/// What a `GRANT` or `REVOKE` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantTarget<'a> {
    Database(&'a str),
    Schemas(Vec<&'a str>),
    /// Tables, views, materialized views, foreign and partitioned tables: `(schema, name)`.
    Tables(Vec<(&'a str, &'a str)>),
    Sequences(Vec<(&'a str, &'a str)>),
    Routines(Vec<RoutineRef<'a>>),
    AllTablesInSchema(&'a str),
    AllSequencesInSchema(&'a str),
    AllRoutinesInSchema(&'a str),
}

fn target(sql: &mut SqlBuilder, target: &GrantTarget<'_>) {
    match target {
        GrantTarget::Database(name) => {
            sql.push("DATABASE ").ident(name);
        }
        GrantTarget::Schemas(names) => {
            sql.push("SCHEMA ");
            sql.list(names.iter(), |sql, name| {
                sql.ident(name);
            });
        }
        GrantTarget::Tables(objects) | GrantTarget::Sequences(objects) => {
            sql.push(if matches!(target, GrantTarget::Tables(_)) {
                "TABLE "
            } else {
                "SEQUENCE "
            });
            sql.list(objects.iter(), |sql, (schema, name)| {
                sql.qualified(schema, name);
            });
        }
        GrantTarget::Routines(routines) => {
            sql.push("ROUTINE ");
            sql.list(routines.iter(), |sql, routine| match routine {
                // Rendered by the server's own regprocedure output function, which quotes what needs it.
                RoutineRef::Signature(signature) => {
                    sql.server_rendered(signature);
                }
                RoutineRef::Name { schema, name } => {
                    sql.qualified(schema, name);
                }
            });
        }
        GrantTarget::AllTablesInSchema(schema) => {
            sql.push("ALL TABLES IN SCHEMA ").ident(schema);
        }
        GrantTarget::AllSequencesInSchema(schema) => {
            sql.push("ALL SEQUENCES IN SCHEMA ").ident(schema);
        }
        GrantTarget::AllRoutinesInSchema(schema) => {
            sql.push("ALL ROUTINES IN SCHEMA ").ident(schema);
        }
    }
}

/// `GRANT privileges ON target TO grantee [WITH GRANT OPTION]`.
pub(crate) fn grant(
    granted: &[PgPrivilege],
    on: &GrantTarget<'_>,
    grantee: &str,
    with_grant_option: bool,
) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("GRANT ");
    privileges(&mut sql, granted);
    sql.push(" ON ");
    target(&mut sql, on);
    sql.push(" TO ").ident(grantee);
    if with_grant_option {
        sql.push(" WITH GRANT OPTION");
    }
    finish(sql)
}

/// `REVOKE privileges ON target FROM grantee`, or with `grant_option_only` `REVOKE GRANT OPTION FOR ...`,
/// which keeps the privileges. Without `CASCADE`: when the grantee passed a privilege on, the server refuses
/// and says so rather than silently revoking it from others too.
pub(crate) fn revoke(
    revoked: &[PgPrivilege],
    on: &GrantTarget<'_>,
    grantee: &str,
    grant_option_only: bool,
) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("REVOKE ");
    if grant_option_only {
        sql.push("GRANT OPTION FOR ");
    }
    privileges(&mut sql, revoked);
    sql.push(" ON ");
    target(&mut sql, on);
    sql.push(" FROM ").ident(grantee);
    finish(sql)
}

/// The scope of an `ALTER DEFAULT PRIVILEGES` statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DefaultScope<'a> {
    pub for_role: &'a str,
    pub schema: Option<&'a str>,
    pub object_type: PgDefaultObjectType,
}

/// What an `ALTER DEFAULT PRIVILEGES` statement does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultChange {
    Grant { with_grant_option: bool },
    Revoke,
    RevokeGrantOption,
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] GRANT|REVOKE ... ON TABLES TO|FROM grantee`.
pub(crate) fn alter_default_privileges(
    scope: DefaultScope<'_>,
    change: DefaultChange,
    changed: &[PgPrivilege],
    grantee: &str,
) -> Result<Statement, EngineError> {
    let mut sql = builder();
    sql.push("ALTER DEFAULT PRIVILEGES FOR ROLE ")
        .ident(scope.for_role);
    if let Some(schema) = scope.schema {
        sql.push(" IN SCHEMA ").ident(schema);
    }
    match change {
        DefaultChange::Grant { .. } => sql.push(" GRANT "),
        DefaultChange::Revoke => sql.push(" REVOKE "),
        DefaultChange::RevokeGrantOption => sql.push(" REVOKE GRANT OPTION FOR "),
    };
    privileges(&mut sql, changed);
    sql.push(" ON ").push(scope.object_type.keyword());
    match change {
        DefaultChange::Grant { with_grant_option } => {
            sql.push(" TO ").ident(grantee);
            if with_grant_option {
                sql.push(" WITH GRANT OPTION");
            }
        }
        DefaultChange::Revoke | DefaultChange::RevokeGrantOption => {
            sql.push(" FROM ").ident(grantee);
        }
    }
    finish(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PgPrivilege::*;

    #[test]
    fn grants_on_every_kind_of_target() {
        assert_eq!(
            grant(
                &[Connect, Temporary],
                &GrantTarget::Database("orders"),
                "app",
                false
            )
            .unwrap()
            .sql(),
            "GRANT CONNECT, TEMPORARY ON DATABASE \"orders\" TO \"app\""
        );
        assert_eq!(
            grant(&[Usage], &GrantTarget::Schemas(vec!["a", "b"]), "app", true)
                .unwrap()
                .sql(),
            "GRANT USAGE ON SCHEMA \"a\", \"b\" TO \"app\" WITH GRANT OPTION"
        );
        assert_eq!(
            grant(
                &[Select, Insert],
                &GrantTarget::Tables(vec![("s", "t1"), ("s", "t\"2")]),
                "app",
                false
            )
            .unwrap()
            .sql(),
            "GRANT SELECT, INSERT ON TABLE \"s\".\"t1\", \"s\".\"t\"\"2\" TO \"app\""
        );
        assert_eq!(
            grant(&[Usage], &GrantTarget::Sequences(vec![("s", "q")]), "app", false)
                .unwrap()
                .sql(),
            "GRANT USAGE ON SEQUENCE \"s\".\"q\" TO \"app\""
        );
        assert_eq!(
            grant(
                &[Execute],
                &GrantTarget::Routines(vec![
                    RoutineRef::Signature("app.touch(integer)"),
                    RoutineRef::Name {
                        schema: "app",
                        name: "other"
                    }
                ]),
                "app",
                false
            )
            .unwrap()
            .sql(),
            "GRANT EXECUTE ON ROUTINE app.touch(integer), \"app\".\"other\" TO \"app\""
        );
        assert_eq!(
            grant(&[Select], &GrantTarget::AllTablesInSchema("public"), "r", false)
                .unwrap()
                .sql(),
            "GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"r\""
        );
        assert_eq!(
            grant(&[Usage], &GrantTarget::AllSequencesInSchema("public"), "r", false)
                .unwrap()
                .sql(),
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA \"public\" TO \"r\""
        );
        assert_eq!(
            grant(
                &[Execute],
                &GrantTarget::AllRoutinesInSchema("public"),
                "r",
                false
            )
            .unwrap()
            .sql(),
            "GRANT EXECUTE ON ALL ROUTINES IN SCHEMA \"public\" TO \"r\""
        );
    }

    #[test]
    fn revokes() {
        assert_eq!(
            revoke(&[Delete], &GrantTarget::Tables(vec![("s", "t")]), "app", false)
                .unwrap()
                .sql(),
            "REVOKE DELETE ON TABLE \"s\".\"t\" FROM \"app\""
        );
        assert_eq!(
            revoke(&[Select], &GrantTarget::Tables(vec![("s", "t")]), "app", true)
                .unwrap()
                .sql(),
            "REVOKE GRANT OPTION FOR SELECT ON TABLE \"s\".\"t\" FROM \"app\""
        );
    }

    #[test]
    fn default_privileges() {
        let scope = DefaultScope {
            for_role: "owner",
            schema: Some("app"),
            object_type: PgDefaultObjectType::Tables,
        };
        assert_eq!(
            alter_default_privileges(
                scope,
                DefaultChange::Grant {
                    with_grant_option: false
                },
                &[Select],
                "r"
            )
            .unwrap()
            .sql(),
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" IN SCHEMA \"app\" GRANT SELECT ON TABLES TO \"r\""
        );
        let global = DefaultScope {
            schema: None,
            object_type: PgDefaultObjectType::Functions,
            ..scope
        };
        assert_eq!(
            alter_default_privileges(global, DefaultChange::Revoke, &[Execute], "r")
                .unwrap()
                .sql(),
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" REVOKE EXECUTE ON FUNCTIONS FROM \"r\""
        );
        assert_eq!(
            alter_default_privileges(global, DefaultChange::RevokeGrantOption, &[Execute], "r")
                .unwrap()
                .sql(),
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" REVOKE GRANT OPTION FOR EXECUTE ON FUNCTIONS FROM \"r\""
        );
        assert_eq!(
            alter_default_privileges(
                global,
                DefaultChange::Grant {
                    with_grant_option: true
                },
                &[Execute],
                "r"
            )
            .unwrap()
            .sql(),
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" GRANT EXECUTE ON FUNCTIONS TO \"r\" WITH GRANT OPTION"
        );
    }
}
