//! The record format: one JSON object per line, hash-chained.
//!
//! A line is `{"v":1,"seq":N,"time":"…","prev":"<hex>",<body>,"hash":"<hex>"}`
//! followed by `\n`, where `<body>` is exactly one of `"genesis":{…}`,
//! `"event":{…}`, `"checkpoint":{…}` or `"recovered":{…}`. The `hash` is the
//! SHA-256 of the line's own bytes with the final `,"hash":"<hex>"` removed
//! (so of `{…,<body>}`), and `prev` is the `hash` of the record before
//! (all zeros for the genesis record). Hashing the bytes as written, not a
//! re-encoding, means any verifier in any language can check a line with a
//! byte slice and SHA-256, and any changed byte changes the hash.

use crate::event::AuditEvent;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Version written in every record's `v`.
pub const FORMAT_VERSION: u32 = 1;
/// Value of the genesis record's `format`.
pub const FORMAT_NAME: &str = "signpad-audit/1";
/// Longest line (record plus `\n`) a log may hold.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Domain separation for checkpoint signatures.
pub const CHECKPOINT_DOMAIN: &[u8] = b"signpad-audit checkpoint v1\n";

const HASH_PREFIX: &[u8] = b",\"hash\":\"";
const HASH_SUFFIX: &[u8] = b"\"}";
/// Bytes of `,"hash":"<64 hex>"}` at the end of every line.
pub(crate) const HASH_TAIL_LEN: usize = HASH_PREFIX.len() + 64 + HASH_SUFFIX.len();

/// A SHA-256 value, written as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    pub const ZERO: Hash32 = Hash32([0; 32]);

    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses exactly 64 lower-case hex digits.
    pub fn from_hex(text: &[u8]) -> Option<Self> {
        if text.len() != 64
            || !text
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl std::fmt::Display for Hash32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash32({self})")
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_hex(text.as_bytes())
            .ok_or_else(|| serde::de::Error::custom("expected 64 lower-case hex digits"))
    }
}

/// First record of every log: what the log is and which pad writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Subject of the pad certificate when the log was created.
    pub pad_subject: String,
    /// SHA-256 of the pad certificate (DER) when the log was created.
    pub pad_cert_sha256: Hash32,
    /// The checkpoint policy the log was created with.
    pub checkpoint_every_records: u64,
    pub checkpoint_every_secs: u64,
}

/// A signed statement by the pad key that the chain up to `covers_seq` has
/// the head `head`. The record's own `prev` equals `head` and its `seq` is
/// `covers_seq + 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub covers_seq: u64,
    pub head: Hash32,
    /// SHA-256 of the DER certificate whose key made `signature`.
    pub cert_sha256: Hash32,
    /// DER `ECDSA-Sig-Value` (P-256) over [`checkpoint_digest`], hex.
    pub signature: String,
}

/// Why a record was written by recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryReason {
    /// The file ended in a partial line (a write cut short by a crash or
    /// power loss); those bytes were removed.
    TornTail,
}

/// Written when opening a log removed bytes: says how many, where, and
/// their SHA-256, so nothing disappears without a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovered {
    pub reason: RecoveryReason,
    /// Byte offset in the file where the removed bytes began.
    pub at_offset: u64,
    pub discarded_bytes: u64,
    pub discarded_sha256: Hash32,
}

/// The body of a record, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    Genesis(&'a Genesis),
    Event(&'a AuditEvent),
    Checkpoint(&'a Checkpoint),
    Recovered(&'a Recovered),
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    v: u32,
    seq: u64,
    time: Timestamp,
    prev: Hash32,
    #[serde(skip_serializing_if = "Option::is_none")]
    genesis: Option<&'a Genesis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a AuditEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<&'a Checkpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovered: Option<&'a Recovered>,
}

/// A record as read back. Events are kept as JSON so that a verifier
/// accepts event kinds added after it was built.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParsedRecord {
    pub v: u32,
    pub seq: u64,
    pub time: Timestamp,
    pub prev: Hash32,
    #[serde(default)]
    pub genesis: Option<Genesis>,
    #[serde(default)]
    pub event: Option<serde_json::Value>,
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
    #[serde(default)]
    pub recovered: Option<Recovered>,
}

impl ParsedRecord {
    /// Number of bodies present (a valid record has exactly one).
    pub(crate) fn body_count(&self) -> usize {
        usize::from(self.genesis.is_some())
            + usize::from(self.event.is_some())
            + usize::from(self.checkpoint.is_some())
            + usize::from(self.recovered.is_some())
    }

    /// The event, typed, if it is one this build knows.
    pub fn typed_event(&self) -> Option<Result<AuditEvent, serde_json::Error>> {
        self.event
            .as_ref()
            .map(|v| serde_json::from_value::<AuditEvent>(v.clone()))
    }
}

/// Encodes one record; returns the line (with `\n`) and its hash.
pub fn encode_line(
    seq: u64,
    time: Timestamp,
    prev: Hash32,
    body: Body<'_>,
) -> Result<(Vec<u8>, Hash32), serde_json::Error> {
    let mut env = EnvelopeOut {
        v: FORMAT_VERSION,
        seq,
        time,
        prev,
        genesis: None,
        event: None,
        checkpoint: None,
        recovered: None,
    };
    match body {
        Body::Genesis(g) => env.genesis = Some(g),
        Body::Event(e) => env.event = Some(e),
        Body::Checkpoint(c) => env.checkpoint = Some(c),
        Body::Recovered(r) => env.recovered = Some(r),
    }
    let mut line = serde_json::to_vec(&env)?;
    let hash = Hash32::of(&line);
    // serde_json always ends an object with '}'.
    line.pop();
    line.extend_from_slice(HASH_PREFIX);
    line.extend_from_slice(hex::encode(hash.0).as_bytes());
    line.extend_from_slice(HASH_SUFFIX);
    line.push(b'\n');
    Ok((line, hash))
}

/// Splits a line (without `\n`) into the hashed bytes (`{…}`) and the
/// stored hash. `None` if the line does not end in `,"hash":"<hex>"}`.
pub(crate) fn split_hash(line: &[u8]) -> Option<(Vec<u8>, Hash32)> {
    let cut = line.len().checked_sub(HASH_TAIL_LEN)?;
    let (head, tail) = line.split_at(cut);
    let hex_part = tail.strip_prefix(HASH_PREFIX)?.strip_suffix(HASH_SUFFIX)?;
    let stored = Hash32::from_hex(hex_part)?;
    let mut body = Vec::with_capacity(head.len() + 1);
    body.extend_from_slice(head);
    body.push(b'}');
    Some((body, stored))
}

/// The digest a checkpoint signs: SHA-256 over the domain string, then
/// `covers_seq` (8 bytes big-endian), `head` (32 bytes) and the
/// checkpoint's time in Unix milliseconds (8 bytes big-endian).
pub fn checkpoint_digest(covers_seq: u64, head: &Hash32, time: Timestamp) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHECKPOINT_DOMAIN);
    h.update(covers_seq.to_be_bytes());
    h.update(head.0);
    h.update(time.unix_millis().to_be_bytes());
    h.finalize().into()
}
