//! The CLI against the throwaway MariaDB server: the seeds' client-database (least-privilege users with
//! generated credentials, the auth-service's DSN) and a grant edit.

mod common;

use common::{Workspace, instance, mariadb};

fn login(user: &str, password: &str, sql: &str) -> Result<String, String> {
    let server = dbprov_testkit::mariadb();
    let output = std::process::Command::new(server.bin_dir.join("mariadb"))
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--skip-ssl",
            "-h",
            &server.host,
            "-P",
            &server.port.to_string(),
        ])
        .args(["-u", user, "--batch", "--skip-column-names", "-e", sql])
        .env("MYSQL_PWD", password)
        .output()
        .expect("run mariadb");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn client_database_example_gives_least_privilege_users() {
    let server = dbprov_testkit::mariadb();
    let workspace = Workspace::new();
    let manifests = workspace.example("client-database", server, "host: client-database", "port: 3306");
    let manifests = manifests.to_str().expect("UTF-8 path");

    let apply = workspace.dbprov(&["apply", "-f", manifests]).expect(0);
    assert!(
        apply
            .stdout
            .contains("databaseinstance/client-database connected (MariaDB"),
        "{}",
        apply.stdout
    );
    assert_eq!(
        mariadb(
            "SELECT CONCAT(default_character_set_name, ' ', default_collation_name) FROM information_schema.schemata WHERE schema_name = 'client_db'"
        ),
        "utf8mb4 utf8mb4_unicode_ci"
    );
    let grants = mariadb("SHOW GRANTS FOR 'client_db_user'@'%'");
    assert!(
        grants.contains("GRANT SELECT, INSERT, UPDATE ON `client\\_db`.* TO `client_db_user`@`%`"),
        "{grants}"
    );
    assert!(grants.contains("MAX_USER_CONNECTIONS 25"), "{grants}");
    let grants = mariadb("SHOW GRANTS FOR 'backup_user'@'%'");
    assert!(
        grants.contains("GRANT SELECT, LOCK TABLES ON `client\\_db`.* TO `backup_user`@`%`"),
        "{grants}"
    );

    // The generated credentials work, and the auth-service's DSN is exactly the go-sql-driver form.
    let password = workspace.secret_value("default", "client-db-user-credentials", "MYSQL_PASSWORD");
    assert_eq!(
        login("client_db_user", &password, "SELECT CURRENT_USER()").unwrap(),
        "client_db_user@%"
    );
    assert!(
        login("client_db_user", &password, "CREATE TABLE client_db.t (x int)").is_err(),
        "no CREATE for the app"
    );
    let dsn = workspace.secret_value("default", "client-db-user-credentials", "DSN");
    assert_eq!(
        dsn,
        format!(
            "client_db_user:{password}@tcp({}:{})/client_db?parseTime=true&charset=utf8mb4",
            server.host, server.port
        )
    );
    let backup_password = workspace.secret_value("default", "backup-user-credentials", "password");
    assert!(
        login(
            "backup_user",
            &backup_password,
            "SELECT COUNT(*) FROM client_db.oauth2_clients"
        )
        .is_err_and(|e| e.contains("doesn't exist"))
    );

    let again = workspace.dbprov(&["apply", "-f", manifests]).expect(0);
    assert!(
        !again.stdout.contains("created") && !again.stdout.contains("configured"),
        "{}",
        again.stdout
    );
    workspace
        .dbprov(&["plan", "-f", manifests, "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn editing_a_grant_revokes_exactly_what_was_removed() {
    let server = dbprov_testkit::mariadb();
    let workspace = Workspace::new();
    let (database, user) = (
        dbprov_testkit::unique_name("shop"),
        dbprov_testkit::unique_name("shopper"),
    );
    workspace.write("m/instance.yaml", &instance("maria", "mariadb", server, ""));
    let write = |privileges: &str| {
        workspace.write(
            "m/app.yaml",
            &format!(
                "apiVersion: dbops.dbprovision.io/v1alpha1
kind: Database
metadata: {{name: shop}}
spec:
  instanceRef: {{name: maria}}
  name: {database}
  deletionProtection: false
  deletionPolicy: Delete
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseUser
metadata: {{name: shopper}}
spec:
  instanceRef: {{name: maria}}
  username: {user}
  passwordSecret: {{secretName: shopper-credentials}}
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseGrant
metadata: {{name: shopper-grant}}
spec:
  userRef: {{name: shopper}}
  mysql:
    grants:
      - level: database
        database: {database}
        privileges: [{privileges}]
"
            ),
        );
    };
    write("SELECT, INSERT, DELETE");
    workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    let escaped = database.replace('_', "\\_");
    let grants = mariadb(&format!("SHOW GRANTS FOR '{user}'@'%'"));
    assert!(
        grants.contains(&format!("GRANT SELECT, INSERT, DELETE ON `{escaped}`.*")),
        "{grants}"
    );

    write("SELECT");
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
        vec![format!(
            "  + REVOKE DELETE, INSERT ON `{escaped}`.* FROM `{user}`@`%`;"
        )],
        "{}",
        plan.stdout
    );
    workspace.dbprov(&["apply", "-f", "m"]).expect(0);
    let grants = mariadb(&format!("SHOW GRANTS FOR '{user}'@'%'"));
    assert!(
        grants.contains(&format!("GRANT SELECT ON `{escaped}`.*")),
        "{grants}"
    );
    assert!(!grants.contains("INSERT"), "{grants}");

    // Deleting the grant revokes what it declared; deleting the database drops it.
    let deleted = workspace.dbprov(&["delete", "dbg", "shopper-grant"]).expect(0);
    assert!(
        deleted.stdout.contains("databasegrant/shopper-grant deleted"),
        "{}",
        deleted.stdout
    );
    assert!(!mariadb(&format!("SHOW GRANTS FOR '{user}'@'%'")).contains(&escaped));
    workspace.dbprov(&["delete", "db", "shop"]).expect(0);
    assert_eq!(
        mariadb(&format!(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{database}'"
        )),
        "0"
    );
}
