//! `DatabaseRestore`.

use dbprov_core::{EngineKind, NameKind};

use crate::convert::grant::keep;
use crate::error::{Errors, FieldPath};
use crate::names::check_new_name;
use crate::v1alpha1::{
    ACKNOWLEDGE_DATA_LOSS, DatabaseRestoreSpec, MySqlRestoreConfig, PostgresRestoreConfig, RestoreTarget,
};
use crate::validate::{backup, common};

pub(super) fn check(errors: &mut Errors, spec: &DatabaseRestoreSpec, engine: Option<EngineKind>) {
    let path = FieldPath::root("spec");
    match (&spec.backup_ref, &spec.from_path) {
        (Some(_), Some(_)) | (None, None) => {
            errors.invalid(&path, "exactly one of backupRef and fromPath must be specified")
        }
        (Some(reference), None) => {
            common::object_name(errors, &path.field("backupRef").field("name"), &reference.name)
        }
        (None, Some(from)) => {
            let from_path = path.field("fromPath");
            backup::storage(errors, &from_path.field("storage"), &from.storage, false);
            match (&from.backup_path, &from.path) {
                (Some(_), Some(_)) => errors.invalid(
                    &from_path.field("path"),
                    "path is another name for backupPath; give only one of them",
                ),
                (None, None) => errors.required(&from_path.field("backupPath")),
                _ => {}
            }
            if let Some(artifact) = from.artifact_path() {
                let field = if from.backup_path.is_some() {
                    "backupPath"
                } else {
                    "path"
                };
                let name = artifact.rsplit('/').next().unwrap_or_default();
                if name.is_empty()
                    || name.starts_with('.')
                    || artifact.starts_with('/')
                    || artifact.contains(['\0', '\\'])
                    || artifact.split('/').any(|part| part == "..")
                {
                    errors.invalid(
                        &from_path.field(field),
                        format!(
                            "{artifact:?} must name an artifact in the storage (`clients-20250106-120000.sql.gz`, or a relative `dir/name`)"
                        ),
                    );
                }
            }
            if let Some(compression) = &from.compression {
                backup::compression(errors, &from_path.field("compression"), compression);
            }
            if let Some(encryption) = &from.encryption {
                backup::encryption(errors, &from_path.field("encryption"), encryption);
            }
        }
    }
    target(errors, &path.field("target"), &spec.target, engine);
    if spec.target.in_place {
        let acknowledged = spec
            .confirmation
            .as_ref()
            .and_then(|confirmation| confirmation.acknowledge_data_loss.as_deref());
        if acknowledged != Some(ACKNOWLEDGE_DATA_LOSS) {
            errors.invalid(
                &path.field("confirmation").field("acknowledgeDataLoss"),
                format!(
                    "an in-place restore replaces the target's data; set it to {ACKNOWLEDGE_DATA_LOSS} to confirm"
                ),
            );
        }
    }
    if let Some(seconds) = spec.active_deadline_seconds
        && seconds < 1
    {
        errors.invalid(&path.field("activeDeadlineSeconds"), "must be at least 1");
    }
    common::never(
        errors,
        &path.field("clickhouse"),
        spec.clickhouse.as_ref(),
        "ClickHouse is not a dbprov engine",
    );
    if let Some(postgres) = &spec.postgres {
        common::section_engine(
            errors,
            &path.field("postgres"),
            true,
            engine,
            &[EngineKind::Postgres],
        );
        postgres_options(errors, &path.field("postgres"), postgres, spec.target.in_place);
    }
    if let Some(mysql) = &spec.mysql {
        common::section_engine(
            errors,
            &path.field("mysql"),
            true,
            engine,
            &[EngineKind::MySql, EngineKind::MariaDb],
        );
        mysql_options(errors, &path.field("mysql"), mysql);
    }
}

fn target(errors: &mut Errors, path: &FieldPath, target: &RestoreTarget, engine: Option<EngineKind>) {
    let instance_given = target.instance_ref.is_some() || target.cluster_instance_ref.is_some();
    match (&target.database_ref, instance_given) {
        (Some(_), true) => errors.invalid(
            path,
            "databaseRef names the instance already; give either databaseRef, or instanceRef/clusterInstanceRef with databaseName",
        ),
        (Some(reference), false) => {
            common::object_name(errors, &path.field("databaseRef").field("name"), &reference.name);
            if target.database_name.is_some() {
                errors.invalid(
                    &path.field("databaseName"),
                    "the database of databaseRef is restored into; databaseName goes with instanceRef",
                );
            }
        }
        (None, true) => {
            common::instance_refs(
                errors,
                path,
                target.instance_ref.as_ref(),
                target.cluster_instance_ref.as_ref(),
            );
            match &target.database_name {
                None => errors.required(&path.field("databaseName")),
                Some(name) => {
                    keep(
                        errors,
                        check_new_name(engine, NameKind::Database, name, &path.field("databaseName")),
                    );
                }
            }
        }
        (None, false) => errors.invalid(
            path,
            "either databaseRef, or instanceRef/clusterInstanceRef with databaseName, must be specified",
        ),
    }
}

fn postgres_options(errors: &mut Errors, path: &FieldPath, options: &PostgresRestoreConfig, in_place: bool) {
    if options.drop_existing {
        errors.unsupported(
            &path.field("dropExisting"),
            "true (restore in place with target.inPlace: the objects of the backup are replaced)",
        );
    }
    for (field, set) in [
        ("dataOnly", options.data_only),
        ("schemaOnly", options.schema_only),
        ("disableTriggers", options.disable_triggers),
        ("roleMapping", !options.role_mapping.is_empty()),
        ("schemas", !options.schemas.is_empty()),
        ("tables", !options.tables.is_empty()),
    ] {
        if set {
            errors.unsupported(&path.field(field), "a restore applies the whole artifact");
        }
    }
    if let Some(jobs) = options.jobs
        && jobs != 1
    {
        errors.unsupported(
            &path.field("jobs"),
            "more than one job (the artifact is one stream)",
        );
    }
    if options.analyze == Some(true) {
        errors.unsupported(
            &path.field("analyze"),
            "true (dbprov does not run ANALYZE after a restore; run it yourself)",
        );
    }
    if options.create_database == Some(true) && in_place {
        errors.invalid(
            &path.field("createDatabase"),
            "an in-place restore needs an existing database",
        );
    }
}

fn mysql_options(errors: &mut Errors, path: &FieldPath, options: &MySqlRestoreConfig) {
    if options.drop_existing {
        errors.unsupported(
            &path.field("dropExisting"),
            "true (restore in place with target.inPlace: the dump replaces each table it holds)",
        );
    }
    for (field, value) in [
        ("routines", options.routines),
        ("triggers", options.triggers),
        ("events", options.events),
        ("disableForeignKeyChecks", options.disable_foreign_key_checks),
    ] {
        if value == Some(false) {
            errors.unsupported(&path.field(field), "false (the dump is restored as it is)");
        }
    }
    if options.disable_binlog == Some(true) {
        errors.unsupported(
            &path.field("disableBinlog"),
            "true (the restore is written to the binary log like any client's changes)",
        );
    }
}
