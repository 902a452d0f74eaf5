//! `application/x-www-form-urlencoded` request bodies, read strictly: RFC 6749 §3.2 forbids repeating a
//! parameter, and a parameter sent without a value is treated as omitted.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use super::oauth_error::OAuthError;

#[derive(Debug, Default)]
pub struct Form {
    values: HashMap<String, String>,
}

impl Form {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let mut values = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if values.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {:?} is repeated",
                    name.chars().take(40).collect::<String>()
                )));
            }
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    #[test]
    fn strict_form_parsing() {
        let form = Form::parse(
            &headers("application/x-www-form-urlencoded; charset=UTF-8"),
            b"grant_type=client_credentials&scope=read+write&client_id=a%2Bb&empty=",
        )
        .unwrap();
        assert_eq!(form.get("scope"), Some("read write"));
        assert_eq!(form.get("client_id"), Some("a+b"));
        assert_eq!(form.get("empty"), None);
        assert!(Form::parse(&headers("application/x-www-form-urlencoded"), b"a=1&a=2").is_err());
        assert!(Form::parse(&headers("application/json"), b"{}").is_err());
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
    }
}
