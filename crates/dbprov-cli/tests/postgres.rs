//! The CLI against the throwaway PostgreSQL server: the microservices example, then a full lifecycle
//! (plan → apply → verify → edit → plan shows exactly that change → drift by hand → delete per policy).

mod common;

use common::{Workspace, instance, psql};

fn unique(prefix: &str) -> String {
    dbprov_testkit::unique_name(prefix)
}

#[test]
fn microservices_example_converges_and_covers_future_tables() {
    let server = dbprov_testkit::postgres();
    let workspace = Workspace::new();
    let manifests = workspace.example("microservices", server, "host: postgres", "port: 5432");
    let manifests = manifests.to_str().expect("UTF-8 path");

    let apply = workspace.dbprov(&["apply", "-f", manifests]).expect(0);
    for service in ["auth", "user", "product", "order", "payment", "notification"] {
        assert!(
            apply.stdout.contains(&format!("database/{service}-db created")),
            "{}",
            apply.stdout
        );
        assert_eq!(
            psql(&format!(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{service}db'"
            )),
            format!("{service}user")
        );
    }
    // The owner logs in with the generated password and creates a table; the read-only role can read it
    // (default privileges) but not write it.
    let password = workspace.secret_value("default", "order-db-credentials", "password");
    let output = std::process::Command::new(server.bin_dir.join("psql"))
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &server.host,
            "-p",
            &server.port.to_string(),
        ])
        .args([
            "-U",
            "orderuser",
            "-d",
            "orderdb",
            "-c",
            "CREATE TABLE orders (id int)",
        ])
        .env("PGPASSWORD", &password)
        .env("PGSSLMODE", "disable")
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let privileges = dbprov_testkit::psql(
        server,
        "orderdb",
        "SELECT has_table_privilege('order_readonly', 'orders', 'SELECT'), has_table_privilege('order_readonly', 'orders', 'INSERT')",
    );
    assert_eq!(privileges.trim(), "t|f");

    let again = workspace.dbprov(&["apply", "-f", manifests]).expect(0);
    assert!(
        !again.stdout.contains("created") && !again.stdout.contains("configured"),
        "{}",
        again.stdout
    );
    workspace
        .dbprov(&["plan", "-f", manifests, "--detailed-exitcode"])
        .expect(0);
    use std::os::unix::fs::PermissionsExt;
    let secret = workspace
        .path()
        .join(".dbprov/secrets/default.order-db-credentials.yaml");
    assert_eq!(
        std::fs::metadata(secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

fn lifecycle_manifests(
    database: &str,
    user: &str,
    limit: i32,
    drift: &str,
    protection: bool,
    policy: &str,
) -> String {
    format!(
        "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseUser
metadata:
  name: app
spec:
  instanceRef:
    name: pg
  username: {user}
  passwordSecret:
    secretName: app-credentials
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: Database
metadata:
  name: app-db
spec:
  instanceRef:
    name: pg
  name: {database}
  deletionProtection: {protection}
  deletionPolicy: {policy}
  driftPolicy:
    mode: {drift}
  postgres:
    connectionLimit: {limit}
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseGrant
metadata:
  name: app-grant
spec:
  userRef:
    name: app
  postgres:
    grants:
      - database: {database}
        privileges: [CONNECT, TEMPORARY]
"
    )
}

#[test]
fn lifecycle_plan_apply_edit_drift_delete() {
    let server = dbprov_testkit::postgres();
    let workspace = Workspace::new();
    let (database, user) = (unique("life"), unique("lifeuser"));
    workspace.write("m/instance.yaml", &instance("pg", "postgres", server, ""));
    let write = |limit, drift, protection, policy| {
        workspace.write(
            "m/app.yaml",
            &lifecycle_manifests(&database, &user, limit, drift, protection, policy),
        );
    };
    write(5, "detect", true, "Retain");

    let plan = workspace
        .dbprov(&["plan", "-f", "m", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout.contains(&format!("CREATE DATABASE \"{database}\"")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("PASSWORD '<redacted>'"),
        "passwords are redacted: {}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("SCRAM-SHA-256"),
        "not even the verifier is shown"
    );
    workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    assert_eq!(
        psql(&format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = '{database}'"
        )),
        "5"
    );
    assert_eq!(
        psql(&format!(
            "SELECT privilege_type FROM pg_database, aclexplode(datacl) a WHERE datname = '{database}' AND a.grantee = '{user}'::regrole ORDER BY 1"
        )),
        "CONNECT\nTEMPORARY"
    );

    // An edit plans exactly that change.
    write(10, "detect", true, "Retain");
    let plan = workspace
        .dbprov(&["plan", "-f", "m", "--detailed-exitcode"])
        .expect(2);
    let statements: Vec<&str> = plan
        .stdout
        .lines()
        .filter(|line| line.trim_start().starts_with("+ "))
        .collect();
    assert_eq!(
        statements,
        vec![format!("  + ALTER DATABASE \"{database}\" CONNECTION LIMIT 10;")],
        "{}",
        plan.stdout
    );
    workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    assert_eq!(
        psql(&format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = '{database}'"
        )),
        "10"
    );

    // Drift by hand: reported under `detect`, left alone by apply.
    psql(&format!("ALTER DATABASE \"{database}\" CONNECTION LIMIT 3"));
    let plan = workspace
        .dbprov(&["plan", "-f", "m", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout.contains("~ drift:") && plan.stdout.contains("connectionLimit"),
        "{}",
        plan.stdout
    );
    let apply = workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    assert!(
        apply.stdout.contains("database/app-db drift detected"),
        "{}",
        apply.stdout
    );
    assert_eq!(
        psql(&format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = '{database}'"
        )),
        "3"
    );
    let described = workspace.dbprov(&["describe", "db", "app-db"]).expect(0);
    assert!(described.stdout.contains("DriftDetected"), "{}", described.stdout);

    // A hand-revoked privilege under `correct` is restored.
    write(10, "correct", true, "Retain");
    workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    assert_eq!(
        psql(&format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = '{database}'"
        )),
        "10"
    );
    psql(&format!("ALTER DATABASE \"{database}\" CONNECTION LIMIT 4"));
    let apply = workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    assert!(
        apply.stdout.contains("database/app-db configured"),
        "{}",
        apply.stdout
    );
    assert_eq!(
        psql(&format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = '{database}'"
        )),
        "10"
    );

    // Rotation: a new password in the Secret is set on the server.
    let first = workspace.secret_value("default", "app-credentials", "password");
    let secret_file = workspace
        .path()
        .join(".dbprov/secrets/default.app-credentials.yaml");
    let text = std::fs::read_to_string(&secret_file).unwrap();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&first);
    let rotated = base64::engine::general_purpose::STANDARD.encode("Rotated-by-hand-42");
    std::fs::write(&secret_file, text.replace(&encoded, &rotated)).unwrap();
    let apply = workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    assert!(
        apply.stdout.contains("databaseuser/app configured"),
        "{}",
        apply.stdout
    );
    let login = std::process::Command::new(server.bin_dir.join("psql"))
        .args([
            "-X",
            "-h",
            &server.host,
            "-p",
            &server.port.to_string(),
            "-U",
            &user,
            "-d",
            &database,
            "-Atc",
            "SELECT 1",
        ])
        .env("PGPASSWORD", "Rotated-by-hand-42")
        .env("PGSSLMODE", "disable")
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    // Deletion protection refuses and names the field; lifting it and choosing Delete drops the database.
    let refused = workspace.dbprov(&["delete", "db", "app-db"]).expect(1);
    assert!(
        refused.stdout.contains("spec.deletionProtection"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{database}'"
        )),
        "1"
    );
    write(10, "correct", false, "Delete");
    workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    let deleted = workspace.dbprov(&["delete", "-f", "m/app.yaml"]).expect(0);
    assert!(
        deleted.stdout.contains("database/app-db deleted"),
        "{}",
        deleted.stdout
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{database}'"
        )),
        "0"
    );
    // Users default to Retain (upstream's annotation default): the role stays, released.
    assert!(
        deleted.stdout.contains("databaseuser/app released"),
        "{}",
        deleted.stdout
    );
    assert_eq!(
        psql(&format!("SELECT count(*) FROM pg_roles WHERE rolname = '{user}'")),
        "1"
    );
    psql(&format!("DROP ROLE \"{user}\""));
}
