//! The kinds the operator reconciles, behind one trait so the controllers and the reconcile flow are written
//! once.

use std::fmt::Debug;

use dbprov_api::v1alpha1::{
    ClusterDatabaseInstance, Database, DatabaseBackup, DatabaseBackupSchedule, DatabaseGrant,
    DatabaseInstance, DatabaseMigration, DatabaseRestore, DatabaseRole, DatabaseUser, OAuth2Client,
};
use dbprov_api::{Kind, Resource};
use kube::{Api, Client};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::finalizer::{self, Finalizers};
use crate::world::{KindStore, Stores};

/// A kind the operator reconciles.
pub trait Managed:
    kube::Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    const KIND: Kind;
    /// dbprov's finalizer for this kind and the upstream one it takes over.
    const FINALIZERS: Finalizers;

    /// The API of this kind: in `namespace`, or everywhere when `None` (always everywhere for
    /// cluster-scoped kinds).
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;

    /// The object as the shared reconcilers take it.
    fn to_resource(&self) -> Resource;

    /// The informer cache of this kind.
    fn store(stores: &Stores) -> &KindStore<Self>;
}

macro_rules! namespaced {
    ($type:ty, $kind:expr, $finalizers:expr, $variant:ident, $field:ident) => {
        impl Managed for $type {
            const KIND: Kind = $kind;
            const FINALIZERS: Finalizers = $finalizers;

            fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
                match namespace {
                    Some(namespace) => Api::namespaced(client, namespace),
                    None => Api::all(client),
                }
            }

            fn to_resource(&self) -> Resource {
                Resource::$variant(Box::new(self.clone()))
            }

            fn store(stores: &Stores) -> &KindStore<Self> {
                &stores.$field
            }
        }
    };
}

namespaced!(
    DatabaseInstance,
    Kind::DatabaseInstance,
    finalizer::DATABASE_INSTANCE,
    DatabaseInstance,
    instances
);
namespaced!(Database, Kind::Database, finalizer::DATABASE, Database, databases);
namespaced!(
    DatabaseRole,
    Kind::DatabaseRole,
    finalizer::DATABASE_ROLE,
    DatabaseRole,
    roles
);
namespaced!(
    DatabaseUser,
    Kind::DatabaseUser,
    finalizer::DATABASE_USER,
    DatabaseUser,
    users
);
namespaced!(
    DatabaseGrant,
    Kind::DatabaseGrant,
    finalizer::DATABASE_GRANT,
    DatabaseGrant,
    grants
);
namespaced!(
    DatabaseMigration,
    Kind::DatabaseMigration,
    finalizer::DATABASE_MIGRATION,
    DatabaseMigration,
    migrations
);
namespaced!(
    DatabaseBackup,
    Kind::DatabaseBackup,
    finalizer::DATABASE_BACKUP,
    DatabaseBackup,
    backups
);
namespaced!(
    DatabaseRestore,
    Kind::DatabaseRestore,
    finalizer::DATABASE_RESTORE,
    DatabaseRestore,
    restores
);
namespaced!(
    DatabaseBackupSchedule,
    Kind::DatabaseBackupSchedule,
    finalizer::DATABASE_BACKUP_SCHEDULE,
    DatabaseBackupSchedule,
    schedules
);
namespaced!(
    OAuth2Client,
    Kind::OAuth2Client,
    finalizer::OAUTH2_CLIENT,
    OAuth2Client,
    oauth2_clients
);

impl Managed for ClusterDatabaseInstance {
    const KIND: Kind = Kind::ClusterDatabaseInstance;
    const FINALIZERS: Finalizers = finalizer::CLUSTER_DATABASE_INSTANCE;

    fn api(client: Client, _namespace: Option<&str>) -> Api<Self> {
        Api::all(client)
    }

    fn to_resource(&self) -> Resource {
        Resource::ClusterDatabaseInstance(Box::new(self.clone()))
    }

    fn store(stores: &Stores) -> &KindStore<Self> {
        &stores.cluster_instances
    }
}
