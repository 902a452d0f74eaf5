//! `DatabaseRole`.

use dbprov_core::{EngineKind, NameKind};

use crate::convert::grant::{ReferenceDatabase, keep, mysql_grant_entry, pg_grant_entry};
use crate::error::{Errors, FieldPath};
use crate::names::{check_name, check_new_name};
use crate::v1alpha1::DatabaseRoleSpec;
use crate::validate::common;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseRoleSpec, engine: Option<EngineKind>) {
    let path = FieldPath::root("spec");
    common::instance_refs(
        errors,
        &path,
        spec.instance_ref.as_ref(),
        spec.cluster_instance_ref.as_ref(),
    );
    keep(
        errors,
        check_new_name(engine, NameKind::Role, &spec.role_name, &path.field("roleName")),
    );
    if engine == Some(EngineKind::Sqlite) {
        errors.invalid(&path.field("roleName"), "SQLite has no roles");
    }
    common::drift_policy(errors, &path.field("driftPolicy"), spec.drift_policy.as_ref());
    common::never(
        errors,
        &path.field("clickhouse"),
        spec.clickhouse.as_ref(),
        "ClickHouse is not a dbprov engine",
    );
    common::section_engine(
        errors,
        &path.field("postgres"),
        spec.postgres.is_some(),
        engine,
        &[EngineKind::Postgres],
    );
    if let Some(postgres) = &spec.postgres {
        let path = path.field("postgres");
        for (index, role) in postgres.in_roles.iter().enumerate() {
            keep(
                errors,
                check_name(engine, NameKind::Role, role, &path.field("inRoles").index(index)),
            );
            if *role == spec.role_name {
                errors.invalid(
                    &path.field("inRoles").index(index),
                    "a role cannot be a member of itself",
                );
            }
        }
        for (index, entry) in postgres.grants.iter().enumerate() {
            if let Err(entry_errors) = pg_grant_entry(entry, engine, &path.field("grants").index(index)) {
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
        if !mysql.use_native_roles {
            errors.unsupported(
                &path.field("useNativeRoles"),
                "false (emulated roles); dbprov uses the server's roles",
            );
        }
        let mariadb = engine != Some(EngineKind::MySql);
        for (index, entry) in mysql.grants.iter().enumerate() {
            if let Err(entry_errors) = mysql_grant_entry(
                entry,
                engine,
                mariadb,
                ReferenceDatabase::None,
                &path.field("grants").index(index),
            ) {
                errors.extend(entry_errors);
            }
        }
    }
}
