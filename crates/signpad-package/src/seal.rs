//! Sealing a ceremony: from the captured pen samples and the ceremony facts
//! to a signed package, in the one order every producer (the pad daemon,
//! `signpadctl dev sign`) must follow: ISO/IEC 19794-7 record → biometric
//! envelope bound to the document and session → ceremony record → signed
//! package. The plaintext record is zeroized when this returns.

use std::time::SystemTime;

use rand_core::CryptoRngCore;
use signpad_types::{DocumentDigest, PenCapabilities, PenSample};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::build::{build_package, PackageContents};
use crate::ceremony::CeremonyRecord;
use crate::envelope::{seal_biometric, EnvelopeError};
use crate::error::BuildError;
use crate::iso19794::{CaptureInfo, IsoError, SignatureRecord};
use crate::package::SignatureImageDigest;
use crate::signer::PackageSigner;

/// Everything needed to seal one ceremony.
#[derive(Debug)]
pub struct SealRequest<'a> {
    /// The host's digest of the document.
    pub document_digest: DocumentDigest,
    /// The ceremony record; its session id is also bound into the envelope.
    pub ceremony: CeremonyRecord,
    pub capabilities: &'a PenCapabilities,
    pub samples: &'a [PenSample],
    pub capture: CaptureInfo,
    /// The rendered signature image returned beside the package.
    pub signature_png: &'a [u8],
    /// The examiner certificate the biometric is encrypted to.
    pub escrow_certificate: &'a Certificate,
    /// When the signer confirmed.
    pub signing_time: SystemTime,
}

/// Errors sealing a ceremony.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("biometric record: {0}")]
    Record(#[from] IsoError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A sealed ceremony.
#[derive(Debug)]
pub struct Sealed {
    /// The DER signature package.
    pub package: Vec<u8>,
    /// Size of the (now zeroized) ISO/IEC 19794-7 record, for statistics.
    pub record_len: usize,
}

/// Seals a ceremony; see the module documentation.
pub fn seal_ceremony(
    request: SealRequest<'_>,
    signer: &dyn PackageSigner,
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, SealError> {
    let record = Zeroizing::new(
        SignatureRecord::from_samples(request.capabilities, request.samples, request.capture)?
            .encode()?,
    );
    let envelope = seal_biometric(
        &record,
        &request.document_digest,
        request.ceremony.session_id,
        request.escrow_certificate,
        rng,
    )?;
    let package = build_package(
        &PackageContents {
            document_digest: request.document_digest,
            signing_time: request.signing_time,
            ceremony: request.ceremony,
            biometric_envelope: envelope,
            signature_image: SignatureImageDigest::of_png(request.signature_png),
        },
        signer,
    )?;
    Ok(Sealed {
        package,
        record_len: record.len(),
    })
}
