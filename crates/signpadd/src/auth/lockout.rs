//! Failed-attempt counters per signer and per pad, with exponential back-off
//! and lockout. The counters are plain data, persisted (encrypted) by the
//! daemon after every change, so a restart neither resets a lockout nor
//! shortens a back-off. Times are wall-clock milliseconds since the Unix
//! epoch for that reason.
//!
//! - After `n` consecutive failures, the next attempt is allowed
//!   `backoff_base × 2^(n-1)` (at most `backoff_max`) after the last one.
//! - A signer with `signer_lockout_after` consecutive failures is locked
//!   until an administrator unlocks them.
//! - The pad with `pad_lockout_after` consecutive failures (any signer, or
//!   none) is locked for `pad_lockout` — against someone trying signer after
//!   signer.
//!
//! A success resets the signer's counter and the pad's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub signer_lockout_after: u32,
    pub pad_lockout_after: u32,
    pub pad_lockout: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            signer_lockout_after: 5,
            pad_lockout_after: 20,
            pad_lockout: Duration::from_secs(900),
        }
    }
}

/// Consecutive failures of one party.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub failures: u32,
    /// Wall-clock time of the last failure, ms since the Unix epoch.
    pub last_failure_ms: u64,
}

impl Counter {
    fn backoff_until(&self, policy: &LockoutPolicy) -> u64 {
        if self.failures == 0 {
            return 0;
        }
        let shift = (self.failures - 1).min(30);
        let wait = policy
            .backoff_base
            .saturating_mul(1u32 << shift)
            .min(policy.backoff_max);
        self.last_failure_ms
            .saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Who is locked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Signer(String),
    Pad,
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signer(id) => write!(f, "signer {id}"),
            Self::Pad => f.write_str("the pad"),
        }
    }
}

/// Why an attempt may not be made now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{party} is locked out after {failures} failed attempts{}", until_text(*until_ms))]
    LockedOut {
        party: Party,
        failures: u32,
        /// `None`: until an administrator unlocks.
        until_ms: Option<u64>,
    },
    #[error("too many failed attempts: try again in {retry_after_ms} ms")]
    BackOff { retry_after_ms: u64 },
}

fn until_text(until: Option<u64>) -> String {
    match until {
        Some(ms) => format!(" until {ms} ms after the epoch"),
        None => " until an administrator unlocks".to_owned(),
    }
}

/// All counters; serialised into the encrypted state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    pub signers: BTreeMap<String, Counter>,
    pub pad: Counter,
}

impl Attempts {
    /// Whether an attempt by `signer` (or an unnamed signer) may be made.
    pub fn check(
        &self,
        signer: Option<&str>,
        now_ms: u64,
        policy: &LockoutPolicy,
    ) -> Result<(), Refusal> {
        if self.pad.failures >= policy.pad_lockout_after {
            let until = self
                .pad
                .last_failure_ms
                .saturating_add(u64::try_from(policy.pad_lockout.as_millis()).unwrap_or(u64::MAX));
            if now_ms < until {
                return Err(Refusal::LockedOut {
                    party: Party::Pad,
                    failures: self.pad.failures,
                    until_ms: Some(until),
                });
            }
        }
        let mut wait_until = self.pad.backoff_until(policy);
        if let Some(id) = signer {
            if let Some(c) = self.signers.get(id) {
                if c.failures >= policy.signer_lockout_after {
                    return Err(Refusal::LockedOut {
                        party: Party::Signer(id.to_owned()),
                        failures: c.failures,
                        until_ms: None,
                    });
                }
                wait_until = wait_until.max(c.backoff_until(policy));
            }
        }
        if now_ms < wait_until {
            return Err(Refusal::BackOff {
                retry_after_ms: wait_until - now_ms,
            });
        }
        Ok(())
    }

