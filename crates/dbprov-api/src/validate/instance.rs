//! `DatabaseInstance` / `ClusterDatabaseInstance`.

use dbprov_core::EngineKind;

use crate::duration::parse_go_duration;
use crate::error::{Errors, FieldPath};
use crate::v1alpha1::{CredentialSecretRef, DatabaseInstanceSpec};
use crate::validate::common;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseInstanceSpec, cluster_scoped: bool) {
    let path = FieldPath::root("spec");
    let engine = match spec.engine.engine_kind() {
        Some(engine) => engine,
        None => {
            errors.unsupported(
                &path.field("engine"),
                format!(
                    "engine {} (dbprov implements postgres, mysql, mariadb and sqlite)",
                    spec.engine.as_str()
                ),
            );
            return;
        }
    };
    if engine == EngineKind::Sqlite {
        match &spec.sqlite {
            None => errors.invalid(
                &path.field("sqlite"),
                "is required for engine sqlite (the directory of the database files)",
            ),
            Some(sqlite) => common::server_string(errors, &path.field("sqlite").field("path"), &sqlite.path),
        }
        for (field, present) in [
            ("connection", spec.connection.is_some()),
            ("tls", spec.tls.is_some()),
            ("postgres", spec.postgres.is_some()),
            ("mysql", spec.mysql.is_some()),
        ] {
            if present {
                errors.invalid(
                    &path.field(field),
                    "does not apply to engine sqlite (an SQLite instance is a directory)",
                );
            }
        }
    } else {
        if spec.sqlite.is_some() {
            errors.invalid(
                &path.field("sqlite"),
                format!(
                    "applies to engine sqlite only, but the engine is {}",
                    spec.engine.as_str()
                ),
            );
        }
        match &spec.connection {
            None => errors.required(&path.field("connection")),
            Some(connection) => {
                let path = path.field("connection");
                if connection.host.is_empty() {
                    errors.required(&path.field("host"));
                } else if connection
                    .host
                    .contains(|ch: char| ch.is_whitespace() || ch == '/' || ch == '\0')
                {
                    errors.invalid(
                        &path.field("host"),
                        format!("{:?} is not a host name or address", connection.host),
                    );
                }
                if !(1..=65535).contains(&connection.port) {
                    errors.invalid(
                        &path.field("port"),
                        format!("{} is not a port (1 to 65535)", connection.port),
                    );
                }
                if let Some(database) = &connection.database {
                    common::server_string(errors, &path.field("database"), database);
                }
                if connection.secret_ref.is_some() && connection.existing_secret.is_some() {
                    errors.invalid(
                        &path.field("existingSecret"),
                        "secretRef and existingSecret are mutually exclusive",
                    );
                }
                for (field, secret) in [
                    ("secretRef", connection.secret_ref.as_ref()),
                    ("existingSecret", connection.existing_secret.as_ref()),
                ] {
                    if let Some(secret) = secret {
                        credential_secret(errors, &path.field(field), secret, cluster_scoped);
                    }
                }
            }
        }
    }
    if let Some(tls) = &spec.tls
        && let Some(secret) = &tls.secret_ref
    {
        let path = path.field("tls").field("secretRef");
        common::object_name(errors, &path.field("name"), &secret.name);
        if let Some(keys) = &secret.keys {
            let path = path.field("keys");
            for (field, value) in [
                ("ca", Some(&keys.ca)),
                ("cert", keys.cert.as_ref()),
                ("key", keys.key.as_ref()),
            ] {
                if let Some(value) = value {
                    secret_key(errors, &path.field(field), value);
                }
            }
        }
    }
    if let Some(health) = &spec.health_check {
        let path = path.field("healthCheck");
        if health.interval_seconds < 5 {
            errors.invalid(&path.field("intervalSeconds"), "must be at least 5");
        }
        if health.timeout_seconds < 1 {
            errors.invalid(&path.field("timeoutSeconds"), "must be at least 1");
        }
    }
    common::drift_policy(errors, &path.field("driftPolicy"), spec.drift_policy.as_ref());
    common::only_disabled(
        errors,
        &path.field("discovery"),
        spec.discovery.as_ref(),
        "discovery and adoption of unmanaged objects",
    );
    common::only_disabled(
        errors,
        &path.field("resourceTracking"),
        spec.resource_tracking.as_ref(),
        "tagging managed objects with comments (dbprov records what it owns in its state)",
    );
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
        Some(engine),
        &[EngineKind::Postgres],
    );
    if let Some(postgres) = &spec.postgres {
        let path = path.field("postgres");
        if postgres.connect_timeout < 1 {
            errors.invalid(&path.field("connectTimeout"), "must be at least 1 second");
        }
        if postgres.statement_timeout.is_some() {
            errors.unsupported(
                &path.field("statementTimeout"),
                "dbprov's statements are short DDL; remove the field",
            );
        }
        if postgres.application_name.is_some() {
            errors.unsupported(
                &path.field("applicationName"),
                "dbprov's sessions are always named dbprov",
            );
        }
    }
    common::section_engine(
        errors,
        &path.field("mysql"),
        spec.mysql.is_some(),
        Some(engine),
        &[EngineKind::MySql, EngineKind::MariaDb],
    );
    if let Some(mysql) = &spec.mysql {
        let path = path.field("mysql");
        common::charset_name(errors, &path.field("charset"), &mysql.charset);
        if let Some(collation) = &mysql.collation {
            common::charset_name(errors, &path.field("collation"), collation);
        }
        match parse_go_duration(&mysql.timeout) {
            Err(message) => errors.invalid(&path.field("timeout"), message),
            Ok(timeout) if timeout.is_zero() => {
                errors.invalid(&path.field("timeout"), "must be longer than 0")
            }
            Ok(_) => {}
        }
        for (field, value) in [
            ("readTimeout", &mysql.read_timeout),
            ("writeTimeout", &mysql.write_timeout),
        ] {
            if value.is_some() {
                errors.unsupported(
                    &path.field(field),
                    "dbprov does not set read/write timeouts; remove the field",
                );
            }
        }
    }
}

fn credential_secret(
    errors: &mut Errors,
    path: &FieldPath,
    secret: &CredentialSecretRef,
    cluster_scoped: bool,
) {
    common::object_name(errors, &path.field("name"), &secret.name);
    match &secret.namespace {
        Some(namespace) if !common::is_dns_label(namespace) => errors.invalid(
            &path.field("namespace"),
            format!("{namespace:?} is not a namespace name"),
        ),
        None if cluster_scoped => errors.invalid(
            &path.field("namespace"),
            "is required for a ClusterDatabaseInstance (it has no namespace of its own)",
        ),
        _ => {}
    }
    if let Some(keys) = &secret.keys {
        secret_key(errors, &path.field("keys").field("username"), &keys.username);
        secret_key(errors, &path.field("keys").field("password"), &keys.password);
    }
}

/// A Secret data key: `[-._a-zA-Z0-9]+`.
pub(crate) fn secret_key(errors: &mut Errors, path: &FieldPath, key: &str) {
    if key.is_empty()
        || !key
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
    {
        errors.invalid(
            path,
            format!("{key:?} is not a Secret key (letters, digits, '-', '_' and '.')"),
        );
    }
}
