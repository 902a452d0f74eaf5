//! The store, the registry and authentication against a real database.

use std::sync::Arc;
use std::time::Duration;

use clientdb::auth::{AuthError, AuthSettings, Authenticator, FailureReason};
use clientdb::metrics::Metrics;
use clientdb::registry::{NewClient, RegistryError, RotateOptions};
use clientdb::secret::HashPolicy;
use clientdb::store::{ClientChanges, StoreError};
use clientdb::{ClientRegistry, migrations};
use dbprov_core::Secret;

use crate::common::{Backend, fast_policy};

fn authenticator(store: clientdb::Store, policy: HashPolicy) -> (Authenticator, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let settings = AuthSettings {
        policy,
        ..AuthSettings::default()
    };
    (
        Authenticator::new(store, settings, metrics.clone()).unwrap(),
        metrics,
    )
}

async fn authenticates(
    authenticator: &Authenticator,
    client_id: &str,
    secret: &str,
) -> Result<(), FailureReason> {
    match authenticator.authenticate(client_id, secret, None).await {
        Ok(client) => {
            assert_eq!(client.client_id, client_id);
            Ok(())
        }
        Err(AuthError::Failed { reason }) => Err(reason),
        Err(other) => panic!("unexpected authentication error: {other:?}"),
    }
}

fn count(metrics: &Metrics, line_prefix: &str) -> u64 {
    metrics
        .encode()
        .lines()
        .find(|line| line.starts_with(line_prefix))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |value| value.parse::<f64>().unwrap() as u64)
}

pub async fn schema_migrates_up_and_down(backend: Backend) {
    let database = backend.database().await;
    assert_eq!(migrations::version(&database.config).await.unwrap().version, None);
    let report = migrations::up(&database.config).await.unwrap();
    assert_eq!(report.applied.len(), 3);
    assert_eq!(
        migrations::version(&database.config).await.unwrap().version,
        Some(3)
    );
    assert!(migrations::up(&database.config).await.unwrap().no_change);
    // The tables exist as the engine's own client sees them.
    let tables = match backend {
        Backend::Sqlite => database.sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
        Backend::Postgres => {
            database.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        }
        Backend::MariaDb => database.sql("SHOW TABLES"),
    };
    for table in [
        "oauth2_clients",
        "oauth2_client_retired_secrets",
        "schema_migrations",
    ] {
        assert!(tables.contains(table), "{table} missing: {tables}");
    }
    migrations::down(&database.config, Some(1)).await.unwrap();
    assert_eq!(
        migrations::version(&database.config).await.unwrap().version,
        Some(2)
    );
    migrations::down(&database.config, None).await.unwrap();
    assert_eq!(migrations::version(&database.config).await.unwrap().version, None);
    let tables = match backend {
        Backend::Sqlite => database.sql("SELECT name FROM sqlite_master WHERE type = 'table'"),
        Backend::Postgres => database.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"),
        Backend::MariaDb => database.sql("SHOW TABLES"),
    };
    assert!(!tables.contains("oauth2_clients"), "{tables}");
    migrations::up(&database.config).await.unwrap();
    migrations::ensure_current(&database.config).await.unwrap();
}

