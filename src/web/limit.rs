//! Per-token rate limiting for the API: one in-memory token bucket per API token id (the admin
//! token has its own), refilled continuously at `web.rate_limit_per_minute`. In memory on
//! purpose: each `serve` instance limits on its own, which is enough to stop a runaway script.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Token(i64),
    Admin,
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

    /// Takes one request from `key`'s bucket at `now`; `Err(wait)` when it is empty, with how
    /// long until one is available.
    pub fn check(&self, key: Key, now: Instant) -> Result<(), Duration> {
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
            b.tokens -= 1.0;
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
    fn zero_turns_limiting_off() {
        let l = RateLimiter::per_minute(0);
        for _ in 0..1000 {
            assert!(l.check(Key::Admin, Instant::now()).is_ok());
        }
    }
}
