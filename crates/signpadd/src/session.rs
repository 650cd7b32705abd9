//! The signing ceremony as a state machine, and the queue of ceremonies
//! waiting for the one screen of the pad.
//!
//! ```text
//! queued ─► reviewing ─► authenticating ─► signing ◄─► confirming ─► sealing ─► completed
//!   │           │              │              │            │            │
//!   └───────────┴──────────────┴──────────────┴────────────┴────────────┴──► cancelled / failed / expired
//! ```
//!
//! Pure logic: no I/O, no clock of its own (every transition is given `now`),
//! no secrets. Illegal transitions are refused with a named error and leave
//! the session unchanged.
//!
//! WYSIWYS: a session leaves `reviewing` only when every page was reported
//! shown with the digest of the exact image the pad holds; the digests of the
//! shown pages, in page order, are what goes into the ceremony record.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use signpad_types::{DocumentDigest, SessionId};

use crate::policy::Factor;

/// Name of a state, for errors, D-Bus properties and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateName {
    Queued,
    Reviewing,
    Authenticating,
    Signing,
    Confirming,
    Sealing,
    Completed,
    Cancelled,
    Failed,
    Expired,
}

impl StateName {
    /// The wire name (`"authenticating"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Reviewing => "reviewing",
            Self::Authenticating => "authenticating",
            Self::Signing => "signing",
            Self::Confirming => "confirming",
            Self::Sealing => "sealing",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    /// Whether no transition leaves this state.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Cancelled | Self::Failed | Self::Expired
        )
    }
}

