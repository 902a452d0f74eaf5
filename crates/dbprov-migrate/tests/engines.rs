//! What differs between engines: the migrations table as golang-migrate shapes it, the locks and their keys,
//! how a file is sent (transactions, multi-statement), the session the files run in, TLS and error texts.

mod common;

use std::time::Duration;

use common::{Engine, TestDatabase, source};
use dbprov_migrate::{DriverError, Migrator, RunError, Source};

/// `count` migrations that create nothing (the version table is all that changes).
fn trivial_migrations(count: u64) -> Source {
    let files: Vec<(String, Vec<u8>)> = (1..=count)
        .flat_map(|version| {
            [
                (format!("{version}_step.up.sql"), b"SELECT 1;".to_vec()),
                (format!("{version}_step.down.sql"), b"SELECT 1;".to_vec()),
            ]
        })
        .collect();
    Source::from_files("trivial", files).unwrap()
}

/// Runs `catalog_query` on a database whose table golang-migrate's DDL made and on one dbprov made; both hold
/// version 3 (clean). Returns the golang-migrate side after asserting both are identical.
async fn compare_with_golang_migrate(engine: Engine, catalog_query: &str) -> String {
    let by_hand = TestDatabase::new(engine, "shapego");
    by_hand
        .create_golang_migrate_table("schema_migrations", 3, false)
        .await;
    let by_dbprov = TestDatabase::new(engine, "shapedb");
    let mut migrator = by_dbprov.migrator(trivial_migrations(3)).await;
    migrator.up(None).await.unwrap();
    migrator.close().await.unwrap();
    let query = |db: &TestDatabase| catalog_query.replace("{database}", &db.name);
    let expected = by_hand.sql(&query(&by_hand)).await;
    let actual = by_dbprov.sql(&query(&by_dbprov)).await;
    assert_eq!(actual, expected, "dbprov's table differs from golang-migrate's");
    expected
}

mod postgres {
    use dbprov_migrate::lock_key::postgres_lock_key;
    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn the_table_is_golang_migrates() {
        let shape = compare_with_golang_migrate(
            Engine::Postgres,
            "SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull \
               FROM pg_attribute a WHERE a.attrelid = 'public.schema_migrations'::regclass AND a.attnum > 0 \
               AND NOT a.attisdropped ORDER BY a.attnum; \
             SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint \
               WHERE conrelid = 'public.schema_migrations'::regclass ORDER BY conname; \
             SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'schema_migrations'; \
             SELECT version, dirty FROM schema_migrations",
        )
        .await;
        assert_eq!(
            shape,
            "1|version|bigint|t\n2|dirty|boolean|t\nschema_migrations_pkey|p|PRIMARY KEY (version)\n\
             CREATE UNIQUE INDEX schema_migrations_pkey ON public.schema_migrations USING btree (version)\n3|f"
        );
    }

