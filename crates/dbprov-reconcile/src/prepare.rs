//! Preparing an object: resolve its references, validate it and convert it into the core model. Pure except
//! for reading referenced objects and Secrets; nothing touches a database server here.

use std::collections::BTreeSet;
use std::time::Duration;

use dbprov_api::convert::effective_drift_policy;
use dbprov_api::duration::parse_go_duration;
use dbprov_api::v1alpha1::{DriftMode, DriftPolicy};
use dbprov_api::{FieldError, Resource};
use dbprov_core::model::{DatabaseSpec, GrantScope, GrantSpec, PasswordSpec, RoleSpec};

use crate::context::{Context, ObjectRef};
use crate::failure::Failure;
use crate::index::{GrantIndex, grant_target};
use crate::instance::{ResolvedInstance, instance_ref, resolve_instance};
use crate::password::{PasswordPlan, fingerprint, resolve_password};
use crate::run::identity;

/// What the host remembers about an object's last successful apply.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// The declaration changed since it was last applied (or was never applied). Changes are applied whatever
    /// the drift policy; drift without a declaration change follows the policy.
    pub spec_changed: bool,
    /// The password fingerprint recorded when the password was last set (see [`fingerprint`]).
    pub password_fingerprint: Option<String>,
    /// Grant scopes that only managed database-level privileges when last applied: together with a current
    /// declaration of the same shape they are inspected without connecting into the database.
    pub database_level_scopes: BTreeSet<GrantScope>,
    /// The object was never applied before. A declaration that only manages privileges on a database itself
    /// scopes itself to that level, so nothing inside the database needs reading (and nothing there can have
    /// been declared by this object before).
    pub first_apply: bool,
}

/// A user or role to converge.
#[derive(Debug, Clone)]
pub struct RoleWork {
    pub spec: RoleSpec,
    pub password: Option<PasswordPlan>,
}

/// An object ready to plan.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub object: ObjectRef,
    pub instance: ResolvedInstance,
    pub database: Option<DatabaseSpec>,
    pub role: Option<RoleWork>,
    /// The merged declarations of every grant scope this object contributes to.
    pub grants: Vec<GrantSpec>,
    pub drift_mode: DriftMode,
    pub drift_interval: Duration,
    pub hints: Hints,
}

fn namespace_of(resource: &Resource) -> String {
    resource.namespace().unwrap_or("default").to_owned()
}

fn drift_of(
    object: Option<&DriftPolicy>,
    instance: &ResolvedInstance,
) -> Result<(DriftMode, Duration), Failure> {
    let policy = effective_drift_policy(object, instance.spec.drift_policy.as_ref());
    let interval = parse_go_duration(&policy.interval)
        .map_err(|message| Failure::invalid(FieldError::invalid("spec.driftPolicy.interval", message)))?;
    Ok((policy.mode, interval))
}

