//! Versioned secret hash strings: bcrypt (`$2a$`/`$2b$`/`$2y$`, Go `x/crypto/bcrypt` compatible), argon2id and
//! PBKDF2-SHA256 (both PHC strings). Verification reads the algorithm and its parameters from the stored string,
//! so rows written under an older policy keep working, and reports when the row should be re-hashed.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::generate::MAX_SECRET_BYTES;

/// bcrypt reads at most 72 bytes of the password; longer secrets cannot be stored as bcrypt hashes.
pub const BCRYPT_MAX_SECRET_BYTES: usize = 72;

/// The algorithm new hashes are written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// bcrypt (`$2b$`), the seeds' algorithm; cost 10 by default.
    Bcrypt,
    /// argon2id v19 (PHC string `$argon2id$v=19$m=..,t=..,p=..$salt$hash`).
    Argon2id,
    /// PBKDF2 with HMAC-SHA256 (PHC string `$pbkdf2-sha256$i=..,l=32$salt$hash`).
    Pbkdf2Sha256,
}

impl HashAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Bcrypt => "bcrypt",
            HashAlgorithm::Argon2id => "argon2id",
            HashAlgorithm::Pbkdf2Sha256 => "pbkdf2-sha256",
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashAlgorithm {
    type Err = HashError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "bcrypt" => Ok(HashAlgorithm::Bcrypt),
            "argon2id" | "argon2" => Ok(HashAlgorithm::Argon2id),
            "pbkdf2-sha256" | "pbkdf2" => Ok(HashAlgorithm::Pbkdf2Sha256),
            _ => Err(HashError::UnknownAlgorithm {
                name: value.chars().take(40).collect(),
            }),
        }
    }
}

/// argon2id cost parameters (defaults: OWASP's 19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: argon2::Params::DEFAULT_M_COST,
            iterations: argon2::Params::DEFAULT_T_COST,
            parallelism: argon2::Params::DEFAULT_P_COST,
        }
    }
}

/// Which algorithm and cost new hashes use. Verification accepts every supported format regardless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashPolicy {
    pub algorithm: HashAlgorithm,
    /// bcrypt cost (4 to 31); 10 by default, as the seeds and Go's `bcrypt.DefaultCost`.
    pub bcrypt_cost: u32,
    pub argon2: Argon2Settings,
    /// PBKDF2-SHA256 iterations; OWASP's 600,000 by default.
    pub pbkdf2_iterations: u32,
}

impl Default for HashPolicy {
    fn default() -> Self {
        Self {
            algorithm: HashAlgorithm::Bcrypt,
            bcrypt_cost: 10,
            argon2: Argon2Settings::default(),
            pbkdf2_iterations: 600_000,
        }
    }
}

/// The outcome of checking a presented secret against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matched: bool,
    /// The stored hash was written with another algorithm or cost than the policy's: write a new one.
    pub needs_rehash: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    #[error("unknown hash algorithm {name:?} (expected bcrypt, argon2id or pbkdf2-sha256)")]
    UnknownAlgorithm { name: String },
    #[error("bcrypt cost {cost} is out of range (4 to 31)")]
    BcryptCost { cost: u32 },
    #[error("invalid argon2id parameters: {message}")]
    Argon2Params { message: String },
    #[error("pbkdf2 iterations {iterations} are below the minimum of 10000")]
    Pbkdf2Iterations { iterations: u32 },
    /// The stored string is not a hash this crate knows; its content is not repeated (it may be anything).
    #[error("the stored secret hash is not a bcrypt, argon2 or pbkdf2 hash string")]
    UnknownFormat,
    #[error("the secret is longer than the {limit} bytes {algorithm} can hash")]
    SecretTooLong { algorithm: HashAlgorithm, limit: usize },
    #[error("failed to compute a bcrypt hash")]
    Bcrypt(#[source] bcrypt::BcryptError),
    #[error("failed to compute a {algorithm} hash: {message}")]
    Phc {
        algorithm: HashAlgorithm,
        message: String,
    },
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
}

impl HashError {
    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            HashError::UnknownAlgorithm { .. } => "unknown_algorithm",
            HashError::BcryptCost { .. }
            | HashError::Argon2Params { .. }
            | HashError::Pbkdf2Iterations { .. } => "invalid_parameters",
            HashError::UnknownFormat => "unknown_format",
            HashError::SecretTooLong { .. } => "secret_too_long",
            HashError::Bcrypt(_) | HashError::Phc { .. } => "hash_failed",
            HashError::Random(_) => "random_failed",
        }
    }
}