impl fmt::Display for StateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller tried to do; named in [`SessionError::IllegalTransition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Activate,
    ShowPage,
    Authenticate,
    StartSigning,
    StopSigning,
    Clear,
    Confirm,
    Complete,
    Fail,
    Cancel,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Activate => "activate",
            Self::ShowPage => "show a page",
            Self::Authenticate => "authenticate",
            Self::StartSigning => "start signing",
            Self::StopSigning => "stop signing",
            Self::Clear => "clear the signature",
            Self::Confirm => "confirm",
            Self::Complete => "complete",
            Self::Fail => "fail",
            Self::Cancel => "cancel",
        })
    }
}

/// The state of one session, with the data that only exists in that state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Queued,
    /// The signer reviews the document; `shown` holds the page indices seen.
    Reviewing {
        shown: BTreeSet<usize>,
    },
    Authenticating,
    Signing,
    Confirming,
    Sealing,
    Completed,
    Cancelled {
        reason: String,
    },
    Failed {
        reason: String,
    },
    Expired {
        during: StateName,
    },
}

impl State {
    pub fn name(&self) -> StateName {
        match self {
            Self::Queued => StateName::Queued,
            Self::Reviewing { .. } => StateName::Reviewing,
            Self::Authenticating => StateName::Authenticating,
            Self::Signing => StateName::Signing,
            Self::Confirming => StateName::Confirming,
            Self::Sealing => StateName::Sealing,
            Self::Completed => StateName::Completed,
            Self::Cancelled { .. } => StateName::Cancelled,
            Self::Failed { .. } => StateName::Failed,
            Self::Expired { .. } => StateName::Expired,
        }
    }
}

/// Refusals of the state machine. The session is unchanged after each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("cannot {action} in state {from}")]
    IllegalTransition { from: StateName, action: Action },
    #[error("pages {missing:?} were not shown yet (every page must be shown before signing)")]
    PagesNotShown { missing: Vec<usize> },
    #[error("page {index} does not exist (the document has {count} pages)")]
    NoSuchPage { index: usize, count: usize },
    #[error("page {index} was shown with digest {shown}, but the pad holds {expected}")]
    PageMismatch {
        index: usize,
        shown: String,
        expected: String,
    },
    #[error("authentication factors still required: {}", list(missing))]
    FactorsOutstanding { missing: Vec<Factor> },
    #[error("factor {0} is not required by this session's policy")]
    FactorNotRequired(Factor),
    #[error("the queue is full ({0} sessions wait); try again later")]
    QueueFull(usize),
    #[error("session {0} is not known")]
    UnknownSession(SessionId),
    #[error("session {0} is not the active session")]
    NotActive(SessionId),
}

fn list(factors: &[Factor]) -> String {
    factors
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One page image to show, with the digest the UI must report back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub png: Vec<u8>,
    pub digest: DocumentDigest,
}

impl Page {
    /// A page whose digest is the SHA-256 of its image.
    pub fn new(png: Vec<u8>) -> Self {
        let digest = DocumentDigest::of(signpad_types::DigestAlgorithm::Sha256, &png);
        Self { png, digest }
    }
}

/// Who asked for the session (from the bus, not from the request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub uid: u32,
    pub bus_name: String,
}

/// What the host asked for, already validated and resolved against policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    pub document: DocumentDigest,
    pub title: String,
    pub pages: Vec<Page>,
    /// Document class (names a policy in the config).
    pub class: String,
    /// The factors this session requires (pad minimum ∪ class ∪ request).
    pub required: BTreeSet<Factor>,
    /// Enrolled signer id the host expects, if any.
    pub signer_hint: Option<String>,
    /// SHA-256 of the one-time code sent to the signer out of band.
    pub one_time_code_hash: Option<[u8; 32]>,
    pub client: ClientIdentity,
}

/// A factor the signer passed, with a non-secret detail for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorOutcome {
    pub factor: Factor,
    pub detail: String,
}

/// Time allowed in each non-terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub queued: Duration,
    pub reviewing: Duration,
    pub authenticating: Duration,
    pub signing: Duration,
    pub confirming: Duration,
    pub sealing: Duration,
}

impl Timeouts {
    /// The limit of `state`, `None` for terminal states.
    pub fn of(&self, state: StateName) -> Option<Duration> {
        match state {
            StateName::Queued => Some(self.queued),
            StateName::Reviewing => Some(self.reviewing),
            StateName::Authenticating => Some(self.authenticating),
            StateName::Signing => Some(self.signing),
            StateName::Confirming => Some(self.confirming),
            StateName::Sealing => Some(self.sealing),
            _ => None,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        let s = Duration::from_secs;
        Self {
            queued: s(600),
            reviewing: s(600),
            authenticating: s(180),
            signing: s(120),
            confirming: s(120),
            sealing: s(60),
        }
    }
}

/// One signing session.
#[derive(Debug, Clone)]
pub struct Session {
    id: SessionId,
    request: SessionRequest,
    state: State,
    entered: Instant,
    shown_pages: Vec<DocumentDigest>,
    factors: Vec<FactorOutcome>,
}

impl Session {
    /// A new queued session.
    pub fn new(id: SessionId, request: SessionRequest, now: Instant) -> Self {
        Self {
            id,
            request,
            state: State::Queued,
            entered: now,
            shown_pages: Vec::new(),
            factors: Vec::new(),
        }
    }

    pub fn id(&self) -> SessionId {
        self.id
    }
    pub fn request(&self) -> &SessionRequest {
        &self.request
    }
    pub fn state(&self) -> &State {
        &self.state
    }
    pub fn state_name(&self) -> StateName {
        self.state.name()
    }
    /// Digests of the pages shown, in page order (complete once reviewed).
    pub fn shown_pages(&self) -> &[DocumentDigest] {
        &self.shown_pages
    }
    /// Factors passed so far, in the order they were passed.
    pub fn factors(&self) -> &[FactorOutcome] {
        &self.factors
    }
    /// When the current state was entered.
    pub fn entered(&self) -> Instant {
        self.entered
    }

    fn illegal(&self, action: Action) -> SessionError {
        SessionError::IllegalTransition {
            from: self.state_name(),
            action,
        }
    }

    fn enter(&mut self, state: State, now: Instant) {
        self.state = state;
        self.entered = now;
    }

    /// queued → reviewing.
    pub fn activate(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.state {
            State::Queued => {
                self.enter(
                    State::Reviewing {
                        shown: BTreeSet::new(),
                    },
                    now,
                );
                Ok(())
            }
            _ => Err(self.illegal(Action::Activate)),
        }
    }

    /// The UI displayed page `index` whose image has `digest`. When the last
    /// unseen page is shown, reviewing → authenticating. Showing a page again
    /// later (the signer pages back) is accepted and changes nothing.
    pub fn page_shown(
        &mut self,
        index: usize,
        digest: &DocumentDigest,
        now: Instant,
    ) -> Result<(), SessionError> {
        let count = self.request.pages.len();
        let in_review = matches!(self.state, State::Reviewing { .. });
        let reviewed = matches!(
            self.state,
            State::Authenticating | State::Signing | State::Confirming
        );
        if !in_review && !reviewed {
            return Err(self.illegal(Action::ShowPage));
        }
        let page = self
            .request
            .pages
            .get(index)
            .ok_or(SessionError::NoSuchPage { index, count })?;
        if &page.digest != digest {
            return Err(SessionError::PageMismatch {
                index,
                shown: digest.to_string(),
                expected: page.digest.to_string(),
            });
        }
        if let State::Reviewing { shown } = &mut self.state {
            shown.insert(index);
            if shown.len() == count {
                self.shown_pages = self
                    .request
                    .pages
                    .iter()
                    .map(|p| p.digest.clone())
                    .collect();
                self.enter(State::Authenticating, now);
            }
        }
        Ok(())
    }

    /// Pages not shown yet (empty once reviewing is over).
    pub fn missing_pages(&self) -> Vec<usize> {
        match &self.state {
            State::Queued => (0..self.request.pages.len()).collect(),
            State::Reviewing { shown } => (0..self.request.pages.len())
                .filter(|i| !shown.contains(i))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Required factors not passed yet. Signature dynamics is checked on the
    /// signature itself, so it is outstanding until confirm.
    pub fn outstanding(&self) -> Vec<Factor> {
        self.request
            .required
            .iter()
            .filter(|f| !self.factors.iter().any(|o| o.factor == **f))
            .copied()
            .collect()
    }

    fn outstanding_before_signing(&self) -> Vec<Factor> {
        self.outstanding()
            .into_iter()
            .filter(|f| *f != Factor::SignatureDynamics)
            .collect()
    }

    /// Whether `factor` may be attempted now (for counting attempts only
    /// where they can succeed).
    pub fn check_factor(&self, factor: Factor) -> Result<(), SessionError> {
        let allowed_state = if factor == Factor::SignatureDynamics {
            StateName::Confirming
        } else {
            StateName::Authenticating
        };
        if self.state_name() != allowed_state {
            return Err(self.illegal(Action::Authenticate));
        }
        if !self.request.required.contains(&factor) {
            return Err(SessionError::FactorNotRequired(factor));
        }
        Ok(())
    }

    /// Records a passed factor (in authenticating; signature dynamics in
    /// confirming).
    pub fn factor_passed(&mut self, factor: Factor, detail: String) -> Result<(), SessionError> {
        self.check_factor(factor)?;
        if !self.factors.iter().any(|o| o.factor == factor) {
            self.factors.push(FactorOutcome { factor, detail });
        }
        Ok(())
    }

    /// authenticating → signing, once every pre-signature factor passed.
    pub fn start_signing(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.state {
            State::Reviewing { .. } => Err(SessionError::PagesNotShown {
                missing: self.missing_pages(),
            }),
            State::Authenticating => {
                let missing = self.outstanding_before_signing();
                if !missing.is_empty() {
                    return Err(SessionError::FactorsOutstanding { missing });
                }
                self.enter(State::Signing, now);
                Ok(())
            }
            _ => Err(self.illegal(Action::StartSigning)),
        }
    }

    /// signing → confirming: the signer finished writing.
    pub fn stop_signing(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.state {
            State::Signing => {
                self.enter(State::Confirming, now);
                Ok(())
            }
            _ => Err(self.illegal(Action::StopSigning)),
        }
    }

    /// signing/confirming → signing: the signature is discarded and the
    /// signer writes again. A signature-dynamics result is discarded too.
    pub fn clear(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.state {
            State::Signing | State::Confirming => {
                self.factors
                    .retain(|o| o.factor != Factor::SignatureDynamics);
                self.enter(State::Signing, now);
                Ok(())
            }
            _ => Err(self.illegal(Action::Clear)),
        }
    }

    /// confirming → sealing, once every required factor passed.
    pub fn confirm(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.state {
            State::Confirming => {
                let missing = self.outstanding();
                if !missing.is_empty() {
                    return Err(SessionError::FactorsOutstanding { missing });
                }
                self.enter(State::Sealing, now);
                Ok(())
            }
            _ => Err(self.illegal(Action::Confirm)),
        }
    }

    /// sealing → completed.
    pub fn complete(&mut self, now: Instant) -> Result<(), SessionError> {
        match self.state {
            State::Sealing => {
                self.enter(State::Completed, now);
                Ok(())
            }
            _ => Err(self.illegal(Action::Complete)),
        }
    }

    /// Any non-terminal state → failed.
    pub fn fail(&mut self, reason: impl Into<String>, now: Instant) -> Result<(), SessionError> {
        if self.state_name().is_terminal() {
            return Err(self.illegal(Action::Fail));
        }
        self.enter(
            State::Failed {
                reason: reason.into(),
            },
            now,
        );
        Ok(())
    }

    /// Any non-terminal state but sealing → cancelled. Sealing cannot be
    /// cancelled: the package is being signed and will be complete or fail.
    pub fn cancel(&mut self, reason: impl Into<String>, now: Instant) -> Result<(), SessionError> {
        if self.state_name().is_terminal() || self.state_name() == StateName::Sealing {
            return Err(self.illegal(Action::Cancel));
        }
        self.enter(
            State::Cancelled {
                reason: reason.into(),
            },
            now,
        );
        Ok(())
    }

    /// When the current state times out.
    pub fn deadline(&self, timeouts: &Timeouts) -> Option<Instant> {
        timeouts
            .of(self.state_name())
            .map(|limit| self.entered + limit)
    }

    /// Moves to expired if the current state's time is up; returns whether.
    pub fn expire_if_due(&mut self, now: Instant, timeouts: &Timeouts) -> bool {
        match self.deadline(timeouts) {
            Some(deadline) if now >= deadline => {
                let during = self.state_name();
                self.enter(State::Expired { during }, now);
                true
            }
            _ => false,
        }
    }
}

/// A session that left the pad, kept briefly so clients can ask how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub id: SessionId,
    pub state: State,
}

/// The one active ceremony and the bounded queue behind it.
#[derive(Debug)]
pub struct Ceremonies {
    active: Option<Session>,
    queue: VecDeque<Session>,
    max_queued: usize,
    finished: VecDeque<Finished>,
}

/// How many finished sessions are remembered.
const FINISHED_KEPT: usize = 64;

impl Ceremonies {
    /// `max_queued` sessions may wait behind the active one.
    pub fn new(max_queued: usize) -> Self {
        Self {
            active: None,
            queue: VecDeque::new(),
            max_queued,
            finished: VecDeque::new(),
        }
    }

    /// Queues a session; it becomes active at once if the pad is idle.
    pub fn submit(&mut self, session: Session, now: Instant) -> Result<SessionId, SessionError> {
        let id = session.id();
        if self.active.is_none() {
            let mut session = session;
            session.activate(now)?;
            self.active = Some(session);
        } else if self.queue.len() >= self.max_queued {
            return Err(SessionError::QueueFull(self.queue.len()));
        } else {
            self.queue.push_back(session);
        }
        Ok(id)
    }

    pub fn active(&self) -> Option<&Session> {
        self.active.as_ref()
    }

    pub fn queued(&self) -> impl Iterator<Item = &Session> {
        self.queue.iter()
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The active session, if it is `id`.
    pub fn active_mut(&mut self, id: SessionId) -> Result<&mut Session, SessionError> {
        match &mut self.active {
            Some(s) if s.id() == id => Ok(s),
            _ if self.queue.iter().any(|s| s.id() == id) => Err(SessionError::NotActive(id)),
            _ => Err(SessionError::UnknownSession(id)),
        }
    }

    /// The state of any known session.
    pub fn state_of(&self, id: SessionId) -> Option<State> {
        if let Some(s) = self.active.as_ref().filter(|s| s.id() == id) {
            return Some(s.state().clone());
        }
        if self.queue.iter().any(|s| s.id() == id) {
            return Some(State::Queued);
        }
        self.finished
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.state.clone())
    }

    /// Cancels the active or a queued session.
    pub fn cancel(
        &mut self,
        id: SessionId,
        reason: &str,
        now: Instant,
    ) -> Result<(), SessionError> {
        if let Some(pos) = self.queue.iter().position(|s| s.id() == id) {
            if let Some(mut s) = self.queue.remove(pos) {
                s.cancel(reason, now)?;
                self.remember(&s);
            }
            return Ok(());
        }
        self.active_mut(id)?.cancel(reason, now)
    }

    fn remember(&mut self, session: &Session) {
        if self.finished.len() >= FINISHED_KEPT {
            self.finished.pop_front();
        }
        self.finished.push_back(Finished {
            id: session.id(),
            state: session.state().clone(),
        });
    }

    /// Expires what is due, retires a finished active session and activates
    /// the next queued one. Returns the sessions whose state changed.
    pub fn tick(&mut self, now: Instant, timeouts: &Timeouts) -> Vec<(SessionId, StateName)> {
        let mut changed = Vec::new();
        if let Some(active) = &mut self.active {
            if active.expire_if_due(now, timeouts) {
                changed.push((active.id(), active.state_name()));
            }
        }
        let mut expired = Vec::new();
        self.queue.retain_mut(|s| {
            if s.expire_if_due(now, timeouts) {
                expired.push(s.clone());
                false
            } else {
                true
            }
        });
        for s in expired {
            changed.push((s.id(), s.state_name()));
            self.remember(&s);
        }
        let finished = self
            .active
            .as_ref()
            .is_some_and(|s| s.state_name().is_terminal());
        if finished {
            if let Some(done) = self.active.take() {
                self.remember(&done);
            }
        }
        while self.active.is_none() {
            let Some(mut next) = self.queue.pop_front() else {
                break;
            };
            if next.activate(now).is_ok() {
                changed.push((next.id(), next.state_name()));
                self.active = Some(next);
            }
        }
        changed
    }

    /// The earliest deadline of any session (to schedule the next tick).
    pub fn next_deadline(&self, timeouts: &Timeouts) -> Option<Instant> {
        self.active
            .iter()
            .chain(self.queue.iter())
            .filter_map(|s| s.deadline(timeouts))
            .min()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use signpad_types::DigestAlgorithm;

    fn request(pages: usize, required: &[Factor]) -> SessionRequest {
        SessionRequest {
            document: DocumentDigest::of(DigestAlgorithm::Sha256, b"document"),
            title: "Loan agreement".into(),
            pages: (0..pages)
                .map(|i| Page::new(format!("page {i}").into_bytes()))
                .collect(),
            class: "default".into(),
            required: required.iter().copied().collect(),
            signer_hint: None,
            one_time_code_hash: None,
            client: ClientIdentity {
                uid: 1000,
                bus_name: ":1.1".into(),
            },
        }
    }

    fn session(pages: usize, required: &[Factor]) -> (Session, Instant) {
        let now = Instant::now();
        (
            Session::new(SessionId::random(), request(pages, required), now),
            now,
        )
    }

    fn show_all(s: &mut Session, now: Instant) {
        for i in 0..s.request().pages.len() {
            let d = s.request().pages[i].digest.clone();
            s.page_shown(i, &d, now).unwrap();
        }
    }

    /// A session driven to `target` along the happy path.
    fn at(target: StateName) -> (Session, Instant) {
        let (mut s, now) = session(2, &[Factor::Pin]);
        type Step<'a> = (StateName, &'a dyn Fn(&mut Session));
        let steps: [Step<'_>; 6] = [
            (StateName::Reviewing, &|s| s.activate(now).unwrap()),
            (StateName::Authenticating, &|s| show_all(s, now)),
            (StateName::Signing, &|s| {
                s.factor_passed(Factor::Pin, "signer alice".into()).unwrap();
                s.start_signing(now).unwrap();
            }),
            (StateName::Confirming, &|s| s.stop_signing(now).unwrap()),
            (StateName::Sealing, &|s| s.confirm(now).unwrap()),
            (StateName::Completed, &|s| s.complete(now).unwrap()),
        ];
        let stop = match target {
            StateName::Cancelled | StateName::Failed | StateName::Expired => {
                StateName::Authenticating
            }
            other => other,
        };
        for (name, step) in steps {
            if s.state_name() == stop {
                break;
            }
            step(&mut s);
            assert_eq!(s.state_name(), name);
        }
        match target {
            StateName::Cancelled => s.cancel("host cancelled", now).unwrap(),
            StateName::Failed => s.fail("keyd unavailable", now).unwrap(),
            StateName::Expired => {
                assert!(s.expire_if_due(now + Duration::from_secs(10_000), &Timeouts::default()))
            }
            _ => {}
        }
        assert_eq!(s.state_name(), target);
        (s, now)
    }

    const ALL: [StateName; 10] = [
        StateName::Queued,
        StateName::Reviewing,
        StateName::Authenticating,
        StateName::Signing,
        StateName::Confirming,
        StateName::Sealing,
        StateName::Completed,
        StateName::Cancelled,
        StateName::Failed,
        StateName::Expired,
    ];

    #[test]
    fn happy_path_records_shown_pages_and_factors() {
        let (s, _) = at(StateName::Completed);
        assert_eq!(s.shown_pages().len(), 2);
        assert_eq!(s.shown_pages()[1], s.request().pages[1].digest);
        assert_eq!(s.factors()[0].factor, Factor::Pin);
    }

    /// Every action from every state: allowed exactly where the diagram says,
    /// a named error elsewhere, and a refused action leaves the state as it was.
    #[test]
    fn every_illegal_transition_is_refused_by_name() {
        type Act = fn(&mut Session, Instant) -> Result<(), SessionError>;
        type Case<'a> = (Action, Act, &'a [StateName]);
        let actions: [Case<'_>; 8] = [
            (Action::Activate, |s, n| s.activate(n), &[StateName::Queued]),
            (
                Action::StartSigning,
                |s, n| s.start_signing(n),
                &[StateName::Authenticating],
            ),
            (
                Action::StopSigning,
                |s, n| s.stop_signing(n),
                &[StateName::Signing],
            ),
            (
                Action::Clear,
                |s, n| s.clear(n),
                &[StateName::Signing, StateName::Confirming],
            ),
            (
                Action::Confirm,
                |s, n| s.confirm(n),
                &[StateName::Confirming],
            ),
            (
                Action::Complete,
                |s, n| s.complete(n),
                &[StateName::Sealing],
            ),
            (
                Action::Fail,
                |s, n| s.fail("x", n),
                &[
                    StateName::Queued,
                    StateName::Reviewing,
                    StateName::Authenticating,
                    StateName::Signing,
                    StateName::Confirming,
                    StateName::Sealing,
                ],
            ),
            (
                Action::Cancel,
                |s, n| s.cancel("x", n),
                &[
                    StateName::Queued,
                    StateName::Reviewing,
                    StateName::Authenticating,
                    StateName::Signing,
                    StateName::Confirming,
                ],
            ),
        ];
        for from in ALL {
            for (action, act, allowed) in &actions {
                let (mut s, now) = at(from);
                // Authenticating has the PIN outstanding: pass it first so
                // that start_signing is refused only for the state.
                if from == StateName::Authenticating {
                    s.factor_passed(Factor::Pin, String::new()).unwrap();
                }
                let result = act(&mut s, now);
                if allowed.contains(&from) {
                    assert!(result.is_ok(), "{action} from {from}: {result:?}");
                } else if from == StateName::Reviewing && *action == Action::StartSigning {
                    assert_eq!(
                        result,
                        Err(SessionError::PagesNotShown {
                            missing: vec![0, 1]
                        })
                    );
                    assert_eq!(s.state_name(), from);
                } else {
                    assert_eq!(
                        result,
                        Err(SessionError::IllegalTransition {
                            from,
                            action: *action
                        }),
                        "{action} from {from}"
                    );
                    assert_eq!(s.state_name(), from, "refused {action} changed the state");
                }
            }
        }
    }

    #[test]
    fn signing_needs_every_page_shown() {
        let (mut s, now) = session(3, &[]);
        s.activate(now).unwrap();
        let d0 = s.request().pages[0].digest.clone();
        let d2 = s.request().pages[2].digest.clone();
        s.page_shown(0, &d0, now).unwrap();
        s.page_shown(2, &d2, now).unwrap();
        assert_eq!(
            s.start_signing(now),
            Err(SessionError::PagesNotShown { missing: vec![1] })
        );
        let d1 = s.request().pages[1].digest.clone();
        s.page_shown(1, &d1, now).unwrap();
        assert_eq!(s.state_name(), StateName::Authenticating);
        // No factors required: signing may start.
        s.start_signing(now).unwrap();
    }

    #[test]
    fn a_page_shown_with_another_digest_is_refused() {
        let (mut s, now) = session(2, &[]);
        s.activate(now).unwrap();
        let wrong = s.request().pages[1].digest.clone();
        let err = s.page_shown(0, &wrong, now).unwrap_err();
        assert!(matches!(err, SessionError::PageMismatch { index: 0, .. }));
        assert_eq!(s.missing_pages(), vec![0, 1]);
    }

    #[test]
    fn a_page_that_does_not_exist_is_refused() {
        let (mut s, now) = session(1, &[]);
        s.activate(now).unwrap();
        let d = s.request().pages[0].digest.clone();
        assert_eq!(
            s.page_shown(5, &d, now),
            Err(SessionError::NoSuchPage { index: 5, count: 1 })
        );
    }

    #[test]
    fn paging_back_after_review_changes_nothing() {
        let (mut s, now) = at(StateName::Signing);
        let d = s.request().pages[0].digest.clone();
        s.page_shown(0, &d, now).unwrap();
        assert_eq!(s.state_name(), StateName::Signing);
    }

    #[test]
    fn signing_needs_every_required_factor() {
        let (mut s, now) = session(1, &[Factor::Pin, Factor::Totp]);
        s.activate(now).unwrap();
        show_all(&mut s, now);
        s.factor_passed(Factor::Pin, String::new()).unwrap();
        assert_eq!(
            s.start_signing(now),
            Err(SessionError::FactorsOutstanding {
                missing: vec![Factor::Totp]
            })
        );
        s.factor_passed(Factor::Totp, String::new()).unwrap();
        s.start_signing(now).unwrap();
    }

    #[test]
    fn a_factor_outside_the_policy_is_refused() {
        let (mut s, now) = at(StateName::Authenticating);
        assert_eq!(
            s.factor_passed(Factor::Totp, String::new()),
            Err(SessionError::FactorNotRequired(Factor::Totp))
        );
        let _ = now;
    }

    #[test]
    fn signature_dynamics_is_checked_at_confirm_and_dropped_by_clear() {
        let (mut s, now) = session(1, &[Factor::SignatureDynamics]);
        s.activate(now).unwrap();
        show_all(&mut s, now);
        // Not before the signature exists.
        assert!(matches!(
            s.factor_passed(Factor::SignatureDynamics, String::new()),
            Err(SessionError::IllegalTransition { .. })
        ));
        s.start_signing(now).unwrap();
        s.stop_signing(now).unwrap();
        assert_eq!(
            s.confirm(now),
            Err(SessionError::FactorsOutstanding {
                missing: vec![Factor::SignatureDynamics]
            })
        );
        s.factor_passed(Factor::SignatureDynamics, "score 0.2".into())
            .unwrap();
        s.clear(now).unwrap();
        s.stop_signing(now).unwrap();
        assert!(
            s.confirm(now).is_err(),
            "clear must drop the dynamics result"
        );
        s.factor_passed(Factor::SignatureDynamics, "score 0.2".into())
            .unwrap();
        s.confirm(now).unwrap();
    }

    #[test]
    fn each_state_expires_after_its_own_timeout() {
        let timeouts = Timeouts {
            queued: Duration::from_secs(1),
            reviewing: Duration::from_secs(2),
            authenticating: Duration::from_secs(3),
            signing: Duration::from_secs(4),
            confirming: Duration::from_secs(5),
            sealing: Duration::from_secs(6),
        };
        for (state, secs) in [
            (StateName::Reviewing, 2),
            (StateName::Authenticating, 3),
            (StateName::Signing, 4),
            (StateName::Confirming, 5),
            (StateName::Sealing, 6),
        ] {
            let (mut s, now) = at(state);
            assert!(!s.expire_if_due(now + Duration::from_secs(secs - 1), &timeouts));
            assert!(s.expire_if_due(now + Duration::from_secs(secs), &timeouts));
            assert_eq!(s.state(), &State::Expired { during: state });
        }
        for terminal in [
            StateName::Completed,
            StateName::Cancelled,
            StateName::Failed,
        ] {
            let (mut s, now) = at(terminal);
            assert!(!s.expire_if_due(now + Duration::from_secs(1_000_000), &timeouts));
        }
    }

    #[test]
    fn one_active_ceremony_and_a_bounded_queue() {
        let now = Instant::now();
        let mut c = Ceremonies::new(1);
        let a = c
            .submit(Session::new(SessionId::random(), request(1, &[]), now), now)
            .unwrap();
        let b = c
            .submit(Session::new(SessionId::random(), request(1, &[]), now), now)
            .unwrap();
        assert_eq!(
            c.submit(Session::new(SessionId::random(), request(1, &[]), now), now),
            Err(SessionError::QueueFull(1))
        );
        assert_eq!(c.active().map(Session::id), Some(a));
        assert_eq!(c.state_of(b), Some(State::Queued));
        assert_eq!(c.active_mut(b).unwrap_err(), SessionError::NotActive(b));
        let unknown = SessionId::random();
        assert_eq!(
            c.active_mut(unknown).unwrap_err(),
            SessionError::UnknownSession(unknown)
        );
        c.cancel(a, "host", now).unwrap();
        let changed = c.tick(now, &Timeouts::default());
        assert_eq!(changed, vec![(b, StateName::Reviewing)]);
        assert!(matches!(c.state_of(a), Some(State::Cancelled { .. })));
    }

    #[test]
    fn a_queued_session_expires_and_can_be_cancelled() {
        let now = Instant::now();
        let timeouts = Timeouts {
            queued: Duration::from_secs(5),
            ..Timeouts::default()
        };
        let mut c = Ceremonies::new(4);
        c.submit(Session::new(SessionId::random(), request(1, &[]), now), now)
            .unwrap();
        let b = c
            .submit(Session::new(SessionId::random(), request(1, &[]), now), now)
            .unwrap();
        let d = c
            .submit(Session::new(SessionId::random(), request(1, &[]), now), now)
            .unwrap();
        c.cancel(d, "host", now).unwrap();
        assert!(matches!(c.state_of(d), Some(State::Cancelled { .. })));
        assert_eq!(
            c.next_deadline(&timeouts),
            Some(now + Duration::from_secs(5))
        );
        let changed = c.tick(now + Duration::from_secs(5), &timeouts);
        assert_eq!(changed, vec![(b, StateName::Expired)]);
        assert_eq!(c.queue_len(), 0);
    }
}
