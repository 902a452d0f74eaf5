//! Retention over a real storage: list → plan → prune keeps exactly what the policy says, and leaves what
//! is not a complete backup alone.

mod common;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use common::*;
use dbprov_backup::artifact::{
    self, ArtifactFormat, ArtifactMetadata, ArtifactName, ArtifactState, CompressionInfo, METADATA_VERSION,
};
use dbprov_backup::retention::{self, KeepReason, RetentionPolicy};
use dbprov_backup::{CompressionAlgorithm, Storage};
use dbprov_core::EngineKind;

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_utc()
}

/// Stores a small complete artifact of `orders` started at `started_at`, as a backup would.
async fn store_backup(storage: &Storage, started_at: DateTime<Utc>) -> String {
    let name = ArtifactName::new(
        "orders",
        started_at,
        ArtifactFormat::MySqlSql,
        CompressionAlgorithm::None,
        false,
    )
    .unwrap()
    .to_string();
    let contents = format!("-- dump of orders at {started_at}\n");
    storage.put_small(&name, contents.clone().into()).await.unwrap();
    let metadata = ArtifactMetadata {
        metadata_version: METADATA_VERSION,
        artifact: name.clone(),
        engine: EngineKind::MariaDb,
        instance: "mysql-main".into(),
        database: "orders".into(),
        format: ArtifactFormat::MySqlSql,
        server_version: "10.11".into(),
        tool: "mariadb-dump".into(),
        tool_version: "10.19".into(),
        compression: CompressionInfo {
            algorithm: CompressionAlgorithm::None,
            level: None,
        },
        encryption: None,
        raw_size_bytes: contents.len() as u64,
        stored_size_bytes: contents.len() as u64,
        sha256: "0".repeat(64),
        started_at,
        completed_at: started_at + Duration::seconds(5),
        dbprov_version: "test".into(),
    };
    storage
        .put_small(&artifact::metadata_name(&name), metadata.to_json().into())
        .await
        .unwrap();
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_exactly_what_the_policy_says() {
    let (directory, storage) = local_storage();
    // Daily backups at 02:00 for 60 days, plus an extra manual one on the last day.
    let mut names = Vec::new();
    for day in 0..60 {
        names.push(store_backup(&storage, at("2025-01-01 02:00") + Duration::days(day)).await);
    }
    names.push(store_backup(&storage, at("2025-03-01 15:30")).await);
    // Not complete backups: an artifact without metadata and a temporary file.
    std::fs::write(artifact_path(&directory, "orders-20250101-010000.sql"), "orphan").unwrap();
    std::fs::write(
        artifact_path(&directory, "orders-20250301-160000.sql.0123456789ab.partial"),
        "half",
    )
    .unwrap();

    let policy = RetentionPolicy {
        keep_last: 2,
        keep_daily: 7,
        keep_weekly: 4,
        keep_monthly: 3,
        ..Default::default()
    };
    let entries = artifact::list(&storage).await.unwrap();
    assert_eq!(entries.len(), 63);
    let candidates = artifact::retention_candidates(&entries);
    assert_eq!(candidates.len(), 61);
    let plan = retention::plan(&candidates, &policy, at("2025-03-01 16:00"), &Utc);

    // Worked out by hand: the last 2; one per day for 7 days (Mar 1 counts once, with the newer backup);
    // one per ISO week for 4 weeks (the weeks starting Feb 24, 17, 10, 3: their newest backups are
    // Mar 1, Feb 23, Feb 16, Feb 9); one per month for 3 months (Mar 1 15:30, Feb 28, Jan 31).
    let mut expected = vec![
        "orders-20250301-153000.sql", // last, daily, weekly, monthly
        "orders-20250301-020000.sql", // last
        "orders-20250228-020000.sql", // daily, monthly
        "orders-20250227-020000.sql",
        "orders-20250226-020000.sql",
        "orders-20250225-020000.sql",
        "orders-20250224-020000.sql",
        "orders-20250223-020000.sql", // daily, weekly
        "orders-20250216-020000.sql", // weekly
        "orders-20250209-020000.sql", // weekly
        "orders-20250131-020000.sql", // monthly
    ];
    expected.sort();
    let mut kept: Vec<&str> = plan.kept().map(|decision| decision.id.as_str()).collect();
    kept.sort();
    assert_eq!(kept, expected);
    let newest = plan
        .decisions
        .iter()
        .find(|d| d.id == "orders-20250301-153000.sql")
        .unwrap();
    assert_eq!(
        newest.reasons,
        [
            KeepReason::Last,
            KeepReason::Daily,
            KeepReason::Weekly,
            KeepReason::Monthly
        ]
    );

    let deleted = artifact::prune(&storage, &plan).await.unwrap();
    assert_eq!(deleted.len(), 61 - 11);
    let after = artifact::list(&storage).await.unwrap();
    let mut complete: Vec<&str> = after
        .iter()
        .filter(|entry| entry.state == ArtifactState::Complete)
        .map(|entry| entry.name.as_str())
        .collect();
    complete.sort();
    assert_eq!(complete, expected);
    // Incomplete things are not backups: retention neither counted nor removed them.
    let others: Vec<(&str, &ArtifactState)> = after
        .iter()
        .filter(|entry| entry.state != ArtifactState::Complete)
        .map(|entry| (entry.name.as_str(), &entry.state))
        .collect();
    assert_eq!(
        others,
        [
            ("orders-20250101-010000.sql", &ArtifactState::MissingMetadata),
            (
                "orders-20250301-160000.sql.0123456789ab.partial",
                &ArtifactState::Partial
            ),
        ]
    );
    // Deleted backups lost both the artifact and its metadata.
    let files = files_in(&directory.path().join("backups"));
    assert_eq!(files.len(), 2 * 11 + 2, "{files:?}");
    assert!(
        names
            .iter()
            .all(|name| expected.contains(&name.as_str()) == files.contains(name))
    );

    // Running the same policy again deletes nothing more.
    let again = retention::plan(
        &artifact::retention_candidates(&artifact::list(&storage).await.unwrap()),
        &policy,
        at("2025-03-01 16:00"),
        &Utc,
    );
    assert_eq!(again.deleted().count(), 0);
}
