//! Reading the instance directory: which database files exist, their journal mode and size.

use std::path::Path;
use std::time::Duration;

use dbprov_core::EngineError;
use dbprov_core::model::{Catalog, CatalogRequest, DatabaseState, SqliteDatabaseState};

use crate::connect::{database_file, open_pool};

pub async fn inspect(
    directory: &Path,
    request: &CatalogRequest,
    timeout: Duration,
) -> Result<Catalog, EngineError> {
    let mut catalog = Catalog::default();
    for requested in &request.databases {
        let path = database_file(directory, requested.name.as_str());
        let metadata = match tokio::fs::metadata(&path).await {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(EngineError::Io {
                    action: "inspect",
                    path,
                    source,
                });
            }
        };
        let pool = open_pool(&path, false, timeout).await?;
        let journal_mode: Result<String, sqlx::Error> =
            sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await;
        pool.close().await;
        catalog.queries += 1;
        let journal_mode = journal_mode.map_err(|source| EngineError::Inspect {
            target: path.display().to_string(),
            action: "read the journal mode".into(),
            source: source.into(),
        })?;
        catalog.databases.insert(
            requested.name.clone(),
            DatabaseState {
                name: requested.name.clone(),
                owner: None,
                postgres: None,
                mysql: None,
                sqlite: Some(SqliteDatabaseState {
                    path,
                    journal_mode: journal_mode.to_lowercase(),
                    size_bytes: metadata.len(),
                }),
            },
        );
    }
    Ok(catalog)
}

/// How long inspection waits on a locked file before giving up.
pub const INSPECT_TIMEOUT: Duration = Duration::from_secs(5);
