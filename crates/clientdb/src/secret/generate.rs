//! Client secrets: at least 256 bits from the operating system's CSPRNG, in RFC 3986 unreserved characters.

use dbprov_core::Secret;
use dbprov_core::password::{PasswordError, URL_SAFE, generate_password};

/// 43 characters from the 66 unreserved characters carry 43 × log2(66) ≈ 259.9 bits.
pub const GENERATED_SECRET_LENGTH: usize = 43;

/// The shortest secret an operator may choose (bootstrap or admin API); generated secrets are longer.
pub const MIN_PROVIDED_SECRET_LENGTH: usize = 16;

/// The longest secret accepted anywhere. Longer input is refused before any hashing, so a request cannot
/// make the server hash megabytes; bcrypt itself only reads 72 bytes.
pub const MAX_SECRET_BYTES: usize = 512;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("failed to generate a client secret")]
    Generate(#[source] PasswordError),
    #[error("the client secret is shorter than {MIN_PROVIDED_SECRET_LENGTH} characters")]
    TooShort,
    #[error("the client secret is longer than {limit} bytes")]
    TooLong { limit: usize },
    #[error("the client secret contains a character outside printable ASCII (RFC 6749 VSCHAR)")]
    InvalidCharacter,
}

/// A new secret: 43 characters of `A-Z a-z 0-9 - . _ ~`, drawn without bias.
pub fn generate_secret() -> Result<Secret, SecretError> {
    generate_password(GENERATED_SECRET_LENGTH, URL_SAFE).map_err(SecretError::Generate)
}

/// Checks a secret an operator chose: RFC 6749 VSCHAR (printable ASCII and space), at least
/// [`MIN_PROVIDED_SECRET_LENGTH`] characters and at most `limit` bytes (72 for bcrypt).
pub fn validate_provided_secret(secret: &Secret, limit: usize) -> Result<(), SecretError> {
    let value = secret.expose();
    if value.len() < MIN_PROVIDED_SECRET_LENGTH {
        return Err(SecretError::TooShort);
    }
    if value.len() > limit {
        return Err(SecretError::TooLong { limit });
    }
    if !value.bytes().all(|byte| (0x20..=0x7e).contains(&byte)) {
        return Err(SecretError::InvalidCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_unreserved_and_long_enough() {
        let secret = generate_secret().unwrap();
        assert_eq!(secret.expose().len(), GENERATED_SECRET_LENGTH);
        assert!(secret.expose().chars().all(|ch| URL_SAFE.contains(ch)));
        let bits = GENERATED_SECRET_LENGTH as f64 * (URL_SAFE.len() as f64).log2();
        assert!(bits >= 256.0, "{bits}");
        assert_ne!(secret, generate_secret().unwrap());
    }

    #[test]
    fn provided_secrets_are_checked() {
        assert!(validate_provided_secret(&Secret::new("a+b%c:d e~f-ghijk"), 72).is_ok());
        assert!(matches!(
            validate_provided_secret(&Secret::new("short"), 72),
            Err(SecretError::TooShort)
        ));
        assert!(matches!(
            validate_provided_secret(&Secret::new("x".repeat(73)), 72),
            Err(SecretError::TooLong { limit: 72 })
        ));
        assert!(matches!(
            validate_provided_secret(&Secret::new("0123456789abcdef\n"), 72),
            Err(SecretError::InvalidCharacter)
        ));
    }
}
