//! Resolving a `databaseRef` down to a connection, shared by every kind that works inside a `Database`
//! (migrations, backups, restores, OAuth2 clients).

use dbprov_api::convert::password::{PasswordSource, password_source};
use dbprov_api::v1alpha1::{Database, ObjectReference};
use dbprov_api::{Kind, Resource};
use dbprov_core::model::CatalogRequest;
use dbprov_core::{Credentials, Name};

use crate::context::{Context, ObjectRef};
use crate::failure::Failure;
use crate::instance::{ResolvedInstance, instance_ref, resolve_instance};

/// A `Database` reference resolved down to its instance.
#[derive(Debug, Clone)]
pub struct DatabaseAndInstance {
    pub object: ObjectRef,
    pub database: Database,
    pub instance: ResolvedInstance,
}

/// Reads the `Database` `reference` names (in `namespace` unless it names one) and resolves its instance,
/// which must be Ready.
pub async fn database_and_instance(
    ctx: &Context,
    namespace: &str,
    reference: &ObjectReference,
    field: &'static str,
) -> Result<DatabaseAndInstance, Failure> {
    let object = ObjectRef::new(
        Kind::Database,
        Some(reference.namespace.as_deref().unwrap_or(namespace)),
        &reference.name,
    );
    let Some(Resource::Database(database)) = ctx
        .source
        .get(&object)
        .await
        .map_err(|error| Failure::Source { error })?
    else {
        return Err(Failure::ReferenceNotFound { object, field });
    };
    let database_namespace = object.namespace.clone().unwrap_or_else(|| namespace.to_owned());
    let instance_object = instance_ref(
        database.spec.instance_ref.as_ref(),
        database.spec.cluster_instance_ref.as_ref(),
        &database_namespace,
    )?;
    let instance = resolve_instance(ctx, &instance_object, true).await?;
    Ok(DatabaseAndInstance {
        object,
        database: *database,
        instance,
    })
}

/// The username and password of a `DatabaseUser`, from its credentials Secret (for work that runs as that
/// user rather than as the instance's admin).
pub async fn user_credentials(
    ctx: &Context,
    namespace: &str,
    user: &str,
    field: &'static str,
) -> Result<Credentials, Failure> {
    let object = ObjectRef::new(Kind::DatabaseUser, Some(namespace), user);
    let Some(Resource::DatabaseUser(user)) = ctx
        .source
        .get(&object)
        .await
        .map_err(|error| Failure::Source { error })?
    else {
        return Err(Failure::ReferenceNotFound { object, field });
    };
    let (secret_namespace, secret_name, key) = match password_source(&user).map_err(Failure::from)? {
        PasswordSource::Existing {
            name,
            namespace: secret_namespace,
            key,
        } => (
            secret_namespace.unwrap_or_else(|| namespace.to_owned()),
            name,
            key,
        ),
        PasswordSource::Managed(managed) => (namespace.to_owned(), managed.name, "password".to_owned()),
    };
    let purpose = "credentials of the user the work runs as";
    let secret = ctx
        .secrets
        .get(&secret_namespace, &secret_name)
        .await
        .map_err(|error| Failure::Source { error })?
        .ok_or_else(|| Failure::SecretNotFound {
            namespace: secret_namespace.clone(),
            name: secret_name.clone(),
            key: None,
            purpose,
        })?;
    let password = secret.text(&key).ok_or_else(|| Failure::SecretNotFound {
        namespace: secret_namespace,
        name: secret_name,
        key: Some(key),
        purpose,
    })?;
    Ok(Credentials {
        username: user.spec.username.clone(),
        password: Some(password),
    })
}

/// Whether `name` exists on the instance (a catalog read through the engine; used before work that would
/// otherwise connect into a database that a plan has not created yet).
pub async fn database_exists(
    ctx: &Context,
    instance: &ResolvedInstance,
    name: Name,
) -> Result<bool, Failure> {
    let engine = ctx
        .engines
        .get(&instance.cache_key(), instance.kind, &instance.connection)
        .await
        .map_err(|error| Failure::Connect { error })?;
    let catalog = engine
        .inspect(&CatalogRequest::default().database(name.clone(), false))
        .await
        .map_err(|error| Failure::Engine { error })?;
    Ok(catalog.databases.contains_key(&name))
}
