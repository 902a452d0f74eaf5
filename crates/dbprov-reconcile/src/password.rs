//! A user's password: read from a Secret, or generated and written to the user's credentials Secret
//! **before** it is set on the server, so a crash in between can never strand a credential.

use std::collections::BTreeMap;

use dbprov_api::convert::connection::template_ssl_mode;
use dbprov_api::convert::password::{PasswordSource, default_secret_labels, password_source};
use dbprov_api::template::{DsnOptions, TemplateData, default_secret_data};
use dbprov_api::v1alpha1::DatabaseUser;
use dbprov_core::{Endpoint, Secret};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::context::{Context, SecretObject, SecretOwner};
use crate::failure::Failure;
use crate::instance::ResolvedInstance;

/// The label that marks a Secret as dbprov's to rewrite.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "dbprov");

/// Where a user's password comes from and what must be written before it is set.
#[derive(Debug, Clone)]
pub struct PasswordPlan {
    pub password: Secret,
    /// The credentials Secret to write first (new password, or keys that changed); `None` when it is current
    /// or not dbprov's (`existingPasswordSecret`).
    pub write: Option<SecretObject>,
    /// The Secret holding the password (namespace, name).
    pub secret: (String, String),
    /// Whether the password was generated now.
    pub generated: bool,
}

/// Resolves the password of a user and renders its credentials Secret.
pub async fn resolve_password(
    ctx: &Context,
    user: &DatabaseUser,
    instance: &ResolvedInstance,
) -> Result<PasswordPlan, Failure> {
    let namespace = user
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let user_name = user.metadata.name.clone().unwrap_or_default();
    match password_source(user).map_err(Failure::from)? {
        PasswordSource::Existing {
            name,
            namespace: secret_namespace,
            key,
        } => {
            let secret_namespace = secret_namespace.unwrap_or_else(|| namespace.clone());
            let purpose = "existingPasswordSecret of the user";
            let secret = ctx
                .secrets
                .get(&secret_namespace, &name)
                .await
                .map_err(|error| Failure::Source { error })?
                .ok_or_else(|| Failure::SecretNotFound {
                    namespace: secret_namespace.clone(),
                    name: name.clone(),
                    key: None,
                    purpose,
                })?;
            let password = secret.text(&key).ok_or_else(|| Failure::SecretNotFound {
                namespace: secret_namespace.clone(),
                name: name.clone(),
                key: Some(key.clone()),
                purpose,
            })?;
            Ok(PasswordPlan {
                password,
                write: None,
                secret: (secret_namespace, name),
                generated: false,
            })
        }
        PasswordSource::Managed(managed) => {
            let stored = ctx
                .secrets
                .get(&namespace, &managed.name)
                .await
                .map_err(|error| Failure::Source { error })?;
            let purpose = "credentials Secret of the user";
            if let Some(stored) = &stored
                && stored.labels.get(MANAGED_BY.0).map(String::as_str) != Some(MANAGED_BY.1)
                && stored.text("password").is_none()
            {
                return Err(Failure::invalid(dbprov_api::FieldError::invalid(
                    "spec.passwordSecret.secretName",
                    format!(
                        "secret {namespace}/{} exists, has no password key and is not managed by dbprov; \
                         refusing to overwrite it (choose another secretName)",
                        managed.name
                    ),
                )));
            }
            let (password, generated) = match stored.as_ref().and_then(|stored| stored.text("password")) {
                Some(password) => (password, false),
                None => {
                    let generator = managed
                        .generator
                        .as_ref()
                        .ok_or_else(|| Failure::SecretNotFound {
                            namespace: namespace.clone(),
                            name: managed.name.clone(),
                            key: stored.as_ref().map(|_| "password".to_owned()),
                            purpose,
                        })?;
                    let password = generator.generate().map_err(|error| {
                        Failure::invalid(dbprov_api::FieldError::invalid(
                            "spec.passwordSecret",
                            error.to_string(),
                        ))
                    })?;
                    (password, true)
                }
            };
            let mut data = render(user, instance, &password, managed.template.as_ref())?;
            // The `password` key is where the next reconcile finds the password: without it a template that
            // renders other keys only would make every reconcile generate (and rotate to) a new one.
            data.entry("password".to_owned())
                .or_insert_with(|| password.clone());
            let mut labels = default_secret_labels(&user_name);
            labels.extend(managed.labels.clone());
            let object = SecretObject {
                namespace: namespace.clone(),
                name: managed.name.clone(),
                secret_type: managed.secret_type.clone(),
                labels,
                annotations: managed.annotations.clone(),
                data,
                owner: Some(SecretOwner {
                    api_version: "dbops.dbprovision.io/v1alpha1".into(),
                    kind: "DatabaseUser".into(),
                    name: user_name,
                    uid: user.metadata.uid.clone(),
                }),
            };
            let current = stored.as_ref().is_some_and(|stored| {
                object
                    .labels
                    .iter()
                    .all(|(key, value)| stored.labels.get(key) == Some(value))
                    && object.data.len() == stored.data.len()
                    && object.data.iter().all(|(key, value)| {
                        stored.data.get(key).map(Vec::as_slice) == Some(value.expose().as_bytes())
                    })
            });
            Ok(PasswordPlan {
                password,
                write: (!current).then_some(object),
                secret: (namespace, managed.name),
                generated,
            })
        }
    }
}

