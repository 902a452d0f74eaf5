//! `OAuth2Client`: a client registered in a clientdb client database. The secret is generated here, written
//! to the client's Secret first, and only then registered (hashed) in the database — so a crash in between
//! leaves a Secret whose secret the next reconcile registers, never a registered secret nobody knows.

use std::collections::BTreeMap;
use std::time::Duration;

use clientdb::config::{DatabaseTarget, PoolSettings, RetryPolicy};
use clientdb::migrations::SCHEMA_VERSION;
use clientdb::{
    ClientChanges, ClientRecord, ClientRegistry, DatabaseConfig, Driver, HashPolicy, NewClient, RotateOptions,
};
use dbprov_api::duration::parse_go_duration;
use dbprov_api::v1alpha1::{OAuth2Client, OAuth2ClientStatus};
use dbprov_api::{FieldError, Resource};
use dbprov_core::{ConnectionSpec, Endpoint, EngineKind, Name, NameKind, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::context::{Context, ObjectRef, SecretObject, SecretOwner, StoredSecret};
use crate::database_ref::{DatabaseAndInstance, database_and_instance, database_exists, user_credentials};
use crate::failure::Failure;
use crate::outcome::{Event, Info, Outcome};
use crate::run::Mode;

/// The annotation on a client's Secret naming the rotation request whose secret it holds: a rotation that
/// wrote the Secret but failed to register the secret is finished with that same secret next time.
pub const ANNOTATION_ROTATION: &str = "dbops.dbprovision.io/rotation";

/// What the reconcile found and did, for the status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientState {
    pub client_id: Option<String>,
    pub secret_version: Option<i64>,
    pub rotation_handled: Option<String>,
    pub rotated: bool,
}

fn invalid(path: &str, message: impl Into<String>) -> Failure {
    Failure::invalid(FieldError::invalid(path, message.into()))
}

fn client_failure(action: &str, error: impl std::error::Error + 'static) -> Failure {
    Failure::Migration {
        reason: "ClientDatabaseFailed",
        message: format!("failed to {action}: {}", dbprov_core::error::error_chain(&error)),
        transient: true,
    }
}

fn namespace_of(client: &OAuth2Client) -> String {
    client
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned())
}

fn name_of(client: &OAuth2Client) -> String {
    client.metadata.name.clone().unwrap_or_default()
}

/// The client id: `spec.clientId`, else `metadata.name`.
pub fn client_id(client: &OAuth2Client) -> String {
    client.spec.client_id.clone().unwrap_or_else(|| name_of(client))
}

/// The Secret name: `spec.secretName`, else `<metadata.name>-oauth2-client`.
pub fn secret_name(client: &OAuth2Client) -> String {
    client
        .spec
        .secret_name
        .clone()
        .unwrap_or_else(|| format!("{}-oauth2-client", name_of(client)))
}

/// The clientdb configuration for the database the client lives in.
fn client_database(
    engine: EngineKind,
    connection: &ConnectionSpec,
    database: &str,
) -> Result<DatabaseConfig, Failure> {
    let target = match engine {
        EngineKind::Sqlite => match &connection.endpoint {
            Endpoint::Directory { path } => DatabaseTarget::Sqlite {
                path: path.join(format!("{database}.sqlite3")),
            },
            _ => {
                return Err(invalid(
                    "spec.databaseRef",
                    "the SQLite instance has no directory",
                ));
            }
        },
        EngineKind::Postgres => DatabaseTarget::Connection {
            driver: Driver::Postgres,
            spec: connection.clone(),
            database: database.to_owned(),
        },
        EngineKind::MySql | EngineKind::MariaDb => DatabaseTarget::Connection {
            driver: Driver::MySql,
            spec: connection.clone(),
            database: database.to_owned(),
        },
    };
    // A reconcile needs one or two connections, and fails fast: the host retries.
    let pool = PoolSettings {
        max_open: 2,
        max_idle: 0,
        connect_timeout: connection.connect_timeout,
        ..PoolSettings::default()
    };
    Ok(DatabaseConfig {
        target,
        pool,
        retry: RetryPolicy::once(),
    })
}

/// The client database, opened; `None` when a plan finds it not created yet (the plan creates it first).
struct Opened {
    engine: EngineKind,
    config: DatabaseConfig,
    registry: Option<ClientRegistry>,
}

