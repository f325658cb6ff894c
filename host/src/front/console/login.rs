//! Logging in: an access key and its secret, checked against the sealed secret in
//! constant time, with failures rate-limited per client address and per access key.
//!
//! The limits are kept in this process's memory: with several `coffer` processes behind a
//! load balancer an attacker gets each process's allowance, which still bounds guessing
//! a 40-character random secret to nothing useful.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use crate::state::AppState;
use crate::store::{self, accounts};

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(300);
/// Failed logins one client address may make per window.
const MAX_FAILURES_PER_ADDRESS: usize = 10;
/// Failed logins against one access key per window (from any address).
const MAX_FAILURES_PER_KEY: usize = 5;
/// Addresses and keys tracked at most; beyond, the oldest entries are forgotten first.
const MAX_TRACKED: usize = 100_000;

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown or revoked key, or wrong secret (one answer for all, so that a caller
    /// cannot probe which keys exist).
    #[error("the access key or secret is wrong")]
    InvalidCredentials,
    /// Too many failures; try again after this long.
    #[error("too many failed logins")]
    TooManyAttempts(Duration),
    /// The database or the master key failed.
    #[error("{0}")]
    Internal(String),
}

impl From<store::Error> for LoginError {
    fn from(e: store::Error) -> Self {
        LoginError::Internal(e.to_string())
    }
}

/// Recent failures by client address and by access key.
#[derive(Default)]
pub struct RateLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// `Err(wait)` if `address` or `access_key` has used up its failures.
    fn check(&self, address: IpAddr, access_key: &str, now: Instant) -> Result<(), Duration> {
        let mut failures = self.lock();
        let mut wait = None;
        for (entry, max) in [
            (address_entry(address), MAX_FAILURES_PER_ADDRESS),
            (key_entry(access_key), MAX_FAILURES_PER_KEY),
        ] {
            if let Some(times) = failures.get_mut(&entry) {
                forget_old(times, now);
                if times.len() >= max {
                    let oldest = times.front().copied().unwrap_or(now);
                    let until = WINDOW.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts a failure against `address` and `access_key`.
    fn record_failure(&self, address: IpAddr, access_key: &str, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, times| {
                forget_old(times, now);
                !times.is_empty()
            });
            if failures.len() >= MAX_TRACKED {
                failures.clear();
            }
        }
        for entry in [address_entry(address), key_entry(access_key)] {
            failures.entry(entry).or_default().push_back(now);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn address_entry(address: IpAddr) -> String {
    format!("ip {address}")
}

fn key_entry(access_key: &str) -> String {
    // Bounded: an attacker's made-up keys must not grow entries without limit.
    let key: String = access_key.chars().take(128).collect();
    format!("key {key}")
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        times.pop_front();
    }
}

/// Checks `secret` for `access_key` from `address`; the account on success.
pub async fn verify(
    state: &AppState,
    limiter: &RateLimiter,
    address: IpAddr,
    access_key: &str,
    secret: &str,
) -> Result<accounts::Account, LoginError> {
    limiter
        .check(address, access_key, Instant::now())
        .map_err(LoginError::TooManyAttempts)?;
    let found = match accounts::find_active_key(&state.pool, access_key).await? {
        Some(key) => {
            let stored = state
                .master_key
                .open(access_key, &key.ciphertext, &key.nonce)
                .map_err(|e| LoginError::Internal(e.to_string()))?;
            bool::from(stored.as_bytes().ct_eq(secret.as_bytes())).then_some(key.account)
        }
        None => None,
    };
    match found {
        Some(account) => Ok(account),
        None => {
            // Never the secret: only who tried which key.
            tracing::warn!(%address, access_key, "console login failed");
            limiter.record_failure(address, access_key, Instant::now());
            Err(LoginError::InvalidCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_limited_per_key_and_per_address() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..MAX_FAILURES_PER_KEY {
            assert!(limiter.check(a, "K1", now).is_ok());
            limiter.record_failure(a, "K1", now);
        }
        // That key is locked from every address...
        let wait = limiter.check(b, "K1", now).expect_err("key locked");
        assert!(wait <= WINDOW && wait > Duration::ZERO);
        // ...other keys are not, until the address has used its own allowance.
        assert!(limiter.check(a, "K2", now).is_ok());
        for i in 0..(MAX_FAILURES_PER_ADDRESS - MAX_FAILURES_PER_KEY) {
            limiter.record_failure(a, &format!("other{i}"), now);
        }
        assert!(limiter.check(a, "K3", now).is_err());
        assert!(limiter.check(b, "K3", now).is_ok());
        // The window passes.
        let later = now + WINDOW;
        assert!(limiter.check(a, "K1", later).is_ok());
    }
}
