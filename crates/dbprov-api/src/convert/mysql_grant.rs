//! MySQL/MariaDB grant entries (`MySqlGrant`) into `dbprov_core` grant parts.

use dbprov_core::model::privilege::MySqlLevel;
use dbprov_core::model::{
    MySqlColumnGrant, MySqlGrants, MySqlPrivilege, MySqlPrivilegeSet, MySqlRoutineGrant, MySqlRoutineKind,
    MySqlTableGrant,
};
use dbprov_core::{EngineKind, Name, NameKind};

use crate::convert::grant::keep;
use crate::error::{Errors, FieldError, FieldPath};
use crate::names::check_name;
use crate::v1alpha1::{MySqlGrant, MySqlGrantLevel};

/// One MySQL grant entry: global privileges, or privileges within a database.
pub(crate) enum MySqlEntry {
    Global(MySqlPrivilegeSet),
    Scoped(Name, MySqlGrants),
    /// Validation only: the database comes from a `databaseRef` that is not resolved yet.
    Unresolved,
}

/// Where the database of a MySQL entry without one comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReferenceDatabase<'a> {
    /// No `databaseRef`: entries must name their database.
    None,
    /// A `databaseRef` not resolved yet (validation before references are resolved).
    Unresolved,
    /// The database `databaseRef` resolved to.
    Resolved(&'a str),
}

pub(crate) fn mysql_grant_entry(
    entry: &MySqlGrant,
    engine: Option<EngineKind>,
    mariadb: bool,
    reference_database: ReferenceDatabase<'_>,
    path: &FieldPath,
) -> Result<MySqlEntry, Vec<FieldError>> {
    let mut errors = Errors::default();
    let level = entry.level;
    let core_level = match level {
        MySqlGrantLevel::Global => MySqlLevel::Global,
        MySqlGrantLevel::Database => MySqlLevel::Database,
        MySqlGrantLevel::Table => MySqlLevel::Table,
        MySqlGrantLevel::Column => MySqlLevel::Column,
        MySqlGrantLevel::Procedure | MySqlGrantLevel::Function => MySqlLevel::Routine,
    };
    let level_name = serde_json::to_value(level)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    // Fields that do not belong to the level are errors, not silently ignored.
    let used: &[&str] = match level {
        MySqlGrantLevel::Global => &[],
        MySqlGrantLevel::Database => &["database"],
        MySqlGrantLevel::Table => &["database", "table"],
        MySqlGrantLevel::Column => &["database", "table", "columns"],
        MySqlGrantLevel::Procedure => &["database", "procedure"],
        MySqlGrantLevel::Function => &["database", "function"],
    };
    for (field, present) in [
        ("database", entry.database.is_some()),
        ("table", entry.table.is_some()),
        ("columns", !entry.columns.is_empty()),
        ("procedure", entry.procedure.is_some()),
        ("function", entry.function.is_some()),
    ] {
        if present && !used.contains(&field) {
            errors.invalid(
                &path.field(field),
                format!("does not apply to level {level_name}"),
            );
        }
    }
    for field in used.iter().skip(1) {
        let present = match *field {
            "table" => entry.table.is_some(),
            "columns" => !entry.columns.is_empty(),
            "procedure" => entry.procedure.is_some(),
            _ => entry.function.is_some(),
        };
        if !present {
            errors.invalid(&path.field(field), format!("is required at level {level_name}"));
        }
    }
    if entry.privileges.is_empty() {
        errors.invalid(&path.field("privileges"), "list at least one privilege");
    }
    let mut with_grant_option = entry.with_grant_option;
    let mut keywords = Vec::new();
    for (index, keyword) in entry.privileges.iter().enumerate() {
        if MySqlPrivilege::parse(keyword).ok() == Some(MySqlPrivilege::GrantOption) {
            with_grant_option = true;
            continue;
        }
        match MySqlPrivilege::parse_list(std::slice::from_ref(keyword), core_level, mariadb) {
            Ok(_) => keywords.push(keyword.clone()),
            Err(error) => {
                let engine_note = if engine.is_none() {
                    ""
                } else if mariadb {
                    " on MariaDB"
                } else {
                    " on MySQL"
                };
                errors.invalid(
                    &path.field("privileges").index(index),
                    format!("{error}{engine_note}"),
                );
            }
        }
    }
    if with_grant_option && level == MySqlGrantLevel::Column {
        errors.invalid(
            &path.field("withGrantOption"),
            "GRANT OPTION cannot be granted on columns",
        );
    }
    let privileges = MySqlPrivilege::parse_list(&keywords, core_level, mariadb).unwrap_or_default();
    let set = MySqlPrivilegeSet {
        privileges,
        with_grant_option,
    };
    if level == MySqlGrantLevel::Global {
        errors.finish()?;
        return Ok(MySqlEntry::Global(set));
    }
    let database = match (entry.database.as_deref(), reference_database) {
        (Some(database), _) | (None, ReferenceDatabase::Resolved(database)) => keep(
            &mut errors,
            check_name(engine, NameKind::Database, database, &path.field("database")),
        ),
        (None, ReferenceDatabase::Unresolved) => None,
        (None, ReferenceDatabase::None) => {
            errors.invalid(&path.field("database"), "is required (or set spec.databaseRef)");
            None
        }
    };
    let table = entry.table.as_deref().and_then(|table| {
        keep(
            &mut errors,
            check_name(engine, NameKind::Table, table, &path.field("table")),
        )
    });
    let mut grants = MySqlGrants::default();
    match level {
        MySqlGrantLevel::Database => grants.database = set,
        MySqlGrantLevel::Table => {
            if let Some(table) = table {
                grants.tables.push(MySqlTableGrant {
                    table,
                    privileges: set,
                });
            }
        }
        MySqlGrantLevel::Column => {
            let mut columns = Vec::new();
            for (index, column) in entry.columns.iter().enumerate() {
                if let Some(column) = keep(
                    &mut errors,
                    check_name(
                        engine,
                        NameKind::Column,
                        column,
                        &path.field("columns").index(index),
                    ),
                ) {
                    columns.push(column);
                }
            }
            if let Some(table) = table {
                grants.columns.push(MySqlColumnGrant {
                    table,
                    columns,
                    privileges: set.privileges,
                });
            }
        }
        MySqlGrantLevel::Procedure | MySqlGrantLevel::Function => {
            let (kind, name, field) = if level == MySqlGrantLevel::Procedure {
                (
                    MySqlRoutineKind::Procedure,
                    entry.procedure.as_deref(),
                    "procedure",
                )
            } else {
                (MySqlRoutineKind::Function, entry.function.as_deref(), "function")
            };
            if let Some(name) = name.and_then(|name| {
                keep(
                    &mut errors,
                    check_name(engine, NameKind::Function, name, &path.field(field)),
                )
            }) {
                grants.routines.push(MySqlRoutineGrant {
                    kind,
                    name,
                    privileges: set,
                });
            }
        }
        MySqlGrantLevel::Global => unreachable!("invariant: global entries returned above"),
    }
    errors.finish()?;
    Ok(match database {
        Some(database) => MySqlEntry::Scoped(database, grants),
        None => MySqlEntry::Unresolved,
    })
}
