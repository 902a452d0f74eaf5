//! PostgreSQL grant entries (`PostgresGrant`, default privileges) into `dbprov_core` grant parts.

use dbprov_core::model::privilege::PgObjectKind;
use dbprov_core::model::{
    ObjectSelector, PgDefaultPrivilege, PgGrants, PgObjectGrant, PgPrivilege, PgSchemaGrant,
};
use dbprov_core::{EngineKind, Name, NameKind};

use crate::convert::grant::keep;
use crate::error::{Errors, FieldError, FieldPath};
use crate::names::check_name;
use crate::v1alpha1::{PostgresDefaultPrivilegeGrant, PostgresGrant};

/// One PostgreSQL grant entry: its database and what it grants there.
pub(crate) fn pg_grant_entry(
    entry: &PostgresGrant,
    engine: Option<EngineKind>,
    path: &FieldPath,
) -> Result<(Name, PgGrants), Vec<FieldError>> {
    let mut errors = Errors::default();
    let database = keep(
        &mut errors,
        check_name(
            engine,
            NameKind::Database,
            &entry.database,
            &path.field("database"),
        ),
    );
    let mut grants = PgGrants::default();
    if entry.privileges.is_empty() {
        errors.invalid(&path.field("privileges"), "list at least one privilege");
    }
    let has_objects = !(entry.tables.is_empty() && entry.sequences.is_empty() && entry.functions.is_empty());
    let wgo = entry.with_grant_option;
    match (&entry.schema, has_objects) {
        (None, false) => {
            if let Some(privileges) =
                pg_privileges(&mut errors, &entry.privileges, PgObjectKind::Database, path)
            {
                grants.database = privileges;
                grants.database_with_grant_option = wgo;
            }
        }
        (Some(schema), false) => {
            let schema = keep(
                &mut errors,
                check_name(engine, NameKind::Schema, schema, &path.field("schema")),
            );
            let (schema_privileges, table_privileges) =
                split_schema_entry(&mut errors, &entry.privileges, path);
            if let Some(schema) = schema {
                grants.schemas.push(PgSchemaGrant {
                    schema: schema.clone(),
                    privileges: schema_privileges,
                    with_grant_option: wgo,
                });
                if !table_privileges.is_empty() {
                    grants.tables.push(PgObjectGrant {
                        schema,
                        objects: ObjectSelector::All,
                        privileges: table_privileges,
                        with_grant_option: wgo,
                    });
                }
            }
        }
        (schema, true) => {
            let schema = schema.as_deref().unwrap_or("public");
            let schema = keep(
                &mut errors,
                check_name(engine, NameKind::Schema, schema, &path.field("schema")),
            );
            for (field, objects, kind, name_kind) in [
                ("tables", &entry.tables, PgObjectKind::Table, NameKind::Table),
                (
                    "sequences",
                    &entry.sequences,
                    PgObjectKind::Sequence,
                    NameKind::Sequence,
                ),
                (
                    "functions",
                    &entry.functions,
                    PgObjectKind::Function,
                    NameKind::Function,
                ),
            ] {
                if objects.is_empty() {
                    continue;
                }
                let selector = object_selector(&mut errors, objects, engine, name_kind, &path.field(field));
                let privileges = pg_privileges(&mut errors, &entry.privileges, kind, path);
                if let (Some(schema), Some(objects), Some(privileges)) = (&schema, selector, privileges) {
                    let grant = PgObjectGrant {
                        schema: schema.clone(),
                        objects,
                        privileges,
                        with_grant_option: wgo,
                    };
                    match kind {
                        PgObjectKind::Table => grants.tables.push(grant),
                        PgObjectKind::Sequence => grants.sequences.push(grant),
                        _ => grants.functions.push(grant),
                    }
                }
            }
        }
    }
    errors.finish()?;
    let database = database.expect("invariant: errors are reported above when the name is invalid");
    Ok((database, grants))
}

