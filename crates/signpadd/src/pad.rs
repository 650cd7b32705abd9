//! The pad engine: ceremonies, authentication, enrolment, retention and the
//! audit log behind one lock. Synchronous: the D-Bus layer calls it from
//! blocking threads (sealing and audit checkpoints sign through keyd).
//!
//! State files (encrypted, see [`crate::store`]): `signers`, `attempts`,
//! `active` (the id of a ceremony in progress: after a crash it is recorded
//! as failed, never resumed half-way), `packages/<session id>`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use signpad_audit::{Actor, AuditEvent, AuditLog, CheckpointPolicy, EventKind, Outcome};
use signpad_ink::{ink_stats, render_png, split_strokes, RenderOptions};
use signpad_package::ceremony::{AuthFactorUse, CaptureStatistics, CeremonyRecord};
use signpad_package::iso19794::{CaptureDateTime, CaptureInfo};
use signpad_package::{seal_ceremony, SealRequest};
use signpad_types::{
    DigestAlgorithm, DocumentDigest, PadSerial, PenCapabilities, PenSample, SessionId,
};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::auth::dynamics::{self, Template};
use crate::auth::lockout::{Attempts, Refusal};
use crate::auth::pin;
use crate::auth::totp::{TotpCheck, TotpError};
use crate::config::Config;
use crate::enrol::{EnrolError, Signer, SignerSummary, Signers};
use crate::keyd::SharedSigner;
use crate::policy::{parse_factors, Capabilities, Factor, PolicyError};
use crate::session::{
    Ceremonies, ClientIdentity, Page, Session, SessionError, SessionRequest, State, StateName,
};
use crate::store::{StateStore, StoreError};

/// Errors of the engine; each maps to one `org.signpad.Error.*` name.
#[derive(Debug, thiserror::Error)]
pub enum PadError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("policy denied: {0}")]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    #[error("no package for session {0} (not completed, already fetched or past retention)")]
    NoPackage(SessionId),
    #[error("sealing failed: {0}")]
    Sealing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit log: {0}")]
    Audit(String),
}

/// A request as it arrives from the bus.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub digest_algorithm: String,
    pub digest: Vec<u8>,
    pub title: String,
    pub pages: Vec<Vec<u8>>,
    pub class: String,
    pub factors: Vec<String>,
    pub signer_hint: String,
    pub one_time_code_hash: Vec<u8>,
}

/// New-signer data from an administrator.
#[derive(Debug)]
pub struct Enrolment {
    pub id: String,
    pub display_name: String,
    pub pin: Option<Zeroizing<Vec<u8>>>,
    pub totp_secret: Option<Zeroizing<Vec<u8>>>,
    pub fprint_user: Option<String>,
}

/// Ink of the active session.
#[derive(Debug, Default)]
struct Ink {
    samples: Zeroizing<Vec<PenSampleBytes>>,
    capabilities: Option<PenCapabilities>,
    gaps: u32,
}

/// Samples kept as records so the buffer can be zeroized.
type PenSampleBytes = [u8; PenSample::RECORD_LEN];

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The engine.
#[derive(Debug)]
pub struct Pad {
    config: Config,
    serial: PadSerial,
    ceremonies: Ceremonies,
    store: StateStore,
    signers: Signers,
    attempts: Attempts,
    signer: SharedSigner,
    escrow: Certificate,
    audit: AuditLog<SharedSigner>,
    ink: Ink,
}

