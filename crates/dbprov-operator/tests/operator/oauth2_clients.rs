//! `OAuth2Client` on a real PostgreSQL client database: clientdb's schema is migrated, the Secret is written
//! and the client registered (checked through clientdb's own authenticator and with psql); deleting with
//! `deletionPolicy: Delete` removes the registration and the Secret before the finalizer goes.

use std::sync::Arc;

use clientdb::auth::{AuthSettings, Authenticator};
use clientdb::config::{DatabaseTarget, PoolSettings, RetryPolicy};
use clientdb::{DatabaseConfig, Driver};
use dbprov_api::v1alpha1::OAuth2Client;
use dbprov_testkit::{postgres, psql, unique_name};
use serde_json::json;

use crate::support::*;

const SECRET: &str = "billing-oauth2-client";

async fn authenticate(database: &str, secret: &str) -> Result<Vec<String>, String> {
    let config = DatabaseConfig {
        target: DatabaseTarget::Connection {
            driver: Driver::Postgres,
            spec: postgres().admin_connection(),
            database: database.to_owned(),
        },
        pool: PoolSettings::default(),
        retry: RetryPolicy::once(),
    };
    let store = clientdb::Store::connect(&config)
        .await
        .map_err(|error| error.to_string())?;
    let authenticator = Authenticator::new(
        store,
        AuthSettings::default(),
        Arc::new(clientdb::metrics::Metrics::new()),
    )
    .map_err(|error| error.to_string())?;
    authenticator
        .authenticate("billing", secret, None)
        .await
        .map(|record| record.scopes)
        .map_err(|error| error.to_string())
}

fn client_rows(database: &str) -> String {
    psql(
        postgres(),
        database,
        "SELECT client_id || ':' || client_name || ':' || scopes::text FROM oauth2_clients ORDER BY client_id",
    )
    .trim()
    .to_owned()
}

#[tokio::test]
async fn a_client_is_registered_with_its_secret_and_deleted_with_policy_delete() {
    let harness = Harness::start();
    let database = unique_name("oauth");
    postgres_database(&harness, "client-db", &database).await;
    harness.api.create(custom(
        "OAuth2Client",
        "billing",
        json!({
            "databaseRef": {"name": "client-db"},
            "clientName": "Billing service",
            "scopes": ["read", "write"],
            "tokenUrl": "http://auth.example/oauth2/token",
            "deletionPolicy": "Delete"
        }),
    ));

    let reconciled = harness.reconcile::<OAuth2Client>("billing").await;
    let status = harness.status("OAuth2Client", "billing");
    assert_eq!(reconciled.failure, None, "{status:#}");
    let calls = harness.api.take_calls();
    assert_eq!(
        calls[0],
        "PATCH oauth2clients team/billing finalizers=[dbops.dbprovision.io/oauth2-client]"
    );
    assert!(
        calls.contains(&format!("APPLY secret {NS}/{SECRET}")),
        "{calls:#?}"
    );
    assert!(
        calls.contains(&"APPLY oauth2clients/status team/billing phase=Ready".to_owned()),
        "{calls:#?}"
    );
    assert_eq!(harness.condition("OAuth2Client", "billing", "Ready").0, "True");
    assert_eq!(status["clientId"], "billing");
    assert_eq!(status["secretVersion"], 1);
    assert_eq!(
        harness.api.secret_value(NS, SECRET, "client_id").as_deref(),
        Some("billing")
    );
    assert_eq!(
        harness.api.secret_value(NS, SECRET, "token_url").as_deref(),
        Some("http://auth.example/oauth2/token")
    );
    let secret = harness
        .api
        .secret_value(NS, SECRET, "client_secret")
        .expect("a client secret");
    let owner =
        &harness.api.get("Secret", Some(NS), SECRET).expect("Secret")["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "OAuth2Client");
    assert_eq!(
        client_rows(&database),
        r#"billing:Billing service:["read", "write"]"#
    );
    assert_eq!(
        authenticate(&database, &secret).await,
        Ok(vec!["read".to_owned(), "write".to_owned()]),
        "the Secret's secret authenticates"
    );

    // Nothing changed: the secret is not reissued.
    harness.reconcile::<OAuth2Client>("billing").await;
    assert_eq!(
        harness.api.secret_value(NS, SECRET, "client_secret"),
        Some(secret.clone())
    );
    assert_eq!(harness.status("OAuth2Client", "billing")["secretVersion"], 1);

    // Deleting: the registration and the Secret go, then the finalizer.
    harness.api.delete("OAuth2Client", Some(NS), "billing");
    let reconciled = harness.reconcile::<OAuth2Client>("billing").await;
    assert_eq!(reconciled.failure, None);
    assert_eq!(client_rows(&database), "", "the client row is deleted");
    assert!(harness.api.get("Secret", Some(NS), SECRET).is_none());
    assert!(harness.api.get("OAuth2Client", Some(NS), "billing").is_none());
    assert!(authenticate(&database, &secret).await.is_err());
}