/// What a stored hash string says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredKind {
    Bcrypt {
        cost: u32,
    },
    Argon2 {
        id: bool,
        version: u32,
        settings: Argon2Settings,
    },
    Pbkdf2 {
        sha256: bool,
        iterations: u32,
        output_length: usize,
    },
}

impl HashPolicy {
    /// Rejects parameters the algorithms cannot use, before anything is hashed.
    pub fn validate(&self) -> Result<(), HashError> {
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(HashError::BcryptCost {
                cost: self.bcrypt_cost,
            });
        }
        self.argon2_params()?;
        if self.pbkdf2_iterations < 10_000 {
            return Err(HashError::Pbkdf2Iterations {
                iterations: self.pbkdf2_iterations,
            });
        }
        Ok(())
    }

    /// The longest secret new hashes can represent exactly.
    pub fn max_secret_bytes(&self) -> usize {
        match self.algorithm {
            HashAlgorithm::Bcrypt => BCRYPT_MAX_SECRET_BYTES,
            HashAlgorithm::Argon2id | HashAlgorithm::Pbkdf2Sha256 => MAX_SECRET_BYTES,
        }
    }

    /// A short description for logs and the health endpoint (`bcrypt cost 10`).
    pub fn describe(&self) -> String {
        match self.algorithm {
            HashAlgorithm::Bcrypt => format!("bcrypt cost {}", self.bcrypt_cost),
            HashAlgorithm::Argon2id => format!(
                "argon2id m={} t={} p={}",
                self.argon2.memory_kib, self.argon2.iterations, self.argon2.parallelism
            ),
            HashAlgorithm::Pbkdf2Sha256 => format!("pbkdf2-sha256 i={}", self.pbkdf2_iterations),
        }
    }

    fn argon2_params(&self) -> Result<argon2::Params, HashError> {
        argon2::Params::new(
            self.argon2.memory_kib,
            self.argon2.iterations,
            self.argon2.parallelism,
            None,
        )
        .map_err(|error| HashError::Argon2Params {
            message: error.to_string(),
        })
    }

    /// Hashes `secret` with the policy's algorithm and a fresh random salt.
    pub fn hash(&self, secret: &str) -> Result<String, HashError> {
        let limit = self.max_secret_bytes();
        if secret.len() > limit {
            return Err(HashError::SecretTooLong {
                algorithm: self.algorithm,
                limit,
            });
        }
        match self.algorithm {
            HashAlgorithm::Bcrypt => {
                let mut salt = [0u8; 16];
                getrandom::fill(&mut salt).map_err(HashError::Random)?;
                let parts =
                    bcrypt::hash_with_salt(secret, self.bcrypt_cost, salt).map_err(HashError::Bcrypt)?;
                Ok(parts.format_for_version(bcrypt::Version::TwoB))
            }
            HashAlgorithm::Argon2id => {
                let hasher = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    self.argon2_params()?,
                );
                let salt = random_salt()?;
                hasher
                    .hash_password(secret.as_bytes(), &salt)
                    .map(|hash| hash.to_string())
                    .map_err(|error| HashError::Phc {
                        algorithm: HashAlgorithm::Argon2id,
                        message: error.to_string(),
                    })
            }
            HashAlgorithm::Pbkdf2Sha256 => {
                let salt = random_salt()?;
                let params = pbkdf2::Params {
                    rounds: self.pbkdf2_iterations,
                    output_length: 32,
                };
                pbkdf2::Pbkdf2
                    .hash_password_customized(
                        secret.as_bytes(),
                        Some(pbkdf2::Algorithm::Pbkdf2Sha256.ident()),
                        None,
                        params,
                        &salt,
                    )
                    .map(|hash| hash.to_string())
                    .map_err(|error| HashError::Phc {
                        algorithm: HashAlgorithm::Pbkdf2Sha256,
                        message: error.to_string(),
                    })
            }
        }
    }

    /// Checks `secret` against `stored` in constant time (the libraries compare digests with `subtle`).
    /// A secret longer than the stored algorithm can represent never matches.
    pub fn verify(&self, secret: &str, stored: &str) -> Result<Verification, HashError> {
        let kind = parse_stored(stored)?;
        let matched = if secret.len() > MAX_SECRET_BYTES {
            false
        } else {
            match kind {
                // bcrypt reads only the first 72 bytes: a longer secret cannot be the stored one, however its
                // prefix compares.
                StoredKind::Bcrypt { .. } if secret.len() > BCRYPT_MAX_SECRET_BYTES => false,
                StoredKind::Bcrypt { .. } => bcrypt::verify(secret, stored).map_err(HashError::Bcrypt)?,
                StoredKind::Argon2 { .. } => {
                    let parsed = PasswordHash::new(stored).map_err(|_| HashError::UnknownFormat)?;
                    argon2::Argon2::default()
                        .verify_password(secret.as_bytes(), &parsed)
                        .is_ok()
                }
                StoredKind::Pbkdf2 { .. } => {
                    let parsed = PasswordHash::new(stored).map_err(|_| HashError::UnknownFormat)?;
                    pbkdf2::Pbkdf2.verify_password(secret.as_bytes(), &parsed).is_ok()
                }
            }
        };
        Ok(Verification {
            matched,
            needs_rehash: matched && self.differs_from(kind),
        })
    }

    /// Whether a stored hash was written with another algorithm or cost than this policy's.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        parse_stored(stored)
            .map(|kind| self.differs_from(kind))
            .unwrap_or(true)
    }

    fn differs_from(&self, kind: StoredKind) -> bool {
        match (self.algorithm, kind) {
            (HashAlgorithm::Bcrypt, StoredKind::Bcrypt { cost, .. }) => cost != self.bcrypt_cost,
            (
                HashAlgorithm::Argon2id,
                StoredKind::Argon2 {
                    id,
                    version,
                    settings,
                },
            ) => !id || version != 0x13 || settings != self.argon2,
            (
                HashAlgorithm::Pbkdf2Sha256,
                StoredKind::Pbkdf2 {
                    sha256,
                    iterations,
                    output_length,
                },
            ) => !sha256 || iterations != self.pbkdf2_iterations || output_length != 32,
            _ => true,
        }
    }
}

