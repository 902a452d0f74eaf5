//! Users and roles: `CREATE USER`, `ALTER USER`, `DROP USER`, `CREATE/DROP ROLE`, role grants and default
//! roles.

use dbprov_core::model::{MySqlTlsRequirement, PasswordLockTime};
use dbprov_core::quote::QuoteError;
use dbprov_core::{Dialect, SqlBuilder, Statement};

use crate::sql::{Account, push_account};

/// How an account authenticates. Verifiers and passwords are secrets: plans show `<redacted>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identification<'a> {
    /// MariaDB: `IDENTIFIED BY PASSWORD '*HEX'` (the `mysql_native_password` verifier).
    MariaDbNativeHash(&'a str),
    /// MySQL 8: `IDENTIFIED WITH mysql_native_password AS '*HEX'`.
    MySqlNativeHash(&'a str),
    /// MySQL 8: `IDENTIFIED WITH caching_sha2_password BY 'password'`. The server salts and hashes the
    /// password itself, so the plaintext crosses the connection (use TLS).
    CachingSha2(&'a str),
}

/// The per-account resource limits (`WITH ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceLimit {
    MaxQueriesPerHour,
    MaxUpdatesPerHour,
    MaxConnectionsPerHour,
    MaxUserConnections,
}

impl ResourceLimit {
    pub const ALL: [ResourceLimit; 4] = [
        ResourceLimit::MaxQueriesPerHour,
        ResourceLimit::MaxUpdatesPerHour,
        ResourceLimit::MaxConnectionsPerHour,
        ResourceLimit::MaxUserConnections,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            ResourceLimit::MaxQueriesPerHour => "MAX_QUERIES_PER_HOUR",
            ResourceLimit::MaxUpdatesPerHour => "MAX_UPDATES_PER_HOUR",
            ResourceLimit::MaxConnectionsPerHour => "MAX_CONNECTIONS_PER_HOUR",
            ResourceLimit::MaxUserConnections => "MAX_USER_CONNECTIONS",
        }
    }

    /// The declaration field, for drift reports.
    pub fn field(self) -> &'static str {
        match self {
            ResourceLimit::MaxQueriesPerHour => "maxQueriesPerHour",
            ResourceLimit::MaxUpdatesPerHour => "maxUpdatesPerHour",
            ResourceLimit::MaxConnectionsPerHour => "maxConnectionsPerHour",
            ResourceLimit::MaxUserConnections => "maxUserConnections",
        }
    }
}

/// The optional clauses of `CREATE USER` / `ALTER USER`. Only the clauses that are set are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountClauses<'a> {
    pub identification: Option<Identification<'a>>,
    pub require: Option<&'a MySqlTlsRequirement>,
    pub limits: Vec<(ResourceLimit, u32)>,
    /// MySQL 8.0.19+ only.
    pub failed_login_attempts: Option<u16>,
    /// MySQL 8.0.19+ only.
    pub password_lock_time: Option<PasswordLockTime>,
    pub locked: Option<bool>,
}

impl AccountClauses<'_> {
    pub fn is_empty(&self) -> bool {
        *self == AccountClauses::default()
    }
}

fn push_identification(builder: &mut SqlBuilder, identification: Identification<'_>) {
    match identification {
        Identification::MariaDbNativeHash(hash) => {
            builder.push(" IDENTIFIED BY PASSWORD ").secret_literal(hash);
        }
        Identification::MySqlNativeHash(hash) => {
            builder
                .push(" IDENTIFIED WITH mysql_native_password AS ")
                .secret_literal(hash);
        }
        Identification::CachingSha2(password) => {
            builder
                .push(" IDENTIFIED WITH caching_sha2_password BY ")
                .secret_literal(password);
        }
    }
}

fn push_require(builder: &mut SqlBuilder, require: &MySqlTlsRequirement) {
    builder.push(" REQUIRE ");
    match require {
        MySqlTlsRequirement::None => {
            builder.push("NONE");
        }
        MySqlTlsRequirement::Ssl => {
            builder.push("SSL");
        }
        MySqlTlsRequirement::X509 => {
            builder.push("X509");
        }
        MySqlTlsRequirement::Specified {
            issuer,
            subject,
            cipher,
        } => {
            let parts = [("ISSUER ", issuer), ("SUBJECT ", subject), ("CIPHER ", cipher)];
            let present = parts
                .iter()
                .filter_map(|(keyword, value)| value.as_deref().map(|value| (*keyword, value)));
            for (index, (keyword, value)) in present.enumerate() {
                if index > 0 {
                    builder.push(" AND ");
                }
                builder.push(keyword).literal(value);
            }
        }
    }
}

