//! Where a user's password comes from, and password generation with upstream's options.

use std::collections::BTreeMap;

use dbprov_core::Secret;
use dbprov_core::password::{PasswordError, generate_password};

use crate::error::{FieldError, FieldPath};
use crate::template::SecretDataTemplate;
use crate::v1alpha1::{DatabaseUser, PasswordConfig};

/// Letters and digits, the base of every generated password.
pub const LETTERS_AND_DIGITS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Added when `includeSpecialChars` is true (upstream's set).
pub const SPECIAL_CHARS: &str = "!@#$%^&*";

/// How to generate a password: upstream's `length`, `includeSpecialChars` and `excludeChars`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordGenerator {
    /// Number of characters.
    pub length: usize,
    /// The characters passwords are drawn from (uniformly).
    pub charset: String,
}

impl PasswordGenerator {
    /// The generator of a `passwordSecret` section (or the defaults: 32 characters, special characters on).
    pub fn from_config(config: Option<&PasswordConfig>, path: &FieldPath) -> Result<Self, FieldError> {
        let (length, special, exclude) = match config {
            Some(config) => (
                config.length,
                config.include_special_chars,
                config.exclude_chars.as_deref().unwrap_or(""),
            ),
            None => (32, true, ""),
        };
        if !(8..=128).contains(&length) {
            return Err(FieldError::invalid(
                path.field("length"),
                format!("{length} is not between 8 and 128"),
            ));
        }
        let mut charset = String::from(LETTERS_AND_DIGITS);
        if special {
            charset.push_str(SPECIAL_CHARS);
        }
        charset.retain(|ch| !exclude.contains(ch));
        if charset.chars().count() < 2 {
            return Err(FieldError::invalid(
                path.field("excludeChars"),
                "excludes every character passwords could be made of",
            ));
        }
        Ok(Self {
            length: usize::try_from(length).expect("invariant: length was checked to be 8..=128"),
            charset,
        })
    }

    /// A new password from the operating system's CSPRNG.
    pub fn generate(&self) -> Result<Secret, PasswordError> {
        generate_password(self.length, &self.charset)
    }
}

/// Where a user's password comes from and where its credentials go.
#[derive(Debug, Clone)]
pub enum PasswordSource {
    /// `existingPasswordSecret`: read the password from this Secret key; dbprov writes no Secret.
    Existing {
        /// Secret name.
        name: String,
        /// Default: the user's namespace.
        namespace: Option<String>,
        /// The key holding the password.
        key: String,
    },
    /// The credentials Secret dbprov manages: its `password` key is reused when the Secret exists; otherwise a
    /// password is generated (when `generator` is set) and the Secret is written before the password is set on
    /// the server.
    Managed(ManagedSecret),
}

/// The credentials Secret of a user.
#[derive(Debug, Clone)]
pub struct ManagedSecret {
    /// Secret name, in the user's namespace.
    pub name: String,
    /// `None` when `generate: false`: the Secret must already exist with a `password` key.
    pub generator: Option<PasswordGenerator>,
    /// The Secret's `type` (default `Opaque`).
    pub secret_type: String,
    /// Labels added to the default labels (`app.kubernetes.io/managed-by`, `dbops.dbprovision.io/user`).
    pub labels: BTreeMap<String, String>,
    /// Annotations of the Secret.
    pub annotations: BTreeMap<String, String>,
    /// The parsed `secretTemplate.data`; `None` means the default keys
    /// ([`crate::template::default_secret_data`]).
    pub template: Option<SecretDataTemplate>,
}

/// Labels every generated credentials Secret carries (upstream's).
pub fn default_secret_labels(user_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/managed-by".to_owned(), "dbprov".to_owned()),
        ("dbops.dbprovision.io/user".to_owned(), user_name.to_owned()),
    ])
}

/// The password source of a user (validates the password sections).
pub fn password_source(user: &DatabaseUser) -> Result<PasswordSource, Vec<FieldError>> {
    let spec = &user.spec;
    let path = FieldPath::root("spec");
    if let Some(existing) = &spec.existing_password_secret {
        if spec.password_secret.is_some() {
            return Err(vec![FieldError::invalid(
                path.field("existingPasswordSecret"),
                "existingPasswordSecret and passwordSecret are mutually exclusive",
            )]);
        }
        return Ok(PasswordSource::Existing {
            name: existing.name.clone(),
            namespace: existing.namespace.clone(),
            key: existing.key.clone(),
        });
    }
    let config = spec.password_secret.as_ref();
    let path = path.field("passwordSecret");
    let generator = match config {
        Some(config) if !config.generate => None,
        _ => Some(PasswordGenerator::from_config(config, &path).map_err(|error| vec![error])?),
    };
    let template = config.and_then(|config| config.secret_template.as_ref());
    let data_template = match template {
        Some(template) if !template.data.is_empty() => Some(SecretDataTemplate::parse(
            &template.data,
            &path.field("secretTemplate").field("data"),
        )?),
        _ => None,
    };
    Ok(PasswordSource::Managed(ManagedSecret {
        name: config.map_or_else(
            || format!("{}-credentials", spec.username),
            |config| config.secret_name.clone(),
        ),
        generator,
        secret_type: template
            .and_then(|template| template.type_.clone())
            .unwrap_or_else(|| "Opaque".to_owned()),
        labels: template
            .map(|template| template.labels.clone())
            .unwrap_or_default(),
        annotations: template
            .map(|template| template.annotations.clone())
            .unwrap_or_default(),
        template: data_template,
    }))
}
