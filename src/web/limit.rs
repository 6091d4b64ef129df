//! Rate limiting with in-memory token buckets: per API token id (the admin token has its own),
//! refilled continuously at `web.rate_limit_per_minute`; and per client address, for failed
//! logins and Bearer guesses and for sign-in requests, so that nobody can drain a bucket that
//! is not their own. In memory on purpose: each `serve` instance limits on its own, which is
//! enough to stop a runaway script or a guesser.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Token(i64),
    Admin,
    /// Failed admin logins and wrong Bearer tokens from one client address.
    Failed(std::net::IpAddr),
    /// Sign-in and fresh-link requests from one client address.
    Signin(std::net::IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by key. `per_minute == 0` turns limiting off.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl RateLimiter {
    /// A burst of `per_minute` requests, refilled at `per_minute` a minute.
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimiter {
            capacity: f64::from(per_minute),
            per_sec: f64::from(per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// A burst of `burst` requests, refilled at `burst` every `every`.
    pub fn new(burst: u32, every: Duration) -> Self {
        RateLimiter {
            capacity: f64::from(burst),
            per_sec: f64::from(burst) / every.as_secs_f64().max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket at `now`; `Err(wait)` when it is empty, with how
    /// long until one is available.
    pub fn check(&self, key: Key, now: Instant) -> Result<(), Duration> {
        self.take(key, now, 1.0)
    }

    /// Whether `key`'s bucket is empty at `now` (`Err(wait)`), without taking from it: a
    /// failure is counted only once it happened.
    pub fn exhausted(&self, key: Key, now: Instant) -> Result<(), Duration> {
        self.take(key, now, 0.0)
    }

    fn take(&self, key: Key, now: Instant, cost: f64) -> Result<(), Duration> {
        if self.capacity <= 0.0 {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update; the map is still
        // usable, and refusing every request afterwards would be worse.
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_refills() {
        let l = RateLimiter::per_minute(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check(Key::Token(1), t0).is_ok());
        }
        let wait = l.check(Key::Token(1), t0).unwrap_err();
        assert!(wait <= Duration::from_secs(20) && wait > Duration::from_secs(19));
        // Another token has its own bucket.
        assert!(l.check(Key::Token(2), t0).is_ok());
        assert!(l.check(Key::Token(1), t0 + Duration::from_secs(20)).is_ok());
        assert!(
            l.check(Key::Token(1), t0 + Duration::from_secs(20))
                .is_err()
        );
    }

    #[test]
    fn each_client_address_has_its_own_bucket_and_a_peek_takes_nothing() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        let a = Key::Failed([127, 0, 0, 2].into());
        let b = Key::Failed([127, 0, 0, 1].into());
        assert!(l.exhausted(a, t0).is_ok());
        assert!(l.check(a, t0).is_ok() && l.check(a, t0).is_ok());
        assert!(l.exhausted(a, t0).is_err());
        assert!(l.exhausted(b, t0).is_ok() && l.check(b, t0).is_ok());
        // Refilled at 2 a minute: one again after 30 s.
        assert!(l.check(a, t0 + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn zero_turns_limiting_off() {
        let l = RateLimiter::per_minute(0);
        for _ in 0..1000 {
            assert!(l.check(Key::Admin, Instant::now()).is_ok());
        }
    }
}
