//! Package parsing and verification on arbitrary bytes: must return an
//! error or a package, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signpad_package::{Limits, Package, TrustAnchors, Verifier};
use signpad_types::{DigestAlgorithm, DocumentDigest};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(package) = Package::parse(data, &limits) {
        let _ = package.summary();
    }
    let verifier = Verifier::new(TrustAnchors::default(), limits);
    let digest = DocumentDigest::of(DigestAlgorithm::Sha256, b"document");
    let _ = verifier.verify(data, &digest);
    let _ = signpad_package::timestamp::verify_timestamp_token(data, b"signature");
});
