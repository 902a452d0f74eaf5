//! PostgreSQL statements (`$n` parameters).

macro_rules! client_columns {
    () => {
        "c.client_id AS client_id, c.client_secret_hash AS client_secret_hash, \
         c.secret_version AS secret_version, CAST(c.secret_expires_at AS timestamptz) AS secret_expires_at, \
         c.client_name AS client_name, CAST(c.grant_types AS text) AS grant_types, \
         CAST(c.scopes AS text) AS scopes, CAST(c.redirect_uris AS text) AS redirect_uris, \
         c.is_active AS is_active, CAST(c.created_at AS timestamptz) AS created_at, \
         CAST(c.updated_at AS timestamptz) AS updated_at, c.created_by AS created_by"
    };
}

/// `$1` client_id. One row per retired secret (or one row with NULL retired columns).
pub const SELECT_CREDENTIALS: &str = concat!(
    "SELECT ",
    client_columns!(),
    ", r.secret_version AS retired_version, r.secret_hash AS retired_hash, \
     CAST(r.expires_at AS timestamptz) AS retired_expires_at \
     FROM oauth2_clients c LEFT JOIN oauth2_client_retired_secrets r ON r.client_id = c.client_id \
     WHERE c.client_id = $1"
);

/// `$1` client_id.
pub const SELECT_CLIENT: &str = concat!(
    "SELECT ",
    client_columns!(),
    " FROM oauth2_clients c WHERE c.client_id = $1"
);

pub const LIST_CLIENTS: &str = concat!(
    "SELECT ",
    client_columns!(),
    " FROM oauth2_clients c ORDER BY c.client_id"
);

/// `$1` client_id, `$2` client_secret_hash, `$3` secret_expires_at, `$4` client_name, `$5` grant_types,
/// `$6` scopes, `$7` redirect_uris (JSON text), `$8` is_active, `$9` created_at, `$10` updated_at,
/// `$11` created_by.
pub const INSERT_CLIENT: &str = "INSERT INTO oauth2_clients (client_id, client_secret_hash, secret_version, \
     secret_expires_at, client_name, grant_types, scopes, redirect_uris, is_active, created_at, updated_at, \
     created_by) VALUES ($1, $2, 1, $3, $4, CAST($5 AS jsonb), CAST($6 AS jsonb), CAST($7 AS jsonb), $8, $9, $10, $11)";

/// `$1` client_name, `$2` grant_types, `$3` scopes, `$4` redirect_uris, `$5` updated_at, `$6` client_id.
pub const UPDATE_CLIENT: &str = "UPDATE oauth2_clients SET client_name = $1, grant_types = CAST($2 AS jsonb), \
     scopes = CAST($3 AS jsonb), redirect_uris = CAST($4 AS jsonb), updated_at = $5 WHERE client_id = $6";

/// `$1` is_active, `$2` updated_at, `$3` client_id.
pub const SET_ACTIVE: &str = "UPDATE oauth2_clients SET is_active = $1, updated_at = $2 WHERE client_id = $3";

/// `$1` client_id, `$2` secret_version, `$3` secret_hash, `$4` retired_at, `$5` expires_at.
pub const INSERT_RETIRED_SECRET: &str = "INSERT INTO oauth2_client_retired_secrets (client_id, secret_version, \
     secret_hash, retired_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

/// `$1` client_id, `$2` secret_version.
pub const DELETE_RETIRED_SECRET: &str =
    "DELETE FROM oauth2_client_retired_secrets WHERE client_id = $1 AND secret_version = $2";

/// `$1` client_id.
pub const DELETE_RETIRED_SECRETS: &str = "DELETE FROM oauth2_client_retired_secrets WHERE client_id = $1";

/// `$1` new hash, `$2` new version, `$3` secret_expires_at, `$4` updated_at, `$5` client_id, `$6` old version.
pub const UPDATE_SECRET: &str = "UPDATE oauth2_clients SET client_secret_hash = $1, secret_version = $2, \
     secret_expires_at = $3, updated_at = $4 WHERE client_id = $5 AND secret_version = $6";

/// `$1` new hash, `$2` client_id, `$3` old hash: re-hashing the same secret, only if nothing changed since.
pub const REPLACE_SECRET_HASH: &str =
    "UPDATE oauth2_clients SET client_secret_hash = $1 WHERE client_id = $2 AND client_secret_hash = $3";

/// `$1` client_id.
pub const DELETE_CLIENT: &str = "DELETE FROM oauth2_clients WHERE client_id = $1";

pub const PING: &str = "SELECT 1";

pub const BEGIN_WRITE: &str = "BEGIN";

/// Timestamps are bound as `timestamptz`.
pub fn time(value: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    value
}
