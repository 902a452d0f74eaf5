//! Grants: the declaration expands to atoms (account host, object, privilege) on each of the grantee's
//! accounts, and the difference with the server's atoms becomes `GRANT` and `REVOKE` statements, one per
//! object and account. Only atoms in the declaration's scope are compared: the grantee's privileges in
//! the declared database, plus the global ones when `global` is declared.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::privilege::MySqlLevel;
use dbprov_core::model::validate::validate_grant;
use dbprov_core::model::{
    Catalog, GrantSpec, GrantState, MySqlGrantAtom, MySqlGrantState, MySqlObject, MySqlPrivilege,
    MySqlPrivilegeSet,
};
use dbprov_core::{Drift, EngineError, Plan};

use crate::plan::{Planner, step};
use crate::sql::grant::{self as sql, GrantObject};
use crate::sql::{Account, account_label};

/// The longest `mysql.db.Db` value: a database-level grant stores the escaped name, which must fit.
const MAX_DATABASE_PATTERN_CHARS: usize = 64;

pub fn plan_grants(planner: &Planner<'_>, spec: &GrantSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    validate_grant(spec, planner.capabilities)?;
    let object = format!("grants of {} on {}", spec.grantee, spec.database);
    let state = match catalog.grants_of(&spec.grantee, &spec.database) {
        Some(GrantState::MySql(state)) => state,
        Some(GrantState::Postgres(_)) | None => {
            return Err(EngineError::invalid_spec(
                object,
                "catalog",
                "the catalog has no MySQL grant state for this grantee and database; inspect it first",
            ));
        }
    };
    let desired = desired_atoms(planner, spec, state, &object)?;
    let actual: BTreeSet<MySqlGrantAtom> = state
        .atoms
        .iter()
        .filter(|atom| spec.mysql.global.is_some() || atom.object != MySqlObject::Global)
        .cloned()
        .collect();

    let missing: Vec<&MySqlGrantAtom> = desired.difference(&actual).collect();
    let extra: Vec<&MySqlGrantAtom> = actual.difference(&desired).collect();
    check_pattern_length(planner, spec, &missing)?;

    let mut plan = Plan::default();
    push_drift(&mut plan, spec, state, &desired, &actual);
    push_statements(planner, &mut plan, spec, state, &missing, true)?;
    push_statements(planner, &mut plan, spec, state, &extra, false)?;
    Ok(plan)
}

/// The hosts privileges are managed on. A grantee without accounts yet is written without a host: the
/// server resolves the bare name to the role of that name or to `name@%`.
fn managed_hosts(state: &MySqlGrantState) -> Vec<String> {
    if state.hosts.is_empty() {
        vec!["%".to_owned()]
    } else {
        state.hosts.clone()
    }
}

fn account_for<'a>(grantee: &'a str, host: &'a str, state: &MySqlGrantState) -> Account<'a> {
    if host.is_empty() || state.hosts.is_empty() {
        Account::bare(grantee)
    } else {
        Account::new(grantee, host)
    }
}

fn check_level(
    object: &str,
    field: &str,
    privileges: &[MySqlPrivilege],
    level: MySqlLevel,
) -> Result<(), EngineError> {
    match privileges
        .iter()
        .find(|privilege| !privilege.levels().contains(&level))
    {
        Some(privilege) => Err(EngineError::invalid_spec(
            object,
            field,
            format!("{privilege} cannot be granted at the {}", level.as_str()),
        )),
        None => Ok(()),
    }
}

