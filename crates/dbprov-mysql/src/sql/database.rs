//! `CREATE DATABASE`, `ALTER DATABASE`, `DROP DATABASE`.

use dbprov_core::quote::QuoteError;
use dbprov_core::{Dialect, SqlBuilder, Statement};

fn push_charset(builder: &mut SqlBuilder, charset: Option<&str>, collation: Option<&str>) {
    if let Some(charset) = charset {
        builder.push(" CHARACTER SET ").literal(charset);
    }
    if let Some(collation) = collation {
        builder.push(" COLLATE ").literal(collation);
    }
}

/// `CREATE DATABASE x [CHARACTER SET 'cs'] [COLLATE 'col']`.
pub fn create_database(
    dialect: Dialect,
    name: &str,
    charset: Option<&str>,
    collation: Option<&str>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("CREATE DATABASE ").ident(name);
    push_charset(&mut builder, charset, collation);
    builder.build()
}

/// `ALTER DATABASE x [CHARACTER SET 'cs'] [COLLATE 'col']`; at least one of them is given.
pub fn alter_database(
    dialect: Dialect,
    name: &str,
    charset: Option<&str>,
    collation: Option<&str>,
) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("ALTER DATABASE ").ident(name);
    push_charset(&mut builder, charset, collation);
    builder.build()
}

/// `DROP DATABASE IF EXISTS x`.
pub fn drop_database(dialect: Dialect, name: &str) -> Result<Statement, QuoteError> {
    let mut builder = SqlBuilder::new(dialect);
    builder.push("DROP DATABASE IF EXISTS ").ident(name);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::MySqlStringMode;

    const MYSQL: Dialect = Dialect::MySql(MySqlStringMode::BackslashEscapes);

    #[test]
    fn database_statements() {
        assert_eq!(
            create_database(MYSQL, "a`b", Some("utf8mb4"), Some("utf8mb4_bin"))
                .unwrap()
                .sql(),
            "CREATE DATABASE `a``b` CHARACTER SET 'utf8mb4' COLLATE 'utf8mb4_bin'"
        );
        assert_eq!(
            create_database(MYSQL, "plain", None, None).unwrap().sql(),
            "CREATE DATABASE `plain`"
        );
        assert_eq!(
            alter_database(MYSQL, "x", None, Some("latin1_bin"))
                .unwrap()
                .sql(),
            "ALTER DATABASE `x` COLLATE 'latin1_bin'"
        );
        assert_eq!(
            drop_database(MYSQL, "x'; DROP").unwrap().sql(),
            "DROP DATABASE IF EXISTS `x'; DROP`"
        );
    }
}
