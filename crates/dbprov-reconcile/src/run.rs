//! Planning and applying prepared objects in batches: per instance, one catalog read per phase, then plan
//! (pure) and apply (unless planning only or the drift policy says to leave the server alone).

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::{CatalogRequest, GrantScope};
use dbprov_core::{Engine, ErrorCategory, Plan};

use crate::context::{Context, ObjectRef};
use crate::drift::{Decision, decide};
use crate::failure::Failure;
use crate::outcome::{Event, Info, Outcome};
use crate::password::fingerprint;
use crate::prepare::Prepared;

/// Plan only (print what would run), or plan and apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Apply,
}

/// The order objects converge in: roles and users exist before a database names one as its owner, and
/// grants come last because they need both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Roles,
    Databases,
    Grants,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Roles, Phase::Databases, Phase::Grants];
}

/// Runs one phase for every prepared object, recording into `outcomes` (one per object, created on first use).
/// Objects whose outcome already failed in an earlier phase are skipped.
pub async fn run(
    ctx: &Context,
    items: &[Prepared],
    phase: Phase,
    mode: Mode,
    outcomes: &mut BTreeMap<ObjectRef, Outcome>,
) {
    let mut groups: BTreeMap<String, Vec<&Prepared>> = BTreeMap::new();
    for item in items {
        let outcome = outcomes
            .entry(item.object.clone())
            .or_insert_with(|| Outcome::new(item.object.clone()));
        outcome.spec_changed = item.hints.spec_changed;
        if outcome.is_ok() && has_work(item, phase) {
            groups.entry(item.instance.cache_key()).or_default().push(item);
        }
    }
    for (key, group) in groups {
        let instance = &group[0].instance;
        let engine = match ctx.engines.get(&key, instance.kind, &instance.connection).await {
            Ok(engine) => engine,
            Err(error) => {
                fail_all(&group, outcomes, |_| Failure::Connect {
                    error: clone_error(&error),
                });
                continue;
            }
        };
        let request = request(&group, phase);
        let catalog = match engine.inspect(&request).await {
            Ok(catalog) => {
                tracing::debug!(instance = %key, phase = ?phase, objects = group.len(), queries = catalog.queries, "read the catalog");
                catalog
            }
            Err(error) => {
                // A read that fails because the server went away (a pool timing out) is a connection
                // failure: say so truthfully, and reconnect next time.
                let failure = match engine.ping().await {
                    Err(ping) => {
                        ctx.engines.forget(&key).await;
                        ping
                    }
                    Ok(()) => error,
                };
                fail_all(&group, outcomes, |_| match failure.category() {
                    ErrorCategory::ConnectionFailed
                    | ErrorCategory::AuthenticationFailed
                    | ErrorCategory::TlsFailed => Failure::Connect {
                        error: clone_error(&failure),
                    },
                    _ => Failure::Engine {
                        error: clone_error(&failure),
                    },
                });
                continue;
            }
        };
        let mut planned_scopes: BTreeSet<GrantScope> = BTreeSet::new();
        for item in group {
            let outcome = outcomes
                .get_mut(&item.object)
                .expect("an outcome was created for every item");
            let result = match phase {
                Phase::Databases => database_phase(engine.as_ref(), item, &catalog, mode, outcome).await,
                Phase::Roles => role_phase(ctx, engine.as_ref(), item, &catalog, mode, outcome).await,
                Phase::Grants => {
                    grant_phase(
                        engine.as_ref(),
                        item,
                        &catalog,
                        mode,
                        outcome,
                        &mut planned_scopes,
                    )
                    .await
                }
            };
            if let Err(failure) = result {
                let taken = std::mem::replace(outcome, Outcome::new(item.object.clone()));
                *outcome = taken.failed(failure);
            }
        }
    }
}

fn has_work(item: &Prepared, phase: Phase) -> bool {
    match phase {
        Phase::Databases => item.database.is_some(),
        Phase::Roles => item.role.is_some(),
        Phase::Grants => !item.grants.is_empty(),
    }
}

