//! Errors of building, parsing and verifying a package.
//!
//! Verification failures come in two kinds that callers must keep apart
//! (`signpadctl verify` exits with different codes): the package is
//! **invalid** (it is broken, forged, tampered, untrusted, expired or
//! revoked), or it **could not be checked** (the package may be fine but
//! this verifier lacks something: a larger size limit, a fresh CRL, support
//! for an algorithm, the document digest in the package's algorithm).

use der::asn1::ObjectIdentifier;
use signpad_types::DigestAlgorithm;

use crate::ceremony::CeremonyError;
use crate::signer::SignerError;

/// Whether a failure means the package is bad or that it could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The package is not a valid signature of the document.
    Invalid,
    /// The package could not be checked; fix the verifier's inputs or
    /// configuration and try again.
    CouldNotCheck,
}

/// Errors building a package.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the signer gave no certificate chain; configure the pad certificate")]
    NoCertificate,
    #[error("signer failed: {0}")]
    Signer(#[from] SignerError),
    #[error("the signer returned a signature that does not verify with the pad certificate's key ({0}); the key and certificate do not belong together")]
    SignerKeyMismatch(String),
    #[error("the pad certificate's key is not usable: {0}; the pad key must be ECDSA P-256")]
    PadKey(String),
    #[error("biometric envelope is not a DER ContentInfo holding EnvelopedData: {0}")]
    MalformedEnvelope(String),
    #[error("timestamp token is not a DER ContentInfo holding SignedData: {0}")]
    MalformedTimestampToken(String),
    #[error("timestamp token does not cover this package's signature: {0}; request the token for the SignerInfo signature value")]
    TimestampMismatch(String),
    #[error("cannot add a timestamp: the package does not parse: {0}")]
    Package(Box<PackageError>),
    #[error("signing time cannot be encoded: {0}")]
    SigningTime(String),
    #[error("DER encoding failed: {0}")]
    Der(#[from] der::Error),
}

/// Errors reading a package (structure, not trust).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("package is {size} bytes, over the limit of {limit} bytes; if a package this large is expected, raise the size limit")]
    Oversized { size: usize, limit: usize },
    #[error("package is truncated ({detail}); the file was cut short, e.g. by an incomplete transfer: get the complete package")]
    Truncated { detail: String },
    #[error("package is not a DER CMS structure ({detail}); this is not a signpad package or it is corrupted")]
    Garbage { detail: String },
    #[error("wrong content type in {place}: {found}, expected {expected}; this is not a detached signpad signature package")]
    WrongContentType {
        place: &'static str,
        found: ObjectIdentifier,
        expected: ObjectIdentifier,
    },
    #[error("package embeds content (eContent present); signpad packages are detached and verified against the document file")]
    NotDetached,
    #[error("{place} version is {found}, expected {expected} (RFC 5652); the package was not made by a conforming signer")]
    UnsupportedVersion {
        place: &'static str,
        found: u8,
        expected: u8,
    },
    #[error("package has {0} signers; a signpad package has exactly one (the pad)")]
    SignerCount(usize),
    #[error("unsupported digest algorithm {oid} in {place}; signpad packages use SHA-256, SHA-384 or SHA-512 with absent or NULL parameters")]
    UnsupportedDigestAlgorithm {
        place: &'static str,
        oid: ObjectIdentifier,
    },
    #[error("digest algorithms disagree: SignerInfo uses {signer} but {place} says {other}")]
    InconsistentDigestAlgorithm {
        place: &'static str,
        signer: DigestAlgorithm,
        other: String,
    },
    #[error("unsupported signature algorithm {oid}; a signpad package is signed with ecdsa-with-{digest} (P-256)")]
    UnsupportedSignatureAlgorithm {
        oid: ObjectIdentifier,
        digest: DigestAlgorithm,
    },
    #[error("the SignerInfo identifies its signer by subject key identifier; signpad packages use issuerAndSerialNumber")]
    UnsupportedSignerIdentifier,
    #[error("package carries {count} certificates, over the limit of {limit}")]
    TooManyCertificates { count: usize, limit: usize },
    #[error("the pad certificate (issuer {issuer}, serial {serial}) named by the SignerInfo is not in the package; the package must include the pad certificate")]
    SignerCertificateMissing { issuer: String, serial: String },
    #[error("the SignerInfo has no signed attributes; a signpad package signs its attributes")]
    NoSignedAttributes,
    #[error("required signed attribute {name} ({oid}) is missing")]
    MissingAttribute {
        name: &'static str,
        oid: ObjectIdentifier,
    },
    #[error("attribute {name} ({oid}) appears more than once or has more than one value")]
    DuplicateAttribute {
        name: &'static str,
        oid: ObjectIdentifier,
    },
    #[error("signed attribute {name} is malformed: {detail}")]
    MalformedAttribute { name: &'static str, detail: String },
    #[error("malformed ceremony record: {0}")]
    MalformedCeremonyRecord(#[from] CeremonyError),
}

impl PackageError {
    /// Invalid package, or could not check (only the size limit).
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Oversized { .. } | Self::TooManyCertificates { .. } => FailureKind::CouldNotCheck,
            _ => FailureKind::Invalid,
        }
    }
}

