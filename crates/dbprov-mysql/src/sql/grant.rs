//! `GRANT` and `REVOKE` of privileges at the global, database, table, column and routine levels.

use dbprov_core::model::{MySqlPrivilege, MySqlRoutineKind};
use dbprov_core::quote::QuoteError;
use dbprov_core::{Dialect, SqlBuilder, Statement};

use crate::sql::{Account, push_account};

/// What privileges are held on (column privileges have their own builders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantObject<'a> {
    /// `*.*`
    Global,
    /// `` `db`.* `` with `_`, `%` and `\` escaped: the database part is a pattern there.
    Database(&'a str),
    /// `` `db`.`table` `` (a plain name, not a pattern).
    Table { database: &'a str, table: &'a str },
    /// `` PROCEDURE `db`.`name` `` or `` FUNCTION `db`.`name` ``.
    Routine {
        database: &'a str,
        kind: MySqlRoutineKind,
        name: &'a str,
    },
}

fn push_object(builder: &mut SqlBuilder, object: GrantObject<'_>) {
    match object {
        GrantObject::Global => {
            builder.push("*.*");
        }
        GrantObject::Database(database) => {
            builder.mysql_grant_database(database).push(".*");
        }
        GrantObject::Table { database, table } => {
            builder.qualified(database, table);
        }
        GrantObject::Routine { database, kind, name } => {
            builder.push(kind.keyword()).push(" ").qualified(database, name);
        }
    }
}

fn push_privileges(builder: &mut SqlBuilder, privileges: &[MySqlPrivilege]) {
    builder.list(privileges.iter().copied(), |builder, privilege| {
        builder.push(privilege.keyword());
    });
}

/// `GRANT p1, p2 ON object TO account [WITH GRANT OPTION]`. `GRANT OPTION` in `privileges` is written as
/// `WITH GRANT OPTION` (with `USAGE` when it is the only privilege granted).
pub fn grant_privileges(
    dialect: Dialect,
    object: GrantObject<'_>,
    privileges: &[MySqlPrivilege],
    account: Account<'_>,
) -> Result<Statement, QuoteError> {
    let with_grant_option = privileges.contains(&MySqlPrivilege::GrantOption);
    let plain: Vec<MySqlPrivilege> = privileges
        .iter()
        .copied()
        .filter(|privilege| *privilege != MySqlPrivilege::GrantOption)
        .collect();
    let mut builder = SqlBuilder::new(dialect);
    builder.push("GRANT ");
    if plain.is_empty() {
        builder.push("USAGE");
    } else {
        push_privileges(&mut builder, &plain);
    }
    builder.push(" ON ");
    push_object(&mut builder, object);
    builder.push(" TO ");
    push_account(&mut builder, account);
    if with_grant_option {
        builder.push(" WITH GRANT OPTION");
    }
    builder.build()
}

/// `REVOKE p1, p2[, GRANT OPTION] ON object FROM account`.
pub fn revoke_privileges(
    dialect: Dialect,
    object: GrantObject<'_>,
    privileges: &[MySqlPrivilege],
    account: Account<'_>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("REVOKE ");
    push_privileges(&mut builder, privileges);
    builder.push(" ON ");
    push_object(&mut builder, object);
    builder.push(" FROM ");
    push_account(&mut builder, account);
    builder.build()
}

/// Column privileges of one table: each privilege with the columns it covers.
pub type ColumnPrivileges<'a> = [(MySqlPrivilege, Vec<&'a str>)];

fn push_column_privileges(builder: &mut SqlBuilder, privileges: &ColumnPrivileges<'_>) {
    builder.list(privileges.iter(), |builder, (privilege, columns)| {
        builder.push(privilege.keyword()).push(" (");
        builder.list(columns.iter(), |builder, column| {
            builder.ident(column);
        });
        builder.push(")");
    });
}

/// `GRANT SELECT (a, b), INSERT (a) ON db.table TO account`.
pub fn grant_columns(
    dialect: Dialect,
    database: &str,
    table: &str,
    privileges: &ColumnPrivileges<'_>,
    account: Account<'_>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("GRANT ");
    push_column_privileges(&mut builder, privileges);
    builder.push(" ON ").qualified(database, table).push(" TO ");
    push_account(&mut builder, account);
    builder.build()
}

/// `REVOKE SELECT (a, b) ON db.table FROM account`.
pub fn revoke_columns(
    dialect: Dialect,
    database: &str,
    table: &str,
    privileges: &ColumnPrivileges<'_>,
    account: Account<'_>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("REVOKE ");
    push_column_privileges(&mut builder, privileges);
    builder.push(" ON ").qualified(database, table).push(" FROM ");
    push_account(&mut builder, account);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::MySqlStringMode;

    const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);

    #[test]
    fn database_grants_escape_wildcards_but_table_grants_do_not() {
        let account = Account::new("u", "%");
        assert_eq!(
            grant_privileges(
                MYSQL,
                GrantObject::Database("a_b"),
                &[MySqlPrivilege::Insert, MySqlPrivilege::Select],
                account
            )
            .unwrap()
            .sql(),
            "GRANT INSERT, SELECT ON `a\\_b`.* TO `u`@`%`"
        );
        assert_eq!(
            grant_privileges(
                MYSQL,
                GrantObject::Table {
                    database: "a_b",
                    table: "t`1"
                },
                &[MySqlPrivilege::Select, MySqlPrivilege::GrantOption],
                account
            )
            .unwrap()
            .sql(),
            "GRANT SELECT ON `a_b`.`t``1` TO `u`@`%` WITH GRANT OPTION"
        );
    }

    #[test]
    fn grant_option_alone_is_granted_with_usage_and_revoked_by_name() {
        let account = Account::bare("role");
        assert_eq!(
            grant_privileges(
                MYSQL,
                GrantObject::Global,
                &[MySqlPrivilege::GrantOption],
                account
            )
            .unwrap()
            .sql(),
            "GRANT USAGE ON *.* TO `role` WITH GRANT OPTION"
        );
        assert_eq!(
            revoke_privileges(
                MYSQL,
                GrantObject::Global,
                &[MySqlPrivilege::Select, MySqlPrivilege::GrantOption],
                account
            )
            .unwrap()
            .sql(),
            "REVOKE SELECT, GRANT OPTION ON *.* FROM `role`"
        );
    }

    #[test]
    fn routine_and_column_grants() {
        let account = Account::new("u", "localhost");
        assert_eq!(
            grant_privileges(
                MYSQL,
                GrantObject::Routine {
                    database: "d",
                    kind: MySqlRoutineKind::Procedure,
                    name: "p"
                },
                &[MySqlPrivilege::Execute],
                account
            )
            .unwrap()
            .sql(),
            "GRANT EXECUTE ON PROCEDURE `d`.`p` TO `u`@`localhost`"
        );
        let columns = vec![
            (MySqlPrivilege::Select, vec!["a", "b"]),
            (MySqlPrivilege::Update, vec!["a"]),
        ];
        assert_eq!(
            grant_columns(MYSQL, "d", "t", &columns, account).unwrap().sql(),
            "GRANT SELECT (`a`, `b`), UPDATE (`a`) ON `d`.`t` TO `u`@`localhost`"
        );
        assert_eq!(
            revoke_columns(MYSQL, "d", "t", &columns[..1], account)
                .unwrap()
                .sql(),
            "REVOKE SELECT (`a`, `b`) ON `d`.`t` FROM `u`@`localhost`"
        );
    }
}