    async fn lock_holder(db: &TestDatabase, key: i64) -> sqlx::PgConnection {
        let a = db.address();
        let url = format!(
            "postgres://{}:{}@{}:{}/{}?sslmode=disable",
            a.admin_user, a.admin_password, a.host, a.port, db.name
        );
        let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut connection)
            .await
            .unwrap();
        connection
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_advisory_lock_blocks_the_runner_until_released() {
        let db = TestDatabase::new(Engine::Postgres, "pglock");
        // golang-migrate's key for this URL: CRC-32 of "public\0schema_migrations\0/<database>".
        let key = postgres_lock_key(&format!("/{}", db.name), "public", "schema_migrations");
        let mut holder = lock_holder(&db, key).await;

        let mut migrator = db.migrator(trivial_migrations(1)).await;
        let run = tokio::spawn(async move { migrator.up(None).await });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!run.is_finished(), "the runner must wait for the lock");
        assert!(
            !db.table_exists("schema_migrations").await,
            "nothing happens before the lock"
        );

        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .execute(&mut holder)
            .await
            .unwrap();
        let report = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the runner proceeds once the lock is free")
            .unwrap()
            .unwrap();
        assert_eq!(report.applied.len(), 1);
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    }

    #[tokio::test]
    async fn the_lock_wait_times_out_and_the_connection_stays_usable() {
        let db = TestDatabase::new(Engine::Postgres, "pgtimeout");
        let key = postgres_lock_key(&format!("/{}", db.name), "public", "schema_migrations");
        let holder = lock_holder(&db, key).await;
        let mut migrator = db
            .migrator(trivial_migrations(1))
            .await
            .with_lock_timeout(Duration::from_millis(300));
        let error = migrator.up(None).await.unwrap_err();
        assert!(
            matches!(error, RunError::Driver(DriverError::LockTimeout { .. })),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("timeout: can't acquire database lock"),
            "{error}"
        );
        holder.close().await.unwrap();
        migrator.up(None).await.unwrap();
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    }

    #[tokio::test]
    async fn the_runner_holds_golang_migrates_key_while_migrating() {
        let db = TestDatabase::new(Engine::Postgres, "pgkey");
        let files = source(&[(
            "1_record_locks.up.sql",
            "CREATE TABLE held AS SELECT (classid::bigint << 32) | objid::bigint AS key \
             FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted;",
        )]);
        db.migrator(files).await.up(None).await.unwrap();
        let expected = postgres_lock_key(&format!("/{}", db.name), "public", "schema_migrations");
        assert_eq!(db.sql("SELECT key FROM held").await, expected.to_string());
        // Only this key: other tests of the run may hold advisory locks of their own on the shared server.
        let held = db
            .sql(&format!(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
                 AND ((classid::bigint << 32) | objid::bigint) = {expected}"
            ))
            .await;
        assert_eq!(held, "0", "released after the run");
    }

    #[tokio::test]
    async fn errors_carry_line_column_and_file() {
        let db = TestDatabase::new(Engine::Postgres, "pgerror");
        let files = source(&[(
            "1_bad.up.sql",
            "CREATE TABLE foo (foo text);\nCREATE TABLEE bar (bar text);",
        )]);
        let error = db.migrator(files).await.up(None).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "migration failed: syntax error at or near \"TABLEE\" (column 8) in line 2: 1_bad.up.sql (version 1)"
        );
    }

    #[tokio::test]
    async fn a_file_is_one_implicit_transaction_unless_multi_statement() {
        let db = TestDatabase::new(Engine::Postgres, "pgtx");
        let files = || source(&[("1_half.up.sql", "CREATE TABLE a (x int);\nSELECT 1/0;")]);
        db.migrator(files()).await.up(None).await.unwrap_err();
        assert!(!db.table_exists("a").await, "the whole file rolled back");
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, true)]);

        let split = TestDatabase::new(Engine::Postgres, "pgmulti");
        let error = split
            .migrator_with("x-multi-statement=true", files())
            .await
            .up(None)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("division by zero"), "{error}");
        assert!(
            split.table_exists("a").await,
            "with x-multi-statement each piece runs on its own"
        );
    }

    #[tokio::test]
    async fn dollar_quoted_bodies_run_as_written() {
        let db = TestDatabase::new(Engine::Postgres, "pgdollar");
        let files = source(&[(
            "1_function.up.sql",
            "CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN i + 1; END; $$;\n\
             CREATE TABLE answers AS SELECT add_one(41) AS answer;",
        )]);
        db.migrator(files).await.up(None).await.unwrap();
        assert_eq!(db.sql("SELECT answer FROM answers").await, "42");
    }

    /// sqlx announces `TimeZone=UTC` when it connects; golang-migrate's drivers do not, so the files must see
    /// the time zone PostgreSQL would have given the session.
    #[tokio::test]
    async fn the_session_time_zone_is_the_servers_not_utc() {
        let db = TestDatabase::new(Engine::Postgres, "pgtz");
        let record = source(&[(
            "1_record.up.sql",
            "CREATE TABLE session AS SELECT current_setting('TimeZone') AS zone, current_setting('DateStyle') AS style;",
        )]);
        let server_default = db.sql("SHOW TimeZone").await;
        db.migrator(record.clone()).await.up(None).await.unwrap();
        assert_eq!(db.sql("SELECT zone FROM session").await, server_default);

        let with_database_zone = TestDatabase::new(Engine::Postgres, "pgtzdb");
        with_database_zone
            .sql(&format!(
                "ALTER DATABASE {} SET timezone TO 'Asia/Tokyo'",
                with_database_zone.name
            ))
            .await;
        with_database_zone.migrator(record).await.up(None).await.unwrap();
        assert_eq!(
            with_database_zone
                .sql("SELECT zone || ' ' || style FROM session")
                .await,
            "Asia/Tokyo ISO, MDY"
        );
    }

    struct Role {
        name: String,
    }

    impl Drop for Role {
        fn drop(&mut self) {
            let _ = std::panic::catch_unwind(|| {
                dbprov_testkit::psql(
                    dbprov_testkit::postgres(),
                    "postgres",
                    &format!("DROP ROLE IF EXISTS {}", self.name),
                )
            });
        }
    }

    #[tokio::test]
    async fn a_role_time_zone_wins_for_an_unprivileged_user() {
        let role = Role {
            name: dbprov_testkit::unique_name("tzrole"),
        };
        let db = TestDatabase::new(Engine::Postgres, "pgtzrole");
        db.sql(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'; \
             ALTER DATABASE {database} OWNER TO {role}; \
             ALTER DATABASE {database} SET timezone TO 'Asia/Tokyo'; \
             ALTER ROLE {role} SET timezone TO 'America/Lima'; \
             GRANT ALL ON SCHEMA public TO {role}",
            role = role.name,
            database = db.name
        ))
        .await;
        let a = db.address();
        let url = format!(
            "postgres://{role}:pw-{role}@{}:{}/{}?sslmode=disable",
            a.host,
            a.port,
            db.name,
            role = role.name
        );
        let target = dbprov_migrate::MigrationTarget::parse(&url).unwrap();
        let record = source(&[(
            "1_record.up.sql",
            "CREATE TABLE session AS SELECT current_setting('TimeZone') AS zone, current_user AS who;",
        )]);
        let mut migrator = Migrator::connect(&target, record).await.unwrap();
        migrator.up(None).await.unwrap();
        migrator.close().await.unwrap();
        assert_eq!(
            db.sql("SELECT zone || ' ' || who FROM session").await,
            format!("America/Lima {}", role.name)
        );
        drop(db);
    }

    #[tokio::test]
    async fn search_path_and_quoted_tables_choose_the_schema() {
        let db = TestDatabase::new(Engine::Postgres, "pgschema");
        db.sql("CREATE SCHEMA app; CREATE SCHEMA migrate").await;
        db.migrator_with("search_path=app", trivial_migrations(1))
            .await
            .up(None)
            .await
            .unwrap();
        assert_eq!(
            db.sql("SELECT version, dirty FROM app.schema_migrations").await,
            "1|f"
        );

        db.migrator_with(
            "x-migrations-table=%22migrate%22.%22versions%22&x-migrations-table-quoted=true",
            trivial_migrations(2),
        )
        .await
        .up(None)
        .await
        .unwrap();
        assert_eq!(db.sql("SELECT version FROM migrate.versions").await, "2");
        assert!(!db.table_exists("schema_migrations").await);
    }

    #[tokio::test]
    async fn tls_by_default_like_lib_pq_and_verified_on_request() {
        let db = TestDatabase::new(Engine::Postgres, "pgtls");
        let a = db.address();
        let record = |name: &str| {
            source(&[(
                "1_record.up.sql",
                &format!("CREATE TABLE {name} AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();"),
            )])
        };
        // No sslmode: lib/pq requires TLS.
        let url = format!(
            "postgres://{}:{}@{}:{}/{}",
            a.admin_user, a.admin_password, a.host, a.port, db.name
        );
        let target = dbprov_migrate::MigrationTarget::parse(&url).unwrap();
        Migrator::connect(&target, record("default_tls"))
            .await
            .unwrap()
            .up(None)
            .await
            .unwrap();
        assert_eq!(db.sql("SELECT ssl FROM default_tls").await, "t");

        let verified = format!(
            "{url}?sslmode=verify-full&sslrootcert={}&x-migrations-table=verified",
            a.tls_file("ca.pem").display()
        );
        let target = dbprov_migrate::MigrationTarget::parse(&verified).unwrap();
        Migrator::connect(&target, record("verified_tls"))
            .await
            .unwrap()
            .up(None)
            .await
            .unwrap();
        assert_eq!(db.sql("SELECT ssl FROM verified_tls").await, "t");

        let wrong_ca = format!(
            "{url}?sslmode=verify-full&sslrootcert={}",
            a.tls_file("other-ca.pem").display()
        );
        let target = dbprov_migrate::MigrationTarget::parse(&wrong_ca).unwrap();
        let error = Migrator::connect(&target, record("never")).await.unwrap_err();
        assert_eq!(error.kind(), "ConnectionFailed", "{error}");
    }

    #[tokio::test]
    async fn a_wrong_password_never_shows() {
        let db = TestDatabase::new(Engine::Postgres, "pgauth");
        let a = db.address();
        let url = format!(
            "postgres://{}:Wr0ngSecret@{}:{}/{}?sslmode=disable",
            a.admin_user, a.host, a.port, db.name
        );
        let target = dbprov_migrate::MigrationTarget::parse(&url).unwrap();
        let error = Migrator::connect(&target, trivial_migrations(1))
            .await
            .unwrap_err();
        let mut chain = format!("{error} {error:?}");
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&error);
        while let Some(next) = cause {
            chain.push_str(&next.to_string());
            cause = next.source();
        }
        assert!(chain.contains(":***@"), "{chain}");
        assert!(!chain.contains("Wr0ngSecret"), "{chain}");
    }
}

