//! Which client a request claims to be: `client_secret_basic` (RFC 6749 §2.3.1: the id and secret are
//! form-urlencoded, then sent as HTTP Basic credentials) or `client_secret_post` (both in the body), never both.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dbprov_core::Secret;

use super::form::Form;
use super::oauth_error::OAuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Debug)]
pub struct PresentedCredentials {
    pub client_id: String,
    pub secret: Secret,
    pub method: AuthMethod,
}

/// Extracts the client's credentials; errors are `invalid_request` (two methods, mismatched ids) or
/// `invalid_client` (none, malformed, or an unsupported scheme).
pub fn presented_credentials(headers: &HeaderMap, form: &Form) -> Result<PresentedCredentials, OAuthError> {
    let basic = basic_credentials(headers)?;
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match basic {
        Some((client_id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "the client authenticated with more than one method (HTTP Basic and client_secret)",
                ));
            }
            if body_id.is_some_and(|body_id| body_id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the HTTP Basic user",
                ));
            }
            Ok(PresentedCredentials {
                client_id,
                secret,
                method: AuthMethod::ClientSecretBasic,
            })
        }
        None => match (body_id, body_secret) {
            (Some(client_id), Some(secret)) => Ok(PresentedCredentials {
                client_id: client_id.to_owned(),
                secret: Secret::new(secret),
                method: AuthMethod::ClientSecretPost,
            }),
            (None, Some(_)) => Err(OAuthError::invalid_request(
                "client_secret was sent without client_id",
            )),
            _ => Err(OAuthError::invalid_client(
                "client authentication required (client_secret_basic or client_secret_post)",
            )),
        },
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, decoded.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, Secret)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request("more than one Authorization header"));
    }
    let malformed = || OAuthError::invalid_client("malformed HTTP Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "unsupported authentication scheme (use HTTP Basic or client_secret_post)",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (user, password) = decoded.split_once(':').ok_or_else(malformed)?;
    let client_id = form_decode(user);
    if client_id.is_empty() {
        return Err(malformed());
    }
    Ok(Some((client_id, Secret::new(form_decode(password)))))
}

/// application/x-www-form-urlencoded decoding of one value (`+` is a space, `%XX` a byte).
fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", value.replace('&', "%26").replace('=', "%3D")).as_bytes())
        .next()
        .map(|(_, decoded)| decoded.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn form(body: &str) -> Form {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        Form::parse(&headers, body.as_bytes()).unwrap()
    }

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode(format!("{user}:{password}"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        headers
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // id "svc:a+b%c", secret "p+q%r:s t" encoded per RFC 6749 §2.3.1.
        let headers = basic("svc%3Aa%2Bb%25c", "p%2Bq%25r%3As+t");
        let credentials = presented_credentials(&headers, &form("grant_type=client_credentials")).unwrap();
        assert_eq!(credentials.client_id, "svc:a+b%c");
        assert_eq!(credentials.secret.expose(), "p+q%r:s t");
        assert_eq!(credentials.method, AuthMethod::ClientSecretBasic);
        // The first ':' separates; later ones belong to the secret even unencoded.
        let credentials = presented_credentials(&basic("id", "a:b&c=d"), &form("")).unwrap();
        assert_eq!(credentials.secret.expose(), "a:b&c=d");
    }

    #[test]
    fn post_credentials() {
        let credentials =
            presented_credentials(&HeaderMap::new(), &form("client_id=a%2Bb&client_secret=s%25")).unwrap();
        assert_eq!(
            (credentials.client_id.as_str(), credentials.secret.expose()),
            ("a+b", "s%")
        );
        assert_eq!(credentials.method, AuthMethod::ClientSecretPost);
    }

    #[test]
    fn refusals() {
        let code = |headers: &HeaderMap, body: &str| {
            presented_credentials(headers, &form(body))
                .unwrap_err()
                .code
                .as_str()
        };
        assert_eq!(code(&basic("a", "b"), "client_secret=b"), "invalid_request");
        assert_eq!(code(&basic("a", "b"), "client_id=other"), "invalid_request");
        assert!(presented_credentials(&basic("a", "b"), &form("client_id=a")).is_ok());
        assert_eq!(code(&HeaderMap::new(), ""), "invalid_client");
        assert_eq!(code(&HeaderMap::new(), "client_id=a"), "invalid_client");
        assert_eq!(code(&HeaderMap::new(), "client_secret=a"), "invalid_request");
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(code(&bearer, ""), "invalid_client");
        let mut garbage = HeaderMap::new();
        garbage.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(code(&garbage, ""), "invalid_client");
        let mut no_colon = HeaderMap::new();
        no_colon.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {}", STANDARD.encode("abc"))).unwrap(),
        );
        assert_eq!(code(&no_colon, ""), "invalid_client");
    }
}