fn desired_atoms(
    planner: &Planner<'_>,
    spec: &GrantSpec,
    state: &MySqlGrantState,
    object: &str,
) -> Result<BTreeSet<MySqlGrantAtom>, EngineError> {
    let database = spec.database.as_str();
    let grants = &spec.mysql;
    let mut objects: Vec<(MySqlObject, Vec<MySqlPrivilege>)> = Vec::new();
    let mut add_set = |object: MySqlObject, set: &MySqlPrivilegeSet| {
        let mut privileges = set.privileges.clone();
        if set.with_grant_option {
            privileges.push(MySqlPrivilege::GrantOption);
        }
        objects.push((object, privileges));
    };
    if let Some(global) = &grants.global {
        check_level(object, "global", &global.privileges, MySqlLevel::Global)?;
        add_set(MySqlObject::Global, global);
    }
    check_level(
        object,
        "database",
        &grants.database.privileges,
        MySqlLevel::Database,
    )?;
    add_set(MySqlObject::Database(database.to_owned()), &grants.database);
    for table in &grants.tables {
        check_level(object, "tables", &table.privileges.privileges, MySqlLevel::Table)?;
        add_set(
            MySqlObject::Table {
                database: database.to_owned(),
                table: table.table.to_string(),
            },
            &table.privileges,
        );
    }
    for routine in &grants.routines {
        check_level(
            object,
            "routines",
            &routine.privileges.privileges,
            MySqlLevel::Routine,
        )?;
        add_set(
            MySqlObject::Routine {
                database: database.to_owned(),
                kind: routine.kind,
                name: routine.name.to_string(),
            },
            &routine.privileges,
        );
    }
    for grant in &grants.columns {
        check_level(object, "columns", &grant.privileges, MySqlLevel::Column)?;
        for column in &grant.columns {
            objects.push((
                MySqlObject::Column {
                    database: database.to_owned(),
                    table: grant.table.to_string(),
                    column: column.to_string(),
                },
                grant.privileges.clone(),
            ));
        }
    }
    let mut atoms = BTreeSet::new();
    for host in managed_hosts(state) {
        for (object, privileges) in &objects {
            for privilege in privileges {
                atoms.insert(MySqlGrantAtom {
                    host: host.clone(),
                    object: object.clone(),
                    privilege: planner.facts.canonical_privilege(*privilege),
                });
            }
        }
    }
    Ok(atoms)
}

/// A database-level grant stores the escaped database name, which must fit in 64 characters; a longer
/// pattern cannot be stored, and an unescaped one would also match look-alike databases.
fn check_pattern_length(
    planner: &Planner<'_>,
    spec: &GrantSpec,
    missing: &[&MySqlGrantAtom],
) -> Result<(), EngineError> {
    let needs_database_grant = missing
        .iter()
        .any(|atom| matches!(atom.object, MySqlObject::Database(_)));
    let escaped = spec
        .database
        .as_str()
        .chars()
        .map(|ch| if matches!(ch, '_' | '%' | '\\') { 2 } else { 1 })
        .sum::<usize>();
    if needs_database_grant && escaped > MAX_DATABASE_PATTERN_CHARS {
        return Err(planner.unsupported(format!(
            "database-level grants on {}: with `_`, `%` and `\\` escaped its name is {escaped} characters, and \
             MySQL stores at most {MAX_DATABASE_PATTERN_CHARS} (grant on its tables instead, or use a shorter name)",
            spec.database
        )));
    }
    Ok(())
}

/// How an object is shown in summaries and drift.
fn describe_object(object: &MySqlObject) -> String {
    match object {
        MySqlObject::Global => "*.*".to_owned(),
        MySqlObject::Database(database) => format!("{database}.*"),
        MySqlObject::Table { database, table } => format!("{database}.{table}"),
        MySqlObject::Column {
            database,
            table,
            column,
        } => format!("{database}.{table} ({column})"),
        MySqlObject::Routine { database, kind, name } => format!("{} {database}.{name}", kind.keyword()),
    }
}

fn describe_privileges<'a>(privileges: impl Iterator<Item = &'a MySqlPrivilege>) -> String {
    let list: Vec<&str> = privileges.map(|privilege| privilege.keyword()).collect();
    if list.is_empty() {
        "(none)".to_owned()
    } else {
        list.join(", ")
    }
}

fn by_object(atoms: &BTreeSet<MySqlGrantAtom>) -> BTreeMap<(&str, &MySqlObject), BTreeSet<MySqlPrivilege>> {
    let mut map: BTreeMap<(&str, &MySqlObject), BTreeSet<MySqlPrivilege>> = BTreeMap::new();
    for atom in atoms {
        map.entry((atom.host.as_str(), &atom.object))
            .or_default()
            .insert(atom.privilege);
    }
    map
}