mod mariadb {
    use dbprov_migrate::lock_key::mysql_lock_name;
    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn the_table_is_golang_migrates() {
        let shape = compare_with_golang_migrate(
            Engine::MariaDb,
            "SELECT ordinal_position, column_name, column_type, is_nullable, column_key, ifnull(column_default, 'none') \
               FROM information_schema.columns WHERE table_schema = '{database}' AND table_name = 'schema_migrations' \
               ORDER BY ordinal_position; \
             SELECT index_name, non_unique, column_name FROM information_schema.statistics \
               WHERE table_schema = '{database}' AND table_name = 'schema_migrations'; \
             SELECT engine, table_collation FROM information_schema.tables \
               WHERE table_schema = '{database}' AND table_name = 'schema_migrations'; \
             SELECT version, dirty FROM schema_migrations",
        )
        .await;
        let lines: Vec<&str> = shape.lines().collect();
        assert_eq!(lines[0], "1|version|bigint(20)|NO|PRI|none");
        assert_eq!(lines[1], "2|dirty|tinyint(1)|NO||none");
        assert_eq!(lines[2], "PRIMARY|0|version");
        assert_eq!(lines.last(), Some(&"3|0"));
    }

    async fn connection(db: &TestDatabase) -> sqlx::MySqlConnection {
        let a = db.address();
        let url = format!(
            "mysql://{}:{}@{}:{}/{}",
            a.admin_user, a.admin_password, a.host, a.port, db.name
        );
        sqlx::MySqlConnection::connect(&url).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_get_lock_blocks_the_runner_until_released() {
        let db = TestDatabase::new(Engine::MariaDb, "mylock");
        // golang-migrate's lock name: the CRC-32 key of "<database>:schema_migrations", in decimal.
        let name = mysql_lock_name(&db.name, "schema_migrations");
        let mut holder = connection(&db).await;
        let taken: i64 = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
            .bind(&name)
            .fetch_one(&mut holder)
            .await
            .unwrap();
        assert_eq!(taken, 1);

        let mut migrator = db.migrator(trivial_migrations(1)).await;
        let run = tokio::spawn(async move { migrator.up(None).await });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!run.is_finished(), "the runner must wait for the lock");
        assert!(!db.table_exists("schema_migrations").await);

        sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(&name)
            .execute(&mut holder)
            .await
            .unwrap();
        let report = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the runner proceeds once the lock is free")
            .unwrap()
            .unwrap();
        assert_eq!(report.applied.len(), 1);
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    }

