//! The statements, one module per dialect, each a `&'static str` with bound parameters: no value ever
//! becomes SQL text. Every module defines the same constants with the same parameter order, so the store
//! code is written once (see `store::backend`).
//!
//! Columns come back under the same aliases in every dialect. JSON columns are read as text (`CAST`), so
//! PostgreSQL `jsonb`, MySQL 8 `JSON` and MariaDB's `LONGTEXT` JSON all decode the same way; timestamps as
//! UTC (`timestamptz` on PostgreSQL; sqlx's MySQL sessions run in `+00:00`).

pub mod mysql;
pub mod postgres;
pub mod sqlite;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    macro_rules! statements {
        ($module:ident) => {
            [
                super::$module::SELECT_CREDENTIALS,
                super::$module::SELECT_CLIENT,
                super::$module::LIST_CLIENTS,
                super::$module::INSERT_CLIENT,
                super::$module::UPDATE_CLIENT,
                super::$module::SET_ACTIVE,
                super::$module::INSERT_RETIRED_SECRET,
                super::$module::DELETE_RETIRED_SECRET,
                super::$module::DELETE_RETIRED_SECRETS,
                super::$module::UPDATE_SECRET,
                super::$module::REPLACE_SECRET_HASH,
                super::$module::DELETE_CLIENT,
                super::$module::PING,
            ]
        };
    }

    /// The store binds the same values in the same order for every dialect: PostgreSQL's `$1..$n` must be
    /// exactly `1..=n`, each used once, and the other dialects must have `n` placeholders.
    #[test]
    fn every_dialect_takes_the_same_parameters() {
        let postgres = statements!(postgres);
        for (index, statement) in postgres.iter().enumerate() {
            let numbers: Vec<usize> = statement
                .split('$')
                .skip(1)
                .map(|rest| {
                    rest.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                        .parse()
                        .unwrap()
                })
                .collect();
            let distinct: BTreeSet<usize> = numbers.iter().copied().collect();
            assert_eq!(numbers.len(), distinct.len(), "{statement}");
            assert_eq!(distinct, (1..=numbers.len()).collect(), "{statement}");
            assert!(!statement.contains('?'), "{statement}");
            for other in [statements!(mysql)[index], statements!(sqlite)[index]] {
                assert_eq!(other.matches('?').count(), numbers.len(), "{other}");
                assert!(!other.contains('$') && !other.contains("jsonb"), "{other}");
            }
        }
    }
}