/// Errors checking an RFC 3161 timestamp token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("timestamp token is malformed: {0}")]
    Malformed(String),
    #[error("timestamp token covers a different signature (messageImprint {found}, expected {expected}); it was made for another package")]
    ImprintMismatch { expected: String, found: String },
    #[error("timestamp token's messageDigest attribute does not match its TSTInfo; the token was altered")]
    ContentDigestMismatch,
    #[error("timestamp token signature does not verify with the TSA certificate it carries; the token was altered or forged")]
    BadSignature,
    #[error("timestamp token does not carry the TSA certificate that signed it; request tokens with certReq=true")]
    TsaCertificateMissing,
    #[error("timestamp token time {gen_time} is outside the TSA certificate's validity ({not_before} to {not_after})")]
    TsaCertificateExpired {
        gen_time: String,
        not_before: String,
        not_after: String,
    },
    #[error("timestamp token is signed by {subject}, which is not a configured TSA; configure that TSA's certificate or CA")]
    UntrustedTsa { subject: String },
    #[error("timestamp token uses {0}, which this verifier cannot check")]
    Unsupported(String),
}

impl TimestampError {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Unsupported(_) => FailureKind::CouldNotCheck,
            _ => FailureKind::Invalid,
        }
    }
}

/// Errors verifying a package against a document and trust anchors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("the document digest given is {given} but the package uses {package}; pass the document itself or its {package} digest")]
    DocumentDigestAlgorithm {
        package: DigestAlgorithm,
        given: DigestAlgorithm,
    },
    #[error("document does not match the package: {algorithm} of the document is {actual}, the package signed {expected}; this package was made for a different document or the document was changed")]
    DigestMismatch {
        algorithm: DigestAlgorithm,
        expected: String,
        actual: String,
    },
    #[error("the pad signature over the signed attributes does not verify with the pad certificate ({subject}); an attribute was changed after signing or the package was forged")]
    BadSignature { subject: String },
    #[error("the pad certificate ({subject}) has an unusable key: {detail}; signpad pads sign with ECDSA P-256")]
    PadKey { subject: String, detail: String },
    #[error("the pad certificate ({subject}) does not allow digital signatures (keyUsage lacks digitalSignature and nonRepudiation)")]
    PadKeyUsage { subject: String },
    #[error("no trusted root for {subject} (issuer {issuer}): neither a configured root nor a certificate in the package issued it; configure the enterprise CA that issues pad certificates")]
    UntrustedChain { subject: String, issuer: String },
    #[error("certificate {subject} claims issuer {issuer} but its signature does not verify with that issuer's key; the chain was forged or altered")]
    ChainSignature { subject: String, issuer: String },
    #[error("certificate {subject} issues {child} but is not a CA (basicConstraints cA is not true, or keyUsage lacks keyCertSign)")]
    NotACa { subject: String, child: String },
    #[error("the chain from the pad certificate is longer than {limit} certificates")]
    ChainTooLong { limit: usize },
    #[error("certificate {subject} was not valid at signing time {at} (valid {not_before} to {not_after})")]
    Expired {
        subject: String,
        at: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate {subject} (serial {serial}) is revoked since {revoked_at} according to the CRL of {issuer}")]
    Revoked {
        subject: String,
        serial: String,
        issuer: String,
        revoked_at: String,
    },
    #[error("no CRL of {issuer} was given, so the pad certificate's revocation status is unknown; add that CA's current CRL")]
    CrlMissing { issuer: String },
    #[error("the CRL of {issuer} is not current at {at} (thisUpdate {this_update}, nextUpdate {next_update}); fetch a fresh CRL")]
    CrlStale {
        issuer: String,
        at: String,
        this_update: String,
        next_update: String,
    },
    #[error("the CRL of {issuer} is not signed by that CA; the CRL file is corrupt or forged: replace it")]
    CrlSignature { issuer: String },
    #[error("cannot check the signature of {what}: {detail}")]
    UnsupportedAlgorithm { what: String, detail: String },
    #[error("timestamp: {0}")]
    Timestamp(#[from] TimestampError),
}

impl VerifyError {
    /// Whether the package is invalid or could not be checked.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Package(e) => e.kind(),
            Self::Timestamp(e) => e.kind(),
            Self::DocumentDigestAlgorithm { .. }
            | Self::CrlMissing { .. }
            | Self::CrlStale { .. }
            | Self::CrlSignature { .. }
            | Self::UnsupportedAlgorithm { .. } => FailureKind::CouldNotCheck,
            _ => FailureKind::Invalid,
        }
    }

    /// The package is proven bad (as opposed to "could not check").
    pub fn is_invalid(&self) -> bool {
        self.kind() == FailureKind::Invalid
    }
}
