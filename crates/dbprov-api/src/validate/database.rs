//! `Database`.

use std::collections::BTreeSet;

use dbprov_core::model::PgPrivilege;
use dbprov_core::{EngineKind, NameKind};

use crate::convert::grant::keep;
use crate::error::{Errors, FieldPath};
use crate::names::{check_name, check_new_name};
use crate::v1alpha1::{DatabaseSpec, DeletionPolicy};
use crate::validate::common;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseSpec, engine: Option<EngineKind>) {
    let path = FieldPath::root("spec");
    common::instance_refs(
        errors,
        &path,
        spec.instance_ref.as_ref(),
        spec.cluster_instance_ref.as_ref(),
    );
    keep(
        errors,
        check_new_name(engine, NameKind::Database, &spec.name, &path.field("name")),
    );
    if let Some(owner) = &spec.owner {
        keep(
            errors,
            check_name(engine, NameKind::Role, owner, &path.field("owner")),
        );
        if let Some(engine) = engine
            && engine != EngineKind::Postgres
        {
            errors.invalid(
                &path.field("owner"),
                format!(
                    "databases have no owner on {}; owner is PostgreSQL only",
                    engine.display_name()
                ),
            );
        }
    }
    if spec.deletion_policy == DeletionPolicy::Snapshot {
        errors.unsupported(
            &path.field("deletionPolicy"),
            "Snapshot (use Retain or Delete; back up with dbprov backup)",
        );
    }
    common::drift_policy(errors, &path.field("driftPolicy"), spec.drift_policy.as_ref());
    common::never(
        errors,
        &path.field("clickhouse"),
        spec.clickhouse.as_ref(),
        "ClickHouse is not a dbprov engine",
    );
    common::never(
        errors,
        &path.field("initSQL"),
        spec.init_sql.as_ref(),
        "run schema changes with dbprov's migration runner instead",
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
        common::server_string(errors, &path.field("encoding"), &postgres.encoding);
        for (field, value) in [
            ("lcCollate", &postgres.lc_collate),
            ("lcCtype", &postgres.lc_ctype),
        ] {
            if let Some(value) = value {
                common::server_string(errors, &path.field(field), value);
            }
        }
        keep(
            errors,
            check_name(
                engine,
                NameKind::Tablespace,
                &postgres.tablespace,
                &path.field("tablespace"),
            ),
        );
        keep(
            errors,
            check_name(
                engine,
                NameKind::Database,
                &postgres.template,
                &path.field("template"),
            ),
        );
        if postgres.connection_limit < -1 {
            errors.invalid(&path.field("connectionLimit"), "must be -1 (unlimited) or more");
        }
        let mut seen = BTreeSet::new();
        for (index, extension) in postgres.extensions.iter().enumerate() {
            let path = path.field("extensions").index(index);
            keep(
                errors,
                check_name(engine, NameKind::Extension, &extension.name, &path.field("name")),
            );
            keep(
                errors,
                check_name(engine, NameKind::Schema, &extension.schema, &path.field("schema")),
            );
            if let Some(version) = &extension.version {
                common::server_string(errors, &path.field("version"), version);
            }
            if !seen.insert(extension.name.as_str()) {
                errors.invalid(
                    &path.field("name"),
                    format!("extension {:?} is declared twice", extension.name),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (index, schema) in postgres.schemas.iter().enumerate() {
            let path = path.field("schemas").index(index);
            keep(
                errors,
                check_name(engine, NameKind::Schema, &schema.name, &path.field("name")),
            );
            if let Some(owner) = &schema.owner {
                keep(
                    errors,
                    check_name(engine, NameKind::Role, owner, &path.field("owner")),
                );
            }
            if !seen.insert(schema.name.as_str()) {
                errors.invalid(
                    &path.field("name"),
                    format!("schema {:?} is declared twice", schema.name),
                );
            }
        }
        for (index, default) in postgres.default_privileges.iter().enumerate() {
            let path = path.field("defaultPrivileges").index(index);
            keep(
                errors,
                check_name(engine, NameKind::Role, &default.role, &path.field("role")),
            );
            keep(
                errors,
                check_name(engine, NameKind::Schema, &default.schema, &path.field("schema")),
            );
            if default.privileges.is_empty() {
                errors.invalid(&path.field("privileges"), "list at least one privilege");
            }
            let kind = default.object_type.core().object_kind();
            for (item, keyword) in default.privileges.iter().enumerate() {
                if let Err(error) = PgPrivilege::parse_list(std::slice::from_ref(keyword), kind) {
                    errors.invalid(&path.field("privileges").index(item), error.to_string());
                }
            }
        }
        common::never(
            errors,
            &path.field("ownership"),
            postgres.ownership.as_ref(),
            "use defaultPrivileges or a DatabaseGrant with grantedBy",
        );
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
        common::charset_name(errors, &path.field("charset"), &mysql.charset);
        common::charset_name(errors, &path.field("collation"), &mysql.collation);
        if mysql.sql_mode.is_some() {
            errors.unsupported(&path.field("sqlMode"), "MySQL has no per-database sql_mode");
        }
        if mysql.default_storage_engine.is_some() {
            errors.unsupported(
                &path.field("defaultStorageEngine"),
                "MySQL has no per-database storage engine (set ENGINE in CREATE TABLE)",
            );
        }
    }
}
