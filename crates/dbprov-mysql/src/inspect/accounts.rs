//! Accounts as the grant tables store them, turned into the engine-neutral `MySqlAccountState`.
//!
//! MariaDB keeps each account as JSON in `mysql.global_priv.Priv`; MySQL 8 keeps columns in `mysql.user`
//! plus JSON in `User_attributes`. Both are parsed here by pure functions, so the MySQL 8 paths are unit
//! tested without a MySQL server.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::{
    MySqlAccountState, MySqlPrivilege, MySqlTlsRequirement, MySqlUserState, PasswordLockTime, PasswordState,
    RoleState,
};
use dbprov_core::{Name, Secret};
use serde_json::Value;

use crate::flavor::{NATIVE_PASSWORD, ServerFacts};

/// One account (`user@host`) with its global privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub user: String,
    pub host: String,
    pub state: MySqlAccountState,
    pub global_privileges: BTreeSet<MySqlPrivilege>,
}

/// A role granted to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub user: String,
    pub host: String,
    pub role: String,
}

fn password_state(plugin: &str, authentication_string: &str) -> PasswordState {
    if authentication_string.is_empty() {
        PasswordState::None
    } else if plugin == NATIVE_PASSWORD {
        PasswordState::Verifier(Secret::new(authentication_string))
    } else {
        // Salted verifiers (caching_sha2_password, ed25519...) cannot be checked against a candidate.
        PasswordState::Unverifiable
    }
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

fn requirement(kind: &str, issuer: &str, subject: &str, cipher: &str) -> Result<MySqlTlsRequirement, String> {
    Ok(match kind {
        "" | "0" => MySqlTlsRequirement::None,
        "ANY" | "1" => MySqlTlsRequirement::Ssl,
        "X509" | "2" => MySqlTlsRequirement::X509,
        "SPECIFIED" | "3" => MySqlTlsRequirement::Specified {
            issuer: non_empty(issuer),
            subject: non_empty(subject),
            cipher: non_empty(cipher),
        },
        other => return Err(format!("unknown ssl_type {other:?}")),
    })
}

/// Resource limits are stored as signed or unsigned integers depending on the version; anything out of
/// the `u32` range is clamped (MySQL never stores more, and a negative value means no limit).
fn limit(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

fn json_str<'a>(object: &'a Value, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or("")
}

fn json_int(object: &Value, key: &str) -> i64 {
    object.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// Parses a MariaDB `mysql.global_priv` row.
pub fn parse_mariadb_account(
    facts: &ServerFacts,
    user: &str,
    host: &str,
    privileges_json: &str,
) -> Result<AccountRecord, String> {
    let json: Value = serde_json::from_str(privileges_json)
        .map_err(|error| format!("Priv of '{user}'@'{host}' is not JSON: {error}"))?;
    let plugin = json_str(&json, "plugin");
    let authentication_string = json_str(&json, "authentication_string");
    let ssl_type = json
        .get("ssl_type")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string();
    let access = json.get("access").and_then(Value::as_u64).unwrap_or(0);
    let global_privileges = facts
        .mariadb_access_bits()
        .iter()
        .enumerate()
        .filter(|(bit, _)| access & (1u64 << bit) != 0)
        .map(|(_, privilege)| *privilege)
        .collect();
    let default_role = json_str(&json, "default_role");
    Ok(AccountRecord {
        user: user.to_owned(),
        host: host.to_owned(),
        state: MySqlAccountState {
            host: host.to_owned(),
            is_role: json.get("is_role").and_then(Value::as_bool).unwrap_or(false),
            plugin: plugin.to_owned(),
            password: password_state(plugin, authentication_string),
            require: requirement(
                &ssl_type,
                json_str(&json, "x509_issuer"),
                json_str(&json, "x509_subject"),
                json_str(&json, "ssl_cipher"),
            )?,
            max_queries_per_hour: limit(json_int(&json, "max_questions")),
            max_updates_per_hour: limit(json_int(&json, "max_updates")),
            max_connections_per_hour: limit(json_int(&json, "max_connections")),
            max_user_connections: limit(json_int(&json, "max_user_connections")),
            account_locked: json
                .get("account_locked")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            failed_login_attempts: None,
            password_lock_time: None,
            roles: BTreeSet::new(),
            default_roles: non_empty(default_role).into_iter().collect(),
        },
        global_privileges,
    })
}

/// A MySQL 8 `mysql.user` row, as selected by `sql::catalog::MYSQL_ACCOUNTS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlUserRow {
    pub user: String,
    pub host: String,
    pub plugin: String,
    pub authentication_string: String,
    pub ssl_type: String,
    pub ssl_cipher: String,
    pub x509_issuer: String,
    pub x509_subject: String,
    pub max_questions: i64,
    pub max_updates: i64,
    pub max_connections: i64,
    pub max_user_connections: i64,
    pub account_locked: String,
    pub password_expired: String,
    pub user_attributes: Option<String>,
    /// The `*_priv` columns that read `Y`.
    pub global_privileges: BTreeSet<MySqlPrivilege>,
}

/// The failed-login settings in MySQL 8's `User_attributes` JSON:
/// `{"Password_locking": {"failed_login_attempts": 3, "password_lock_time_days": 2}}` (-1 = unbounded).
pub fn parse_password_locking(user_attributes: Option<&str>) -> Result<(u16, PasswordLockTime), String> {
    let Some(text) = user_attributes.filter(|text| !text.is_empty()) else {
        return Ok((0, PasswordLockTime::Days(0)));
    };
    let json: Value =
        serde_json::from_str(text).map_err(|error| format!("User_attributes is not JSON: {error}"))?;
    let Some(locking) = json.get("Password_locking") else {
        return Ok((0, PasswordLockTime::Days(0)));
    };
    let attempts = json_int(locking, "failed_login_attempts");
    let attempts =
        u16::try_from(attempts).map_err(|_| format!("failed_login_attempts {attempts} is out of range"))?;
    let days = json_int(locking, "password_lock_time_days");
    let lock_time = if days < 0 {
        PasswordLockTime::Unbounded
    } else {
        PasswordLockTime::Days(
            u16::try_from(days).map_err(|_| format!("password_lock_time_days {days} is out of range"))?,
        )
    };
    Ok((attempts, lock_time))
}

/// Parses a MySQL 8 `mysql.user` row.
pub fn parse_mysql_account(facts: &ServerFacts, row: MySqlUserRow) -> Result<AccountRecord, String> {
    let locked = row.account_locked == "Y";
    // MySQL 8 stores a role as an ordinary account created locked, with an expired empty password.
    let is_role = locked && row.password_expired == "Y" && row.authentication_string.is_empty();
    let (failed_login_attempts, password_lock_time) = if facts.has_user_attributes() {
        let (attempts, lock_time) = parse_password_locking(row.user_attributes.as_deref())
            .map_err(|error| format!("'{}'@'{}': {error}", row.user, row.host))?;
        (Some(attempts), Some(lock_time))
    } else {
        (None, None)
    };
    Ok(AccountRecord {
        state: MySqlAccountState {
            host: row.host.clone(),
            is_role,
            password: password_state(&row.plugin, &row.authentication_string),
            require: requirement(
                &row.ssl_type,
                &row.x509_issuer,
                &row.x509_subject,
                &row.ssl_cipher,
            )?,
            plugin: row.plugin,
            max_queries_per_hour: limit(row.max_questions),
            max_updates_per_hour: limit(row.max_updates),
            max_connections_per_hour: limit(row.max_connections),
            max_user_connections: limit(row.max_user_connections),
            account_locked: locked,
            failed_login_attempts,
            password_lock_time,
            roles: BTreeSet::new(),
            default_roles: BTreeSet::new(),
        },
        user: row.user,
        host: row.host,
        global_privileges: row.global_privileges,
    })
}

/// Adds the roles each account holds (MariaDB `roles_mapping`, MySQL 8 `role_edges`).
pub fn attach_roles(records: &mut [AccountRecord], grants: &[RoleGrant]) {
    for grant in grants {
        if let Some(record) = records
            .iter_mut()
            .find(|record| record.user == grant.user && record.host == grant.host)
        {
            record.state.roles.insert(grant.role.clone());
        }
    }
}

/// Adds MySQL 8 default roles (`mysql.default_roles`).
pub fn attach_default_roles(records: &mut [AccountRecord], defaults: &[RoleGrant]) {
    for default in defaults {
        if let Some(record) = records
            .iter_mut()
            .find(|record| record.user == default.user && record.host == default.host)
        {
            record.state.default_roles.insert(default.role.clone());
        }
    }
}

/// Groups the accounts of one name into the role or user they make up.
pub fn role_state(name: &Name, records: &[AccountRecord]) -> Option<RoleState> {
    let accounts: BTreeMap<String, MySqlAccountState> = records
        .iter()
        .filter(|record| record.user == name.as_str())
        .map(|record| (record.host.clone(), record.state.clone()))
        .collect();
    if accounts.is_empty() {
        return None;
    }
    let login = accounts.values().any(|account| !account.is_role);
    let mut passwords = accounts.values().map(|account| &account.password);
    let first = passwords.next().cloned().unwrap_or(PasswordState::None);
    // The user-level password is only meaningful when every account agrees; each account keeps its own.
    let password = if passwords.all(|password| *password == first) {
        first
    } else {
        PasswordState::Unverifiable
    };
    Some(RoleState {
        name: name.clone(),
        login,
        password,
        postgres: None,
        mysql: Some(MySqlUserState { accounts }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::{EngineKind, MySqlStringMode, NameKind};

    fn maria() -> ServerFacts {
        ServerFacts::new(
            EngineKind::MariaDb,
            (10, 11, 19),
            MySqlStringMode::BackslashEscapes,
        )
    }

    fn mysql() -> ServerFacts {
        ServerFacts::new(EngineKind::MySql, (8, 0, 36), MySqlStringMode::BackslashEscapes)
    }

    #[test]
    fn mariadb_priv_json_is_parsed() {
        let json = r#"{"access":284542664704,"plugin":"mysql_native_password",
            "authentication_string":"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19","ssl_type":3,"ssl_cipher":"AES",
            "x509_issuer":"CN=y","x509_subject":"","max_questions":5,"max_user_connections":3,
            "account_locked":true,"default_role":"r1"}"#;
        let record = parse_mariadb_account(&maria(), "u1", "%", json).unwrap();
        assert_eq!(
            record.global_privileges,
            BTreeSet::from([
                MySqlPrivilege::Super,
                MySqlPrivilege::BinlogMonitor,
                MySqlPrivilege::SetUser,
                MySqlPrivilege::ReadOnlyAdmin,
                MySqlPrivilege::SlaveMonitor
            ])
        );
        let state = record.state;
        assert!(matches!(state.password, PasswordState::Verifier(_)));
        assert_eq!(
            state.require,
            MySqlTlsRequirement::Specified {
                issuer: Some("CN=y".into()),
                subject: None,
                cipher: Some("AES".into())
            }
        );
        assert_eq!(state.max_queries_per_hour, 5);
        assert_eq!(state.max_user_connections, 3);
        assert_eq!(state.max_updates_per_hour, 0);
        assert!(state.account_locked && !state.is_role);
        assert_eq!(state.failed_login_attempts, None);
        assert_eq!(state.default_roles, BTreeSet::from(["r1".to_owned()]));
    }

    #[test]
    fn mariadb_roles_are_flagged() {
        let record = parse_mariadb_account(&maria(), "r", "", r#"{"access":0,"is_role":true}"#).unwrap();
        assert!(record.state.is_role);
        assert_eq!(record.state.password, PasswordState::None);
        assert!(parse_mariadb_account(&maria(), "r", "", "not json").is_err());
    }

    #[test]
    fn mysql8_user_attributes_are_parsed() {
        assert_eq!(
            parse_password_locking(Some(
                r#"{"metadata": {"a": 1}, "Password_locking": {"failed_login_attempts": 3, "password_lock_time_days": 2}}"#
            ))
            .unwrap(),
            (3, PasswordLockTime::Days(2))
        );
        assert_eq!(
            parse_password_locking(Some(
                r#"{"Password_locking": {"failed_login_attempts": 1, "password_lock_time_days": -1}}"#
            ))
            .unwrap(),
            (1, PasswordLockTime::Unbounded)
        );
        assert_eq!(
            parse_password_locking(None).unwrap(),
            (0, PasswordLockTime::Days(0))
        );
        assert!(parse_password_locking(Some("{")).is_err());
    }

    #[test]
    fn mysql8_rows_are_parsed() {
        let row = MySqlUserRow {
            user: "app".into(),
            host: "%".into(),
            plugin: "caching_sha2_password".into(),
            authentication_string: "$A$005$salted".into(),
            ssl_type: "X509".into(),
            max_questions: 10,
            account_locked: "N".into(),
            password_expired: "N".into(),
            user_attributes: Some(
                r#"{"Password_locking": {"failed_login_attempts": 4, "password_lock_time_days": 1}}"#.into(),
            ),
            global_privileges: BTreeSet::from([MySqlPrivilege::ReplicationClient]),
            ..MySqlUserRow::default()
        };
        let record = parse_mysql_account(&mysql(), row).unwrap();
        assert_eq!(record.state.password, PasswordState::Unverifiable);
        assert_eq!(record.state.require, MySqlTlsRequirement::X509);
        assert_eq!(record.state.failed_login_attempts, Some(4));
        assert_eq!(record.state.password_lock_time, Some(PasswordLockTime::Days(1)));
        assert!(!record.state.is_role);

        let role = MySqlUserRow {
            user: "reader".into(),
            host: "%".into(),
            plugin: "caching_sha2_password".into(),
            account_locked: "Y".into(),
            password_expired: "Y".into(),
            ..MySqlUserRow::default()
        };
        assert!(parse_mysql_account(&mysql(), role).unwrap().state.is_role);
    }

    #[test]
    fn role_edges_and_defaults_attach_to_their_accounts() {
        let row = |host: &str| MySqlUserRow {
            user: "app".into(),
            host: host.into(),
            plugin: "caching_sha2_password".into(),
            account_locked: "N".into(),
            password_expired: "N".into(),
            ..MySqlUserRow::default()
        };
        let mut records = vec![
            parse_mysql_account(&mysql(), row("%")).unwrap(),
            parse_mysql_account(&mysql(), row("localhost")).unwrap(),
        ];
        let edge = |host: &str, role: &str| RoleGrant {
            user: "app".into(),
            host: host.into(),
            role: role.into(),
        };
        attach_roles(
            &mut records,
            &[edge("%", "reader"), edge("%", "writer"), edge("other", "x")],
        );
        attach_default_roles(&mut records, &[edge("%", "reader")]);
        assert_eq!(
            records[0].state.roles,
            BTreeSet::from(["reader".to_owned(), "writer".to_owned()])
        );
        assert_eq!(
            records[0].state.default_roles,
            BTreeSet::from(["reader".to_owned()])
        );
        assert!(records[1].state.roles.is_empty());

        let name = Name::parse(NameKind::User, "app").unwrap();
        let state = role_state(&name, &records).unwrap();
        assert!(state.login);
        assert_eq!(state.mysql.unwrap().accounts.len(), 2);
        assert!(role_state(&Name::parse(NameKind::User, "nobody").unwrap(), &records).is_none());
    }
}
