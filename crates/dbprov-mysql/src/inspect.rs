//! Batched catalog reads: a constant number of queries per kind of object, never one per object.
//!
//! Databases cost one query; users and roles one (accounts) plus one or two (role grants, MySQL 8 default
//! roles); grant scopes one query per grant table for all grantees together.

pub mod accounts;
pub mod grants;

use std::collections::BTreeSet;

use dbprov_core::model::{
    Catalog, CatalogRequest, DatabaseState, GrantState, MySqlDatabaseState, MySqlPrivilege,
};
use dbprov_core::{EngineError, Name};
use sqlx::mysql::MySqlRow;
use sqlx::{AssertSqlSafe, MySqlPool, Row};

use crate::error::{catalog_value_error, inspect_error};
use crate::flavor::ServerFacts;
use crate::inspect::accounts::{AccountRecord, MySqlUserRow, RoleGrant};
use crate::inspect::grants::HeldPrivilege;
use crate::sql::catalog;

/// Values per query: far below MySQL's 65,535 placeholders, large enough that a few queries cover
/// thousands of objects.
const MAX_VALUES_PER_QUERY: usize = 1000;

/// Runs catalog queries and counts them.
struct Reader<'a> {
    pool: &'a MySqlPool,
    target: &'a str,
    queries: u32,
}

impl Reader<'_> {
    /// Runs `query` (ending in `IN (`) for every value, in chunks.
    async fn rows(
        &mut self,
        query: &'static str,
        values: &[&str],
        action: &str,
    ) -> Result<Vec<MySqlRow>, EngineError> {
        let mut rows = Vec::new();
        for chunk in values.chunks(MAX_VALUES_PER_QUERY) {
            // The only dynamic text is a list of `?` placeholders; every value is bound.
            let text = catalog::in_list(query, chunk.len());
            let mut statement = sqlx::query(AssertSqlSafe(text)).persistent(false);
            for value in chunk {
                statement = statement.bind(*value);
            }
            self.queries += 1;
            rows.extend(
                statement
                    .fetch_all(self.pool)
                    .await
                    .map_err(|error| inspect_error(self.target, action, error))?,
            );
        }
        Ok(rows)
    }
}

/// A text column, whatever the server's column type (CHAR, ENUM, SET, BLOB); NULL reads as empty.
fn text(row: &MySqlRow, index: usize) -> Result<String, sqlx::Error> {
    match row.try_get::<Option<String>, _>(index) {
        Ok(value) => Ok(value.unwrap_or_default()),
        Err(_) => Ok(row
            .try_get::<Option<Vec<u8>>, _>(index)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()),
    }
}

fn integer(row: &MySqlRow, index: usize) -> Result<i64, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(index)?.unwrap_or(0))
}

fn decode<T>(target: &str, action: &str, result: Result<T, sqlx::Error>) -> Result<T, EngineError> {
    result.map_err(|error| inspect_error(target, action, error))
}

