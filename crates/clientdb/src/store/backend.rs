//! The store's operations, written once and expanded for each dialect's pool type and statement module.
//!
//! A macro rather than generic functions: sqlx's executor bounds for "any database" are long and fragile,
//! while the bodies are identical text; each expansion is type-checked against its own driver.

use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::model::{ClientRecord, RetiredSecret};

/// Decodes a JSON array of strings stored as text; NULL is an empty list.
pub(crate) fn decode_list(
    client_id: &str,
    column: &'static str,
    value: Option<String>,
) -> Result<Vec<String>, StoreError> {
    match value {
        None => Ok(Vec::new()),
        Some(text) if text.trim().is_empty() => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            client_id: client_id.to_owned(),
            column,
            reason: format!("not a JSON array of strings ({error})"),
        }),
    }
}

pub(crate) fn encode_list(values: &[String]) -> String {
    serde_json::to_string(values).expect("invariant: a list of strings always serializes")
}

/// The columns every client query returns, decoded independently of the driver.
pub(crate) struct ClientColumns {
    pub client_id: String,
    pub client_secret_hash: String,
    pub secret_version: i64,
    pub secret_expires_at: Option<DateTime<Utc>>,
    pub client_name: String,
    pub grant_types: Option<String>,
    pub scopes: Option<String>,
    pub redirect_uris: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

impl ClientColumns {
    pub(crate) fn into_record(self) -> Result<(ClientRecord, String), StoreError> {
        let client_id = self.client_id;
        let record = ClientRecord {
            grant_types: decode_list(&client_id, "grant_types", self.grant_types)?,
            scopes: decode_list(&client_id, "scopes", self.scopes)?,
            redirect_uris: decode_list(&client_id, "redirect_uris", self.redirect_uris)?,
            client_name: self.client_name,
            is_active: self.is_active,
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by: self.created_by,
            secret_version: self.secret_version,
            secret_expires_at: self.secret_expires_at,
            client_id,
        };
        Ok((record, self.client_secret_hash))
    }
}

pub(crate) struct RetiredColumns {
    pub version: Option<i64>,
    pub secret_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl RetiredColumns {
    pub(crate) fn into_secret(self) -> Option<RetiredSecret> {
        Some(RetiredSecret {
            version: self.version?,
            secret_hash: self.secret_hash?,
            expires_at: self.expires_at?,
        })
    }
}

macro_rules! backend {
    ($module:ident, $database:ty, $sql:path) => {
        pub(crate) mod $module {
            use sqlx::Row as _;

            use $crate::store::backend::{ClientColumns, RetiredColumns, encode_list};
            use $crate::store::error::{StoreError, is_unique_violation};
            use $crate::store::model::{
                ClientChanges, ClientCredentials, ClientRecord, NewClientRow, RotationOutcome, SecretRotation,
            };
            use $sql as sql;

            type Pool = sqlx::Pool<$database>;
            type DatabaseRow = <$database as sqlx::Database>::Row;

            fn columns(row: &DatabaseRow) -> Result<ClientColumns, sqlx::Error> {
                Ok(ClientColumns {
                    client_id: row.try_get("client_id")?,
                    client_secret_hash: row.try_get("client_secret_hash")?,
                    secret_version: row.try_get("secret_version")?,
                    secret_expires_at: row.try_get("secret_expires_at")?,
                    client_name: row
                        .try_get::<Option<String>, _>("client_name")?
                        .unwrap_or_default(),
                    grant_types: row.try_get("grant_types")?,
                    scopes: row.try_get("scopes")?,
                    redirect_uris: row.try_get("redirect_uris")?,
                    is_active: row.try_get("is_active")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    created_by: row.try_get("created_by")?,
                })
            }

            fn record(row: &DatabaseRow, client_id: &str) -> Result<ClientRecord, StoreError> {
                columns(row)
                    .map_err(StoreError::client("read the client row", client_id))?
                    .into_record()
                    .map(|(record, _)| record)
            }

            pub(crate) async fn ping(pool: &Pool) -> Result<(), StoreError> {
                sqlx::query(sql::PING)
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .map_err(|source| StoreError::Query {
                        operation: "ping the database",
                        source,
                    })
            }

            pub(crate) async fn credentials(
                pool: &Pool,
                client_id: &str,
            ) -> Result<Option<ClientCredentials>, StoreError> {
                let rows = sqlx::query(sql::SELECT_CREDENTIALS)
                    .bind(client_id)
                    .fetch_all(pool)
                    .await
                    .map_err(StoreError::client("look up credentials", client_id))?;
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let (client, secret_hash) = columns(first)
                    .map_err(StoreError::client("read the client row", client_id))?
                    .into_record()?;
                let mut retired = Vec::new();
                for row in &rows {
                    let columns = RetiredColumns {
                        version: row
                            .try_get("retired_version")
                            .map_err(StoreError::client("read retired secrets", client_id))?,
                        secret_hash: row
                            .try_get("retired_hash")
                            .map_err(StoreError::client("read retired secrets", client_id))?,
                        expires_at: row
                            .try_get("retired_expires_at")
                            .map_err(StoreError::client("read retired secrets", client_id))?,
                    };
                    retired.extend(columns.into_secret());
                }
                Ok(Some(ClientCredentials {
                    client,
                    secret_hash,
                    retired,
                }))
            }

            pub(crate) async fn client(
                pool: &Pool,
                client_id: &str,
            ) -> Result<Option<ClientRecord>, StoreError> {
                let row = sqlx::query(sql::SELECT_CLIENT)
                    .bind(client_id)
                    .fetch_optional(pool)
                    .await
                    .map_err(StoreError::client("read client", client_id))?;
                row.map(|row| record(&row, client_id)).transpose()
            }

            pub(crate) async fn list(pool: &Pool) -> Result<Vec<ClientRecord>, StoreError> {
                let rows = sqlx::query(sql::LIST_CLIENTS)
                    .fetch_all(pool)
                    .await
                    .map_err(|source| StoreError::Query {
                        operation: "list clients",
                        source,
                    })?;
                rows.iter()
                    .map(|row| {
                        let client_id: String = row.try_get("client_id").unwrap_or_default();
                        record(row, &client_id)
                    })
                    .collect()
            }

            pub(crate) async fn insert(pool: &Pool, new: &NewClientRow) -> Result<ClientRecord, StoreError> {
                let result = sqlx::query(sql::INSERT_CLIENT)
                    .bind(&new.client_id)
                    .bind(&new.secret_hash)
                    .bind(new.secret_expires_at.map(sql::time))
                    .bind(&new.client_name)
                    .bind(encode_list(&new.grant_types))
                    .bind(encode_list(&new.scopes))
                    .bind(encode_list(&new.redirect_uris))
                    .bind(new.is_active)
                    .bind(sql::time(new.now))
                    .bind(sql::time(new.now))
                    .bind(&new.created_by)
                    .execute(pool)
                    .await;
                match result {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => {
                        return Err(StoreError::AlreadyExists {
                            client_id: new.client_id.clone(),
                        });
                    }
                    Err(error) => return Err(StoreError::client("insert client", &new.client_id)(error)),
                }
                client(pool, &new.client_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        client_id: new.client_id.clone(),
                    })
            }

            pub(crate) async fn update(
                pool: &Pool,
                client_id: &str,
                changes: &ClientChanges,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<ClientRecord, StoreError> {
                let mut transaction = pool
                    .begin_with(sql::BEGIN_WRITE)
                    .await
                    .map_err(StoreError::client("begin a transaction", client_id))?;
                let row = sqlx::query(sql::SELECT_CLIENT)
                    .bind(client_id)
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(StoreError::client("read client", client_id))?
                    .ok_or_else(|| StoreError::NotFound {
                        client_id: client_id.to_owned(),
                    })?;
                let current = record(&row, client_id)?;
                sqlx::query(sql::UPDATE_CLIENT)
                    .bind(changes.client_name.as_ref().unwrap_or(&current.client_name))
                    .bind(encode_list(
                        changes.grant_types.as_ref().unwrap_or(&current.grant_types),
                    ))
                    .bind(encode_list(
                        changes.scopes.as_ref().unwrap_or(&current.scopes),
                    ))
                    .bind(encode_list(
                        changes
                            .redirect_uris
                            .as_ref()
                            .unwrap_or(&current.redirect_uris),
                    ))
                    .bind(sql::time(now))
                    .bind(client_id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(StoreError::client("update client", client_id))?;
                transaction
                    .commit()
                    .await
                    .map_err(StoreError::client("commit the update", client_id))?;
                client(pool, client_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        client_id: client_id.to_owned(),
                    })
            }

            pub(crate) async fn set_active(
                pool: &Pool,
                client_id: &str,
                active: bool,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<ClientRecord, StoreError> {
                let result = sqlx::query(sql::SET_ACTIVE)
                    .bind(active)
                    .bind(sql::time(now))
                    .bind(client_id)
                    .execute(pool)
                    .await
                    .map_err(StoreError::client(
                        if active {
                            "enable client"
                        } else {
                            "disable client"
                        },
                        client_id,
                    ))?;
                if result.rows_affected() == 0 {
                    return Err(StoreError::NotFound {
                        client_id: client_id.to_owned(),
                    });
                }
                client(pool, client_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        client_id: client_id.to_owned(),
                    })
            }

            pub(crate) async fn rotate(
                pool: &Pool,
                client_id: &str,
                rotation: &SecretRotation,
            ) -> Result<RotationOutcome, StoreError> {
                let mut transaction = pool
                    .begin_with(sql::BEGIN_WRITE)
                    .await
                    .map_err(StoreError::client("begin a transaction", client_id))?;
                let rows = sqlx::query(sql::SELECT_CREDENTIALS)
                    .bind(client_id)
                    .fetch_all(&mut *transaction)
                    .await
                    .map_err(StoreError::client("read credentials", client_id))?;
                let Some(first) = rows.first() else {
                    return Err(StoreError::NotFound {
                        client_id: client_id.to_owned(),
                    });
                };
                let (current, current_hash) = columns(first)
                    .map_err(StoreError::client("read the client row", client_id))?
                    .into_record()?;
                match rotation.previous_valid_until {
                    Some(until) => {
                        // Expired retired secrets are dropped here; they no longer authenticate anyway.
                        for row in &rows {
                            let version: Option<i64> = row
                                .try_get("retired_version")
                                .map_err(StoreError::client("read retired secrets", client_id))?;
                            let expires_at: Option<chrono::DateTime<chrono::Utc>> = row
                                .try_get("retired_expires_at")
                                .map_err(StoreError::client("read retired secrets", client_id))?;
                            if let (Some(version), Some(expires_at)) = (version, expires_at)
                                && expires_at <= rotation.now
                            {
                                sqlx::query(sql::DELETE_RETIRED_SECRET)
                                    .bind(client_id)
                                    .bind(version)
                                    .execute(&mut *transaction)
                                    .await
                                    .map_err(StoreError::client("delete an expired secret", client_id))?;
                            }
                        }
                        if until > rotation.now {
                            sqlx::query(sql::INSERT_RETIRED_SECRET)
                                .bind(client_id)
                                .bind(current.secret_version)
                                .bind(&current_hash)
                                .bind(sql::time(rotation.now))
                                .bind(sql::time(until))
                                .execute(&mut *transaction)
                                .await
                                .map_err(|error| {
                                    if is_unique_violation(&error) {
                                        StoreError::Conflict {
                                            client_id: client_id.to_owned(),
                                        }
                                    } else {
                                        StoreError::client("retire the current secret", client_id)(error)
                                    }
                                })?;
                        }
                    }
                    None => {
                        sqlx::query(sql::DELETE_RETIRED_SECRETS)
                            .bind(client_id)
                            .execute(&mut *transaction)
                            .await
                            .map_err(StoreError::client("revoke retired secrets", client_id))?;
                    }
                }
                let new_version = current.secret_version + 1;
                let updated = sqlx::query(sql::UPDATE_SECRET)
                    .bind(&rotation.new_hash)
                    .bind(new_version)
                    .bind(rotation.expires_at.map(sql::time))
                    .bind(sql::time(rotation.now))
                    .bind(client_id)
                    .bind(current.secret_version)
                    .execute(&mut *transaction)
                    .await
                    .map_err(StoreError::client("store the new secret", client_id))?;
                if updated.rows_affected() != 1 {
                    return Err(StoreError::Conflict {
                        client_id: client_id.to_owned(),
                    });
                }
                transaction
                    .commit()
                    .await
                    .map_err(StoreError::client("commit the rotation", client_id))?;
                Ok(RotationOutcome {
                    secret_version: new_version,
                    previous_valid_until: rotation
                        .previous_valid_until
                        .filter(|until| *until > rotation.now),
                })
            }

            pub(crate) async fn replace_secret_hash(
                pool: &Pool,
                client_id: &str,
                old_hash: &str,
                new_hash: &str,
            ) -> Result<bool, StoreError> {
                let result = sqlx::query(sql::REPLACE_SECRET_HASH)
                    .bind(new_hash)
                    .bind(client_id)
                    .bind(old_hash)
                    .execute(pool)
                    .await
                    .map_err(StoreError::client("re-hash the secret", client_id))?;
                Ok(result.rows_affected() == 1)
            }

            pub(crate) async fn delete(pool: &Pool, client_id: &str) -> Result<bool, StoreError> {
                let mut transaction = pool
                    .begin_with(sql::BEGIN_WRITE)
                    .await
                    .map_err(StoreError::client("begin a transaction", client_id))?;
                sqlx::query(sql::DELETE_RETIRED_SECRETS)
                    .bind(client_id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(StoreError::client("delete retired secrets", client_id))?;
                let result = sqlx::query(sql::DELETE_CLIENT)
                    .bind(client_id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(StoreError::client("delete client", client_id))?;
                transaction
                    .commit()
                    .await
                    .map_err(StoreError::client("commit the deletion", client_id))?;
                Ok(result.rows_affected() > 0)
            }
        }
    };
}

backend!(postgres, sqlx::Postgres, crate::store::sql::postgres);
backend!(mysql, sqlx::MySql, crate::store::sql::mysql);
backend!(sqlite, sqlx::Sqlite, crate::store::sql::sqlite);
