//! Signing keys: loaded from a PEM file or a directory of them (a mounted Kubernetes Secret), or generated on
//! first start and kept (mode 0600) so tokens survive a restart. Several keys may be configured for
//! rotation: the first signs, all are published in the JWKS so tokens signed by the others stay verifiable.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType,
    Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, RSAKeyParameters,
    RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::pem::{self, PemError};

/// The JWS algorithms clientdb signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (generated keys: 2048 bits).
    Rs256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

/// The algorithm of a generated key. Once credentials are cached, signing is the largest CPU cost of a token
/// request. `benches/token.rs` on the 2-CPU reference machine: a whole token (claims, encoding, signature)
/// takes 12-15 µs with Ed25519 against 19-21 µs with P-256 ECDSA, verification 45-58 µs against 62-70 µs,
/// and in one run on a busy machine warm token requests/s were 11.1k against 7.7k (SQLite, 64
/// connections). Ed25519 also needs no random number per signature. Resource servers whose JWT library lacks
/// EdDSA (e.g. .NET's `System.IdentityModel.Tokens.Jwt`) need `--signing-algorithm ES256`; keys loaded from
/// files keep their own algorithm.
pub const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = SigningAlgorithm::EdDsa;

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::EdDsa => "EdDSA",
        }
    }

    pub(crate) fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = KeyError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_uppercase().as_str() {
            "ES256" => Ok(SigningAlgorithm::Es256),
            "RS256" => Ok(SigningAlgorithm::Rs256),
            "EDDSA" | "ED25519" => Ok(SigningAlgorithm::EdDsa),
            _ => Err(KeyError::UnknownAlgorithm {
                name: value.chars().take(20).collect(),
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("unknown signing algorithm {name:?} (expected ES256, RS256 or EdDSA)")]
    UnknownAlgorithm { name: String },
    #[error("failed to read signing keys from {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write the generated signing key to {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a PEM file", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: PemError,
    },
    #[error("{} holds a {label:?} block; expected PRIVATE KEY (PKCS#8), EC PRIVATE KEY or RSA PRIVATE KEY", path.display())]
    UnsupportedBlock { path: PathBuf, label: String },
    #[error("{} does not hold an unencrypted P-256, Ed25519 or RSA (2048 to 8192 bits) private key", path.display())]
    UnsupportedKey { path: PathBuf },
    #[error("{} has no signing key (*.pem)", path.display())]
    NoKeys { path: PathBuf },
    #[error("failed to generate a {algorithm} key")]
    Generate { algorithm: SigningAlgorithm },
    #[error("failed to sign with key {kid}")]
    Sign { kid: String },
    #[error("failed to build the public key of {kid}: {message}")]
    PublicKey { kid: String, message: String },
}

