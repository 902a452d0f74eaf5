//! The verified-credential cache: lets a hot client skip the slow hash on repeated requests.
//!
//! Keys are `HMAC-SHA256(process key, client_id, secret)`; the process key is random and never leaves memory,
//! so the cache holds nothing that helps an attacker who reads it. A value records *what* was verified (the
//! stored hash string, the secret version and the row's `updated_at`); the caller compares it with the row it
//! has just read, so a rotation, a disable or any update made by any replica invalidates the entry on the next
//! request.
//!
//! Bounded with two generations: inserts go to the young map; when it is full it becomes the old map and the
//! previous old map is dropped. A hit in the old map is promoted. Memory stays within two generations and
//! eviction is O(1) amortised, approximating LRU without a linked list.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `HMAC-SHA256(key, len(client_id) || client_id || secret)`.
pub type CacheKey = [u8; 32];

/// What a successful verification established about the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCredential {
    /// The stored hash string the secret matched (the current one or a retired one still in its grace period).
    pub matched_hash: String,
    /// `None` when the current secret matched; the retired secret's version otherwise.
    pub retired_version: Option<i64>,
    pub secret_version: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<CacheKey, VerifiedCredential>,
    old: HashMap<CacheKey, VerifiedCredential>,
}

pub struct CredentialCache {
    key: [u8; 32],
    /// Entries per generation; 0 disables the cache.
    generation_size: usize,
    state: Mutex<Generations>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("generation_size", &self.generation_size)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A cache holding at most `capacity` entries (0 disables it), keyed with a fresh random key.
    pub fn new(capacity: usize) -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self {
            key,
            generation_size: capacity.div_ceil(2),
            state: Mutex::new(Generations::default()),
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.generation_size > 0
    }

    pub fn key(&self, client_id: &str, secret: &str) -> CacheKey {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("invariant: HMAC accepts any key length");
        mac.update(&(client_id.len() as u64).to_be_bytes());
        mac.update(client_id.as_bytes());
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn get(&self, key: &CacheKey) -> Option<VerifiedCredential> {
        if !self.is_enabled() {
            return None;
        }
        let mut state = self.lock();
        if let Some(value) = state.young.get(key) {
            return Some(value.clone());
        }
        let value = state.old.remove(key)?;
        Self::insert_locked(&mut state, self.generation_size, *key, value.clone());
        Some(value)
    }

    pub fn insert(&self, key: CacheKey, value: VerifiedCredential) {
        if !self.is_enabled() {
            return;
        }
        let mut state = self.lock();
        state.old.remove(&key);
        Self::insert_locked(&mut state, self.generation_size, key, value);
    }

    pub fn remove(&self, key: &CacheKey) {
        let mut state = self.lock();
        state.young.remove(key);
        state.old.remove(key);
    }

    pub fn len(&self) -> usize {
        let state = self.lock();
        state.young.len() + state.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_locked(
        state: &mut Generations,
        generation_size: usize,
        key: CacheKey,
        value: VerifiedCredential,
    ) {
        if state.young.len() >= generation_size && !state.young.contains_key(&key) {
            state.old = std::mem::take(&mut state.young);
        }
        state.young.insert(key, value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock cannot leave the maps inconsistent: keep serving.
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(version: i64) -> VerifiedCredential {
        VerifiedCredential {
            matched_hash: format!("hash{version}"),
            retired_version: None,
            secret_version: version,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn keys_depend_on_client_secret_and_process_key() {
        let cache = CredentialCache::new(4).unwrap();
        assert_eq!(cache.key("a", "b"), cache.key("a", "b"));
        assert_ne!(cache.key("a", "b"), cache.key("a", "c"));
        // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(cache.key("ab", "c"), cache.key("a", "bc"));
        let other = CredentialCache::new(4).unwrap();
        assert_ne!(cache.key("a", "b"), other.key("a", "b"));
    }

    #[test]
    fn bounded_with_promotion() {
        let cache = CredentialCache::new(4).unwrap();
        let keys: Vec<CacheKey> = (0..10).map(|i| cache.key("client", &i.to_string())).collect();
        for (i, key) in keys.iter().enumerate() {
            cache.insert(*key, value(i as i64));
            assert!(cache.len() <= 4);
        }
        assert_eq!(cache.get(&keys[9]), Some(value(9)));
        assert_eq!(cache.get(&keys[0]), None);
        // keys[7] sits in the old generation; a hit promotes it so it survives the next rollover.
        assert_eq!(cache.get(&keys[7]), Some(value(7)));
        cache.insert(cache.key("x", "1"), value(100));
        cache.insert(cache.key("x", "2"), value(101));
        assert_eq!(cache.get(&keys[7]), Some(value(7)));
        cache.remove(&keys[7]);
        assert_eq!(cache.get(&keys[7]), None);
    }

    #[test]
    fn zero_capacity_disables() {
        let cache = CredentialCache::new(0).unwrap();
        let key = cache.key("a", "b");
        cache.insert(key, value(1));
        assert_eq!(cache.get(&key), None);
        assert!(cache.is_empty());
    }
}
