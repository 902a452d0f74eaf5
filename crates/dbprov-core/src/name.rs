//! Validated object names.
//!
//! A [`Name`] is checked once, when it is parsed, against the rules every engine shares (not empty, no NUL
//! byte, bounded length). Engine-specific limits (PostgreSQL's 63 bytes, MySQL's 64/32/80 characters, file
//! names for SQLite) are checked by [`crate::NameLimits`] before any SQL is built. Everything else is allowed
//! and created verbatim: quoting, not rejection, is what keeps hostile names from being executed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest name any engine accepts; anything longer is rejected before engine-specific checks.
pub const MAX_NAME_BYTES: usize = 1024;

/// What a name names: used in error messages and to pick the engine's length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameKind {
    Database,
    User,
    Role,
    Schema,
    Table,
    Column,
    Sequence,
    Function,
    Extension,
    Tablespace,
    Host,
    Setting,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Database => "database",
            NameKind::User => "user",
            NameKind::Role => "role",
            NameKind::Schema => "schema",
            NameKind::Table => "table",
            NameKind::Column => "column",
            NameKind::Sequence => "sequence",
            NameKind::Function => "function",
            NameKind::Extension => "extension",
            NameKind::Tablespace => "tablespace",
            NameKind::Host => "host",
            NameKind::Setting => "setting",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("{kind} name must not be empty")]
    Empty { kind: NameKind },
    #[error("{kind} name {name:?} contains a NUL byte")]
    Nul { kind: NameKind, name: String },
    #[error("{kind} name {name:?} is {length} {unit} long; the limit on {engine} is {limit}")]
    TooLong {
        kind: NameKind,
        name: String,
        engine: &'static str,
        length: usize,
        limit: usize,
        unit: &'static str,
    },
    #[error("{kind} name {name:?} is not allowed on {engine}: {reason}")]
    NotAllowed {
        kind: NameKind,
        name: String,
        engine: &'static str,
        reason: &'static str,
    },
}

/// A validated object name, kept verbatim (case and all).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// Validates the rules shared by every engine.
    pub fn parse(kind: NameKind, value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        if value.is_empty() {
            return Err(NameError::Empty { kind });
        }
        if value.contains('\0') {
            return Err(NameError::Nul { kind, name: value });
        }
        if value.len() > MAX_NAME_BYTES {
            let length = value.len();
            return Err(NameError::TooLong {
                kind,
                name: abbreviate(&value),
                engine: "any engine",
                length,
                limit: MAX_NAME_BYTES,
                unit: "bytes",
            });
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Shortens a long hostile name for an error message (the full value is never needed to understand it).
pub(crate) fn abbreviate(value: &str) -> String {
    const KEEP: usize = 64;
    if value.chars().count() <= KEEP {
        value.to_owned()
    } else {
        let head: String = value.chars().take(KEEP).collect();
        format!("{head}…")
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        // The kind is unknown here; the caller re-validates with engine limits anyway.
        Name::parse(NameKind::Setting, value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_nul() {
        assert!(matches!(
            Name::parse(NameKind::Database, ""),
            Err(NameError::Empty { .. })
        ));
        assert!(matches!(
            Name::parse(NameKind::Database, "a\0b"),
            Err(NameError::Nul { .. })
        ));
    }

    #[test]
    fn keeps_hostile_names_verbatim() {
        for raw in [
            "a\"b",
            "a`b",
            "x'; DROP TABLE t; --",
            "100%_off",
            "back\\slash",
            "ünïcødé ☃",
            " padded ",
        ] {
            assert_eq!(Name::parse(NameKind::Role, raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn rejects_absurd_lengths() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            Name::parse(NameKind::Table, long),
            Err(NameError::TooLong { .. })
        ));
    }
}