pub async fn create_read_update_delete(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let created = registry
        .create(
            NewClient::new("billing")
                .with_scopes(["read", "write"])
                .with_created_by("test"),
        )
        .await
        .unwrap();
    let client_id = created.client.client_id.clone();
    assert_eq!(created.secret.expose().len(), 43);
    assert_eq!(created.client.scopes, ["read", "write"]);
    assert_eq!(created.client.grant_types, ["client_credentials"]);
    assert!(created.client.is_active);
    assert_eq!(created.client.secret_version, 1);
    // What another program reading the table sees: JSON arrays, a bcrypt hash, never the secret.
    let row = database.sql(&format!(
        "SELECT client_name, scopes, grant_types, client_secret_hash, created_by FROM oauth2_clients WHERE client_id = '{client_id}'"
    ));
    assert!(row.contains("billing"), "{row}");
    assert!(
        row.contains(r#"["read", "write"]"#) || row.contains(r#"["read","write"]"#),
        "{row}"
    );
    assert!(row.contains("$2b$04$"), "{row}");
    assert!(!row.contains(created.secret.expose()), "{row}");

    let fetched = registry.get(&client_id).await.unwrap();
    assert_eq!(fetched, created.client);
    let updated = registry
        .update(
            &client_id,
            ClientChanges {
                client_name: Some("billing v2".into()),
                scopes: Some(vec!["read".into()]),
                redirect_uris: Some(vec!["https://billing.example/callback".into()]),
                ..ClientChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.client_name, "billing v2");
    assert_eq!(updated.scopes, ["read"]);
    assert_eq!(updated.redirect_uris, ["https://billing.example/callback"]);
    assert_eq!(
        updated.grant_types,
        ["client_credentials"],
        "untouched fields stay"
    );
    assert!(updated.updated_at >= created.client.updated_at);
    assert!(
        registry
            .list()
            .await
            .unwrap()
            .iter()
            .any(|client| client.client_id == client_id)
    );
    assert!(matches!(
        registry
            .update(
                &client_id,
                ClientChanges {
                    scopes: Some(vec!["bad scope".into()]),
                    ..Default::default()
                }
            )
            .await,
        Err(RegistryError::Invalid { field: "scopes", .. })
    ));

    assert!(registry.delete(&client_id).await.unwrap());
    assert!(
        !registry.delete(&client_id).await.unwrap(),
        "deleting twice is fine"
    );
    assert!(matches!(
        registry.get(&client_id).await,
        Err(RegistryError::Store(StoreError::NotFound { .. }))
    ));
    assert!(matches!(
        registry.disable(&client_id).await,
        Err(RegistryError::Store(StoreError::NotFound { .. }))
    ));
}

pub async fn duplicate_client_id_is_refused(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    registry
        .create(NewClient::new("a").with_client_id("same-id"))
        .await
        .unwrap();
    let error = registry
        .create(NewClient::new("b").with_client_id("same-id"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Store(StoreError::AlreadyExists { .. })),
        "{error:?}"
    );
}

/// A row as the seeds' Go auth-service writes it (schema 000001 columns only, `$2a$` cost 10), inserted with
/// the engine's own client.
pub async fn go_bcrypt_rows_authenticate_and_are_rehashed(backend: Backend) {
    let database = backend.migrated().await;
    let go_hash = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
    let active = if backend == Backend::Postgres { "TRUE" } else { "1" };
    database.sql(&format!(
        "INSERT INTO oauth2_clients (client_id, client_secret_hash, client_name, grant_types, scopes, redirect_uris, is_active, created_by) \
         VALUES ('go-client', '{go_hash}', 'written by Go', '[\"client_credentials\"]', '[\"read\"]', '[]', {active}, 'auth-service')"
    ));
    let (same_policy, _) = authenticator(database.store().await, HashPolicy::default());
    assert_eq!(authenticates(&same_policy, "go-client", "allmine").await, Ok(()));
    assert_eq!(
        authenticates(&same_policy, "go-client", "allminE").await,
        Err(FailureReason::WrongSecret)
    );
    let stored = database.sql("SELECT client_secret_hash FROM oauth2_clients WHERE client_id = 'go-client'");
    assert_eq!(stored.trim(), go_hash, "the configured cost matches: no re-hash");

    // A policy with another cost re-hashes the row after a successful verification.
    let (new_policy, _) = authenticator(database.store().await, fast_policy());
    assert_eq!(authenticates(&new_policy, "go-client", "allmine").await, Ok(()));
    let mut rehashed = String::new();
    for _ in 0..100 {
        rehashed =
            database.sql("SELECT client_secret_hash FROM oauth2_clients WHERE client_id = 'go-client'");
        if rehashed.starts_with("$2b$04$") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rehashed.starts_with("$2b$04$"), "{rehashed}");
    assert_eq!(authenticates(&new_policy, "go-client", "allmine").await, Ok(()));
    assert_eq!(authenticates(&same_policy, "go-client", "allmine").await, Ok(()));
}

/// A row hashed with PBKDF2-SHA256 keeps verifying under an argon2id policy, which re-hashes it.
pub async fn changed_algorithm_rehashes_on_success(backend: Backend) {
    let database = backend.migrated().await;
    let fast_pbkdf2 = HashPolicy {
        algorithm: clientdb::HashAlgorithm::Pbkdf2Sha256,
        pbkdf2_iterations: 10_000,
        ..HashPolicy::default()
    };
    let registry = ClientRegistry::new(database.store().await, fast_pbkdf2).unwrap();
    let created = registry
        .create(NewClient::new("pbkdf2").with_client_id("migrating"))
        .await
        .unwrap();
    let stored = database.sql("SELECT client_secret_hash FROM oauth2_clients WHERE client_id = 'migrating'");
    assert!(stored.starts_with("$pbkdf2-sha256$i=10000,l=32$"), "{stored}");
    let argon2 = HashPolicy {
        algorithm: clientdb::HashAlgorithm::Argon2id,
        argon2: clientdb::secret::Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..HashPolicy::default()
    };
    let (authenticator, _) = authenticator(database.store().await, argon2);
    assert_eq!(
        authenticates(&authenticator, "migrating", created.secret.expose()).await,
        Ok(())
    );
    let mut rehashed = String::new();
    for _ in 0..100 {
        rehashed =
            database.sql("SELECT client_secret_hash FROM oauth2_clients WHERE client_id = 'migrating'");
        if rehashed.starts_with("$argon2id$") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        rehashed.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{rehashed}"
    );
    assert_eq!(
        authenticates(&authenticator, "migrating", created.secret.expose()).await,
        Ok(())
    );
    assert_eq!(
        authenticates(&authenticator, "migrating", "not-the-secret-at-all").await,
        Err(FailureReason::WrongSecret)
    );
}

pub async fn rotation_keeps_the_old_secret_for_the_grace_period(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let (authenticator, _) = authenticator(database.store().await, fast_policy());
    let created = registry
        .create(NewClient::new("rotating").with_client_id("rotating"))
        .await
        .unwrap();
    let first = created.secret.expose().to_owned();
    assert_eq!(authenticates(&authenticator, "rotating", &first).await, Ok(()));

    let rotated = registry
        .rotate_secret(
            "rotating",
            RotateOptions {
                grace_period: Duration::from_secs(2),
                ..RotateOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rotated.secret_version, 2);
    assert!(rotated.previous_valid_until.is_some());
    let second = rotated.secret.expose().to_owned();
    assert_ne!(first, second);
    assert_eq!(authenticates(&authenticator, "rotating", &second).await, Ok(()));
    assert_eq!(
        authenticates(&authenticator, "rotating", &first).await,
        Ok(()),
        "grace period"
    );
    let retired =
        database.sql("SELECT secret_version FROM oauth2_client_retired_secrets WHERE client_id = 'rotating'");
    assert_eq!(retired.trim(), "1");

    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        authenticates(&authenticator, "rotating", &first).await,
        Err(FailureReason::WrongSecret),
        "grace period over"
    );
    assert_eq!(authenticates(&authenticator, "rotating", &second).await, Ok(()));

    // Without a grace period the previous secret stops at once, and older retired ones are revoked too.
    let third = registry
        .rotate_secret(
            "rotating",
            RotateOptions {
                grace_period: Duration::from_secs(3600),
                ..RotateOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(authenticates(&authenticator, "rotating", &second).await, Ok(()));
    let fourth = registry
        .rotate_secret("rotating", RotateOptions::default())
        .await
        .unwrap();
    assert_eq!(fourth.secret_version, 4);
    assert!(fourth.previous_valid_until.is_none());
    for old in [&second, third.secret.expose()] {
        assert_eq!(
            authenticates(&authenticator, "rotating", old).await,
            Err(FailureReason::WrongSecret)
        );
    }
    assert_eq!(
        authenticates(&authenticator, "rotating", fourth.secret.expose()).await,
        Ok(())
    );
    let retired =
        database.sql("SELECT COUNT(*) FROM oauth2_client_retired_secrets WHERE client_id = 'rotating'");
    assert_eq!(retired.trim(), "0");
    // Deleting the client removes its retired secrets too.
    registry
        .rotate_secret(
            "rotating",
            RotateOptions {
                grace_period: Duration::from_secs(60),
                ..RotateOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(registry.delete("rotating").await.unwrap());
    let retired =
        database.sql("SELECT COUNT(*) FROM oauth2_client_retired_secrets WHERE client_id = 'rotating'");
    assert_eq!(retired.trim(), "0");
}

pub async fn disable_and_enable(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let (authenticator, _) = authenticator(database.store().await, fast_policy());
    let created = registry
        .create(NewClient::new("toggled").with_client_id("toggled"))
        .await
        .unwrap();
    let secret = created.secret.expose();
    assert_eq!(authenticates(&authenticator, "toggled", secret).await, Ok(()));
    let disabled = registry.disable("toggled").await.unwrap();
    assert!(!disabled.is_active);
    assert_eq!(
        authenticates(&authenticator, "toggled", secret).await,
        Err(FailureReason::Disabled)
    );
    let active = database.sql("SELECT is_active FROM oauth2_clients WHERE client_id = 'toggled'");
    assert!(matches!(active.trim(), "0" | "f"), "{active}");
    assert!(registry.enable("toggled").await.unwrap().is_active);
    assert_eq!(authenticates(&authenticator, "toggled", secret).await, Ok(()));
}

/// Two instances share one database: a rotation or a disable made through one is seen by the other on its
/// next request, although that one has the credentials cached.
pub async fn cache_is_invalidated_by_another_replica(backend: Backend) {
    let database = backend.migrated().await;
    let (replica_a, metrics_a) = authenticator(database.store().await, fast_policy());
    let registry_b = ClientRegistry::new(database.store().await, fast_policy()).unwrap();
    let created = registry_b
        .create(NewClient::new("hot").with_client_id("hot"))
        .await
        .unwrap();
    let secret = created.secret.expose().to_owned();
    for _ in 0..3 {
        assert_eq!(authenticates(&replica_a, "hot", &secret).await, Ok(()));
    }
    assert_eq!(
        count(
            &metrics_a,
            "clientdb_credential_cache_lookups_total{result=\"hit\"}"
        ),
        2
    );
    assert_eq!(
        count(&metrics_a, "clientdb_secret_hash_duration_seconds_count"),
        1,
        "one slow hash"
    );

    let rotated = registry_b
        .rotate_secret("hot", RotateOptions::default())
        .await
        .unwrap();
    assert_eq!(
        authenticates(&replica_a, "hot", &secret).await,
        Err(FailureReason::WrongSecret)
    );
    assert_eq!(
        authenticates(&replica_a, "hot", rotated.secret.expose()).await,
        Ok(())
    );
    assert_eq!(
        authenticates(&replica_a, "hot", rotated.secret.expose()).await,
        Ok(())
    );
    registry_b.disable("hot").await.unwrap();
    assert_eq!(
        authenticates(&replica_a, "hot", rotated.secret.expose()).await,
        Err(FailureReason::Disabled)
    );
    assert!(
        count(
            &metrics_a,
            "clientdb_credential_cache_lookups_total{result=\"stale\"}"
        ) >= 1
    );
}

pub async fn expired_secret_is_refused(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let (authenticator, _) = authenticator(database.store().await, fast_policy());
    let mut new = NewClient::new("short-lived").with_client_id("short-lived");
    new.secret_expires_in = Some(Duration::from_millis(1500));
    let created = registry.create(new).await.unwrap();
    assert!(created.client.secret_expires_at.is_some());
    assert_eq!(
        authenticates(&authenticator, "short-lived", created.secret.expose()).await,
        Ok(())
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        authenticates(&authenticator, "short-lived", created.secret.expose()).await,
        Err(FailureReason::SecretExpired)
    );
}

/// An unknown client is checked against a dummy hash of the configured algorithm, so it costs one hash, as
/// a wrong secret does.
pub async fn unknown_client_costs_a_hash(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let (authenticator, metrics) = authenticator(database.store().await, fast_policy());
    registry
        .create(NewClient::new("known").with_client_id("known"))
        .await
        .unwrap();
    assert_eq!(
        authenticates(&authenticator, "nobody", "some-secret-value").await,
        Err(FailureReason::UnknownClient)
    );
    assert_eq!(
        count(
            &metrics,
            "clientdb_secret_hash_duration_seconds_count{algorithm=\"bcrypt\"}"
        ),
        1
    );
    assert_eq!(
        authenticates(&authenticator, "known", "some-secret-value").await,
        Err(FailureReason::WrongSecret)
    );
    assert_eq!(
        count(
            &metrics,
            "clientdb_secret_hash_duration_seconds_count{algorithm=\"bcrypt\"}"
        ),
        2
    );
}

/// MariaDB's utf8mb4_unicode_ci compares case- and trailing-space-insensitively; a client is still only its
/// exact client_id everywhere.
pub async fn only_the_exact_client_id_matches(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let (authenticator, _) = authenticator(database.store().await, fast_policy());
    let secret = Secret::new("exactly-this-secret-123");
    registry
        .create(
            NewClient::new("case")
                .with_client_id("CaseClient")
                .with_secret(secret.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        authenticates(&authenticator, "CaseClient", secret.expose()).await,
        Ok(())
    );
    for variant in ["caseclient", "CASECLIENT", "CaseClient "] {
        assert_eq!(
            authenticates(&authenticator, variant, secret.expose()).await,
            Err(FailureReason::UnknownClient),
            "{variant:?}"
        );
    }
}

/// The library entry point the `OAuth2Client` reconciler uses: a database URL, nothing else.
pub async fn registry_connects_by_url_and_migrates(backend: Backend) {
    let database = backend.database().await;
    let registry = ClientRegistry::connect(&database.url(), fast_policy(), true)
        .await
        .unwrap();
    assert_eq!(
        migrations::version(&database.config).await.unwrap().version,
        Some(migrations::SCHEMA_VERSION)
    );
    let created = registry
        .create(
            NewClient::new("from the operator")
                .with_client_id("reconciled")
                .with_scopes(["read"]),
        )
        .await
        .unwrap();
    let rotated = registry
        .rotate_secret("reconciled", RotateOptions::default())
        .await
        .unwrap();
    assert_ne!(rotated.secret.expose(), created.secret.expose());
    assert!(!registry.disable("reconciled").await.unwrap().is_active);
    let (authenticator, _) = authenticator(database.store().await, fast_policy());
    assert_eq!(
        authenticates(&authenticator, "reconciled", rotated.secret.expose()).await,
        Err(FailureReason::Disabled)
    );
}
