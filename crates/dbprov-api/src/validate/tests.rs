//! Parsing, validation and conversion of manifests: upstream fixtures and every rejection path.

use std::collections::BTreeSet;

use dbprov_core::model::{
    MySqlPrivilege, MySqlTlsRequirement, ObjectSelector, PasswordLockTime, PgDefaultObjectType, PgPrivilege,
};
use dbprov_core::{EngineKind, Name, NameKind, Secret, TlsMode};

use crate::convert::{self, PasswordSource};
use crate::document::{Resource, parse_document, parse_yaml};
use crate::error::FieldErrorKind;
use crate::template::TemplateData;
use crate::testing::{assert_error, parse_error, resource, resources, upstream};
use crate::v1alpha1::DeletionPolicy;
use crate::validate::{validate, validate_for_engine, validate_update};

fn name(value: &str) -> Name {
    Name::parse(NameKind::Role, value).expect("valid test name")
}

fn errors_of(yaml: &str) -> Vec<crate::FieldError> {
    validate(&resource(yaml)).expect_err("must be rejected")
}

fn engine_errors_of(yaml: &str, engine: EngineKind) -> Vec<crate::FieldError> {
    validate_for_engine(&resource(yaml), engine).expect_err("must be rejected")
}

const PG_INSTANCE: &str = r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseInstance
metadata: {name: pg-main, namespace: apps}
spec:
  engine: postgres
  connection:
    host: db.example.com
    port: 5432
    database: postgres
    secretRef: {name: pg-admin}
  postgres: {sslMode: require, connectTimeout: 3}
"#;

#[test]
fn upstream_user_with_secret_template_parses_validates_and_converts() {
    let users = resources(&upstream("user-secret-template.yaml"));
    assert_eq!(users.len(), 2);
    for user in &users {
        validate(user).expect("upstream user is valid");
        validate_for_engine(user, EngineKind::Postgres).expect("valid on PostgreSQL");
    }
    let Resource::DatabaseUser(user) = &users[0] else {
        panic!("not a user")
    };
    let role = convert::user(user, EngineKind::Postgres).expect("converts");
    assert_eq!(role.name.as_str(), "myapp_user");
    assert!(role.login);
    assert_eq!(role.postgres.member_of, None);
    let PasswordSource::Managed(secret) = convert::password_source(user).expect("valid source") else {
        panic!("expected a managed secret");
    };
    assert_eq!(secret.name, "myapp-user-credentials");
    assert_eq!(secret.labels.get("app").map(String::as_str), Some("myapp"));
    let generator = secret.generator.expect("generate: true");
    assert_eq!(generator.length, 32);
    assert!(
        generator.charset.contains('!'),
        "special characters are on by default"
    );
    let data = TemplateData {
        username: "myapp_user".into(),
        password: Secret::new("p@ss w/rd"),
        host: "pg.example.com".into(),
        port: 5432,
        ..TemplateData::default()
    };
    let rendered = secret
        .template
        .expect("templated keys")
        .render(&data)
        .expect("renders");
    assert_eq!(
        rendered["DATABASE_URL"].expose(),
        "postgresql://myapp_user:p%40ss+w%2Frd@pg.example.com:5432/myapp?sslmode=prefer"
    );
    assert_eq!(
        rendered["JDBC_URL"].expose(),
        "jdbc:postgresql://pg.example.com:5432/myapp?user=myapp_user&password=p@ss w/rd"
    );
    let Resource::DatabaseUser(mtls) = &users[1] else {
        panic!("not a user")
    };
    let PasswordSource::Managed(secret) = convert::password_source(mtls).expect("valid source") else {
        panic!("expected a managed secret");
    };
    let keys: Vec<_> = secret
        .template
        .expect("templated")
        .render(&data)
        .expect("renders")
        .into_keys()
        .collect();
    assert_eq!(keys, ["DATABASE_URL", "ca.crt", "tls.crt", "tls.key"]);
}

