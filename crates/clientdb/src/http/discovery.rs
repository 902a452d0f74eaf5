//! `GET /.well-known/jwks.json` and `GET /.well-known/oauth-authorization-server` (RFC 8414).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::token::TokenIssuer;

use super::AppState;

/// The issuer URL's path without a trailing slash (`""` for `https://auth.example`).
pub(super) fn issuer_path(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

pub(super) fn metadata(issuer: &TokenIssuer) -> serde_json::Value {
    let base = issuer.issuer().trim_end_matches('/');
    let mut algorithms: Vec<&str> = issuer
        .keys()
        .keys()
        .iter()
        .map(|key| key.algorithm().as_str())
        .collect();
    algorithms.dedup();
    json!({
        "issuer": issuer.issuer(),
        "token_endpoint": format!("{base}/oauth2/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{base}/oauth2/introspect"),
        "grant_types_supported": ["client_credentials"],
        // There is no authorization endpoint, so no response type is supported.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "access_token_signing_alg_values_supported": algorithms,
    })
}

fn json_response(body: &str, cache: &'static str) -> Response {
    let mut response = body.to_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

pub(super) async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    // Short caching: a new signing key must reach verifiers before tokens signed with it do.
    json_response(&state.jwks, "public, max-age=300")
}

pub(super) async fn authorization_server(State(state): State<Arc<AppState>>) -> Response {
    json_response(&state.metadata, "public, max-age=3600")
}
