//! Deleting an object: protection and policy first (pure), then, when the server object must go, a plan.
//!
//! * `deletionProtection` (or the upstream annotation) blocks deletion unless `force-delete` is set;
//! * `Retain` only stops managing the object;
//! * `Delete` drops what dbprov created. An object that existed before dbprov managed it (adopted) is released,
//!   not dropped, unless `force-delete` says so: dbprov never destroys what it did not make by surprise;
//! * deleting a `DatabaseGrant` revokes the privileges only it declared (the scope is re-planned with what the
//!   other objects still declare).

use dbprov_api::convert::deletion::{DeletionSettings, deletion_settings, force_delete};
use dbprov_api::v1alpha1::DeletionPolicy;
use dbprov_api::{FieldError, Resource};
use dbprov_core::model::{CatalogRequest, DropRoleOptions, GrantSpec, OwnedObjectsPolicy};
use dbprov_core::{Name, NameKind};

use crate::context::{Context, ObjectRef};
use crate::failure::Failure;
use crate::index::{GrantIndex, grant_target};
use crate::instance::{instance_ref, resolve_instance};
use crate::outcome::{Event, Outcome};
use crate::run::Mode;

/// Annotation choosing what happens to objects a dropped PostgreSQL user or role still owns:
/// `Fail` (default: refuse, naming the databases), `Drop` (`DROP OWNED`) or `Reassign` (with
/// [`ANNOTATION_REASSIGN_TO`]).
pub const ANNOTATION_OWNED_OBJECTS: &str = "dbops.dbprovision.io/owned-objects";
/// The role that receives a dropped role's objects under `owned-objects: Reassign`.
pub const ANNOTATION_REASSIGN_TO: &str = "dbops.dbprovision.io/reassign-owned-to";

/// What deleting an object does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refused: the object stays (and so does the server object).
    Blocked { field: &'static str },
    /// The server object stays; dbprov stops managing it.
    Release { reason: String },
    /// The server object is dropped (or, for grants, its privileges revoked).
    Drop,
}

/// Decides from the settings, the `force-delete` annotation and whether dbprov created the server object.
pub fn decide(settings: &DeletionSettings, force: bool, created_by_dbprov: bool, is_grant: bool) -> Decision {
    if settings.protected && !force {
        return Decision::Blocked {
            field: settings.protection_source,
        };
    }
    if is_grant {
        return Decision::Drop;
    }
    if settings.policy == DeletionPolicy::Retain {
        return Decision::Release {
            reason: "deletionPolicy is Retain: the server object is kept".into(),
        };
    }
    if !created_by_dbprov && !force {
        return Decision::Release {
            reason: "the server object existed before dbprov managed it, so it is kept \
                     (annotate dbops.dbprovision.io/force-delete: \"true\" to drop it anyway)"
                .into(),
        };
    }
    Decision::Drop
}

fn annotation<'a>(resource: &'a Resource, key: &str) -> Option<&'a str> {
    resource
        .metadata()
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The owned-objects policy of a user or role (annotations).
pub fn drop_role_options(resource: &Resource) -> Result<DropRoleOptions, Failure> {
    let path = format!("metadata.annotations[{ANNOTATION_OWNED_OBJECTS:?}]");
    let owned_objects = match annotation(resource, ANNOTATION_OWNED_OBJECTS) {
        None | Some("Fail") => OwnedObjectsPolicy::Fail,
        Some("Drop") => OwnedObjectsPolicy::Drop,
        Some("Reassign") => {
            let target = annotation(resource, ANNOTATION_REASSIGN_TO).ok_or_else(|| {
                Failure::invalid(FieldError::required(format!(
                    "metadata.annotations[{ANNOTATION_REASSIGN_TO:?}]"
                )))
            })?;
            let new_owner = Name::parse(NameKind::Role, target)
                .map_err(|error| Failure::invalid(FieldError::invalid(&path, error.to_string())))?;
            OwnedObjectsPolicy::Reassign { new_owner }
        }
        Some(other) => {
            return Err(Failure::invalid(FieldError::invalid(
                path,
                format!("{other:?} is not Fail, Drop or Reassign"),
            )));
        }
    };
    Ok(DropRoleOptions { owned_objects })
}

