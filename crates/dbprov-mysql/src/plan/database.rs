//! Databases: `CREATE DATABASE`, `ALTER DATABASE` when the character set or collation differs, `DROP`.

use dbprov_core::model::validate::validate_database;
use dbprov_core::model::{Catalog, DatabaseSpec};
use dbprov_core::{Drift, EngineError, Name, NameKind, Plan};

use crate::plan::{Planner, step};
use crate::sql::database as sql;

/// MariaDB 10.6+ reports `utf8` as `utf8mb3`; both spell the same character set.
fn normalize_charset(charset: &str) -> String {
    let lower = charset.to_ascii_lowercase();
    if lower == "utf8" {
        "utf8mb3".to_owned()
    } else {
        lower
    }
}

fn normalize_collation(collation: &str) -> String {
    let lower = collation.to_ascii_lowercase();
    match lower.strip_prefix("utf8_") {
        Some(rest) => format!("utf8mb3_{rest}"),
        None => lower,
    }
}

pub fn plan_database(
    planner: &Planner<'_>,
    spec: &DatabaseSpec,
    catalog: &Catalog,
) -> Result<Plan, EngineError> {
    validate_database(spec, planner.capabilities)?;
    let object = format!("database {}", spec.name);
    let dialect = planner.facts.dialect();
    let charset = spec.mysql.charset.as_deref();
    let collation = spec.mysql.collation.as_deref();
    let mut plan = Plan::default();

    let Some(state) = catalog.database(&spec.name) else {
        plan.drift.push(Drift::new(&object, "exists", true, false));
        plan.push(step(
            sql::create_database(dialect, spec.name.as_str(), charset, collation),
            format!("create database {}", spec.name),
        )?);
        return Ok(plan);
    };
    let Some(actual) = state.mysql.as_ref() else {
        return Err(EngineError::invalid_spec(
            object,
            "catalog",
            "the catalog has no MySQL state for this database",
        ));
    };

    let charset_differs =
        charset.is_some_and(|charset| normalize_charset(charset) != normalize_charset(&actual.charset));
    let collation_differs = collation
        .is_some_and(|collation| normalize_collation(collation) != normalize_collation(&actual.collation));
    if charset_differs {
        plan.drift.push(Drift::new(
            &object,
            "charset",
            charset.unwrap_or_default(),
            &actual.charset,
        ));
    }
    if collation_differs {
        plan.drift.push(Drift::new(
            &object,
            "collation",
            collation.unwrap_or_default(),
            &actual.collation,
        ));
    }
    if charset_differs || collation_differs {
        // One statement: changing the character set alone would reset the collation to its default.
        plan.push(step(
            sql::alter_database(dialect, spec.name.as_str(), charset, collation),
            format!("alter database {}", spec.name),
        )?);
    }
    Ok(plan)
}

pub fn plan_drop_database(
    planner: &Planner<'_>,
    name: &Name,
    catalog: &Catalog,
) -> Result<Plan, EngineError> {
    planner
        .capabilities
        .name_limits
        .check_new(planner.engine(), NameKind::Database, name)?;
    let mut plan = Plan::default();
    if catalog.database(name).is_some() {
        plan.drift
            .push(Drift::new(format!("database {name}"), "exists", false, true).destructive());
        plan.push(step(
            sql::drop_database(planner.facts.dialect(), name.as_str()),
            format!("drop database {name}"),
        )?);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::model::{DatabaseState, MySqlDatabaseState};
    use dbprov_core::{EngineKind, MySqlStringMode};

    use crate::flavor::{ServerFacts, capabilities};

    fn with_planner<T>(run: impl FnOnce(&Planner<'_>) -> T) -> T {
        let facts = ServerFacts::new(
            EngineKind::MariaDb,
            (10, 11, 19),
            MySqlStringMode::BackslashEscapes,
        );
        let caps = capabilities(facts.kind, facts.version);
        run(&Planner {
            facts: &facts,
            capabilities: &caps,
        })
    }

    fn name(value: &str) -> Name {
        Name::parse(NameKind::Database, value).unwrap()
    }

    fn catalog_with(value: &str, charset: &str, collation: &str) -> Catalog {
        let mut catalog = Catalog::default();
        catalog.databases.insert(
            name(value),
            DatabaseState {
                name: name(value),
                owner: None,
                postgres: None,
                mysql: Some(MySqlDatabaseState {
                    charset: charset.into(),
                    collation: collation.into(),
                }),
                sqlite: None,
            },
        );
        catalog
    }

    #[test]
    fn missing_database_is_created_outside_a_transaction() {
        let mut spec = DatabaseSpec::new(name("app"));
        spec.mysql.charset = Some("utf8mb4".into());
        let plan = with_planner(|planner| plan_database(planner, &spec, &Catalog::default())).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["CREATE DATABASE `app` CHARACTER SET 'utf8mb4'"]
        );
        assert!(plan.steps.iter().all(|step| !step.transactional));
    }

    #[test]
    fn unchanged_database_plans_nothing_and_aliases_compare_equal() {
        let mut spec = DatabaseSpec::new(name("app"));
        spec.mysql.charset = Some("UTF8".into());
        spec.mysql.collation = Some("utf8_general_ci".into());
        let catalog = catalog_with("app", "utf8mb3", "utf8mb3_general_ci");
        let plan = with_planner(|planner| plan_database(planner, &spec, &catalog)).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn changed_collation_plans_one_statement() {
        let mut spec = DatabaseSpec::new(name("app"));
        spec.mysql.collation = Some("utf8mb4_bin".into());
        let catalog = catalog_with("app", "utf8mb4", "utf8mb4_unicode_ci");
        let plan = with_planner(|planner| plan_database(planner, &spec, &catalog)).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["ALTER DATABASE `app` COLLATE 'utf8mb4_bin'"]
        );
        assert_eq!(plan.drift.len(), 1);
    }

    #[test]
    fn owner_is_unsupported_and_drop_is_destructive() {
        let mut spec = DatabaseSpec::new(name("app"));
        spec.owner = Some(name("someone"));
        let error = with_planner(|planner| plan_database(planner, &spec, &Catalog::default())).unwrap_err();
        assert_eq!(error.kind(), "Unsupported", "{error}");

        let catalog = catalog_with("app", "utf8mb4", "utf8mb4_bin");
        let plan = with_planner(|planner| plan_drop_database(planner, &name("app"), &catalog)).unwrap();
        assert_eq!(plan.statements(), vec!["DROP DATABASE IF EXISTS `app`"]);
        assert!(plan.drift[0].destructive);
        let plan = with_planner(|planner| plan_drop_database(planner, &name("gone"), &catalog)).unwrap();
        assert!(plan.is_empty());
    }

    #[test]
    fn too_long_names_are_rejected_before_sql() {
        let spec = DatabaseSpec::new(name(&"x".repeat(65)));
        let error = with_planner(|planner| plan_database(planner, &spec, &Catalog::default())).unwrap_err();
        assert_eq!(error.kind(), "InvalidName");
    }
}
