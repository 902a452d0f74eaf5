//! The controllers: one per kind (and watched namespace), sharing one context. Each watches its kind into a
//! cache the shared reconcilers read; reconciles are triggered by changes to the declaration, annotations or
//! finalizers (not by the operator's own status writes), by the periodic requeue, and for users by their
//! grants and the credentials Secrets they own. Migrations are also triggered by their source ConfigMaps,
//! backups and restores by their Jobs, schedules by their backups' phases, OAuth2 clients by their Secrets.

use std::sync::Arc;

use std::hash::{DefaultHasher, Hash, Hasher};

use dbprov_api::v1alpha1::{
    ClusterDatabaseInstance, Database, DatabaseBackup, DatabaseBackupSchedule, DatabaseGrant,
    DatabaseInstance, DatabaseMigration, DatabaseRestore, DatabaseRole, DatabaseUser, OAuth2Client,
};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Predicate, WatchStreamExt, predicates, watcher};
use kube::{Api, Client};
use tokio_util::sync::CancellationToken;

use crate::annotations::LABEL_USER;
use crate::context::OperatorContext;
use crate::http::Readiness;
use crate::jobs::{JobAction, JobTemplate, LABEL_JOB_ACTION};
use crate::kinds::Managed;
use crate::metrics::Metrics;
use crate::reconcile::{error_policy, reconcile};
use crate::world::Stores;

/// The label on an OAuth2 client's Secret (naming the client), set by the shared reconciler.
const LABEL_OAUTH2_CLIENT: &str = "dbops.dbprovision.io/oauth2-client";

/// Reconciles of one kind running at once (per watched namespace). Reconciles of one object never overlap.
const CONCURRENCY: u16 = 4;

type Trigger<K> = std::pin::Pin<Box<dyn Stream<Item = Result<K, watcher::Error>> + Send>>;

/// A kind's cache and the stream of its objects that need a reconcile.
fn watch<K: Managed>(client: &Client, scope: Option<&str>) -> (Store<K>, Trigger<K>) {
    let (reader, writer) = reflector::store();
    let trigger = watcher(K::api(client.clone(), scope), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        // Status writes change neither: the operator does not reconcile its own writes. Deletion bumps the
        // generation of custom resources, so it gets through.
        .predicate_filter(
            predicates::generation
                .combine(predicates::annotations)
                .combine(predicates::finalizers),
            Default::default(),
        )
        .boxed();
    (reader, trigger)
}

/// Watched namespaces as scopes: `None` is every namespace.
fn scopes(namespaces: &[String]) -> Vec<Option<String>> {
    if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    }
}

fn log_results<K: Managed>(
    results: impl Stream<
        Item = Result<
            (reflector::ObjectRef<K>, controller::Action),
            controller::Error<crate::error::Error, watcher::Error>,
        >,
    > + Send
    + 'static,
) -> BoxFuture<'static, ()> {
    results
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                // The object was deleted between the trigger and the reconcile: nothing to do.
                Err(controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(object = %object, "object is gone")
                }
                Err(error) => tracing::warn!(
                    kind = K::KIND.as_str(),
                    error = %dbprov_core::error::error_chain(&error),
                    "reconcile failed"
                ),
            }
        })
        .boxed()
}

fn run_controller<K: Managed>(
    controller: Controller<K>,
    ctx: Arc<OperatorContext>,
    stop: &CancellationToken,
) -> BoxFuture<'static, ()> {
    log_results::<K>(
        controller
            .with_config(controller::Config::default().concurrency(CONCURRENCY))
            .graceful_shutdown_on(stop.clone().cancelled_owned())
            .run(reconcile::<K>, error_policy::<K>, ctx),
    )
}

/// Grants trigger their user: memberships come from grants.
fn user_of_grant(grant: DatabaseGrant) -> Option<reflector::ObjectRef<DatabaseUser>> {
    let namespace = grant
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let user = grant.spec.user_ref?;
    Some(reflector::ObjectRef::new(&user.name).within(user.namespace.as_deref().unwrap_or(&namespace)))
}