async fn open(ctx: &Context, client: &OAuth2Client, mode: Mode) -> Result<Opened, Failure> {
    let namespace = namespace_of(client);
    let spec = &client.spec;
    let DatabaseAndInstance {
        database, instance, ..
    } = database_and_instance(ctx, &namespace, &spec.database_ref, "spec.databaseRef").await?;
    let engine = instance.kind;
    let name = Name::parse(NameKind::Database, database.spec.name.clone())
        .map_err(|error| invalid("spec.databaseRef", format!("the database's name: {error}")))?;
    let mut connection = instance.connection.clone();
    if let Some(credentials) = &spec.credentials {
        connection.credentials = Some(
            user_credentials(
                ctx,
                &namespace,
                &credentials.user_ref.name,
                "spec.credentials.userRef",
            )
            .await?,
        );
    }
    let config = client_database(engine, &connection, &database.spec.name)?;
    // A plan must not create the database (SQLite would, by opening its file): look before connecting.
    if mode == Mode::Plan && !database_exists(ctx, &instance, name).await? {
        return Ok(Opened {
            engine,
            config,
            registry: None,
        });
    }
    let migrate = spec.migrate && mode == Mode::Apply;
    let registry = ClientRegistry::connect_config(&config, HashPolicy::default(), migrate)
        .await
        .map_err(|error| client_failure("open the client database", error))?;
    Ok(Opened {
        engine,
        config,
        registry: Some(registry),
    })
}

/// Reads a client's registration. A read that fails on a schema older than clientdb's is, in a plan with
/// `migrate`, a client to register after the migration; without `migrate`, a clear error.
async fn find(
    opened: &Opened,
    id: &str,
    client: &OAuth2Client,
    mode: Mode,
    outcome: &mut Outcome,
) -> Result<Option<ClientRecord>, Failure> {
    let Some(registry) = &opened.registry else {
        outcome
            .notes
            .push("create the client database and apply clientdb's schema migrations".to_owned());
        return Ok(None);
    };
    let error = match registry.find(id).await {
        Ok(record) => return Ok(record),
        Err(error) => error,
    };
    let found = clientdb::migrations::version(&opened.config)
        .await
        .map_err(|error| client_failure("read the schema version", error))?;
    if found.version.is_some_and(|version| version >= SCHEMA_VERSION) && !found.dirty {
        return Err(client_failure("read the client", error));
    }
    if client.spec.migrate && mode == Mode::Plan {
        outcome.notes.push(format!(
            "apply clientdb's schema migrations (version {found} to {SCHEMA_VERSION})"
        ));
        return Ok(None);
    }
    Err(Failure::Migration {
        reason: "SchemaOutdated",
        message: format!(
            "the client database's schema is at version {found}, older than the {SCHEMA_VERSION} clientdb needs; set spec.migrate: true or run `clientdb migrate up`"
        ),
        transient: true,
    })
}

/// The Secret's keys for a client and secret.
fn secret_object(client: &OAuth2Client, secret: &Secret, rotation: Option<&str>) -> SecretObject {
    let mut data = BTreeMap::from([
        ("client_id".to_owned(), Secret::new(client_id(client))),
        ("client_secret".to_owned(), secret.clone()),
    ]);
    if let Some(url) = &client.spec.token_url {
        data.insert("token_url".to_owned(), Secret::new(url.clone()));
    }
    let mut annotations = BTreeMap::new();
    if let Some(rotation) = rotation {
        annotations.insert(ANNOTATION_ROTATION.to_owned(), rotation.to_owned());
    }
    SecretObject {
        namespace: namespace_of(client),
        name: secret_name(client),
        secret_type: "Opaque".to_owned(),
        labels: BTreeMap::from([
            ("app.kubernetes.io/managed-by".to_owned(), "dbprov".to_owned()),
            ("dbops.dbprovision.io/oauth2-client".to_owned(), name_of(client)),
        ]),
        annotations,
        data,
        owner: Some(SecretOwner {
            api_version: "dbops.dbprovision.io/v1alpha1".into(),
            kind: "OAuth2Client".into(),
            name: name_of(client),
            uid: client.metadata.uid.clone(),
        }),
    }
}

fn stored_matches(stored: &StoredSecret, wanted: &SecretObject) -> bool {
    wanted.data.len() == stored.data.len()
        && wanted
            .data
            .iter()
            .all(|(key, value)| stored.data.get(key).map(Vec::as_slice) == Some(value.expose().as_bytes()))
        && wanted
            .annotations
            .iter()
            .all(|(key, value)| stored.annotations.get(key) == Some(value))
}

/// The declared attributes that differ from the registration.
fn changes(client: &OAuth2Client, record: &ClientRecord) -> ClientChanges {
    let spec = &client.spec;
    let name = spec.client_name.clone().unwrap_or_else(|| name_of(client));
    ClientChanges {
        client_name: (record.client_name != name).then_some(name),
        grant_types: (record.grant_types != spec.grant_types).then(|| spec.grant_types.clone()),
        scopes: (record.scopes != spec.scopes).then(|| spec.scopes.clone()),
        redirect_uris: (record.redirect_uris != spec.redirect_uris).then(|| spec.redirect_uris.clone()),
    }
}

