//! Document digests as the host sends them: an algorithm and the digest bytes.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// Hash algorithms a host may use for the document digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    /// Length of a digest of this algorithm in bytes (never zero, so no
    /// `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Name as used in reports and on the command line (`sha256`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Parses `sha256`, `sha-256`, `SHA256`, ...
    pub fn from_name(name: &str) -> Result<Self, DigestError> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            _ => Err(DigestError::UnknownAlgorithm(name.to_owned())),
        }
    }

    /// Hashes `data` with this algorithm.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// Hashes everything `reader` yields, in blocks, so that a large
    /// document is never held in memory whole.
    pub fn hash_reader(self, mut reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
        fn run<D: sha2::Digest>(
            mut hasher: D,
            reader: &mut impl std::io::Read,
        ) -> std::io::Result<Vec<u8>> {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf)? {
                    0 => return Ok(hasher.finalize().to_vec()),
                    n => hasher.update(&buf[..n]),
                }
            }
        }
        match self {
            Self::Sha256 => run(sha2::Sha256::new(), &mut reader),
            Self::Sha384 => run(sha2::Sha384::new(), &mut reader),
            Self::Sha512 => run(sha2::Sha512::new(), &mut reader),
        }
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors in a document digest given by a host or read from a package.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("unknown digest algorithm \"{0}\": use sha256, sha384 or sha512")]
    UnknownAlgorithm(String),
    #[error("a {algorithm} digest has {expected} bytes, got {actual}")]
    WrongLength {
        algorithm: DigestAlgorithm,
        expected: usize,
        actual: usize,
    },
    #[error("digest is not valid hex: {0}")]
    NotHex(String),
}

/// The digest of the document being signed, as computed by the host.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocumentDigest {
    algorithm: DigestAlgorithm,
    #[serde(with = "hex_bytes")]
    bytes: Vec<u8>,
}

impl DocumentDigest {
    /// A digest whose length is checked against the algorithm.
    pub fn new(algorithm: DigestAlgorithm, bytes: Vec<u8>) -> Result<Self, DigestError> {
        if bytes.len() != algorithm.len() {
            return Err(DigestError::WrongLength {
                algorithm,
                expected: algorithm.len(),
                actual: bytes.len(),
            });
        }
        Ok(Self { algorithm, bytes })
    }

    /// Digest of `document` computed here.
    pub fn of(algorithm: DigestAlgorithm, document: &[u8]) -> Self {
        Self {
            algorithm,
            bytes: algorithm.hash(document),
        }
    }

    /// Parses a hex digest for the given algorithm.
    pub fn from_hex(algorithm: DigestAlgorithm, hex_text: &str) -> Result<Self, DigestError> {
        let bytes = hex::decode(hex_text.trim()).map_err(|e| DigestError::NotHex(e.to_string()))?;
        Self::new(algorithm, bytes)
    }

    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.bytes)
    }
}

impl std::fmt::Debug for DocumentDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.to_hex())
    }
}

impl std::fmt::Display for DocumentDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.to_hex())
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_length_is_checked_against_algorithm() {
        let err = DocumentDigest::new(DigestAlgorithm::Sha384, vec![0; 32]).unwrap_err();
        assert_eq!(
            err,
            DigestError::WrongLength {
                algorithm: DigestAlgorithm::Sha384,
                expected: 48,
                actual: 32
            }
        );
    }

    #[test]
    fn streamed_hash_equals_one_shot_hash() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for alg in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            assert_eq!(alg.hash_reader(&data[..]).unwrap(), alg.hash(&data));
        }
    }

    #[test]
    fn algorithm_names_parse_in_common_spellings() {
        assert_eq!(
            DigestAlgorithm::from_name("SHA-512").unwrap(),
            DigestAlgorithm::Sha512
        );
        assert!(DigestAlgorithm::from_name("md5").is_err());
    }

    #[test]
    fn digest_round_trips_through_json_as_hex() {
        let d = DocumentDigest::of(DigestAlgorithm::Sha256, b"abc");
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains("ba7816bf"));
        let back: DocumentDigest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}
