//! The README's main command: the quickstart on the embedded default (SQLite), end to end.

mod common;

use std::path::Path;

use common::Workspace;

fn quickstart() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/quickstart")
        .display()
        .to_string()
}

#[test]
fn quickstart_plans_applies_idempotently_and_deletes() {
    let workspace = Workspace::new();
    let quickstart = quickstart();

    let plan = workspace
        .dbprov(&["plan", "-f", &quickstart, "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout
            .contains("database/client-db:\n  + PRAGMA journal_mode = WAL;"),
        "{}",
        plan.stdout
    );
    assert!(
        !workspace.path().join("data/client_db.sqlite3").exists(),
        "plan changes nothing"
    );

    let apply = workspace.dbprov(&["apply", "-f", &quickstart]).expect(0);
    assert!(
        apply.stdout.contains("database/client-db created"),
        "{}",
        apply.stdout
    );
    let file = workspace.path().join("data/client_db.sqlite3");
    assert!(file.exists());

    let again = workspace.dbprov(&["apply", "-f", &quickstart]).expect(0);
    assert!(
        again.stdout.contains("database/client-db unchanged"),
        "{}",
        again.stdout
    );
    workspace
        .dbprov(&["plan", "-f", &quickstart, "--detailed-exitcode"])
        .expect(0);

    // Global options go before or after the subcommand; kinds are spelled as kubectl spells them.
    let table = workspace.dbprov(&["get", "db"]).expect(0);
    assert!(
        table.stdout.contains("client-db") && table.stdout.contains("True"),
        "{}",
        table.stdout
    );
    let json = workspace
        .dbprov(&["-o", "json", "get", "databases", "client-db"])
        .expect(0);
    let object: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON output");
    assert_eq!(object["status"]["phase"], "Ready");
    assert_eq!(object["spec"]["name"], "client_db");
    let described = workspace.dbprov(&["describe", "Database", "client-db"]).expect(0);
    assert!(
        described.stdout.contains("PRAGMA journal_mode = WAL;"),
        "{}",
        described.stdout
    );

    let deleted = workspace.dbprov(&["delete", "-f", &quickstart]).expect(0);
    assert!(
        deleted.stdout.contains("database/client-db deleted"),
        "{}",
        deleted.stdout
    );
    assert!(!file.exists(), "deletionPolicy Delete removed the file");
    workspace.dbprov(&["get", "db", "client-db"]).expect(1);
}

#[test]
fn the_state_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let workspace = Workspace::new();
    workspace
        .dbprov(&["apply", "-f", &quickstart(), "--state-dir", "custom-state"])
        .expect(0);
    let state = workspace.path().join("custom-state");
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(state.join("state.sqlite3"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn crds_and_completions_print() {
    let workspace = Workspace::new();
    let crds = workspace.dbprov(&["crds"]).expect(0);
    assert!(crds.stdout.contains("kind: CustomResourceDefinition"));
    assert_eq!(
        crds.stdout.matches("kind: CustomResourceDefinition").count(),
        dbprov_api::Kind::ALL.len()
    );
    let completions = workspace.dbprov(&["completions", "bash"]).expect(0);
    assert!(completions.stdout.contains("dbprov"), "{}", completions.stdout);
}
