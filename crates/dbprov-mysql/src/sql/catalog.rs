//! The catalog queries `inspect` runs. Each one is static text ending in `IN (` that [`in_list`] completes
//! with a list of `?` placeholders; values are always bound, never written into the text.

use dbprov_core::model::MySqlPrivilege;

/// Databases: `information_schema.SCHEMATA`.
pub const SCHEMATA: &str = "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
     FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (";

/// MariaDB 10.4+: accounts and roles live in `mysql.global_priv` as JSON (`mysql.user` is a view over it
/// that hides `account_locked` and the privileges MariaDB added in 10.5).
pub const MARIADB_ACCOUNTS: &str = "SELECT User, Host, Priv FROM mysql.global_priv WHERE User IN (";

/// MySQL 8.0.19+: `mysql.user`, with `User_attributes` for the failed-login settings.
pub const MYSQL_ACCOUNTS: &str = "SELECT User, Host, plugin, CAST(authentication_string AS CHAR), \
     CAST(ssl_type AS CHAR), CAST(ssl_cipher AS CHAR), CAST(x509_issuer AS CHAR), CAST(x509_subject AS CHAR), \
     CAST(max_questions AS SIGNED), CAST(max_updates AS SIGNED), CAST(max_connections AS SIGNED), \
     CAST(max_user_connections AS SIGNED), CAST(account_locked AS CHAR), CAST(password_expired AS CHAR), \
     CAST(User_attributes AS CHAR), \
     Select_priv, Insert_priv, Update_priv, Delete_priv, Create_priv, Drop_priv, Reload_priv, Shutdown_priv, \
     Process_priv, File_priv, Grant_priv, References_priv, Index_priv, Alter_priv, Show_db_priv, Super_priv, \
     Create_tmp_table_priv, Lock_tables_priv, Execute_priv, Repl_slave_priv, Repl_client_priv, \
     Create_view_priv, Show_view_priv, Create_routine_priv, Alter_routine_priv, Create_user_priv, Event_priv, \
     Trigger_priv, Create_tablespace_priv \
     FROM mysql.user WHERE User IN (";

/// MySQL 8.0.0–8.0.18: as [`MYSQL_ACCOUNTS`], without `User_attributes`.
pub const MYSQL_ACCOUNTS_WITHOUT_ATTRIBUTES: &str = "SELECT User, Host, plugin, \
     CAST(authentication_string AS CHAR), \
     CAST(ssl_type AS CHAR), CAST(ssl_cipher AS CHAR), CAST(x509_issuer AS CHAR), CAST(x509_subject AS CHAR), \
     CAST(max_questions AS SIGNED), CAST(max_updates AS SIGNED), CAST(max_connections AS SIGNED), \
     CAST(max_user_connections AS SIGNED), CAST(account_locked AS CHAR), CAST(password_expired AS CHAR), \
     CAST(NULL AS CHAR), \
     Select_priv, Insert_priv, Update_priv, Delete_priv, Create_priv, Drop_priv, Reload_priv, Shutdown_priv, \
     Process_priv, File_priv, Grant_priv, References_priv, Index_priv, Alter_priv, Show_db_priv, Super_priv, \
     Create_tmp_table_priv, Lock_tables_priv, Execute_priv, Repl_slave_priv, Repl_client_priv, \
     Create_view_priv, Show_view_priv, Create_routine_priv, Alter_routine_priv, Create_user_priv, Event_priv, \
     Trigger_priv, Create_tablespace_priv \
     FROM mysql.user WHERE User IN (";

/// The index of the first privilege column in the MySQL account queries.
pub const MYSQL_ACCOUNT_PRIVILEGES_FROM: usize = 15;

/// The global privilege columns of MySQL's `mysql.user`, in query order.
pub const MYSQL_GLOBAL_PRIVILEGE_COLUMNS: [(&str, MySqlPrivilege); 29] = [
    ("Select_priv", MySqlPrivilege::Select),
    ("Insert_priv", MySqlPrivilege::Insert),
    ("Update_priv", MySqlPrivilege::Update),
    ("Delete_priv", MySqlPrivilege::Delete),
    ("Create_priv", MySqlPrivilege::Create),
    ("Drop_priv", MySqlPrivilege::Drop),
    ("Reload_priv", MySqlPrivilege::Reload),
    ("Shutdown_priv", MySqlPrivilege::Shutdown),
    ("Process_priv", MySqlPrivilege::Process),
    ("File_priv", MySqlPrivilege::File),
    ("Grant_priv", MySqlPrivilege::GrantOption),
    ("References_priv", MySqlPrivilege::References),
    ("Index_priv", MySqlPrivilege::Index),
    ("Alter_priv", MySqlPrivilege::Alter),
    ("Show_db_priv", MySqlPrivilege::ShowDatabases),
    ("Super_priv", MySqlPrivilege::Super),
    ("Create_tmp_table_priv", MySqlPrivilege::CreateTemporaryTables),
    ("Lock_tables_priv", MySqlPrivilege::LockTables),
    ("Execute_priv", MySqlPrivilege::Execute),
    ("Repl_slave_priv", MySqlPrivilege::ReplicationSlave),
    ("Repl_client_priv", MySqlPrivilege::ReplicationClient),
    ("Create_view_priv", MySqlPrivilege::CreateView),
    ("Show_view_priv", MySqlPrivilege::ShowView),
    ("Create_routine_priv", MySqlPrivilege::CreateRoutine),
    ("Alter_routine_priv", MySqlPrivilege::AlterRoutine),
    ("Create_user_priv", MySqlPrivilege::CreateUser),
    ("Event_priv", MySqlPrivilege::Event),
    ("Trigger_priv", MySqlPrivilege::Trigger),
    ("Create_tablespace_priv", MySqlPrivilege::CreateTablespace),
];

/// MariaDB role grants (users and roles that hold a role).
pub const MARIADB_ROLE_GRANTS: &str = "SELECT User, Host, Role FROM mysql.roles_mapping WHERE User IN (";

/// MySQL 8 role grants: `FROM` is the role, `TO` the account that holds it.
pub const MYSQL_ROLE_EDGES: &str =
    "SELECT TO_USER, TO_HOST, FROM_USER, FROM_HOST FROM mysql.role_edges WHERE TO_USER IN (";

/// MySQL 8 default roles.
pub const MYSQL_DEFAULT_ROLES: &str = "SELECT USER, HOST, DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST \
     FROM mysql.default_roles WHERE USER IN (";

/// MariaDB database-level privileges (`Db` is a pattern).
pub const MARIADB_DATABASE_PRIVILEGES: &str = "SELECT User, Host, Db, Select_priv, Insert_priv, Update_priv, \
     Delete_priv, Create_priv, Drop_priv, Grant_priv, References_priv, Index_priv, Alter_priv, \
     Create_tmp_table_priv, Lock_tables_priv, Create_view_priv, Show_view_priv, Create_routine_priv, \
     Alter_routine_priv, Execute_priv, Event_priv, Trigger_priv, Delete_history_priv \
     FROM mysql.db WHERE User IN (";

/// MySQL database-level privileges (`Db` is a pattern).
pub const MYSQL_DATABASE_PRIVILEGES: &str = "SELECT User, Host, Db, Select_priv, Insert_priv, Update_priv, \
     Delete_priv, Create_priv, Drop_priv, Grant_priv, References_priv, Index_priv, Alter_priv, \
     Create_tmp_table_priv, Lock_tables_priv, Create_view_priv, Show_view_priv, Create_routine_priv, \
     Alter_routine_priv, Execute_priv, Event_priv, Trigger_priv \
     FROM mysql.db WHERE User IN (";

/// The index of the first privilege column in the database-level queries.
pub const DATABASE_PRIVILEGES_FROM: usize = 3;

/// The privilege columns of `mysql.db`, in query order (MariaDB adds `Delete_history_priv` last).
pub const DATABASE_PRIVILEGE_COLUMNS: [(&str, MySqlPrivilege); 20] = [
    ("Select_priv", MySqlPrivilege::Select),
    ("Insert_priv", MySqlPrivilege::Insert),
    ("Update_priv", MySqlPrivilege::Update),
    ("Delete_priv", MySqlPrivilege::Delete),
    ("Create_priv", MySqlPrivilege::Create),
    ("Drop_priv", MySqlPrivilege::Drop),
    ("Grant_priv", MySqlPrivilege::GrantOption),
    ("References_priv", MySqlPrivilege::References),
    ("Index_priv", MySqlPrivilege::Index),
    ("Alter_priv", MySqlPrivilege::Alter),
    ("Create_tmp_table_priv", MySqlPrivilege::CreateTemporaryTables),
    ("Lock_tables_priv", MySqlPrivilege::LockTables),
    ("Create_view_priv", MySqlPrivilege::CreateView),
    ("Show_view_priv", MySqlPrivilege::ShowView),
    ("Create_routine_priv", MySqlPrivilege::CreateRoutine),
    ("Alter_routine_priv", MySqlPrivilege::AlterRoutine),
    ("Execute_priv", MySqlPrivilege::Execute),
    ("Event_priv", MySqlPrivilege::Event),
    ("Trigger_priv", MySqlPrivilege::Trigger),
    ("Delete_history_priv", MySqlPrivilege::DeleteHistory),
];

/// Table-level privileges (`Table_priv` is a SET).
pub const TABLE_PRIVILEGES: &str = "SELECT User, Host, Db, Table_name, CAST(Table_priv AS CHAR) \
     FROM mysql.tables_priv WHERE User IN (";

/// Column-level privileges (`Column_priv` is a SET).
pub const COLUMN_PRIVILEGES: &str = "SELECT User, Host, Db, Table_name, Column_name, \
     CAST(Column_priv AS CHAR) FROM mysql.columns_priv WHERE User IN (";

/// Routine-level privileges (`Proc_priv` is a SET).
pub const ROUTINE_PRIVILEGES: &str = "SELECT User, Host, Db, Routine_name, CAST(Routine_type AS CHAR), \
     CAST(Proc_priv AS CHAR) FROM mysql.procs_priv WHERE User IN (";

/// Completes a query ending in `IN (` with `count` placeholders (at least one) and the closing parenthesis.
pub fn in_list(query: &'static str, count: usize) -> String {
    let mut text = String::with_capacity(query.len() + count * 3 + 1);
    text.push_str(query);
    for index in 0..count.max(1) {
        if index > 0 {
            text.push_str(", ");
        }
        text.push('?');
    }
    text.push(')');
    text
}

/// The privilege a `Table_priv`, `Column_priv` or `Proc_priv` SET element stands for.
pub fn set_element_privilege(element: &str) -> Option<MySqlPrivilege> {
    Some(match element {
        "Select" => MySqlPrivilege::Select,
        "Insert" => MySqlPrivilege::Insert,
        "Update" => MySqlPrivilege::Update,
        "Delete" => MySqlPrivilege::Delete,
        "Create" => MySqlPrivilege::Create,
        "Drop" => MySqlPrivilege::Drop,
        "Grant" => MySqlPrivilege::GrantOption,
        "References" => MySqlPrivilege::References,
        "Index" => MySqlPrivilege::Index,
        "Alter" => MySqlPrivilege::Alter,
        "Create View" => MySqlPrivilege::CreateView,
        "Show view" => MySqlPrivilege::ShowView,
        "Trigger" => MySqlPrivilege::Trigger,
        "Delete versioning rows" => MySqlPrivilege::DeleteHistory,
        "Execute" => MySqlPrivilege::Execute,
        "Alter Routine" => MySqlPrivilege::AlterRoutine,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selected_columns(query: &str) -> Vec<String> {
        let list = &query["SELECT ".len()..query.find(" FROM ").expect("a FROM clause")];
        list.split(", ").map(|column| column.trim().to_owned()).collect()
    }

    #[test]
    fn placeholder_lists() {
        assert_eq!(in_list(SCHEMATA, 3).matches('?').count(), 3);
        assert!(in_list(SCHEMATA, 2).ends_with("IN (?, ?)"));
        assert!(in_list(SCHEMATA, 0).ends_with("IN (?)"));
    }

    #[test]
    fn database_privilege_columns_match_the_queries() {
        let maria = selected_columns(MARIADB_DATABASE_PRIVILEGES);
        let names: Vec<&str> = DATABASE_PRIVILEGE_COLUMNS.iter().map(|(name, _)| *name).collect();
        assert_eq!(maria[DATABASE_PRIVILEGES_FROM..], names[..]);
        let mysql = selected_columns(MYSQL_DATABASE_PRIVILEGES);
        assert_eq!(mysql[DATABASE_PRIVILEGES_FROM..], names[..names.len() - 1]);
    }

    #[test]
    fn global_privilege_columns_match_the_queries() {
        let names: Vec<&str> = MYSQL_GLOBAL_PRIVILEGE_COLUMNS
            .iter()
            .map(|(name, _)| *name)
            .collect();
        for query in [MYSQL_ACCOUNTS, MYSQL_ACCOUNTS_WITHOUT_ATTRIBUTES] {
            let columns = selected_columns(query);
            assert_eq!(columns[MYSQL_ACCOUNT_PRIVILEGES_FROM..], names[..]);
        }
    }

    #[test]
    fn set_elements_map_to_privileges() {
        assert_eq!(
            set_element_privilege("Delete versioning rows"),
            Some(MySqlPrivilege::DeleteHistory)
        );
        assert_eq!(set_element_privilege("Grant"), Some(MySqlPrivilege::GrantOption));
        assert_eq!(set_element_privilege("Show view"), Some(MySqlPrivilege::ShowView));
        assert_eq!(set_element_privilege("bogus"), None);
    }
}