impl Pad {
    /// Opens state and audit log; a ceremony interrupted by a crash is
    /// recorded as failed.
    pub fn open(
        config: Config,
        store: StateStore,
        signer: SharedSigner,
        escrow: Certificate,
    ) -> Result<Self, PadError> {
        let serial =
            PadSerial::new(&config.pad_serial).map_err(|e| PadError::BadRequest(e.to_string()))?;
        let audit = AuditLog::open(
            &config.state_dir.join("audit.log"),
            signer.clone(),
            CheckpointPolicy {
                every_records: config.audit.checkpoint_every_records,
                every: Duration::from_secs(config.audit.checkpoint_every_secs),
            },
            SystemTime::now(),
        )
        .map_err(|e| PadError::Audit(e.to_string()))?;
        let signers = match store.read("signers")? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PadError::Audit(format!("signers state: {e}")))?,
            None => Signers::default(),
        };
        let attempts = match store.read("attempts")? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PadError::Audit(format!("attempts state: {e}")))?,
            None => Attempts::default(),
        };
        let mut pad = Self {
            ceremonies: Ceremonies::new(config.queue.max_queued),
            serial,
            config,
            store,
            signers,
            attempts,
            signer,
            escrow,
            audit,
            ink: Ink::default(),
        };
        pad.record(AuditEvent::new(
            EventKind::ServiceStarted,
            Actor::Pad,
            Outcome::Ok,
        ))?;
        if let Some(id) = pad.store.read("active")? {
            if let Ok(bytes) = <[u8; 16]>::try_from(id.as_slice()) {
                let id = SessionId::from_bytes(bytes);
                tracing::warn!(session = %id, "ceremony interrupted by a restart: failed");
                pad.record(
                    AuditEvent::new(EventKind::SessionFailed, Actor::Pad, Outcome::Failed)
                        .with_session(id)
                        .with_detail("interrupted by a restart of the daemon"),
                )?;
            }
            pad.store.remove("active")?;
        }
        pad.sweep_packages()?;
        Ok(pad)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn record(&mut self, event: AuditEvent) -> Result<(), PadError> {
        self.audit
            .append(SystemTime::now(), &event)
            .map(|_| ())
            .map_err(|e| PadError::Audit(e.to_string()))
    }

    fn save_attempts(&self) -> Result<(), PadError> {
        let json = Zeroizing::new(
            serde_json::to_vec(&self.attempts).map_err(|e| PadError::Audit(e.to_string()))?,
        );
        Ok(self.store.write("attempts", &json)?)
    }

    fn save_signers(&self) -> Result<(), PadError> {
        let json = Zeroizing::new(
            serde_json::to_vec(&self.signers).map_err(|e| PadError::Audit(e.to_string()))?,
        );
        Ok(self.store.write("signers", &json)?)
    }

    /// (active session, its state) for the D-Bus properties.
    pub fn snapshot(&self) -> (Option<SessionId>, StateName) {
        match self.ceremonies.active() {
            Some(s) => (Some(s.id()), s.state_name()),
            None => (None, StateName::Completed),
        }
    }

    /// State of any known session.
    pub fn state_of(&self, id: SessionId) -> Option<State> {
        self.ceremonies.state_of(id).or_else(|| {
            self.store
                .read(&format!("packages/{id}"))
                .ok()
                .flatten()
                .map(|_| State::Completed)
        })
    }

    pub fn ink_samples(&self) -> usize {
        self.ink.samples.len()
    }

    pub fn training(&self) -> bool {
        self.config.training
    }

    /// Validates, resolves policy and queues a session.
    pub fn create_session(
        &mut self,
        req: CreateRequest,
        client: ClientIdentity,
    ) -> Result<SessionId, PadError> {
        let actor = Actor::Local { uid: client.uid };
        let result = self.build_request(req, client);
        let request = match result {
            Ok(r) => r,
            Err(e) => {
                self.record(
                    AuditEvent::new(EventKind::SessionRejected, actor, Outcome::Denied)
                        .with_detail(e.to_string()),
                )?;
                return Err(e);
            }
        };
        let id = SessionId::random();
        let document = request.document.clone();
        let now = Instant::now();
        match self.ceremonies.submit(Session::new(id, request, now), now) {
            Ok(id) => {
                self.record(
                    AuditEvent::new(EventKind::SessionCreated, actor, Outcome::Ok)
                        .with_session(id)
                        .with_document(&document),
                )?;
                self.mark_active()?;
                Ok(id)
            }
            Err(e) => {
                self.record(
                    AuditEvent::new(EventKind::SessionRejected, actor, Outcome::Denied)
                        .with_detail(e.to_string()),
                )?;
                Err(e.into())
            }
        }
    }

    fn build_request(
        &self,
        req: CreateRequest,
        client: ClientIdentity,
    ) -> Result<SessionRequest, PadError> {
        let limits = &self.config.limits;
        let alg = DigestAlgorithm::from_name(&req.digest_algorithm)
            .map_err(|e| PadError::BadRequest(e.to_string()))?;
        let document = DocumentDigest::new(alg, req.digest)
            .map_err(|e| PadError::BadRequest(e.to_string()))?;
        if req.title.chars().count() > limits.max_title_chars {
            return Err(PadError::TooLarge(format!(
                "title has more than {} characters",
                limits.max_title_chars
            )));
        }
        if req.pages.is_empty() {
            return Err(PadError::BadRequest(
                "a session needs at least one page".into(),
            ));
        }
        if req.pages.len() > limits.max_pages {
            return Err(PadError::TooLarge(format!(
                "{} pages, at most {}",
                req.pages.len(),
                limits.max_pages
            )));
        }
        let mut total = 0usize;
        for (i, p) in req.pages.iter().enumerate() {
            if p.len() > limits.max_page_bytes {
                return Err(PadError::TooLarge(format!(
                    "page {i} has {} bytes, at most {}",
                    p.len(),
                    limits.max_page_bytes
                )));
            }
            if !p.starts_with(b"\x89PNG\r\n\x1a\n") {
                return Err(PadError::BadRequest(format!("page {i} is not a PNG image")));
            }
            total += p.len();
        }
        if total > limits.max_total_bytes {
            return Err(PadError::TooLarge(format!(
                "pages total {total} bytes, at most {}",
                limits.max_total_bytes
            )));
        }
        let one_time_code_hash = match req.one_time_code_hash.len() {
            0 => None,
            32 => {
                let mut h = [0u8; 32];
                h.copy_from_slice(&req.one_time_code_hash);
                Some(h)
            }
            n => {
                return Err(PadError::BadRequest(format!(
                    "one-time code hash has {n} bytes, expected 32 (SHA-256)"
                )))
            }
        };
        let signer_hint = (!req.signer_hint.is_empty()).then_some(req.signer_hint);
        let enrolled = signer_hint.as_deref().and_then(|id| self.signers.get(id));
        let can = Capabilities {
            signer_pin: enrolled.is_some_and(|s| s.pin_verifier.is_some()),
            signer_totp: enrolled.is_some_and(|s| s.totp_secret.is_some()),
            signer_references: enrolled.is_some_and(|s| !s.references.is_empty()),
            one_time_code: one_time_code_hash.is_some(),
            fingerprint_reader: self.config.auth.fingerprint_reader
                && enrolled.is_some_and(|s| s.fprint_user.is_some()),
        };
        let class = if req.class.is_empty() {
            "default".to_owned()
        } else {
            req.class
        };
        let requested = parse_factors(&req.factors)?;
        let required: BTreeSet<Factor> = self.config.policy().resolve(&class, &requested, &can)?;
        Ok(SessionRequest {
            document,
            title: req.title,
            pages: req.pages.into_iter().map(Page::new).collect(),
            class,
            required,
            signer_hint,
            one_time_code_hash,
            client,
        })
    }

    /// Writes (or clears) the marker of the ceremony in progress.
    fn mark_active(&mut self) -> Result<(), PadError> {
        match self
            .ceremonies
            .active()
            .filter(|s| !s.state_name().is_terminal())
        {
            Some(s) => self.store.write("active", s.id().as_bytes())?,
            None => {
                self.store.remove("active")?;
            }
        }
        Ok(())
    }

    /// Expiry, queue promotion, package retention. Returns changed sessions.
    pub fn tick(&mut self) -> Result<Vec<(SessionId, StateName)>, PadError> {
        let timeouts = self.config.timeouts();
        let changed = self.ceremonies.tick(Instant::now(), &timeouts);
        for (id, state) in &changed {
            if *state == StateName::Expired {
                self.record(
                    AuditEvent::new(EventKind::SessionExpired, Actor::Pad, Outcome::Failed)
                        .with_session(*id),
                )?;
            }
        }
        if self
            .ceremonies
            .active()
            .is_none_or(|s| s.state_name() != StateName::Signing)
        {
            self.ink = Ink::default();
        }
        self.mark_active()?;
        self.sweep_packages()?;
        Ok(changed)
    }

    /// When `tick` should run next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.ceremonies.next_deadline(&self.config.timeouts())
    }

    pub fn cancel(&mut self, id: SessionId, uid: u32) -> Result<(), PadError> {
        self.ceremonies
            .cancel(id, "cancelled by the host", Instant::now())?;
        self.record(
            AuditEvent::new(
                EventKind::SessionCancelled,
                Actor::Local { uid },
                Outcome::Ok,
            )
            .with_session(id),
        )?;
        self.tick()?;
        Ok(())
    }

    /// The page image to show.
    pub fn page(&mut self, id: SessionId, index: usize) -> Result<Vec<u8>, PadError> {
        let s = self.ceremonies.active_mut(id)?;
        let count = s.request().pages.len();
        s.request()
            .pages
            .get(index)
            .map(|p| p.png.clone())
            .ok_or(PadError::Session(SessionError::NoSuchPage { index, count }))
    }

    pub fn page_shown(
        &mut self,
        id: SessionId,
        index: usize,
        digest: &[u8],
    ) -> Result<(), PadError> {
        let digest = DocumentDigest::new(DigestAlgorithm::Sha256, digest.to_vec())
            .map_err(|e| PadError::BadRequest(e.to_string()))?;
        self.ceremonies
            .active_mut(id)?
            .page_shown(index, &digest, Instant::now())?;
        self.record(
            AuditEvent::new(EventKind::PageShown, Actor::Pad, Outcome::Ok)
                .with_session(id)
                .with_digest(
                    &format!("page-{}", index + 1),
                    DigestAlgorithm::Sha256,
                    digest.as_bytes(),
                ),
        )?;
        Ok(())
    }

    /// Common frame of a factor attempt: state and policy check, lockout
    /// check, the check itself, counting, audit.
    fn attempt(
        &mut self,
        id: SessionId,
        factor: Factor,
        check: impl FnOnce(&mut Self, Option<&str>) -> Result<String, String>,
    ) -> Result<(), PadError> {
        let session = self.ceremonies.active_mut(id)?;
        session.check_factor(factor)?;
        let signer = session.request().signer_hint.clone();
        let lockout = self.config.lockout();
        if let Err(refusal) = self.attempts.check(signer.as_deref(), now_ms(), &lockout) {
            self.record(
                AuditEvent::new(
                    EventKind::AuthAttempt,
                    actor_of(signer.as_deref()),
                    Outcome::Denied,
                )
                .with_session(id)
                .with_detail(format!("{factor}: {refusal}")),
            )?;
            return Err(refusal.into());
        }
        match check(self, signer.as_deref()) {
            Ok(detail) => {
                self.attempts.succeeded(signer.as_deref());
                self.save_attempts()?;
                self.ceremonies
                    .active_mut(id)?
                    .factor_passed(factor, detail)?;
                self.record(
                    AuditEvent::new(
                        EventKind::AuthAttempt,
                        actor_of(signer.as_deref()),
                        Outcome::Ok,
                    )
                    .with_session(id)
                    .with_detail(factor.as_str()),
                )?;
                Ok(())
            }
            Err(why) => {
                self.attempts.failed(signer.as_deref(), now_ms());
                self.save_attempts()?;
                self.record(
                    AuditEvent::new(
                        EventKind::AuthAttempt,
                        actor_of(signer.as_deref()),
                        Outcome::Denied,
                    )
                    .with_session(id)
                    .with_detail(format!("{factor}: {why}")),
                )?;
                if let Err(Refusal::LockedOut { .. }) =
                    self.attempts.check(signer.as_deref(), now_ms(), &lockout)
                {
                    self.record(
                        AuditEvent::new(
                            EventKind::SignerLockedOut,
                            actor_of(signer.as_deref()),
                            Outcome::Denied,
                        )
                        .with_session(id),
                    )?;
                }
                Err(PadError::AuthFailed(format!("{factor}: {why}")))
            }
        }
    }

    pub fn submit_pin(&mut self, id: SessionId, pin_bytes: &[u8]) -> Result<(), PadError> {
        self.attempt(id, Factor::Pin, |pad, signer| {
            let verifier = signer
                .and_then(|s| pad.signers.get(s))
                .and_then(|s| s.pin_verifier.clone())
                .ok_or("no PIN enrolled")?;
            match pin::check_pin(&verifier, pin_bytes) {
                Ok(true) => Ok("PIN verified against the enrolled Argon2id verifier".into()),
                Ok(false) => Err("wrong PIN".into()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    pub fn submit_one_time_code(&mut self, id: SessionId, code: &[u8]) -> Result<(), PadError> {
        let hash = self.ceremonies.active_mut(id)?.request().one_time_code_hash;
        self.attempt(id, Factor::OneTimeCode, |_, _| match hash {
            Some(h) if pin::check_one_time_code(&h, code) => {
                Ok("one-time code matched the host's hash".into())
            }
            Some(_) => Err("wrong code".into()),
            None => Err("no code was issued".into()),
        })
    }

    pub fn submit_totp(&mut self, id: SessionId, code: &str) -> Result<(), PadError> {
        let now = now_ms() / 1000;
        self.attempt(id, Factor::Totp, |pad, signer| {
            let signer = signer.ok_or("no signer")?;
            let s = pad.signers.get_mut(signer).map_err(|e| e.to_string())?;
            let secret = s.totp_secret.clone().ok_or("no TOTP enrolled")?;
            let check = TotpCheck::new(&secret).map_err(|e| e.to_string())?;
            match check.verify(code, now, s.totp_last_step) {
                Ok(step) => {
                    s.totp_last_step = Some(step);
                    pad.save_signers().map_err(|e| e.to_string())?;
                    Ok("TOTP (RFC 6238) accepted".into())
                }
                Err(TotpError::Replayed) => Err("code already used".into()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// Result of a fingerprint check made by fprintd.
    pub fn fingerprint_result(
        &mut self,
        id: SessionId,
        matched: Result<bool, String>,
    ) -> Result<(), PadError> {
        self.attempt(id, Factor::Fingerprint, |_, _| match matched {
            Ok(true) => Ok("fprintd: verify-match".into()),
            Ok(false) => Err("fprintd: verify-no-match".into()),
            Err(e) => Err(e),
        })
    }

    /// The fprintd user name of the active session's signer.
    pub fn fprint_user(&mut self, id: SessionId) -> Result<String, PadError> {
        let s = self.ceremonies.active_mut(id)?;
        s.check_factor(Factor::Fingerprint)?;
        let hint = s.request().signer_hint.clone().unwrap_or_default();
        self.signers
            .get(&hint)
            .and_then(|s| s.fprint_user.clone())
            .ok_or(PadError::Policy(PolicyError::Unavailable {
                factor: Factor::Fingerprint,
                why: "signer has no fingerprint enrolment",
            }))
    }

    pub fn start_signing(&mut self, id: SessionId) -> Result<(), PadError> {
        self.ceremonies
            .active_mut(id)?
            .start_signing(Instant::now())?;
        self.ink = Ink::default();
        self.record(
            AuditEvent::new(EventKind::SigningStarted, Actor::Pad, Outcome::Ok).with_session(id),
        )
    }

    /// Samples from the pen while signing; ignored in any other state.
    /// Returns `false` when the pen was lost (the session then fails).
    pub fn ink(
        &mut self,
        id: SessionId,
        capabilities: &PenCapabilities,
        batch: &[(PenSample, u16)],
    ) -> Result<bool, PadError> {
        let Ok(s) = self.ceremonies.active_mut(id) else {
            return Ok(true);
        };
        if s.state_name() != StateName::Signing {
            return Ok(true);
        }
        for (sample, raw_flags) in batch {
            if raw_flags & crate::capture::DEVICE_LOST != 0 {
                s.fail("the pen was lost mid-signature", Instant::now())?;
                self.ink = Ink::default();
                self.record(
                    AuditEvent::new(EventKind::SessionFailed, Actor::Pad, Outcome::Failed)
                        .with_session(id)
                        .with_detail("pen lost mid-signature"),
                )?;
                self.tick()?;
                return Ok(false);
            }
            if sample
                .flags
                .contains(signpad_types::SampleFlags::GAP_BEFORE)
            {
                self.ink.gaps += 1;
            }
            self.ink.samples.push(sample.to_record());
        }
        self.ink.capabilities = Some(capabilities.clone());
        Ok(true)
    }

    pub fn stop_signing(&mut self, id: SessionId) -> Result<(), PadError> {
        if self.ink.samples.is_empty() {
            return Err(PadError::BadRequest("nothing was written yet".into()));
        }
        self.ceremonies
            .active_mut(id)?
            .stop_signing(Instant::now())?;
        Ok(())
    }

    pub fn clear(&mut self, id: SessionId) -> Result<(), PadError> {
        self.ceremonies.active_mut(id)?.clear(Instant::now())?;
        self.ink = Ink::default();
        self.record(
            AuditEvent::new(EventKind::InkCleared, Actor::Pad, Outcome::Ok).with_session(id),
        )
    }

    fn samples(&self) -> PlainSamples {
        zeroize::Zeroizing::new(
            self.ink
                .samples
                .iter()
                .map(PenSample::from_record)
                .collect(),
        )
    }

    /// Checks signature dynamics when required, then seals (signing through
    /// keyd) and keeps the package until fetched or past retention.
    pub fn confirm(&mut self, id: SessionId) -> Result<(), PadError> {
        let samples = self.samples();
        let needs_dynamics = {
            let s = self.ceremonies.active_mut(id)?;
            if s.state_name() != StateName::Confirming {
                return Err(SessionError::IllegalTransition {
                    from: s.state_name(),
                    action: crate::session::Action::Confirm,
                }
                .into());
            }
            s.outstanding().contains(&Factor::SignatureDynamics)
        };
        if needs_dynamics {
            let threshold = self.config.auth.dynamics_threshold;
            let result = self.attempt(id, Factor::SignatureDynamics, |pad, signer| {
                let refs = signer
                    .and_then(|s| pad.signers.get(s))
                    .map(|s| s.references.clone())
                    .unwrap_or_default();
                let candidate = Template::from_samples(&samples).map_err(|e| e.to_string())?;
                let m =
                    dynamics::compare(&candidate, &refs, threshold).map_err(|e| e.to_string())?;
                if m.accepted {
                    Ok(format!("score {:.2} (threshold {threshold:.2})", m.score))
                } else {
                    Err(format!(
                        "score {:.2} above threshold {threshold:.2}",
                        m.score
                    ))
                }
            });
            if let Err(e) = result {
                // The signer writes again.
                let _ = self.clear(id);
                return Err(e);
            }
        }
        self.ceremonies.active_mut(id)?.confirm(Instant::now())?;
        self.record(
            AuditEvent::new(EventKind::SignatureConfirmed, Actor::Pad, Outcome::Ok)
                .with_session(id),
        )?;
        match self.seal(id, &samples) {
            Ok(()) => {
                self.ceremonies.active_mut(id)?.complete(Instant::now())?;
                self.ink = Ink::default();
                self.tick()?;
                Ok(())
            }
            Err(e) => {
                self.ceremonies
                    .active_mut(id)?
                    .fail(e.to_string(), Instant::now())?;
                self.ink = Ink::default();
                self.record(
                    AuditEvent::new(EventKind::SessionFailed, Actor::Pad, Outcome::Failed)
                        .with_session(id)
                        .with_detail(e.to_string()),
                )?;
                self.tick()?;
                Err(e)
            }
        }
    }

    fn seal(&mut self, id: SessionId, samples: &[PenSample]) -> Result<(), PadError> {
        let s = self.ceremonies.active_mut(id)?;
        let capabilities = self
            .ink
            .capabilities
            .clone()
            .ok_or_else(|| PadError::Sealing("no pen capabilities".into()))?;
        let stats = ink_stats(samples);
        let strokes = split_strokes(samples);
        let png = render_png(&strokes, &RenderOptions::sized(800, 300))
            .map_err(|e| PadError::Sealing(e.to_string()))?;
        let now = SystemTime::now();
        let ceremony = CeremonyRecord {
            pad_serial: self.serial.clone(),
            session_id: id,
            document_title: s.request().title.clone(),
            pages_shown: s.shown_pages().to_vec(),
            auth_factors: s
                .factors()
                .iter()
                .map(|f| AuthFactorUse {
                    factor: f.factor.to_record(),
                    detail: Some(f.detail.clone()),
                })
                .collect(),
            training: self.config.training,
            capture: CaptureStatistics {
                sample_count: u32::try_from(stats.samples).unwrap_or(u32::MAX),
                duration_ms: u32::try_from(stats.duration_us / 1000).unwrap_or(u32::MAX),
                stroke_count: u32::try_from(stats.strokes).unwrap_or(u32::MAX),
                gap_count: self.ink.gaps,
                device_name: capabilities.name.clone(),
            },
            software_version: format!("signpadd {}", env!("CARGO_PKG_VERSION")),
        };
        let document = s.request().document.clone();
        let sealed = seal_ceremony(
            SealRequest {
                document_digest: document.clone(),
                ceremony,
                capabilities: &capabilities,
                samples,
                capture: CaptureInfo {
                    captured_at: capture_date_time(now),
                    device_vendor: capabilities.vendor,
                    device_product: capabilities.product,
                    device_name: capabilities.name.clone(),
                },
                signature_png: &png,
                escrow_certificate: &self.escrow,
                signing_time: now,
            },
            &self.signer,
            &mut OsRng,
        )
        .map_err(|e| PadError::Sealing(e.to_string()))?;
        let mut file = Vec::with_capacity(16 + sealed.package.len() + png.len());
        file.extend_from_slice(&now_ms().to_le_bytes());
        file.extend_from_slice(
            &u64::try_from(sealed.package.len())
                .unwrap_or(0)
                .to_le_bytes(),
        );
        file.extend_from_slice(&sealed.package);
        file.extend_from_slice(&png);
        self.store.write(&format!("packages/{id}"), &file)?;
        self.record(
            AuditEvent::new(EventKind::PackageSealed, Actor::Pad, Outcome::Ok)
                .with_session(id)
                .with_document(&document)
                .with_digest(
                    "package",
                    DigestAlgorithm::Sha256,
                    &DigestAlgorithm::Sha256.hash(&sealed.package),
                )
                .with_detail(if self.config.training {
                    "training"
                } else {
                    "binding"
                }),
        )?;
        Ok(())
    }

    /// The package and signature image of a completed session; deleted once
    /// fetched.
    pub fn take_package(
        &mut self,
        id: SessionId,
        uid: u32,
    ) -> Result<(Vec<u8>, Vec<u8>), PadError> {
        let name = format!("packages/{id}");
        let file = self.store.read(&name)?.ok_or(PadError::NoPackage(id))?;
        let (package, png) = split_package_file(&file).ok_or(PadError::NoPackage(id))?;
        self.store.remove(&name)?;
        self.record(
            AuditEvent::new(EventKind::PackageFetched, Actor::Local { uid }, Outcome::Ok)
                .with_session(id),
        )?;
        Ok((package, png))
    }

    fn sweep_packages(&mut self) -> Result<(), PadError> {
        let limit = self.config.retention.package_secs.saturating_mul(1000);
        let now = now_ms();
        for name in self.store.list("packages")? {
            let expired = match self.store.read(&name) {
                Ok(Some(f)) => f
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
                    .is_none_or(|t| now.saturating_sub(t) >= limit),
                Ok(None) => false,
                Err(_) => true,
            };
            if expired {
                self.store.remove(&name)?;
                let id = name
                    .strip_prefix("packages/")
                    .and_then(|s| SessionId::parse(s).ok());
                let mut ev = AuditEvent::new(EventKind::PackageDeleted, Actor::Pad, Outcome::Ok)
                    .with_detail("retention time passed");
                if let Some(id) = id {
                    ev = ev.with_session(id);
                }
                self.record(ev)?;
            }
        }
        Ok(())
    }

    // ---- enrolment -------------------------------------------------------

    pub fn enrol(&mut self, e: Enrolment, uid: u32) -> Result<(), PadError> {
        let pin_verifier = match &e.pin {
            Some(p) => {
                Some(pin::make_verifier(p).map_err(|e| PadError::BadRequest(e.to_string()))?)
            }
            None => None,
        };
        if let Some(secret) = &e.totp_secret {
            TotpCheck::new(secret).map_err(|e| PadError::BadRequest(e.to_string()))?;
        }
        self.signers.add(Signer {
            id: e.id.clone(),
            display_name: e.display_name,
            pin_verifier,
            totp_secret: e.totp_secret,
            totp_last_step: None,
            fprint_user: e.fprint_user,
            references: Vec::new(),
        })?;
        self.save_signers()?;
        self.record(
            AuditEvent::new(EventKind::SignerEnrolled, Actor::Local { uid }, Outcome::Ok)
                .with_detail(format!("signer {}", e.id)),
        )
    }

    /// Adds a signature reference from recorded samples.
    pub fn add_reference(
        &mut self,
        id: &str,
        samples: &[PenSample],
        uid: u32,
    ) -> Result<(), PadError> {
        let t = Template::from_samples(samples).map_err(|e| PadError::BadRequest(e.to_string()))?;
        self.signers.get_mut(id)?.references.push(t);
        self.save_signers()?;
        self.record(
            AuditEvent::new(EventKind::SignerUpdated, Actor::Local { uid }, Outcome::Ok)
                .with_detail(format!("signer {id}: signature reference added")),
        )
    }

    pub fn list_signers(&self) -> Vec<SignerSummary> {
        self.signers.list()
    }

    pub fn export_signer(&mut self, id: &str, uid: u32) -> Result<String, PadError> {
        let json = self.signers.export(id)?;
        self.record(
            AuditEvent::new(
                EventKind::SignerDataExported,
                Actor::Local { uid },
                Outcome::Ok,
            )
            .with_detail(format!("signer {id}")),
        )?;
        Ok(json)
    }

    pub fn erase_signer(&mut self, id: &str, uid: u32) -> Result<(), PadError> {
        self.signers.remove(id)?;
        self.attempts.unlock(Some(id));
        self.save_signers()?;
        self.save_attempts()?;
        self.record(
            AuditEvent::new(
                EventKind::SignerDataErased,
                Actor::Local { uid },
                Outcome::Ok,
            )
            .with_detail(format!("signer {id}")),
        )
    }

    pub fn unlock(&mut self, signer: Option<&str>, uid: u32) -> Result<(), PadError> {
        self.attempts.unlock(signer);
        self.save_attempts()?;
        self.record(
            AuditEvent::new(EventKind::PadUnlocked, Actor::Local { uid }, Outcome::Ok)
                .with_detail(signer.map_or("pad".to_owned(), |s| format!("signer {s}"))),
        )
    }

    /// Periodic audit checkpoint.
    pub fn audit_tick(&mut self) -> Result<(), PadError> {
        self.audit
            .tick(SystemTime::now())
            .map(|_| ())
            .map_err(|e| PadError::Audit(e.to_string()))
    }
}

/// Decoded samples, zeroized when dropped (biometric data).
type PlainSamples = zeroize::Zeroizing<Vec<PenSample>>;

fn actor_of(signer: Option<&str>) -> Actor {
    match signer {
        Some(id) => Actor::Signer { id: id.to_owned() },
        None => Actor::Pad,
    }
}

fn split_package_file(file: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let len = usize::try_from(u64::from_le_bytes(file.get(8..16)?.try_into().ok()?)).ok()?;
    let package = file.get(16..16 + len)?.to_vec();
    let png = file.get(16 + len..)?.to_vec();
    Some((package, png))
}

fn capture_date_time(t: SystemTime) -> CaptureDateTime {
    let dt =
        x509_cert::der::DateTime::from_system_time(t).unwrap_or(x509_cert::der::DateTime::INFINITY);
    let millis = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    CaptureDateTime {
        year: dt.year(),
        month: dt.month(),
        day: dt.day(),
        hour: dt.hour(),
        minute: dt.minutes(),
        second: dt.seconds(),
        millisecond: u16::try_from(millis).unwrap_or(0),
    }
}
