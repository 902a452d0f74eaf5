//! Everything declared about grants, across objects: the privileges of one grantee in one database may come
//! from several `DatabaseGrant`s, a `DatabaseRole`'s inline grants and a `Database`'s default privileges, and
//! role memberships from several `DatabaseGrant`s. They are merged before planning, so two objects never
//! revoke each other's privileges.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dbprov_api::v1alpha1::DatabaseGrant;
use dbprov_api::{Kind, Resource};
use dbprov_core::model::GrantSpec;
use dbprov_core::{EngineKind, Name};

use crate::context::{Context, ObjectRef};
use crate::failure::Failure;
use crate::instance::instance_ref;

/// `(instance, grantee, database)`.
type ScopeKey = (ObjectRef, Name, Name);

#[derive(Debug, Default, Clone)]
pub struct GrantIndex {
    grants: BTreeMap<ScopeKey, Vec<(ObjectRef, GrantSpec)>>,
    memberships: BTreeMap<(ObjectRef, Name), BTreeSet<Name>>,
}

/// The grantee and instance a `DatabaseGrant` resolves to, with the `databaseRef`'s database name.
pub struct GrantTarget {
    pub instance: ObjectRef,
    pub grantee: Name,
    pub grantee_object: ObjectRef,
    pub reference_database: Option<String>,
}

fn namespace_of(resource: &Resource) -> String {
    resource.namespace().unwrap_or("default").to_owned()
}

/// Resolves a `DatabaseGrant`'s `userRef`/`roleRef` (and `databaseRef`).
pub async fn grant_target(ctx: &Context, grant: &DatabaseGrant) -> Result<GrantTarget, Failure> {
    let namespace = grant
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let spec = &grant.spec;
    let (kind, reference, field) = match (&spec.user_ref, &spec.role_ref) {
        (Some(user), None) => (Kind::DatabaseUser, user, "spec.userRef"),
        (None, Some(role)) => (Kind::DatabaseRole, role, "spec.roleRef"),
        _ => {
            return Err(Failure::invalid(dbprov_api::FieldError::invalid(
                "spec.userRef",
                "exactly one of userRef and roleRef must be set",
            )));
        }
    };
    let object = ObjectRef::new(
        kind,
        Some(reference.namespace.as_deref().unwrap_or(&namespace)),
        &reference.name,
    );
    let resource = ctx
        .source
        .get(&object)
        .await
        .map_err(|error| Failure::Source { error })?
        .ok_or_else(|| Failure::ReferenceNotFound {
            object: object.clone(),
            field,
        })?;
    let (instance, grantee) = match &resource {
        Resource::DatabaseUser(user) => (
            instance_ref(
                user.spec.instance_ref.as_ref(),
                user.spec.cluster_instance_ref.as_ref(),
                &namespace_of(&resource),
            )?,
            user.spec.username.clone(),
        ),
        Resource::DatabaseRole(role) => (
            instance_ref(
                role.spec.instance_ref.as_ref(),
                role.spec.cluster_instance_ref.as_ref(),
                &namespace_of(&resource),
            )?,
            role.spec.role_name.clone(),
        ),
        _ => return Err(Failure::ReferenceNotFound { object, field }),
    };
    let grantee = Name::parse(dbprov_core::NameKind::Role, grantee)
        .map_err(|error| Failure::invalid(dbprov_api::FieldError::invalid(field, error.to_string())))?;
    let mut reference_database = None;
    if let Some(database) = &spec.database_ref {
        let database_object = ObjectRef::new(
            Kind::Database,
            Some(database.namespace.as_deref().unwrap_or(&namespace)),
            &database.name,
        );
        match ctx
            .source
            .get(&database_object)
            .await
            .map_err(|error| Failure::Source { error })?
        {
            Some(Resource::Database(database)) => reference_database = Some(database.spec.name.clone()),
            _ => {
                return Err(Failure::ReferenceNotFound {
                    object: database_object,
                    field: "spec.databaseRef",
                });
            }
        }
    }
    Ok(GrantTarget {
        instance,
        grantee,
        grantee_object: object,
        reference_database,
    })
}

