//! The HTTP service (axum).
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /oauth2/token` | RFC 6749 client credentials grant, RFC 9068 JWT access tokens |
//! | `POST /oauth2/introspect` | RFC 7662 token introspection (the caller authenticates as a client) |
//! | `GET /.well-known/jwks.json` | the public signing keys |
//! | `GET /.well-known/oauth-authorization-server` | RFC 8414 metadata |
//! | `GET /healthz` (and `/health`) | `{"status", "db_driver"}`, 503 when the database does not answer |
//! | `GET /metrics` | Prometheus / OpenMetrics text |
//! | `/admin/clients…` | the admin API, bearer-protected (absent when no admin token is configured) |

mod admin;
mod client_auth;
mod discovery;
mod form;
mod health;
mod introspect;
mod oauth_error;
mod observe;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::{get, post};
use dbprov_core::Secret;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::metrics::Metrics;
use crate::registry::ClientRegistry;
use crate::token::TokenIssuer;

pub use oauth_error::{ErrorCode, OAuthError, WWW_AUTHENTICATE_BASIC};

/// Request bodies larger than this are refused (413) before anything parses them.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything the handlers share.
pub struct AppState {
    pub authenticator: Arc<Authenticator>,
    pub registry: ClientRegistry,
    pub issuer: TokenIssuer,
    pub metrics: Arc<Metrics>,
    /// SHA-256 of the admin bearer token; `None` disables the admin API.
    admin_token_digest: Option<[u8; 32]>,
    jwks: String,
    metadata: String,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("issuer", &self.issuer.issuer())
            .field("admin_api", &self.admin_token_digest.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        authenticator: Arc<Authenticator>,
        registry: ClientRegistry,
        issuer: TokenIssuer,
        metrics: Arc<Metrics>,
        admin_token: Option<&Secret>,
    ) -> Self {
        let jwks =
            serde_json::to_string(&issuer.keys().jwks()).expect("invariant: a JWK set always serializes");
        let metadata = discovery::metadata(&issuer).to_string();
        Self {
            authenticator,
            registry,
            admin_token_digest: admin_token.map(|token| Sha256::digest(token.expose().as_bytes()).into()),
            issuer,
            metrics,
            jwks,
            metadata,
        }
    }
}

/// The service's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/introspect", post(introspect::introspect))
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::authorization_server),
        )
        .route("/healthz", get(health::health))
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics));
    let issuer_path = discovery::issuer_path(state.issuer.issuer());
    if !issuer_path.is_empty() {
        // RFC 8414 §3.1: an issuer with a path publishes its metadata under the well-known prefix + that path.
        router = router.route(
            &format!("/.well-known/oauth-authorization-server{issuer_path}"),
            get(discovery::authorization_server),
        );
    }
    if state.admin_token_digest.is_some() {
        router = router.merge(admin::routes(state.clone()));
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, required on token responses (RFC 6749 §5.1).
pub(crate) fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The token lifetime default: one hour.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