/// Reconciles an `OAuth2Client`. `previous` is its status as last recorded.
pub async fn reconcile_oauth2_client(
    ctx: &Context,
    client: &OAuth2Client,
    previous: &OAuth2ClientStatus,
    mode: Mode,
) -> (Outcome, ClientState) {
    let object = ObjectRef::of(&Resource::OAuth2Client(Box::new(client.clone())))
        .expect("an OAuth2Client is an API kind");
    let mut outcome = Outcome::new(object);
    let mut state = ClientState {
        client_id: Some(client_id(client)),
        secret_version: previous.secret_version,
        rotation_handled: previous.rotation_handled.clone(),
        rotated: false,
    };
    match converge(ctx, client, &mut outcome, &mut state, mode).await {
        Ok(()) => (outcome, state),
        Err(failure) => (outcome.failed(failure), state),
    }
}

async fn converge(
    ctx: &Context,
    client: &OAuth2Client,
    outcome: &mut Outcome,
    state: &mut ClientState,
    mode: Mode,
) -> Result<(), Failure> {
    dbprov_api::validate(&Resource::OAuth2Client(Box::new(client.clone()))).map_err(Failure::from)?;
    let spec = &client.spec;
    let namespace = namespace_of(client);
    let id = client_id(client);
    let grace = match spec
        .rotation
        .as_ref()
        .and_then(|rotation| rotation.grace_period.as_deref())
    {
        Some(grace) => {
            parse_go_duration(grace).map_err(|message| invalid("spec.rotation.gracePeriod", message))?
        }
        None => Duration::ZERO,
    };
    let opened = open(ctx, client, mode).await?;
    outcome.info = Info::Migration {
        engine: opened.engine,
    };
    let record = find(&opened, &id, client, mode, outcome).await?;
    let stored = ctx
        .secrets
        .get(&namespace, &secret_name(client))
        .await
        .map_err(|error| Failure::Source { error })?;
    let stored_secret = stored.as_ref().and_then(|stored| stored.text("client_secret"));
    let requested = spec
        .rotation
        .as_ref()
        .map(|rotation| rotation.requested_at.clone());
    let rotation_pending = requested.is_some() && requested != state.rotation_handled;

    let Some(record) = record else {
        // A new client: reuse a secret already written (a crash after writing it), or generate one.
        outcome.exists_before = false;
        let secret = match stored_secret {
            Some(secret)
                if stored
                    .as_ref()
                    .and_then(|s| s.text("client_id"))
                    .is_some_and(|s| s.expose() == id) =>
            {
                secret
            }
            _ => clientdb::secret::generate_secret()
                .map_err(|error| client_failure("generate a client secret", error))?,
        };
        let wanted = secret_object(client, &secret, requested.as_deref());
        outcome.notes.push(format!("register OAuth2 client {id}"));
        if mode == Mode::Plan {
            outcome
                .notes
                .push(format!("write secret {namespace}/{}", wanted.name));
            return Ok(());
        }
        let registry = opened.registry.as_ref().expect("an apply opens the database");
        write_secret(ctx, &wanted, stored.as_ref(), outcome).await?;
        let mut new = NewClient::new(spec.client_name.clone().unwrap_or_else(|| name_of(client)))
            .with_client_id(id.clone())
            .with_grant_types(spec.grant_types.clone())
            .with_scopes(spec.scopes.clone())
            .with_secret(secret)
            .with_created_by("dbprov");
        new.redirect_uris = spec.redirect_uris.clone();
        new.is_active = !spec.disabled;
        let created = registry
            .create(new)
            .await
            .map_err(|error| client_failure("register the client", error))?;
        state.secret_version = Some(created.client.secret_version);
        state.rotation_handled = requested;
        outcome.created = true;
        outcome.applied = true;
        outcome.events.push(Event::normal(
            "ClientRegistered",
            format!("registered OAuth2 client {id}"),
        ));
        return Ok(());
    };

    outcome.exists_before = true;
    let registry = opened.registry.as_ref().expect("a registration was read");
    state.secret_version = Some(record.secret_version);
    let changes = changes(client, &record);
    if !changes.is_empty() {
        outcome.notes.push(format!(
            "update OAuth2 client {id} (name, grant types, scopes or redirect URIs)"
        ));
        if mode == Mode::Apply {
            registry
                .update(&id, changes)
                .await
                .map_err(|error| client_failure("update the client", error))?;
            outcome.applied = true;
        }
    }
    if record.is_active == spec.disabled {
        let action = if spec.disabled { "disable" } else { "enable" };
        outcome.notes.push(format!("{action} OAuth2 client {id}"));
        if mode == Mode::Apply {
            let result = if spec.disabled {
                registry.disable(&id).await
            } else {
                registry.enable(&id).await
            };
            result.map_err(|error| client_failure(action, error))?;
            outcome.applied = true;
            outcome.events.push(Event::normal(
                if spec.disabled {
                    "ClientDisabled"
                } else {
                    "ClientEnabled"
                },
                format!("{action}d OAuth2 client {id}"),
            ));
        }
    }
    // A rotation is requested, or the Secret was deleted (its secret is lost: only a new one can be issued).
    let lost = stored_secret.is_none();
    if rotation_pending || lost {
        let pending = stored
            .as_ref()
            .filter(|s| requested.is_some() && s.annotations.get(ANNOTATION_ROTATION) == requested.as_ref());
        let secret = match pending.and_then(|s| s.text("client_secret")) {
            Some(secret) if rotation_pending => secret,
            _ => clientdb::secret::generate_secret()
                .map_err(|error| client_failure("generate a client secret", error))?,
        };
        let reason = if lost {
            "its Secret is gone"
        } else {
            "rotation requested"
        };
        outcome
            .notes
            .push(format!("rotate the secret of OAuth2 client {id} ({reason})"));
        if mode == Mode::Plan {
            return Ok(());
        }
        let wanted = secret_object(client, &secret, requested.as_deref());
        write_secret(ctx, &wanted, stored.as_ref(), outcome).await?;
        let options = RotateOptions {
            grace_period: if lost { Duration::ZERO } else { grace },
            expires_in: None,
            secret: Some(secret),
        };
        let rotated = registry
            .rotate_secret(&id, options)
            .await
            .map_err(|error| client_failure("rotate the secret", error))?;
        state.secret_version = Some(rotated.secret_version);
        state.rotation_handled = requested;
        state.rotated = true;
        outcome.applied = true;
        outcome.events.push(Event::normal(
            "SecretRotated",
            format!("rotated the secret of OAuth2 client {id} ({reason})"),
        ));
        return Ok(());
    }
    // The Secret's other keys (token URL, client id) follow the spec without touching the registration.
    let secret = stored_secret.expect("checked above");
    let wanted = secret_object(
        client,
        &secret,
        stored
            .as_ref()
            .and_then(|s| s.annotations.get(ANNOTATION_ROTATION))
            .map(String::as_str),
    );
    if !stored
        .as_ref()
        .is_some_and(|stored| stored_matches(stored, &wanted))
    {
        outcome
            .notes
            .push(format!("update secret {namespace}/{}", wanted.name));
        if mode == Mode::Apply {
            write_secret(ctx, &wanted, stored.as_ref(), outcome).await?;
        }
    }
    Ok(())
}

