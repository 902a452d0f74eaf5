//! Field errors: what is wrong, and exactly where in the manifest.

use std::fmt;

/// Why a field was rejected. The [`FieldErrorKind::reason`] string is stable (condition reasons, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldErrorKind {
    /// The document could not be read as the declared kind (wrong type, bad enum value, malformed YAML).
    Malformed,
    /// A field that does not exist in the API (typo, or a field of another kind).
    Unknown,
    /// A field of the upstream db-provision-operator API that dbprov does not implement.
    Unsupported,
    /// A required field is missing.
    Required,
    /// A value is out of range, badly formed or contradicts another field.
    Invalid,
    /// A field that cannot change after creation was changed.
    Immutable,
}

impl FieldErrorKind {
    /// PascalCase, for condition and event reasons.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Malformed => "MalformedManifest",
            FieldErrorKind::Unknown => "UnknownField",
            FieldErrorKind::Unsupported => "UnsupportedField",
            FieldErrorKind::Required => "MissingField",
            FieldErrorKind::Invalid => "InvalidField",
            FieldErrorKind::Immutable => "ImmutableField",
        }
    }
}

/// A rejected field: `path` is the field's location in the document (`spec.postgres.extensions[1].name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Where: `spec.postgres.extensions[1].name`.
    pub path: String,
    /// What is wrong, lowercase.
    pub message: String,
    /// The class of error (for condition reasons).
    pub kind: FieldErrorKind,
}

impl FieldError {
    /// An error of any kind.
    pub fn new(kind: FieldErrorKind, path: impl fmt::Display, message: impl Into<String>) -> Self {
        Self {
            path: path.to_string(),
            message: message.into(),
            kind,
        }
    }

    /// A value that is out of range, malformed or contradicts another field.
    pub fn invalid(path: impl fmt::Display, message: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Invalid, path, message)
    }

    /// A missing required field.
    pub fn required(path: impl fmt::Display) -> Self {
        Self::new(FieldErrorKind::Required, path, "is required")
    }

    /// An upstream field or value dbprov does not implement; `why` says what to do instead.
    pub fn unsupported(path: impl fmt::Display, why: impl fmt::Display) -> Self {
        Self::new(
            FieldErrorKind::Unsupported,
            path,
            format!("is not supported by dbprov: {why}"),
        )
    }
}

/// A field path under construction: `FieldPath::root("spec").field("postgres").index(1)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path starting at a top-level field (`spec`, `metadata`).
    pub fn root(name: &str) -> Self {
        Self(name.to_owned())
    }

    /// A child field.
    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// A list item.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// A map key, quoted when it is not a plain word (`secretTemplate.data["tls.crt"]`).
    pub fn key(&self, key: &str) -> Self {
        if !key.is_empty()
            && key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            Self(format!("{}.{key}", self.0))
        } else {
            Self(format!("{}[{key:?}]", self.0))
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collects every error of a document instead of stopping at the first one.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn invalid(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.push(FieldError::invalid(path, message));
    }

    pub fn unsupported(&mut self, path: &FieldPath, why: impl fmt::Display) {
        self.push(FieldError::unsupported(path, why));
    }

    pub fn required(&mut self, path: &FieldPath) {
        self.push(FieldError::required(path));
    }

    pub fn extend(&mut self, errors: Vec<FieldError>) {
        self.0.extend(errors);
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}