/// The algorithm name of a stored hash, for logs and metrics (`None` when it is not a known format).
pub fn stored_algorithm(stored: &str) -> Option<&'static str> {
    Some(match parse_stored(stored).ok()? {
        StoredKind::Bcrypt { .. } => "bcrypt",
        StoredKind::Argon2 { id: true, .. } => "argon2id",
        StoredKind::Argon2 { .. } => "argon2",
        StoredKind::Pbkdf2 { .. } => "pbkdf2",
    })
}

fn random_salt() -> Result<SaltString, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(HashError::Random)?;
    SaltString::encode_b64(&bytes).map_err(|error| HashError::Phc {
        algorithm: HashAlgorithm::Argon2id,
        message: error.to_string(),
    })
}

fn parse_stored(stored: &str) -> Result<StoredKind, HashError> {
    if let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| stored.strip_prefix(prefix))
    {
        // `$2a$10$` + 53 characters of salt and hash; the cost is two digits.
        let cost = rest
            .get(..2)
            .and_then(|digits| digits.parse::<u32>().ok())
            .filter(|_| stored.len() == 60 && rest.as_bytes().get(2) == Some(&b'$'))
            .ok_or(HashError::UnknownFormat)?;
        return Ok(StoredKind::Bcrypt { cost });
    }
    let parsed = PasswordHash::new(stored).map_err(|_| HashError::UnknownFormat)?;
    match parsed.algorithm.as_str() {
        ident @ ("argon2id" | "argon2i" | "argon2d") => {
            let params = argon2::Params::try_from(&parsed).map_err(|_| HashError::UnknownFormat)?;
            Ok(StoredKind::Argon2 {
                id: ident == "argon2id",
                version: parsed.version.unwrap_or(0x10),
                settings: Argon2Settings {
                    memory_kib: params.m_cost(),
                    iterations: params.t_cost(),
                    parallelism: params.p_cost(),
                },
            })
        }
        ident @ ("pbkdf2-sha256" | "pbkdf2-sha512") => {
            let params = pbkdf2::Params::try_from(&parsed).map_err(|_| HashError::UnknownFormat)?;
            Ok(StoredKind::Pbkdf2 {
                sha256: ident == "pbkdf2-sha256",
                iterations: params.rounds,
                output_length: params.output_length,
            })
        }
        _ => Err(HashError::UnknownFormat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(algorithm: HashAlgorithm) -> HashPolicy {
        HashPolicy {
            algorithm,
            bcrypt_cost: 4,
            argon2: Argon2Settings {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            pbkdf2_iterations: 10_000,
        }
    }

    /// Go's `x/crypto/bcrypt` test vector (`TestBcryptingIsCorrect`): `$2a$`, cost 10.
    #[test]
    fn verifies_go_bcrypt_2a_hashes() {
        let go_hash = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
        let policy = HashPolicy::default();
        let ok = policy.verify("allmine", go_hash).unwrap();
        assert_eq!(
            ok,
            Verification {
                matched: true,
                needs_rehash: false
            }
        );
        assert!(!policy.verify("allminE", go_hash).unwrap().matched);
        // The same row read by a policy with another cost asks to be re-hashed.
        let cost12 = HashPolicy {
            bcrypt_cost: 12,
            ..HashPolicy::default()
        };
        assert!(cost12.verify("allmine", go_hash).unwrap().needs_rehash);
    }

    #[test]
    fn every_algorithm_round_trips_and_reports_rehash() {
        for algorithm in [
            HashAlgorithm::Bcrypt,
            HashAlgorithm::Argon2id,
            HashAlgorithm::Pbkdf2Sha256,
        ] {
            let policy = fast(algorithm);
            let stored = policy.hash("s3cret+%:value-long").unwrap();
            let check = policy.verify("s3cret+%:value-long", &stored).unwrap();
            assert_eq!(
                check,
                Verification {
                    matched: true,
                    needs_rehash: false
                },
                "{algorithm}"
            );
            assert!(
                !policy.verify("s3cret+%:value-lonG", &stored).unwrap().matched,
                "{algorithm}"
            );
            assert!(!policy.needs_rehash(&stored));
            for other in [
                HashAlgorithm::Bcrypt,
                HashAlgorithm::Argon2id,
                HashAlgorithm::Pbkdf2Sha256,
            ] {
                let other_policy = fast(other);
                let check = other_policy.verify("s3cret+%:value-long", &stored).unwrap();
                assert!(check.matched, "{other} verifies {algorithm}");
                assert_eq!(check.needs_rehash, other != algorithm, "{other} vs {algorithm}");
            }
        }
    }

    #[test]
    fn hash_strings_are_versioned() {
        assert!(
            fast(HashAlgorithm::Bcrypt)
                .hash("x")
                .unwrap()
                .starts_with("$2b$04$")
        );
        assert!(
            fast(HashAlgorithm::Argon2id)
                .hash("x")
                .unwrap()
                .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
        );
        assert!(
            fast(HashAlgorithm::Pbkdf2Sha256)
                .hash("x")
                .unwrap()
                .starts_with("$pbkdf2-sha256$i=10000,l=32$")
        );
    }

    #[test]
    fn changed_parameters_ask_for_rehash() {
        let stored = fast(HashAlgorithm::Argon2id).hash("x").unwrap();
        let mut policy = fast(HashAlgorithm::Argon2id);
        policy.argon2.iterations = 2;
        assert!(policy.verify("x", &stored).unwrap().needs_rehash);
        let stored = fast(HashAlgorithm::Pbkdf2Sha256).hash("x").unwrap();
        let mut policy = fast(HashAlgorithm::Pbkdf2Sha256);
        policy.pbkdf2_iterations = 20_000;
        assert!(policy.verify("x", &stored).unwrap().needs_rehash);
    }

    #[test]
    fn bcrypt_never_matches_a_longer_secret_with_the_same_prefix() {
        let policy = fast(HashAlgorithm::Bcrypt);
        let secret = "a".repeat(72);
        let stored = policy.hash(&secret).unwrap();
        assert!(policy.verify(&secret, &stored).unwrap().matched);
        assert!(!policy.verify(&format!("{secret}b"), &stored).unwrap().matched);
        assert!(matches!(
            policy.hash(&"a".repeat(73)),
            Err(HashError::SecretTooLong { .. })
        ));
    }

    #[test]
    fn unknown_formats_are_errors_without_content() {
        let policy = HashPolicy::default();
        for stored in [
            "plaintext",
            "",
            "$2a$xx$",
            "$md5$abc",
            "$2x$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga",
        ] {
            let error = policy.verify("x", stored).unwrap_err();
            assert!(matches!(error, HashError::UnknownFormat), "{stored}");
            assert!(!error.to_string().contains("plaintext"));
        }
    }

    #[test]
    fn policy_validation() {
        assert!(HashPolicy::default().validate().is_ok());
        let bad = HashPolicy {
            bcrypt_cost: 3,
            ..HashPolicy::default()
        };
        assert!(matches!(bad.validate(), Err(HashError::BcryptCost { cost: 3 })));
        assert_eq!(
            "PBKDF2-SHA256".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Pbkdf2Sha256
        );
        assert!("md5".parse::<HashAlgorithm>().is_err());
    }
}