fn push_clauses(builder: &mut SqlBuilder, clauses: &AccountClauses<'_>) {
    if let Some(identification) = clauses.identification {
        push_identification(builder, identification);
    }
    if let Some(require) = clauses.require {
        push_require(builder, require);
    }
    if !clauses.limits.is_empty() {
        builder.push(" WITH");
        for (limit, value) in &clauses.limits {
            builder
                .push(" ")
                .push(limit.keyword())
                .push(" ")
                .int(i64::from(*value));
        }
    }
    if let Some(attempts) = clauses.failed_login_attempts {
        builder.push(" FAILED_LOGIN_ATTEMPTS ").int(i64::from(attempts));
    }
    match clauses.password_lock_time {
        Some(PasswordLockTime::Days(days)) => {
            builder.push(" PASSWORD_LOCK_TIME ").int(i64::from(days));
        }
        Some(PasswordLockTime::Unbounded) => {
            builder.push(" PASSWORD_LOCK_TIME UNBOUNDED");
        }
        None => {}
    }
    match clauses.locked {
        Some(true) => {
            builder.push(" ACCOUNT LOCK");
        }
        Some(false) => {
            builder.push(" ACCOUNT UNLOCK");
        }
        None => {}
    }
}

/// `CREATE USER account [IDENTIFIED ...] [REQUIRE ...] [WITH ...] [FAILED_LOGIN_ATTEMPTS ...] [ACCOUNT ...]`.
pub fn create_user(
    dialect: Dialect,
    account: Account<'_>,
    clauses: &AccountClauses<'_>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("CREATE USER ");
    push_account(&mut builder, account);
    push_clauses(&mut builder, clauses);
    builder.build()
}

/// `ALTER USER account ...` with the given clauses (the planner passes one attribute at a time).
pub fn alter_user(
    dialect: Dialect,
    account: Account<'_>,
    clauses: &AccountClauses<'_>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("ALTER USER ");
    push_account(&mut builder, account);
    push_clauses(&mut builder, clauses);
    builder.build()
}

/// `DROP USER IF EXISTS account`.
pub fn drop_user(dialect: Dialect, account: Account<'_>) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("DROP USER IF EXISTS ");
    push_account(&mut builder, account);
    builder.build()
}

/// `CREATE ROLE name`.
pub fn create_role(dialect: Dialect, name: &str) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("CREATE ROLE ").ident(name);
    builder.build()
}

/// `DROP ROLE IF EXISTS name`.
pub fn drop_role(dialect: Dialect, name: &str) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("DROP ROLE IF EXISTS ").ident(name);
    builder.build()
}

/// `GRANT role TO account`.
pub fn grant_role(dialect: Dialect, role: &str, account: Account<'_>) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("GRANT ").ident(role).push(" TO ");
    push_account(&mut builder, account);
    builder.build()
}

/// `REVOKE role FROM account`.
pub fn revoke_role(dialect: Dialect, role: &str, account: Account<'_>) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("REVOKE ").ident(role).push(" FROM ");
    push_account(&mut builder, account);
    builder.build()
}

/// The roles an account activates at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRole<'a> {
    None,
    /// MariaDB: its one default role.
    One(&'a str),
    /// MySQL 8: every role granted at the time the statement runs.
    All,
}

