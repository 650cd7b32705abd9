//! Identifiers: sessions and pads.

use serde::{Deserialize, Serialize};

/// Errors in identifiers read from outside.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error(
        "session id \"{0}\" is not a UUID (expected e.g. 0f8fad5b-d9cb-469f-a165-70867728950e)"
    )]
    BadSessionId(String),
    #[error("pad serial \"{0}\" is invalid: use 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'")]
    BadPadSerial(String),
}

/// Identifier of one signing ceremony (a random UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionId(uuid::Uuid);

impl SessionId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn parse(text: &str) -> Result<Self, IdError> {
        uuid::Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| IdError::BadSessionId(text.to_owned()))
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Serial number of a pad, as printed on its label and in its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PadSerial(String);

impl PadSerial {
    pub fn new(text: &str) -> Result<Self, IdError> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(IdError::BadPadSerial(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PadSerial {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<PadSerial> for String {
    fn from(value: PadSerial) -> Self {
        value.0
    }
}

impl std::fmt::Display for PadSerial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_serial_rejects_spaces_and_empty() {
        assert!(PadSerial::new("SP-0001").is_ok());
        assert_eq!(
            PadSerial::new("a b"),
            Err(IdError::BadPadSerial("a b".into()))
        );
        assert!(PadSerial::new("").is_err());
    }

    #[test]
    fn session_id_parse_names_the_bad_input() {
        let err = SessionId::parse("nope").unwrap_err();
        assert!(err.to_string().contains("\"nope\""));
    }
}