#[test]
fn upstream_database_converts_with_upstream_defaults() {
    let database = resource(&upstream("database-extensions.yaml"));
    validate(&database).expect("valid");
    let Resource::Database(object) = &database else {
        panic!("not a database")
    };
    let converted = convert::database(object, EngineKind::Postgres).expect("converts");
    let spec = converted.spec;
    assert_eq!(spec.name.as_str(), "myapp");
    assert_eq!(spec.owner, None);
    let pg = &spec.postgres;
    assert_eq!(pg.encoding.as_deref(), Some("UTF8"));
    assert_eq!(pg.lc_collate.as_deref(), Some("en_US.UTF-8"));
    assert_eq!(pg.connection_limit, Some(100));
    assert_eq!(pg.template.as_ref().map(Name::as_str), Some("template0"));
    assert_eq!(pg.tablespace.as_ref().map(Name::as_str), Some("pg_default"));
    assert_eq!(pg.allow_connections, Some(true));
    let extensions: Vec<_> = pg
        .extensions
        .iter()
        .map(|extension| {
            (
                extension.name.as_str(),
                extension.schema.as_ref().map(Name::as_str),
            )
        })
        .collect();
    assert_eq!(
        extensions,
        [
            ("uuid-ossp", Some("public")),
            ("pgcrypto", Some("public")),
            ("hstore", Some("extensions"))
        ]
    );
    assert_eq!(
        pg.schemas[1].owner.as_ref().map(Name::as_str),
        Some("myapp_admin")
    );
    assert!(converted.default_privilege_grants.is_empty());
    let settings = convert::deletion_settings(&database).expect("valid settings");
    assert_eq!(settings.policy, DeletionPolicy::Delete);
    assert!(settings.protected);
    // The same database on MySQL: postgres options are an error there, not ignored.
    let errors = convert::database(object, EngineKind::MySql).expect_err("postgres section on MySQL");
    assert_error(&errors, "spec.postgres", "PostgreSQL only");
}

#[test]
fn database_defaults_are_upstreams() {
    let database = resource(
        r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: Database
metadata: {name: orders}
spec:
  instanceRef: {name: pg-main}
  name: orders
"#,
    );
    let settings = convert::deletion_settings(&database).expect("valid");
    assert_eq!(settings.policy, DeletionPolicy::Retain);
    assert!(settings.protected, "deletionProtection defaults to true");
    let Resource::Database(object) = &database else {
        panic!("not a database")
    };
    let spec = convert::database(object, EngineKind::Postgres)
        .expect("converts")
        .spec;
    assert_eq!(
        spec.postgres,
        Default::default(),
        "no postgres section: nothing managed"
    );
    let json = serde_json::to_value(&object.spec).expect("serializes");
    assert_eq!(json["deletionProtection"], true, "always serialized, as upstream");
}

#[test]
fn upstream_role_and_grant_convert() {
    let documents = resources(&upstream("postgres-role-grant.yaml"));
    let Resource::DatabaseRole(role) = &documents[0] else {
        panic!("not a role")
    };
    let converted = convert::role(role, EngineKind::Postgres).expect("converts");
    assert!(!converted.role.login);
    assert_eq!(
        converted.role.postgres.member_of,
        Some(BTreeSet::from([name("myapp_readonly")]))
    );
    assert_eq!(converted.grants.len(), 1);
    let grant = &converted.grants[0];
    assert_eq!(
        (grant.grantee.as_str(), grant.database.as_str()),
        ("myapp_readwrite", "myapp")
    );
    assert_eq!(grant.postgres.tables.len(), 1);
    assert_eq!(grant.postgres.tables[0].objects, ObjectSelector::All);
    assert_eq!(
        grant.postgres.tables[0].privileges,
        [PgPrivilege::Insert, PgPrivilege::Update, PgPrivilege::Delete]
    );
    assert_eq!(grant.postgres.sequences[0].privileges, [PgPrivilege::Update]);
    assert!(
        grant.postgres.schemas.is_empty(),
        "object entries grant no schema privileges (as upstream)"
    );

    let Resource::DatabaseGrant(object) = &documents[1] else {
        panic!("not a grant")
    };
    let converted =
        convert::grant(object, EngineKind::Postgres, &name("myapp_user"), None).expect("converts");
    assert_eq!(converted.memberships, BTreeSet::from([name("myapp_readwrite")]));
    assert_eq!(converted.grants.len(), 1);
    let defaults = &converted.grants[0].postgres.default_privileges;
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].for_role.as_ref().map(Name::as_str), Some("postgres"));
    assert_eq!(defaults[0].schema.as_ref().map(Name::as_str), Some("app"));
    assert_eq!(defaults[0].object_type, PgDefaultObjectType::Tables);
    assert_eq!(
        defaults[0].privileges,
        [
            PgPrivilege::Select,
            PgPrivilege::Insert,
            PgPrivilege::Update,
            PgPrivilege::Delete
        ]
    );
}