/// Whether `migration` takes its files from ConfigMap `namespace`/`name`.
fn reads_config_map(migration: &DatabaseMigration, namespace: &str, name: &str) -> bool {
    let own_namespace = migration.metadata.namespace.as_deref().unwrap_or("default");
    migration
        .spec
        .source
        .config_map_ref
        .as_ref()
        .is_some_and(|reference| {
            reference.name == name && reference.namespace.as_deref().unwrap_or(own_namespace) == namespace
        })
}

/// A changed ConfigMap triggers the migrations that read it (`Applying a newer source migrates up`).
fn migrations_of_config_map(
    migrations: &Store<DatabaseMigration>,
    config_map: &PartialObjectMeta<ConfigMap>,
) -> Vec<reflector::ObjectRef<DatabaseMigration>> {
    let namespace = config_map.namespace().unwrap_or_else(|| "default".to_owned());
    let name = config_map.name_any();
    migrations
        .state()
        .iter()
        .filter(|migration| reads_config_map(migration, &namespace, &name))
        .map(|migration| reflector::ObjectRef::from_obj(migration.as_ref()))
        .collect()
}

/// A schedule cares about its backups' phases (a finished run lets a skipped one start, and feeds the
/// status and retention), not about their progress writes.
fn backup_phase(backup: &DatabaseBackup) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    (
        backup.metadata.generation,
        backup.status.as_ref().and_then(|status| status.phase),
        backup.metadata.deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// The Jobs of one action in a scope, by metadata (their controller reads the Job it needs).
fn jobs(
    client: &Client,
    scope: Option<&str>,
    action: JobAction,
) -> impl Stream<Item = Result<PartialObjectMeta<Job>, watcher::Error>> + Send + 'static {
    let api: Api<PartialObjectMeta<Job>> = match scope {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let selector = format!("{LABEL_JOB_ACTION}={}", action.as_str());
    watcher(api, watcher::Config::default().labels(&selector))
        .default_backoff()
        .touched_objects()
}

/// Runs every controller until `stop` is cancelled.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: Client,
    namespaces: &[String],
    operator_namespace: &str,
    job_template: JobTemplate,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut stores = Stores::default();
    let mut instance_triggers = Vec::new();
    let mut database_triggers = Vec::new();
    let mut role_triggers = Vec::new();
    let mut user_triggers = Vec::new();
    let mut grant_triggers = Vec::new();
    let mut migration_triggers = Vec::new();
    let mut backup_triggers = Vec::new();
    let mut restore_triggers = Vec::new();
    let mut schedule_triggers = Vec::new();
    let mut oauth2_client_triggers = Vec::new();
    for scope in scopes(namespaces) {
        let namespace = scope.as_deref();
        let (reader, trigger) = watch::<DatabaseInstance>(&client, namespace);
        stores.instances.add(scope.clone(), reader.clone());
        instance_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<Database>(&client, namespace);
        stores.databases.add(scope.clone(), reader.clone());
        database_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseRole>(&client, namespace);
        stores.roles.add(scope.clone(), reader.clone());
        role_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseUser>(&client, namespace);
        stores.users.add(scope.clone(), reader.clone());
        user_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseGrant>(&client, namespace);
        stores.grants.add(scope.clone(), reader.clone());
        grant_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseMigration>(&client, namespace);
        stores.migrations.add(scope.clone(), reader.clone());
        migration_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseBackup>(&client, namespace);
        stores.backups.add(scope.clone(), reader.clone());
        backup_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseRestore>(&client, namespace);
        stores.restores.add(scope.clone(), reader.clone());
        restore_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<DatabaseBackupSchedule>(&client, namespace);
        stores.schedules.add(scope.clone(), reader.clone());
        schedule_triggers.push((scope.clone(), reader, trigger));
        let (reader, trigger) = watch::<OAuth2Client>(&client, namespace);
        stores.oauth2_clients.add(scope.clone(), reader.clone());
        oauth2_client_triggers.push((scope.clone(), reader, trigger));
    }
    let (cluster_reader, cluster_trigger) = watch::<ClusterDatabaseInstance>(&client, None);
    stores.cluster_instances.add(None, cluster_reader.clone());

    let ctx = Arc::new(
        OperatorContext::new(client.clone(), stores, operator_namespace, metrics)
            .with_job_template(job_template),
    );
    let mut controllers: Vec<BoxFuture<'static, ()>> = Vec::new();
    controllers.push(run_controller(
        Controller::for_stream(cluster_trigger, cluster_reader),
        ctx.clone(),
        &stop,
    ));
    for (_, reader, trigger) in instance_triggers {
        controllers.push(run_controller(
            Controller::for_stream(trigger, reader),
            ctx.clone(),
            &stop,
        ));
    }
    for (_, reader, trigger) in database_triggers {
        controllers.push(run_controller(
            Controller::for_stream(trigger, reader),
            ctx.clone(),
            &stop,
        ));
    }
    for (_, reader, trigger) in role_triggers {
        controllers.push(run_controller(
            Controller::for_stream(trigger, reader),
            ctx.clone(),
            &stop,
        ));
    }
    for (_, reader, trigger) in grant_triggers {
        controllers.push(run_controller(
            Controller::for_stream(trigger, reader),
            ctx.clone(),
            &stop,
        ));
    }
    for (scope, reader, trigger) in user_triggers {
        let grants = watcher(
            DatabaseGrant::api(client.clone(), scope.as_deref()),
            watcher::Config::default(),
        )
        .default_backoff()
        .touched_objects();
        let secrets_api: Api<PartialObjectMeta<Secret>> = match scope.as_deref() {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        // Metadata only: the controller needs to know a Secret changed or went, not its contents.
        let secrets = watcher(secrets_api, watcher::Config::default().labels(LABEL_USER))
            .default_backoff()
            .touched_objects();
        let controller = Controller::for_stream(trigger, reader)
            .watches_stream(grants, user_of_grant)
            .owns_stream(secrets);
        controllers.push(run_controller(controller, ctx.clone(), &stop));
    }

    for (scope, reader, trigger) in migration_triggers {
        let config_maps_api: Api<PartialObjectMeta<ConfigMap>> = match scope.as_deref() {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        // Metadata only: a changed ConfigMap is a trigger; the migration reads its files when it runs.
        let config_maps = watcher(config_maps_api, watcher::Config::default())
            .default_backoff()
            .touched_objects();
        let migrations = reader.clone();
        let controller = Controller::for_stream(trigger, reader)
            .watches_stream(config_maps, move |config_map| {
                migrations_of_config_map(&migrations, &config_map)
            });
        controllers.push(run_controller(controller, ctx.clone(), &stop));
    }
    for (scope, reader, trigger) in backup_triggers {
        let controller = Controller::for_stream(trigger, reader).owns_stream(jobs(
            &client,
            scope.as_deref(),
            JobAction::Backup,
        ));
        controllers.push(run_controller(controller, ctx.clone(), &stop));
    }
    for (scope, reader, trigger) in restore_triggers {
        let controller = Controller::for_stream(trigger, reader).owns_stream(jobs(
            &client,
            scope.as_deref(),
            JobAction::Restore,
        ));
        controllers.push(run_controller(controller, ctx.clone(), &stop));
    }
    for (scope, reader, trigger) in schedule_triggers {
        let backups = watcher(
            DatabaseBackup::api(client.clone(), scope.as_deref()),
            watcher::Config::default(),
        )
        .default_backoff()
        .touched_objects()
        .predicate_filter(backup_phase, Default::default());
        let controller = Controller::for_stream(trigger, reader).owns_stream(backups);
        controllers.push(run_controller(controller, ctx.clone(), &stop));
    }
    for (scope, reader, trigger) in oauth2_client_triggers {
        let secrets_api: Api<PartialObjectMeta<Secret>> = match scope.as_deref() {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        // Metadata only: a client's Secret that is edited or deleted is reissued by the next reconcile.
        let secrets = watcher(
            secrets_api,
            watcher::Config::default().labels(LABEL_OAUTH2_CLIENT),
        )
        .default_backoff()
        .touched_objects();
        let controller = Controller::for_stream(trigger, reader).owns_stream(secrets);
        controllers.push(run_controller(controller, ctx.clone(), &stop));
    }

    let synced = {
        let ctx = ctx.clone();
        let readiness = readiness.clone();
        tokio::spawn(async move {
            ctx.world.stores().wait_until_ready().await;
            readiness.set_caches_synced(true);
            tracing::info!("caches synced");
        })
    };
    tracing::info!(controllers = controllers.len(), "controllers started");
    futures::future::join_all(controllers).await;
    synced.abort();
    readiness.set_caches_synced(false);
    ctx.engines.close_all().await;
    tracing::info!("controllers stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_trigger_their_user() {
        let grant: DatabaseGrant = serde_json::from_value(serde_json::json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1",
            "kind": "DatabaseGrant",
            "metadata": {"name": "g", "namespace": "team"},
            "spec": {"userRef": {"name": "app"}}
        }))
        .expect("valid grant");
        assert_eq!(
            user_of_grant(grant.clone()),
            Some(reflector::ObjectRef::new("app").within("team"))
        );
        let mut role_grant = grant;
        role_grant.spec.user_ref = None;
        assert_eq!(user_of_grant(role_grant), None);
        assert_eq!(scopes(&[]), [None]);
        assert_eq!(scopes(&["a".to_owned()]), [Some("a".to_owned())]);
    }

    #[test]
    fn config_maps_trigger_the_migrations_that_read_them() {
        let migration: DatabaseMigration = serde_json::from_value(serde_json::json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1",
            "kind": "DatabaseMigration",
            "metadata": {"name": "schema", "namespace": "team"},
            "spec": {"databaseRef": {"name": "app"}, "source": {"configMapRef": {"name": "sql"}}}
        }))
        .expect("valid migration");
        assert!(reads_config_map(&migration, "team", "sql"));
        assert!(!reads_config_map(&migration, "other", "sql"));
        assert!(!reads_config_map(&migration, "team", "other"));
        let mut elsewhere = migration.clone();
        elsewhere.spec.source.config_map_ref = Some(
            serde_json::from_value(serde_json::json!({"name": "sql", "namespace": "shared"}))
                .expect("reference"),
        );
        assert!(reads_config_map(&elsewhere, "shared", "sql"));
        assert!(!reads_config_map(&elsewhere, "team", "sql"));
    }

    #[test]
    fn a_schedule_sees_phase_changes_not_progress() {
        let backup: DatabaseBackup = serde_json::from_value(serde_json::json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1",
            "kind": "DatabaseBackup",
            "metadata": {"name": "b", "namespace": "team", "generation": 1},
            "spec": {"databaseRef": {"name": "app"}, "storage": {"type": "s3", "s3": {"bucket": "b", "region": "r"}}},
            "status": {"phase": "Running", "progress": {"storedBytes": 10}}
        }))
        .expect("valid backup");
        let mut progressed = backup.clone();
        if let Some(status) = progressed.status.as_mut() {
            status.progress = None;
        }
        assert_eq!(backup_phase(&backup), backup_phase(&progressed));
        let mut completed = backup.clone();
        if let Some(status) = completed.status.as_mut() {
            status.phase = Some(dbprov_api::v1alpha1::RunPhase::Completed);
        }
        assert_ne!(backup_phase(&backup), backup_phase(&completed));
    }
}
