//! Password generation from the operating system's CSPRNG.

/// Characters of generated passwords by default: letters and digits only, so a password is safe in URLs,
/// DSNs, shell variables and YAML without escaping.
pub const ALPHANUMERIC: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// RFC 3986 unreserved characters.
pub const URL_SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password length {0} is out of range (8 to 1024)")]
    Length(usize),
    #[error("the password character set must have at least 2 distinct characters")]
    Charset,
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
}

/// Generates a password of `length` characters drawn uniformly from `charset` (rejection sampling, so no
/// character is more likely than another).
pub fn generate_password(length: usize, charset: &str) -> Result<crate::Secret, PasswordError> {
    if !(8..=1024).contains(&length) {
        return Err(PasswordError::Length(length));
    }
    let mut alphabet: Vec<char> = charset.chars().filter(|ch| *ch != '\0').collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    if alphabet.len() < 2 || alphabet.len() > 256 {
        return Err(PasswordError::Charset);
    }
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(length);
    let mut buffer = [0u8; 64];
    while out.chars().count() < length {
        getrandom::fill(&mut buffer).map_err(PasswordError::Random)?;
        for byte in buffer {
            if (byte as usize) < limit {
                out.push(alphabet[byte as usize % alphabet.len()]);
                if out.chars().count() == length {
                    break;
                }
            }
        }
    }
    Ok(crate::Secret::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_requested_length_from_charset() {
        let password = generate_password(32, ALPHANUMERIC).unwrap();
        assert_eq!(password.expose().len(), 32);
        assert!(password.expose().chars().all(|ch| ALPHANUMERIC.contains(ch)));
        assert_ne!(password, generate_password(32, ALPHANUMERIC).unwrap());
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(generate_password(4, ALPHANUMERIC).is_err());
        assert!(generate_password(16, "a").is_err());
    }

    #[test]
    fn every_character_appears() {
        let password = generate_password(1024, "ab").unwrap();
        assert!(password.expose().contains('a') && password.expose().contains('b'));
    }
}
