//! The signer enrolment store: id, display name, PIN verifier, TOTP secret,
//! fprintd user name and signature references. Kept only in the encrypted
//! state (file `signers`); the daemon saves it after every change.
//!
//! Export gives a signer their own data (privacy request): what is enrolled
//! and the signature references; it never contains the PIN verifier or the
//! TOTP secret, which are credentials, not the person's data to carry away.
//! Erase removes everything about the signer, lockout counters included.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::dynamics::Template;

/// One enrolled signer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signer {
    pub id: String,
    pub display_name: String,
    pub pin_verifier: Option<String>,
    pub totp_secret: Option<Zeroizing<Vec<u8>>>,
    /// Step of the last accepted TOTP code (replay protection).
    pub totp_last_step: Option<u64>,
    pub fprint_user: Option<String>,
    pub references: Vec<Template>,
}

/// What `ListSigners` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerSummary {
    pub id: String,
    pub display_name: String,
    pub pin: bool,
    pub totp: bool,
    pub fingerprint: bool,
    pub references: usize,
}

/// Errors of the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    #[error("signer \"{0}\" is already enrolled")]
    Exists(String),
    #[error("signer \"{0}\" is not enrolled")]
    NotFound(String),
    #[error("signer id \"{0}\" is invalid (1-64 letters, digits, '-', '_', '.', '@')")]
    BadId(String),
}

/// All signers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Signers {
    signers: BTreeMap<String, Signer>,
}

fn check_id(id: &str) -> Result<(), EnrolError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(EnrolError::BadId(id.to_owned()))
    }
}

impl Signers {
    pub fn add(&mut self, signer: Signer) -> Result<(), EnrolError> {
        check_id(&signer.id)?;
        if self.signers.contains_key(&signer.id) {
            return Err(EnrolError::Exists(signer.id));
        }
        self.signers.insert(signer.id.clone(), signer);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Signer> {
        self.signers.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Result<&mut Signer, EnrolError> {
        self.signers
            .get_mut(id)
            .ok_or_else(|| EnrolError::NotFound(id.to_owned()))
    }

    pub fn remove(&mut self, id: &str) -> Result<Signer, EnrolError> {
        self.signers
            .remove(id)
            .ok_or_else(|| EnrolError::NotFound(id.to_owned()))
    }

    pub fn list(&self) -> Vec<SignerSummary> {
        self.signers
            .values()
            .map(|s| SignerSummary {
                id: s.id.clone(),
                display_name: s.display_name.clone(),
                pin: s.pin_verifier.is_some(),
                totp: s.totp_secret.is_some(),
                fingerprint: s.fprint_user.is_some(),
                references: s.references.len(),
            })
            .collect()
    }

    /// The signer's own data as JSON (no credentials).
    pub fn export(&self, id: &str) -> Result<String, EnrolError> {
        let s = self
            .signers
            .get(id)
            .ok_or_else(|| EnrolError::NotFound(id.to_owned()))?;
        let summary = self
            .list()
            .into_iter()
            .find(|x| x.id == id)
            .ok_or_else(|| EnrolError::NotFound(id.to_owned()))?;
        Ok(serde_json::json!({
            "enrolment": summary,
            "fprint_user": s.fprint_user,
            "signature_references": s.references,
        })
        .to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn alice() -> Signer {
        Signer {
            id: "alice".into(),
            display_name: "Alice Example".into(),
            pin_verifier: Some("$argon2id$...".into()),
            totp_secret: Some(Zeroizing::new(b"12345678901234567890".to_vec())),
            totp_last_step: None,
            fprint_user: None,
            references: Vec::new(),
        }
    }

    #[test]
    fn add_list_update_remove() {
        let mut s = Signers::default();
        s.add(alice()).unwrap();
        assert_eq!(
            s.add(alice()).unwrap_err(),
            EnrolError::Exists("alice".into())
        );
        assert_eq!(s.list()[0].display_name, "Alice Example");
        s.get_mut("alice").unwrap().display_name = "A. Example".into();
        assert_eq!(s.list()[0].display_name, "A. Example");
        s.remove("alice").unwrap();
        assert_eq!(
            s.remove("alice").unwrap_err(),
            EnrolError::NotFound("alice".into())
        );
    }

    #[test]
    fn export_holds_no_credentials() {
        let mut s = Signers::default();
        s.add(alice()).unwrap();
        let json = s.export("alice").unwrap();
        assert!(json.contains("Alice Example"));
        assert!(!json.contains("argon2"));
        assert!(!json.contains("totp_secret"));
    }

    #[test]
    fn bad_ids_are_refused() {
        let mut s = Signers::default();
        let mut bad = alice();
        bad.id = "../x y".into();
        assert!(matches!(s.add(bad), Err(EnrolError::BadId(_))));
    }
}