/// Deletes (or plans deleting) an object. `created_by_dbprov` says whether dbprov created the server object.
/// The outcome's `failure` is `DeletionProtected` when blocked; `notes` explain a release.
pub async fn delete(ctx: &Context, resource: &Resource, created_by_dbprov: bool, mode: Mode) -> Outcome {
    let Some(object) = ObjectRef::of(resource) else {
        return Outcome::new(ObjectRef::new(dbprov_api::Kind::Database, None, resource.name()))
            .failed(Failure::invalid(FieldError::invalid("kind", "not a dbprov kind")));
    };
    let mut outcome = Outcome::new(object.clone());
    let settings = match deletion_settings(resource) {
        Ok(settings) => settings,
        Err(error) => return outcome.failed(Failure::invalid(error)),
    };
    let force = force_delete(resource.metadata());
    if matches!(
        resource,
        Resource::DatabaseInstance(_) | Resource::ClusterDatabaseInstance(_)
    ) {
        // An instance is only a connection: deleting it never touches the server, so only protection applies.
        if settings.protected && !force {
            return outcome.failed(Failure::DeletionProtected {
                field: settings.protection_source,
            });
        }
        return outcome;
    }
    let is_grant = matches!(resource, Resource::DatabaseGrant(_));
    match decide(&settings, force, created_by_dbprov, is_grant) {
        Decision::Blocked { field } => outcome.failed(Failure::DeletionProtected { field }),
        Decision::Release { reason } => {
            outcome.notes.push(reason.clone());
            outcome.events.push(Event::normal("Released", reason));
            outcome
        }
        Decision::Drop => match drop_server_object(ctx, resource, &mut outcome, mode).await {
            Ok(()) => outcome,
            Err(failure) => outcome.failed(failure),
        },
    }
}

async fn drop_server_object(
    ctx: &Context,
    resource: &Resource,
    outcome: &mut Outcome,
    mode: Mode,
) -> Result<(), Failure> {
    let namespace = resource.namespace().unwrap_or("default").to_owned();
    match resource {
        Resource::DatabaseInstance(_) | Resource::ClusterDatabaseInstance(_) => Ok(()),
        Resource::Database(database) => {
            let instance_object = instance_ref(
                database.spec.instance_ref.as_ref(),
                database.spec.cluster_instance_ref.as_ref(),
                &namespace,
            )?;
            let instance = resolve_instance(ctx, &instance_object, false).await?;
            let name = Name::parse(NameKind::Database, database.spec.name.clone())
                .map_err(|error| Failure::invalid(FieldError::invalid("spec.name", error.to_string())))?;
            let engine = ctx
                .engines
                .get(&instance.cache_key(), instance.kind, &instance.connection)
                .await
                .map_err(|error| Failure::Connect { error })?;
            let catalog = engine
                .inspect(&CatalogRequest::default().database(name.clone(), false))
                .await
                .map_err(|error| Failure::Engine { error })?;
            let plan = engine
                .plan_drop_database(&name, &catalog)
                .map_err(|error| Failure::Engine { error })?;
            execute(
                engine.as_ref(),
                plan,
                mode,
                outcome,
                format!("dropped database {name}"),
            )
            .await
        }
        Resource::DatabaseUser(_) | Resource::DatabaseRole(_) => {
            let (instance_object, role_name, secret) = match resource {
                Resource::DatabaseUser(user) => (
                    instance_ref(
                        user.spec.instance_ref.as_ref(),
                        user.spec.cluster_instance_ref.as_ref(),
                        &namespace,
                    )?,
                    user.spec.username.clone(),
                    managed_secret_name(user),
                ),
                Resource::DatabaseRole(role) => (
                    instance_ref(
                        role.spec.instance_ref.as_ref(),
                        role.spec.cluster_instance_ref.as_ref(),
                        &namespace,
                    )?,
                    role.spec.role_name.clone(),
                    None,
                ),
                _ => unreachable!("matched above"),
            };
            let options = drop_role_options(resource)?;
            let instance = resolve_instance(ctx, &instance_object, false).await?;
            let name = Name::parse(NameKind::Role, role_name)
                .map_err(|error| Failure::invalid(FieldError::invalid("spec", error.to_string())))?;
            let engine = ctx
                .engines
                .get(&instance.cache_key(), instance.kind, &instance.connection)
                .await
                .map_err(|error| Failure::Connect { error })?;
            let catalog = engine
                .inspect(&CatalogRequest::default().role(name.clone()))
                .await
                .map_err(|error| Failure::Engine { error })?;
            let plan = engine
                .plan_drop_role(&name, &options, &catalog)
                .map_err(|error| Failure::Engine { error })?;
            execute(engine.as_ref(), plan, mode, outcome, format!("dropped {name}")).await?;
            // The generated credentials die with the user (an existingPasswordSecret is the user's own).
            if let Some(secret) = secret {
                match mode {
                    Mode::Plan => outcome.notes.push(format!("delete secret {namespace}/{secret}")),
                    Mode::Apply => {
                        ctx.secrets.delete(&namespace, &secret).await.map_err(|error| {
                            Failure::WriteSecret {
                                namespace: namespace.clone(),
                                name: secret.clone(),
                                error,
                            }
                        })?;
                    }
                }
            }
            Ok(())
        }
        Resource::DatabaseGrant(grant) => {
            let target = grant_target(ctx, grant).await?;
            let instance = resolve_instance(ctx, &target.instance, false).await?;
            let conversion = dbprov_api::convert::grant(
                grant,
                instance.kind,
                &target.grantee,
                target.reference_database.as_deref(),
            )
            .map_err(Failure::from)?;
            let index = GrantIndex::build(ctx).await?;
            let own = ObjectRef::of(resource).expect("a DatabaseGrant has a kind");
            let engine = ctx
                .engines
                .get(&instance.cache_key(), instance.kind, &instance.connection)
                .await
                .map_err(|error| Failure::Connect { error })?;
            for scope in conversion.grants {
                // What the other objects still declare for this scope (nothing: everything is revoked).
                let empty = GrantSpec {
                    postgres: Default::default(),
                    mysql: Default::default(),
                    ..scope.clone()
                };
                let remaining = index
                    .merged(&target.instance, &own, vec![empty.clone()])
                    .into_iter()
                    .next()
                    .unwrap_or(empty);
                let request = CatalogRequest::default().grant(scope.grantee.clone(), scope.database.clone());
                let catalog = engine
                    .inspect(&request)
                    .await
                    .map_err(|error| Failure::Engine { error })?;
                let plan = engine
                    .plan_grants(&remaining, &catalog)
                    .map_err(|error| Failure::Engine { error })?;
                execute(
                    engine.as_ref(),
                    plan,
                    mode,
                    outcome,
                    format!("revoked privileges of {} on {}", scope.grantee, scope.database),
                )
                .await?;
            }
            Ok(())
        }
        // Deleting a migration object never rolls the schema back; deleting a backup's or a restore's object
        // keeps the artifact and the restored data (a schedule's retention deletes artifacts).
        Resource::DatabaseMigration(_)
        | Resource::DatabaseBackup(_)
        | Resource::DatabaseBackupSchedule(_)
        | Resource::DatabaseRestore(_)
        | Resource::Secret(_) => Ok(()),
        Resource::OAuth2Client(client) => {
            crate::oauth2_client::delete_oauth2_client(ctx, client, outcome, mode).await
        }
    }
}