/// Reads everything the request names.
pub async fn inspect(
    pool: &MySqlPool,
    facts: &ServerFacts,
    target: &str,
    request: &CatalogRequest,
) -> Result<Catalog, EngineError> {
    let mut reader = Reader {
        pool,
        target,
        queries: 0,
    };
    let mut catalog = Catalog::default();

    let databases: BTreeSet<&str> = request
        .databases
        .iter()
        .map(|request| request.name.as_str())
        .collect();
    if !databases.is_empty() {
        read_databases(
            &mut reader,
            &databases.into_iter().collect::<Vec<_>>(),
            &mut catalog,
        )
        .await?;
    }

    let roles: BTreeSet<&Name> = request.roles.iter().collect();
    let grantees: BTreeSet<&str> = request
        .grants
        .iter()
        .map(|scope| scope.grantee.as_str())
        .collect();
    let account_names: Vec<&str> = roles
        .iter()
        .map(|name| name.as_str())
        .chain(grantees.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut accounts = if account_names.is_empty() {
        Vec::new()
    } else {
        read_accounts(&mut reader, facts, &account_names).await?
    };

    if !roles.is_empty() {
        let role_names: Vec<&str> = roles.iter().map(|name| name.as_str()).collect();
        read_role_grants(&mut reader, facts, &role_names, &mut accounts).await?;
        for name in roles {
            if let Some(state) = accounts::role_state(name, &accounts) {
                catalog.roles.insert(name.clone(), state);
            }
        }
    }

    if !grantees.is_empty() {
        let grantee_names: Vec<&str> = grantees.into_iter().collect();
        let held = read_privileges(&mut reader, facts, &grantee_names).await?;
        for scope in &request.grants {
            let state = grants::scope_state(scope, &accounts, &held);
            catalog.grants.insert(scope.clone(), GrantState::MySql(state));
        }
    }

    catalog.queries = reader.queries;
    Ok(catalog)
}

async fn read_databases(
    reader: &mut Reader<'_>,
    names: &[&str],
    catalog: &mut Catalog,
) -> Result<(), EngineError> {
    const ACTION: &str = "read databases from information_schema.SCHEMATA";
    let target = reader.target;
    for row in reader.rows(catalog::SCHEMATA, names, ACTION).await? {
        let name = decode(target, ACTION, text(&row, 0))?;
        // information_schema compares names case-insensitively; only the exact name is the database asked for.
        let Some(requested) = names.iter().find(|requested| **requested == name) else {
            continue;
        };
        let name = Name::parse(dbprov_core::NameKind::Database, *requested)?;
        catalog.databases.insert(
            name.clone(),
            DatabaseState {
                name,
                owner: None,
                postgres: None,
                mysql: Some(MySqlDatabaseState {
                    charset: decode(target, ACTION, text(&row, 1))?,
                    collation: decode(target, ACTION, text(&row, 2))?,
                }),
                sqlite: None,
            },
        );
    }
    Ok(())
}

async fn read_accounts(
    reader: &mut Reader<'_>,
    facts: &ServerFacts,
    names: &[&str],
) -> Result<Vec<AccountRecord>, EngineError> {
    let target = reader.target;
    let mut records = Vec::new();
    if facts.is_mariadb() {
        const ACTION: &str = "read accounts from mysql.global_priv";
        for row in reader.rows(catalog::MARIADB_ACCOUNTS, names, ACTION).await? {
            let user = decode(target, ACTION, text(&row, 0))?;
            let host = decode(target, ACTION, text(&row, 1))?;
            let json = decode(target, ACTION, text(&row, 2))?;
            let record = accounts::parse_mariadb_account(facts, &user, &host, &json)
                .map_err(|detail| catalog_value_error(target, ACTION, "mysql.global_priv", detail))?;
            records.push(record);
        }
    } else {
        const ACTION: &str = "read accounts from mysql.user";
        let query = if facts.has_user_attributes() {
            catalog::MYSQL_ACCOUNTS
        } else {
            catalog::MYSQL_ACCOUNTS_WITHOUT_ATTRIBUTES
        };
        for row in reader.rows(query, names, ACTION).await? {
            let parsed = mysql_user_row(&row);
            let parsed = decode(target, ACTION, parsed)?;
            let record = accounts::parse_mysql_account(facts, parsed)
                .map_err(|detail| catalog_value_error(target, ACTION, "mysql.user", detail))?;
            records.push(record);
        }
    }
    Ok(records)
}

fn mysql_user_row(row: &MySqlRow) -> Result<MySqlUserRow, sqlx::Error> {
    let user_attributes = text(row, 14)?;
    let mut global_privileges = BTreeSet::new();
    for (offset, (_, privilege)) in catalog::MYSQL_GLOBAL_PRIVILEGE_COLUMNS.iter().enumerate() {
        if text(row, catalog::MYSQL_ACCOUNT_PRIVILEGES_FROM + offset)? == "Y" {
            global_privileges.insert(*privilege);
        }
    }
    Ok(MySqlUserRow {
        user: text(row, 0)?,
        host: text(row, 1)?,
        plugin: text(row, 2)?,
        authentication_string: text(row, 3)?,
        ssl_type: text(row, 4)?,
        ssl_cipher: text(row, 5)?,
        x509_issuer: text(row, 6)?,
        x509_subject: text(row, 7)?,
        max_questions: integer(row, 8)?,
        max_updates: integer(row, 9)?,
        max_connections: integer(row, 10)?,
        max_user_connections: integer(row, 11)?,
        account_locked: text(row, 12)?,
        password_expired: text(row, 13)?,
        user_attributes: (!user_attributes.is_empty()).then_some(user_attributes),
        global_privileges,
    })
}

async fn read_role_grants(
    reader: &mut Reader<'_>,
    facts: &ServerFacts,
    names: &[&str],
    records: &mut [AccountRecord],
) -> Result<(), EngineError> {
    let target = reader.target;
    let read = |row: &MySqlRow, action: &str, user: usize, host: usize, role: usize| {
        Ok::<_, EngineError>(RoleGrant {
            user: decode(target, action, text(row, user))?,
            host: decode(target, action, text(row, host))?,
            role: decode(target, action, text(row, role))?,
        })
    };
    if facts.is_mariadb() {
        const ACTION: &str = "read role grants from mysql.roles_mapping";
        let rows = reader.rows(catalog::MARIADB_ROLE_GRANTS, names, ACTION).await?;
        let grants = rows
            .iter()
            .map(|row| read(row, ACTION, 0, 1, 2))
            .collect::<Result<Vec<_>, _>>()?;
        accounts::attach_roles(records, &grants);
    } else {
        const EDGES: &str = "read role grants from mysql.role_edges";
        let rows = reader.rows(catalog::MYSQL_ROLE_EDGES, names, EDGES).await?;
        let grants = rows
            .iter()
            .map(|row| read(row, EDGES, 0, 1, 2))
            .collect::<Result<Vec<_>, _>>()?;
        accounts::attach_roles(records, &grants);
        const DEFAULTS: &str = "read default roles from mysql.default_roles";
        let rows = reader.rows(catalog::MYSQL_DEFAULT_ROLES, names, DEFAULTS).await?;
        let defaults = rows
            .iter()
            .map(|row| read(row, DEFAULTS, 0, 1, 2))
            .collect::<Result<Vec<_>, _>>()?;
        accounts::attach_default_roles(records, &defaults);
    }
    Ok(())
}

async fn read_privileges(
    reader: &mut Reader<'_>,
    facts: &ServerFacts,
    grantees: &[&str],
) -> Result<Vec<HeldPrivilege>, EngineError> {
    let target = reader.target;
    let mut held = Vec::new();

    const DATABASE: &str = "read database privileges from mysql.db";
    let (query, columns) = if facts.is_mariadb() {
        (
            catalog::MARIADB_DATABASE_PRIVILEGES,
            &catalog::DATABASE_PRIVILEGE_COLUMNS[..],
        )
    } else {
        (
            catalog::MYSQL_DATABASE_PRIVILEGES,
            &catalog::DATABASE_PRIVILEGE_COLUMNS[..catalog::DATABASE_PRIVILEGE_COLUMNS.len() - 1],
        )
    };
    for row in reader.rows(query, grantees, DATABASE).await? {
        let mut privileges: Vec<MySqlPrivilege> = Vec::new();
        for (offset, (_, privilege)) in columns.iter().enumerate() {
            if decode(
                target,
                DATABASE,
                text(&row, catalog::DATABASE_PRIVILEGES_FROM + offset),
            )? == "Y"
            {
                privileges.push(*privilege);
            }
        }
        let user = decode(target, DATABASE, text(&row, 0))?;
        let host = decode(target, DATABASE, text(&row, 1))?;
        let pattern = decode(target, DATABASE, text(&row, 2))?;
        held.extend(grants::database_row(&user, &host, &pattern, privileges));
    }

    const TABLE: &str = "read table privileges from mysql.tables_priv";
    for row in reader.rows(catalog::TABLE_PRIVILEGES, grantees, TABLE).await? {
        let values = (0..5)
            .map(|index| decode(target, TABLE, text(&row, index)))
            .collect::<Result<Vec<_>, _>>()?;
        held.extend(grants::table_row(
            &values[0], &values[1], &values[2], &values[3], &values[4],
        ));
    }

    const COLUMN: &str = "read column privileges from mysql.columns_priv";
    for row in reader.rows(catalog::COLUMN_PRIVILEGES, grantees, COLUMN).await? {
        let values = (0..6)
            .map(|index| decode(target, COLUMN, text(&row, index)))
            .collect::<Result<Vec<_>, _>>()?;
        held.extend(grants::column_row(
            &values[0], &values[1], &values[2], &values[3], &values[4], &values[5],
        ));
    }

    const ROUTINE: &str = "read routine privileges from mysql.procs_priv";
    for row in reader
        .rows(catalog::ROUTINE_PRIVILEGES, grantees, ROUTINE)
        .await?
    {
        let values = (0..6)
            .map(|index| decode(target, ROUTINE, text(&row, index)))
            .collect::<Result<Vec<_>, _>>()?;
        held.extend(grants::routine_row(
            &values[0], &values[1], &values[2], &values[3], &values[4], &values[5],
        ));
    }
    Ok(held)
}
