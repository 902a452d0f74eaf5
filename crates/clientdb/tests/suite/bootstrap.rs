//! Start-up clients: idempotent, never overwriting a rotated secret, never reviving a disabled client.

use std::sync::Arc;

use clientdb::auth::{AuthSettings, Authenticator};
use clientdb::bootstrap::{BootstrapOutcome, BootstrapSettings, DEV_CLIENT_ID, DEV_CLIENT_SECRET, bootstrap};
use clientdb::metrics::Metrics;
use clientdb::registry::RotateOptions;
use dbprov_core::Secret;

use crate::common::{Backend, fast_policy};

async fn works(database: &crate::common::TestDatabase, client_id: &str, secret: &str) -> bool {
    let authenticator = Authenticator::new(
        database.store().await,
        AuthSettings {
            policy: fast_policy(),
            ..AuthSettings::default()
        },
        Arc::new(Metrics::new()),
    )
    .unwrap();
    authenticator.authenticate(client_id, secret, None).await.is_ok()
}

pub async fn bootstrap_twice_and_after_rotation(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let settings = BootstrapSettings {
        client_id: Some("admin-client".into()),
        secret: Some(Secret::new("bootstrap-secret-from-k8s")),
        ..BootstrapSettings::default()
    };
    let created = BootstrapOutcome::Created {
        client_id: "admin-client".into(),
    };
    let exists = |active| BootstrapOutcome::Exists {
        client_id: "admin-client".into(),
        active,
    };
    assert_eq!(bootstrap(&registry, &settings).await.unwrap(), [created]);
    assert!(works(&database, "admin-client", "bootstrap-secret-from-k8s").await);
    let client = registry.get("admin-client").await.unwrap();
    assert_eq!(client.scopes, ["admin"]);
    assert_eq!(client.created_by.as_deref(), Some("bootstrap"));

    assert_eq!(bootstrap(&registry, &settings).await.unwrap(), [exists(true)]);
    assert_eq!(
        registry.get("admin-client").await.unwrap(),
        client,
        "the second run changes nothing"
    );

    let rotated = registry
        .rotate_secret("admin-client", RotateOptions::default())
        .await
        .unwrap();
    assert_eq!(bootstrap(&registry, &settings).await.unwrap(), [exists(true)]);
    assert!(
        !works(&database, "admin-client", "bootstrap-secret-from-k8s").await,
        "rotation is kept"
    );
    assert!(works(&database, "admin-client", rotated.secret.expose()).await);

    registry.disable("admin-client").await.unwrap();
    assert_eq!(bootstrap(&registry, &settings).await.unwrap(), [exists(false)]);
    assert!(
        !registry.get("admin-client").await.unwrap().is_active,
        "never revived"
    );
}

pub async fn generated_bootstrap_secret_is_kept_in_a_private_file(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let directory = tempfile::tempdir().unwrap();
    let settings = BootstrapSettings {
        client_id: Some("generated-admin".into()),
        secret: None,
        secret_file: directory.path().join("bootstrap-secret"),
        ..BootstrapSettings::default()
    };
    bootstrap(&registry, &settings).await.unwrap();
    let secret = std::fs::read_to_string(&settings.secret_file).unwrap();
    let secret = secret.trim_end();
    assert_eq!(secret.len(), 43);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&settings.secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(works(&database, "generated-admin", secret).await);
    bootstrap(&registry, &settings).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&settings.secret_file).unwrap().trim_end(),
        secret
    );
    assert!(works(&database, "generated-admin", secret).await);
}

pub async fn dev_client_uses_the_seeds_secret(backend: Backend) {
    let database = backend.migrated().await;
    let registry = database.registry().await;
    let settings = BootstrapSettings {
        dev: true,
        ..BootstrapSettings::default()
    };
    assert_eq!(
        bootstrap(&registry, &settings).await.unwrap(),
        [BootstrapOutcome::Created {
            client_id: DEV_CLIENT_ID.into()
        }]
    );
    assert!(works(&database, DEV_CLIENT_ID, DEV_CLIENT_SECRET).await);
    assert!(matches!(
        bootstrap(&registry, &settings).await.unwrap()[0],
        BootstrapOutcome::Exists { .. }
    ));
}
