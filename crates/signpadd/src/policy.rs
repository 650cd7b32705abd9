//! Which authentication factors a session requires.
//!
//! The pad has a minimum set (config `auth.minimum`); each document class
//! adds its own (`[policy.<class>] factors`); a request may add more. The
//! result is the union: a request can ask for more factors, never fewer than
//! the pad and its class demand. A request for a factor the pad cannot
//! check (no fingerprint reader, no enrolled signer, no code hash) is denied
//! up front rather than failing in front of the signer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use signpad_package::AuthFactor;

/// An authentication factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Factor {
    Pin,
    OneTimeCode,
    Totp,
    Fingerprint,
    SignatureDynamics,
}

impl Factor {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pin => "pin",
            Self::OneTimeCode => "one-time-code",
            Self::Totp => "totp",
            Self::Fingerprint => "fingerprint",
            Self::SignatureDynamics => "signature-dynamics",
        }
    }

    /// Parses a wire name (`"totp"`).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Pin,
            Self::OneTimeCode,
            Self::Totp,
            Self::Fingerprint,
            Self::SignatureDynamics,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }

    /// The factor as the ceremony record names it.
    pub fn to_record(self) -> AuthFactor {
        match self {
            Self::Pin => AuthFactor::Pin,
            Self::OneTimeCode => AuthFactor::OneTimeCode,
            Self::Totp => AuthFactor::Totp,
            Self::Fingerprint => AuthFactor::Fingerprint,
            Self::SignatureDynamics => AuthFactor::SignatureDynamics,
        }
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Factors of one document class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPolicy {
    #[serde(default)]
    pub factors: Vec<Factor>,
}

/// What the pad can check for this request (facts, not wishes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The hinted signer is enrolled with a PIN verifier.
    pub signer_pin: bool,
    /// The hinted signer is enrolled with a TOTP secret.
    pub signer_totp: bool,
    /// The hinted signer has signature references.
    pub signer_references: bool,
    /// The request carries a one-time code hash.
    pub one_time_code: bool,
    /// The pad has a fingerprint reader (config).
    pub fingerprint_reader: bool,
}

impl Capabilities {
    fn can_check(&self, factor: Factor) -> bool {
        match factor {
            Factor::Pin => self.signer_pin,
            Factor::OneTimeCode => self.one_time_code,
            Factor::Totp => self.signer_totp,
            Factor::Fingerprint => self.fingerprint_reader,
            Factor::SignatureDynamics => self.signer_references,
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("document class \"{0}\" has no policy on this pad (known: {1})")]
    UnknownClass(String, String),
    #[error("factor {factor} is required but cannot be checked: {why}")]
    Unavailable { factor: Factor, why: &'static str },
    #[error("unknown authentication factor \"{0}\" (pin, one-time-code, totp, fingerprint, signature-dynamics)")]
    UnknownFactor(String),
}

/// The pad's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub minimum: BTreeSet<Factor>,
    pub classes: BTreeMap<String, ClassPolicy>,
}

impl Policy {
    /// The factors a session of `class` that asks for `requested` requires.
    pub fn resolve(
        &self,
        class: &str,
        requested: &[Factor],
        can: &Capabilities,
    ) -> Result<BTreeSet<Factor>, PolicyError> {
        let class_policy = self.classes.get(class).ok_or_else(|| {
            PolicyError::UnknownClass(
                class.to_owned(),
                self.classes.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })?;
        let required: BTreeSet<Factor> = self
            .minimum
            .iter()
            .chain(class_policy.factors.iter())
            .chain(requested.iter())
            .copied()
            .collect();
        for factor in &required {
            if !can.can_check(*factor) {
                return Err(PolicyError::Unavailable {
                    factor: *factor,
                    why: match factor {
                        Factor::Pin => "the signer hint names no signer enrolled with a PIN",
                        Factor::Totp => "the signer hint names no signer enrolled with TOTP",
                        Factor::SignatureDynamics => {
                            "the signer hint names no signer with signature references"
                        }
                        Factor::OneTimeCode => "the request carries no one-time code hash",
                        Factor::Fingerprint => "this pad has no fingerprint reader",
                    },
                });
            }
        }
        Ok(required)
    }
}

/// Parses factor names from a request.
pub fn parse_factors(names: &[String]) -> Result<Vec<Factor>, PolicyError> {
    names
        .iter()
        .map(|n| Factor::from_name(n).ok_or_else(|| PolicyError::UnknownFactor(n.clone())))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            minimum: [Factor::Pin].into(),
            classes: [
                ("default".to_owned(), ClassPolicy::default()),
                (
                    "loan".to_owned(),
                    ClassPolicy {
                        factors: vec![Factor::Totp],
                    },
                ),
            ]
            .into(),
        }
    }

    fn all() -> Capabilities {
        Capabilities {
            signer_pin: true,
            signer_totp: true,
            signer_references: true,
            one_time_code: true,
            fingerprint_reader: true,
        }
    }

    #[test]
    fn required_is_minimum_and_class_and_request() {
        let r = policy()
            .resolve("loan", &[Factor::Fingerprint], &all())
            .unwrap();
        assert_eq!(r, [Factor::Pin, Factor::Totp, Factor::Fingerprint].into());
    }

    #[test]
    fn a_request_cannot_go_below_the_pad_minimum() {
        // Asking for nothing still gives the minimum and the class factors.
        let r = policy().resolve("loan", &[], &all()).unwrap();
        assert_eq!(r, [Factor::Pin, Factor::Totp].into());
    }

    #[test]
    fn unknown_class_is_denied_with_the_known_ones() {
        let err = policy().resolve("mortgage", &[], &all()).unwrap_err();
        assert_eq!(
            err,
            PolicyError::UnknownClass("mortgage".into(), "default, loan".into())
        );
    }

    #[test]
    fn a_factor_the_pad_cannot_check_is_denied() {
        let can = Capabilities {
            fingerprint_reader: false,
            ..all()
        };
        let err = policy()
            .resolve("default", &[Factor::Fingerprint], &can)
            .unwrap_err();
        assert!(matches!(
            err,
            PolicyError::Unavailable {
                factor: Factor::Fingerprint,
                ..
            }
        ));
        let can = Capabilities {
            signer_pin: false,
            ..all()
        };
        assert!(matches!(
            policy().resolve("default", &[], &can),
            Err(PolicyError::Unavailable {
                factor: Factor::Pin,
                ..
            })
        ));
    }

    #[test]
    fn factor_names_round_trip_and_unknown_names_are_named() {
        for f in [
            Factor::Pin,
            Factor::OneTimeCode,
            Factor::Totp,
            Factor::Fingerprint,
            Factor::SignatureDynamics,
        ] {
            assert_eq!(Factor::from_name(f.as_str()), Some(f));
        }
        assert_eq!(
            parse_factors(&["retina".into()]),
            Err(PolicyError::UnknownFactor("retina".into()))
        );
    }
}
