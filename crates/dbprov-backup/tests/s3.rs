//! Artifacts in S3, against a real S3 API: a `moto` server from PyPI, started for this test binary.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use dbprov_backup::artifact::{self, ArtifactState};
use dbprov_backup::storage::{S3Config, S3Credentials};
use dbprov_backup::{
    BackupRequest, Compression, EncryptionKey, RestoreRequest, Storage, StorageConfig, backup, restore,
    verify,
};
use dbprov_core::Secret;
use dbprov_testkit::{postgres, unique_name};

/// A moto S3 server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Self {
        dbprov_testkit::ensure_python_packages(&["moto", "moto.server"], &["moto[server]"]);
        let port = dbprov_testkit::free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP request (moto does not check signatures); returns the status line, headers and body.
    fn http(&self, method: &str, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send a request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read the response");
        response
    }

    fn create_bucket(&self, bucket: &str) {
        let response = self.http("PUT", &format!("/{bucket}"));
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    /// Multipart uploads started and neither completed nor aborted.
    fn pending_uploads(&self, bucket: &str) -> usize {
        self.http("GET", &format!("/{bucket}?uploads"))
            .matches("<Upload>")
            .count()
    }

    fn storage(&self, bucket: &str, prefix: &str) -> Storage {
        let mut config = S3Config::new(bucket, "us-east-1");
        config.endpoint = Some(self.endpoint());
        config.force_path_style = true;
        config.prefix = Some(prefix.into());
        config.part_size = S3Config::MIN_PART_SIZE;
        config.credentials = Some(S3Credentials {
            access_key_id: "testing".into(),
            secret_access_key: Secret::new("testing"),
            session_token: None,
        });
        Storage::open(&StorageConfig::S3(config)).expect("open S3 storage")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(database: &str) -> BackupRequest {
    let mut request = BackupRequest::new(pg_target(database));
    request.tools = tools(postgres());
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_multipart_round_trip() {
    let moto = Moto::start();
    moto.create_bucket("backups");
    let storage = moto.storage("backups", "team/orders");
    assert_eq!(storage.location(), "s3://backups/team/orders");

    let source = unique_name("pgs3");
    pg_create(&source);
    pg_seed(&source);
    pg_seed_big(&source, 14);
    let expected = pg_fingerprint(&source);
    let key = EncryptionKey::generate().unwrap();
    let mut backup_request = request(&source);
    // Uncompressed, so the artifact spans several 5 MiB parts.
    backup_request.compression = Compression::None;
    backup_request.encryption = Some(key.clone());
    let report = backup(&backup_request, &storage, None).await.unwrap();
    assert!(report.metadata.stored_size_bytes > 2 * S3Config::MIN_PART_SIZE as u64);

    // S3 itself says it was assembled from parts: a multipart ETag ends in "-<parts>".
    let head = moto.http("HEAD", &format!("/backups/team/orders/{}", report.artifact));
    let etag = head
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("etag:"))
        .unwrap_or_default()
        .to_owned();
    assert!(etag.trim_end().trim_end_matches('"').ends_with("-3"), "{etag}");
    assert_eq!(moto.pending_uploads("backups"), 0);

    let listed = artifact::list(&storage).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].state, ArtifactState::Complete);
    verify(&storage, &report.artifact, Some(&key), None)
        .await
        .unwrap();

    let copy = unique_name("pgs3copy");
    pg_create(&copy);
    let mut restore_request = RestoreRequest::new(&report.artifact, pg_target(&copy));
    restore_request.tools = tools(postgres());
    restore_request.encryption = Some(key);
    restore(&restore_request, &storage, None).await.unwrap();
    assert_eq!(pg_fingerprint(&copy), expected);

    artifact::delete(&storage, &report.artifact).await.unwrap();
    assert!(artifact::list(&storage).await.unwrap().is_empty());
    pg_drop(&source);
    pg_drop(&copy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_s3_backup_leaves_no_object_and_no_upload() {
    let moto = Moto::start();
    moto.create_bucket("interrupted");
    let storage = moto.storage("interrupted", "");
    let source = unique_name("pgs3kill");
    pg_create(&source);
    pg_seed_big(&source, 40);

    // Killed dump: the error path aborts the upload.
    let mut backup_request = request(&source);
    backup_request.compression = Compression::Gzip { level: 9, workers: 1 };
    let (sender, mut receiver) = tokio::sync::watch::channel(Default::default());
    let running = tokio::spawn({
        let (storage, backup_request) = (storage.clone(), backup_request.clone());
        async move { backup(&backup_request, &storage, Some(sender)).await }
    });
    wait_for_bytes(&mut receiver, 1).await;
    kill(find_child("pg_dump", &source).expect("pg_dump runs"));
    assert!(running.await.unwrap().is_err());
    assert!(storage.list().await.unwrap().is_empty());
    assert_eq!(moto.pending_uploads("interrupted"), 0);

    // Cancelled backup, after a part was uploaded: dropping the upload aborts it in the background.
    let (sender, mut receiver) = tokio::sync::watch::channel(Default::default());
    let running = tokio::spawn({
        let storage = storage.clone();
        async move { backup(&backup_request, &storage, Some(sender)).await }
    });
    wait_for_bytes(&mut receiver, 12 << 20).await;
    // The check below can see an upload in progress.
    assert_eq!(moto.pending_uploads("interrupted"), 1);
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    let aborted = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        moto.pending_uploads("interrupted") == 0
    });
    assert!(aborted, "the multipart upload was left pending");
    assert!(storage.list().await.unwrap().is_empty());
    pg_drop(&source);
}
