//! Pure SQL builders: validated names in, `Statement` out. Every identifier and literal goes through
//! `SqlBuilder`, which writes literals for the session's `sql_mode` (see `ServerFacts::dialect`).
//!
//! * [`database`]: `CREATE/ALTER/DROP DATABASE`;
//! * [`account`]: users and roles (`CREATE USER`, `ALTER USER`, `GRANT role`, `SET DEFAULT ROLE`...);
//! * [`grant`]: privileges at every level;
//! * [`catalog`]: the static catalog queries `inspect` runs.

pub mod account;
pub mod catalog;
pub mod database;
pub mod grant;

use dbprov_core::SqlBuilder;

/// Who a statement is about: `` `user`@`host` ``, or the bare `` `name` `` for a role (MariaDB stores roles
/// with an empty host, and a role written with a host is looked up as a user) and for a grantee that has
/// no account yet (the server resolves it to the role of that name or to `` `name`@`%` ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account<'a> {
    pub user: &'a str,
    pub host: Option<&'a str>,
}

impl<'a> Account<'a> {
    pub fn new(user: &'a str, host: &'a str) -> Self {
        Self {
            user,
            host: Some(host),
        }
    }

    pub fn bare(user: &'a str) -> Self {
        Self { user, host: None }
    }
}

/// Writes an account name.
pub fn push_account(builder: &mut SqlBuilder, account: Account<'_>) {
    builder.ident(account.user);
    if let Some(host) = account.host {
        builder.push("@").ident(host);
    }
}

/// Renders an account for messages, the way MySQL prints it.
pub fn account_label(account: Account<'_>) -> String {
    match account.host {
        Some(host) => format!("'{}'@'{}'", account.user, host),
        None => format!("'{}'", account.user),
    }
}