#[test]
fn upstream_mysql_grant_converts() {
    let Resource::DatabaseGrant(object) = resource(&upstream("mysql-grant.yaml")) else {
        panic!("not a grant")
    };
    let converted = convert::grant(&object, EngineKind::MariaDb, &name("myapp"), None).expect("converts");
    assert_eq!(converted.grants.len(), 1);
    let mysql = &converted.grants[0].mysql;
    assert_eq!(converted.grants[0].database.as_str(), "myapp");
    assert_eq!(
        mysql.database.privileges,
        [
            MySqlPrivilege::Delete,
            MySqlPrivilege::Insert,
            MySqlPrivilege::Select,
            MySqlPrivilege::Update
        ]
    );
    assert_eq!(mysql.global, None);
    let errors =
        convert::grant(&object, EngineKind::Postgres, &name("myapp"), None).expect_err("mysql on PG");
    assert_error(&errors, "spec.mysql", "MySQL and MariaDB only");
}

#[test]
fn upstream_init_sql_is_rejected_by_name() {
    let errors =
        validate(&resource(&upstream("database-init-sql.yaml"))).expect_err("initSQL is unsupported");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.initSQL");
    assert_eq!(errors[0].kind, FieldErrorKind::Unsupported);
    assert!(
        errors[0].message.contains("not supported by dbprov"),
        "{}",
        errors[0]
    );
}

#[test]
fn upstream_clickhouse_instance_is_rejected_and_its_secret_read() {
    let documents = resources(&upstream("clickhouse-instance.yaml"));
    let Resource::Secret(secret) = &documents[0] else {
        panic!("not a secret")
    };
    assert_eq!(
        crate::document::secret_value(secret, "password").as_deref(),
        Some(&b"admin_password"[..])
    );
    let errors = validate(&documents[1]).expect_err("clickhouse is unsupported");
    assert_error(&errors, "spec.engine", "engine clickhouse");
    assert_eq!(errors[0].kind, FieldErrorKind::Unsupported);
}

#[test]
fn unknown_fields_report_their_exact_path() {
    let error = parse_error(
        r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: Database
metadata: {name: app}
spec:
  instanceRef: {name: pg}
  name: app
  postgres:
    extensions:
      - name: pgcrypto
      - nmae: hstore
"#,
    );
    assert_eq!(error.path, "spec.postgres.extensions[1].nmae");
    assert_eq!(error.kind, FieldErrorKind::Unknown);
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspecs: {}\n",
    );
    assert_eq!(
        (error.path.as_str(), error.kind),
        ("specs", FieldErrorKind::Unknown)
    );
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a, labelz: {}}\nspec: {name: a}\n",
    );
    assert_eq!(error.path, "metadata.labelz");
    // Upstream docs put sslMode under connection; that field never existed.
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec:\n  engine: postgres\n  connection: {host: h, port: 5432, sslMode: require}\n",
    );
    assert_eq!(error.path, "spec.connection.sslMode");
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec:\n  instanceRef: {name: pg}\n",
    );
    assert_eq!(
        (error.path.as_str(), error.kind),
        ("spec.name", FieldErrorKind::Required)
    );
}

#[test]
fn kinds_and_api_versions_are_checked() {
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Databse\nmetadata: {name: a}\nspec: {}\n",
    );
    assert_eq!(error.path, "kind");
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: databases\nmetadata: {name: a}\nspec: {}\n",
    );
    assert!(error.message.contains("did you mean Database?"), "{error}");
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: ClusterDatabaseRole\nmetadata: {name: a}\nspec: {}\n",
    );
    assert_eq!(error.kind, FieldErrorKind::Unsupported);
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1beta1\nkind: Database\nmetadata: {name: a}\nspec: {}\n",
    );
    assert_eq!(error.path, "apiVersion");
    let error = parse_error("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {}\n");
    assert_eq!(error.path, "apiVersion");
    assert!(parse_document(serde_json::json!(["not", "a", "mapping"])).is_err());
    assert!(parse_yaml("a: [unclosed").is_err());
}

#[test]
fn enum_values_are_checked() {
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec:\n  instanceRef: {name: pg}\n  name: a\n  deletionPolicy: Later\n",
    );
    assert_eq!(
        (error.path.as_str(), error.kind),
        ("spec.deletionPolicy", FieldErrorKind::Invalid)
    );
    assert!(error.message.contains("Retain"), "{error}");
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: oracle}\n",
    );
    assert_eq!(error.path, "spec.engine");
    let error = parse_error(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseGrant\nmetadata: {name: a}\nspec:\n  userRef: {name: u}\n  mysql:\n    grants:\n      - {level: schema, privileges: [SELECT]}\n",
    );
    assert_eq!(error.path, "spec.mysql.grants[0].level");
}

