//! `POST /oauth2/token`: the client credentials grant (RFC 6749 §4.4).
//!
//! Order of checks: request syntax (`invalid_request`), grant type (`unsupported_grant_type`), client
//! authentication (`invalid_client`, 401; 429 while rate-limited), the client's allowed grants
//! (`unauthorized_client`), then the scope (`invalid_scope`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::metrics::AlgorithmLabels;
use crate::registry::{CLIENT_CREDENTIALS, is_scope_char};
use crate::store::ClientRecord;

use super::AppState;
use super::client_auth::presented_credentials;
use super::form::Form;
use super::oauth_error::OAuthError;

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
}

pub(super) async fn token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&state, peer, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn issue(
    state: &AppState,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    if uri.query().is_some_and(|query| !query.is_empty()) {
        // Parameters (and secrets) in the URL end up in access logs.
        return Err(OAuthError::invalid_request(
            "parameters must be sent in the request body, not the URL",
        ));
    }
    let form = Form::parse(headers, body)?;
    let credentials = presented_credentials(headers, &form)?;
    match form.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(CLIENT_CREDENTIALS) => {}
        Some(other) => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant type {:?} is not supported; this server issues client_credentials tokens only",
                other.chars().take(60).collect::<String>()
            )));
        }
    }
    let client = authenticate(state, &credentials.client_id, credentials.secret.expose(), peer).await?;
    if !client.allows_grant(CLIENT_CREDENTIALS) {
        return Err(OAuthError::unauthorized_client(
            "the client is not allowed to use the client_credentials grant",
        ));
    }
    let scopes = granted_scopes(&client, form.get("scope"))?;
    let issued = state.issuer.issue(&client.client_id, &scopes).map_err(|error| {
        tracing::error!(error = %error, "failed to sign an access token");
        OAuthError::server_error("failed to issue the access token")
    })?;
    state
        .metrics
        .tokens_issued
        .get_or_create(&AlgorithmLabels {
            algorithm: state.issuer.keys().signing_key().algorithm().as_str().to_owned(),
        })
        .inc();
    tracing::debug!(
        client_id = client.client_id,
        method = ?credentials.method,
        scope = issued.claims.scope,
        jti = issued.claims.jti,
        "issued an access token"
    );
    let body = serde_json::to_vec(&TokenResponse {
        access_token: &issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: &issued.claims.scope,
    })
    .expect("invariant: the token response always serializes");
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    super::no_store(response.headers_mut());
    Ok(response)
}

/// Authenticates for the token and introspection endpoints, mapping failures to OAuth errors.
pub(super) async fn authenticate(
    state: &AppState,
    client_id: &str,
    secret: &str,
    peer: SocketAddr,
) -> Result<ClientRecord, OAuthError> {
    state
        .authenticator
        .authenticate(client_id, secret, Some(peer.ip()))
        .await
        .map_err(|error| match error {
            AuthError::Failed { .. } => OAuthError::invalid_client("client authentication failed"),
            AuthError::RateLimited { retry_after, .. } => OAuthError::rate_limited(retry_after),
            AuthError::Store(error) => {
                tracing::error!(error = %crate::error_chain(&error), "client lookup failed");
                OAuthError::unavailable("the client database is unavailable")
            }
            AuthError::Task(error) => {
                tracing::error!(error = %error, "the hashing task failed");
                OAuthError::server_error("client authentication could not complete")
            }
        })
}

/// RFC 6749 §3.3: the requested scopes must all be registered for the client; none requested means all of
/// the client's scopes.
fn granted_scopes(client: &ClientRecord, requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(client.scopes.clone());
    };
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split(' ') {
        if scope.is_empty() || !scope.bytes().all(is_scope_char) {
            return Err(OAuthError::invalid_scope("the scope parameter is malformed"));
        }
        if !client.scopes.iter().any(|allowed| allowed == scope) {
            return Err(OAuthError::invalid_scope(format!(
                "scope {:?} is not registered for this client",
                scope.chars().take(60).collect::<String>()
            )));
        }
        if !granted.iter().any(|existing| existing == scope) {
            granted.push(scope.to_owned());
        }
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn client(scopes: &[&str]) -> ClientRecord {
        ClientRecord {
            client_id: "a".into(),
            client_name: "a".into(),
            grant_types: vec![CLIENT_CREDENTIALS.into()],
            scopes: scopes.iter().map(|scope| scope.to_string()).collect(),
            redirect_uris: vec![],
            is_active: true,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            created_by: None,
            secret_version: 1,
            secret_expires_at: None,
        }
    }

    #[test]
    fn scope_must_be_a_subset() {
        let client = client(&["read", "write"]);
        assert_eq!(granted_scopes(&client, None).unwrap(), ["read", "write"]);
        assert_eq!(granted_scopes(&client, Some("write")).unwrap(), ["write"]);
        assert_eq!(
            granted_scopes(&client, Some("write read write")).unwrap(),
            ["write", "read"]
        );
        for bad in ["admin", "read admin", "read  write", " read", "re\"ad"] {
            assert_eq!(
                granted_scopes(&client, Some(bad)).unwrap_err().code.as_str(),
                "invalid_scope",
                "{bad}"
            );
        }
    }
}
