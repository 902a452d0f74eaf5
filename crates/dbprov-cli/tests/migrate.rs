//! `dbprov migrate` (golang-migrate's command line) and the `DatabaseMigration` kind.

mod common;

use std::path::Path;

use common::Workspace;

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/client-database")
        .join(name)
        .display()
        .to_string()
}

fn sqlite3(path: &Path, sql: &str) -> String {
    dbprov_testkit::ensure_debian_packages(|| Path::new("/usr/bin/sqlite3").exists(), &["sqlite3"]);
    let output = std::process::Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .output()
        .expect("run sqlite3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn golang_migrate_commands_on_sqlite() {
    let workspace = Workspace::new();
    let database = workspace.path().join("clients.sqlite3");
    let url = format!("sqlite3://{}", database.display());
    let source = example("migrations-sqlite");
    let migrate = |args: &[&str]| {
        let mut all = vec!["migrate", "--source", &source, "--database", &url];
        all.extend_from_slice(args);
        workspace.dbprov(&all)
    };
    let up = migrate(&["up"]).expect(0);
    assert!(up.stderr.contains("1/u create_oauth2_clients"), "{}", up.stderr);
    let latest = sqlite3(&database, "SELECT version || '|' || dirty FROM schema_migrations");
    assert_eq!(
        migrate(&["version"]).expect(0).stdout.trim(),
        latest.split('|').next().unwrap()
    );
    assert!(migrate(&["up"]).expect(0).stderr.contains("no change"));

    // The example's versions are 1, 2, 3...: one step down is the previous number.
    let latest: u64 = latest.split('|').next().unwrap().parse().unwrap();
    assert!(latest >= 2, "the example has at least two versions");
    migrate(&["down", "1"]).expect(0);
    assert_eq!(
        sqlite3(&database, "SELECT version || '|' || dirty FROM schema_migrations"),
        format!("{}|0", latest - 1)
    );
    migrate(&["goto", "1"]).expect(0);
    assert_eq!(migrate(&["version"]).expect(0).stdout.trim(), "1");
    migrate(&["force", "7"]).expect(0);
    assert_eq!(
        sqlite3(&database, "SELECT version || '|' || dirty FROM schema_migrations"),
        "7|0"
    );
    let error = migrate(&["up"]).expect(1);
    assert!(
        error.stderr.contains("no migration found for version 7"),
        "{}",
        error.stderr
    );
    migrate(&["force", "1"]).expect(0);

    // `down` without a count asks; without a terminal the answer is no.
    let refused = migrate(&["down"]).expect(1);
    assert!(refused.stderr.contains("pass --all"), "{}", refused.stderr);
    migrate(&["down", "--all"]).expect(0);
    assert_eq!(sqlite3(&database, "SELECT count(*) FROM schema_migrations"), "0");
    assert_eq!(
        migrate(&["version"]).expect(1).stderr.trim(),
        "error: no migration"
    );
}

#[test]
fn create_makes_a_pair_of_files() {
    let workspace = Workspace::new();
    let created = workspace
        .dbprov(&[
            "migrate",
            "create",
            "--ext",
            "sql",
            "--dir",
            "m",
            "--seq",
            "add_clients",
        ])
        .expect(0);
    assert!(
        created.stdout.contains("000001_add_clients.up.sql"),
        "{}",
        created.stdout
    );
    assert!(workspace.path().join("m/000001_add_clients.down.sql").exists());
    workspace
        .dbprov(&["migrate", "create", "--ext", "sql", "--dir", "m", "--seq", "next"])
        .expect(0);
    assert!(workspace.path().join("m/000002_next.up.sql").exists());
}

#[test]
fn a_postgres_url_in_golang_migrate_form() {
    let server = dbprov_testkit::postgres();
    let database = dbprov_testkit::unique_name("mig");
    dbprov_testkit::psql(server, "postgres", &format!("CREATE DATABASE {database}"));
    let workspace = Workspace::new();
    let url = format!(
        "postgres://{}:{}@{}:{}/{database}?sslmode=disable",
        server.admin_user, server.admin_password, server.host, server.port
    );
    let source = example("migrations-postgres");
    workspace
        .dbprov(&[
            "migrate",
            "--source",
            &format!("file://{source}"),
            "--database",
            &url,
            "up",
        ])
        .expect(0);
    let row = dbprov_testkit::psql(server, &database, "SELECT version, dirty FROM schema_migrations");
    assert!(row.trim().ends_with("|f"), "{row}");
    let columns = dbprov_testkit::psql(
        server,
        &database,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'oauth2_clients'",
    );
    assert!(columns.trim().parse::<u32>().unwrap() >= 10, "{columns}");
    dbprov_testkit::psql(
        server,
        "postgres",
        &format!("DROP DATABASE {database} WITH (FORCE)"),
    );
}

#[test]
fn database_migration_kind_applies_and_reports_changed_files() {
    let workspace = Workspace::new();
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/quickstart")
        .display()
        .to_string();
    // A private copy of the migrations, to edit an applied file later.
    let source = workspace.path().join("migrations");
    std::fs::create_dir(&source).unwrap();
    for entry in std::fs::read_dir(example("migrations-sqlite")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, source.join(path.file_name().unwrap())).unwrap();
    }
    workspace.write(
        "m/migration.yaml",
        "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseMigration
metadata:
  name: client-db-schema
spec:
  databaseRef:
    name: client-db
  source:
    directory: migrations
",
    );
    let plan = workspace
        .dbprov(&["plan", "-f", &quickstart, "-f", "m", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout
            .contains("migrate: run 000001_create_oauth2_clients.up.sql"),
        "{}",
        plan.stdout
    );
    let apply = workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    assert!(
        apply
            .stdout
            .contains("databasemigration/client-db-schema configured"),
        "{}",
        apply.stdout
    );
    let database = workspace.path().join("data/client_db.sqlite3");
    let version = sqlite3(&database, "SELECT version FROM schema_migrations");
    let object = workspace
        .dbprov(&["-o", "json", "get", "dbm", "client-db-schema"])
        .expect(0);
    let object: serde_json::Value = serde_json::from_str(&object.stdout).unwrap();
    assert_eq!(object["status"]["currentVersion"].to_string(), version);
    assert_eq!(
        object["status"]["applied"].as_array().unwrap().len().to_string(),
        version
    );
    workspace
        .dbprov(&["plan", "-f", &quickstart, "-f", "m", "--detailed-exitcode"])
        .expect(0);

    // An applied file edited afterwards is reported, not re-run.
    let first = source.join("000001_create_oauth2_clients.up.sql");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, format!("{text}\n-- edited after it ran\n")).unwrap();
    workspace
        .dbprov(&["apply", "-f", &quickstart, "-f", "m"])
        .expect(0);
    let described = workspace
        .dbprov(&["describe", "dbm", "client-db-schema"])
        .expect(0);
    assert!(
        described.stdout.contains("ChecksumMismatch"),
        "{}",
        described.stdout
    );
    assert!(
        described.stdout.contains("changed since it ran"),
        "{}",
        described.stdout
    );
}