/// The credentials Secret's keys: the user's template, or the default keys.
fn render(
    user: &DatabaseUser,
    instance: &ResolvedInstance,
    password: &Secret,
    template: Option<&dbprov_api::template::SecretDataTemplate>,
) -> Result<BTreeMap<String, Secret>, Failure> {
    let (host, port) = match &instance.connection.endpoint {
        Endpoint::Tcp { host, port } => (host.clone(), i32::from(*port)),
        Endpoint::Socket { path } | Endpoint::Directory { path } => (path.display().to_string(), 0),
    };
    let data = TemplateData {
        username: user.spec.username.clone(),
        password: password.clone(),
        host,
        port,
        database: instance.connection.database.clone().unwrap_or_default(),
        ssl_mode: template_ssl_mode(&instance.spec),
        namespace: user
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        name: user.metadata.name.clone().unwrap_or_default(),
        ca: instance.ca_pem.clone().unwrap_or_default(),
        tls_cert: String::new(),
        tls_key: Secret::default(),
    };
    let rendered = match template {
        Some(template) => template.render(&data).map_err(|error| {
            Failure::invalid(dbprov_api::FieldError::invalid(
                "spec.passwordSecret.secretTemplate.data",
                error.to_string(),
            ))
        })?,
        None => default_secret_data(&data, instance.kind, &DsnOptions::from_instance(&instance.spec))
            .map_err(|error| {
                Failure::invalid(dbprov_api::FieldError::invalid(
                    "spec.passwordSecret",
                    error.to_string(),
                ))
            })?,
    };
    Ok(rendered)
}

/// A keyed fingerprint of a password: HMAC-SHA256 with the object's identity as key, truncated. Hosts keep it
/// to know whether the password changed since it was last set, for servers that do not let dbprov read the
/// stored verifier. Generated passwords carry ~190 bits of entropy; the fingerprint reveals nothing useful.
pub fn fingerprint(password: &Secret, identity: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(identity.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(password.expose().as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_depend_on_password_and_identity() {
        let a = fingerprint(&Secret::new("one"), "default/app");
        assert_eq!(a, fingerprint(&Secret::new("one"), "default/app"));
        assert_ne!(a, fingerprint(&Secret::new("two"), "default/app"));
        assert_ne!(a, fingerprint(&Secret::new("one"), "other/app"));
        assert_eq!(a.len(), 32);
    }
}
