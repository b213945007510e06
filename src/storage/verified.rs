//! The trust cache: which local archived files hashed to their name recently, so a whole-file
//! download need not hash them again (the trade-off is explained in `http::download`'s module doc,
//! "Integrity"). It is a fact about stored files, so it lives with the store; one per server,
//! shared by every download.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::FileVersion;

/// How long a file that hashed to its name is trusted without hashing, while its version stays
/// the same.
pub const TRUST_HASH_FOR: Duration = Duration::from_secs(15 * 60);

/// A file changed less than this before its hash started is not remembered as verified.
pub const SETTLED_AFTER: Duration = Duration::from_secs(1);

/// The most files [`VerifiedFiles`] remembers; beyond it, it forgets the expired ones, or all.
const REMEMBERED_FILES: usize = 100_000;

/// The local files that hashed to their name when last read whole: by SHA-256, the version that
/// was hashed and when its hash started.
#[derive(Debug)]
pub struct VerifiedFiles {
    files: Mutex<HashMap<String, (FileVersion, Instant)>>,
    trust_for: Duration,
    settled_after: Duration,
}

impl Default for VerifiedFiles {
    fn default() -> Self {
        VerifiedFiles::new(TRUST_HASH_FOR, SETTLED_AFTER)
    }
}

impl VerifiedFiles {
    /// Remembers matches for `trust_for`, of files that had not changed for `settled_after` when
    /// their hash started.
    pub fn new(trust_for: Duration, settled_after: Duration) -> Self {
        VerifiedFiles { files: Mutex::new(HashMap::new()), trust_for, settled_after }
    }

    /// Whether the file named `sha256`, at `version`, hashed to its name recently enough. A file
    /// without a version (S3) is never trusted.
    pub fn trusted(&self, sha256: &str, version: Option<FileVersion>) -> bool {
        let Some(version) = version else { return false };
        let files = self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        files.get(sha256).is_some_and(|(seen, at)| *seen == version && at.elapsed() < self.trust_for)
    }

    /// Records that `version` of the file named `sha256` hashed to its name, the hash having started
    /// at `started` (wall clock, compared with the file's times) and `started_at` (monotonic).
    pub fn remember(&self, sha256: String, version: FileVersion, started: SystemTime, started_at: Instant) {
        if !started.checked_sub(self.settled_after).is_some_and(|t| version.changed_before(t)) {
            return;
        }
        let mut files = self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if files.len() >= REMEMBERED_FILES {
            files.retain(|_, (_, at)| at.elapsed() < self.trust_for);
            if files.len() >= REMEMBERED_FILES {
                files.clear();
            }
        }
        files.insert(sha256, (version, started_at));
    }
}
