//! The reconcile path of databases, users, roles and grants, batched: prepare every object (resolve, validate,
//! convert), then run the shared phases in dependency order. A controller calls it with the one object it
//! reconciles; a resync (and the benchmark) may call it with many, so each instance's catalog is read once per
//! phase for all of them.

use std::collections::BTreeMap;
use std::time::Duration;

use dbprov_api::{Kind, Resource};
use dbprov_core::EngineError;
use dbprov_core::error::{ConnectFailure, error_chain};
use dbprov_reconcile::index::GrantIndex;
use dbprov_reconcile::prepare::Hints;
use dbprov_reconcile::run::Phase;
use dbprov_reconcile::{
    Context, Event, EventType, Failure, Mode, ObjectRef, Outcome, Prepared, ResolvedInstance, prepare, run,
};

/// One object to converge, with what the host knows of its history.
pub struct Item {
    pub resource: Resource,
    pub hints: Hints,
}

/// What converging one object did.
#[derive(Debug)]
pub struct Converged {
    pub object: ObjectRef,
    pub outcome: Outcome,
    /// How often the object's drift policy wants it checked (known once it was prepared).
    pub drift_interval: Option<Duration>,
    /// The instance it lives on (known once it was prepared).
    pub instance: Option<ResolvedInstance>,
}

/// Prepares and converges `items` (no instances: those are reconciled by `dbprov_reconcile::reconcile_instance`).
/// Returns one result per item, in order; an item that is not a reconcilable kind fails as invalid.
pub async fn converge(ctx: &Context, index: &GrantIndex, items: Vec<Item>) -> Vec<Converged> {
    let mut order = Vec::with_capacity(items.len());
    let mut ready: Vec<Prepared> = Vec::with_capacity(items.len());
    let mut outcomes: BTreeMap<ObjectRef, Outcome> = BTreeMap::new();
    for item in items {
        // Only the four reconciled kinds get this far; anything else (a Secret has no kind of its own) fails
        // `prepare` and is reported under its name.
        let fallback = ObjectRef::of(&item.resource).unwrap_or_else(|| {
            ObjectRef::new(Kind::Database, item.resource.namespace(), item.resource.name())
        });
        match prepare(ctx, &item.resource, index, item.hints).await {
            Ok(prepared) => {
                order.push(prepared.object.clone());
                ready.push(prepared);
            }
            Err(failure) => {
                order.push(fallback.clone());
                outcomes.insert(fallback.clone(), Outcome::new(fallback).failed(failure));
            }
        }
    }
    let of_kind = |kind: Kind| -> Vec<Prepared> {
        ready
            .iter()
            .filter(|item| item.object.kind == kind)
            .cloned()
            .collect()
    };
    run(ctx, &ready, Phase::Databases, Mode::Apply, &mut outcomes).await;
    // Roles exist before users are made members of them.
    run(
        ctx,
        &of_kind(Kind::DatabaseRole),
        Phase::Roles,
        Mode::Apply,
        &mut outcomes,
    )
    .await;
    run(
        ctx,
        &of_kind(Kind::DatabaseUser),
        Phase::Roles,
        Mode::Apply,
        &mut outcomes,
    )
    .await;
    run(ctx, &ready, Phase::Grants, Mode::Apply, &mut outcomes).await;
    let mut prepared: BTreeMap<ObjectRef, Prepared> = ready
        .into_iter()
        .map(|item| (item.object.clone(), item))
        .collect();
    let mut converged: Vec<Converged> = order
        .into_iter()
        .map(|object| {
            let outcome = outcomes
                .remove(&object)
                .unwrap_or_else(|| Outcome::new(object.clone()).failed(duplicate(&object)));
            let item = prepared.remove(&object);
            Converged {
                drift_interval: item.as_ref().map(|item| item.drift_interval),
                instance: item.map(|item| item.instance),
                object,
                outcome,
            }
        })
        .collect();
    check_lost_connections(ctx, &mut converged).await;
    converged
}

/// A server that went away while its connection pool was open makes catalog reads fail as read errors
/// ("pool timed out"). When a transient engine failure happened, ping the instance once: if it does not
/// answer, the failure is reported as the lost connection it is, and the pool is dropped so the next attempt
/// reconnects from scratch.
async fn check_lost_connections(ctx: &Context, converged: &mut [Converged]) {
    let mut checked: BTreeMap<String, Option<(ConnectFailure, String)>> = BTreeMap::new();
    for item in converged.iter_mut() {
        let (Some(instance), Some(Failure::Engine { error })) = (&item.instance, &item.outcome.failure)
        else {
            continue;
        };
        if matches!(error, EngineError::Connect { .. }) || !error.category().is_transient() {
            continue;
        }
        let key = instance.cache_key();
        if !checked.contains_key(&key) {
            let lost = match ctx.engines.get(&key, instance.kind, &instance.connection).await {
                Ok(engine) => engine.ping().await.err(),
                Err(error) => Some(error),
            };
            if lost.is_some() {
                ctx.engines.forget(&key).await;
            }
            checked.insert(key.clone(), lost.map(|error| why(&error)));
        }
        if let Some(Some((failure, message))) = checked.get(&key) {
            replace_failure(&mut item.outcome, lost_connection(instance, *failure, message));
        }
    }
}

/// Why a ping failed, without the "failed to connect" the new failure says itself.
fn why(error: &EngineError) -> (ConnectFailure, String) {
    match error {
        EngineError::Connect { failure, source, .. } => (*failure, error_chain(source.as_ref())),
        other => (ConnectFailure::Unreachable, error_chain(other)),
    }
}

/// The failure of a server that stopped answering (reason `ConnectionFailed`).
fn lost_connection(instance: &ResolvedInstance, failure: ConnectFailure, message: &str) -> Failure {
    Failure::Connect {
        error: EngineError::Connect {
            engine: instance.kind.display_name(),
            target: instance.connection.label.clone(),
            failure,
            source: message.to_owned().into(),
        },
    }
}

/// Replaces an outcome's failure and the warning event that announced it.
fn replace_failure(outcome: &mut Outcome, failure: Failure) {
    if let Some(previous) = outcome.failure.take() {
        let (reason, message) = (previous.reason(), previous.to_string());
        outcome.events.retain(|event| {
            !(event.event_type == EventType::Warning && event.reason == reason && event.message == message)
        });
    }
    outcome
        .events
        .push(Event::warning(failure.reason(), failure.to_string()));
    outcome.failure = Some(failure);
}

/// The same object twice in one batch: its outcome went to the first occurrence.
fn duplicate(object: &ObjectRef) -> Failure {
    Failure::invalid(dbprov_api::FieldError::invalid(
        "metadata.name",
        format!("{object} appears twice in one batch"),
    ))
}
