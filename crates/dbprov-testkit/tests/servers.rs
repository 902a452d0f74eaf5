//! The harness itself: both servers start, accept the admin over TCP, and have TLS configured.

use dbprov_testkit::{mariadb, mariadb_sql, postgres, psql};

#[test]
fn postgres_starts_and_accepts_the_admin() {
    let server = postgres();
    assert_eq!(psql(server, "postgres", "SELECT 40 + 2").trim(), "42");
    assert_eq!(psql(server, "postgres", "SHOW ssl").trim(), "on");
    assert!(
        server.version.starts_with(|c: char| c.is_ascii_digit()),
        "{}",
        server.version
    );
}

#[test]
fn mariadb_starts_and_accepts_the_admin() {
    let server = mariadb();
    assert_eq!(mariadb_sql(server, "SELECT 40 + 2").trim(), "42");
    assert!(server.version.contains("MariaDB"), "{}", server.version);
    let ssl = mariadb_sql(server, "SHOW VARIABLES LIKE 'have_ssl'");
    assert!(ssl.contains("YES"), "{ssl}");
}
