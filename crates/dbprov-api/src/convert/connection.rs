//! `DatabaseInstance` into a `dbprov_core::ConnectionSpec`.

use std::time::Duration;

use dbprov_core::{ConnectionSpec, Credentials, EngineKind, Secret, TlsMode, TlsSpec};

use crate::duration::parse_go_duration;
use crate::error::{FieldError, FieldPath};
use crate::v1alpha1::{DatabaseInstanceSpec, MySqlTlsMode, PostgresSslMode, TlsVerifyMode};

/// TLS material read (by the caller) from the instance's `tls.secretRef` Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// PEM of the CA certificate(s) that sign the server certificate.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM of the client certificate, for certificate authentication.
    pub client_cert_pem: Option<Vec<u8>>,
    /// PEM of the client private key.
    pub client_key_pem: Option<Secret>,
}

/// The connection of an instance. `credentials` come from `connection.secretRef` (read by the caller); `label`
/// names the instance in messages (`pg-main`, `ns/pg-main`).
pub fn connection_spec(
    spec: &DatabaseInstanceSpec,
    label: &str,
    credentials: Option<Credentials>,
    tls: TlsMaterial,
) -> Result<ConnectionSpec, Vec<FieldError>> {
    let path = FieldPath::root("spec");
    let engine = spec.engine.engine_kind().ok_or_else(|| {
        vec![FieldError::unsupported(
            path.field("engine"),
            format!("engine {}", spec.engine.as_str()),
        )]
    })?;
    if engine == EngineKind::Sqlite {
        let sqlite = spec
            .sqlite
            .as_ref()
            .ok_or_else(|| vec![FieldError::required(path.field("sqlite"))])?;
        return Ok(ConnectionSpec::directory(&sqlite.path).with_label(label));
    }
    let connection = spec
        .connection
        .as_ref()
        .ok_or_else(|| vec![FieldError::required(path.field("connection"))])?;
    let port = u16::try_from(connection.port)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| {
            vec![FieldError::invalid(
                path.field("connection").field("port"),
                format!("{} is not a port (1 to 65535)", connection.port),
            )]
        })?;
    let mode = tls_mode(spec, engine, tls.ca_pem.is_some());
    let mut out = ConnectionSpec::tcp(connection.host.clone(), port)
        .with_label(label)
        .with_connect_timeout(connect_timeout(spec, engine)?)
        .with_tls(TlsSpec {
            mode,
            ca_pem: tls.ca_pem,
            client_cert_pem: tls.client_cert_pem,
            client_key_pem: tls.client_key_pem,
        });
    if let Some(database) = &connection.database {
        out = out.with_database(database.clone());
    }
    out.credentials = credentials;
    Ok(out)
}

/// The TLS mode: `spec.tls.mode` when `spec.tls.enabled`, else the engine section's (`postgres.sslMode`,
/// default `prefer`; `mysql.tls`, default `preferred`).
fn tls_mode(spec: &DatabaseInstanceSpec, engine: EngineKind, has_ca: bool) -> TlsMode {
    if let Some(tls) = spec.tls.as_ref().filter(|tls| tls.enabled) {
        return match tls.mode {
            TlsVerifyMode::Disable => TlsMode::Disable,
            TlsVerifyMode::Require => TlsMode::Require,
            TlsVerifyMode::VerifyCa => TlsMode::VerifyCa,
            TlsVerifyMode::VerifyFull => TlsMode::VerifyFull,
        };
    }
    if engine == EngineKind::Postgres {
        return match spec
            .postgres
            .as_ref()
            .map(|postgres| postgres.ssl_mode)
            .unwrap_or_default()
        {
            PostgresSslMode::Disable => TlsMode::Disable,
            PostgresSslMode::Allow | PostgresSslMode::Prefer => TlsMode::Prefer,
            PostgresSslMode::Require => TlsMode::Require,
            PostgresSslMode::VerifyCa => TlsMode::VerifyCa,
            PostgresSslMode::VerifyFull => TlsMode::VerifyFull,
        };
    }
    match spec.mysql.as_ref().map(|mysql| mysql.tls).unwrap_or_default() {
        MySqlTlsMode::Disabled => TlsMode::Disable,
        MySqlTlsMode::Preferred => TlsMode::Prefer,
        // go-sql-driver's `required` verifies against a configured CA; without one it only encrypts.
        MySqlTlsMode::Required if has_ca => TlsMode::VerifyCa,
        MySqlTlsMode::Required | MySqlTlsMode::SkipVerify => TlsMode::Require,
    }
}

fn connect_timeout(spec: &DatabaseInstanceSpec, engine: EngineKind) -> Result<Duration, Vec<FieldError>> {
    let path = FieldPath::root("spec");
    match engine {
        EngineKind::Postgres => Ok(spec
            .postgres
            .as_ref()
            .map_or(ConnectionSpec::DEFAULT_CONNECT_TIMEOUT, |postgres| {
                Duration::from_secs(u64::try_from(postgres.connect_timeout.max(1)).unwrap_or(10))
            })),
        _ => match &spec.mysql {
            None => Ok(ConnectionSpec::DEFAULT_CONNECT_TIMEOUT),
            Some(mysql) => parse_go_duration(&mysql.timeout)
                .map_err(|message| vec![FieldError::invalid(path.field("mysql").field("timeout"), message)]),
        },
    }
}

/// The `.SSLMode` of Secret templates, as upstream: `spec.tls.mode` when TLS is enabled, else empty.
pub fn template_ssl_mode(spec: &DatabaseInstanceSpec) -> String {
    spec.tls
        .as_ref()
        .filter(|tls| tls.enabled)
        .map(|tls| tls.mode.as_str().to_owned())
        .unwrap_or_default()
}
