//! Secret templates: the subset of Go's `text/template` that db-provision-operator's templates use, with
//! upstream's variables and functions, so its users' templates render unchanged.
//!
//! A template is parsed once into an AST and type-checked: an unknown variable or function, or a value of
//! the wrong type for a function (`urlEncode .Port`), is an error when the manifest is validated, so a
//! broken template never produces a broken Secret. Supported: text, `{{ pipeline }}` actions with `|`
//! pipelines and function calls, parenthesized pipelines, string/raw-string/integer/boolean literals,
//! `{{-`/`-}}` trim markers, `{{/* comments */}}`, `if`/`else if`/`else`, `with`/`else`, `end`. Not
//! supported (errors): variables (`$x`), `range`, `define`/`template`/`block`, `index`/`slice`/`call`,
//! `html`/`js`.

mod defaults;
mod functions;
mod lex;
mod parse;
mod render;

use std::collections::BTreeMap;
use std::fmt;

use dbprov_core::Secret;

pub use defaults::{DsnOptions, default_secret_data};

use crate::error::{FieldError, FieldPath};

/// The variables of a template (upstream's `TemplateData`).
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// `.Username`: the user's name on the server.
    pub username: String,
    /// `.Password`.
    pub password: Secret,
    /// `.Host`: the instance's `connection.host`.
    pub host: String,
    /// `.Port`: the instance's `connection.port` (an integer: `urlEncode .Port` is a type error, as upstream).
    pub port: i32,
    /// `.Database`: upstream's meaning is the instance's `connection.database`.
    pub database: String,
    /// `.SSLMode`: the instance's `tls.mode` when TLS is enabled, else empty.
    pub ssl_mode: String,
    /// `.Namespace`: the `DatabaseUser`'s namespace.
    pub namespace: String,
    /// `.Name`: the `DatabaseUser`'s name.
    pub name: String,
    /// `.CA`: PEM of the instance's CA certificate, or empty.
    pub ca: String,
    /// `.TLSCert`: PEM of the client certificate, or empty.
    pub tls_cert: String,
    /// `.TLSKey`: PEM of the client key, or empty.
    pub tls_key: Secret,
}

/// A template error: where (line of the template) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TemplateError {
    /// The template line (1-based; 0 when not tied to a line).
    pub line: usize,
    /// What is wrong, lowercase.
    pub message: String,
}

/// A parsed, type-checked template.
#[derive(Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl Template {
    /// Parses and type-checks a template.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            nodes: parse::parse(source)?,
        })
    }

    /// Renders the template. The output may contain the password, so it is a [`Secret`].
    pub fn render(&self, data: &TemplateData) -> Result<Secret, TemplateError> {
        let mut out = String::new();
        render::render(&self.nodes, data, &mut out)?;
        Ok(Secret::new(out))
    }
}

/// The templated keys of a credentials Secret (`secretTemplate.data`).
#[derive(Debug, Clone)]
pub struct SecretDataTemplate {
    keys: BTreeMap<String, Template>,
}

impl SecretDataTemplate {
    /// Parses every key; errors name the key (`spec.passwordSecret.secretTemplate.data.DATABASE_URL`).
    pub fn parse(data: &BTreeMap<String, String>, path: &FieldPath) -> Result<Self, Vec<FieldError>> {
        let mut keys = BTreeMap::new();
        let mut errors = Vec::new();
        for (key, source) in data {
            let key_path = path.key(key);
            if key.is_empty()
                || !key
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
            {
                errors.push(FieldError::invalid(
                    &key_path,
                    format!("{key:?} is not a Secret key (letters, digits, '-', '_' and '.')"),
                ));
                continue;
            }
            match Template::parse(source) {
                Ok(template) => {
                    keys.insert(key.clone(), template);
                }
                Err(error) => errors.push(FieldError::invalid(&key_path, format!("template {error}"))),
            }
        }
        if errors.is_empty() {
            Ok(Self { keys })
        } else {
            Err(errors)
        }
    }

    /// Renders every key.
    pub fn render(&self, data: &TemplateData) -> Result<BTreeMap<String, Secret>, RenderError> {
        self.keys
            .iter()
            .map(|(key, template)| {
                template
                    .render(data)
                    .map(|value| (key.clone(), value))
                    .map_err(|source| RenderError {
                        key: key.clone(),
                        source,
                    })
            })
            .collect()
    }
}

/// A key whose template failed to render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to render secret template key {key:?}")]
pub struct RenderError {
    /// The Secret key whose template failed.
    pub key: String,
    #[source]
    /// Why it failed.
    pub source: TemplateError,
}

#[cfg(test)]
mod tests;
