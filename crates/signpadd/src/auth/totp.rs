//! RFC 6238 TOTP with a ±1 step window and replay protection: a code is
//! accepted only for a time step later than the last step this signer used,
//! so a code seen over the signer's shoulder cannot be used again, not even
//! within its own 30 seconds.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Errors of the TOTP check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP secret is invalid: {0}")]
    BadSecret(String),
    #[error("the code is not valid now")]
    Wrong,
    #[error("the code for this time step was already used")]
    Replayed,
}

/// TOTP parameters of an enrolled signer (SHA-1, 6 digits, 30 s: what
/// authenticator apps use).
#[derive(Debug)]
pub struct TotpCheck {
    totp: TOTP,
}

/// Step length in seconds.
pub const STEP: u64 = 30;

impl TotpCheck {
    /// `secret` is the raw shared secret (at least 16 bytes, RFC 4226).
    pub fn new(secret: &[u8]) -> Result<Self, TotpError> {
        let totp = TOTP::new(Algorithm::SHA1, 6, 1, STEP, secret.to_vec())
            .map_err(|e| TotpError::BadSecret(e.to_string()))?;
        Ok(Self { totp })
    }

    /// The code at Unix time `t` (for tests and enrolment confirmation).
    pub fn code_at(&self, t: u64) -> String {
        self.totp.generate(t)
    }

    /// Checks `code` at Unix time `now` against steps now-1, now, now+1.
    /// `last_step` is the step of the last accepted code; on success the
    /// step just used is returned, to be stored as the new `last_step`.
    pub fn verify(&self, code: &str, now: u64, last_step: Option<u64>) -> Result<u64, TotpError> {
        let current = now / STEP;
        let mut matched = None;
        // All three candidates are compared, whatever the result, so the
        // time taken does not say which step matched.
        for step in [current.saturating_sub(1), current, current + 1] {
            let expected = self.totp.generate(step * STEP);
            let eq: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if eq && matched.is_none() {
                matched = Some(step);
            }
        }
        let step = matched.ok_or(TotpError::Wrong)?;
        if last_step.is_some_and(|last| step <= last) {
            return Err(TotpError::Replayed);
        }
        Ok(step)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B secret (SHA-1).
    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_test_vectors() {
        let t = TotpCheck::new(SECRET).unwrap();
        // RFC 6238 gives 8 digits; the last 6 are the 6-digit code.
        assert_eq!(t.code_at(59), "287082");
        assert_eq!(t.code_at(1_111_111_109), "081804");
        assert_eq!(t.code_at(1_234_567_890), "005924");
    }

    #[test]
    fn one_step_of_drift_either_way_is_accepted() {
        let t = TotpCheck::new(SECRET).unwrap();
        let now = 1_700_000_000;
        assert!(t.verify(&t.code_at(now - STEP), now, None).is_ok());
        assert!(t.verify(&t.code_at(now + STEP), now, None).is_ok());
        assert_eq!(
            t.verify(&t.code_at(now - 2 * STEP), now, None),
            Err(TotpError::Wrong)
        );
        assert_eq!(
            t.verify(&t.code_at(now + 2 * STEP), now, None),
            Err(TotpError::Wrong)
        );
    }

    #[test]
    fn a_used_code_is_refused_as_replayed() {
        let t = TotpCheck::new(SECRET).unwrap();
        let now = 1_700_000_000;
        let code = t.code_at(now);
        let step = t.verify(&code, now, None).unwrap();
        assert_eq!(
            t.verify(&code, now + 5, Some(step)),
            Err(TotpError::Replayed)
        );
        // An older code still inside the window is refused too.
        assert_eq!(
            t.verify(&t.code_at(now - STEP), now, Some(step)),
            Err(TotpError::Replayed)
        );
        // The next step's code is fine.
        assert!(t
            .verify(&t.code_at(now + STEP), now + STEP, Some(step))
            .is_ok());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            TotpCheck::new(b"short"),
            Err(TotpError::BadSecret(_))
        ));
    }
}
