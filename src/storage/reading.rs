//! Reading an archived file for someone: the facts its archive entry records ([`ArchivedFile`]),
//! opening it with the checks that run before anything is sent ([`open_checked`]: present, the
//! recorded size, the recorded edge digest), and the hash check of a whole-file read
//! ([`HashCheck`]), which remembers a match in the trust cache ([`VerifiedFiles`]).
//!
//! Whoever finds a file damaged says so through a [`DamageHook`] (the workflow marks the entries
//! holding it and alarms the Secretariat) and gets [`StorageError::Damaged`]. HTTP semantics
//! (ranges, conditional requests, streaming, `sendfile`) are not here: they are `http::download`'s.

use std::io;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::{BlobReader, BlobStore, FileVersion, StorageError, VerifiedFiles, hex, read_blocks, read_edges_sha256};

/// An archived file to read, as its archive entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedFile {
    /// SHA-256 of the file: its name in the store (and a download's ETag).
    pub sha256: String,
    /// The size recorded when it was archived.
    pub bytes: u64,
    /// Its media type (`application/pdf`, `application/zip`).
    pub content_type: &'static str,
    /// When it was archived (UTC).
    pub modified: NaiveDateTime,
    /// Whether the entry is public (published): shared caches may then keep it.
    pub public: bool,
    /// The name a reader saves it under, in Unicode.
    pub file_name: String,
    /// Its edge digest ([`super::edges_sha256`]), when recorded.
    pub edges_sha256: Option<String>,
}

/// Told when a reader finds a stored file damaged (its SHA-256, and what is wrong). Called on a
/// blocking thread.
pub type DamageHook = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Opens `file` from `store` and checks, before anything is read for the caller, that it is
/// there, has the recorded size and the recorded edge digest. A file failing any of these is
/// reported to `damage` and refused as [`StorageError::Damaged`]. Blocking.
pub fn open_checked(
    store: &dyn BlobStore,
    file: &ArchivedFile,
    damage: &DamageHook,
) -> Result<BlobReader, StorageError> {
    let sha = &file.sha256;
    let problem = |problem: String| {
        damage(sha, &problem);
        Err(StorageError::Damaged { sha256: sha.clone(), problem })
    };
    let mut reader = match store.open(sha) {
        Err(e @ StorageError::Missing { .. }) => return problem(e.to_string()),
        other => other?,
    };
    if reader.len() != file.bytes {
        return problem(format!("the stored file has {} bytes, the archive recorded {}", reader.len(), file.bytes));
    }
    if let Some(expected) = &file.edges_sha256 {
        match read_edges_sha256(&mut reader) {
            Ok(actual) if &actual == expected => {}
            Ok(actual) => {
                return problem(format!("its first and last 64 KiB hash to {actual}, the archive recorded {expected}"));
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return problem(e.to_string()),
            Err(source) => return Err(StorageError::Io { op: "read", path: sha.clone().into(), source }),
        }
    }
    Ok(reader)
}

/// Reads the stored file `sha256` whole, handing each block to `each` in order: `Ok(Ok(()))` when
/// it has the recorded size `bytes` and hashes to its name, `Ok(Err(problem))` when it is missing
/// or damaged (the caller reports it and leaves it out), `Err` when it could not be read for
/// another reason (an unreachable store). Blocking.
pub fn read_checked(
    store: &dyn BlobStore,
    sha256: &str,
    bytes: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<Result<(), String>, StorageError> {
    let mut reader = match store.open(sha256) {
        Err(e @ StorageError::Missing { .. }) => return Ok(Err(e.to_string())),
        other => other?,
    };
    if reader.len() != bytes {
        return Ok(Err(format!("the stored file has {} bytes, the archive recorded {bytes}", reader.len())));
    }
    let mut sha = Sha256::new();
    let read = read_blocks(&mut reader, |block| {
        sha.update(block);
        each(block);
    });
    match read {
        Ok(n) if n == bytes => {}
        Ok(n) => return Ok(Err(format!("the stored file ended at byte {n}"))),
        Err(source) => return Err(StorageError::Io { op: "read", path: sha256.into(), source }),
    }
    let actual = hex(&sha.finalize());
    if actual != sha256 {
        return Ok(Err(format!("a whole read hashed it to {actual}")));
    }
    Ok(Ok(()))
}

/// The integrity check of a whole-file read: the running hash and the digest it must reach. Fed
/// every byte in order ([`HashCheck::update`]); [`HashCheck::finish`] at the end says whether the
/// file hashed to its name, reports a mismatch to the damage hook and remembers a match.
pub struct HashCheck {
    hasher: Sha256,
    expected: String,
    /// When hashing started (wall clock and monotonic), for [`VerifiedFiles::remember`].
    started: (SystemTime, Instant),
    /// Where a match is remembered.
    verified: Arc<VerifiedFiles>,
    /// Told of a mismatch.
    damage: DamageHook,
}

impl HashCheck {
    /// A check that the file named `expected` hashes to it.
    pub fn new(expected: String, verified: Arc<VerifiedFiles>, damage: DamageHook) -> Self {
        HashCheck { hasher: Sha256::new(), expected, started: (SystemTime::now(), Instant::now()), verified, damage }
    }

    /// Hashes the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// Ends the check of a file read at `version`: an `InvalidData` error (and the damage hook
    /// told) when the bytes did not hash to the file's name; otherwise the match is remembered.
    pub fn finish(self, version: Option<FileVersion>) -> io::Result<()> {
        let actual = hex(&self.hasher.finalize());
        if actual != self.expected {
            (self.damage)(&self.expected, &format!("a whole-file download hashed it to {actual}"));
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the stored file {} now hashes to {actual}; the download was cut", self.expected),
            ));
        }
        if let Some(version) = version {
            self.verified.remember(self.expected, version, self.started.0, self.started.1);
        }
        Ok(())
    }
}
