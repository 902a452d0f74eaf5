//! Interoperability with independent implementations: Python's `authlib` (an OAuth2 client library) obtains
//! tokens with client_secret_basic and client_secret_post, and `PyJWT` (with `cryptography`) verifies them
//! against the published JWKS — for every signing algorithm.

use std::process::Command;
use std::sync::Arc;

use clientdb::auth::AuthSettings;
use clientdb::config::DatabaseConfig;
use clientdb::registry::NewClient;
use clientdb::secret::{HashAlgorithm, HashPolicy};
use clientdb::server::{ServeSettings, Server};
use clientdb::token::SigningAlgorithm;
use dbprov_core::Secret;

/// authlib sends client_secret_basic credentials without the form-encoding RFC 6749 §2.3.1 asks for, so
/// an id or secret with reserved characters is encoded by the caller (`quote(..., safe="")`), as an RFC-minded
/// application does; generated secrets use only unreserved characters and need no encoding at all.
const SCRIPT: &str = r#"
import base64, json, sys
from urllib.parse import quote
import jwt
from authlib.integrations.requests_client import OAuth2Session

base, client_id, client_secret, plain_id, plain_secret = sys.argv[1:6]
cases = {
    "basic_encoded": (quote(client_id, safe=""), quote(client_secret, safe=""), "client_secret_basic"),
    "post": (client_id, client_secret, "client_secret_post"),
    "basic_generated_secret": (plain_id, plain_secret, "client_secret_basic"),
}
results = {}
for case, (user, password, method) in cases.items():
    session = OAuth2Session(user, password, token_endpoint_auth_method=method, scope="read")
    token = session.fetch_token(base + "/oauth2/token", grant_type="client_credentials")
    access_token = token["access_token"]
    header = jwt.get_unverified_header(access_token)
    signing_key = jwt.PyJWKClient(base + "/.well-known/jwks.json").get_signing_key_from_jwt(access_token)
    claims = jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["ES256", "EdDSA", "RS256"],
        audience=base,
        issuer=base,
        options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
    )
    results[case] = {"header": header, "claims": claims, "token_type": token["token_type"], "scope": token.get("scope")}
    head, payload, signature = access_token.split(".")
    forged = dict(claims, client_id="someone-else")
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    try:
        jwt.decode(f"{head}.{forged_payload}.{signature}", signing_key.key, algorithms=[header["alg"]], audience=base)
        results[case]["tampered_accepted"] = True
    except jwt.InvalidSignatureError:
        results[case]["tampered_accepted"] = False
print(json.dumps(results))
"#;

async fn interop(algorithm: SigningAlgorithm) {
    dbprov_testkit::ensure_python_packages(
        &["authlib", "jwt", "requests", "cryptography"],
        &["authlib", "PyJWT[crypto]", "requests", "cryptography"],
    );
    let directory = tempfile::tempdir().unwrap();
    let mut settings = ServeSettings::new(DatabaseConfig::sqlite(directory.path().join("clients.sqlite3")));
    settings.listen = "127.0.0.1:0".into();
    settings.signing_key = directory.path().join("keys");
    std::fs::create_dir(&settings.signing_key).unwrap();
    settings.signing_algorithm = algorithm;
    settings.auth = AuthSettings {
        policy: HashPolicy {
            algorithm: HashAlgorithm::Bcrypt,
            bcrypt_cost: 4,
            ..HashPolicy::default()
        },
        ..AuthSettings::default()
    };
    let server = Server::start(settings).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let client_id = "interop:client+1";
    let secret = "s3cr3t+value%with:colon/x";
    server
        .state()
        .registry
        .create(
            NewClient::new("interop")
                .with_client_id(client_id)
                .with_secret(Secret::new(secret))
                .with_scopes(["read", "write"]),
        )
        .await
        .unwrap();
    let generated = server
        .state()
        .registry
        .create(NewClient::new("generated").with_scopes(["read"]))
        .await
        .unwrap();
    let plain_id = generated.client.client_id.clone();
    let plain_secret = generated.secret.expose().to_owned();
    let state = Arc::clone(server.state());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    let script_base = base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([
                "-c",
                SCRIPT,
                &script_base,
                client_id,
                secret,
                &plain_id,
                &plain_secret,
            ])
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let _ = stop.send(());
    let _ = task.await;
    drop(state);
    assert!(
        output.status.success(),
        "python interop script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for (case, expected_client) in [
        ("basic_encoded", client_id),
        ("post", client_id),
        ("basic_generated_secret", generated.client.client_id.as_str()),
    ] {
        let result = &results[case];
        assert_eq!(result["header"]["typ"], "at+jwt", "{result}");
        assert_eq!(result["header"]["alg"], algorithm.as_str(), "{result}");
        assert!(result["header"]["kid"].is_string());
        assert_eq!(result["claims"]["client_id"], expected_client);
        assert_eq!(result["claims"]["sub"], expected_client);
        assert_eq!(result["claims"]["scope"], "read");
        assert_eq!(result["claims"]["iss"], base.as_str());
        assert_eq!(result["token_type"], "Bearer");
        assert_eq!(result["tampered_accepted"], false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_and_pyjwt_with_es256() {
    interop(SigningAlgorithm::Es256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_and_pyjwt_with_eddsa() {
    interop(SigningAlgorithm::EdDsa).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_and_pyjwt_with_rs256() {
    interop(SigningAlgorithm::Rs256).await;
}