fn request(group: &[&Prepared], phase: Phase) -> CatalogRequest {
    let mut request = CatalogRequest::default();
    for item in group {
        match phase {
            Phase::Databases => {
                if let Some(database) = &item.database {
                    request = request.database(database.name.clone(), database.postgres.needs_inside());
                }
            }
            Phase::Roles => {
                if let Some(role) = &item.role {
                    request = request.role(role.spec.name.clone());
                }
            }
            Phase::Grants => {
                for grant in &item.grants {
                    let scope = GrantScope {
                        grantee: grant.grantee.clone(),
                        database: grant.database.clone(),
                    };
                    request = if grant.is_database_level_only()
                        && (item.hints.first_apply || item.hints.database_level_scopes.contains(&scope))
                    {
                        request.grant_database_level(scope.grantee, scope.database)
                    } else {
                        request.grant(scope.grantee, scope.database)
                    };
                }
            }
        }
    }
    request
}

fn fail_all(
    group: &[&Prepared],
    outcomes: &mut BTreeMap<ObjectRef, Outcome>,
    failure: impl Fn(&Prepared) -> Failure,
) {
    for item in group {
        let outcome = outcomes
            .remove(&item.object)
            .unwrap_or_else(|| Outcome::new(item.object.clone()));
        outcomes.insert(item.object.clone(), outcome.failed(failure(item)));
    }
}

/// Engine errors are not `Clone` (they carry sources); a group failure is reported to each object with the
/// same message and category.
fn clone_error(error: &dbprov_core::EngineError) -> dbprov_core::EngineError {
    use dbprov_core::EngineError;
    use dbprov_core::error::error_chain;
    let message: dbprov_core::error::BoxError = error_chain(error).into();
    match error {
        EngineError::Connect {
            engine,
            target,
            failure,
            ..
        } => EngineError::Connect {
            engine,
            target: target.clone(),
            failure: *failure,
            source: message,
        },
        EngineError::Inspect { target, action, .. } => EngineError::Inspect {
            target: target.clone(),
            action: action.clone(),
            source: message,
        },
        EngineError::Unsupported { engine, operation } => EngineError::Unsupported {
            engine,
            operation: operation.clone(),
        },
        other => EngineError::Inspect {
            target: String::new(),
            action: other.to_string(),
            source: message,
        },
    }
}

