//! Where the shared reconcilers read objects in a cluster: the controllers' informer caches (one per kind and
//! watched namespace), with a direct API read for objects in namespaces the operator does not watch. A backup
//! or restore Job has no caches at all: every read goes to the API. Migration sources (ConfigMaps) are read
//! directly, when a migration needs them.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use dbprov_api::conditions::{ConditionType, is_true};
use dbprov_api::v1alpha1::{
    ClusterDatabaseInstance, Database, DatabaseBackup, DatabaseBackupSchedule, DatabaseGrant,
    DatabaseInstance, DatabaseMigration, DatabaseRestore, DatabaseRole, DatabaseUser, OAuth2Client,
};
use dbprov_api::{Kind, Resource};
use dbprov_reconcile::{ObjectRef, ObjectSource, SourceError};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListParams;
use kube::runtime::reflector::{self, Store};
use kube::{Api, Client};

use crate::kinds::Managed;
use crate::status::object_status;

/// The caches of one kind: `None` scope means every namespace.
pub struct KindStore<K: Managed> {
    scopes: Vec<(Option<String>, Store<K>)>,
}

impl<K: Managed> Default for KindStore<K> {
    fn default() -> Self {
        Self { scopes: Vec::new() }
    }
}

impl<K: Managed> KindStore<K> {
    pub fn add(&mut self, scope: Option<String>, store: Store<K>) {
        self.scopes.push((scope, store));
    }

    /// Whether objects in `namespace` are cached (cluster-scoped objects: `None`).
    pub fn covers(&self, namespace: Option<&str>) -> bool {
        self.scopes
            .iter()
            .any(|(scope, _)| scope.is_none() || scope.as_deref() == namespace)
    }

    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let key = match namespace {
            Some(namespace) => reflector::ObjectRef::new(name).within(namespace),
            None => reflector::ObjectRef::new(name),
        };
        self.scopes
            .iter()
            .filter(|(scope, _)| scope.is_none() || scope.as_deref() == namespace)
            .find_map(|(_, store)| store.get(&key))
    }

    pub fn all(&self) -> Vec<Arc<K>> {
        self.scopes.iter().flat_map(|(_, store)| store.state()).collect()
    }

    pub fn stores(&self) -> impl Iterator<Item = &Store<K>> {
        self.scopes.iter().map(|(_, store)| store)
    }

    /// Whether this kind has no cache at all (in a backup Job, which reads everything from the API).
    pub fn is_uncached(&self) -> bool {
        self.scopes.is_empty()
    }

    /// An order-independent hash of every object's identity and generation: it changes exactly when a
    /// declaration is created, edited or removed (status writes do not change the generation).
    fn fingerprint(&self) -> u64 {
        self.all().iter().fold(0u64, |sum, object| {
            let mut hasher = DefaultHasher::new();
            let meta = object.meta();
            (K::KIND, &meta.namespace, &meta.name, &meta.uid, meta.generation).hash(&mut hasher);
            sum.wrapping_add(hasher.finish())
        })
    }
}

/// The caches of every kind.
#[derive(Default)]
pub struct Stores {
    pub instances: KindStore<DatabaseInstance>,
    pub cluster_instances: KindStore<ClusterDatabaseInstance>,
    pub databases: KindStore<Database>,
    pub roles: KindStore<DatabaseRole>,
    pub users: KindStore<DatabaseUser>,
    pub grants: KindStore<DatabaseGrant>,
    pub migrations: KindStore<DatabaseMigration>,
    pub backups: KindStore<DatabaseBackup>,
    pub restores: KindStore<DatabaseRestore>,
    pub schedules: KindStore<DatabaseBackupSchedule>,
    pub oauth2_clients: KindStore<OAuth2Client>,
}

impl Stores {
    /// A fingerprint of every declaration the grant index is built from.
    pub fn declarations_fingerprint(&self) -> u64 {
        [
            self.instances.fingerprint(),
            self.cluster_instances.fingerprint(),
            self.databases.fingerprint(),
            self.roles.fingerprint(),
            self.users.fingerprint(),
            self.grants.fingerprint(),
        ]
        .iter()
        .fold(0u64, |acc, value| acc.rotate_left(7) ^ value)
    }

    /// Every cached database, user, role, grant and OAuth2 client (what deletions check for dependents).
    pub fn dependent_kinds(&self) -> Vec<Resource> {
        let mut all = Vec::new();
        all.extend(self.databases.all().iter().map(|object| object.to_resource()));
        all.extend(self.roles.all().iter().map(|object| object.to_resource()));
        all.extend(self.users.all().iter().map(|object| object.to_resource()));
        all.extend(self.grants.all().iter().map(|object| object.to_resource()));
        all.extend(
            self.oauth2_clients
                .all()
                .iter()
                .map(|object| object.to_resource()),
        );
        all
    }

    /// Resolves once every cache has listed its objects.
    pub async fn wait_until_ready(&self) {
        async fn wait<K: Managed>(store: &KindStore<K>) {
            for store in store.stores() {
                // A dropped writer means the controller stopped; readiness no longer matters then.
                let _ = store.wait_until_ready().await;
            }
        }
        wait(&self.instances).await;
        wait(&self.cluster_instances).await;
        wait(&self.databases).await;
        wait(&self.roles).await;
        wait(&self.users).await;
        wait(&self.grants).await;
        wait(&self.migrations).await;
        wait(&self.backups).await;
        wait(&self.restores).await;
        wait(&self.schedules).await;
        wait(&self.oauth2_clients).await;
    }
}

/// The objects of the cluster, as the shared reconcilers read them.
pub struct KubeWorld {
    stores: Stores,
    client: Client,
}

