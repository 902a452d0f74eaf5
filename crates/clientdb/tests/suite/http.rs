//! The HTTP service end to end: in-process servers on 127.0.0.1:0 over a real database.

use std::sync::Arc;
use std::time::Duration;

use clientdb::auth::rate_limit::{BucketSettings, RateLimitSettings};
use clientdb::bootstrap::BootstrapSettings;
use dbprov_core::Secret;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    ADMIN_TOKEN, Backend, TestServer, basic_header, http, introspect, split, token_basic, token_post,
};

/// Creates a client through the admin API; returns (client_id, client_secret).
async fn admin_create(server: &TestServer, body: Value) -> (String, String) {
    let (status, _, created) = admin(server, reqwest::Method::POST, "/admin/clients", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn admin(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    split(request.send().await.unwrap()).await
}

fn assert_no_store(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
}

fn assert_error(status: StatusCode, body: &Value, expected_status: StatusCode, expected_error: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"], expected_error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

/// Verifies a JWT against the server's published JWKS (fetched over HTTP).
async fn verify_with_jwks(server: &TestServer, token: &str) -> Value {
    let jwks: JwkSet = http()
        .get(format!("{}/.well-known/jwks.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[&server.url]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("the token verifies against the JWKS")
        .claims
}

pub async fn token_flow_with_jwks_introspection_and_discovery(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    let (client_id, secret) = admin_create(
        &server,
        json!({ "client_name": "billing", "scopes": "read write", "grant_types": ["client_credentials"] }),
    )
    .await;

    let (status, headers, body) = token_basic(
        &server,
        &client_id,
        &secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_store(&headers);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    let token = body["access_token"].as_str().unwrap();
    let claims = verify_with_jwks(&server, token).await;
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["iss"], server.url.as_str());
    assert_eq!(claims["aud"], server.url.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().unwrap().len() >= 16);

    // client_secret_post and a narrower scope.
    let (status, _, body) = token_post(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read");
    let narrow = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(narrow, token, "every token has its own jti");

    let (status, body) = introspect(&server, &client_id, &secret, &narrow).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["scope"], "read");
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], server.url.as_str());

    let metadata: Value = http()
        .get(format!("{}/.well-known/oauth-authorization-server", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], server.url.as_str());
    assert_eq!(metadata["token_endpoint"], format!("{}/oauth2/token", server.url));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{}/.well-known/jwks.json", server.url)
    );
    assert_eq!(
        metadata["introspection_endpoint"],
        format!("{}/oauth2/introspect", server.url)
    );
    assert_eq!(metadata["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );

    let health = http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let health: Value = health.json().await.unwrap();
    let driver = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MariaDb => "mysql",
    };
    assert_eq!(health, json!({ "status": "ok", "db_driver": driver }));

    let metrics = http()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "clientdb_http_requests_total{endpoint=\"/oauth2/token\",status=\"200\"} 2",
        "clientdb_tokens_issued_total{algorithm=\"EdDSA\"} 2",
        "clientdb_credential_cache_lookups_total{result=\"hit\"}",
        "clientdb_secret_hash_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(expected), "{expected} missing:\n{metrics}");
    }
    server.stop().await;
}

pub async fn error_codes_follow_rfc_6749(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    let (client_id, secret) =
        admin_create(&server, json!({ "client_name": "errors", "scopes": ["read"] })).await;
    let (code_client, code_secret) = admin_create(
        &server,
        json!({ "client_name": "code flow only", "grant_types": ["authorization_code"], "scopes": ["read"] }),
    )
    .await;
    let grant = ("grant_type", "client_credentials");

    // invalid_client: wrong secret (Basic), unknown client, no credentials at all, wrong secret (post).
    for (status, headers, body) in [
        token_basic(&server, &client_id, "wrong-secret-value", &[grant]).await,
        token_basic(&server, "no-such-client", &secret, &[grant]).await,
        token_post(&server, &[grant]).await,
        token_post(
            &server,
            &[
                grant,
                ("client_id", &client_id),
                ("client_secret", "wrong-secret-value"),
            ],
        )
        .await,
    ] {
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_client");
        assert_eq!(
            headers["www-authenticate"],
            r#"Basic realm="clientdb", charset="UTF-8""#
        );
        assert_no_store(&headers);
    }
    // An unsupported scheme is not Basic.
    let response = http()
        .post(format!("{}/oauth2/token", server.url))
        .bearer_auth("abc")
        .form(&[grant])
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(response).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_client");

    // invalid_request: two authentication methods, missing grant_type, repeated parameter, wrong media
    // type, parameters in the URL.
    let (status, headers, body) = token_basic(
        &server,
        &client_id,
        &secret,
        &[grant, ("client_id", &client_id), ("client_secret", &secret)],
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    assert_no_store(&headers);
    let (status, _, body) = token_basic(&server, &client_id, &secret, &[("scope", "read")]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, _, body) = token_basic(&server, &client_id, &secret, &[grant, grant]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let response = http()
        .post(format!("{}/oauth2/token", server.url))
        .header("authorization", basic_header(&client_id, &secret))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(response).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let response = http()
        .post(format!("{}/oauth2/token?client_secret={secret}", server.url))
        .header("authorization", basic_header(&client_id, &secret))
        .form(&[grant])
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(response).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");

    // unsupported_grant_type, unauthorized_client, invalid_scope.
    let (status, _, body) = token_basic(&server, &client_id, &secret, &[("grant_type", "password")]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let (status, _, body) = token_basic(&server, &code_client, &code_secret, &[grant]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "unauthorized_client");
    let (status, headers, body) =
        token_basic(&server, &client_id, &secret, &[grant, ("scope", "read admin")]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_no_store(&headers);

    // Only POST.
    let response = http()
        .get(format!("{}/oauth2/token", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Oversized bodies are refused before parsing.
    let response = http()
        .post(format!("{}/oauth2/token", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // And still, the right credentials work.
    let (status, _, body) = token_basic(&server, &client_id, &secret, &[grant]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

pub async fn basic_credentials_are_form_decoded(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    let client_id = "svc:a+b%c/d";
    let secret = "p+q%r:s/t%2B-with:colons";
    admin_create(
        &server,
        json!({ "client_id": client_id, "client_secret": secret, "client_name": "special", "scopes": ["read"] }),
    )
    .await;
    let grant = ("grant_type", "client_credentials");
    let (status, _, body) = token_basic(&server, client_id, secret, &[grant]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = verify_with_jwks(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["client_id"], client_id);
    let (status, _, body) = token_post(
        &server,
        &[grant, ("client_id", client_id), ("client_secret", secret)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Unencoded, the '+' would decode to a space (RFC 6749 §2.3.1): such a request must fail.
    use base64::Engine as _;
    let raw = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", "svc%3Aa%2Bb%25c%2Fd"))
    );
    let response = http()
        .post(format!("{}/oauth2/token", server.url))
        .header("authorization", raw)
        .form(&[grant])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

pub async fn rotation_grace_period_over_http(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    let (client_id, first) = admin_create(&server, json!({ "client_name": "rotating" })).await;
    let grant = ("grant_type", "client_credentials");
    let (status, _, rotated) = admin(
        &server,
        reqwest::Method::POST,
        &format!("/admin/clients/{client_id}/secrets/rotate"),
        Some(json!({ "grace_period_seconds": 2 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["secret_version"], 2);
    assert!(rotated["previous_secret_valid_until"].is_string());
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        token_basic(&server, &client_id, &second, &[grant]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        token_basic(&server, &client_id, &first, &[grant]).await.0,
        StatusCode::OK,
        "grace"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        token_basic(&server, &client_id, &first, &[grant]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token_basic(&server, &client_id, &second, &[grant]).await.0,
        StatusCode::OK
    );

    let (status, _, rotated) = admin(
        &server,
        reqwest::Method::POST,
        &format!("/admin/clients/{client_id}/secrets/rotate"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert!(rotated["previous_secret_valid_until"].is_null());
    assert_eq!(
        token_basic(&server, &client_id, &second, &[grant]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let third = rotated["client_secret"].as_str().unwrap();
    assert_eq!(
        token_basic(&server, &client_id, third, &[grant]).await.0,
        StatusCode::OK
    );
}

pub async fn disable_refuses_tokens_and_deactivates_introspection(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    let (client_id, secret) = admin_create(&server, json!({ "client_name": "to disable" })).await;
    let (caller, caller_secret) = admin_create(&server, json!({ "client_name": "resource server" })).await;
    let grant = ("grant_type", "client_credentials");
    let (status, _, body) = token_basic(&server, &client_id, &secret, &[grant]).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(&server, &caller, &caller_secret, &token).await.1["active"],
        true
    );

    let (status, _, body) = admin(
        &server,
        reqwest::Method::PATCH,
        &format!("/admin/clients/{client_id}"),
        Some(json!({ "is_active": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_active"], false);
    let (status, _, body) = token_basic(&server, &client_id, &secret, &[grant]).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let (status, body) = introspect(&server, &caller, &caller_secret, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "active": false }));

    admin(
        &server,
        reqwest::Method::PATCH,
        &format!("/admin/clients/{client_id}"),
        Some(json!({ "is_active": true })),
    )
    .await;
    assert_eq!(
        introspect(&server, &caller, &caller_secret, &token).await.1["active"],
        true
    );
    assert_eq!(
        token_basic(&server, &client_id, &secret, &[grant]).await.0,
        StatusCode::OK
    );

    // Deleting the client deactivates its tokens for good.
    let (status, _, _) = admin(
        &server,
        reqwest::Method::DELETE,
        &format!("/admin/clients/{client_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        introspect(&server, &caller, &caller_secret, &token).await.1["active"],
        false
    );
    let (status, _, _) = admin(
        &server,
        reqwest::Method::DELETE,
        &format!("/admin/clients/{client_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub async fn failed_authentications_are_rate_limited(backend: Backend) {
    let database = backend.migrated().await;
    let keys = Arc::new(tempfile::tempdir().unwrap());
    let server = TestServer::start_with(&database, keys, |settings| {
        settings.auth.rate_limits = RateLimitSettings {
            per_client: Some(BucketSettings {
                burst: 3,
                per_minute: 6.0,
            }),
            per_address: Some(BucketSettings {
                burst: 8,
                per_minute: 6.0,
            }),
            max_tracked: 1000,
        };
    })
    .await;
    let (hot, hot_secret) = admin_create(&server, json!({ "client_name": "hot" })).await;
    let (cold, cold_secret) = admin_create(&server, json!({ "client_name": "cold" })).await;
    let grant = ("grant_type", "client_credentials");
    // The hot client authenticates first, so its credentials are in the verified-credential cache.
    assert_eq!(
        token_basic(&server, &hot, &hot_secret, &[grant]).await.0,
        StatusCode::OK
    );
    for _ in 0..3 {
        assert_eq!(
            token_basic(&server, &hot, "guess-guess-guess", &[grant]).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, headers, body) = token_basic(&server, &hot, "guess-guess-guess", &[grant]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert_no_store(&headers);
    // The right secret from the cache still works: guessing cannot lock a hot client out.
    assert_eq!(
        token_basic(&server, &hot, &hot_secret, &[grant]).await.0,
        StatusCode::OK
    );
    // The address bucket (8) spans clients: 3 failures so far (the refused request was not tried), 5 more
    // on other client ids empty it.
    for index in 0..5 {
        let status = token_basic(&server, &format!("nobody-{index}"), "guess-guess-guess", &[grant])
            .await
            .0;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, _) = token_basic(&server, &cold, &cold_secret, &[grant]).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "an uncached client from this address waits"
    );
    assert!(headers.contains_key("retry-after"));
    let metrics = http()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("clientdb_rate_limited_total{reason=\"client\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clientdb_rate_limited_total{reason=\"address\"} 1"),
        "{metrics}"
    );
}

/// Two servers share one database, one key directory and one issuer, as replicas do: a rotation or a
/// disable made through one takes effect on the other at its next request, although it has the credentials
/// cached.
pub async fn cache_invalidation_across_two_servers(backend: Backend) {
    let database = backend.migrated().await;
    let keys = Arc::new(tempfile::tempdir().unwrap());
    let issuer = |settings: &mut clientdb::server::ServeSettings| {
        settings.issuer = Some("https://clientdb.test".into())
    };
    let server_a = TestServer::start_with(&database, keys.clone(), issuer).await;
    let server_b = TestServer::start_with(&database, keys, issuer).await;
    let (client_id, secret) = admin_create(&server_b, json!({ "client_name": "replicated" })).await;
    let grant = ("grant_type", "client_credentials");
    for _ in 0..3 {
        assert_eq!(
            token_basic(&server_a, &client_id, &secret, &[grant]).await.0,
            StatusCode::OK
        );
    }
    let metrics = http()
        .get(format!("{}/metrics", server_a.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("clientdb_credential_cache_lookups_total{result=\"hit\"} 2"),
        "{metrics}"
    );

    let (_, _, rotated) = admin(
        &server_b,
        reqwest::Method::POST,
        &format!("/admin/clients/{client_id}/secrets/rotate"),
        None,
    )
    .await;
    let (status, _, _) = token_basic(&server_a, &client_id, &secret, &[grant]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "replica A saw the rotation at once"
    );
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_eq!(
        token_basic(&server_a, &client_id, new_secret, &[grant]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        token_basic(&server_a, &client_id, new_secret, &[grant]).await.0,
        StatusCode::OK
    );
    admin(
        &server_b,
        reqwest::Method::PATCH,
        &format!("/admin/clients/{client_id}"),
        Some(json!({ "is_active": false })),
    )
    .await;
    assert_eq!(
        token_basic(&server_a, &client_id, new_secret, &[grant]).await.0,
        StatusCode::UNAUTHORIZED,
        "replica A saw the disable at once"
    );
    // Tokens from either replica verify against the other's JWKS: they share the key.
    admin(
        &server_b,
        reqwest::Method::PATCH,
        &format!("/admin/clients/{client_id}"),
        Some(json!({ "is_active": true })),
    )
    .await;
    let (_, _, body) = token_basic(&server_a, &client_id, new_secret, &[grant]).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(&server_b, &client_id, new_secret, token).await.1["active"],
        true
    );
}

pub async fn bootstrap_survives_restart_and_rotation(backend: Backend) {
    let database = backend.migrated().await;
    let keys = Arc::new(tempfile::tempdir().unwrap());
    let bootstrap = BootstrapSettings {
        client_id: Some("admin-client".into()),
        secret: Some(Secret::new("bootstrap-secret-from-secret")),
        ..BootstrapSettings::default()
    };
    let grant = ("grant_type", "client_credentials");
    let start = || {
        let bootstrap = bootstrap.clone();
        TestServer::start_with(&database, keys.clone(), move |settings| {
            settings.bootstrap = bootstrap
        })
    };
    let first = start().await;
    let (status, _, body) =
        token_basic(&first, "admin-client", "bootstrap-secret-from-secret", &[grant]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "admin");
    let kid = decode_header(body["access_token"].as_str().unwrap()).unwrap().kid;
    first.stop().await;

    let second = start().await;
    let (status, _, body) =
        token_basic(&second, "admin-client", "bootstrap-secret-from-secret", &[grant]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        decode_header(body["access_token"].as_str().unwrap()).unwrap().kid,
        kid,
        "the generated signing key survives the restart"
    );
    let (_, _, rotated) = admin(
        &second,
        reqwest::Method::POST,
        "/admin/clients/admin-client/secrets/rotate",
        None,
    )
    .await;
    let rotated = rotated["client_secret"].as_str().unwrap().to_owned();
    second.stop().await;

    let third = start().await;
    assert_eq!(
        token_basic(&third, "admin-client", "bootstrap-secret-from-secret", &[grant])
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the restart did not restore the bootstrap secret"
    );
    assert_eq!(
        token_basic(&third, "admin-client", &rotated, &[grant]).await.0,
        StatusCode::OK
    );
    third.stop().await;
}

pub async fn admin_api_requires_the_bearer_token(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    for authorization in [None, Some("Bearer wrong-token-wrong-token"), Some("Basic YTpi")] {
        let mut request = http().get(format!("{}/admin/clients", server.url));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="clientdb-admin""#
        );
    }
    let (status, headers, list) = admin(&server, reqwest::Method::GET, "/admin/clients", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([]));
    assert_no_store(&headers);
    let (status, _, body) = admin(
        &server,
        reqwest::Method::POST,
        "/admin/clients",
        Some(json!({ "client_name": "x", "bogus": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, body) = admin(
        &server,
        reqwest::Method::POST,
        "/admin/clients",
        Some(json!({ "client_name": "x", "client_secret": "short" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (client_id, _) = admin_create(&server, json!({ "client_id": "dup", "client_name": "x" })).await;
    let (status, _, _) = admin(
        &server,
        reqwest::Method::POST,
        "/admin/clients",
        Some(json!({ "client_id": "dup", "client_name": "y" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, shown) = admin(
        &server,
        reqwest::Method::GET,
        &format!("/admin/clients/{client_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        shown.get("client_secret").is_none() && shown.get("client_secret_hash").is_none(),
        "{shown}"
    );
    let (status, _, _) = admin(&server, reqwest::Method::GET, "/admin/clients/missing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;

    // Without an admin token the admin API does not exist.
    let keys = Arc::new(tempfile::tempdir().unwrap());
    let closed = TestServer::start_with(&database, keys, |settings| settings.admin_token = None).await;
    let response = http()
        .get(format!("{}/admin/clients", closed.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

pub async fn introspection_edge_cases(backend: Backend) {
    let database = backend.migrated().await;
    let server = TestServer::start(&database).await;
    let other = TestServer::start(&database).await;
    let (client_id, secret) = admin_create(&server, json!({ "client_name": "caller" })).await;
    for garbage in ["not-a-token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(
            introspect(&server, &client_id, &secret, garbage).await.1,
            json!({ "active": false })
        );
    }
    // Signed by another server's key: not one of ours.
    let (_, _, body) = token_basic(
        &other,
        &client_id,
        &secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let foreign = body["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(&server, &client_id, &secret, foreign).await.1,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&other, &client_id, &secret, foreign).await.1["active"],
        true
    );
    // The caller must authenticate.
    let (status, body) = introspect(&server, &client_id, "wrong-secret-value", foreign).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let response = http()
        .post(format!("{}/oauth2/introspect", server.url))
        .header("authorization", basic_header(&client_id, &secret))
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = split(response).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
}
