//! Password verifiers: PostgreSQL receives a SCRAM-SHA-256 verifier made here, never the plaintext, and a
//! stored verifier (`pg_authid.rolpassword`) is checked by recomputing it from the candidate password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dbprov_core::Secret;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const SCRAM_PREFIX: &str = "SCRAM-SHA-256$";
const MD5_PREFIX: &str = "md5";

/// A fresh SCRAM-SHA-256 verifier (random salt, 4096 iterations, SASLprep as the server does).
pub(crate) fn verifier(password: &Secret) -> Secret {
    Secret::new(postgres_protocol::password::scram_sha_256(
        password.expose().as_bytes(),
    ))
}

/// Whether the server would keep this password: one that SASLprep maps to nothing (soft hyphens, zero-width
/// joiners, byte order marks only) gets the empty password's verifier, which PostgreSQL clears ("empty string
/// is not a valid password") — the role would be left without a password and re-planned forever.
pub(crate) fn survives_saslprep(password: &Secret) -> bool {
    !prepare(password.expose()).is_empty()
}

/// Whether `stored` (a `SCRAM-SHA-256$...` or `md5...` verifier) was made from `password` for `role`.
/// An unknown or malformed verifier does not match, so the password is set again.
pub(crate) fn matches(stored: &Secret, password: &Secret, role: &str) -> bool {
    let stored = stored.expose();
    if let Some(rest) = stored.strip_prefix(SCRAM_PREFIX) {
        return scram_matches(rest, password.expose()).unwrap_or(false);
    }
    if stored.starts_with(MD5_PREFIX) && stored.len() == MD5_PREFIX.len() + 32 {
        let candidate = postgres_protocol::password::md5(password.expose().as_bytes(), role);
        return constant_time_eq(candidate.as_bytes(), stored.as_bytes());
    }
    false
}

/// Checks `<iterations>:<salt>$<StoredKey>:<ServerKey>` against the candidate.
fn scram_matches(verifier: &str, password: &str) -> Option<bool> {
    let (parameters, keys) = verifier.split_once('$')?;
    let (iterations, salt) = parameters.split_once(':')?;
    let (stored_key, _server_key) = keys.split_once(':')?;
    let iterations: u32 = iterations.parse().ok().filter(|count| *count > 0)?;
    let salt = STANDARD.decode(salt).ok()?;
    let stored_key = STANDARD.decode(stored_key).ok()?;

    let prepared = prepare(password);
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(&prepared, &salt, iterations, &mut salted);
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&salted).expect("invariant: HMAC accepts keys of any length");
    mac.update(b"Client Key");
    let client_key = mac.finalize().into_bytes();
    let candidate = Sha256::digest(client_key);
    Some(constant_time_eq(&candidate, &stored_key))
}

/// SASLprep (RFC 4013) when the password allows it, otherwise the raw bytes: what the server and libpq do.
fn prepare(password: &str) -> Vec<u8> {
    match stringprep::saslprep(password) {
        Ok(prepared) => prepared.into_owned().into_bytes(),
        Err(_) => password.as_bytes().to_vec(),
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_saslprep_erases_do_not_survive() {
        assert!(!survives_saslprep(&Secret::new("\u{200d}")));
        assert!(!survives_saslprep(&Secret::new("\u{ad}\u{feff}")));
        assert!(!survives_saslprep(&Secret::new("")));
        assert!(survives_saslprep(&Secret::new("\u{ad}x")));
        // Not SASLprep-able (a prohibited character): used raw, as the server does.
        assert!(survives_saslprep(&Secret::new("\u{7}")));
    }

    #[test]
    fn fresh_verifiers_match_their_password_only() {
        let password = Secret::new("correct horse battery staple");
        let made = verifier(&password);
        assert!(made.expose().starts_with(SCRAM_PREFIX));
        assert!(!made.expose().contains(password.expose()));
        assert!(matches(&made, &password, "app"));
        assert!(!matches(
            &made,
            &Secret::new("correct horse battery stapl"),
            "app"
        ));
    }

    #[test]
    fn verifiers_made_by_postgresql_match() {
        // Made by PostgreSQL 15 itself: SET password_encryption = 'scram-sha-256';
        // CREATE ROLE r PASSWORD 'pencil été'; SELECT rolpassword FROM pg_authid WHERE rolname = 'r'.
        let stored = Secret::new(
            "SCRAM-SHA-256$4096:Cmc2Pb2iHj2LA/Em2KCRCQ==$gZDvkbvgfPCFGF6eUfOmxUpnu+fCun/vpagwWaW5Vwc=:\
             40VA/xHxCFhmMxZvjVeDHCa+tA1QebwU7Ly+9+yTG9M=",
        );
        assert!(matches(&stored, &Secret::new("pencil \u{e9}t\u{e9}"), "r"));
        assert!(!matches(&stored, &Secret::new("pencil ete"), "r"));
        // The same text in decomposed form (e + combining acute) is the same password after SASLprep (NFKC).
        assert!(matches(&stored, &Secret::new("pencil e\u{301}te\u{301}"), "r"));
    }

    #[test]
    fn non_ascii_passwords_are_prepared_like_the_server() {
        // SASLprep maps the non-ASCII space U+00A0 to a plain space: both spellings are the same password.
        let made = verifier(&Secret::new("pass\u{a0}word"));
        assert!(matches(&made, &Secret::new("pass word"), "app"));
    }

    #[test]
    fn md5_verifiers_are_salted_with_the_role_name() {
        let stored = Secret::new(postgres_protocol::password::md5(b"secret", "app"));
        assert!(matches(&stored, &Secret::new("secret"), "app"));
        assert!(!matches(&stored, &Secret::new("secret"), "other"));
        assert!(!matches(&stored, &Secret::new("Secret"), "app"));
    }

    #[test]
    fn malformed_verifiers_never_match() {
        for stored in [
            "",
            "SCRAM-SHA-256$",
            "SCRAM-SHA-256$0:AAAA$AAAA:AAAA",
            "md5short",
            "plaintext",
        ] {
            assert!(
                !matches(&Secret::new(stored), &Secret::new("x"), "app"),
                "{stored}"
            );
        }
    }
}
