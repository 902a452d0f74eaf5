//! Instances: resolving a reference into a connection, and the `DatabaseInstance` reconciler (connect, ping,
//! report the server version).

use dbprov_api::convert::connection::{TlsMaterial, connection_spec};
use dbprov_api::v1alpha1::{ClusterInstanceReference, DatabaseInstanceSpec, InstanceReference};
use dbprov_api::{FieldError, Kind, Resource};
use dbprov_core::{ConnectionSpec, Credentials, EngineKind};

use crate::context::{Context, ObjectRef};
use crate::failure::Failure;
use crate::outcome::{Event, Info, Outcome};

/// An instance, ready to connect to.
#[derive(Debug, Clone)]
pub struct ResolvedInstance {
    pub object: ObjectRef,
    pub kind: EngineKind,
    pub spec: DatabaseInstanceSpec,
    pub connection: ConnectionSpec,
    /// The CA the instance trusts (for Secret templates' `.CA`).
    pub ca_pem: Option<String>,
}

impl ResolvedInstance {
    /// The key of this instance in the engine cache.
    pub fn cache_key(&self) -> String {
        match &self.object.namespace {
            Some(namespace) => format!("{namespace}/{}", self.object.name),
            None => format!("cluster/{}", self.object.name),
        }
    }
}

/// The instance an object refers to (`instanceRef` or `clusterInstanceRef`), in the object's namespace unless
/// the reference names one.
pub fn instance_ref(
    namespaced: Option<&InstanceReference>,
    cluster: Option<&ClusterInstanceReference>,
    namespace: &str,
) -> Result<ObjectRef, Failure> {
    match (namespaced, cluster) {
        (Some(reference), None) => Ok(ObjectRef::new(
            Kind::DatabaseInstance,
            Some(reference.namespace.as_deref().unwrap_or(namespace)),
            &reference.name,
        )),
        (None, Some(reference)) => Ok(ObjectRef::new(
            Kind::ClusterDatabaseInstance,
            None,
            &reference.name,
        )),
        _ => Err(Failure::invalid(FieldError::invalid(
            "spec.instanceRef",
            "exactly one of instanceRef and clusterInstanceRef must be set",
        ))),
    }
}

fn instance_spec(resource: &Resource) -> Option<&DatabaseInstanceSpec> {
    match resource {
        Resource::DatabaseInstance(object) => Some(&object.spec),
        Resource::ClusterDatabaseInstance(object) => Some(&object.spec.0),
        _ => None,
    }
}