#[test]
fn references_are_mutually_exclusive() {
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec:\n  instanceRef: {name: pg}\n  clusterInstanceRef: {name: pg}\n  name: a\n",
    );
    assert_error(&errors, "spec", "mutually exclusive");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {username: a}\n",
    );
    assert_error(&errors, "spec", "either instanceRef or clusterInstanceRef");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseGrant\nmetadata: {name: a}\nspec:\n  userRef: {name: u}\n  roleRef: {name: r}\n  postgres: {roles: [x]}\n",
    );
    assert_error(&errors, "spec", "userRef and roleRef are mutually exclusive");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseGrant\nmetadata: {name: a}\nspec:\n  postgres: {roles: [x]}\n",
    );
    assert_error(&errors, "spec", "either userRef or roleRef");
}

#[test]
fn immutable_fields_cannot_change() {
    let old = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: orders}\n",
    );
    let same = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: orders, deletionPolicy: Delete}\n",
    );
    let renamed = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: orders2}\n",
    );
    validate_update(&old, &same).expect("other fields may change");
    let errors = validate_update(&old, &renamed).expect_err("name is immutable");
    assert_eq!(
        (errors[0].path.as_str(), errors[0].kind),
        ("spec.name", FieldErrorKind::Immutable)
    );
    let user = |username: &str| {
        resource(&format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {{name: a}}\nspec: {{instanceRef: {{name: pg}}, username: {username}}}\n"
        ))
    };
    assert_eq!(
        validate_update(&user("a"), &user("b")).expect_err("immutable")[0].path,
        "spec.username"
    );
    let role = |name: &str| {
        resource(&format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseRole\nmetadata: {{name: a}}\nspec: {{instanceRef: {{name: pg}}, roleName: {name}}}\n"
        ))
    };
    assert_eq!(
        validate_update(&role("a"), &role("b")).expect_err("immutable")[0].path,
        "spec.roleName"
    );
    let instance = |engine: &str| {
        resource(&format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {{name: a}}\nspec: {{engine: {engine}, connection: {{host: h, port: 1}}}}\n"
        ))
    };
    assert_eq!(
        validate_update(&instance("mysql"), &instance("mariadb")).expect_err("immutable")[0].path,
        "spec.engine"
    );
}

const GRANT_HEAD: &str = "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseGrant\nmetadata: {name: g}\nspec:\n  userRef: {name: u}\n";

#[test]
fn postgres_privileges_are_checked_per_level() {
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  postgres:\n    grants:\n      - {{database: app, privileges: [SELECT]}}\n"
    ));
    assert_error(
        &errors,
        "spec.postgres.grants[0].privileges[0]",
        "cannot be granted on DATABASE",
    );
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  postgres:\n    grants:\n      - {{database: app, schema: s, sequences: [seq], privileges: [USAGE, INSERT]}}\n"
    ));
    assert_error(&errors, "spec.postgres.grants[0].privileges[1]", "SEQUENCE");
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  postgres:\n    grants:\n      - {{database: app, schema: s, privileges: [EXECUTE]}}\n"
    ));
    assert_error(&errors, "spec.postgres.grants[0].privileges[0]", "schema entry");
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  postgres:\n    grants:\n      - {{database: app, tables: [a, '*'], privileges: [SELECT]}}\n"
    ));
    assert_error(&errors, "spec.postgres.grants[0].tables", "cannot be combined");
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  postgres:\n    grants:\n      - {{database: app, privileges: [SELEC]}}\n"
    ));
    assert_error(
        &errors,
        "spec.postgres.grants[0].privileges[0]",
        "unknown PostgreSQL privilege",
    );
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  postgres:\n    defaultPrivileges:\n      - {{database: app, schema: s, grantedBy: o, objectType: sequences, privileges: [DELETE]}}\n"
    ));
    assert_error(
        &errors,
        "spec.postgres.defaultPrivileges[0].privileges[0]",
        "SEQUENCE",
    );

    // The three kinds of entry: database, schema (+ all tables, always USAGE), objects (schema default public).
    let object = resource(&format!(
        "{GRANT_HEAD}  postgres:\n    grants:\n      - {{database: app, privileges: [CONNECT, TEMP]}}\n      - {{database: app, schema: reporting, privileges: [SELECT, CREATE]}}\n      - {{database: app, functions: [touch], privileges: [ALL]}}\n"
    ));
    let Resource::DatabaseGrant(object) = object else {
        panic!("not a grant")
    };
    let converted = convert::grant(&object, EngineKind::Postgres, &name("u"), None).expect("converts");
    let pg = &converted.grants[0].postgres;
    assert_eq!(pg.database, [PgPrivilege::Connect, PgPrivilege::Temporary]);
    assert_eq!(
        pg.schemas[0].privileges,
        [PgPrivilege::Create, PgPrivilege::Usage]
    );
    assert_eq!(pg.tables[0].objects, ObjectSelector::All);
    assert_eq!(pg.tables[0].privileges, [PgPrivilege::Select]);
    assert_eq!(pg.functions[0].schema.as_str(), "public");
    assert_eq!(
        pg.functions[0].objects,
        ObjectSelector::Named(vec![name("touch")])
    );
    assert_eq!(pg.functions[0].privileges, [PgPrivilege::Execute]);
}

