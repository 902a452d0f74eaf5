//! Fixtures: a fresh database per test on SQLite, PostgreSQL or MariaDB (dropped afterwards), independent
//! SQL access through each engine's own command-line client, and in-process servers on 127.0.0.1:0.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use clientdb::auth::AuthSettings;
use clientdb::auth::rate_limit::RateLimitSettings;
use clientdb::config::{DatabaseConfig, DatabaseTarget, PoolSettings, RetryPolicy, ServerTarget};
use clientdb::secret::{HashAlgorithm, HashPolicy};
use clientdb::server::{ServeSettings, Server};
use clientdb::store::Store;
use clientdb::{ClientRegistry, migrations};
use dbprov_core::{Secret, TlsMode};
use dbprov_testkit::{ServerAddress, mariadb_sql, psql, unique_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

/// Fast hashing for tests that are not about hashing cost.
pub fn fast_policy() -> HashPolicy {
    HashPolicy {
        algorithm: HashAlgorithm::Bcrypt,
        bcrypt_cost: 4,
        ..HashPolicy::default()
    }
}

fn test_pool() -> PoolSettings {
    PoolSettings {
        max_open: 4,
        max_idle: 0,
        ..PoolSettings::default()
    }
}

/// A database created for one test and dropped when the test ends.
pub struct TestDatabase {
    pub backend: Backend,
    pub config: DatabaseConfig,
    pub name: String,
    address: Option<&'static ServerAddress>,
    _directory: Option<tempfile::TempDir>,
}

impl Backend {
    pub async fn database(self) -> TestDatabase {
        let name = unique_name("clientdb");
        match self {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().expect("temporary directory");
                let path = directory.path().join(format!("{name}.sqlite3"));
                TestDatabase {
                    backend: self,
                    config: DatabaseConfig {
                        target: DatabaseTarget::Sqlite { path },
                        pool: test_pool(),
                        retry: RetryPolicy::once(),
                    },
                    name,
                    address: None,
                    _directory: Some(directory),
                }
            }
            Backend::Postgres => {
                let address = dbprov_testkit::postgres();
                psql(address, "postgres", &format!("CREATE DATABASE {name}"));
                TestDatabase {
                    backend: self,
                    config: server_config(address, &name, true),
                    name,
                    address: Some(address),
                    _directory: None,
                }
            }
            Backend::MariaDb => {
                let address = dbprov_testkit::mariadb();
                mariadb_sql(
                    address,
                    &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
                );
                TestDatabase {
                    backend: self,
                    config: server_config(address, &name, false),
                    name,
                    address: Some(address),
                    _directory: None,
                }
            }
        }
    }

    /// A fresh database with the schema applied.
    pub async fn migrated(self) -> TestDatabase {
        let database = self.database().await;
        migrations::up(&database.config).await.expect("migrations apply");
        database
    }
}

fn server_config(address: &ServerAddress, database: &str, postgres: bool) -> DatabaseConfig {
    let server = ServerTarget {
        host: address.host.clone(),
        port: address.port,
        user: address.admin_user.clone(),
        password: Some(Secret::new(address.admin_password.clone())),
        database: database.to_owned(),
        tls_mode: TlsMode::Disable,
        tls_root_cert: None,
        tls_client_cert: None,
        tls_client_key: None,
    };
    DatabaseConfig {
        target: if postgres {
            DatabaseTarget::Postgres(server)
        } else {
            DatabaseTarget::MySql(server)
        },
        pool: test_pool(),
        retry: RetryPolicy::once(),
    }
}