impl GrantIndex {
    /// Reads every `Database`, `DatabaseRole` and `DatabaseGrant` and indexes what they declare. Objects that
    /// do not convert (invalid, dangling references) are left out: their own reconcile reports them.
    pub async fn build(ctx: &Context) -> Result<Self, Failure> {
        let mut index = GrantIndex::default();
        let mut engines: HashMap<ObjectRef, Option<EngineKind>> = HashMap::new();
        let list = |kind| async move {
            ctx.source
                .list(kind, None)
                .await
                .map_err(|error| Failure::Source { error })
        };
        for resource in list(Kind::Database).await? {
            let Resource::Database(object) = &resource else {
                continue;
            };
            let Ok(instance) = instance_ref(
                object.spec.instance_ref.as_ref(),
                object.spec.cluster_instance_ref.as_ref(),
                &namespace_of(&resource),
            ) else {
                continue;
            };
            let Some(engine) = engine_of(ctx, &mut engines, &instance).await? else {
                continue;
            };
            if let (Some(owner), Ok(conversion)) = (
                ObjectRef::of(&resource),
                dbprov_api::convert::database(object, engine),
            ) {
                index.add(&instance, &owner, conversion.default_privilege_grants);
            }
        }
        for resource in list(Kind::DatabaseRole).await? {
            let Resource::DatabaseRole(object) = &resource else {
                continue;
            };
            let Ok(instance) = instance_ref(
                object.spec.instance_ref.as_ref(),
                object.spec.cluster_instance_ref.as_ref(),
                &namespace_of(&resource),
            ) else {
                continue;
            };
            let Some(engine) = engine_of(ctx, &mut engines, &instance).await? else {
                continue;
            };
            if let (Some(owner), Ok(conversion)) = (
                ObjectRef::of(&resource),
                dbprov_api::convert::role(object, engine),
            ) {
                index.add(&instance, &owner, conversion.grants);
            }
        }
        for resource in list(Kind::DatabaseGrant).await? {
            let Resource::DatabaseGrant(object) = &resource else {
                continue;
            };
            let Ok(target) = grant_target(ctx, object).await else {
                continue;
            };
            let Some(engine) = engine_of(ctx, &mut engines, &target.instance).await? else {
                continue;
            };
            let Ok(conversion) = dbprov_api::convert::grant(
                object,
                engine,
                &target.grantee,
                target.reference_database.as_deref(),
            ) else {
                continue;
            };
            if let Some(owner) = ObjectRef::of(&resource) {
                index.add(&target.instance, &owner, conversion.grants);
            }
            index
                .memberships
                .entry((target.instance.clone(), target.grantee.clone()))
                .or_default()
                .extend(conversion.memberships);
        }
        Ok(index)
    }

    fn add(&mut self, instance: &ObjectRef, owner: &ObjectRef, grants: Vec<GrantSpec>) {
        for grant in grants {
            self.grants
                .entry((instance.clone(), grant.grantee.clone(), grant.database.clone()))
                .or_default()
                .push((owner.clone(), grant));
        }
    }

    /// The merged declaration of each scope `grants` touch, including what other objects declare there.
    pub fn merged(&self, instance: &ObjectRef, owner: &ObjectRef, grants: Vec<GrantSpec>) -> Vec<GrantSpec> {
        let mut all = Vec::new();
        for grant in grants {
            let key = (instance.clone(), grant.grantee.clone(), grant.database.clone());
            if let Some(others) = self.grants.get(&key) {
                all.extend(
                    others
                        .iter()
                        .filter(|(other, _)| other != owner)
                        .map(|(_, spec)| spec.clone()),
                );
            }
            all.push(grant);
        }
        dbprov_api::convert::grant::merge_grants(all)
    }

    /// Roles `DatabaseGrant`s make the grantee a member of.
    pub fn memberships(&self, instance: &ObjectRef, grantee: &Name) -> BTreeSet<Name> {
        self.memberships
            .get(&(instance.clone(), grantee.clone()))
            .cloned()
            .unwrap_or_default()
    }
}

async fn engine_of(
    ctx: &Context,
    cache: &mut HashMap<ObjectRef, Option<EngineKind>>,
    instance: &ObjectRef,
) -> Result<Option<EngineKind>, Failure> {
    if let Some(kind) = cache.get(instance) {
        return Ok(*kind);
    }
    let kind = match ctx
        .source
        .get(instance)
        .await
        .map_err(|error| Failure::Source { error })?
    {
        Some(Resource::DatabaseInstance(object)) => object.spec.engine.engine_kind(),
        Some(Resource::ClusterDatabaseInstance(object)) => object.spec.0.engine.engine_kind(),
        _ => None,
    };
    cache.insert(instance.clone(), kind);
    Ok(kind)
}