#[test]
fn mysql_privileges_are_checked_per_level_and_flavour() {
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  mysql:\n    grants:\n      - {{level: database, database: app, privileges: [SUPER]}}\n"
    ));
    assert_error(
        &errors,
        "spec.mysql.grants[0].privileges[0]",
        "cannot be granted on database level",
    );
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  mysql:\n    grants:\n      - {{level: column, database: app, table: t, columns: [c], privileges: [SELECT], withGrantOption: true}}\n"
    ));
    assert_error(&errors, "spec.mysql.grants[0].withGrantOption", "columns");
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  mysql:\n    grants:\n      - {{level: table, database: app, privileges: [SELECT]}}\n"
    ));
    assert_error(
        &errors,
        "spec.mysql.grants[0].table",
        "is required at level table",
    );
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  mysql:\n    grants:\n      - {{level: global, database: app, privileges: [PROCESS]}}\n"
    ));
    assert_error(
        &errors,
        "spec.mysql.grants[0].database",
        "does not apply to level global",
    );
    let errors = errors_of(&format!(
        "{GRANT_HEAD}  mysql:\n    grants:\n      - {{level: database, privileges: [SELECT]}}\n"
    ));
    assert_error(
        &errors,
        "spec.mysql.grants[0].database",
        "or set spec.databaseRef",
    );
    let history = format!(
        "{GRANT_HEAD}  mysql:\n    grants:\n      - {{level: database, database: app, privileges: [DELETE HISTORY]}}\n"
    );
    validate_for_engine(&resource(&history), EngineKind::MariaDb).expect("MariaDB has DELETE HISTORY");
    let errors = engine_errors_of(&history, EngineKind::MySql);
    assert_error(&errors, "spec.mysql.grants[0].privileges[0]", "on MySQL");

    // The seeds' backup_user: SELECT and LOCK TABLES on client_db, plus a global privilege managed with it.
    let backup = format!(
        "{GRANT_HEAD}  databaseRef: {{name: client-db}}\n  mysql:\n    grants:\n      - {{level: database, privileges: [SELECT, LOCK TABLES]}}\n      - {{level: global, privileges: [PROCESS]}}\n      - {{level: procedure, database: app, procedure: refresh, privileges: [EXECUTE]}}\n"
    );
    let Resource::DatabaseGrant(object) = resource(&backup) else {
        panic!("not a grant")
    };
    let converted = convert::grant(
        &object,
        EngineKind::MariaDb,
        &name("backup_user"),
        Some("client_db"),
    )
    .expect("converts");
    assert_eq!(converted.grants.len(), 2);
    let client_db = converted
        .grants
        .iter()
        .find(|grant| grant.database.as_str() == "client_db")
        .expect("scope");
    assert_eq!(
        client_db.mysql.database.privileges,
        [MySqlPrivilege::LockTables, MySqlPrivilege::Select]
    );
    assert_eq!(
        client_db.mysql.global.as_ref().map(|set| set.privileges.clone()),
        Some(vec![MySqlPrivilege::Process])
    );
    let app = converted
        .grants
        .iter()
        .find(|grant| grant.database.as_str() == "app")
        .expect("scope");
    assert_eq!(app.mysql.routines[0].name.as_str(), "refresh");
    let errors =
        convert::grant(&object, EngineKind::MariaDb, &name("backup_user"), None).expect_err("unresolved ref");
    assert_error(&errors, "spec.mysql.grants[0].database", "is required");
}

#[test]
fn engine_specific_sections_must_match_the_engine() {
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec:\n  engine: mysql\n  connection: {host: h, port: 3306}\n  postgres: {sslMode: require}\n",
    );
    assert_error(
        &errors,
        "spec.postgres",
        "applies to PostgreSQL only, but the instance's engine is mysql",
    );
    let user = "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec:\n  instanceRef: {name: pg}\n  username: app\n  mysql: {allowedHosts: ['10.0.0.%']}\n";
    validate(&resource(user)).expect("engine unknown: accepted");
    assert_error(
        &engine_errors_of(user, EngineKind::Postgres),
        "spec.mysql",
        "MySQL and MariaDB only",
    );
    assert_error(
        &engine_errors_of(user, EngineKind::Sqlite),
        "spec.username",
        "SQLite has no users",
    );
    let database = "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec:\n  instanceRef: {name: my}\n  name: app\n  owner: app_owner\n";
    assert_error(
        &engine_errors_of(database, EngineKind::MariaDb),
        "spec.owner",
        "PostgreSQL only",
    );
}