fn push_drift(
    plan: &mut Plan,
    spec: &GrantSpec,
    state: &MySqlGrantState,
    desired: &BTreeSet<MySqlGrantAtom>,
    actual: &BTreeSet<MySqlGrantAtom>,
) {
    let desired = by_object(desired);
    let actual = by_object(actual);
    let keys: BTreeSet<&(&str, &MySqlObject)> = desired.keys().chain(actual.keys()).collect();
    let empty = BTreeSet::new();
    for key in keys {
        let wanted = desired.get(key).unwrap_or(&empty);
        let held = actual.get(key).unwrap_or(&empty);
        if wanted == held {
            continue;
        }
        let (host, object) = key;
        let label = account_label(account_for(spec.grantee.as_str(), host, state));
        let mut drift = Drift::new(
            format!("grants of {label}"),
            format!("privileges on {}", describe_object(object)),
            describe_privileges(wanted.iter()),
            describe_privileges(held.iter()),
        );
        if held.difference(wanted).next().is_some() {
            drift = drift.destructive();
        }
        plan.drift.push(drift);
    }
}

/// One `GRANT` (or `REVOKE`) per account and object; column privileges one per account and table.
fn push_statements(
    planner: &Planner<'_>,
    plan: &mut Plan,
    spec: &GrantSpec,
    state: &MySqlGrantState,
    atoms: &[&MySqlGrantAtom],
    grant: bool,
) -> Result<(), EngineError> {
    let dialect = planner.facts.dialect();
    let grantee = spec.grantee.as_str();
    let mut objects: BTreeMap<(&str, &MySqlObject), Vec<MySqlPrivilege>> = BTreeMap::new();
    type TableKey<'a> = (&'a str, &'a str, &'a str);
    let mut columns: BTreeMap<TableKey<'_>, BTreeMap<MySqlPrivilege, Vec<&str>>> = BTreeMap::new();
    for atom in atoms {
        match &atom.object {
            MySqlObject::Column {
                database,
                table,
                column,
            } => columns
                .entry((atom.host.as_str(), database.as_str(), table.as_str()))
                .or_default()
                .entry(atom.privilege)
                .or_default()
                .push(column.as_str()),
            object => objects
                .entry((atom.host.as_str(), object))
                .or_default()
                .push(atom.privilege),
        }
    }
    for ((host, object), privileges) in objects {
        let account = account_for(grantee, host, state);
        let target = match object {
            MySqlObject::Global => GrantObject::Global,
            MySqlObject::Database(database) => GrantObject::Database(database),
            MySqlObject::Table { database, table } => GrantObject::Table { database, table },
            MySqlObject::Routine { database, kind, name } => GrantObject::Routine {
                database,
                kind: *kind,
                name,
            },
            MySqlObject::Column { .. } => unreachable!("column atoms are grouped per table above"),
        };
        let summary = format!(
            "{} {} on {} {} {}",
            if grant { "grant" } else { "revoke" },
            describe_privileges(privileges.iter()),
            describe_object(object),
            if grant { "to" } else { "from" },
            account_label(account)
        );
        let statement = if grant {
            sql::grant_privileges(dialect, target, &privileges, account)
        } else {
            sql::revoke_privileges(dialect, target, &privileges, account)
        };
        plan.push(step(statement, summary)?);
    }
    for ((host, database, table), privileges) in columns {
        let account = account_for(grantee, host, state);
        let privileges: Vec<(MySqlPrivilege, Vec<&str>)> = privileges.into_iter().collect();
        let summary = format!(
            "{} column privileges on {database}.{table} {} {}",
            if grant { "grant" } else { "revoke" },
            if grant { "to" } else { "from" },
            account_label(account)
        );
        let statement = if grant {
            sql::grant_columns(dialect, database, table, &privileges, account)
        } else {
            sql::revoke_columns(dialect, database, table, &privileges, account)
        };
        plan.push(step(statement, summary)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
