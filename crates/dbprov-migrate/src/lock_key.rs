//! golang-migrate's advisory lock identifier (`database.GenerateAdvisoryLockId`): CRC-32 (IEEE) of the
//! additional names and the database name joined by NUL (additional names first), times 1486364155 with
//! 32-bit wrap-around. Both golang-migrate and dbprov must compute the same number, or they would not exclude
//! each other.

/// golang-migrate's `advisoryLockIDSalt`.
const SALT: u32 = 1_486_364_155;

/// The lock identifier for `database_name` and `additional_names`, as the unsigned number golang-migrate
/// prints (PostgreSQL receives it as a `bigint`; MySQL receives its decimal text as the lock name).
pub fn advisory_lock_id(database_name: &str, additional_names: &[&str]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for name in additional_names {
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
    }
    hasher.update(database_name.as_bytes());
    hasher.finalize().wrapping_mul(SALT)
}

/// The PostgreSQL key: `GenerateAdvisoryLockId(databaseName, schema, table)`, where `databaseName` is the URL
/// path *with* its leading `/` when golang-migrate was given a URL.
pub fn postgres_lock_key(database_name: &str, schema: &str, table: &str) -> i64 {
    i64::from(advisory_lock_id(database_name, &[schema, table]))
}

/// The MySQL `GET_LOCK` name: the decimal text of `GenerateAdvisoryLockId("<database>:<table>")`.
pub fn mysql_lock_name(database_name: &str, table: &str) -> String {
    advisory_lock_id(&format!("{database_name}:{table}"), &[]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of golang-migrate's `database/util_test.go`.
    #[test]
    fn upstream_test_vectors() {
        assert_eq!(advisory_lock_id("database_name", &[]), 1764327054);
        assert_eq!(advisory_lock_id("database_name", &["schema_name_1"]), 2453313553);
        assert_eq!(advisory_lock_id("database_name", &["schema_name_2"]), 235207038);
        assert_eq!(
            advisory_lock_id("database_name", &["schema_name_1", "schema_name_2"]),
            3743845847
        );
    }

    #[test]
    fn postgres_key_uses_the_url_path_with_its_slash() {
        assert_eq!(
            postgres_lock_key("/mydb", "public", "schema_migrations"),
            616192132
        );
        assert_eq!(
            postgres_lock_key("mydb", "public", "schema_migrations"),
            2103762914
        );
    }

    #[test]
    fn mysql_name_joins_database_and_table_with_a_colon() {
        assert_eq!(mysql_lock_name("mydb", "schema_migrations"), "1906445756");
    }
}
