//! End to end against a real cluster: installs the CRDs, runs the operator in this process (so it reaches
//! the throwaway PostgreSQL server on 127.0.0.1) and checks what lands in the cluster and on the server.
//! Runs only with `KUBECONFIG` set and `DBPROV_E2E=1`; otherwise it says so and passes.

use std::time::{Duration, Instant};

use dbprov_api::v1alpha1::{Database, DatabaseInstance, DatabaseUser};
use dbprov_operator::OperatorArgs;
use dbprov_testkit::{postgres, unique_name};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::support::{database, instance, pg_database_exists, pg_login, user};

fn enabled() -> bool {
    let on = std::env::var_os("KUBECONFIG").is_some() && std::env::var("DBPROV_E2E").as_deref() == Ok("1");
    if !on {
        println!(
            "skipping the end-to-end suite: set KUBECONFIG and DBPROV_E2E=1 to run it against a real cluster"
        );
    }
    on
}

async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn ready(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn in_namespace(mut value: serde_json::Value, namespace: &str) -> serde_json::Value {
    value["metadata"]["namespace"] = serde_json::Value::from(namespace);
    value
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_reconciles_and_deletes_in_a_real_cluster() {
    if !enabled() {
        return;
    }
    let client = Client::try_default().await.expect("a client from KUBECONFIG");
    let apply = PatchParams::apply("dbprov-e2e").force();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dbprov_api::crds() {
        let name = crd.metadata.name.clone().expect("CRD name");
        crds.patch(&name, &apply, &Patch::Apply(&crd))
            .await
            .expect("install the CRD");
    }
    for crd in dbprov_api::crds() {
        let name = crd.metadata.name.clone().expect("CRD name");
        wait_for("the CRDs to be established", async || {
            let crd = crds.get(&name).await.ok()?;
            crd.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await;
    }
    let namespace = unique_name("e2e").replace('_', "-");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("namespace"),
        )
        .await
        .expect("create the test namespace");

    let args = OperatorArgs {
        namespaces: vec![namespace.clone()],
        metrics_address: "127.0.0.1:0".parse().expect("address"),
        leader_election: true,
        lease_namespace: namespace.clone(),
        lease_name: "dbprov-operator".into(),
        operator_namespace: namespace.clone(),
    };
    let operator = tokio::spawn(dbprov_operator::run(args));

    let server = postgres();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let admin = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "pg-admin", "namespace": namespace},
        "stringData": {"username": server.admin_user, "password": server.admin_password}
    });
    secrets
        .patch("pg-admin", &apply, &Patch::Apply(&admin))
        .await
        .expect("admin secret");
    let instances: Api<DatabaseInstance> = Api::namespaced(client.clone(), &namespace);
    let databases: Api<Database> = Api::namespaced(client.clone(), &namespace);
    let users: Api<DatabaseUser> = Api::namespaced(client.clone(), &namespace);
    let database_name = unique_name("e2edb");
    let username = unique_name("e2euser");
    instances
        .patch(
            "pg",
            &apply,
            &Patch::Apply(&in_namespace(
                instance("pg", "postgres", "pg-admin", server),
                &namespace,
            )),
        )
        .await
        .expect("instance");
    databases
        .patch(
            "app",
            &apply,
            &Patch::Apply(&in_namespace(
                database(
                    "app",
                    "pg",
                    &database_name,
                    json!({"deletionPolicy": "Delete", "deletionProtection": false}),
                ),
                &namespace,
            )),
        )
        .await
        .expect("database");
    users
        .patch(
            "app",
            &apply,
            &Patch::Apply(&in_namespace(
                user(
                    "app",
                    "pg",
                    &username,
                    json!({"passwordSecret": {"secretName": "app-credentials"}, "deletionPolicy": "Delete"}),
                ),
                &namespace,
            )),
        )
        .await
        .expect("user");

    wait_for("the database to be Ready", async || {
        let object = databases.get("app").await.ok()?;
        ready(&object.status?.conditions).then_some(())
    })
    .await;
    wait_for("the user to be Ready", async || {
        let object = users.get("app").await.ok()?;
        ready(&object.status?.conditions).then_some(())
    })
    .await;
    assert!(pg_database_exists(server, &database_name));
    let secret = secrets.get("app-credentials").await.expect("credentials Secret");
    assert_eq!(
        secret.metadata.owner_references.as_ref().expect("owner")[0].kind,
        "DatabaseUser"
    );
    let password = secret.data.as_ref().expect("data")["password"].0.clone();
    let password = String::from_utf8(password).expect("UTF-8");
    assert!(pg_login(server, &username, &password));

    databases
        .delete("app", &DeleteParams::default())
        .await
        .expect("delete the database");
    users
        .delete("app", &DeleteParams::default())
        .await
        .expect("delete the user");
    wait_for("the database object to go", async || {
        databases.get_opt("app").await.ok()?.is_none().then_some(())
    })
    .await;
    wait_for("the user object to go", async || {
        users.get_opt("app").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        !pg_database_exists(server, &database_name),
        "deletionPolicy Delete dropped it"
    );
    instances
        .delete("pg", &DeleteParams::default())
        .await
        .expect("delete the instance");
    wait_for("the instance object to go", async || {
        instances.get_opt("pg").await.ok()?.is_none().then_some(())
    })
    .await;

    operator.abort();
    namespaces
        .delete(&namespace, &DeleteParams::default())
        .await
        .expect("delete the test namespace");
}