    #[tokio::test]
    async fn get_lock_gives_up_with_golang_migrates_error() {
        let db = TestDatabase::new(Engine::MariaDb, "mytimeout");
        let name = mysql_lock_name(&db.name, "schema_migrations");
        let mut holder = connection(&db).await;
        sqlx::query("SELECT GET_LOCK(?, 0)")
            .bind(&name)
            .execute(&mut holder)
            .await
            .unwrap();
        let mut migrator = db
            .migrator(trivial_migrations(1))
            .await
            .with_lock_timeout(Duration::from_secs(1));
        let error = migrator.up(None).await.unwrap_err();
        assert!(
            matches!(error, RunError::Driver(DriverError::Locked { .. })),
            "{error:?}"
        );
        assert!(error.to_string().starts_with("can't acquire lock"), "{error}");
        holder.close().await.unwrap();
        migrator.up(None).await.unwrap();
    }

    #[tokio::test]
    async fn the_runner_holds_golang_migrates_lock_name_while_migrating() {
        let db = TestDatabase::new(Engine::MariaDb, "mykey");
        let name = mysql_lock_name(&db.name, "schema_migrations");
        let files = source(&[(
            "1_record_lock.up.sql",
            &format!("CREATE TABLE held AS SELECT IS_USED_LOCK('{name}') = CONNECTION_ID() AS mine;"),
        )]);
        db.migrator(files).await.up(None).await.unwrap();
        assert_eq!(db.sql("SELECT mine FROM held").await, "1");
        assert_eq!(
            db.sql(&format!("SELECT IS_FREE_LOCK('{name}')")).await,
            "1",
            "released afterwards"
        );
    }

