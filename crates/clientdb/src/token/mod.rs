//! Access tokens: signing keys, the JWKS, and RFC 9068 JWTs.

mod jwt;
mod keys;
pub mod pem;

pub use jwt::{AccessTokenClaims, Audience, IssuedToken, TokenError, TokenIssuer};
pub use keys::{DEFAULT_SIGNING_ALGORITHM, KeyError, KeySet, SigningAlgorithm, SigningKey};