#[test]
fn engine_name_limits_apply_once_the_engine_is_known() {
    let long = "d".repeat(64);
    let yaml = format!(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {{name: a}}\nspec: {{instanceRef: {{name: pg}}, name: {long}}}\n"
    );
    validate(&resource(&yaml)).expect("no engine: shared rules only");
    validate_for_engine(&resource(&yaml), EngineKind::MySql).expect("64 characters fit MySQL");
    assert_error(&engine_errors_of(&yaml, EngineKind::Postgres), "spec.name", "63");
    let nul = "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: \"a\\0b\"}\n";
    assert_error(&errors_of(nul), "spec.name", "NUL");
    let bad_object_name = "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: My_DB}\nspec: {instanceRef: {name: pg}, name: a}\n";
    assert_error(
        &errors_of(bad_object_name),
        "metadata.name",
        "not a Kubernetes object name",
    );
}

#[test]
fn unimplemented_upstream_fields_are_rejected_by_name() {
    let cases = [
        (
            "kind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: a, deletionPolicy: Snapshot}",
            "spec.deletionPolicy",
        ),
        (
            "kind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: a, mysql: {sqlMode: ANSI}}",
            "spec.mysql.sqlMode",
        ),
        (
            "kind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: a, mysql: {defaultStorageEngine: InnoDB}}",
            "spec.mysql.defaultStorageEngine",
        ),
        (
            "kind: Database\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, name: a, postgres: {ownership: {setDefaultPrivileges: true}}}",
            "spec.postgres.ownership",
        ),
        (
            "kind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: a, passwordRotation: {enabled: true, schedule: '0 0 1 * *'}}",
            "spec.passwordRotation",
        ),
        (
            "kind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: a, passwordSecret: {secretName: s, format: vault}}",
            "spec.passwordSecret.format",
        ),
        (
            "kind: DatabaseUser\nmetadata: {name: a, namespace: apps}\nspec: {instanceRef: {name: pg}, username: a, passwordSecret: {secretName: s, secretNamespace: other}}",
            "spec.passwordSecret.secretNamespace",
        ),
        (
            "kind: DatabaseRole\nmetadata: {name: a}\nspec: {instanceRef: {name: my}, roleName: r, mysql: {useNativeRoles: false}}",
            "spec.mysql.useNativeRoles",
        ),
        (
            "kind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 5432}, discovery: {enabled: true}}",
            "spec.discovery",
        ),
        (
            "kind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 5432}, resourceTracking: {}}",
            "spec.resourceTracking",
        ),
        (
            "kind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: mysql, connection: {host: h, port: 3306}, mysql: {readTimeout: 30s}}",
            "spec.mysql.readTimeout",
        ),
        (
            "kind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 5432}, postgres: {applicationName: x}}",
            "spec.postgres.applicationName",
        ),
        (
            "kind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: cockroachdb, connection: {host: h, port: 26257}}",
            "spec.engine",
        ),
        (
            "kind: DatabaseUser\nmetadata: {name: a, annotations: {dbops.dbprovision.io/deletion-policy: Snapshot}}\nspec: {instanceRef: {name: pg}, username: a}",
            "metadata.annotations[\"dbops.dbprovision.io/deletion-policy\"]",
        ),
    ];
    for (body, path) in cases {
        let errors = errors_of(&format!("apiVersion: dbops.dbprovision.io/v1alpha1\n{body}\n"));
        assert!(
            errors.iter().any(|error| error.path == path
                && error.kind == FieldErrorKind::Unsupported
                && error.message.contains("not supported by dbprov")),
            "{path}: {errors:#?}"
        );
    }
    // Disabled upstream features are accepted: they ask for nothing dbprov lacks.
    validate(&resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 5432}, discovery: {enabled: false}, resourceTracking: {enabled: false}}\n",
    ))
    .expect("disabled features are fine");
}

