//! Rows of `mysql.db`, `mysql.tables_priv`, `mysql.columns_priv` and `mysql.procs_priv` turned into grant
//! atoms. The grant tables have separate `User` and `Host` columns, so nothing is parsed out of a grantee
//! string.

use std::collections::BTreeSet;

use dbprov_core::model::{
    GrantScope, MySqlGrantAtom, MySqlGrantState, MySqlObject, MySqlPrivilege, MySqlRoutineKind,
};
use dbprov_core::quote::unescape_mysql_grant_database;

use crate::inspect::accounts::AccountRecord;
use crate::sql::catalog::set_element_privilege;

/// One privilege held by `user` inside `database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPrivilege {
    pub user: String,
    pub database: String,
    pub atom: MySqlGrantAtom,
}

fn held(
    user: &str,
    host: &str,
    database: &str,
    object: MySqlObject,
    privilege: MySqlPrivilege,
) -> HeldPrivilege {
    HeldPrivilege {
        user: user.to_owned(),
        database: database.to_owned(),
        atom: MySqlGrantAtom {
            host: host.to_owned(),
            object,
            privilege,
        },
    }
}

/// The privileges of a SET column (`Select,Insert,Grant`). Elements dbprov does not model are skipped:
/// they are neither reported nor revoked.
fn set_privileges(set: &str) -> impl Iterator<Item = MySqlPrivilege> + '_ {
    set.split(',')
        .filter(|element| !element.is_empty())
        .filter_map(set_element_privilege)
}

/// A `mysql.db` row. `Db` is a pattern: an escaped name is the one database it names; a real wildcard
/// pattern (an unescaped `_` or `%`) is not something dbprov writes, so it is not reported as managed.
pub fn database_row(
    user: &str,
    host: &str,
    pattern: &str,
    privileges: impl IntoIterator<Item = MySqlPrivilege>,
) -> Vec<HeldPrivilege> {
    let Some(database) = unescape_mysql_grant_database(pattern) else {
        return Vec::new();
    };
    privileges
        .into_iter()
        .map(|privilege| {
            held(
                user,
                host,
                &database,
                MySqlObject::Database(database.clone()),
                privilege,
            )
        })
        .collect()
}

/// A `mysql.tables_priv` row (`Db` is a plain name there).
pub fn table_row(
    user: &str,
    host: &str,
    database: &str,
    table: &str,
    table_privileges: &str,
) -> Vec<HeldPrivilege> {
    set_privileges(table_privileges)
        .map(|privilege| {
            let object = MySqlObject::Table {
                database: database.to_owned(),
                table: table.to_owned(),
            };
            held(user, host, database, object, privilege)
        })
        .collect()
}

/// A `mysql.columns_priv` row.
pub fn column_row(
    user: &str,
    host: &str,
    database: &str,
    table: &str,
    column: &str,
    column_privileges: &str,
) -> Vec<HeldPrivilege> {
    set_privileges(column_privileges)
        .map(|privilege| {
            let object = MySqlObject::Column {
                database: database.to_owned(),
                table: table.to_owned(),
                column: column.to_owned(),
            };
            held(user, host, database, object, privilege)
        })
        .collect()
}

/// A `mysql.procs_priv` row. MariaDB's `PACKAGE` routines are not modelled and are skipped.
pub fn routine_row(
    user: &str,
    host: &str,
    database: &str,
    name: &str,
    routine_type: &str,
    routine_privileges: &str,
) -> Vec<HeldPrivilege> {
    let kind = match routine_type {
        "PROCEDURE" => MySqlRoutineKind::Procedure,
        "FUNCTION" => MySqlRoutineKind::Function,
        _ => return Vec::new(),
    };
    set_privileges(routine_privileges)
        .map(|privilege| {
            let object = MySqlObject::Routine {
                database: database.to_owned(),
                kind,
                name: name.to_owned(),
            };
            held(user, host, database, object, privilege)
        })
        .collect()
}

/// The grant state of one scope: the grantee's accounts, its global privileges and what it holds inside
/// the scope's database.
pub fn scope_state(
    scope: &GrantScope,
    accounts: &[AccountRecord],
    held: &[HeldPrivilege],
) -> MySqlGrantState {
    let grantee = scope.grantee.as_str();
    let mine: Vec<&AccountRecord> = accounts.iter().filter(|record| record.user == grantee).collect();
    let hosts: BTreeSet<String> = mine.iter().map(|record| record.host.clone()).collect();
    let mut atoms: BTreeSet<MySqlGrantAtom> = mine
        .iter()
        .flat_map(|record| {
            record.global_privileges.iter().map(|privilege| MySqlGrantAtom {
                host: record.host.clone(),
                object: MySqlObject::Global,
                privilege: *privilege,
            })
        })
        .collect();
    atoms.extend(
        held.iter()
            .filter(|item| {
                item.user == grantee
                    && item.database == scope.database.as_str()
                    && hosts.contains(&item.atom.host)
            })
            .map(|item| item.atom.clone()),
    );
    MySqlGrantState {
        hosts: hosts.into_iter().collect(),
        atoms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_patterns_name_one_database_and_wildcards_are_skipped() {
        let rows = database_row("u", "%", "a\\_b", [MySqlPrivilege::Select]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].database, "a_b");
        assert_eq!(rows[0].atom.object, MySqlObject::Database("a_b".into()));
        assert!(database_row("u", "%", "a_b", [MySqlPrivilege::Select]).is_empty());
        assert!(database_row("u", "%", "app%", [MySqlPrivilege::Select]).is_empty());
    }

    #[test]
    fn set_columns_become_atoms() {
        let rows = table_row("u", "%", "d", "t", "Select,Grant,Delete versioning rows");
        let privileges: Vec<MySqlPrivilege> = rows.iter().map(|row| row.atom.privilege).collect();
        assert_eq!(
            privileges,
            vec![
                MySqlPrivilege::Select,
                MySqlPrivilege::GrantOption,
                MySqlPrivilege::DeleteHistory
            ]
        );
        assert!(table_row("u", "%", "d", "t", "").is_empty());
        let rows = routine_row("u", "%", "d", "p", "PROCEDURE", "Execute,Alter Routine");
        assert_eq!(rows.len(), 2);
        assert!(routine_row("u", "%", "d", "p", "PACKAGE", "Execute").is_empty());
        let rows = column_row("u", "%", "d", "t", "c", "Select,Update");
        assert_eq!(rows.len(), 2);
    }
}
