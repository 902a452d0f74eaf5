//! Engine name rules, checked once the engine of an object is known.
//!
//! These are the limits that hold on every supported server version of each engine; the engines check again
//! with the exact version they connected to (their `Capabilities`), so nothing here loosens a server rule.

use dbprov_core::engine::NameLimits;
use dbprov_core::{EngineKind, Name, NameError, NameKind};

use crate::error::{FieldError, FieldPath};

/// The name rules of an engine.
pub fn name_limits(engine: EngineKind) -> NameLimits {
    dbprov_core::engine::default_name_limits(engine)
}

/// Validates a name: the rules every engine shares, then the engine's when it is known.
pub fn check_name(
    engine: Option<EngineKind>,
    kind: NameKind,
    value: &str,
    path: &FieldPath,
) -> Result<Name, FieldError> {
    checked(engine, kind, value, path, NameLimits::check_name)
}

/// Validates the name of an object dbprov creates: [`check_name`], and outside the prefixes the server
/// keeps for its own objects (PostgreSQL's `pg_` roles, MySQL's `#mysql50#` databases).
pub fn check_new_name(
    engine: Option<EngineKind>,
    kind: NameKind,
    value: &str,
    path: &FieldPath,
) -> Result<Name, FieldError> {
    checked(engine, kind, value, path, NameLimits::check_new)
}

fn checked(
    engine: Option<EngineKind>,
    kind: NameKind,
    value: &str,
    path: &FieldPath,
    check: fn(&NameLimits, &'static str, NameKind, &Name) -> Result<(), NameError>,
) -> Result<Name, FieldError> {
    let name = Name::parse(kind, value).map_err(|error| FieldError::invalid(path, error.to_string()))?;
    if let Some(engine) = engine {
        check(&name_limits(engine), engine.display_name(), kind, &name)
            .map_err(|error| FieldError::invalid(path, error.to_string()))?;
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_engine() {
        let path = FieldPath::root("spec").field("name");
        let pg_max = "a".repeat(63);
        assert!(check_name(Some(EngineKind::Postgres), NameKind::Database, &pg_max, &path).is_ok());
        let error = check_name(
            Some(EngineKind::Postgres),
            NameKind::Database,
            &"a".repeat(64),
            &path,
        )
        .unwrap_err();
        assert_eq!(error.path, "spec.name");
        assert!(error.message.contains("63"), "{error}");
        assert!(
            check_name(
                Some(EngineKind::MySql),
                NameKind::Database,
                &"a".repeat(64),
                &path
            )
            .is_ok()
        );
        assert!(check_name(Some(EngineKind::MySql), NameKind::User, &"u".repeat(33), &path).is_err());
        assert!(check_name(Some(EngineKind::MariaDb), NameKind::User, &"u".repeat(80), &path).is_ok());
        assert!(check_name(Some(EngineKind::MySql), NameKind::Database, "trailing ", &path).is_err());
        assert!(check_name(Some(EngineKind::Sqlite), NameKind::Database, "a/b", &path).is_err());
        assert!(check_name(None, NameKind::Database, "", &path).is_err());
        assert!(check_name(None, NameKind::Database, "a\0b", &path).is_err());
        // Reserved prefixes: refused for what dbprov creates, allowed for what it refers to.
        assert!(check_new_name(Some(EngineKind::Postgres), NameKind::User, "pg_app", &path).is_err());
        assert!(check_name(Some(EngineKind::Postgres), NameKind::Role, "pg_monitor", &path).is_ok());
        assert!(check_new_name(Some(EngineKind::MariaDb), NameKind::Database, "#mysql50#x", &path).is_err());
        assert!(check_name(Some(EngineKind::MariaDb), NameKind::Database, "a\t", &path).is_err());
        assert!(
            check_name(
                Some(EngineKind::MariaDb),
                NameKind::Database,
                &"'".repeat(52),
                &path
            )
            .is_err()
        );
        assert!(
            check_name(
                Some(EngineKind::MariaDb),
                NameKind::Database,
                &"\u{430}".repeat(64),
                &path
            )
            .is_ok()
        );
        assert!(
            check_name(
                Some(EngineKind::Sqlite),
                NameKind::Database,
                &"s".repeat(240),
                &path
            )
            .is_err()
        );
        // Hostile but valid names pass: quoting, not rejection, keeps them harmless.
        assert!(
            check_name(
                Some(EngineKind::Postgres),
                NameKind::Role,
                "x\"; DROP ROLE y; --",
                &path
            )
            .is_ok()
        );
    }
}