#[test]
fn instances_check_ports_secrets_and_sqlite() {
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 70000}}\n",
    );
    assert_error(&errors, "spec.connection.port", "not a port");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 0}}\n",
    );
    assert_error(&errors, "spec.connection.port", "not a port");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres}\n",
    );
    assert_error(&errors, "spec.connection", "is required");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: ClusterDatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 5432, secretRef: {name: s}}}\n",
    );
    assert_error(
        &errors,
        "spec.connection.secretRef.namespace",
        "ClusterDatabaseInstance",
    );
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: sqlite, sqlite: {path: ./data}, connection: {host: h, port: 1}}\n",
    );
    assert_error(&errors, "spec.connection", "does not apply to engine sqlite");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: a}\nspec: {engine: postgres, connection: {host: h, port: 5432}, driftPolicy: {mode: correct, interval: 5 minutes}}\n",
    );
    assert_error(&errors, "spec.driftPolicy.interval", "not a duration");

    let sqlite = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: local}\nspec: {engine: sqlite, sqlite: {path: ./data}}\n",
    );
    validate(&sqlite).expect("valid");
    let Resource::DatabaseInstance(sqlite) = sqlite else {
        panic!("not an instance")
    };
    let connection =
        convert::connection_spec(&sqlite.spec, "local", None, Default::default()).expect("converts");
    assert_eq!(
        connection.endpoint,
        dbprov_core::Endpoint::Directory {
            path: "./data".into()
        }
    );

    let pg = resource(PG_INSTANCE);
    validate(&pg).expect("valid");
    let Resource::DatabaseInstance(pg) = pg else {
        panic!("not an instance")
    };
    let connection =
        convert::connection_spec(&pg.spec, "apps/pg-main", None, Default::default()).expect("converts");
    assert_eq!(connection.tls.mode, TlsMode::Require);
    assert_eq!(connection.connect_timeout, std::time::Duration::from_secs(3));
    assert_eq!(connection.database.as_deref(), Some("postgres"));
    assert_eq!(connection.label, "apps/pg-main");
    assert_eq!(
        convert::template_ssl_mode(&pg.spec),
        "",
        "upstream: empty unless spec.tls is enabled"
    );
}

#[test]
fn user_options_convert_per_engine() {
    let yaml = r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseUser
metadata: {name: app, annotations: {dbops.dbprovision.io/deletion-policy: Delete, dbops.dbprovision.io/deletion-protection: "true"}}
spec:
  instanceRef: {name: my}
  username: app
  roles: [reader]
  mysql:
    allowedHosts: ["10.0.%", localhost]
    requireSSL: true
    maxUserConnections: 10
    accountLocked: false
"#;
    let user = resource(yaml);
    let settings = convert::deletion_settings(&user).expect("valid");
    assert_eq!(settings.policy, DeletionPolicy::Delete);
    assert!(settings.protected);
    let Resource::DatabaseUser(object) = &user else {
        panic!("not a user")
    };
    let role = convert::user(object, EngineKind::MariaDb).expect("converts");
    assert_eq!(role.mysql.hosts, ["10.0.%", "localhost"]);
    assert_eq!(role.mysql.require, Some(MySqlTlsRequirement::Ssl));
    assert_eq!(role.mysql.max_user_connections, Some(10));
    assert_eq!(role.mysql.failed_login_attempts, None, "MariaDB: not managed");
    assert_eq!(role.mysql.roles, Some(BTreeSet::from([name("reader")])));
    let role = convert::user(object, EngineKind::MySql).expect("converts");
    assert_eq!(
        role.mysql.password_lock_time, None,
        "0 is not managed, whatever the flavour"
    );
    let locked = yaml.replace("accountLocked: false", "passwordLockTime: 2");
    let Resource::DatabaseUser(object) = &resource(&locked) else {
        panic!("not a user")
    };
    let role = convert::user(object, EngineKind::MySql).expect("converts");
    assert_eq!(role.mysql.password_lock_time, Some(PasswordLockTime::Days(2)));
    let errors = engine_errors_of(
        &yaml.replace("accountLocked: false", "failedLoginAttempts: 3"),
        EngineKind::MariaDb,
    );
    assert_error(&errors, "spec.mysql.failedLoginAttempts", "MySQL 8.0.19+ only");

    let pg = r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseUser
metadata: {name: app}
spec:
  instanceRef: {name: pg}
  username: app
  roles: [reader]
  postgres:
    createDB: true
    bypassRLS: true
    inRoles: [writer]
    validUntil: "2030-01-01T00:00:00Z"
    defaultRole: app_owner
    configParameters: {search_path: "app, public"}
"#;
    let Resource::DatabaseUser(object) = resource(pg) else {
        panic!("not a user")
    };
    let role = convert::user(&object, EngineKind::Postgres).expect("converts");
    assert_eq!(role.postgres.createdb, Some(true));
    assert_eq!(role.postgres.bypassrls, Some(true));
    assert_eq!(role.postgres.inherit, Some(true));
    assert_eq!(role.postgres.connection_limit, Some(-1));
    assert_eq!(
        role.postgres.member_of,
        Some(BTreeSet::from([name("reader"), name("writer")]))
    );
    let config = role.postgres.config.expect("declared");
    assert_eq!(config.get("role").map(String::as_str), Some("app_owner"));
    assert_eq!(config.get("search_path").map(String::as_str), Some("app, public"));
    let errors = errors_of(&pg.replace("createDB: true", "login: false"));
    assert_error(&errors, "spec.postgres.login", "always logs in");
}