async fn execute(
    engine: &dyn dbprov_core::Engine,
    plan: dbprov_core::Plan,
    mode: Mode,
    outcome: &mut Outcome,
    what: String,
) -> Result<(), Failure> {
    if mode == Mode::Apply && !plan.steps.is_empty() {
        let report = engine
            .apply(&plan)
            .await
            .map_err(|error| Failure::Engine { error })?;
        outcome.executed.extend(report.executed);
        outcome.applied = true;
        outcome.events.push(Event::normal("Deleted", what));
    }
    outcome.plan.extend(plan);
    Ok(())
}

fn managed_secret_name(user: &dbprov_api::v1alpha1::DatabaseUser) -> Option<String> {
    match dbprov_api::convert::password::password_source(user).ok()? {
        dbprov_api::convert::password::PasswordSource::Managed(managed) => Some(managed.name),
        dbprov_api::convert::password::PasswordSource::Existing { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(policy: DeletionPolicy, protected: bool) -> DeletionSettings {
        DeletionSettings {
            policy,
            protected,
            protection_source: "spec.deletionProtection",
        }
    }

    #[test]
    fn protection_blocks_unless_forced() {
        let protected = settings(DeletionPolicy::Delete, true);
        assert_eq!(
            decide(&protected, false, true, false),
            Decision::Blocked {
                field: "spec.deletionProtection"
            }
        );
        assert_eq!(decide(&protected, true, true, false), Decision::Drop);
        assert!(matches!(
            decide(&settings(DeletionPolicy::Delete, true), false, true, true),
            Decision::Blocked { .. }
        ));
    }

    #[test]
    fn retain_releases_and_delete_drops_only_what_dbprov_created() {
        assert!(matches!(
            decide(&settings(DeletionPolicy::Retain, false), false, true, false),
            Decision::Release { .. }
        ));
        assert_eq!(
            decide(&settings(DeletionPolicy::Delete, false), false, true, false),
            Decision::Drop
        );
        assert!(matches!(
            decide(&settings(DeletionPolicy::Delete, false), false, false, false),
            Decision::Release { .. }
        ));
        assert_eq!(
            decide(&settings(DeletionPolicy::Delete, false), true, false, false),
            Decision::Drop
        );
    }

    #[test]
    fn grants_are_always_revoked() {
        assert_eq!(
            decide(&settings(DeletionPolicy::Retain, false), false, false, true),
            Decision::Drop
        );
    }
}
