//! Engine name rules, checked once the engine of an object is known.
//!
//! These are the limits that hold on every supported server version of each engine; the engines check again
//! with the exact version they connected to (their `Capabilities`), so nothing here loosens a server rule.

use dbprov_core::engine::NameLimits;
use dbprov_core::{EngineKind, Name, NameKind};

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
    let name = Name::parse(kind, value).map_err(|error| FieldError::invalid(path, error.to_string()))?;
    if let Some(engine) = engine {
        name_limits(engine)
            .check_name(engine.display_name(), kind, &name)
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
