//! `dbprov delete`: honours deletionProtection (refused, naming the field) and deletionPolicy, drops only what
//! dbprov created, and forgets the object.

use std::path::PathBuf;
use std::sync::Arc;

use dbprov_api::{Kind, Resource, Scope};
use dbprov_reconcile::deletion::delete as delete_object;
use dbprov_reconcile::{Context, Failure, Mode, ObjectRef};

use crate::ExitStatus;
use crate::cli::GlobalOptions;
use crate::host::{CliWorld, Loaded, key_of};
use crate::loader;
use crate::output::resource_name;
use crate::state::{ObjectKey, StateStore};

pub async fn delete(
    global: &GlobalOptions,
    files: &[PathBuf],
    kind: Option<&str>,
    name: Option<&str>,
    namespace: &str,
) -> anyhow::Result<ExitStatus> {
    let state = StateStore::open(&global.state_dir).await?;
    let mut targets: Vec<Resource> = Vec::new();
    let mut manifests: Vec<Loaded> = Vec::new();
    if !files.is_empty() {
        let documents = match loader::load(files) {
            Ok(documents) => documents,
            Err(problems) => {
                for problem in problems {
                    eprintln!("dbprov: error: {problem}");
                }
                return Ok(ExitStatus::Failure);
            }
        };
        for document in documents {
            if document.loaded.resource.kind().is_some() {
                targets.push(document.loaded.resource.clone());
            }
            manifests.push(document.loaded);
        }
    } else {
        let (Some(kind), Some(name)) = (kind, name) else {
            eprintln!("dbprov: error: name the objects: `delete -f PATH` or `delete KIND NAME`");
            return Ok(ExitStatus::Failure);
        };
        let kind = Kind::parse(kind)?;
        let namespace = if kind.scope() == Scope::Cluster {
            String::new()
        } else {
            namespace.to_owned()
        };
        let key = ObjectKey {
            kind: kind.as_str().to_owned(),
            namespace,
            name: name.to_owned(),
        };
        let Some(record) = state.get(&key).await? else {
            eprintln!(
                "dbprov: error: {} {name:?} is not managed by dbprov (nothing in {})",
                kind.singular(),
                global.state_dir.display()
            );
            return Ok(ExitStatus::Failure);
        };
        targets.push(dbprov_api::parse_document(record.manifest)?);
    }
    // Dependents first: grants, users, roles, databases, then instances.
    targets.sort_by_key(|resource| std::cmp::Reverse(resource.kind().map_or(0, Kind::dependency_order)));

    let world = Arc::new(CliWorld::new(manifests, state.clone()));
    let ctx = Context::new(world.clone(), world.clone());
    let mut status = ExitStatus::Success;
    for resource in &targets {
        let object = ObjectRef::of(resource).expect("targets are API kinds");
        let record = state.get(&key_of(&object)).await?;
        let created = record.as_ref().is_some_and(|record| record.created);
        let outcome = delete_object(&ctx, resource, created, Mode::Apply).await;
        let name = resource_name(&object);
        match &outcome.failure {
            Some(failure @ Failure::DeletionProtected { .. }) => {
                println!("{name} refused: {failure}");
                status = ExitStatus::Failure;
            }
            Some(failure) => {
                println!("{name} failed: {failure}");
                status = ExitStatus::Failure;
            }
            None => {
                state.remove(&key_of(&object)).await?;
                match outcome.notes.first() {
                    Some(note) if !outcome.applied => println!("{name} released: {note}"),
                    _ if outcome.applied => println!("{name} deleted"),
                    _ => println!("{name} deleted (nothing on the server)"),
                }
            }
        }
    }
    ctx.engines.close_all().await;
    state.close().await;
    Ok(status)
}
