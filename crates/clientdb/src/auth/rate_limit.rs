//! Failed-authentication rate limits: a token bucket per client_id and one per source address.
//!
//! Only failures take tokens; a request is refused (429 with `Retry-After`) while either bucket is empty.
//! Requests whose credentials are already in the verified-credential cache skip the check, so an attacker
//! guessing a client's secret cannot lock that client out once it has authenticated. IPv6 sources are grouped
//! by /64, the block one subscriber usually controls.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One bucket's shape: `burst` failures at once, refilled at `per_minute` failures per minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSettings {
    pub burst: u32,
    pub per_minute: f64,
}

impl BucketSettings {
    fn per_second(&self) -> f64 {
        self.per_minute / 60.0
    }
}

/// Both limits; `None` disables one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitSettings {
    pub per_client: Option<BucketSettings>,
    pub per_address: Option<BucketSettings>,
    /// Buckets kept per kind before idle ones are dropped.
    pub max_tracked: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_client: Some(BucketSettings {
                burst: 10,
                per_minute: 10.0,
            }),
            per_address: Some(BucketSettings {
                burst: 30,
                per_minute: 30.0,
            }),
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
struct Buckets<K> {
    settings: BucketSettings,
    max_tracked: usize,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> Buckets<K> {
    fn new(settings: BucketSettings, max_tracked: usize) -> Self {
        Self {
            settings,
            max_tracked,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.settings.per_second()).min(f64::from(self.settings.burst))
    }

    /// How long until the bucket holds a whole token again; `None` when it holds one now.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let map = self.map.lock().unwrap_or_else(|poison| poison.into_inner());
        let tokens = self.refilled(*map.get(key)?, now);
        if tokens >= 1.0 {
            return None;
        }
        let rate = self.settings.per_second();
        if rate <= 0.0 {
            return Some(Duration::from_secs(3600));
        }
        Some(Duration::from_secs_f64((1.0 - tokens) / rate))
    }

    fn take(&self, key: &K, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(|poison| poison.into_inner());
        if map.len() >= self.max_tracked && !map.contains_key(key) {
            // Full buckets carry no state worth keeping; when even that is not enough the limits fail open
            // for forgotten keys rather than growing without bound.
            let burst = f64::from(self.settings.burst);
            map.retain(|_, bucket| self.refilled(*bucket, now) < burst);
            if map.len() >= self.max_tracked {
                tracing::warn!(
                    tracked = map.len(),
                    "rate limit table is full; forgetting all buckets"
                );
                map.clear();
            }
        }
        let bucket = map.entry(key.clone()).or_insert(Bucket {
            tokens: f64::from(self.settings.burst),
            updated: now,
        });
        let tokens = self.refilled(*bucket, now);
        *bucket = Bucket {
            tokens: (tokens - 1.0).max(0.0),
            updated: now,
        };
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitedBy {
    Client,
    Address,
}

impl LimitedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitedBy::Client => "client",
            LimitedBy::Address => "address",
        }
    }
}

#[derive(Debug)]
pub struct FailureLimiter {
    clients: Option<Buckets<String>>,
    addresses: Option<Buckets<IpAddr>>,
}

impl FailureLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            clients: settings
                .per_client
                .map(|bucket| Buckets::new(bucket, settings.max_tracked)),
            addresses: settings
                .per_address
                .map(|bucket| Buckets::new(bucket, settings.max_tracked)),
        }
    }

    /// `Err((which, retry_after))` while the client's or the address's failures are exhausted.
    pub fn check(&self, client_id: &str, address: Option<IpAddr>) -> Result<(), (LimitedBy, Duration)> {
        let now = Instant::now();
        if let Some(wait) = self
            .clients
            .as_ref()
            .and_then(|buckets| buckets.wait(&client_id.to_owned(), now))
        {
            return Err((LimitedBy::Client, wait));
        }
        if let (Some(buckets), Some(address)) = (&self.addresses, address)
            && let Some(wait) = buckets.wait(&group(address), now)
        {
            return Err((LimitedBy::Address, wait));
        }
        Ok(())
    }

    pub fn record_failure(&self, client_id: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        if let Some(buckets) = &self.clients {
            buckets.take(&client_id.to_owned(), now);
        }
        if let (Some(buckets), Some(address)) = (&self.addresses, address) {
            buckets.take(&group(address), now);
        }
    }
}

/// IPv4 addresses stand alone (IPv4-mapped IPv6 too); IPv6 addresses are grouped by their /64.
fn group(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(client_burst: u32, address_burst: u32) -> FailureLimiter {
        FailureLimiter::new(RateLimitSettings {
            per_client: Some(BucketSettings {
                burst: client_burst,
                per_minute: 60.0,
            }),
            per_address: Some(BucketSettings {
                burst: address_burst,
                per_minute: 60.0,
            }),
            max_tracked: 3,
        })
    }

    #[test]
    fn client_bucket_empties_after_burst_failures() {
        let limiter = limiter(3, 100);
        let address = Some("127.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check("a", address).is_ok());
            limiter.record_failure("a", address);
        }
        let (by, wait) = limiter.check("a", address).unwrap_err();
        assert_eq!(by, LimitedBy::Client);
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        assert!(limiter.check("b", address).is_ok());
    }

    #[test]
    fn address_bucket_spans_clients() {
        let limiter = limiter(100, 2);
        let address = Some("2001:db8::1".parse().unwrap());
        limiter.record_failure("a", address);
        limiter.record_failure("b", address);
        let neighbour = Some("2001:db8::ffff".parse().unwrap());
        assert_eq!(limiter.check("c", neighbour).unwrap_err().0, LimitedBy::Address);
        assert!(limiter.check("c", Some("2001:db9::1".parse().unwrap())).is_ok());
    }

    #[test]
    fn table_stays_bounded() {
        let limiter = limiter(1, 100);
        for client in ["a", "b", "c", "d", "e"] {
            limiter.record_failure(client, None);
        }
        let tracked = limiter.clients.as_ref().unwrap().map.lock().unwrap().len();
        assert!(tracked <= 3, "{tracked}");
    }
}