enum KeyPair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// One private key with its key id (the RFC 7638 thumbprint of its public JWK).
pub struct SigningKey {
    kid: String,
    algorithm: SigningAlgorithm,
    pair: KeyPair,
    jwk: Jwk,
    decoding: DecodingKey,
    /// `base64url({"alg":..,"typ":"at+jwt","kid":..})`: the same for every token this key signs.
    header: String,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn new(pair: KeyPair) -> Result<Self, KeyError> {
        let (algorithm, parameters) = match &pair {
            KeyPair::Es256(pair) => {
                // The uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = pair.public_key().as_ref();
                (
                    SigningAlgorithm::Es256,
                    AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                        key_type: EllipticCurveKeyType::EC,
                        curve: EllipticCurve::P256,
                        x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                        y: URL_SAFE_NO_PAD.encode(&point[33..65]),
                    }),
                )
            }
            KeyPair::Rs256(pair) => (
                SigningAlgorithm::Rs256,
                AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: URL_SAFE_NO_PAD.encode(pair.public_key().modulus().big_endian_without_leading_zero()),
                    e: URL_SAFE_NO_PAD.encode(pair.public_key().exponent().big_endian_without_leading_zero()),
                }),
            ),
            KeyPair::EdDsa(pair) => (
                SigningAlgorithm::EdDsa,
                AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                }),
            ),
        };
        let mut jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: parameters,
        };
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|error| KeyError::PublicKey {
                kid: "<new>".into(),
                message: error.to_string(),
            })?;
        jwk.common = CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(match algorithm {
                SigningAlgorithm::Es256 => KeyAlgorithm::ES256,
                SigningAlgorithm::Rs256 => KeyAlgorithm::RS256,
                SigningAlgorithm::EdDsa => KeyAlgorithm::EdDSA,
            }),
            key_id: Some(kid.clone()),
            ..CommonParameters::default()
        };
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|error| KeyError::PublicKey {
            kid: kid.clone(),
            message: error.to_string(),
        })?;
        let header = serde_json::json!({ "alg": algorithm.as_str(), "typ": "at+jwt", "kid": kid });
        Ok(Self {
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            kid,
            algorithm,
            pair,
            jwk,
            decoding,
            rng: SystemRandom::new(),
        })
    }

    /// Parses one PEM block's DER: PKCS#8 (P-256, Ed25519 v1/v2 or RSA), SEC 1 (P-256) or PKCS#1 (RSA).
    fn from_der(label: &str, der: &[u8], path: &Path) -> Result<Self, KeyError> {
        let unsupported = || KeyError::UnsupportedKey {
            path: path.to_owned(),
        };
        let pair = match label {
            "PRIVATE KEY" => {
                if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
                    KeyPair::Es256(pair)
                } else if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    KeyPair::EdDsa(pair)
                } else if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
                    KeyPair::Rs256(pair)
                } else {
                    return Err(unsupported());
                }
            }
            "EC PRIVATE KEY" => KeyPair::Es256(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| unsupported())?,
            ),
            "RSA PRIVATE KEY" => KeyPair::Rs256(RsaKeyPair::from_der(der).map_err(|_| unsupported())?),
            other => {
                return Err(KeyError::UnsupportedBlock {
                    path: path.to_owned(),
                    label: other.to_owned(),
                });
            }
        };
        Self::new(pair)
    }

    /// A new key and its PKCS#8 PEM.
    pub fn generate(algorithm: SigningAlgorithm) -> Result<(Self, String), KeyError> {
        let failed = || KeyError::Generate { algorithm };
        let rng = SystemRandom::new();
        let der: Vec<u8> = match algorithm {
            SigningAlgorithm::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            SigningAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            SigningAlgorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| failed())?
                .as_der()
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
        };
        let pem = pem::encode("PRIVATE KEY", &der);
        let key = Self::from_der("PRIVATE KEY", &der, Path::new("<generated>"))?;
        Ok((key, pem))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The public key as a JWK (`kid`, `alg`, `use: sig`).
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(crate) fn encoded_header(&self) -> &str {
        &self.header
    }

    /// The JWS signature of `message` (raw `r || s` for ES256, as JWS requires).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = || KeyError::Sign {
            kid: self.kid.clone(),
        };
        match &self.pair {
            KeyPair::Es256(pair) => Ok(pair
                .sign(&self.rng, message)
                .map_err(|_| failed())?
                .as_ref()
                .to_vec()),
            KeyPair::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            KeyPair::Rs256(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
                    .map_err(|_| failed())?;
                Ok(signature)
            }
        }
    }
}

