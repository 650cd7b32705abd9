//! Fuzzes the ISO/IEC 19794-7 decoder: it must never panic, and whatever it
//! accepts must re-encode to a record that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signpad_package::iso19794::SignatureRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = SignatureRecord::decode(data) {
        let _ = record.to_samples();
        let bytes = match record.encode() {
            Ok(bytes) => bytes,
            Err(e) => panic!("a decoded record does not encode: {e}"),
        };
        match SignatureRecord::decode(&bytes) {
            Ok(again) => assert_eq!(again, record, "re-encoded record differs"),
            Err(e) => panic!("re-encoded record does not decode: {e}"),
        }
    }
});