    /// sqlx would add PIPES_AS_CONCAT, NO_ENGINE_SUBSTITUTION and (through its handshake) IGNORE_SPACE to
    /// sql_mode and set time_zone to UTC; go-sql-driver sets nothing.
    #[tokio::test]
    async fn the_session_is_go_sql_drivers() {
        let db = TestDatabase::new(Engine::MariaDb, "mysession");
        let files = source(&[(
            "1_record.up.sql",
            "CREATE TABLE session AS SELECT @@SESSION.sql_mode = @@GLOBAL.sql_mode AS same_mode, \
             @@SESSION.time_zone = @@GLOBAL.time_zone AS same_zone, @@SESSION.collation_connection AS collation, \
             @@SESSION.character_set_client AS charset;",
        )]);
        db.migrator(files).await.up(None).await.unwrap();
        assert_eq!(
            db.sql("SELECT * FROM session").await,
            "1|1|utf8mb4_general_ci|utf8mb4"
        );
    }

    #[tokio::test]
    async fn a_file_is_one_multi_statement_query_without_a_transaction() {
        let db = TestDatabase::new(Engine::MariaDb, "mymulti");
        let files = source(&[(
            "1_half.up.sql",
            "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1), (2);\nCREATE TABLEE b (x int);\nCREATE TABLE c (x int);",
        )]);
        let error = db.migrator(files).await.up(None).await.unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("migration failed: Error 1064 (42000): You have an error in your SQL syntax"),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .ends_with("in line 0: 1_half.up.sql (version 1)"),
            "{error}"
        );
        assert_eq!(
            db.sql("SELECT count(*) FROM a").await,
            "2",
            "statements before the error stay"
        );
        assert!(
            !db.table_exists("c").await,
            "statements after the error never run"
        );
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, true)]);
    }

    #[tokio::test]
    async fn plain_urls_and_custom_tls_work() {
        let db = TestDatabase::new(Engine::MariaDb, "myurls");
        let a = db.address();
        let plain = format!(
            "mysql://{}:{}@{}:{}/{}",
            a.admin_user, a.admin_password, a.host, a.port, db.name
        );
        let target = dbprov_migrate::MigrationTarget::parse(&plain).unwrap();
        Migrator::connect(&target, trivial_migrations(1))
            .await
            .unwrap()
            .up(None)
            .await
            .unwrap();
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);

        let ca = a.tls_file("ca.pem").display().to_string().replace('/', "%2F");
        let custom = format!(
            "mysql://{}:{}@tcp({}:{})/{}?tls=custom&x-tls-ca={ca}&x-migrations-table=tls_versions",
            a.admin_user, a.admin_password, a.host, a.port, db.name
        );
        let target = dbprov_migrate::MigrationTarget::parse(&custom).unwrap();
        let files = source(&[(
            "1_record.up.sql",
            "CREATE TABLE tls AS SELECT variable_value <> '' AS encrypted FROM information_schema.session_status \
             WHERE variable_name = 'Ssl_cipher';",
        )]);
        Migrator::connect(&target, files)
            .await
            .unwrap()
            .up(None)
            .await
            .unwrap();
        assert_eq!(db.sql("SELECT encrypted FROM tls").await, "1");
    }

    #[tokio::test]
    async fn x_no_lock_skips_get_lock() {
        let db = TestDatabase::new(Engine::MariaDb, "mynolock");
        let name = mysql_lock_name(&db.name, "schema_migrations");
        let mut holder = connection(&db).await;
        sqlx::query("SELECT GET_LOCK(?, 0)")
            .bind(&name)
            .execute(&mut holder)
            .await
            .unwrap();
        db.migrator_with("x-no-lock=true", trivial_migrations(1))
            .await
            .up(None)
            .await
            .unwrap();
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    }
}

mod sqlite {
    use dbprov_migrate::driver::{MigrationDriver, SqliteDriver};
    use dbprov_migrate::url::SqliteTarget;

    use super::*;

