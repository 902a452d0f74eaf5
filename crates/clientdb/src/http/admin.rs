//! The admin API, behind `Authorization: Bearer <admin token>`:
//!
//! | method and path | does |
//! |---|---|
//! | `GET /admin/clients` | list clients |
//! | `POST /admin/clients` | create a client; the response holds its secret, shown once (201) |
//! | `GET /admin/clients/{client_id}` | show a client |
//! | `PATCH /admin/clients/{client_id}` | change name, grant types, scopes, redirect URIs, `is_active` |
//! | `DELETE /admin/clients/{client_id}` | delete (204; 404 when it did not exist) |
//! | `POST /admin/clients/{client_id}/secrets/rotate` | new secret; the old one works for `grace_period_seconds` |
//!
//! Errors are `{"error", "error_description"}` with 400 (invalid), 404, 409 (exists, concurrent change) or 503.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use dbprov_core::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::registry::{NewClient, RegistryError, RotateOptions};
use crate::store::{ClientChanges, ClientRecord};

use super::AppState;

pub(super) fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/clients", get(list).post(create))
        .route(
            "/admin/clients/{client_id}",
            get(show).patch(update).delete(delete),
        )
        .route("/admin/clients/{client_id}/secrets/rotate", post(rotate))
        .layer(axum::middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| Sha256::digest(token.trim().as_bytes()));
    let allowed = match (presented, &state.admin_token_digest) {
        // Digests have a fixed length, so the comparison time says nothing about the token.
        (Some(presented), Some(expected)) => bool::from(presented.as_slice().ct_eq(expected)),
        _ => false,
    };
    if !allowed {
        let mut response = AdminError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin bearer token is required",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"clientdb-admin\""),
        );
        return response;
    }
    let mut response = next.run(request).await;
    super::no_store(response.headers_mut());
    response
}

#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl AdminError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
}

impl From<RegistryError> for AdminError {
    fn from(error: RegistryError) -> Self {
        let status = match error.kind() {
            "invalid" => StatusCode::BAD_REQUEST,
            "not_found" => StatusCode::NOT_FOUND,
            "already_exists" | "conflict" => StatusCode::CONFLICT,
            "connect" | "query" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let description = crate::error_chain(&error);
        if status.is_server_error() {
            tracing::error!(error = %description, "admin request failed");
        }
        Self::new(status, error.kind(), description)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response()
    }
}

/// Scopes as a JSON array or a space-separated string (the CLI's and RFC 7591's form).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Text(String),
}

impl Scopes {
    fn into_vec(self) -> Vec<String> {
        match self {
            Scopes::List(list) => list,
            Scopes::Text(text) => text.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    client_id: Option<String>,
    client_name: String,
    grant_types: Option<Vec<String>>,
    scopes: Option<Scopes>,
    scope: Option<String>,
    redirect_uris: Option<Vec<String>>,
    created_by: Option<String>,
    client_secret: Option<String>,
    secret_expires_in_seconds: Option<u64>,
    is_active: Option<bool>,
}

#[derive(Serialize)]
struct CreatedResponse {
    #[serde(flatten)]
    client: ClientRecord,
    client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Scopes>,
    redirect_uris: Option<Vec<String>>,
    is_active: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    grace_period_seconds: Option<u64>,
    expires_in_seconds: Option<u64>,
}

#[derive(Serialize)]
struct RotatedResponse {
    client_id: String,
    client_secret: String,
    secret_version: i64,
    previous_secret_valid_until: Option<DateTime<Utc>>,
    secret_expires_at: Option<DateTime<Utc>>,
}

type AdminResult<T> = Result<T, AdminError>;

/// JSON bodies with a clear 400 for malformed input.
struct JsonBody<T>(T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|error| AdminError::new(StatusCode::BAD_REQUEST, "invalid", error.body_text()))?;
        if bytes.is_empty() {
            return serde_json::from_slice(b"{}").map(JsonBody).map_err(|error| {
                AdminError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("invalid JSON body: {error}"),
                )
            });
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|error| {
            AdminError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("invalid JSON body: {error}"),
            )
        })
    }
}

async fn list(State(state): State<Arc<AppState>>) -> AdminResult<Json<Vec<ClientRecord>>> {
    Ok(Json(state.registry.list().await?))
}

async fn show(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
) -> AdminResult<Json<ClientRecord>> {
    Ok(Json(state.registry.get(&client_id).await?))
}

async fn create(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<CreateRequest>,
) -> AdminResult<Response> {
    if request.scopes.is_some() && request.scope.is_some() {
        return Err(AdminError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "send scopes or scope, not both",
        ));
    }
    let scopes = request
        .scopes
        .map(Scopes::into_vec)
        .or_else(|| request.scope.map(|scope| Scopes::Text(scope).into_vec()))
        .unwrap_or_default();
    let mut new = NewClient::new(request.client_name).with_scopes(scopes);
    new.client_id = request.client_id;
    if let Some(grant_types) = request.grant_types {
        new.grant_types = grant_types;
    }
    new.redirect_uris = request.redirect_uris.unwrap_or_default();
    new.created_by = Some(request.created_by.unwrap_or_else(|| "admin-api".to_owned()));
    new.secret = request.client_secret.map(Secret::new);
    new.secret_expires_in = request.secret_expires_in_seconds.map(Duration::from_secs);
    new.is_active = request.is_active.unwrap_or(true);
    let created = state.registry.create(new).await?;
    tracing::info!(client_id = created.client.client_id, "created client (admin API)");
    Ok((
        StatusCode::CREATED,
        Json(CreatedResponse {
            client: created.client,
            client_secret: created.secret.expose().to_owned(),
        }),
    )
        .into_response())
}

async fn update(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    JsonBody(request): JsonBody<UpdateRequest>,
) -> AdminResult<Json<ClientRecord>> {
    let changes = ClientChanges {
        client_name: request.client_name,
        grant_types: request.grant_types,
        scopes: request.scopes.map(Scopes::into_vec),
        redirect_uris: request.redirect_uris,
    };
    let mut client = if changes.is_empty() {
        state.registry.get(&client_id).await?
    } else {
        state.registry.update(&client_id, changes).await?
    };
    match request.is_active {
        Some(true) if !client.is_active => client = state.registry.enable(&client_id).await?,
        Some(false) if client.is_active => client = state.registry.disable(&client_id).await?,
        _ => {}
    }
    tracing::info!(client_id, "updated client (admin API)");
    Ok(Json(client))
}

async fn delete(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
) -> AdminResult<StatusCode> {
    if state.registry.delete(&client_id).await? {
        tracing::info!(client_id, "deleted client (admin API)");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("client {client_id:?} does not exist"),
        ))
    }
}

async fn rotate(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    JsonBody(request): JsonBody<RotateRequest>,
) -> AdminResult<Json<RotatedResponse>> {
    let rotated = state
        .registry
        .rotate_secret(
            &client_id,
            RotateOptions {
                grace_period: Duration::from_secs(request.grace_period_seconds.unwrap_or(0)),
                expires_in: request.expires_in_seconds.map(Duration::from_secs),
                secret: None,
            },
        )
        .await?;
    tracing::info!(
        client_id,
        secret_version = rotated.secret_version,
        "rotated client secret (admin API)"
    );
    Ok(Json(RotatedResponse {
        client_id: rotated.client_id,
        client_secret: rotated.secret.expose().to_owned(),
        secret_version: rotated.secret_version,
        previous_secret_valid_until: rotated.previous_valid_until,
        secret_expires_at: rotated.secret_expires_at,
    }))
}