async fn write_secret(
    ctx: &Context,
    wanted: &SecretObject,
    stored: Option<&StoredSecret>,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    if stored.is_some_and(|stored| stored_matches(stored, wanted)) {
        return Ok(());
    }
    ctx.secrets
        .put(wanted)
        .await
        .map_err(|error| Failure::WriteSecret {
            namespace: wanted.namespace.clone(),
            name: wanted.name.clone(),
            error,
        })?;
    outcome.secret_written = Some((wanted.namespace.clone(), wanted.name.clone()));
    Ok(())
}

/// Deletes a client's registration and its Secret (deletion decided `Delete` for it: see `deletion`).
pub async fn delete_oauth2_client(
    ctx: &Context,
    client: &OAuth2Client,
    outcome: &mut Outcome,
    mode: Mode,
) -> Result<(), Failure> {
    let id = client_id(client);
    if mode == Mode::Plan {
        outcome
            .notes
            .push(format!("delete OAuth2 client {id} and its secret"));
        return Ok(());
    }
    let opened = open(ctx, client, mode).await?;
    let registry = opened.registry.as_ref().expect("an apply opens the database");
    registry
        .delete(&id)
        .await
        .map_err(|error| client_failure("delete the client", error))?;
    ctx.secrets
        .delete(&namespace_of(client), &secret_name(client))
        .await
        .map_err(|error| Failure::WriteSecret {
            namespace: namespace_of(client),
            name: secret_name(client),
            error,
        })?;
    outcome.applied = true;
    outcome
        .events
        .push(Event::normal("Deleted", format!("deleted OAuth2 client {id}")));
    Ok(())
}

/// Writes what a reconcile found into the status.
pub fn status(
    status: &mut OAuth2ClientStatus,
    outcome: &Outcome,
    state: &ClientState,
    generation: Option<i64>,
    now: &Time,
) {
    crate::status::common(status, outcome, generation, now);
    if let Info::Migration { engine } = &outcome.info {
        status.engine = Some(engine.as_str().to_owned());
    }
    status.client_id = state.client_id.clone();
    status.secret_version = state.secret_version;
    status.rotation_handled = state.rotation_handled.clone();
    if state.rotated || outcome.created {
        status.last_rotated_at = Some(now.clone());
    }
    status.last_reconcile_time = Some(now.clone());
}
