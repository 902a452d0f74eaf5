//! Bad manifests exit non-zero with a message naming the file, the document and the field, and run no SQL.

mod common;

use common::Workspace;

const SQLITE_INSTANCE: &str = "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: local
spec:
  engine: sqlite
  sqlite:
    path: ./data
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: Database
metadata:
  name: good
spec:
  instanceRef:
    name: local
  name: good_db
";

/// Applies a valid SQLite manifest plus one bad document; checks the error and that nothing ran.
fn rejected(bad: &str, needles: &[&str]) {
    let workspace = Workspace::new();
    workspace.write("manifests/good.yaml", SQLITE_INSTANCE);
    workspace.write("manifests/zz-bad.yaml", &format!("# a comment\n---\n{bad}"));
    let run = workspace.dbprov(&["apply", "-f", "manifests"]).expect(1);
    assert!(
        run.stderr.contains("zz-bad.yaml (document 2)"),
        "names file and document:\n{}",
        run.stderr
    );
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "expected {needle:?} in:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(
        !workspace.path().join("data/good_db.sqlite3").exists(),
        "no SQL ran for the valid document either"
    );
}

#[test]
fn unknown_kind() {
    rejected(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseWidget\nmetadata: {name: w}\nspec: {}\n",
        &["DatabaseWidget"],
    );
}

#[test]
fn unknown_field() {
    rejected(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: x}\nspec:\n  instanceRef: {name: local}\n  name: x\n  nmae: typo\n",
        &["spec.nmae"],
    );
}

#[test]
fn unimplemented_field() {
    rejected(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: x}\nspec:\n  instanceRef: {name: local}\n  name: x\n  initSQL:\n    inline: [\"select 1\"]\n",
        &["spec.initSQL"],
    );
}

#[test]
fn bad_name() {
    let long = "n".repeat(300);
    rejected(
        &format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {{name: x}}\nspec:\n  instanceRef: {{name: local}}\n  name: \"{long}\"\n"
        ),
        &["spec.name", "is 300 bytes long; the limit on SQLite is 239"],
    );
}

#[test]
fn dangling_reference() {
    rejected(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: x}\nspec:\n  instanceRef: {name: nowhere}\n  name: x\n",
        &["DatabaseInstance/nowhere", "does not exist"],
    );
}

#[test]
fn missing_secret() {
    rejected(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: pg}\nspec:\n  engine: postgres\n  connection:\n    host: 127.0.0.1\n    port: 5432\n    database: postgres\n    secretRef: {name: absent-admin}\n---\napiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {name: ydb}\nspec:\n  instanceRef: {name: pg}\n  name: ydb\n",
        &["secret default/absent-admin does not exist"],
    );
}

#[test]
fn an_unsupported_feature_of_the_engine_is_rejected() {
    rejected(
        "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {name: u}\nspec:\n  instanceRef: {name: local}\n  username: app\n",
        &["spec.username", "SQLite has no users"],
    );
}

#[test]
fn duplicate_objects() {
    rejected(
        SQLITE_INSTANCE
            .split("---\n")
            .nth(1)
            .expect("the database document"),
        &["declared twice"],
    );
}