async fn read<K: Managed>(world: &KubeWorld, object: &ObjectRef) -> Result<Option<Resource>, SourceError> {
    let store = K::store(&world.stores);
    let namespace = object.namespace.as_deref();
    if store.covers(namespace) {
        return Ok(store
            .get(namespace, &object.name)
            .map(|found| found.to_resource()));
    }
    // Referenced from a watched namespace but living in one the operator does not watch.
    K::api(world.client.clone(), namespace)
        .get_opt(&object.name)
        .await
        .map(|found| found.map(|found| found.to_resource()))
        .map_err(|error| SourceError::with_source(format!("cannot read {object}"), error))
}

async fn list<K: Managed>(world: &KubeWorld, namespace: Option<&str>) -> Result<Vec<Resource>, SourceError> {
    let store = K::store(&world.stores);
    if store.is_uncached() {
        let objects = K::api(world.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map_err(|error| SourceError::with_source(format!("cannot list {}", K::KIND.plural()), error))?;
        return Ok(objects.items.iter().map(Managed::to_resource).collect());
    }
    Ok(store
        .all()
        .iter()
        .filter(|object| namespace.is_none() || object.meta().namespace.as_deref() == namespace)
        .map(|object| object.to_resource())
        .collect())
}

impl KubeWorld {
    pub fn new(stores: Stores, client: Client) -> Self {
        Self { stores, client }
    }

    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// Reads everything from the API server (no informer caches): what a backup or restore Job uses.
    pub fn uncached(client: Client) -> Self {
        Self::new(Stores::default(), client)
    }
}

/// The data of a ConfigMap as text: `data`, plus `binaryData` that is UTF-8 (migration files are SQL text).
pub fn config_map_text(config_map: ConfigMap) -> Result<BTreeMap<String, String>, String> {
    let mut files = config_map.data.unwrap_or_default();
    for (key, value) in config_map.binary_data.unwrap_or_default() {
        let text =
            String::from_utf8(value.0).map_err(|_| format!("binaryData key {key:?} is not UTF-8 text"))?;
        files.insert(key, text);
    }
    Ok(files)
}

/// Whether an instance may be used: its last health check of the current declaration succeeded.
pub fn instance_is_ready(resource: &Resource) -> bool {
    let Some(status) = object_status(resource) else {
        return false;
    };
    is_true(status.conditions(), ConditionType::Ready)
        && status.observed_generation() == resource.metadata().generation
}

#[async_trait]
impl ObjectSource for KubeWorld {
    async fn get(&self, object: &ObjectRef) -> Result<Option<Resource>, SourceError> {
        // Kinds these controllers do not reconcile (added by other features) are not cached here.
        let kind = object.kind;
        if kind == Kind::DatabaseInstance {
            read::<DatabaseInstance>(self, object).await
        } else if kind == Kind::ClusterDatabaseInstance {
            read::<ClusterDatabaseInstance>(self, object).await
        } else if kind == Kind::Database {
            read::<Database>(self, object).await
        } else if kind == Kind::DatabaseRole {
            read::<DatabaseRole>(self, object).await
        } else if kind == Kind::DatabaseUser {
            read::<DatabaseUser>(self, object).await
        } else if kind == Kind::DatabaseGrant {
            read::<DatabaseGrant>(self, object).await
        } else if kind == Kind::DatabaseMigration {
            read::<DatabaseMigration>(self, object).await
        } else if kind == Kind::DatabaseBackup {
            read::<DatabaseBackup>(self, object).await
        } else if kind == Kind::DatabaseRestore {
            read::<DatabaseRestore>(self, object).await
        } else if kind == Kind::DatabaseBackupSchedule {
            read::<DatabaseBackupSchedule>(self, object).await
        } else if kind == Kind::OAuth2Client {
            read::<OAuth2Client>(self, object).await
        } else {
            Ok(None)
        }
    }

    async fn list(&self, kind: Kind, namespace: Option<&str>) -> Result<Vec<Resource>, SourceError> {
        if kind == Kind::DatabaseInstance {
            list::<DatabaseInstance>(self, namespace).await
        } else if kind == Kind::ClusterDatabaseInstance {
            list::<ClusterDatabaseInstance>(self, namespace).await
        } else if kind == Kind::Database {
            list::<Database>(self, namespace).await
        } else if kind == Kind::DatabaseRole {
            list::<DatabaseRole>(self, namespace).await
        } else if kind == Kind::DatabaseUser {
            list::<DatabaseUser>(self, namespace).await
        } else if kind == Kind::DatabaseGrant {
            list::<DatabaseGrant>(self, namespace).await
        } else if kind == Kind::DatabaseMigration {
            list::<DatabaseMigration>(self, namespace).await
        } else if kind == Kind::DatabaseBackup {
            list::<DatabaseBackup>(self, namespace).await
        } else if kind == Kind::DatabaseRestore {
            list::<DatabaseRestore>(self, namespace).await
        } else if kind == Kind::DatabaseBackupSchedule {
            list::<DatabaseBackupSchedule>(self, namespace).await
        } else if kind == Kind::OAuth2Client {
            list::<OAuth2Client>(self, namespace).await
        } else {
            Ok(Vec::new())
        }
    }

    async fn instance_ready(&self, instance: &ObjectRef) -> Result<bool, SourceError> {
        Ok(self.get(instance).await?.as_ref().is_some_and(instance_is_ready))
    }

    /// Read from the API when a migration needs it: the controllers watch ConfigMaps by metadata only (to
    /// notice a changed source), so their contents are not cached.
    async fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, SourceError> {
        let found = Api::<ConfigMap>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|error| {
                SourceError::with_source(format!("cannot read configmap {namespace}/{name}"), error)
            })?;
        found
            .map(config_map_text)
            .transpose()
            .map_err(|why| SourceError::new(format!("configmap {namespace}/{name}: {why}")))
    }
}