#[test]
fn password_sources_and_generation() {
    let existing = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: app, existingPasswordSecret: {name: s, key: pw}}\n",
    );
    let Resource::DatabaseUser(object) = &existing else {
        panic!("not a user")
    };
    assert!(
        matches!(convert::password_source(object), Ok(PasswordSource::Existing { ref key, .. }) if key == "pw")
    );
    let defaults = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: app}\n",
    );
    let Resource::DatabaseUser(object) = &defaults else {
        panic!("not a user")
    };
    let Ok(PasswordSource::Managed(secret)) = convert::password_source(object) else {
        panic!("managed")
    };
    assert_eq!(secret.name, "app-credentials", "upstream's default name");
    assert_eq!(secret.secret_type, "Opaque");
    let password = secret.generator.expect("generated").generate().expect("random");
    assert_eq!(password.expose().chars().count(), 32);
    let narrow = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: app, passwordSecret: {secretName: s, length: 12, includeSpecialChars: false, excludeChars: \"0Oo1lI\"}}\n",
    );
    let Resource::DatabaseUser(object) = &narrow else {
        panic!("not a user")
    };
    let Ok(PasswordSource::Managed(secret)) = convert::password_source(object) else {
        panic!("managed")
    };
    let password = secret.generator.expect("generated").generate().expect("random");
    assert_eq!(password.expose().len(), 12);
    assert!(
        password
            .expose()
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() && !"0Oo1lI".contains(ch))
    );
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: app, passwordSecret: {secretName: s, length: 4}}\n",
    );
    assert_error(&errors, "spec.passwordSecret.length", "between 8 and 128");
    let errors = errors_of(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: app, passwordSecret: {secretName: s, secretTemplate: {data: {URL: '{{ .Pasword }}'}}}}\n",
    );
    assert_error(
        &errors,
        "spec.passwordSecret.secretTemplate.data.URL",
        "unknown variable .Pasword",
    );
    let no_generate = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: a}\nspec: {instanceRef: {name: pg}, username: app, passwordSecret: {secretName: s, generate: false}}\n",
    );
    let Resource::DatabaseUser(object) = &no_generate else {
        panic!("not a user")
    };
    let Ok(PasswordSource::Managed(secret)) = convert::password_source(object) else {
        panic!("managed")
    };
    assert!(secret.generator.is_none());
}

#[test]
fn grants_of_one_scope_merge() {
    let grants = |yaml: &str| {
        let Resource::DatabaseGrant(object) = resource(&format!("{GRANT_HEAD}{yaml}")) else {
            panic!("not a grant")
        };
        convert::grant(&object, EngineKind::Postgres, &name("u"), None)
            .expect("converts")
            .grants
    };
    let first = grants("  postgres:\n    grants:\n      - {database: app, privileges: [CONNECT]}\n");
    let second = grants(
        "  postgres:\n    grants:\n      - {database: app, privileges: [TEMPORARY]}\n      - {database: other, privileges: [CONNECT]}\n",
    );
    let merged = convert::merge_grants(first.into_iter().chain(second));
    assert_eq!(merged.len(), 2);
    assert_eq!(
        merged[0].postgres.database,
        [PgPrivilege::Connect, PgPrivilege::Temporary]
    );
}

#[test]
fn database_default_privileges_cover_the_owner() {
    let Resource::Database(object) = resource(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: a}\nspec:\n  instanceRef: {name: pg}\n  name: orders\n  owner: orders_owner\n  postgres:\n    defaultPrivileges:\n      - {role: orders_ro, schema: public, objectType: tables, privileges: [SELECT]}\n",
    ) else {
        panic!("not a database")
    };
    let converted = convert::database(&object, EngineKind::Postgres).expect("converts");
    let grant = &converted.default_privilege_grants[0];
    assert_eq!(
        (grant.grantee.as_str(), grant.database.as_str()),
        ("orders_ro", "orders")
    );
    let default = &grant.postgres.default_privileges[0];
    assert_eq!(default.for_role.as_ref().map(Name::as_str), Some("orders_owner"));
    assert_eq!(default.privileges, [PgPrivilege::Select]);
}
