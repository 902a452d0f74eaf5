//! Grants: the declaration is expanded into atoms (object, privilege, grant option) with the catalog, compared
//! with the atoms the server reports for the grantee in the database, and the difference becomes `GRANT` /
//! `REVOKE` / `ALTER DEFAULT PRIVILEGES` statements.
//!
//! Owner privileges are implicit, not grants: objects the grantee owns are outside the managed scope (nothing
//! is granted on them, nothing revoked). `PUBLIC` is never managed.

use std::collections::BTreeMap;

use dbprov_core::model::privilege::PgObjectKind;
use dbprov_core::model::validate::validate_grant;
use dbprov_core::model::{
    Catalog, GrantSpec, GrantState, MySqlGrants, PgDefaultObjectType, PgObject, PgObjectGrant, PgPrivilege,
};
use dbprov_core::{EngineError, Plan};

use crate::CAPABILITIES;
use crate::plan::join;
use crate::sql::grant::GrantTarget;

use self::expand::{actual_atoms, expand};
use self::render::Renderer;

mod expand;
mod new_database;
mod render;
#[cfg(test)]
mod tests;

/// Privilege → whether it is held (or wanted) with grant option.
type Privileges = BTreeMap<PgPrivilege, bool>;
type Atoms = BTreeMap<PgObject, Privileges>;

/// Relations and routines: the kinds an `All` selector expands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemaObjectKind {
    Table,
    Sequence,
    Routine,
}

impl SchemaObjectKind {
    fn privilege_kind(self) -> PgObjectKind {
        match self {
            SchemaObjectKind::Table => PgObjectKind::Table,
            SchemaObjectKind::Sequence => PgObjectKind::Sequence,
            SchemaObjectKind::Routine => PgObjectKind::Function,
        }
    }

    fn field(self) -> &'static str {
        match self {
            SchemaObjectKind::Table => "tables",
            SchemaObjectKind::Sequence => "sequences",
            SchemaObjectKind::Routine => "functions",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            SchemaObjectKind::Table => "table",
            SchemaObjectKind::Sequence => "sequence",
            SchemaObjectKind::Routine => "function",
        }
    }

    fn all_in_schema(self, schema: &str) -> GrantTarget<'_> {
        match self {
            SchemaObjectKind::Table => GrantTarget::AllTablesInSchema(schema),
            SchemaObjectKind::Sequence => GrantTarget::AllSequencesInSchema(schema),
            SchemaObjectKind::Routine => GrantTarget::AllRoutinesInSchema(schema),
        }
    }
}

/// An `All` declaration, expanded: rendered as one `GRANT ... ON ALL ... IN SCHEMA` when anything is missing.
#[derive(Debug)]
struct AllSelector<'a> {
    kind: SchemaObjectKind,
    schema: &'a str,
    privileges: &'a [PgPrivilege],
    with_grant_option: bool,
    objects: Vec<PgObject>,
}

/// How statements are grouped: objects of one class with the same privilege change share a statement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Database,
    Schema,
    Table,
    Sequence,
    Routine,
    /// Default privileges: one statement per (role, schema, object type).
    Default(PgObject),
}

fn class_of(object: &PgObject) -> Class {
    match object {
        PgObject::Database(_) => Class::Database,
        PgObject::Schema(_) => Class::Schema,
        PgObject::Table { .. } => Class::Table,
        PgObject::Sequence { .. } => Class::Sequence,
        PgObject::Function { .. } => Class::Routine,
        PgObject::DefaultPrivileges { .. } => Class::Default(object.clone()),
    }
}

