//! Test support: the fake API server, fixture builders, and a harness that runs the operator's reconcile
//! against both (with real database servers behind).

pub mod fake_api;
pub mod fixtures;

use std::sync::Arc;
use std::time::Duration;

use dbprov_operator::context::OperatorContext;
use dbprov_operator::error::Error;
use dbprov_operator::jobs::JobTemplate;
use dbprov_operator::kinds::Managed;
use dbprov_operator::metrics::Metrics;
use dbprov_operator::reconcile::{Reconciled, reconcile_once};
use dbprov_operator::world::Stores;
use http::{Request, Response};
use kube::client::Body;
use kube::runtime::reflector;

use self::fake_api::{FakeApi, Writers};
pub use self::fixtures::*;

/// The image Jobs run in the tests (as `DBPROV_IMAGE` would set it).
pub const JOB_IMAGE: &str = "registry.example/dbprov:test";

/// A reconcile never takes this long; a hang (an unanswered request) fails the test instead of blocking it.
const RECONCILE_TIMEOUT: Duration = Duration::from_secs(120);

/// The operator wired to a fake API server.
pub struct Harness {
    pub api: FakeApi,
    pub ctx: Arc<OperatorContext>,
    pub metrics: Arc<Metrics>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Harness {
    pub fn start() -> Self {
        Self::start_with(JobTemplate::from_pod(None, Some(JOB_IMAGE.to_owned())))
    }

    /// The operator with what its Jobs borrow from its pod (an unknown image: `from_pod(None, None)`).
    pub fn start_with(job_template: JobTemplate) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, NS);
        let mut stores = Stores::default();
        let (instances, instances_writer) = reflector::store();
        let (cluster_instances, cluster_instances_writer) = reflector::store();
        let (databases, databases_writer) = reflector::store();
        let (roles, roles_writer) = reflector::store();
        let (users, users_writer) = reflector::store();
        let (grants, grants_writer) = reflector::store();
        let (migrations, migrations_writer) = reflector::store();
        let (backups, backups_writer) = reflector::store();
        let (restores, restores_writer) = reflector::store();
        let (schedules, schedules_writer) = reflector::store();
        let (oauth2_clients, oauth2_clients_writer) = reflector::store();
        stores.instances.add(None, instances);
        stores.cluster_instances.add(None, cluster_instances);
        stores.databases.add(None, databases);
        stores.roles.add(None, roles);
        stores.users.add(None, users);
        stores.grants.add(None, grants);
        stores.migrations.add(None, migrations);
        stores.backups.add(None, backups);
        stores.restores.add(None, restores);
        stores.schedules.add(None, schedules);
        stores.oauth2_clients.add(None, oauth2_clients);
        let api = FakeApi::new(Writers {
            instances: instances_writer,
            cluster_instances: cluster_instances_writer,
            databases: databases_writer,
            roles: roles_writer,
            users: users_writer,
            grants: grants_writer,
            migrations: migrations_writer,
            backups: backups_writer,
            restores: restores_writer,
            schedules: schedules_writer,
            oauth2_clients: oauth2_clients_writer,
        });
        let server = tokio::spawn(api.clone().serve(handle));
        let metrics = Arc::new(Metrics::new());
        let ctx = Arc::new(
            OperatorContext::new(client, stores, OPERATOR_NS, metrics.clone())
                .with_job_template(job_template),
        );
        Self {
            api,
            ctx,
            metrics,
            server,
        }
    }

    /// Reconciles the object as it is now (in namespace [`NS`], or cluster-scoped).
    pub async fn try_reconcile<K: Managed>(&self, name: &str) -> Result<Reconciled, Error> {
        let namespace = match K::KIND.scope() {
            dbprov_api::Scope::Namespaced => Some(NS),
            dbprov_api::Scope::Cluster => None,
        };
        let object: K = self.api.object(K::KIND.as_str(), namespace, name);
        tokio::time::timeout(RECONCILE_TIMEOUT, reconcile_once(Arc::new(object), &self.ctx))
            .await
            .unwrap_or_else(|_| panic!("reconciling {} {name} timed out", K::KIND))
    }

    pub async fn reconcile<K: Managed>(&self, name: &str) -> Reconciled {
        self.try_reconcile::<K>(name)
            .await
            .unwrap_or_else(|error| panic!("reconcile of {name} failed: {error:?}"))
    }

    /// The status of an object as stored.
    pub fn status(&self, kind: &str, name: &str) -> serde_json::Value {
        let namespace = (kind != "ClusterDatabaseInstance").then_some(NS);
        self.api.get(kind, namespace, name).expect("object exists")["status"].clone()
    }

    /// A condition of an object: (status, reason, message).
    pub fn condition(&self, kind: &str, name: &str, condition: &str) -> (String, String, String) {
        let status = self.status(kind, name);
        let found = status["conditions"]
            .as_array()
            .and_then(|conditions| conditions.iter().find(|c| c["type"] == condition))
            .unwrap_or_else(|| panic!("{kind} {name} has a {condition} condition: {status:#}"))
            .clone();
        let text = |field: &str| found[field].as_str().unwrap_or_default().to_owned();
        (text("status"), text("reason"), text("message"))
    }
}

/// Asserts the recorded calls, with the full list in the failure message.
#[track_caller]
pub fn assert_calls(actual: &[String], expected: &[&str]) {
    let matches = actual.len() == expected.len()
        && actual.iter().zip(expected).all(|(call, pattern)| {
            call == pattern || pattern.ends_with('*') && call.starts_with(pattern.trim_end_matches('*'))
        });
    assert!(
        matches,
        "calls differ\nexpected: {expected:#?}\nactual:   {actual:#?}"
    );
}

/// A Ready PostgreSQL instance `pg` (admin Secret `pg-admin`) and a `Database` `name` for the server
/// database `database`, created by the operator.
pub async fn postgres_database(harness: &Harness, name: &str, database: &str) {
    use dbprov_api::v1alpha1::{Database, DatabaseInstance};
    let server = dbprov_testkit::postgres();
    if harness.api.get("DatabaseInstance", Some(NS), "pg").is_none() {
        harness.api.create(admin_secret("pg-admin", server));
        harness.api.create(instance("pg", "postgres", "pg-admin", server));
        let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
        assert_eq!(
            reconciled.failure,
            None,
            "{:#}",
            harness.status("DatabaseInstance", "pg")
        );
    }
    harness.api.create(fixtures::database(
        name,
        "pg",
        database,
        serde_json::json!({"deletionPolicy": "Delete"}),
    ));
    let reconciled = harness.reconcile::<Database>(name).await;
    assert_eq!(reconciled.failure, None, "{:#}", harness.status("Database", name));
    assert!(pg_database_exists(server, database));
    harness.api.take_calls();
}

/// A ConfigMap in [`NS`] with `data`.
pub fn config_map(name: &str, data: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": data
    })
}
