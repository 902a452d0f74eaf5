//! The `OAuth2Client` kind on the embedded default: registration in clientdb's schema, the Secret written
//! before the registration, updates, rotation on request, disabling and deletion — checked through
//! clientdb's own authenticator.

mod common;

use std::path::Path;
use std::sync::Arc;

use clientdb::auth::{AuthSettings, Authenticator};
use clientdb::config::{DatabaseConfig, RetryPolicy};
use common::Workspace;

fn quickstart() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/quickstart")
        .display()
        .to_string()
}

fn manifest(scopes: &str, extra: &str) -> String {
    format!(
        "apiVersion: dbops.dbprovision.io/v1alpha1
kind: OAuth2Client
metadata:
  name: billing
spec:
  databaseRef:
    name: client-db
  clientName: Billing service
  scopes: [{scopes}]
  tokenUrl: http://127.0.0.1:8080/oauth2/token
  deletionPolicy: Delete
{extra}"
    )
}

async fn authenticate(workspace: &Workspace, secret: &str) -> Result<clientdb::ClientRecord, String> {
    let mut config = DatabaseConfig::sqlite(workspace.path().join("data/client_db.sqlite3"));
    config.retry = RetryPolicy::once();
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
        .map_err(|error| error.to_string())
}

#[tokio::test]
async fn oauth2_client_lifecycle() {
    let workspace = Workspace::new();
    let quickstart = quickstart();
    workspace.write("m/client.yaml", &manifest("read, write", ""));

    let plan = workspace
        .dbprov(&["plan", "-f", &quickstart, "-f", "m", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout.contains("register OAuth2 client billing"),
        "{}",
        plan.stdout
    );
    let apply = workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert!(
        apply.stdout.contains("oauth2client/billing created"),
        "{}",
        apply.stdout
    );
    assert_eq!(
        workspace.secret_value("default", "billing-oauth2-client", "client_id"),
        "billing"
    );
    assert_eq!(
        workspace.secret_value("default", "billing-oauth2-client", "token_url"),
        "http://127.0.0.1:8080/oauth2/token"
    );
    let first = workspace.secret_value("default", "billing-oauth2-client", "client_secret");
    assert!(first.len() >= 43, "at least 256 bits");
    let record = authenticate(&workspace, &first)
        .await
        .expect("the written secret authenticates");
    assert_eq!(record.scopes, vec!["read", "write"]);
    assert_eq!(record.client_name, "Billing service");

    let again = workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert!(
        again.stdout.contains("oauth2client/billing unchanged"),
        "{}",
        again.stdout
    );
    workspace
        .dbprov(&["plan", "-f", &quickstart, "-f", "m", "--detailed-exitcode"])
        .expect(0);

    // An edited declaration updates the registration, not the secret.
    workspace.write("m/client.yaml", &manifest("read", ""));
    workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert_eq!(
        authenticate(&workspace, &first).await.unwrap().scopes,
        vec!["read"]
    );

    // A rotation request issues a new secret (the Secret first), and the old one stops working.
    workspace.write(
        "m/client.yaml",
        &manifest("read", "  rotation:\n    requestedAt: \"2026-11-24T00:00:00Z\"\n"),
    );
    let rotated = workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert!(
        rotated.stdout.contains("oauth2client/billing"),
        "{}",
        rotated.stdout
    );
    let second = workspace.secret_value("default", "billing-oauth2-client", "client_secret");
    assert_ne!(first, second);
    assert!(authenticate(&workspace, &second).await.is_ok());
    assert!(
        authenticate(&workspace, &first).await.is_err(),
        "no grace period: the old secret is revoked"
    );
    let object = workspace
        .dbprov(&["-o", "json", "get", "oac", "billing"])
        .expect(0);
    let object: serde_json::Value = serde_json::from_str(&object.stdout).unwrap();
    assert_eq!(object["status"]["secretVersion"], 2);
    assert_eq!(object["status"]["rotationHandled"], "2026-11-24T00:00:00Z");
    workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert_eq!(
        workspace.secret_value("default", "billing-oauth2-client", "client_secret"),
        second,
        "a handled request does not rotate again"
    );

    // Disabled clients cannot authenticate.
    workspace.write(
        "m/client.yaml",
        &manifest(
            "read",
            "  disabled: true\n  rotation:\n    requestedAt: \"2026-11-24T00:00:00Z\"\n",
        ),
    );
    workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert!(authenticate(&workspace, &second).await.is_err());

    // Deleting with deletionPolicy Delete removes the registration and the Secret.
    let deleted = workspace.dbprov(&["delete", "-f", "m"]).expect(0);
    assert!(
        deleted.stdout.contains("oauth2client/billing deleted"),
        "{}",
        deleted.stdout
    );
    assert!(
        !workspace
            .path()
            .join(".dbprov/secrets/default.billing-oauth2-client.yaml")
            .exists()
    );
    let error = authenticate(&workspace, &second).await.unwrap_err();
    assert!(!error.is_empty());
}

/// Without `migrate`, a database without clientdb's schema is a clear error, not a half-done registration;
/// and a client whose Secret is lost gets a new secret (the old one cannot be recovered from its hash).
#[tokio::test]
async fn oauth2_client_needs_the_schema_and_reissues_a_lost_secret() {
    let workspace = Workspace::new();
    let quickstart = quickstart();
    workspace.write("m/client.yaml", &manifest("read", "  migrate: false\n"));
    let refused = workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(1);
    let output = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        output.contains("older than the 3 clientdb needs; set spec.migrate: true"),
        "{output}"
    );
    assert!(
        !workspace
            .path()
            .join(".dbprov/secrets/default.billing-oauth2-client.yaml")
            .exists(),
        "no Secret for a client that could not be registered"
    );

    workspace.write("m/client.yaml", &manifest("read", ""));
    workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    let first = workspace.secret_value("default", "billing-oauth2-client", "client_secret");
    std::fs::remove_file(
        workspace
            .path()
            .join(".dbprov/secrets/default.billing-oauth2-client.yaml"),
    )
    .unwrap();
    let plan = workspace
        .dbprov(&["plan", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert!(plan.stdout.contains("its Secret is gone"), "{}", plan.stdout);
    workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    let second = workspace.secret_value("default", "billing-oauth2-client", "client_secret");
    assert_ne!(first, second);
    assert!(authenticate(&workspace, &second).await.is_ok());
    assert!(authenticate(&workspace, &first).await.is_err());
}
