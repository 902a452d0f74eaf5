//! `DatabaseGrant`.

use dbprov_core::{EngineKind, NameKind};

use crate::convert::grant::{
    ReferenceDatabase, keep, mysql_grant_entry, pg_default_privilege_entry, pg_grant_entry,
};
use crate::error::{Errors, FieldPath};
use crate::names::check_name;
use crate::v1alpha1::DatabaseGrantSpec;
use crate::validate::common;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseGrantSpec, engine: Option<EngineKind>) {
    let path = FieldPath::root("spec");
    match (&spec.user_ref, &spec.role_ref) {
        (None, None) => errors.invalid(&path, "either userRef or roleRef must be specified"),
        (Some(_), Some(_)) => errors.invalid(&path, "userRef and roleRef are mutually exclusive"),
        (Some(reference), None) => {
            common::object_name(errors, &path.field("userRef").field("name"), &reference.name)
        }
        (None, Some(reference)) => {
            common::object_name(errors, &path.field("roleRef").field("name"), &reference.name)
        }
    }
    if let Some(reference) = &spec.database_ref {
        common::object_name(errors, &path.field("databaseRef").field("name"), &reference.name);
    }
    if engine == Some(EngineKind::Sqlite) {
        errors.invalid(&path, "SQLite has no users, roles or privileges");
    }
    common::drift_policy(errors, &path.field("driftPolicy"), spec.drift_policy.as_ref());
    common::never(
        errors,
        &path.field("clickhouse"),
        spec.clickhouse.as_ref(),
        "ClickHouse is not a dbprov engine",
    );
    let empty_postgres = spec
        .postgres
        .as_ref()
        .is_none_or(|pg| pg.roles.is_empty() && pg.grants.is_empty() && pg.default_privileges.is_empty());
    let empty_mysql = spec
        .mysql
        .as_ref()
        .is_none_or(|my| my.roles.is_empty() && my.grants.is_empty());
    if empty_postgres && empty_mysql && spec.clickhouse.is_none() {
        errors.invalid(
            &path,
            "declares no privileges, default privileges or roles (add postgres: or mysql:)",
        );
    }
    common::section_engine(
        errors,
        &path.field("postgres"),
        spec.postgres.is_some(),
        engine,
        &[EngineKind::Postgres],
    );
    if let Some(postgres) = &spec.postgres {
        let path = path.field("postgres");
        for (index, role) in postgres.roles.iter().enumerate() {
            keep(
                errors,
                check_name(engine, NameKind::Role, role, &path.field("roles").index(index)),
            );
        }
        for (index, entry) in postgres.grants.iter().enumerate() {
            if let Err(entry_errors) = pg_grant_entry(entry, engine, &path.field("grants").index(index)) {
                errors.extend(entry_errors);
            }
        }
        for (index, entry) in postgres.default_privileges.iter().enumerate() {
            if let Err(entry_errors) =
                pg_default_privilege_entry(entry, engine, &path.field("defaultPrivileges").index(index))
            {
                errors.extend(entry_errors);
            }
        }
    }
    common::section_engine(
        errors,
        &path.field("mysql"),
        spec.mysql.is_some(),
        engine,
        &[EngineKind::MySql, EngineKind::MariaDb],
    );
    if let Some(mysql) = &spec.mysql {
        let path = path.field("mysql");
        for (index, role) in mysql.roles.iter().enumerate() {
            keep(
                errors,
                check_name(engine, NameKind::Role, role, &path.field("roles").index(index)),
            );
        }
        let mariadb = engine != Some(EngineKind::MySql);
        let reference = if spec.database_ref.is_some() {
            ReferenceDatabase::Unresolved
        } else {
            ReferenceDatabase::None
        };
        for (index, entry) in mysql.grants.iter().enumerate() {
            if let Err(entry_errors) = mysql_grant_entry(
                entry,
                engine,
                mariadb,
                reference,
                &path.field("grants").index(index),
            ) {
                errors.extend(entry_errors);
            }
        }
    }
}
