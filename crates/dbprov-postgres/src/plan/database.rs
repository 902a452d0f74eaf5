//! Databases: create or alter one attribute per statement; extensions and schemas inside; drop.

use dbprov_core::model::validate::validate_database;
use dbprov_core::model::{Catalog, DatabaseSpec, PgDatabaseState};
use dbprov_core::{Drift, EngineError, Name, NameKind, Plan, Step};

use crate::CAPABILITIES;
use crate::connect::ServerFacts;
use crate::sql::database as sql;

/// Plans a database: `CREATE DATABASE` when it is missing, otherwise one `ALTER DATABASE` per changed
/// attribute; then the declared schemas and extensions inside it.
pub(crate) fn plan_database(spec: &DatabaseSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    validate_database(spec, &CAPABILITIES)?;
    let name = spec.name.as_str();
    let object = format!("database {name}");
    let options = &spec.postgres;
    if options.allow_connections == Some(false) && options.needs_inside() {
        return Err(EngineError::invalid_spec(
            object,
            "allowConnections",
            "extensions and schemas are managed from inside the database, which needs allowConnections",
        ));
    }
    let mut plan = Plan::default();
    let Some(state) = catalog.database(&spec.name) else {
        plan.drift.push(Drift::new(&object, "exists", true, false));
        plan.push(Step::new(sql::create_database(spec)?, format!("create {object}")).non_transactional());
        plan_inside(&mut plan, spec, &[], &[])?;
        return Ok(plan);
    };
    let actual = state.postgres.as_ref().ok_or_else(|| not_postgres(&object))?;

    if let Some(owner) = &spec.owner
        && state.owner.as_deref() != Some(owner.as_str())
    {
        plan.drift.push(Drift::new(
            &object,
            "owner",
            owner,
            state.owner.as_deref().unwrap_or("<none>"),
        ));
        plan.push(Step::new(
            sql::alter_database_owner(name, owner.as_str())?,
            format!("change the owner of {object}"),
        ));
    }
    fixed_attribute(
        &mut plan,
        &object,
        "encoding",
        options.encoding.as_deref(),
        &actual.encoding,
        |a, b| a.eq_ignore_ascii_case(b),
    );
    fixed_attribute(
        &mut plan,
        &object,
        "lcCollate",
        options.lc_collate.as_deref(),
        &actual.lc_collate,
        same_locale,
    );
    fixed_attribute(
        &mut plan,
        &object,
        "lcCtype",
        options.lc_ctype.as_deref(),
        &actual.lc_ctype,
        same_locale,
    );
    if let Some(tablespace) = &options.tablespace
        && tablespace.as_str() != actual.tablespace
    {
        plan.drift
            .push(Drift::new(&object, "tablespace", tablespace, &actual.tablespace));
        plan.push(
            Step::new(
                sql::alter_database_tablespace(name, tablespace.as_str())?,
                format!("move {object} to tablespace {tablespace}"),
            )
            .non_transactional(),
        );
    }
    if let Some(limit) = options.connection_limit
        && limit != actual.connection_limit
    {
        plan.drift.push(Drift::new(
            &object,
            "connectionLimit",
            limit,
            actual.connection_limit,
        ));
        plan.push(Step::new(
            sql::alter_database_connection_limit(name, limit)?,
            format!("set the connection limit of {object}"),
        ));
    }
    if let Some(is_template) = options.is_template
        && is_template != actual.is_template
    {
        plan.drift
            .push(Drift::new(&object, "isTemplate", is_template, actual.is_template));
        plan.push(Step::new(
            sql::alter_database_is_template(name, is_template)?,
            format!("set is_template of {object}"),
        ));
    }
    if let Some(allow) = options.allow_connections
        && allow != actual.allow_connections
    {
        plan.drift.push(Drift::new(
            &object,
            "allowConnections",
            allow,
            actual.allow_connections,
        ));
        plan.push(Step::new(
            sql::alter_database_allow_connections(name, allow)?,
            format!("set allow_connections of {object}"),
        ));
    }
    if options.needs_inside() {
        if !options.allow_connections.unwrap_or(actual.allow_connections) {
            return Err(EngineError::invalid_spec(
                object,
                "allowConnections",
                "the database does not allow connections, so its extensions and schemas cannot be managed",
            ));
        }
        let (Some(extensions), Some(schemas)) = (&actual.extensions, &actual.schemas) else {
            return Err(EngineError::invalid_spec(
                object,
                "extensions",
                "the catalog was read without looking inside the database (request it with inside = true)",
            ));
        };
        plan_inside(&mut plan, spec, extensions, schemas)?;
    }
    Ok(plan)
}

