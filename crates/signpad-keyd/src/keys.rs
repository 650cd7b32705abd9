//! The key hierarchy: provisioning, signing, the sealed storage secret and
//! the admin PIN. All TPM access goes through [`Keyd::with_tpm`], which
//! reconnects when the TPM went away.

use std::sync::{Mutex, MutexGuard};

use p256::ecdsa::VerifyingKey;
use sha2::Digest as _;
use signpad_types::DigestAlgorithm;
use tss_esapi::constants::response_code::Tss2ResponseCodeKind;
use zeroize::Zeroizing;

use crate::store::Store;
use crate::tpm::{self, ObjectBlob, Template, Tpm};
use crate::{KeydConfig, KeydError, LockoutStatus};

/// Blob file names in the state directory.
pub(crate) const SIGNING_BLOB: &str = "signing.key";
pub(crate) const TLS_BLOB: &str = "tls.key";
pub(crate) const STORAGE_BLOB: &str = "storage.sealed";
pub(crate) const ADMIN_BLOB: &str = "admin.sealed";
pub(crate) const ATTEST_BLOB: &str = "attest.key";

/// Which of the pad's asymmetric keys a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// Signs signature packages and audit checkpoints.
    Signing,
    /// The network daemon's TLS key.
    Tls,
}

impl KeyRole {
    /// `signing` or `tls`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Signing => "signing",
            Self::Tls => "tls",
        }
    }

    /// Parses `signing` / `tls`.
    pub fn from_name(name: &str) -> Result<Self, KeydError> {
        match name {
            "signing" => Ok(Self::Signing),
            "tls" => Ok(Self::Tls),
            other => Err(KeydError::UnknownRole(other.to_owned())),
        }
    }

    pub(crate) const fn blob(self) -> &'static str {
        match self {
            Self::Signing => SIGNING_BLOB,
            Self::Tls => TLS_BLOB,
        }
    }
}

/// What a provisioning run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionReport {
    /// Blob files created by this run (empty when all existed).
    pub created: Vec<&'static str>,
}

/// The key daemon's state: config, blob store and the TPM connection.
#[derive(Debug)]
pub struct Keyd {
    config: KeydConfig,
    pub(crate) store: Store,
    tpm: Mutex<Option<Tpm>>,
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> KeydError {
    KeydError::Tpm {
        operation: "locking the TPM connection",
        detail: "an earlier TPM operation panicked".into(),
    }
}

impl Keyd {
    /// Opens the TPM named in `config` and the state directory. Fails with
    /// [`KeydError::NoTpm`] when no TPM answers.
    pub fn open(config: KeydConfig) -> Result<Self, KeydError> {
        tpm::parse_tcti(&config.tcti)?;
        let tpm = Tpm::connect(&config.tcti)?;
        let store = Store::open(&config.state_dir)?;
        Ok(Self {
            config,
            store,
            tpm: Mutex::new(Some(tpm)),
        })
    }

    /// The configuration keyd runs with.
    pub fn config(&self) -> &KeydConfig {
        &self.config
    }

    /// Runs `f` on the TPM. When it fails and the TPM no longer answers,
    /// the connection is dropped, reopened once and `f` retried; if the TPM
    /// is still gone the caller gets [`KeydError::TpmUnavailable`] and the
    /// next call tries again.
    pub(crate) fn with_tpm<T>(
        &self,
        operation: &'static str,
        mut f: impl FnMut(&mut Tpm) -> Result<T, KeydError>,
    ) -> Result<T, KeydError> {
        let mut guard = self.tpm.lock().map_err(poisoned)?;
        let first = Self::run(&mut guard, &self.config.tcti, operation, &mut f);
        match first {
            Err(KeydError::TpmUnavailable { .. }) => {
                Self::run(&mut guard, &self.config.tcti, operation, &mut f)
            }
            other => other,
        }
    }

