//! Client authentication: the primary-key lookup, the verified-credential cache, the slow hash, and the
//! failure rate limits.
//!
//! Every attempt reads the client's row (one primary-key lookup). A cache hit is honoured only while the row
//! still says what was verified (same hash string, secret version and `updated_at`, active, not expired), so a
//! rotation or a disable by any replica takes effect on the next request. On a miss the presented secret is
//! hashed; an unknown client is checked against a dummy hash of the configured algorithm so it costs the same
//! as a wrong secret.

pub mod cache;
pub mod rate_limit;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq as _;
use tokio::sync::Semaphore;

use crate::metrics::{AlgorithmLabels, Metrics, ReasonLabels};
use crate::secret::{HashPolicy, MAX_SECRET_BYTES, Verification, generate_secret};
use crate::store::{ClientCredentials, ClientRecord, Store, StoreError};

use cache::{CredentialCache, VerifiedCredential};
use rate_limit::{FailureLimiter, LimitedBy, RateLimitSettings};

/// Why an authentication failed (the metrics label; never shown to the client, which only sees
/// `invalid_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    UnknownClient,
    WrongSecret,
    Disabled,
    SecretExpired,
    Malformed,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::UnknownClient => "unknown_client",
            FailureReason::WrongSecret => "wrong_secret",
            FailureReason::Disabled => "disabled",
            FailureReason::SecretExpired => "secret_expired",
            FailureReason::Malformed => "malformed",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("client authentication failed ({})", reason.as_str())]
    Failed { reason: FailureReason },
    #[error("too many failed authentications for this {}; retry in {} s", by.as_str(), retry_after.as_secs())]
    RateLimited { by: LimitedBy, retry_after: Duration },
    #[error("the client database is unavailable")]
    Store(#[from] StoreError),
    #[error("the hashing task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub policy: HashPolicy,
    /// Verified-credential cache entries; 0 disables the cache.
    pub cache_capacity: usize,
    pub rate_limits: RateLimitSettings,
    /// Concurrent slow hashes (default: the number of CPUs); further requests wait their turn.
    pub hash_concurrency: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            policy: HashPolicy::default(),
            cache_capacity: 10_000,
            rate_limits: RateLimitSettings::default(),
            hash_concurrency: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

#[derive(Debug)]
pub struct Authenticator {
    store: Store,
    policy: HashPolicy,
    dummy_hash: String,
    cache: CredentialCache,
    limiter: FailureLimiter,
    hashing: Semaphore,
    metrics: Arc<Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("invalid hash policy")]
    Policy(#[source] crate::secret::HashError),
    #[error("the operating system's random number generator failed")]
    Random,
}

impl Authenticator {
    pub fn new(store: Store, settings: AuthSettings, metrics: Arc<Metrics>) -> Result<Self, AuthSetupError> {
        settings.policy.validate().map_err(AuthSetupError::Policy)?;
        let dummy_secret = generate_secret().map_err(|_| AuthSetupError::Random)?;
        let dummy_hash = settings
            .policy
            .hash(dummy_secret.expose())
            .map_err(AuthSetupError::Policy)?;
        Ok(Self {
            store,
            dummy_hash,
            cache: CredentialCache::new(settings.cache_capacity).map_err(|_| AuthSetupError::Random)?,
            limiter: FailureLimiter::new(settings.rate_limits),
            hashing: Semaphore::new(settings.hash_concurrency.max(1)),
            policy: settings.policy,
            metrics,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &HashPolicy {
        &self.policy
    }

    /// Authenticates `client_id` with `secret`, presented from `source`.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &str,
        source: Option<IpAddr>,
    ) -> Result<ClientRecord, AuthError> {
        if client_id.is_empty() || client_id.len() > 255 || secret.len() > MAX_SECRET_BYTES {
            // Nothing stored can match: refuse without a lookup, but count it like any other failure.
            self.check_limits(client_id, source)?;
            return Err(self.fail(client_id, source, FailureReason::Malformed));
        }
        // MySQL's default collation compares case- and trailing-space-insensitively; only the exact
        // client_id is that client.
        let credentials = self
            .store
            .credentials(client_id)
            .await?
            .filter(|credentials| credentials.client.client_id == client_id);
        let now = Utc::now();
        let key = self.cache.key(client_id, secret);
        if let Some(credentials) = &credentials
            && let Some(verified) = self.cache.get(&key)
        {
            if still_valid(&verified, credentials, now) {
                self.metrics.cache("hit");
                return Ok(credentials.client.clone());
            }
            self.cache.remove(&key);
            self.metrics.cache("stale");
        } else {
            self.metrics.cache("miss");
        }
        self.check_limits(client_id, source)?;
        let outcome = self.verify(credentials.as_ref(), secret, now).await?;
        let Some(credentials) = credentials else {
            return Err(self.fail(client_id, source, FailureReason::UnknownClient));
        };
        let Some(verified) = outcome else {
            return Err(self.fail(client_id, source, FailureReason::WrongSecret));
        };
        if !credentials.client.is_active {
            return Err(self.fail(client_id, source, FailureReason::Disabled));
        }
        if verified.retired_version.is_none() && expired(credentials.client.secret_expires_at, now) {
            return Err(self.fail(client_id, source, FailureReason::SecretExpired));
        }
        self.cache.insert(key, verified);
        Ok(credentials.client)
    }

    fn check_limits(&self, client_id: &str, source: Option<IpAddr>) -> Result<(), AuthError> {
        self.limiter
            .check(client_id, source)
            .map_err(|(by, retry_after)| {
                self.metrics
                    .rate_limited
                    .get_or_create(&ReasonLabels {
                        reason: by.as_str().to_owned(),
                    })
                    .inc();
                AuthError::RateLimited { by, retry_after }
            })
    }

    fn fail(&self, client_id: &str, source: Option<IpAddr>, reason: FailureReason) -> AuthError {
        // A disabled client or an expired secret presented the right secret: that is not guessing, and
        // charging the address would let one misconfigured client lock out its neighbours behind a NAT.
        if !matches!(reason, FailureReason::Disabled | FailureReason::SecretExpired) {
            self.limiter.record_failure(client_id, source);
        }
        self.metrics.auth_failure(reason.as_str());
        tracing::info!(client_id, source = ?source, reason = reason.as_str(), "client authentication failed");
        AuthError::Failed { reason }
    }

    /// Runs the slow hash(es) on the blocking pool, at most `hash_concurrency` at a time. Returns what
    /// matched, or `None`. Re-hashes the current secret in the background when the policy changed.
    async fn verify(
        &self,
        credentials: Option<&ClientCredentials>,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<VerifiedCredential>, AuthError> {
        let candidates: Vec<(Option<i64>, String)> = match credentials {
            None => vec![(None, self.dummy_hash.clone())],
            Some(credentials) => std::iter::once((None, credentials.secret_hash.clone()))
                .chain(
                    credentials
                        .retired
                        .iter()
                        .filter(|retired| retired.expires_at > now)
                        .map(|retired| (Some(retired.version), retired.secret_hash.clone())),
                )
                .collect(),
        };
        let permit = self
            .hashing
            .acquire()
            .await
            .expect("invariant: the hashing semaphore is never closed");
        let policy = self.policy.clone();
        let presented = dbprov_core::Secret::new(secret);
        let client_id = credentials.map(|credentials| credentials.client.client_id.clone());
        let (matched, timings) = tokio::task::spawn_blocking(move || {
            let mut timings = Vec::new();
            for (retired_version, stored) in candidates {
                let started = Instant::now();
                let result = policy.verify(presented.expose(), &stored);
                timings.push((
                    crate::secret::stored_algorithm(&stored).unwrap_or("unknown"),
                    started.elapsed(),
                ));
                match result {
                    Ok(Verification {
                        matched: true,
                        needs_rehash,
                    }) => {
                        return (Some((retired_version, stored, needs_rehash, presented)), timings);
                    }
                    Ok(_) => {}
                    Err(error) => tracing::error!(
                        client_id = client_id.as_deref().unwrap_or("<unknown>"),
                        error = %error,
                        "a stored secret hash cannot be verified"
                    ),
                }
            }
            (None, timings)
        })
        .await
        .map_err(AuthError::Task)?;
        drop(permit);
        for (algorithm, elapsed) in timings {
            self.metrics
                .hash_duration
                .get_or_create(&AlgorithmLabels {
                    algorithm: algorithm.to_owned(),
                })
                .observe(elapsed.as_secs_f64());
        }
        let (Some(credentials), Some((retired_version, matched_hash, needs_rehash, presented))) =
            (credentials, matched)
        else {
            return Ok(None);
        };
        if needs_rehash && retired_version.is_none() && credentials.client.is_active {
            self.rehash_in_background(&credentials.client.client_id, matched_hash.clone(), presented);
        }
        Ok(Some(VerifiedCredential {
            matched_hash,
            retired_version,
            secret_version: credentials.client.secret_version,
            updated_at: credentials.client.updated_at,
        }))
    }

    fn rehash_in_background(&self, client_id: &str, old_hash: String, secret: dbprov_core::Secret) {
        let store = self.store.clone();
        let policy = self.policy.clone();
        let client_id = client_id.to_owned();
        tokio::spawn(async move {
            let hashed = tokio::task::spawn_blocking(move || policy.hash(secret.expose())).await;
            let new_hash = match hashed {
                Ok(Ok(hash)) => hash,
                Ok(Err(error)) => {
                    tracing::warn!(client_id, error = %error, "failed to re-hash a secret");
                    return;
                }
                Err(error) => {
                    tracing::warn!(client_id, error = %error, "the re-hash task failed");
                    return;
                }
            };
            match store.replace_secret_hash(&client_id, &old_hash, &new_hash).await {
                Ok(true) => tracing::info!(
                    client_id,
                    "re-hashed the client secret with the configured algorithm"
                ),
                Ok(false) => tracing::debug!(client_id, "secret changed before the re-hash was stored"),
                Err(error) => tracing::warn!(client_id, error = %error, "failed to store a re-hashed secret"),
            }
        });
    }
}

fn expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|expires_at| expires_at <= now)
}

/// Whether a cached verification still describes the row just read.
fn still_valid(verified: &VerifiedCredential, credentials: &ClientCredentials, now: DateTime<Utc>) -> bool {
    let client = &credentials.client;
    if !client.is_active
        || client.secret_version != verified.secret_version
        || client.updated_at != verified.updated_at
    {
        return false;
    }
    let same = |stored: &str| bool::from(stored.as_bytes().ct_eq(verified.matched_hash.as_bytes()));
    match verified.retired_version {
        None => !expired(client.secret_expires_at, now) && same(&credentials.secret_hash),
        Some(version) => credentials.retired.iter().any(|retired| {
            retired.version == version && retired.expires_at > now && same(&retired.secret_hash)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RetiredSecret;

    fn credentials() -> ClientCredentials {
        ClientCredentials {
            client: ClientRecord {
                client_id: "a".into(),
                client_name: "a".into(),
                grant_types: vec![],
                scopes: vec![],
                redirect_uris: vec![],
                is_active: true,
                created_at: DateTime::UNIX_EPOCH,
                updated_at: DateTime::UNIX_EPOCH,
                created_by: None,
                secret_version: 2,
                secret_expires_at: None,
            },
            secret_hash: "current".into(),
            retired: vec![RetiredSecret {
                version: 1,
                secret_hash: "old".into(),
                expires_at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(100),
            }],
        }
    }

    fn verified(hash: &str, retired_version: Option<i64>) -> VerifiedCredential {
        VerifiedCredential {
            matched_hash: hash.into(),
            retired_version,
            secret_version: 2,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn cache_entries_follow_the_row() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::seconds(50);
        let row = credentials();
        assert!(still_valid(&verified("current", None), &row, now));
        assert!(still_valid(&verified("old", Some(1)), &row, now));
        let later = DateTime::UNIX_EPOCH + chrono::Duration::seconds(100);
        assert!(
            !still_valid(&verified("old", Some(1)), &row, later),
            "grace period over"
        );

        let mut rotated = row.clone();
        rotated.client.secret_version = 3;
        assert!(!still_valid(&verified("current", None), &rotated, now));
        let mut disabled = row.clone();
        disabled.client.is_active = false;
        assert!(!still_valid(&verified("current", None), &disabled, now));
        let mut touched = row.clone();
        touched.client.updated_at = now;
        assert!(!still_valid(&verified("current", None), &touched, now));
        let mut rehashed = row.clone();
        rehashed.secret_hash = "other".into();
        assert!(!still_valid(&verified("current", None), &rehashed, now));
        let mut expiring = row;
        expiring.client.secret_expires_at = Some(now);
        assert!(!still_valid(&verified("current", None), &expiring, now));
    }
}