/// Decides, applies when it should, and records the result of one object's plan in one phase.
async fn converge(
    engine: &dyn Engine,
    item: &Prepared,
    exists: bool,
    plan: Plan,
    mode: Mode,
    outcome: &mut Outcome,
) -> Result<bool, Failure> {
    let decision = decide(exists, item.hints.spec_changed, item.drift_mode);
    let mut plan = plan;
    if !exists || item.hints.spec_changed {
        // Differences caused by a new or changed declaration are the change itself, not drift; only what
        // cannot be corrected (an encoding, a locale) is still worth reporting.
        plan.drift.retain(|drift| !drift.correctable);
    }
    let drift = plan.drift.clone();
    let has_steps = !plan.steps.is_empty();
    let mut applied = false;
    match (mode, decision) {
        (Mode::Apply, Decision::Apply) if has_steps => {
            let report = engine
                .apply(&plan)
                .await
                .map_err(|error| Failure::Engine { error })?;
            outcome.executed.extend(report.executed);
            applied = true;
            if !drift.is_empty() && exists && !item.hints.spec_changed {
                outcome.events.push(Event::normal(
                    "DriftCorrected",
                    format!("corrected {} difference(s)", drift.len()),
                ));
            }
        }
        (Mode::Apply, Decision::Report) if !drift.is_empty() || has_steps => {
            outcome.events.push(Event::warning(
                "DriftDetected",
                drift
                    .iter()
                    .map(|d| {
                        format!(
                            "{} {}: declared {}, found {}",
                            d.object, d.field, d.declared, d.actual
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
            outcome.drift_left.extend(drift.iter().cloned());
        }
        // `ignore`: nothing is applied and nothing reported.
        (Mode::Apply, Decision::Ignore) => return Ok(false),
        _ => {}
    }
    // Correctable-only drift stays reported when nothing could correct it (an encoding, a locale).
    if applied {
        outcome
            .drift_left
            .extend(drift.iter().filter(|d| !d.correctable).cloned());
    }
    outcome.applied |= applied;
    outcome.plan.extend(plan);
    Ok(applied)
}

async fn database_phase(
    engine: &dyn Engine,
    item: &Prepared,
    catalog: &dbprov_core::model::Catalog,
    mode: Mode,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    let spec = item.database.as_ref().expect("has_work checked the database");
    let state = catalog.database(&spec.name);
    let exists = state.is_some();
    outcome.exists_before = exists;
    let plan = engine
        .plan_database(spec, catalog)
        .map_err(|error| Failure::Engine { error })?;
    let applied = converge(engine, item, exists, plan, mode, outcome).await?;
    if applied && !exists {
        outcome.created = true;
        outcome.events.push(Event::normal(
            "DatabaseCreated",
            format!("created database {}", spec.name),
        ));
    } else if applied {
        outcome.events.push(Event::normal(
            "DatabaseUpdated",
            format!("updated database {}", spec.name),
        ));
    }
    let pg = state.and_then(|state| state.postgres.as_ref());
    let my = state.and_then(|state| state.mysql.as_ref());
    outcome.info = Info::Database {
        engine: engine.server().kind,
        name: spec.name.to_string(),
        owner: spec
            .owner
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| state.and_then(|state| state.owner.clone())),
        size_bytes: state
            .and_then(|state| state.sqlite.as_ref())
            .map(|sqlite| i64::try_from(sqlite.size_bytes).unwrap_or(i64::MAX)),
        encoding: pg
            .map(|pg| pg.encoding.clone())
            .or_else(|| spec.postgres.encoding.clone()),
        collation: pg
            .map(|pg| pg.lc_collate.clone())
            .or_else(|| my.map(|my| my.collation.clone()))
            .or_else(|| spec.mysql.collation.clone()),
        extensions: pg
            .and_then(|pg| pg.extensions.as_ref())
            .map(|extensions| {
                extensions
                    .iter()
                    .map(|e| (e.name.clone(), e.version.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        schemas: pg
            .and_then(|pg| pg.schemas.as_ref())
            .map(|schemas| schemas.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default(),
        charset: my
            .map(|my| my.charset.clone())
            .or_else(|| spec.mysql.charset.clone()),
    };
    Ok(())
}

async fn role_phase(
    ctx: &Context,
    engine: &dyn Engine,
    item: &Prepared,
    catalog: &dbprov_core::model::Catalog,
    mode: Mode,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    let work = item.role.as_ref().expect("has_work checked the role");
    let exists = catalog.role(&work.spec.name).is_some();
    outcome.exists_before = exists;
    let plan = engine
        .plan_role(&work.spec, catalog)
        .map_err(|error| Failure::Engine { error })?;
    // Generated credentials reach durable storage before the server is changed: a crash between the two leaves
    // a Secret whose password the next reconcile sets, never a password nobody knows.
    if let Some(password) = &work.password
        && let Some(secret) = &password.write
    {
        match mode {
            Mode::Plan => outcome.notes.push(format!(
                "write secret {}/{} ({})",
                secret.namespace,
                secret.name,
                if password.generated {
                    "generated password"
                } else {
                    "credential keys"
                }
            )),
            Mode::Apply => {
                ctx.secrets
                    .put(secret)
                    .await
                    .map_err(|error| Failure::WriteSecret {
                        namespace: secret.namespace.clone(),
                        name: secret.name.clone(),
                        error,
                    })?;
                outcome.secret_written = Some((secret.namespace.clone(), secret.name.clone()));
                outcome.events.push(Event::normal(
                    "SecretWritten",
                    format!("wrote secret {}/{}", secret.namespace, secret.name),
                ));
            }
        }
    }
    let rotated = plan
        .steps
        .iter()
        .any(|step| step.statement().is_some_and(|s| s.has_secret()))
        && exists;
    let applied = converge(engine, item, exists, plan, mode, outcome).await?;
    let noun = if work.spec.login { "user" } else { "role" };
    if applied && !exists {
        outcome.created = true;
        outcome.events.push(Event::normal(
            if work.spec.login {
                "UserCreated"
            } else {
                "RoleCreated"
            },
            format!("created {noun} {}", work.spec.name),
        ));
    } else if applied {
        outcome.events.push(Event::normal(
            if work.spec.login {
                "UserUpdated"
            } else {
                "RoleUpdated"
            },
            format!("updated {noun} {}", work.spec.name),
        ));
    }
    if mode == Mode::Apply
        && let Some(password) = &work.password
        && outcome.drift_left.is_empty()
    {
        outcome.password_fingerprint = Some(fingerprint(&password.password, &identity(&item.object)));
    }
    outcome.info = match &work.password {
        Some(password) => Info::User {
            engine: engine.server().kind,
            username: work.spec.name.to_string(),
            secret: Some(password.secret.clone()),
            password_rotated: rotated && applied,
        },
        None => Info::Role {
            engine: engine.server().kind,
            name: work.spec.name.to_string(),
        },
    };
    Ok(())
}

/// The key password fingerprints are computed with.
pub fn identity(object: &ObjectRef) -> String {
    format!(
        "{}/{}/{}",
        object.kind.as_str(),
        object.namespace.as_deref().unwrap_or(""),
        object.name
    )
}

async fn grant_phase(
    engine: &dyn Engine,
    item: &Prepared,
    catalog: &dbprov_core::model::Catalog,
    mode: Mode,
    outcome: &mut Outcome,
    planned: &mut BTreeSet<GrantScope>,
) -> Result<(), Failure> {
    let mut direct = 0;
    let mut defaults = 0;
    for grant in &item.grants {
        let scope = GrantScope {
            grantee: grant.grantee.clone(),
            database: grant.database.clone(),
        };
        direct += grant.postgres.schemas.len()
            + grant.postgres.tables.len()
            + grant.postgres.sequences.len()
            + grant.postgres.functions.len()
            + usize::from(!grant.postgres.database.is_empty())
            + grant.mysql.tables.len()
            + grant.mysql.columns.len()
            + grant.mysql.routines.len()
            + usize::from(!grant.mysql.database.privileges.is_empty())
            + usize::from(grant.mysql.global.is_some());
        defaults += grant.postgres.default_privileges.len();
        // Another object of this batch declared the same scope: the merged declaration was planned once.
        if !planned.insert(scope) {
            continue;
        }
        let plan = engine
            .plan_grants(grant, catalog)
            .map_err(|error| Failure::Engine { error })?;
        // Grants have no "missing object" to create: a scope with nothing granted yet is drift like any other
        // unless the declaration changed (a new object counts as changed).
        let applied = converge(engine, item, true, plan, mode, outcome).await?;
        if applied {
            outcome.events.push(Event::normal(
                "GrantsApplied",
                format!("privileges of {} on {} converged", grant.grantee, grant.database),
            ));
        }
    }
    let grantee = item
        .grants
        .first()
        .map(|grant| grant.grantee.to_string())
        .unwrap_or_default();
    if matches!(outcome.info, Info::None | Info::Grant { .. }) {
        outcome.info = Info::Grant {
            engine: engine.server().kind,
            grantee,
            roles: Vec::new(),
            direct_grants: i32::try_from(direct).unwrap_or(i32::MAX),
            default_privileges: i32::try_from(defaults).unwrap_or(i32::MAX),
        };
    }
    Ok(())
}