fn not_postgres(object: &str) -> EngineError {
    EngineError::invalid_spec(
        object,
        "catalog",
        "the catalog entry was not read from PostgreSQL",
    )
}

/// Encoding and locale are fixed when a database is created: a difference is reported, never corrected.
fn fixed_attribute(
    plan: &mut Plan,
    object: &str,
    field: &str,
    declared: Option<&str>,
    actual: &str,
    same: impl Fn(&str, &str) -> bool,
) {
    if let Some(declared) = declared
        && !same(declared, actual)
    {
        plan.drift
            .push(Drift::new(object, field, declared, actual).not_correctable());
    }
}

/// `en_US.UTF-8` and `en_US.utf8` name the same locale (glibc normalizes the codeset).
fn same_locale(left: &str, right: &str) -> bool {
    fn normalize(locale: &str) -> String {
        match locale.split_once('.') {
            Some((language, codeset)) => {
                let codeset: String = codeset
                    .chars()
                    .filter(|ch| *ch != '-')
                    .map(|ch| ch.to_ascii_lowercase())
                    .collect();
                format!("{language}.{codeset}")
            }
            None => locale.to_owned(),
        }
    }
    normalize(left) == normalize(right)
}

/// Declared schemas (first, so extensions can be placed in them) and extensions; undeclared ones are left alone.
fn plan_inside(
    plan: &mut Plan,
    spec: &DatabaseSpec,
    extensions: &[dbprov_core::model::PgExtensionState],
    schemas: &[dbprov_core::model::PgSchemaState],
) -> Result<(), EngineError> {
    let database = spec.name.as_str();
    for schema in &spec.postgres.schemas {
        let object = format!("schema {} in database {database}", schema.name);
        let owner = schema.owner.as_ref().map(Name::as_str);
        match schemas.iter().find(|actual| actual.name == schema.name.as_str()) {
            None => {
                plan.drift.push(Drift::new(&object, "exists", true, false));
                plan.push(
                    Step::new(
                        sql::create_schema(schema.name.as_str(), owner)?,
                        format!("create {object}"),
                    )
                    .in_database(database),
                );
            }
            Some(actual) => {
                if let Some(owner) = owner
                    && owner != actual.owner
                {
                    plan.drift
                        .push(Drift::new(&object, "owner", owner, &actual.owner));
                    plan.push(
                        Step::new(
                            sql::alter_schema_owner(schema.name.as_str(), owner)?,
                            format!("change the owner of {object}"),
                        )
                        .in_database(database),
                    );
                }
            }
        }
    }
    for extension in &spec.postgres.extensions {
        let object = format!("extension {} in database {database}", extension.name);
        let schema = extension.schema.as_ref().map(Name::as_str);
        let version = extension.version.as_deref();
        match extensions
            .iter()
            .find(|actual| actual.name == extension.name.as_str())
        {
            None => {
                plan.drift.push(Drift::new(&object, "exists", true, false));
                plan.push(
                    Step::new(
                        sql::create_extension(extension.name.as_str(), schema, version)?,
                        format!("create {object}"),
                    )
                    .in_database(database),
                );
            }
            Some(actual) => {
                if let Some(schema) = schema
                    && schema != actual.schema
                {
                    plan.drift
                        .push(Drift::new(&object, "schema", schema, &actual.schema));
                    plan.push(
                        Step::new(
                            sql::alter_extension_schema(extension.name.as_str(), schema)?,
                            format!("move {object} to schema {schema}"),
                        )
                        .in_database(database),
                    );
                }
                if let Some(version) = version
                    && version != actual.version
                {
                    plan.drift
                        .push(Drift::new(&object, "version", version, &actual.version));
                    plan.push(
                        Step::new(
                            sql::alter_extension_version(extension.name.as_str(), version)?,
                            format!("update {object} to version {version}"),
                        )
                        .in_database(database),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Plans `DROP DATABASE`: nothing when it does not exist; a template is unmarked first (templates cannot be
/// dropped); PostgreSQL 13+ ends the sessions connected to it with `WITH (FORCE)`, older servers first
/// terminate them.
pub(crate) fn plan_drop_database(
    name: &Name,
    catalog: &Catalog,
    facts: &ServerFacts,
) -> Result<Plan, EngineError> {
    CAPABILITIES
        .name_limits
        .check_new(CAPABILITIES.engine, NameKind::Database, name)?;
    let object = format!("database {name}");
    let mut plan = Plan::default();
    let Some(state) = catalog.database(name) else {
        return Ok(plan);
    };
    plan.drift
        .push(Drift::new(&object, "exists", false, true).destructive());
    let is_template = state
        .postgres
        .as_ref()
        .is_some_and(|pg: &PgDatabaseState| pg.is_template);
    if is_template {
        plan.push(Step::new(
            sql::alter_database_is_template(name.as_str(), false)?,
            format!("unmark {object} as a template so it can be dropped"),
        ));
    }
    let force = facts.server.at_least(13, 0, 0);
    if !force {
        plan.push(
            Step::new(
                sql::terminate_backends(name.as_str())?,
                format!("end the sessions connected to {object}"),
            )
            .non_transactional(),
        );
    }
    plan.push(
        Step::new(
            sql::drop_database(name.as_str(), force)?,
            format!("drop {object}"),
        )
        .non_transactional(),
    );
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use dbprov_core::model::{DatabaseState, PgExtension, PgExtensionState, PgSchema, PgSchemaState};
    use dbprov_core::{EngineKind, ServerInfo};

    use super::*;

    fn name(value: &str) -> Name {
        Name::parse(NameKind::Database, value).unwrap()
    }

    fn facts(major: u32) -> ServerFacts {
        ServerFacts {
            server: ServerInfo {
                kind: EngineKind::Postgres,
                version: format!("PostgreSQL {major}.1"),
                version_number: (major, 1, 0),
            },
            current_user: "postgres".into(),
            superuser: true,
        }
    }

    fn existing(database: &str) -> Catalog {
        let mut catalog = Catalog::default();
        catalog.databases.insert(
            name(database),
            DatabaseState {
                name: name(database),
                owner: Some("app".into()),
                postgres: Some(PgDatabaseState {
                    encoding: "UTF8".into(),
                    lc_collate: "en_US.UTF-8".into(),
                    lc_ctype: "C".into(),
                    tablespace: "pg_default".into(),
                    connection_limit: -1,
                    is_template: false,
                    allow_connections: true,
                    extensions: Some(vec![PgExtensionState {
                        name: "citext".into(),
                        schema: "public".into(),
                        version: "1.6".into(),
                    }]),
                    schemas: Some(vec![PgSchemaState {
                        name: "public".into(),
                        owner: "pg_database_owner".into(),
                    }]),
                }),
                mysql: None,
                sqlite: None,
            },
        );
        catalog
    }

    fn declared(database: &str) -> DatabaseSpec {
        let mut spec = DatabaseSpec::new(name(database));
        spec.owner = Some(name("app"));
        spec.postgres.encoding = Some("utf8".into());
        spec.postgres.lc_collate = Some("en_US.utf8".into());
        spec.postgres.connection_limit = Some(-1);
        spec.postgres.extensions = vec![PgExtension {
            name: name("citext"),
            schema: Some(name("public")),
            version: Some("1.6".into()),
        }];
        spec
    }

    #[test]
    fn a_missing_database_is_created_then_filled() {
        let mut spec = declared("orders");
        spec.postgres.schemas = vec![PgSchema {
            name: name("app"),
            owner: Some(name("app")),
        }];
        let plan = plan_database(&spec, &Catalog::default()).unwrap();
        assert_eq!(
            plan.statements(),
            vec![
                "CREATE DATABASE \"orders\" OWNER \"app\" ENCODING 'utf8' LC_COLLATE 'en_US.utf8' CONNECTION LIMIT -1",
                "CREATE SCHEMA \"app\" AUTHORIZATION \"app\"",
                "CREATE EXTENSION IF NOT EXISTS \"citext\" SCHEMA \"public\" VERSION '1.6'",
            ]
        );
        assert!(!plan.steps[0].transactional);
        assert_eq!(plan.steps[1].database.as_deref(), Some("orders"));
        assert!(plan.steps[1].transactional && plan.steps[2].transactional);
    }

    #[test]
    fn an_unchanged_database_plans_nothing() {
        let plan = plan_database(&declared("orders"), &existing("orders")).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn one_changed_attribute_is_one_statement() {
        let mut spec = declared("orders");
        spec.postgres.connection_limit = Some(7);
        let plan = plan_database(&spec, &existing("orders")).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["ALTER DATABASE \"orders\" CONNECTION LIMIT 7"]
        );
        assert_eq!(plan.drift.len(), 1);

        let mut spec = declared("orders");
        spec.postgres.extensions[0].version = Some("1.5".into());
        let plan = plan_database(&spec, &existing("orders")).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["ALTER EXTENSION \"citext\" UPDATE TO '1.5'"]
        );
        assert_eq!(plan.steps[0].database.as_deref(), Some("orders"));

        let mut spec = declared("orders");
        spec.postgres.tablespace = Some(name("fast"));
        let plan = plan_database(&spec, &existing("orders")).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["ALTER DATABASE \"orders\" SET TABLESPACE \"fast\""]
        );
        assert!(!plan.steps[0].transactional);
    }

    #[test]
    fn encoding_and_locale_drift_is_reported_not_corrected() {
        let mut spec = declared("orders");
        spec.postgres.encoding = Some("LATIN1".into());
        spec.postgres.lc_ctype = Some("de_DE.UTF-8".into());
        let plan = plan_database(&spec, &existing("orders")).unwrap();
        assert!(plan.steps.is_empty());
        let fields: Vec<(&str, bool)> = plan
            .drift
            .iter()
            .map(|d| (d.field.as_str(), d.correctable))
            .collect();
        assert_eq!(fields, vec![("encoding", false), ("lcCtype", false)]);
    }

    #[test]
    fn inside_state_must_have_been_read() {
        let mut catalog = existing("orders");
        let state = catalog.databases.get_mut(&name("orders")).unwrap();
        state.postgres.as_mut().unwrap().extensions = None;
        let error = plan_database(&declared("orders"), &catalog).unwrap_err();
        assert!(error.to_string().contains("inside"), "{error}");
    }

    #[test]
    fn long_names_are_rejected_before_any_sql() {
        let error =
            plan_database(&DatabaseSpec::new(name(&"x".repeat(200))), &Catalog::default()).unwrap_err();
        assert_eq!(error.kind(), "InvalidName");
        assert!(
            error.to_string().contains("the limit on PostgreSQL is 63"),
            "{error}"
        );
    }

    #[test]
    fn drops_force_on_13_and_terminate_before() {
        let catalog = existing("orders");
        let plan = plan_drop_database(&name("orders"), &catalog, &facts(15)).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["DROP DATABASE IF EXISTS \"orders\" WITH (FORCE)"]
        );
        assert!(!plan.steps[0].transactional);
        let plan = plan_drop_database(&name("orders"), &catalog, &facts(12)).unwrap();
        assert_eq!(plan.steps.len(), 2);
        assert!(plan.statements()[0].starts_with("SELECT pg_terminate_backend"));
        assert!(
            plan_drop_database(&name("gone"), &catalog, &facts(15))
                .unwrap()
                .is_empty()
        );
    }
}
