//! PIN or password against an Argon2id verifier (PHC string), and the
//! one-time code whose SHA-256 the host sends with the session.
//!
//! Argon2's own verification compares the derived hash in constant time; the
//! one-time code hash is compared with `subtle`. Neither the PIN nor the code
//! is kept after the check (callers pass them in `Zeroizing` buffers).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Errors making or reading a verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("PIN must be 4 to 128 bytes long")]
    BadLength,
    #[error("stored PIN verifier is not an Argon2id PHC string: {0}")]
    BadVerifier(String),
}

/// Argon2id parameters: 19 MiB, 2 passes, 1 lane (OWASP's recommendation
/// for Argon2id), small enough for a pad's memory.
fn argon2() -> Result<Argon2<'static>, PinError> {
    let params =
        Params::new(19 * 1024, 2, 1, Some(32)).map_err(|e| PinError::BadVerifier(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A new Argon2id verifier (PHC string) for `pin`, with a random salt.
pub fn make_verifier(pin: &[u8]) -> Result<String, PinError> {
    if !(4..=128).contains(&pin.len()) {
        return Err(PinError::BadLength);
    }
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(pin, &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::BadVerifier(e.to_string()))
}

/// Whether `pin` matches `verifier`. Only Argon2id verifiers are accepted.
pub fn check_pin(verifier: &str, pin: &[u8]) -> Result<bool, PinError> {
    let hash = PasswordHash::new(verifier).map_err(|e| PinError::BadVerifier(e.to_string()))?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err(PinError::BadVerifier(format!(
            "algorithm {} (expected argon2id)",
            hash.algorithm
        )));
    }
    Ok(argon2()?.verify_password(pin, &hash).is_ok())
}

/// Whether `code`'s SHA-256 equals `expected_hash`, in constant time.
pub fn check_one_time_code(expected_hash: &[u8; 32], code: &[u8]) -> bool {
    let got: [u8; 32] = Sha256::digest(code).into();
    got.ct_eq(expected_hash).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn right_pin_passes_and_wrong_pin_fails() {
        let v = make_verifier(b"482913").unwrap();
        assert!(v.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(check_pin(&v, b"482913").unwrap());
        assert!(!check_pin(&v, b"482914").unwrap());
        assert!(!check_pin(&v, b"").unwrap());
    }

    #[test]
    fn verifiers_are_salted() {
        assert_ne!(
            make_verifier(b"1234").unwrap(),
            make_verifier(b"1234").unwrap()
        );
    }

    #[test]
    fn short_pins_are_refused_at_enrolment() {
        assert_eq!(make_verifier(b"123"), Err(PinError::BadLength));
    }

    #[test]
    fn a_verifier_of_another_algorithm_is_refused() {
        let argon2i = "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$6mGlbmgQvAIyK3CsNMiEjg";
        assert!(matches!(
            check_pin(argon2i, b"1234"),
            Err(PinError::BadVerifier(_))
        ));
        assert!(matches!(
            check_pin("plain:1234", b"1234"),
            Err(PinError::BadVerifier(_))
        ));
    }

    #[test]
    fn one_time_code_matches_its_hash_only() {
        let hash: [u8; 32] = Sha256::digest(b"K7-55-19").into();
        assert!(check_one_time_code(&hash, b"K7-55-19"));
        assert!(!check_one_time_code(&hash, b"K7-55-18"));
    }
}
