//! `DatabaseUser`.

use std::collections::BTreeSet;

use dbprov_core::{EngineKind, NameKind};

use crate::convert::grant::keep;
use crate::convert::password::password_source;
use crate::error::{Errors, FieldPath};
use crate::names::{check_name, check_new_name};
use crate::v1alpha1::{DatabaseUser, DeletionPolicy, MySqlAuthPlugin, SecretFormat};
use crate::validate::common;
use crate::validate::instance::secret_key;

pub(super) fn check(errors: &mut Errors, user: &DatabaseUser, engine: Option<EngineKind>) {
    let spec = &user.spec;
    let path = FieldPath::root("spec");
    common::instance_refs(
        errors,
        &path,
        spec.instance_ref.as_ref(),
        spec.cluster_instance_ref.as_ref(),
    );
    keep(
        errors,
        check_new_name(engine, NameKind::User, &spec.username, &path.field("username")),
    );
    if engine == Some(EngineKind::Sqlite) {
        errors.invalid(&path.field("username"), "SQLite has no users");
    }
    if let Err(source_errors) = password_source(user) {
        errors.extend(source_errors);
    }
    if let Some(config) = &spec.password_secret {
        let path = path.field("passwordSecret");
        common::object_name(errors, &path.field("secretName"), &config.secret_name);
        if config.format != SecretFormat::Kubernetes {
            errors.unsupported(&path.field("format"), "only kubernetes Secrets are written");
        }
        if let Some(namespace) = &config.secret_namespace {
            let own = user.metadata.namespace.as_deref().unwrap_or("default");
            if namespace != own {
                errors.unsupported(
                    &path.field("secretNamespace"),
                    format!(
                        "a namespace other than the user's ({own}); the Secret is written next to the user"
                    ),
                );
            }
        }
        if let Some(template) = &config.secret_template
            && template.type_.as_deref().is_some_and(str::is_empty)
        {
            errors.invalid(&path.field("secretTemplate").field("type"), "must not be empty");
        }
    }
    if let Some(existing) = &spec.existing_password_secret {
        let path = path.field("existingPasswordSecret");
        common::object_name(errors, &path.field("name"), &existing.name);
        secret_key(errors, &path.field("key"), &existing.key);
    }
    common::only_disabled(
        errors,
        &path.field("passwordRotation"),
        spec.password_rotation.as_ref(),
        "automatic rotation (rotate by changing the password in the Secret)",
    );
    for (index, role) in spec.roles.iter().enumerate() {
        keep(
            errors,
            check_name(engine, NameKind::Role, role, &path.field("roles").index(index)),
        );
    }
    if spec.deletion_policy == Some(DeletionPolicy::Snapshot) {
        errors.unsupported(&path.field("deletionPolicy"), "Snapshot (use Retain or Delete)");
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
        if !postgres.login {
            errors.invalid(
                &path.field("login"),
                "a DatabaseUser always logs in; declare a DatabaseRole for a role without login",
            );
        }
        if postgres.connection_limit < -1 {
            errors.invalid(&path.field("connectionLimit"), "must be -1 (unlimited) or more");
        }
        if let Some(valid_until) = &postgres.valid_until {
            common::server_string(errors, &path.field("validUntil"), valid_until);
        }
        for (index, role) in postgres.in_roles.iter().enumerate() {
            keep(
                errors,
                check_name(engine, NameKind::Role, role, &path.field("inRoles").index(index)),
            );
        }
        if let Some(role) = &postgres.default_role {
            keep(
                errors,
                check_name(engine, NameKind::Role, role, &path.field("defaultRole")),
            );
            if postgres.config_parameters.contains_key("role") {
                errors.invalid(
                    &path.field("configParameters").key("role"),
                    "conflicts with defaultRole (both set the session role)",
                );
            }
        }
        for (name, value) in &postgres.config_parameters {
            let path = path.field("configParameters").key(name);
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')
            {
                errors.invalid(&path, format!("{name:?} is not a setting name"));
            }
            if value.contains('\0') {
                errors.invalid(&path, "must not contain a NUL byte");
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
        for (field, value) in [
            ("maxQueriesPerHour", mysql.max_queries_per_hour),
            ("maxUpdatesPerHour", mysql.max_updates_per_hour),
            ("maxConnectionsPerHour", mysql.max_connections_per_hour),
            ("maxUserConnections", mysql.max_user_connections),
        ] {
            if value < 0 {
                errors.invalid(&path.field(field), "must be 0 (unlimited) or more");
            }
        }
        for (field, value) in [
            ("failedLoginAttempts", mysql.failed_login_attempts),
            ("passwordLockTime", mysql.password_lock_time),
        ] {
            if !(0..=32767).contains(&value) {
                errors.invalid(&path.field(field), "must be between 0 and 32767");
            } else if value != 0 && engine == Some(EngineKind::MariaDb) {
                errors.invalid(
                    &path.field(field),
                    "is MySQL 8.0.19+ only; MariaDB has no equivalent",
                );
            }
        }
        if mysql.allowed_hosts.is_empty() {
            errors.invalid(
                &path.field("allowedHosts"),
                "list at least one host (default [\"%\"])",
            );
        }
        let mut seen = BTreeSet::new();
        for (index, host) in mysql.allowed_hosts.iter().enumerate() {
            keep(
                errors,
                check_name(
                    engine,
                    NameKind::Host,
                    host,
                    &path.field("allowedHosts").index(index),
                ),
            );
            if !seen.insert(host.as_str()) {
                errors.invalid(
                    &path.field("allowedHosts").index(index),
                    format!("host {host:?} is listed twice"),
                );
            }
        }
        if engine == Some(EngineKind::MariaDb)
            && let Some(plugin @ (MySqlAuthPlugin::CachingSha2Password | MySqlAuthPlugin::Sha256Password)) =
                mysql.auth_plugin
        {
            errors.invalid(
                &path.field("authPlugin"),
                format!("{} does not exist on MariaDB", plugin.as_str()),
            );
        }
        if mysql.require_ssl && mysql.require_x509 {
            errors.invalid(
                &path.field("requireSSL"),
                "requireX509 already requires TLS; set only one",
            );
        }
    }
}