/// Splits the privileges of a schema-only entry: schema privileges (`USAGE`, `CREATE`, always `USAGE`) and
/// table privileges granted on all tables of the schema; `ALL` means every table privilege (as upstream).
fn split_schema_entry(
    errors: &mut Errors,
    keywords: &[String],
    path: &FieldPath,
) -> (Vec<PgPrivilege>, Vec<PgPrivilege>) {
    let mut schema = vec![PgPrivilege::Usage];
    let mut tables = Vec::new();
    for (index, keyword) in keywords.iter().enumerate() {
        let upper = keyword.trim().to_ascii_uppercase();
        if upper == "ALL" || upper == "ALL PRIVILEGES" {
            tables.extend_from_slice(PgObjectKind::Table.all_privileges());
            continue;
        }
        match PgPrivilege::parse(keyword) {
            Ok(privilege) if PgObjectKind::Schema.all_privileges().contains(&privilege) => schema.push(privilege),
            Ok(privilege) if PgObjectKind::Table.all_privileges().contains(&privilege) => tables.push(privilege),
            Ok(privilege) => errors.invalid(
                &path.field("privileges").index(index),
                format!(
                    "{privilege} cannot be granted by a schema entry (valid: USAGE, CREATE, and table privileges granted on all tables of the schema)"
                ),
            ),
            Err(error) => errors.invalid(&path.field("privileges").index(index), error.to_string()),
        }
    }
    for list in [&mut schema, &mut tables] {
        list.sort();
        list.dedup();
    }
    (schema, tables)
}

fn pg_privileges(
    errors: &mut Errors,
    keywords: &[String],
    kind: PgObjectKind,
    path: &FieldPath,
) -> Option<Vec<PgPrivilege>> {
    // Parsed one by one so an error names the offending list item.
    let mut ok = true;
    for (index, keyword) in keywords.iter().enumerate() {
        if let Err(error) = PgPrivilege::parse_list(std::slice::from_ref(keyword), kind) {
            errors.invalid(&path.field("privileges").index(index), error.to_string());
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    PgPrivilege::parse_list(keywords, kind).ok()
}

fn object_selector(
    errors: &mut Errors,
    objects: &[String],
    engine: Option<EngineKind>,
    kind: NameKind,
    path: &FieldPath,
) -> Option<ObjectSelector> {
    if objects.iter().any(|object| object == "*") {
        if objects.len() > 1 {
            errors.invalid(path, "\"*\" (all objects) cannot be combined with names");
            return None;
        }
        return Some(ObjectSelector::All);
    }
    let mut names = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        names.push(keep(
            errors,
            check_name(engine, kind, object, &path.index(index)),
        )?);
    }
    Some(ObjectSelector::Named(names))
}

/// A `DatabaseGrant` default-privileges entry.
pub(crate) fn pg_default_privilege_entry(
    entry: &PostgresDefaultPrivilegeGrant,
    engine: Option<EngineKind>,
    path: &FieldPath,
) -> Result<(Name, PgDefaultPrivilege), Vec<FieldError>> {
    let mut errors = Errors::default();
    let database = keep(
        &mut errors,
        check_name(
            engine,
            NameKind::Database,
            &entry.database,
            &path.field("database"),
        ),
    );
    let schema = keep(
        &mut errors,
        check_name(engine, NameKind::Schema, &entry.schema, &path.field("schema")),
    );
    let for_role = keep(
        &mut errors,
        check_name(
            engine,
            NameKind::Role,
            &entry.granted_by,
            &path.field("grantedBy"),
        ),
    );
    let object_type = entry.object_type.core();
    if entry.privileges.is_empty() {
        errors.invalid(&path.field("privileges"), "list at least one privilege");
    }
    let privileges = pg_privileges(&mut errors, &entry.privileges, object_type.object_kind(), path);
    errors.finish()?;
    let (Some(database), Some(schema), Some(for_role), Some(privileges)) =
        (database, schema, for_role, privileges)
    else {
        unreachable!("invariant: every None above recorded an error");
    };
    Ok((
        database,
        PgDefaultPrivilege {
            for_role: Some(for_role),
            schema: Some(schema),
            object_type,
            privileges,
            with_grant_option: false,
        },
    ))
}
