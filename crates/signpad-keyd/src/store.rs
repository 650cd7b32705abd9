//! Key blobs and certificates on disk, written atomically (temporary file,
//! fsync, rename, fsync of the directory): a crash leaves either the old
//! file or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::io_err;
use crate::KeydError;

/// The state directory of keyd.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
}

const MAGIC: &[u8; 4] = b"SPK1";

/// Public and private area of a TPM object, as stored.
pub(crate) type BlobParts = (Vec<u8>, Vec<u8>);

impl Store {
    pub(crate) fn open(dir: &Path) -> Result<Self, KeydError> {
        fs::create_dir_all(dir).map_err(io_err("creating state directory", dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err("restricting permissions of", dir))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(crate) fn read(&self, name: &str) -> Result<Option<Vec<u8>>, KeydError> {
        let path = self.path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("reading", path)(e)),
        }
    }

    pub(crate) fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), KeydError> {
        let path = self.path(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err("creating", tmp.clone()))?;
            f.write_all(bytes).map_err(io_err("writing", tmp.clone()))?;
            f.sync_all().map_err(io_err("syncing", tmp.clone()))?;
        }
        fs::rename(&tmp, &path).map_err(io_err("renaming into place", path.clone()))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("syncing directory", self.dir.clone()))?;
        Ok(())
    }

    /// Reads a key blob: public area and private area of a TPM object.
    pub(crate) fn read_blob(&self, name: &str) -> Result<Option<BlobParts>, KeydError> {
        let Some(bytes) = self.read(name)? else {
            return Ok(None);
        };
        let corrupt = |detail: &str| KeydError::CorruptBlob {
            path: self.path(name),
            detail: detail.to_owned(),
        };
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("bad magic"))?;
        let (public, rest) = take_chunk(rest).ok_or_else(|| corrupt("truncated public area"))?;
        let (private, rest) = take_chunk(rest).ok_or_else(|| corrupt("truncated private area"))?;
        if !rest.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(Some((public.to_vec(), private.to_vec())))
    }

    pub(crate) fn write_blob(
        &self,
        name: &str,
        public: &[u8],
        private: &[u8],
    ) -> Result<(), KeydError> {
        let mut out = Vec::with_capacity(12 + public.len() + private.len());
        out.extend_from_slice(MAGIC);
        for chunk in [public, private] {
            let len = u32::try_from(chunk.len())
                .map_err(|_| KeydError::Encoding("key blob too large".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(chunk);
        }
        self.write_atomic(name, &out)
    }
}

fn take_chunk(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}