    #[tokio::test]
    async fn the_table_is_golang_migrates() {
        let shape = compare_with_golang_migrate(
            Engine::Sqlite,
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name = 'schema_migrations' ORDER BY name; \
             SELECT cid, name, type, \"notnull\", ifnull(dflt_value, 'none'), pk FROM pragma_table_info('schema_migrations'); \
             SELECT version, typeof(version), dirty, typeof(dirty) FROM schema_migrations",
        )
        .await;
        assert_eq!(
            shape,
            "table|schema_migrations|schema_migrations|CREATE TABLE schema_migrations (version uint64,dirty bool)\n\
             index|version_unique|schema_migrations|CREATE UNIQUE INDEX version_unique ON schema_migrations (version)\n\
             0|version|uint64|0|none|0\n1|dirty|bool|0|none|0\n3|integer|0|integer"
        );
    }

    #[tokio::test]
    async fn files_run_in_a_transaction_unless_no_tx_wrap() {
        let db = TestDatabase::new(Engine::Sqlite, "sqtx");
        let files = || {
            source(&[(
                "1_half.up.sql",
                "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nCREATE TABLEE b (x int);",
            )])
        };
        db.migrator(files()).await.up(None).await.unwrap_err();
        assert!(!db.table_exists("a").await, "the whole file rolled back");
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, true)]);

        let unwrapped = TestDatabase::new(Engine::Sqlite, "sqnotx");
        let error = unwrapped
            .migrator_with("x-no-tx-wrap=true", files())
            .await
            .up(None)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("syntax error"), "{error}");
        assert!(
            unwrapped.table_exists("a").await,
            "without the wrapper, earlier statements stay"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_in_process_lock_serialises_runners_on_one_file() {
        let db = TestDatabase::new(Engine::Sqlite, "sqlock");
        // Another runner in this process holds the lock, through its own connection and another spelling of
        // the same file's path.
        let path = db.sqlite_path();
        let alias = path.parent().unwrap().join(".").join(path.file_name().unwrap());
        let mut holder = SqliteDriver::connect(&SqliteTarget::from_path(alias))
            .await
            .unwrap();
        holder.lock(Duration::from_secs(1)).await.unwrap();

        let mut impatient = db
            .migrator(trivial_migrations(1))
            .await
            .with_lock_timeout(Duration::from_millis(200));
        let error = impatient.up(None).await.unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("timeout: can't acquire database lock"),
            "{error}"
        );

        let mut migrator = db.migrator(trivial_migrations(1)).await;
        let run = tokio::spawn(async move { migrator.up(None).await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!run.is_finished(), "the runner waits for the lock");
        holder.unlock().await.unwrap();
        run.await.unwrap().unwrap();
        assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    }

    #[tokio::test]
    async fn foreign_keys_stay_off_unless_asked_like_golang_migrate() {
        let record = source(&[(
            "1_record.up.sql",
            "CREATE TABLE fk AS SELECT foreign_keys FROM pragma_foreign_keys;",
        )]);
        let default = TestDatabase::new(Engine::Sqlite, "sqfk");
        default.migrator(record.clone()).await.up(None).await.unwrap();
        assert_eq!(default.sql("SELECT foreign_keys FROM fk").await, "0");
        let on = TestDatabase::new(Engine::Sqlite, "sqfkon");
        on.migrator_with("_foreign_keys=1", record)
            .await
            .up(None)
            .await
            .unwrap();
        assert_eq!(on.sql("SELECT foreign_keys FROM fk").await, "1");
    }

    #[tokio::test]
    async fn directory_sources_ignore_other_files() {
        let db = TestDatabase::new(Engine::Sqlite, "sqdir");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("README.md"), "# migrations").unwrap();
        std::fs::write(dir.path().join("0001_a.up.sql"), "CREATE TABLE a (x int);").unwrap();
        std::fs::write(dir.path().join("0001_a.down.sql"), "DROP TABLE a;").unwrap();
        std::fs::write(dir.path().join("10_b.up.sql"), "CREATE TABLE b (x int);").unwrap();
        std::fs::write(dir.path().join("9_c.up.sql"), "CREATE TABLE c (x int);").unwrap();
        let source = Source::from_directory(dir.path()).unwrap();
        let report = db.migrator(source).await.up(None).await.unwrap();
        assert_eq!(
            report.applied.iter().map(|s| s.version).collect::<Vec<_>>(),
            vec![1, 9, 10]
        );
    }
}