impl TestDatabase {
    /// Runs SQL through the engine's own client (psql, mariadb, sqlite3), independent of clientdb, and
    /// returns its tab-separated output.
    pub fn sql(&self, sql: &str) -> String {
        match self.backend {
            Backend::Postgres => psql(self.address.expect("server"), &self.name, sql),
            Backend::MariaDb => mariadb_sql(
                self.address.expect("server"),
                &format!("USE {}; {sql}", self.name),
            ),
            Backend::Sqlite => {
                dbprov_testkit::ensure_debian_packages(
                    || Command::new("sqlite3").arg("-version").output().is_ok(),
                    &["sqlite3"],
                );
                let DatabaseTarget::Sqlite { path } = &self.config.target else {
                    unreachable!("sqlite backend")
                };
                let output = Command::new("sqlite3")
                    .args(["-batch", "-separator", "\t"])
                    .arg(path)
                    .arg(sql)
                    .output()
                    .expect("run sqlite3");
                assert!(
                    output.status.success(),
                    "sqlite3 failed for {sql:?}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                String::from_utf8_lossy(&output.stdout).into_owned()
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.config).await.expect("connect")
    }

    pub async fn registry(&self) -> ClientRegistry {
        ClientRegistry::new(self.store().await, fast_policy()).expect("registry")
    }

    /// The database URL form (`DATABASE_URL`) of this database.
    pub fn url(&self) -> String {
        match &self.config.target {
            DatabaseTarget::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseTarget::Postgres(server) | DatabaseTarget::MySql(server) => {
                let scheme = if self.backend == Backend::Postgres {
                    "postgres"
                } else {
                    "mysql"
                };
                let password: String = url::form_urlencoded::byte_serialize(
                    server.password.as_ref().expect("password").expose().as_bytes(),
                )
                .collect();
                format!(
                    "{scheme}://{}:{password}@{}:{}/{}",
                    server.user, server.host, server.port, server.database
                )
            }
            DatabaseTarget::Connection { .. } => unreachable!("the suite configures servers by URL parts"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Cleanup is best effort: a leftover database does not affect other tests (names are unique).
        let name = &self.name;
        match (self.backend, self.address) {
            (Backend::Postgres, Some(address)) => {
                let _ = std::panic::catch_unwind(|| {
                    psql(
                        address,
                        "postgres",
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    )
                });
            }
            (Backend::MariaDb, Some(address)) => {
                let _ = std::panic::catch_unwind(|| {
                    mariadb_sql(address, &format!("DROP DATABASE IF EXISTS {name}"))
                });
            }
            _ => {}
        }
    }
}

/// An in-process `clientdb serve`.
pub struct TestServer {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Keeps the generated signing key's directory for the server's life.
    _key_directory: Arc<tempfile::TempDir>,
}

pub fn serve_settings(database: &TestDatabase, keys: &tempfile::TempDir) -> ServeSettings {
    let mut settings = ServeSettings::new(database.config.clone());
    settings.listen = "127.0.0.1:0".into();
    settings.signing_key = keys.path().to_owned();
    settings.auth = AuthSettings {
        policy: fast_policy(),
        rate_limits: RateLimitSettings::default(),
        ..AuthSettings::default()
    };
    settings.admin_token = Some(Secret::new(ADMIN_TOKEN));
    settings
}

pub const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789";

impl TestServer {
    pub async fn start(database: &TestDatabase) -> TestServer {
        Self::start_with(
            database,
            Arc::new(tempfile::tempdir().expect("key directory")),
            |_| {},
        )
        .await
    }

    pub async fn start_with(
        database: &TestDatabase,
        keys: Arc<tempfile::TempDir>,
        customize: impl FnOnce(&mut ServeSettings),
    ) -> TestServer {
        let mut settings = serve_settings(database, &keys);
        customize(&mut settings);
        let server = Server::start(settings).await.expect("server starts");
        let url = format!("http://{}", server.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer {
            url,
            stop: Some(stop),
            task: Some(task),
            _key_directory: keys,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// RFC 6749 §2.3.1: form-urlencode the id and the secret, then HTTP Basic.
pub fn basic_header(client_id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret)))
    )
}

/// `POST /oauth2/token` with Basic credentials and `form`; returns (status, headers, JSON body).
pub async fn token_basic(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let response = http()
        .post(format!("{}/oauth2/token", server.url))
        .header("authorization", basic_header(client_id, secret))
        .form(form)
        .send()
        .await
        .expect("token request");
    split(response).await
}

pub async fn token_post(
    server: &TestServer,
    form: &[(&str, &str)],
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let response = http()
        .post(format!("{}/oauth2/token", server.url))
        .form(form)
        .send()
        .await
        .expect("token request");
    split(response).await
}

pub async fn introspect(
    server: &TestServer,
    caller_id: &str,
    caller_secret: &str,
    token: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let response = http()
        .post(format!("{}/oauth2/introspect", server.url))
        .header("authorization", basic_header(caller_id, caller_secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection request");
    let (status, _, body) = split(response).await;
    (status, body)
}

pub async fn split(
    response: reqwest::Response,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, headers, body)
}
