//! Client secrets: generation and hashing.

mod generate;
mod hash;

pub use generate::{
    GENERATED_SECRET_LENGTH, MAX_SECRET_BYTES, MIN_PROVIDED_SECRET_LENGTH, SecretError, generate_secret,
    validate_provided_secret,
};
pub use hash::{
    Argon2Settings, BCRYPT_MAX_SECRET_BYTES, HashAlgorithm, HashError, HashPolicy, Verification,
    stored_algorithm,
};