    fn run<T>(
        guard: &mut MutexGuard<'_, Option<Tpm>>,
        tcti: &str,
        operation: &'static str,
        f: &mut impl FnMut(&mut Tpm) -> Result<T, KeydError>,
    ) -> Result<T, KeydError> {
        if guard.is_none() {
            let tpm = Tpm::connect(tcti).map_err(|e| KeydError::TpmUnavailable {
                operation,
                detail: e.to_string(),
            })?;
            tracing::info!(tcti, "connected to the TPM");
            **guard = Some(tpm);
        }
        let Some(tpm) = guard.as_mut() else {
            return Err(KeydError::TpmUnavailable {
                operation,
                detail: "no connection".into(),
            });
        };
        match f(tpm) {
            Ok(v) => Ok(v),
            Err(e) if tpm.is_alive() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, operation, "TPM connection lost");
                **guard = None;
                Err(KeydError::TpmUnavailable {
                    operation,
                    detail: e.to_string(),
                })
            }
        }
    }

    fn blob(&self, name: &'static str) -> Result<Option<ObjectBlob>, KeydError> {
        let Some((public, private)) = self.store.read_blob(name)? else {
            return Ok(None);
        };
        ObjectBlob::from_parts(&public, private)
            .map(Some)
            .map_err(|detail| KeydError::CorruptBlob {
                path: self.store.path(name),
                detail,
            })
    }

    pub(crate) fn require_blob(&self, name: &'static str) -> Result<ObjectBlob, KeydError> {
        self.blob(name)?.ok_or(KeydError::NotProvisioned(name))
    }

    fn write_blob(&self, name: &str, blob: &ObjectBlob) -> Result<(), KeydError> {
        let (public, private) = blob.to_parts()?;
        self.store.write_blob(name, &public, &private)
    }

    /// Creates whatever of the key hierarchy is missing. Each object is
    /// created in the TPM and then written with one atomic rename, so an
    /// interrupted run leaves no half object and the next run completes
    /// the set without replacing an existing key. The admin secret is
    /// created only when `admin_pin` is given and none exists.
    pub fn provision(&self, admin_pin: Option<&[u8]>) -> Result<ProvisionReport, KeydError> {
        let mut report = ProvisionReport::default();
        for (name, template) in [
            (SIGNING_BLOB, Template::SigningKey),
            (TLS_BLOB, Template::SigningKey),
            (ATTEST_BLOB, Template::AttestationKey),
        ] {
            if self.blob(name)?.is_none() {
                let blob = self.with_tpm("creating a key", |tpm| {
                    tpm.create(template, None, None, None)
                })?;
                self.write_blob(name, &blob)?;
                tracing::info!(file = name, "created key");
                report.created.push(name);
            }
        }
        if self.blob(STORAGE_BLOB)?.is_none() {
            let pcrs = self.config.storage_key_pcrs.clone();
            let blob = self.with_tpm("sealing the storage key", |tpm| {
                let secret = tpm.random(32)?;
                let policy = if pcrs.is_empty() {
                    None
                } else {
                    Some(tpm.pcr_policy_digest(&tpm::pcr_selection(&pcrs)?)?)
                };
                tpm.create(Template::SealedSecret, None, Some(&secret), policy)
            })?;
            self.write_blob(STORAGE_BLOB, &blob)?;
            tracing::info!(file = STORAGE_BLOB, pcrs = ?self.config.storage_key_pcrs, "sealed storage key");
            report.created.push(STORAGE_BLOB);
        }
        if let Some(pin) = admin_pin {
            if self.blob(ADMIN_BLOB)?.is_none() {
                self.create_admin_secret(pin)?;
                report.created.push(ADMIN_BLOB);
            }
        }
        for role in [KeyRole::Signing, KeyRole::Tls] {
            if self.ensure_bootstrap_certificate(role)? {
                report.created.push(crate::certs::bootstrap_file(role));
            }
        }
        Ok(report)
    }

    fn create_admin_secret(&self, pin: &[u8]) -> Result<(), KeydError> {
        let auth = pin_auth(pin);
        let blob = self.with_tpm("creating the admin secret", |tpm| {
            let marker = tpm.random(32)?;
            tpm.create(
                Template::AdminSecret,
                Some(auth.as_slice()),
                Some(&marker),
                None,
            )
        })?;
        self.write_blob(ADMIN_BLOB, &blob)?;
        tracing::info!(file = ADMIN_BLOB, "admin PIN set");
        Ok(())
    }

    /// Whether every key of the hierarchy exists (admin secret excluded).
    pub fn is_provisioned(&self) -> Result<bool, KeydError> {
        for name in [SIGNING_BLOB, TLS_BLOB, ATTEST_BLOB, STORAGE_BLOB] {
            if self.blob(name)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The public key of `role`.
    pub fn public_key(&self, role: KeyRole) -> Result<VerifyingKey, KeydError> {
        self.require_blob(role.blob())?.verifying_key()
    }

    /// Signs a pre-computed digest with the key of `role` inside the TPM;
    /// returns the DER `ECDSA-Sig-Value`.
    pub fn sign_digest(
        &self,
        role: KeyRole,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, KeydError> {
        if digest.len() != algorithm.len() {
            return Err(KeydError::WrongDigestLength {
                algorithm: algorithm.name(),
                expected: algorithm.len(),
                actual: digest.len(),
            });
        }
        let blob = self.require_blob(role.blob())?;
        let hash = tpm::hashing_algorithm(algorithm);
        let (r, s) = self.with_tpm("signing", |tpm| match role {
            KeyRole::Signing => {
                let handle = tpm.signing_key(&blob)?;
                tpm.sign(handle, hash, digest)
            }
            KeyRole::Tls => tpm.with_loaded(&blob, |tpm, h| tpm.sign(h, hash, digest)),
        })?;
        Ok(tpm::der_signature(&r, &s)?.as_bytes().to_vec())
    }

    /// Unseals the 256-bit storage secret (for signpadd only: the D-Bus
    /// layer checks the caller).
    pub fn unseal_storage_key(&self) -> Result<Zeroizing<Vec<u8>>, KeydError> {
        let blob = self.require_blob(STORAGE_BLOB)?;
        let pcrs = self.config.storage_key_pcrs.clone();
        self.with_tpm("unsealing the storage key", |tpm| {
            tpm.with_loaded(&blob, |tpm, h| {
                if pcrs.is_empty() {
                    tpm.unseal_with_auth(h, &[])
                        .map_err(tpm::tpm_err("TPM2_Unseal"))
                } else {
                    tpm.unseal_with_pcr_policy(h, &tpm::pcr_selection(&pcrs)?)
                }
            })
        })
    }

    /// Checks the admin PIN against the TPM. A wrong PIN counts toward the
    /// TPM's dictionary-attack lockout.
    pub fn check_admin_pin(&self, pin: &[u8]) -> Result<(), KeydError> {
        let blob = self.blob(ADMIN_BLOB)?.ok_or(KeydError::NoAdminPin)?;
        let auth = pin_auth(pin);
        self.with_tpm("checking the admin PIN", |tpm| {
            let result = tpm.with_loaded(&blob, |tpm, h| Ok(tpm.unseal_with_auth(h, &auth)))?;
            result
                .map(drop)
                .map_err(|e| pin_error(tpm, e, "TPM2_Unseal"))
        })
    }

    /// Changes the admin PIN (TPM2_ObjectChangeAuth, authorised by the old
    /// PIN, which counts toward lockout like `check_admin_pin`). The new
    /// private area replaces the blob atomically.
    pub fn change_admin_pin(&self, old: &[u8], new: &[u8]) -> Result<(), KeydError> {
        let mut blob = self.blob(ADMIN_BLOB)?.ok_or(KeydError::NoAdminPin)?;
        let (old, new) = (pin_auth(old), pin_auth(new));
        let private = self.with_tpm("changing the admin PIN", |tpm| {
            let result = tpm.with_loaded(&blob, |tpm, h| Ok(tpm.change_auth(h, &old, &new)))?;
            result.map_err(|e| pin_error(tpm, e, "TPM2_ObjectChangeAuth"))
        })?;
        blob.private = private;
        self.write_blob(ADMIN_BLOB, &blob)?;
        tracing::info!("admin PIN changed");
        Ok(())
    }

    /// Sets the admin PIN when none is set yet.
    pub fn set_admin_pin(&self, pin: &[u8]) -> Result<(), KeydError> {
        if self.blob(ADMIN_BLOB)?.is_some() {
            return Err(KeydError::AdminPinAlreadySet);
        }
        self.create_admin_secret(pin)
    }

    /// Whether an admin PIN is set.
    pub fn has_admin_pin(&self) -> Result<bool, KeydError> {
        Ok(self.blob(ADMIN_BLOB)?.is_some())
    }

    /// The TPM's dictionary-attack counters.
    pub fn lockout_status(&self) -> Result<LockoutStatus, KeydError> {
        self.with_tpm("reading the lockout status", Tpm::lockout_status)
    }

    /// Extends SHA-256 PCR `index` with `digest` (measured events, tests).
    pub fn extend_pcr(&self, index: u8, digest: [u8; 32]) -> Result<(), KeydError> {
        let pcr = pcr_handle(index)?;
        self.with_tpm("extending a PCR", |tpm| tpm.pcr_extend(pcr, digest))
    }

    /// Random bytes from the TPM.
    pub(crate) fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, KeydError> {
        self.with_tpm("reading random bytes", |tpm| tpm.random(len))
    }
}

/// Maps a refused PIN authorisation to `WrongPin` / `LockedOut`.
fn pin_error(tpm: &mut Tpm, e: tss_esapi::Error, operation: &'static str) -> KeydError {
    match tpm::rc_kind(&e) {
        Some(Tss2ResponseCodeKind::AuthFail | Tss2ResponseCodeKind::BadAuth) => {
            match tpm.lockout_status() {
                Ok(status) => KeydError::WrongPin {
                    remaining: status.max_failures.saturating_sub(status.failures),
                },
                Err(e) => e,
            }
        }
        Some(Tss2ResponseCodeKind::Lockout) => match tpm.lockout_status() {
            Ok(status) => KeydError::LockedOut {
                retry_after_secs: status.recovery_secs,
            },
            Err(e) => e,
        },
        _ => tpm::tpm_err(operation)(e),
    }
}

/// The admin object's authValue: SHA-256 of the PIN (any length of PIN
/// fits the 32-byte authValue of a SHA-256 object).
fn pin_auth(pin: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(sha2::Sha256::digest(pin).to_vec())
}

fn pcr_handle(index: u8) -> Result<tss_esapi::handles::PcrHandle, KeydError> {
    use tss_esapi::handles::PcrHandle as P;
    const ALL: [P; 24] = [
        P::Pcr0,
        P::Pcr1,
        P::Pcr2,
        P::Pcr3,
        P::Pcr4,
        P::Pcr5,
        P::Pcr6,
        P::Pcr7,
        P::Pcr8,
        P::Pcr9,
        P::Pcr10,
        P::Pcr11,
        P::Pcr12,
        P::Pcr13,
        P::Pcr14,
        P::Pcr15,
        P::Pcr16,
        P::Pcr17,
        P::Pcr18,
        P::Pcr19,
        P::Pcr20,
        P::Pcr21,
        P::Pcr22,
        P::Pcr23,
    ];
    ALL.get(usize::from(index))
        .copied()
        .ok_or_else(|| KeydError::Encoding(format!("PCR {index} does not exist")))
}
