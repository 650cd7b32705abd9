//! Object identifiers used by the signature package.
//!
//! signpad's private OIDs are derived from the project UUID
//! 70b4fdc9-3fd3-4909-9735-b51ce3f3171e, which needs no registration. The
//! natural form, `2.25.<UUID as integer>` (ITU-T X.667), has a 128-bit arc
//! that RustCrypto's `const-oid` cannot represent (arcs are `u32`: it fails
//! with `ArcTooBig`), and neither could any verifier built on it. We therefore
//! use the other registration-free UUID-derived arc, the GUID arc
//! `1.2.840.113556.1.8000.2554` followed by the UUID split into seven arcs of
//! 16/16/16/16/16/24/24 bits. Every arc fits in 32 bits. The full list is in
//! `docs/package-format.md`.

use const_oid::ObjectIdentifier;

/// The signpad arc, derived from the project UUID.
pub const SIGNPAD_ARC: ObjectIdentifier = ObjectIdentifier::new_unwrap(
    "1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166",
);

/// Signed attribute: the ceremony record (`CeremonyRecord`).
pub const ATTR_CEREMONY_RECORD: ObjectIdentifier = ObjectIdentifier::new_unwrap(
    "1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.1.1",
);
/// Signed attribute: the biometric envelope (a CMS `ContentInfo` holding
/// `EnvelopedData`).
pub const ATTR_BIOMETRIC_ENVELOPE: ObjectIdentifier = ObjectIdentifier::new_unwrap(
    "1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.1.2",
);
/// Signed attribute: digest of the rendered signature image (PNG).
pub const ATTR_SIGNATURE_IMAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap(
    "1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.1.3",
);

/// Content type of the plaintext inside the biometric envelope
/// (`BiometricPayload`).
pub const CT_BIOMETRIC_PAYLOAD: ObjectIdentifier = ObjectIdentifier::new_unwrap(
    "1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.2.1",
);

/// Authentication factor identifiers used in the ceremony record.
pub const AUTH_FACTOR_ARC: ObjectIdentifier = ObjectIdentifier::new_unwrap(
    "1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.3",
);

// Standard OIDs, named here so the rest of the crate reads well.
pub use const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2;
pub use const_oid::db::rfc5911::{ID_DATA, ID_ENVELOPED_DATA, ID_SIGNED_DATA};
/// `id-aa-timeStampToken` (RFC 3161 appendix A).
pub const ID_AA_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
pub use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_SHA_256, ID_SHA_384, ID_SHA_512,
};
pub use const_oid::db::rfc6268::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNING_TIME};
