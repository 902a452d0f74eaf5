//! MySQL and MariaDB statements: the constants of `postgres.rs` with `?` parameters in the same order.

macro_rules! client_columns {
    () => {
        "c.client_id AS client_id, c.client_secret_hash AS client_secret_hash, \
         c.secret_version AS secret_version, c.secret_expires_at AS secret_expires_at, \
         c.client_name AS client_name, CAST(c.grant_types AS CHAR) AS grant_types, \
         CAST(c.scopes AS CHAR) AS scopes, CAST(c.redirect_uris AS CHAR) AS redirect_uris, \
         c.is_active AS is_active, c.created_at AS created_at, \
         c.updated_at AS updated_at, c.created_by AS created_by"
    };
}

pub const SELECT_CREDENTIALS: &str = concat!(
    "SELECT ",
    client_columns!(),
    ", r.secret_version AS retired_version, r.secret_hash AS retired_hash, \
     r.expires_at AS retired_expires_at \
     FROM oauth2_clients c LEFT JOIN oauth2_client_retired_secrets r ON r.client_id = c.client_id \
     WHERE c.client_id = ?"
);

pub const SELECT_CLIENT: &str = concat!(
    "SELECT ",
    client_columns!(),
    " FROM oauth2_clients c WHERE c.client_id = ?"
);

pub const LIST_CLIENTS: &str = concat!(
    "SELECT ",
    client_columns!(),
    " FROM oauth2_clients c ORDER BY c.client_id"
);

pub const INSERT_CLIENT: &str = "INSERT INTO oauth2_clients (client_id, client_secret_hash, secret_version, \
     secret_expires_at, client_name, grant_types, scopes, redirect_uris, is_active, created_at, updated_at, \
     created_by) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

pub const UPDATE_CLIENT: &str = "UPDATE oauth2_clients SET client_name = ?, grant_types = ?, \
     scopes = ?, redirect_uris = ?, updated_at = ? WHERE client_id = ?";

pub const SET_ACTIVE: &str = "UPDATE oauth2_clients SET is_active = ?, updated_at = ? WHERE client_id = ?";

pub const INSERT_RETIRED_SECRET: &str = "INSERT INTO oauth2_client_retired_secrets (client_id, secret_version, \
     secret_hash, retired_at, expires_at) VALUES (?, ?, ?, ?, ?)";

pub const DELETE_RETIRED_SECRET: &str =
    "DELETE FROM oauth2_client_retired_secrets WHERE client_id = ? AND secret_version = ?";

pub const DELETE_RETIRED_SECRETS: &str = "DELETE FROM oauth2_client_retired_secrets WHERE client_id = ?";

pub const UPDATE_SECRET: &str = "UPDATE oauth2_clients SET client_secret_hash = ?, secret_version = ?, \
     secret_expires_at = ?, updated_at = ? WHERE client_id = ? AND secret_version = ?";

pub const REPLACE_SECRET_HASH: &str =
    "UPDATE oauth2_clients SET client_secret_hash = ? WHERE client_id = ? AND client_secret_hash = ?";

pub const DELETE_CLIENT: &str = "DELETE FROM oauth2_clients WHERE client_id = ?";

pub const PING: &str = "SELECT 1";

pub const BEGIN_WRITE: &str = "BEGIN";

/// Timestamps are bound as UTC `DATETIME` values (sqlx's sessions use `time_zone = '+00:00'`).
pub fn time(value: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    value
}