/// The configured keys; the first signs.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub fn new(keys: Vec<SigningKey>) -> Option<Self> {
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// Loads every key in `path`: a PEM file (several blocks allowed, in order) or a directory of `*.pem`
    /// files, sorted by name.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let read_error = |source| KeyError::Read {
            path: path.to_owned(),
            source,
        };
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(read_error)?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.extension().is_some_and(|extension| extension == "pem") && file.is_file())
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_owned()]
        };
        let mut keys = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| KeyError::Read {
                path: file.clone(),
                source,
            })?;
            let blocks = pem::parse(&text).map_err(|source| KeyError::Pem {
                path: file.clone(),
                source,
            })?;
            for block in blocks {
                keys.push(SigningKey::from_der(&block.label, &block.der, &file)?);
            }
        }
        Self::new(keys).ok_or_else(|| KeyError::NoKeys {
            path: path.to_owned(),
        })
    }

    /// Loads `path`, or, when it does not exist (or is a directory without keys), generates an `algorithm`
    /// key and writes it there with mode 0600, never replacing an existing file.
    pub fn load_or_generate(path: &Path, algorithm: SigningAlgorithm) -> Result<Self, KeyError> {
        let file = if path.is_dir() {
            match Self::load(path) {
                Err(KeyError::NoKeys { .. }) => path.join("signing-key.pem"),
                other => return other,
            }
        } else if path.exists() {
            return Self::load(path);
        } else {
            path.to_owned()
        };
        let (key, pem) = SigningKey::generate(algorithm)?;
        match crate::private_file::write_private_file(&file, pem.as_bytes()) {
            Ok(()) => {
                tracing::info!(path = %file.display(), kid = key.kid(), algorithm = %algorithm, "generated a signing key");
                Ok(Self { keys: vec![key] })
            }
            // Another instance sharing the volume won the race: use its key.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Self::load(&file),
            Err(source) => Err(KeyError::Write { path: file, source }),
        }
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The public keys, signing key first.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|key| key.jwk.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_through_their_jwk() {
        for algorithm in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Rs256,
        ] {
            let (key, pem) = SigningKey::generate(algorithm).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            assert_eq!(key.jwk().common.key_id.as_deref(), Some(key.kid()));
            assert_eq!(key.kid().len(), 43, "a base64url SHA-256 thumbprint");
            let message = b"header.claims";
            let signature = key.sign(message).unwrap();
            let encoded = URL_SAFE_NO_PAD.encode(&signature);
            assert!(
                jsonwebtoken::crypto::verify(
                    &encoded,
                    message,
                    key.decoding_key(),
                    algorithm.jwt_algorithm()
                )
                .unwrap(),
                "{algorithm}"
            );
            assert!(
                !jsonwebtoken::crypto::verify(
                    &encoded,
                    b"other",
                    key.decoding_key(),
                    algorithm.jwt_algorithm()
                )
                .unwrap()
            );
        }
    }

    #[test]
    fn load_or_generate_persists_with_mode_0600() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("key.pem");
        let first = KeySet::load_or_generate(&path, SigningAlgorithm::Es256).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = KeySet::load_or_generate(&path, SigningAlgorithm::EdDsa).unwrap();
        assert_eq!(first.signing_key().kid(), again.signing_key().kid());
        assert_eq!(again.signing_key().algorithm(), SigningAlgorithm::Es256);
    }

    #[test]
    fn directory_of_keys_first_signs_all_published() {
        let directory = tempfile::tempdir().unwrap();
        let (a, pem_a) = SigningKey::generate(SigningAlgorithm::EdDsa).unwrap();
        let (b, pem_b) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
        std::fs::write(directory.path().join("1-current.pem"), pem_a).unwrap();
        std::fs::write(directory.path().join("2-previous.pem"), pem_b).unwrap();
        std::fs::write(directory.path().join("README"), "ignored").unwrap();
        let keys = KeySet::load(directory.path()).unwrap();
        assert_eq!(keys.signing_key().kid(), a.kid());
        let jwks = keys.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert!(jwks.find(b.kid()).is_some());
        assert!(keys.find(b.kid()).is_some());
    }

    #[test]
    fn empty_directory_gets_a_generated_key() {
        let directory = tempfile::tempdir().unwrap();
        let keys = KeySet::load_or_generate(directory.path(), SigningAlgorithm::EdDsa).unwrap();
        assert!(directory.path().join("signing-key.pem").exists());
        assert_eq!(keys.signing_key().algorithm(), SigningAlgorithm::EdDsa);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("cert.pem");
        std::fs::write(&path, pem::encode("CERTIFICATE", &[1, 2, 3])).unwrap();
        assert!(matches!(
            KeySet::load(&path),
            Err(KeyError::UnsupportedBlock { .. })
        ));
        std::fs::write(&path, pem::encode("PRIVATE KEY", &[1, 2, 3])).unwrap();
        assert!(matches!(
            KeySet::load(&path),
            Err(KeyError::UnsupportedKey { .. })
        ));
        assert!(matches!(
            KeySet::load(&directory.path().join("missing.pem")),
            Err(KeyError::Read { .. })
        ));
        assert!("HS256".parse::<SigningAlgorithm>().is_err());
    }
}