/// Plans the grants of one grantee in one database.
pub(crate) fn plan_grants(spec: &GrantSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    validate_grant(spec, &CAPABILITIES)?;
    let label = format!("grants of {} on database {}", spec.grantee, spec.database);
    if spec.mysql != MySqlGrants::default() {
        return Err(EngineError::unsupported(
            CAPABILITIES.engine,
            format!("{label}: mysql grants"),
        ));
    }
    check_privileges(spec, &label)?;
    let state = match catalog.grants_of(&spec.grantee, &spec.database) {
        Some(GrantState::Postgres(state)) => state,
        Some(GrantState::MySql(_)) => {
            return Err(EngineError::invalid_spec(
                label,
                "catalog",
                "the catalog entry was not read from PostgreSQL",
            ));
        }
        None => {
            return Err(EngineError::invalid_spec(
                label,
                "catalog",
                "the catalog was read without this grant scope (request it with CatalogRequest::grant)",
            ));
        }
    };
    let renderer = Renderer {
        grantee: spec.grantee.as_str(),
        database: spec.database.as_str(),
        label: &label,
    };
    if !state.database_exists {
        return renderer.plan_for_new_database(spec, &state.current_user);
    }
    if !state.inside_read && !spec.is_database_level_only() {
        return Err(EngineError::invalid_spec(
            label,
            "catalog",
            "the catalog was read for database-level privileges only (CatalogRequest::grant_database_level), \
             but the declaration manages objects inside the database",
        ));
    }
    let (declared, selectors) = expand(spec, state, &label)?;
    let actual = actual_atoms(spec.grantee.as_str(), state);
    renderer.plan_difference(&declared, &actual, &selectors)
}

/// Rejects privileges that do not apply to the object they are declared on (`EXECUTE` on tables).
fn check_privileges(spec: &GrantSpec, label: &str) -> Result<(), EngineError> {
    let check = |field: &str, privileges: &[PgPrivilege], kind: PgObjectKind| match privileges
        .iter()
        .find(|privilege| !kind.all_privileges().contains(privilege))
    {
        Some(bad) => Err(EngineError::invalid_spec(
            label,
            field,
            format!(
                "{bad} cannot be granted on {} (valid there: {})",
                kind.as_str(),
                join(kind.all_privileges())
            ),
        )),
        None => Ok(()),
    };
    let pg = &spec.postgres;
    check("database", &pg.database, PgObjectKind::Database)?;
    for grant in &pg.schemas {
        check("schemas", &grant.privileges, PgObjectKind::Schema)?;
    }
    for (grants, kind) in object_grants(spec) {
        for grant in grants {
            check(kind.field(), &grant.privileges, kind.privilege_kind())?;
        }
    }
    for default in &pg.default_privileges {
        check(
            "defaultPrivileges",
            &default.privileges,
            default.object_type.object_kind(),
        )?;
        if default.object_type == PgDefaultObjectType::Schemas && default.schema.is_some() {
            return Err(EngineError::invalid_spec(
                label,
                "defaultPrivileges",
                "default privileges on schemas cannot be limited to a schema",
            ));
        }
    }
    Ok(())
}

fn object_grants(spec: &GrantSpec) -> [(&[PgObjectGrant], SchemaObjectKind); 3] {
    [
        (&spec.postgres.tables, SchemaObjectKind::Table),
        (&spec.postgres.sequences, SchemaObjectKind::Sequence),
        (&spec.postgres.functions, SchemaObjectKind::Routine),
    ]
}

fn add(atoms: &mut Atoms, object: PgObject, privileges: &[PgPrivilege], with_grant_option: bool) {
    let entry = atoms.entry(object).or_default();
    for privilege in privileges {
        let option = entry.entry(*privilege).or_insert(false);
        *option |= with_grant_option;
    }
}

/// Whether a declared function name names this routine: by name (every overload) or, when it has an argument
/// list, by signature (`touch(integer)`, with or without the schema the server prints).
fn routine_matches(declared: &str, name: &str, signature: &str) -> bool {
    if !declared.contains('(') {
        return declared == name;
    }
    signature == declared
        || signature
            .strip_suffix(declared)
            .is_some_and(|prefix| prefix.ends_with('.'))
}
