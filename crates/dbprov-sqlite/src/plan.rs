//! Planning: pure functions from a declaration and the catalog to a plan.

use std::path::Path;

use dbprov_core::model::{Catalog, DatabaseSpec};
use dbprov_core::{Drift, EngineError, Plan, Step};

use crate::connect::database_files;
use crate::sql;

pub fn plan_database(spec: &DatabaseSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    let mut plan = Plan::default();
    let name = spec.name.as_str();
    match catalog
        .database(&spec.name)
        .and_then(|state| state.sqlite.as_ref())
    {
        None => {
            // Opening the file creates it; switching to WAL is the statement that makes it a dbprov database.
            plan.push(
                Step::new(sql::enable_wal()?, format!("create database {name}"))
                    .in_database(name)
                    .non_transactional(),
            );
        }
        Some(state) if state.journal_mode != "wal" => {
            plan.drift.push(Drift::new(
                format!("database {name}"),
                "journalMode",
                "wal",
                &state.journal_mode,
            ));
            plan.push(
                Step::new(sql::enable_wal()?, format!("switch database {name} to WAL"))
                    .in_database(name)
                    .non_transactional(),
            );
        }
        Some(_) => {}
    }
    Ok(plan)
}

pub fn plan_drop_database(directory: &Path, name: &str, catalog_has_it: bool) -> Plan {
    let mut plan = Plan::default();
    if catalog_has_it {
        plan.push(
            Step::remove_files(database_files(directory, name), format!("drop database {name}"))
                .in_database(name),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use dbprov_core::model::{DatabaseState, SqliteDatabaseState};
    use dbprov_core::{Name, NameKind};

    use super::*;

    fn spec(name: &str) -> DatabaseSpec {
        DatabaseSpec::new(Name::parse(NameKind::Database, name).unwrap())
    }

    fn catalog_with(name: &str, journal_mode: &str) -> Catalog {
        let mut catalog = Catalog::default();
        let name = Name::parse(NameKind::Database, name).unwrap();
        catalog.databases.insert(
            name.clone(),
            DatabaseState {
                name,
                owner: None,
                postgres: None,
                mysql: None,
                sqlite: Some(SqliteDatabaseState {
                    path: PathBuf::from("/x"),
                    journal_mode: journal_mode.into(),
                    size_bytes: 0,
                }),
            },
        );
        catalog
    }

    #[test]
    fn missing_database_plans_creation() {
        let plan = plan_database(&spec("app"), &Catalog::default()).unwrap();
        assert_eq!(plan.statements(), vec!["PRAGMA journal_mode = WAL"]);
        assert_eq!(plan.steps[0].database.as_deref(), Some("app"));
    }

    #[test]
    fn wal_database_plans_nothing() {
        assert!(
            plan_database(&spec("app"), &catalog_with("app", "wal"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rollback_journal_is_drift() {
        let plan = plan_database(&spec("app"), &catalog_with("app", "delete")).unwrap();
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.drift[0].actual, "delete");
    }

    #[test]
    fn drop_removes_the_three_files() {
        let plan = plan_drop_database(Path::new("/d"), "app", true);
        assert_eq!(
            plan.statements(),
            vec!["-- remove /d/app.sqlite3, /d/app.sqlite3-wal, /d/app.sqlite3-shm"]
        );
        assert!(plan_drop_database(Path::new("/d"), "app", false).is_empty());
    }
}