/// Prepares a `Database`, `DatabaseUser`, `DatabaseRole` or `DatabaseGrant` for planning.
pub async fn prepare(
    ctx: &Context,
    resource: &Resource,
    index: &GrantIndex,
    hints: Hints,
) -> Result<Prepared, Failure> {
    dbprov_api::validate(resource).map_err(Failure::from)?;
    let object = ObjectRef::of(resource).ok_or_else(|| {
        Failure::invalid(FieldError::invalid(
            "kind",
            format!("{} is not reconciled here", resource.kind_name()),
        ))
    })?;
    let namespace = namespace_of(resource);
    match resource {
        Resource::Database(database) => {
            let instance_object = instance_ref(
                database.spec.instance_ref.as_ref(),
                database.spec.cluster_instance_ref.as_ref(),
                &namespace,
            )?;
            let instance = resolve_instance(ctx, &instance_object, true).await?;
            let conversion = dbprov_api::convert::database(database, instance.kind).map_err(Failure::from)?;
            let grants = index.merged(&instance_object, &object, conversion.default_privilege_grants);
            let (drift_mode, drift_interval) = drift_of(database.spec.drift_policy.as_ref(), &instance)?;
            Ok(Prepared {
                object,
                instance,
                database: Some(conversion.spec),
                role: None,
                grants,
                drift_mode,
                drift_interval,
                hints,
            })
        }
        Resource::DatabaseUser(user) => {
            let instance_object = instance_ref(
                user.spec.instance_ref.as_ref(),
                user.spec.cluster_instance_ref.as_ref(),
                &namespace,
            )?;
            let instance = resolve_instance(ctx, &instance_object, true).await?;
            let mut spec = dbprov_api::convert::user(user, instance.kind).map_err(Failure::from)?;
            let granted = index.memberships(&instance_object, &spec.name);
            add_memberships(&mut spec, granted, instance.kind);
            let password = resolve_password(ctx, user, &instance).await?;
            let unchanged = hints.password_fingerprint.as_deref()
                == Some(fingerprint(&password.password, &identity(&object)).as_str());
            spec.password = Some(PasswordSpec {
                value: password.password.clone(),
                set_when_unverifiable: !unchanged,
            });
            // A new password in the Secret is a declared change (a rotation), not drift: it is applied whatever
            // the drift policy.
            let mut hints = hints;
            hints.spec_changed |= !unchanged;
            let (drift_mode, drift_interval) = drift_of(user.spec.drift_policy.as_ref(), &instance)?;
            Ok(Prepared {
                object,
                instance,
                database: None,
                role: Some(RoleWork {
                    spec,
                    password: Some(password),
                }),
                grants: Vec::new(),
                drift_mode,
                drift_interval,
                hints,
            })
        }
        Resource::DatabaseRole(role) => {
            let instance_object = instance_ref(
                role.spec.instance_ref.as_ref(),
                role.spec.cluster_instance_ref.as_ref(),
                &namespace,
            )?;
            let instance = resolve_instance(ctx, &instance_object, true).await?;
            let conversion = dbprov_api::convert::role(role, instance.kind).map_err(Failure::from)?;
            let mut spec = conversion.role;
            let granted = index.memberships(&instance_object, &spec.name);
            add_memberships(&mut spec, granted, instance.kind);
            let grants = index.merged(&instance_object, &object, conversion.grants);
            let (drift_mode, drift_interval) = drift_of(role.spec.drift_policy.as_ref(), &instance)?;
            Ok(Prepared {
                object,
                instance,
                database: None,
                role: Some(RoleWork { spec, password: None }),
                grants,
                drift_mode,
                drift_interval,
                hints,
            })
        }
        Resource::DatabaseGrant(grant) => {
            let target = grant_target(ctx, grant).await?;
            let instance = resolve_instance(ctx, &target.instance, true).await?;
            let conversion = dbprov_api::convert::grant(
                grant,
                instance.kind,
                &target.grantee,
                target.reference_database.as_deref(),
            )
            .map_err(Failure::from)?;
            let grants = index.merged(&target.instance, &object, conversion.grants);
            let (drift_mode, drift_interval) = drift_of(grant.spec.drift_policy.as_ref(), &instance)?;
            Ok(Prepared {
                object,
                instance,
                database: None,
                role: None,
                grants,
                drift_mode,
                drift_interval,
                hints,
            })
        }
        other => Err(Failure::invalid(FieldError::invalid(
            "kind",
            format!("{} is not reconciled here", other.kind_name()),
        ))),
    }
}

/// Adds roles granted through `DatabaseGrant`s to the memberships the user or role declares itself.
fn add_memberships(spec: &mut RoleSpec, roles: BTreeSet<dbprov_core::Name>, engine: dbprov_core::EngineKind) {
    if roles.is_empty() {
        return;
    }
    if engine == dbprov_core::EngineKind::Postgres {
        spec.postgres
            .member_of
            .get_or_insert_with(BTreeSet::new)
            .extend(roles);
    } else {
        spec.mysql.roles.get_or_insert_with(BTreeSet::new).extend(roles);
    }
}
