//! Encrypted state at rest under the state directory.
//!
//! Every file is `"SPS1" || nonce (12) || AES-256-GCM(ciphertext || tag)`
//! with the file's name as associated data, so a file cannot be swapped for
//! another one (the enrolments for an old copy of the lockout counters, say)
//! without failing authentication. The key is derived from the storage
//! secret that keyd unseals from the TPM; it never touches the disk.
//!
//! Writes are atomic: a temporary file in the same directory is written and
//! fsynced, renamed over the target, and the directory is fsynced, so after a
//! crash a file is either the old or the new version, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"SPS1";
const NONCE_LEN: usize = 12;
/// Largest state file read back (packages are the largest).
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state {path}: the disk is full; free space under the state directory")]
    DiskFull { path: PathBuf },
    #[error("state {path} is corrupt or was not written by this pad (authentication failed)")]
    Corrupt { path: PathBuf },
    #[error("state name \"{0}\" is not allowed (letters, digits, '-', '_', '.', one '/')")]
    BadName(String),
    #[error("the storage secret from keyd is empty")]
    NoKey,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| {
        if source.kind() == std::io::ErrorKind::StorageFull {
            StoreError::DiskFull {
                path: path.to_owned(),
            }
        } else {
            StoreError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// Writes `bytes` to `path` atomically (tmp + fsync + rename + dir fsync),
/// mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| StoreError::BadName(path.display().to_string()))?;
    let tmp = dir.join(format!(".{file_name}.tmp{:08x}", OsRng.next_u32()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The encrypted store.
pub struct StateStore {
    dir: PathBuf,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.matches('/').count() <= 1
        && name.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadName(name.to_owned()))
    }
}

impl StateStore {
    /// Opens (creating, mode 0700) the store in `dir` with the key derived
    /// from `storage_secret`.
    pub fn open(dir: &Path, storage_secret: &[u8]) -> Result<Self, StoreError> {
        if storage_secret.is_empty() {
            return Err(StoreError::NoKey);
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let mut h = Sha256::new();
        h.update(b"signpadd state key v1\0");
        h.update(storage_secret);
        let key = Zeroizing::new(<[u8; 32]>::from(h.finalize()));
        Ok(Self {
            dir: dir.to_owned(),
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_slice())),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        Ok(self.dir.join(name))
    }

    /// Encrypts and atomically writes `plaintext` as `name` (`"signers"`,
    /// `"packages/<id>"`).
    pub fn write(&self, name: &str, plaintext: &[u8]) -> Result<(), StoreError> {
        let path = self.path(name)?;
        if let Some(parent) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io(parent))?;
        }
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt { path: path.clone() })?;
        let mut out = Vec::with_capacity(4 + NONCE_LEN + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        write_atomic(&path, &out)
    }

    /// Reads and decrypts `name`; `None` when it does not exist.
    pub fn read(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let path = self.path(name)?;
        let bytes = match File::open(&path) {
            Ok(f) => {
                use std::io::Read as _;
                let mut buf = Vec::new();
                f.take(MAX_FILE).read_to_end(&mut buf).map_err(io(&path))?;
                buf
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        if bytes.len() < 4 + NONCE_LEN || &bytes[..4] != MAGIC {
            return Err(StoreError::Corrupt { path });
        }
        let (nonce, ct) = bytes[4..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: name.as_bytes(),
                },
            )
            .map(|p| Some(Zeroizing::new(p)))
            .map_err(|_| StoreError::Corrupt { path })
    }

    /// Removes `name`; whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
        let path = self.path(name)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(parent) = path.parent() {
                    File::open(parent)
                        .and_then(|d| d.sync_all())
                        .map_err(io(parent))?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Names of the files in `subdir` (without temporary files).
    pub fn list(&self, subdir: &str) -> Result<Vec<String>, StoreError> {
        check_name(subdir)?;
        let dir = self.dir.join(subdir);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            if let Some(name) = entry.file_name().to_str() {
                if !name.starts_with('.') {
                    names.push(format!("{subdir}/{name}"));
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state"), b"secret from keyd").unwrap();
        (dir, s)
    }

    #[test]
    fn written_state_reads_back_and_is_not_plaintext() {
        let (_d, s) = store();
        s.write("signers", b"alice's enrolment").unwrap();
        assert_eq!(
            s.read("signers").unwrap().unwrap().as_slice(),
            b"alice's enrolment"
        );
        let raw = fs::read(s.dir().join("signers")).unwrap();
        assert!(!raw.windows(5).any(|w| w == b"alice"));
        assert_eq!(&raw[..4], b"SPS1");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(s.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let mode = fs::metadata(s.dir().join("signers"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_changed_byte_is_detected() {
        let (_d, s) = store();
        s.write("attempts", b"{}").unwrap();
        let path = s.dir().join("attempts");
        let mut raw = fs::read(&path).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        fs::write(&path, raw).unwrap();
        assert!(matches!(
            s.read("attempts"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_file_moved_to_another_name_is_detected() {
        let (_d, s) = store();
        s.write("attempts", b"{}").unwrap();
        fs::copy(s.dir().join("attempts"), s.dir().join("signers")).unwrap();
        assert!(matches!(s.read("signers"), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn another_key_cannot_read() {
        let (d, s) = store();
        s.write("signers", b"x").unwrap();
        let other = StateStore::open(&d.path().join("state"), b"another secret").unwrap();
        assert!(matches!(
            other.read("signers"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn missing_files_read_as_none_and_bad_names_are_refused() {
        let (_d, s) = store();
        assert!(s.read("signers").unwrap().is_none());
        for bad in ["../etc/passwd", "a/b/c", ".hidden", "", "a b"] {
            assert!(
                matches!(s.write(bad, b""), Err(StoreError::BadName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn listing_and_removal_in_a_subdirectory() {
        let (_d, s) = store();
        s.write("packages/b", b"2").unwrap();
        s.write("packages/a", b"1").unwrap();
        assert_eq!(
            s.list("packages").unwrap(),
            vec!["packages/a", "packages/b"]
        );
        assert!(s.remove("packages/a").unwrap());
        assert!(!s.remove("packages/a").unwrap());
        assert_eq!(s.list("packages").unwrap(), vec!["packages/b"]);
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let (_d, s) = store();
        for i in 0..5u8 {
            s.write("signers", &[i]).unwrap();
        }
        let names: Vec<_> = fs::read_dir(s.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
