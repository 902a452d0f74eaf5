//! RFC 9068 JWT access tokens: header `{"alg", "typ": "at+jwt", "kid"}`, claims iss, sub, aud, exp, iat, jti,
//! client_id and scope. For the client credentials grant the subject is the client itself (RFC 9068 §2.2).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::{Deserialize, Serialize};

use super::keys::{KeyError, KeySet};

/// `aud`: one string or an array, as RFC 7519 allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn from_list(mut values: Vec<String>) -> Self {
        if values.len() == 1 {
            Audience::One(values.remove(0))
        } else {
            Audience::Many(values)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    /// Space-separated granted scopes; omitted when none were granted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    pub claims: AccessTokenClaims,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("failed to sign the access token")]
    Sign(#[source] KeyError),
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token's type is not at+jwt")]
    WrongType,
    #[error("the token was not signed by a key of this server")]
    UnknownKey,
    #[error("the token is invalid")]
    Invalid(#[source] jsonwebtoken::errors::Error),
}

/// Issues and verifies access tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: Arc<KeySet>,
    issuer: String,
    audience: Audience,
    lifetime: Duration,
}

impl TokenIssuer {
    /// `audience` defaults to the issuer when empty.
    pub fn new(
        keys: Arc<KeySet>,
        issuer: impl Into<String>,
        audience: Vec<String>,
        lifetime: Duration,
    ) -> Self {
        let issuer = issuer.into();
        let audience = if audience.is_empty() {
            Audience::One(issuer.clone())
        } else {
            Audience::from_list(audience)
        };
        Self {
            keys,
            issuer,
            audience,
            lifetime,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A signed token for `client_id` with the granted `scopes`.
    pub fn issue(&self, client_id: &str, scopes: &[String]) -> Result<IssuedToken, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let lifetime = self.lifetime.as_secs();
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: client_id.to_owned(),
            aud: self.audience.clone(),
            exp: now.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            scope: scopes.join(" "),
        };
        let key = self.keys.signing_key();
        let payload = serde_json::to_vec(&claims).expect("invariant: claims always serialize");
        let mut token = String::with_capacity(512);
        token.push_str(key.encoded_header());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = key.sign(token.as_bytes()).map_err(TokenError::Sign)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(IssuedToken {
            access_token: token,
            expires_in: lifetime,
            claims,
        })
    }

    /// Checks a token this server issued: a known `kid`, `typ: at+jwt`, the key's algorithm, the signature,
    /// the issuer and `exp` (no leeway). The audience is not checked: introspection answers for any resource.
    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(TokenError::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.find(kid))
            .ok_or(TokenError::UnknownKey)?;
        if header.alg != key.algorithm().jwt_algorithm() {
            return Err(TokenError::UnknownKey);
        }
        let mut validation = Validation::new(key.algorithm().jwt_algorithm());
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        decode::<AccessTokenClaims>(token, key.decoding_key(), &validation)
            .map(|data| data.claims)
            .map_err(TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{SigningAlgorithm, SigningKey};

    fn issuer(algorithm: SigningAlgorithm, lifetime: Duration) -> TokenIssuer {
        let (key, _) = SigningKey::generate(algorithm).unwrap();
        TokenIssuer::new(
            Arc::new(KeySet::new(vec![key]).unwrap()),
            "https://auth.example",
            vec![],
            lifetime,
        )
    }

    #[test]
    fn issued_tokens_follow_rfc_9068() {
        for algorithm in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Rs256,
        ] {
            let issuer = issuer(algorithm, Duration::from_secs(300));
            let issued = issuer.issue("svc:a+b", &["read".into(), "write".into()]).unwrap();
            let header = decode_header(&issued.access_token).unwrap();
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(header.kid.as_deref(), Some(issuer.keys().signing_key().kid()));
            assert_eq!(header.alg, algorithm.jwt_algorithm());
            let claims = issuer.verify(&issued.access_token).unwrap();
            assert_eq!(claims, issued.claims);
            assert_eq!(claims.sub, "svc:a+b");
            assert_eq!(claims.client_id, "svc:a+b");
            assert_eq!(claims.scope, "read write");
            assert_eq!(claims.aud, Audience::One("https://auth.example".into()));
            assert_eq!(claims.exp - claims.iat, 300);
            assert_eq!(issued.expires_in, 300);
        }
    }

    #[test]
    fn rejects_tampered_foreign_and_expired_tokens() {
        let issuer_a = issuer(SigningAlgorithm::Es256, Duration::from_secs(300));
        let issuer_b = issuer(SigningAlgorithm::Es256, Duration::from_secs(300));
        let token = issuer_a.issue("a", &[]).unwrap().access_token;
        assert!(matches!(issuer_b.verify(&token), Err(TokenError::UnknownKey)));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["client_id"] = "b".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert!(matches!(
            issuer_a.verify(&parts.join(".")),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            issuer_a.verify("not a token"),
            Err(TokenError::Malformed)
        ));
        let expired = issuer(SigningAlgorithm::EdDsa, Duration::ZERO);
        let token = expired.issue("a", &[]).unwrap().access_token;
        std::thread::sleep(Duration::from_millis(1100));
        assert!(matches!(expired.verify(&token), Err(TokenError::Invalid(_))));
    }
}