    /// Counts a failed attempt.
    pub fn failed(&mut self, signer: Option<&str>, now_ms: u64) {
        for c in std::iter::once(&mut self.pad)
            .chain(signer.map(|id| self.signers.entry(id.to_owned()).or_default()))
        {
            c.failures = c.failures.saturating_add(1);
            c.last_failure_ms = now_ms;
        }
    }

    /// A passed factor: the signer's and the pad's counters start again.
    pub fn succeeded(&mut self, signer: Option<&str>) {
        self.pad = Counter::default();
        if let Some(id) = signer {
            self.signers.remove(id);
        }
    }

    /// Administrator unlock of a signer (or of the pad with `None`).
    pub fn unlock(&mut self, signer: Option<&str>) {
        match signer {
            Some(id) => {
                self.signers.remove(id);
            }
            None => self.pad = Counter::default(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn back_off_doubles_after_each_failure() {
        let p = LockoutPolicy::default();
        let mut a = Attempts::default();
        assert!(a.check(Some("alice"), T0, &p).is_ok());
        a.failed(Some("alice"), T0);
        assert_eq!(
            a.check(Some("alice"), T0 + 500, &p),
            Err(Refusal::BackOff {
                retry_after_ms: 500
            })
        );
        assert!(a.check(Some("alice"), T0 + 1000, &p).is_ok());
        a.failed(Some("alice"), T0 + 1000);
        a.failed(Some("alice"), T0 + 3000);
        // Third failure: 4 s.
        assert_eq!(
            a.check(Some("alice"), T0 + 3000, &p),
            Err(Refusal::BackOff {
                retry_after_ms: 4000
            })
        );
    }

    #[test]
    fn back_off_is_capped() {
        let p = LockoutPolicy {
            signer_lockout_after: 100,
            pad_lockout_after: 100,
            ..LockoutPolicy::default()
        };
        let mut a = Attempts::default();
        for _ in 0..40 {
            a.failed(Some("alice"), T0);
        }
        assert_eq!(
            a.check(Some("alice"), T0, &p),
            Err(Refusal::BackOff {
                retry_after_ms: 300_000
            })
        );
    }

    #[test]
    fn a_signer_is_locked_until_unlocked() {
        let p = LockoutPolicy::default();
        let mut a = Attempts::default();
        for _ in 0..5 {
            a.failed(Some("alice"), T0);
        }
        let far = T0 + 365 * 24 * 3600 * 1000;
        assert!(matches!(
            a.check(Some("alice"), far, &p),
            Err(Refusal::LockedOut {
                party: Party::Signer(_),
                until_ms: None,
                ..
            })
        ));
        // Another signer is not locked (the pad has not reached its limit).
        assert!(a.check(Some("bob"), far, &p).is_ok());
        a.unlock(Some("alice"));
        assert!(a.check(Some("alice"), far, &p).is_ok());
    }

    #[test]
    fn the_pad_locks_after_failures_across_signers_for_a_while() {
        let p = LockoutPolicy {
            pad_lockout_after: 4,
            ..LockoutPolicy::default()
        };
        let mut a = Attempts::default();
        for s in ["a", "b", "c", "d"] {
            a.failed(Some(s), T0);
        }
        assert!(matches!(
            a.check(Some("e"), T0 + 60_000, &p),
            Err(Refusal::LockedOut {
                party: Party::Pad,
                ..
            })
        ));
        assert!(a.check(None, T0 + 900_000, &p).is_ok());
    }

    #[test]
    fn success_resets_the_counters() {
        let p = LockoutPolicy::default();
        let mut a = Attempts::default();
        a.failed(Some("alice"), T0);
        a.failed(Some("alice"), T0);
        a.succeeded(Some("alice"));
        assert!(a.check(Some("alice"), T0, &p).is_ok());
        assert_eq!(a, Attempts::default());
    }

    #[test]
    fn counters_survive_serialisation() {
        let mut a = Attempts::default();
        a.failed(Some("alice"), T0);
        let json = serde_json::to_vec(&a).unwrap();
        let b: Attempts = serde_json::from_slice(&json).unwrap();
        assert_eq!(a, b);
    }
}