/// MariaDB `SET DEFAULT ROLE r|NONE FOR account`; MySQL 8 `SET DEFAULT ROLE ALL|NONE TO account`.
pub fn set_default_role(
    dialect: Dialect,
    mariadb: bool,
    role: DefaultRole<'_>,
    account: Account<'_>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("SET DEFAULT ROLE ");
    match role {
        DefaultRole::None => {
            builder.push("NONE");
        }
        DefaultRole::One(role) => {
            builder.ident(role);
        }
        DefaultRole::All => {
            builder.push("ALL");
        }
    }
    builder.push(if mariadb { " FOR " } else { " TO " });
    push_account(&mut builder, account);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::MySqlStringMode;

    const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);
    const MYSQL_NBE: Dialect = Dialect::MySql(MySqlStringMode::NoBackslashEscapes);

    #[test]
    fn mariadb_create_user_with_every_clause() {
        let require = MySqlTlsRequirement::Specified {
            issuer: Some("CN=ca\\x".into()),
            subject: Some("CN=o'brien".into()),
            cipher: None,
        };
        let clauses = AccountClauses {
            identification: Some(Identification::MariaDbNativeHash("*ABC")),
            require: Some(&require),
            limits: vec![
                (ResourceLimit::MaxQueriesPerHour, 10),
                (ResourceLimit::MaxUserConnections, 2),
            ],
            locked: Some(true),
            ..AccountClauses::default()
        };
        let statement = create_user(MYSQL, Account::new("app", "10.0.0.%"), &clauses).unwrap();
        assert_eq!(
            statement.sql(),
            "CREATE USER `app`@`10.0.0.%` IDENTIFIED BY PASSWORD '*ABC' REQUIRE ISSUER 'CN=ca\\\\x' AND \
             SUBJECT 'CN=o''brien' WITH MAX_QUERIES_PER_HOUR 10 MAX_USER_CONNECTIONS 2 ACCOUNT LOCK"
        );
        assert_eq!(
            statement.display(),
            "CREATE USER `app`@`10.0.0.%` IDENTIFIED BY PASSWORD '<redacted>' REQUIRE ISSUER 'CN=ca\\\\x' AND \
             SUBJECT 'CN=o''brien' WITH MAX_QUERIES_PER_HOUR 10 MAX_USER_CONNECTIONS 2 ACCOUNT LOCK"
        );
        let statement = create_user(MYSQL_NBE, Account::new("app", "%"), &clauses).unwrap();
        assert!(
            statement.sql().contains("ISSUER 'CN=ca\\x'"),
            "{}",
            statement.sql()
        );
    }

    #[test]
    fn mysql8_identification_and_failed_login_clauses() {
        let clauses = AccountClauses {
            identification: Some(Identification::CachingSha2("s3cr'et")),
            failed_login_attempts: Some(3),
            password_lock_time: Some(PasswordLockTime::Unbounded),
            ..AccountClauses::default()
        };
        let statement = create_user(MYSQL, Account::new("app", "%"), &clauses).unwrap();
        assert_eq!(
            statement.sql(),
            "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY 's3cr''et' FAILED_LOGIN_ATTEMPTS 3 \
             PASSWORD_LOCK_TIME UNBOUNDED"
        );
        assert!(!statement.display().contains("s3cr"));

        let clauses = AccountClauses {
            identification: Some(Identification::MySqlNativeHash("*ABC")),
            ..AccountClauses::default()
        };
        assert_eq!(
            alter_user(MYSQL, Account::new("app", "%"), &clauses)
                .unwrap()
                .sql(),
            "ALTER USER `app`@`%` IDENTIFIED WITH mysql_native_password AS '*ABC'"
        );
        let clauses = AccountClauses {
            password_lock_time: Some(PasswordLockTime::Days(2)),
            ..AccountClauses::default()
        };
        assert_eq!(
            alter_user(MYSQL, Account::new("app", "%"), &clauses)
                .unwrap()
                .sql(),
            "ALTER USER `app`@`%` PASSWORD_LOCK_TIME 2"
        );
    }

    #[test]
    fn require_variants() {
        for (require, text) in [
            (MySqlTlsRequirement::None, "REQUIRE NONE"),
            (MySqlTlsRequirement::Ssl, "REQUIRE SSL"),
            (MySqlTlsRequirement::X509, "REQUIRE X509"),
        ] {
            let clauses = AccountClauses {
                require: Some(&require),
                ..AccountClauses::default()
            };
            let sql = alter_user(MYSQL, Account::new("u", "%"), &clauses).unwrap();
            assert_eq!(sql.sql(), format!("ALTER USER `u`@`%` {text}"));
        }
    }

    #[test]
    fn roles_and_default_roles() {
        assert_eq!(create_role(MYSQL, "r`1").unwrap().sql(), "CREATE ROLE `r``1`");
        assert_eq!(drop_role(MYSQL, "r").unwrap().sql(), "DROP ROLE IF EXISTS `r`");
        assert_eq!(
            grant_role(MYSQL, "r", Account::new("u", "%")).unwrap().sql(),
            "GRANT `r` TO `u`@`%`"
        );
        assert_eq!(
            revoke_role(MYSQL, "r", Account::bare("other_role"))
                .unwrap()
                .sql(),
            "REVOKE `r` FROM `other_role`"
        );
        assert_eq!(
            set_default_role(MYSQL, true, DefaultRole::One("r"), Account::new("u", "h"))
                .unwrap()
                .sql(),
            "SET DEFAULT ROLE `r` FOR `u`@`h`"
        );
        assert_eq!(
            set_default_role(MYSQL, false, DefaultRole::All, Account::new("u", "h"))
                .unwrap()
                .sql(),
            "SET DEFAULT ROLE ALL TO `u`@`h`"
        );
        assert_eq!(
            set_default_role(MYSQL, false, DefaultRole::None, Account::new("u", "h"))
                .unwrap()
                .sql(),
            "SET DEFAULT ROLE NONE TO `u`@`h`"
        );
        assert_eq!(
            drop_user(MYSQL, Account::new("u", "h")).unwrap().sql(),
            "DROP USER IF EXISTS `u`@`h`"
        );
    }
}
