//! `POST /oauth2/introspect` (RFC 7662). The caller authenticates as any active client. A token is active
//! when this server signed it with one of its keys, it has not expired, and its client still exists and is
//! active — disabling a client deactivates its outstanding tokens at once.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::token::{AccessTokenClaims, Audience};

use super::AppState;
use super::client_auth::presented_credentials;
use super::form::Form;
use super::oauth_error::OAuthError;
use super::token::authenticate;

#[derive(Serialize)]
struct Introspection<'a> {
    active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<Details<'a>>,
}

#[derive(Serialize)]
struct Details<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    client_id: &'a str,
    token_type: &'static str,
    exp: i64,
    iat: i64,
    sub: &'a str,
    aud: &'a Audience,
    iss: &'a str,
    jti: &'a str,
}

pub(super) async fn introspect(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, peer, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let form = Form::parse(headers, body)?;
    let credentials = presented_credentials(headers, &form)?;
    authenticate(state, &credentials.client_id, credentials.secret.expose(), peer).await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let claims = active_claims(state, token).await?;
    let body = serde_json::to_vec(&Introspection {
        active: claims.is_some(),
        details: claims.as_ref().map(|claims| Details {
            scope: &claims.scope,
            client_id: &claims.client_id,
            token_type: "Bearer",
            exp: claims.exp,
            iat: claims.iat,
            sub: &claims.sub,
            aud: &claims.aud,
            iss: &claims.iss,
            jti: &claims.jti,
        }),
    })
    .expect("invariant: the introspection response always serializes");
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    super::no_store(response.headers_mut());
    Ok(response)
}

async fn active_claims(state: &AppState, token: &str) -> Result<Option<AccessTokenClaims>, OAuthError> {
    let Ok(claims) = state.issuer.verify(token) else {
        return Ok(None);
    };
    let client = state
        .authenticator
        .store()
        .client(&claims.client_id)
        .await
        .map_err(|error| {
            tracing::error!(error = %crate::error_chain(&error), "client lookup failed");
            OAuthError::unavailable("the client database is unavailable")
        })?;
    Ok(client
        .filter(|client| client.client_id == claims.client_id && client.is_active)
        .map(|_| claims))
}
