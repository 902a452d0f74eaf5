//! `mysql_native_password` verifiers: `*` followed by the upper-case hex of SHA1(SHA1(password)).
//!
//! dbprov sends this verifier (never the plaintext) when it sets a native password, and compares it with
//! `authentication_string` to decide whether a password changed.

use sha1::{Digest, Sha1};

/// The `mysql_native_password` verifier of a password.
pub fn native_password_hash(password: &str) -> String {
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    format!("*{}", hex::encode_upper(stage2))
}

/// Whether a stored `mysql_native_password` verifier belongs to `password`.
pub fn native_password_matches(stored: &str, password: &str) -> bool {
    stored.eq_ignore_ascii_case(&native_password_hash(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_server_function() {
        // MariaDB: SELECT PASSWORD('pw') => *D821809F681A40A6E379B50D0463EFAE20BDD122
        assert_eq!(
            native_password_hash("pw"),
            "*D821809F681A40A6E379B50D0463EFAE20BDD122"
        );
        assert!(native_password_matches(
            "*d821809f681a40a6e379b50d0463efae20bdd122",
            "pw"
        ));
        assert!(!native_password_matches(
            "*D821809F681A40A6E379B50D0463EFAE20BDD122",
            "pw2"
        ));
        assert_eq!(native_password_hash("").len(), 41);
    }
}
