//! The state directory's database: what dbprov applied, what it created and what it reported, so `get`,
//! `describe` and `delete` work without re-reading manifests, and `delete` only drops what dbprov owns.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// Identifies an object: kind (PascalCase), namespace (`default` when the manifest has none), name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if self.namespace != "default" {
            write!(f, " (namespace {})", self.namespace)?;
        }
        Ok(())
    }
}

/// Everything the state keeps about one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord {
    pub key: ObjectKey,
    /// The manifest as last applied (Secrets are never stored here).
    pub manifest: serde_json::Value,
    /// The status dbprov computed (conditions, drift, ...).
    pub status: serde_json::Value,
    /// Hash of the spec last applied successfully; a different hash means the declaration changed.
    pub applied_spec_hash: Option<String>,
    /// Whether dbprov created the server-side object (a pre-existing one is adopted, never dropped).
    pub created: bool,
    /// The redacted SQL of the last apply.
    pub last_sql: Vec<String>,
    /// Kind-specific bookkeeping (for example a salted fingerprint of the password last set).
    pub extra: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot create the state directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the state database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to {action} in the state database")]
    Query {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("the state database holds a malformed record for {key}")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The state database (`<state-dir>/state.sqlite3`).
#[derive(Debug, Clone)]
pub struct StateStore {
    pool: SqlitePool,
    dir: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    manifest TEXT NOT NULL,
    status TEXT NOT NULL,
    applied_spec_hash TEXT,
    created INTEGER NOT NULL DEFAULT 0,
    last_sql TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
PRAGMA user_version = 1;
";

impl StateStore {
    /// Opens (creating when needed) the state in `dir`. The directory is private to the user (0700).
    pub async fn open(dir: &Path) -> Result<Self, StateError> {
        create_private_dir(dir)?;
        let path = dir.join("state.sqlite3");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(|source| StateError::Open {
                path: path.clone(),
                source,
            })?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .map_err(|source| StateError::Open {
                path: path.clone(),
                source,
            })?;
        // The state names every object and its last SQL; only its owner reads it.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| StateError::CreateDir { path, source })?;
        Ok(Self {
            pool,
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub async fn get(&self, key: &ObjectKey) -> Result<Option<ObjectRecord>, StateError> {
        let row = sqlx::query(
            "SELECT kind, namespace, name, manifest, status, applied_spec_hash, created, last_sql, extra, updated_at \
             FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
        )
        .bind(&key.kind)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|source| StateError::Query { action: "read an object", source })?;
        row.map(|row| decode(&row)).transpose()
    }

    /// Objects of a kind (all kinds when `None`), in namespace/name order.
    pub async fn list(&self, kind: Option<&str>) -> Result<Vec<ObjectRecord>, StateError> {
        let rows = sqlx::query(
            "SELECT kind, namespace, name, manifest, status, applied_spec_hash, created, last_sql, extra, updated_at \
             FROM objects WHERE (?1 IS NULL OR kind = ?1) ORDER BY kind, namespace, name",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(|source| StateError::Query { action: "list objects", source })?;
        rows.iter().map(decode).collect()
    }

    pub async fn put(&self, record: &ObjectRecord) -> Result<(), StateError> {
        upsert(record)
            .execute(&self.pool)
            .await
            .map_err(|source| StateError::Query {
                action: "save an object",
                source,
            })?;
        Ok(())
    }

    /// Saves many records in one transaction: one fsync for a whole run instead of one per object.
    pub async fn put_all(&self, records: &[ObjectRecord]) -> Result<(), StateError> {
        let mut transaction = self.pool.begin().await.map_err(|source| StateError::Query {
            action: "start a transaction",
            source,
        })?;
        for record in records {
            upsert(record)
                .execute(&mut *transaction)
                .await
                .map_err(|source| StateError::Query {
                    action: "save an object",
                    source,
                })?;
        }
        transaction.commit().await.map_err(|source| StateError::Query {
            action: "commit",
            source,
        })
    }

    pub async fn remove(&self, key: &ObjectKey) -> Result<(), StateError> {
        sqlx::query("DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?")
            .bind(&key.kind)
            .bind(&key.namespace)
            .bind(&key.name)
            .execute(&self.pool)
            .await
            .map_err(|source| StateError::Query {
                action: "remove an object",
                source,
            })?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn upsert(record: &ObjectRecord) -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(
        "INSERT INTO objects (kind, namespace, name, manifest, status, applied_spec_hash, created, last_sql, extra, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (kind, namespace, name) DO UPDATE SET manifest = excluded.manifest, status = excluded.status, \
         applied_spec_hash = excluded.applied_spec_hash, created = excluded.created, last_sql = excluded.last_sql, \
         extra = excluded.extra, updated_at = excluded.updated_at",
    )
    .bind(record.key.kind.clone())
    .bind(record.key.namespace.clone())
    .bind(record.key.name.clone())
    .bind(record.manifest.to_string())
    .bind(record.status.to_string())
    .bind(record.applied_spec_hash.clone())
    .bind(record.created)
    .bind(serde_json::Value::from(record.last_sql.clone()).to_string())
    .bind(record.extra.to_string())
    .bind(record.updated_at.to_rfc3339())
}

fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<ObjectRecord, StateError> {
    let key = ObjectKey {
        kind: row.get("kind"),
        namespace: row.get("namespace"),
        name: row.get("name"),
    };
    let json = |column: &str| -> Result<serde_json::Value, StateError> {
        serde_json::from_str(row.get::<&str, _>(column)).map_err(|source| StateError::Corrupt {
            key: key.to_string(),
            source,
        })
    };
    let last_sql: Vec<String> =
        serde_json::from_value(json("last_sql")?).map_err(|source| StateError::Corrupt {
            key: key.to_string(),
            source,
        })?;
    let updated_at = DateTime::parse_from_rfc3339(row.get::<&str, _>("updated_at"))
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    Ok(ObjectRecord {
        manifest: json("manifest")?,
        status: json("status")?,
        applied_spec_hash: row.get("applied_spec_hash"),
        created: row.get("created"),
        last_sql,
        extra: json("extra")?,
        updated_at,
        key,
    })
}

/// Creates a directory readable only by its owner.
pub fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StateError::CreateDir {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> ObjectRecord {
        ObjectRecord {
            key: ObjectKey {
                kind: "Database".into(),
                namespace: "default".into(),
                name: name.into(),
            },
            manifest: serde_json::json!({"spec": {"name": name}}),
            status: serde_json::json!({"phase": "Ready"}),
            applied_spec_hash: Some("abc".into()),
            created: true,
            last_sql: vec!["CREATE DATABASE \"x\"".into()],
            extra: serde_json::json!({}),
            updated_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn round_trips_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open(&dir.path().join("nested").join(".dbprov"))
            .await
            .unwrap();
        state.put(&record("b")).await.unwrap();
        state.put(&record("a")).await.unwrap();
        let mut updated = record("a");
        updated.created = false;
        state.put(&updated).await.unwrap();
        let all = state.list(Some("Database")).await.unwrap();
        assert_eq!(
            all.iter().map(|r| r.key.name.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert!(!all[0].created);
        assert_eq!(all[1].last_sql, vec!["CREATE DATABASE \"x\""]);
        assert!(state.list(Some("DatabaseUser")).await.unwrap().is_empty());
        state.remove(&all[0].key).await.unwrap();
        assert!(state.get(&all[0].key).await.unwrap().is_none());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