/// Reads an instance and its Secrets into a connection. `require_ready` makes a not-yet-Ready instance a
/// (retried) failure, as objects on it wait for it.
pub async fn resolve_instance(
    ctx: &Context,
    instance: &ObjectRef,
    require_ready: bool,
) -> Result<ResolvedInstance, Failure> {
    let resource = ctx
        .source
        .get(instance)
        .await
        .map_err(|error| Failure::Source { error })?
        .ok_or_else(|| Failure::InstanceNotFound {
            instance: instance.clone(),
        })?;
    let spec = instance_spec(&resource).ok_or_else(|| Failure::InstanceNotFound {
        instance: instance.clone(),
    })?;
    dbprov_api::validate(&resource).map_err(|errors| prefix_errors(instance, errors))?;
    if require_ready
        && !ctx
            .source
            .instance_ready(instance)
            .await
            .map_err(|error| Failure::Source { error })?
    {
        return Err(Failure::InstanceNotReady {
            instance: instance.clone(),
        });
    }
    let kind = spec.engine.engine_kind().ok_or_else(|| {
        prefix_errors(
            instance,
            vec![FieldError::unsupported("spec.engine", spec.engine.as_str())],
        )
    })?;
    let secret_namespace = |explicit: Option<&str>| -> String {
        explicit
            .or(instance.namespace.as_deref())
            .unwrap_or("default")
            .to_owned()
    };
    let mut credentials = None;
    if let Some(reference) = spec
        .connection
        .as_ref()
        .and_then(|c| c.secret_ref.as_ref().or(c.existing_secret.as_ref()))
    {
        let namespace = secret_namespace(reference.namespace.as_deref());
        let purpose = "admin credentials of the instance";
        let secret = ctx
            .secrets
            .get(&namespace, &reference.name)
            .await
            .map_err(|error| Failure::Source { error })?
            .ok_or_else(|| Failure::SecretNotFound {
                namespace: namespace.clone(),
                name: reference.name.clone(),
                key: None,
                purpose,
            })?;
        let value = |key: &str| {
            secret.text(key).ok_or_else(|| Failure::SecretNotFound {
                namespace: namespace.clone(),
                name: reference.name.clone(),
                key: Some(key.to_owned()),
                purpose,
            })
        };
        let username = value(reference.username_key())?.expose().to_owned();
        credentials = Some(Credentials {
            username,
            password: Some(value(reference.password_key())?),
        });
    }
    let mut tls = TlsMaterial::default();
    if let Some(reference) = spec
        .tls
        .as_ref()
        .filter(|tls| tls.enabled)
        .and_then(|tls| tls.secret_ref.as_ref())
    {
        let namespace = secret_namespace(None);
        let secret = ctx
            .secrets
            .get(&namespace, &reference.name)
            .await
            .map_err(|error| Failure::Source { error })?
            .ok_or_else(|| Failure::SecretNotFound {
                namespace: namespace.clone(),
                name: reference.name.clone(),
                key: None,
                purpose: "TLS material of the instance",
            })?;
        tls.ca_pem = secret.data.get(reference.ca_key()).cloned();
        tls.client_cert_pem = secret.data.get(reference.cert_key()).cloned();
        tls.client_key_pem = secret.text(reference.key_key());
    }
    let ca_pem = tls
        .ca_pem
        .as_ref()
        .map(|pem| String::from_utf8_lossy(pem).into_owned());
    let label = match &instance.namespace {
        Some(namespace) if namespace != "default" => format!("{namespace}/{}", instance.name),
        _ => instance.name.clone(),
    };
    let connection =
        connection_spec(spec, &label, credentials, tls).map_err(|errors| prefix_errors(instance, errors))?;
    Ok(ResolvedInstance {
        object: instance.clone(),
        kind,
        spec: spec.clone(),
        connection,
        ca_pem,
    })
}

/// Errors found in a referenced instance, named as such.
fn prefix_errors(instance: &ObjectRef, errors: Vec<FieldError>) -> Failure {
    Failure::Invalid {
        errors: errors
            .into_iter()
            .map(|error| FieldError {
                path: format!("{instance}: {}", error.path),
                ..error
            })
            .collect(),
    }
}

/// Reconciles an instance: connect, ping, read the server version.
pub async fn reconcile_instance(ctx: &Context, instance: &ObjectRef) -> Outcome {
    let mut outcome = Outcome::new(instance.clone());
    let resolved = match resolve_instance(ctx, instance, false).await {
        Ok(resolved) => resolved,
        Err(failure) => return outcome.failed(failure),
    };
    let engine = match ctx
        .engines
        .get(&resolved.cache_key(), resolved.kind, &resolved.connection)
        .await
    {
        Ok(engine) => engine,
        Err(error) => return outcome.failed(Failure::Connect { error }),
    };
    if let Err(error) = engine.ping().await {
        ctx.engines.forget(&resolved.cache_key()).await;
        return outcome.failed(Failure::Connect { error });
    }
    let server = engine.server().clone();
    outcome.exists_before = true;
    outcome.info = Info::Instance {
        engine: server.kind,
        version: server.version.clone(),
    };
    outcome.events.push(Event::normal(
        "Connected",
        format!("connected to {} {}", server.kind.display_name(), server.version),
    ));
    outcome
}
