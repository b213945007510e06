//! [`LocalStore`]: the blob store in a local directory.
//!
//! Layout under the root: `objects/ab/cd/<sha256>` holds each object (the first two pairs of hex
//! digits fan the directory out), `tmp/` holds writes in progress. Both are on the same file
//! system, which is what makes a write atomic.
//!
//! A put writes a uniquely named temporary file, makes it read-only, fsyncs it, then publishes it
//! under its final name with a hard link (which, unlike `rename`, never replaces an existing
//! file), and fsyncs the object's directory and its parents. A final name therefore only ever
//! refers to a complete, durable file. When two writers race with the same bytes, the loser finds
//! the name taken, checks that the file there hashes to the name, and succeeds without writing; if
//! a different file sits there it reports [`StorageError::Corrupt`] and leaves it alone. Unix only:
//! directory fsync and permission bits are POSIX.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{
    BlobReader, BlobStore, FileVersion, Fixity, StorageError, StoredBlob, check_digest, sha256_hex, sha256_of_reader,
};

/// A temporary file younger than this may belong to a put still in progress (in this process or
/// another one sharing the directory), so [`BlobStore::clean_interrupted`] leaves it alone.
const INTERRUPTED_AFTER: Duration = Duration::from_secs(60 * 60);

/// Temporary files are named `put-<pid>-<random>.tmp`.
const TMP_PREFIX: &str = "put-";
const TMP_SUFFIX: &str = ".tmp";

/// Permission bits of a stored object: read-only for everyone.
const OBJECT_MODE: u32 = 0o444;

/// The write-once blob store in a local directory (see the module documentation for the layout).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    objects: PathBuf,
    tmp: PathBuf,
}

impl LocalStore {
    /// Open the store rooted at `root`, creating `root`, `root/objects` and `root/tmp` as needed.
    pub fn open(root: impl AsRef<Path>) -> Result<LocalStore, StorageError> {
        let root = std::path::absolute(root.as_ref()).map_err(io_err("resolve", root.as_ref()))?;
        let store = LocalStore { objects: root.join("objects"), tmp: root.join("tmp"), root };
        for dir in [&store.objects, &store.tmp] {
            fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        }
        sync_dir(&store.root)?;
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the object named `sha256` lives (or would live), after checking the digest.
    fn object_path(&self, sha256: &str) -> Result<PathBuf, StorageError> {
        check_digest(sha256)?;
        Ok(self.objects.join(&sha256[0..2]).join(&sha256[2..4]).join(sha256))
    }

    /// Hash the object at `path`; `None` when there is none.
    fn hash_existing(&self, path: &Path) -> Result<Option<String>, StorageError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", path)(e)),
        };
        let (actual, _) = sha256_of_reader(file).map_err(io_err("read", path))?;
        Ok(Some(actual))
    }

    /// Succeed for an object already under its name when its content matches the name, and make
    /// sure its directory entry is durable (a concurrent writer may not have fsynced it yet).
    fn accept_existing(&self, sha256: &str, actual: String, path: &Path) -> Result<(), StorageError> {
        if actual != sha256 {
            return Err(StorageError::Corrupt { sha256: sha256.to_owned(), actual });
        }
        self.sync_object_dirs(path)
    }

    /// Fsync the object's directory and the two fan-out levels above it, so that its name (and the
    /// directories leading to it, which this put may have created) survive a crash.
    fn sync_object_dirs(&self, path: &Path) -> Result<(), StorageError> {
        let mut dir = path.parent();
        while let Some(d) = dir {
            sync_dir(d)?;
            if d == self.objects {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// Write `bytes` to a new temporary file, read-only and fsynced; returns its path.
    fn write_temp(&self, bytes: &[u8]) -> Result<PathBuf, StorageError> {
        let (mut file, path) = loop {
            let name = format!("{TMP_PREFIX}{}-{:016x}{TMP_SUFFIX}", std::process::id(), rand::random::<u64>());
            let path = self.tmp.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (file, path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("create temporary file", &path)(e)),
            }
        };
        let written = file
            .write_all(bytes)
            .map_err(io_err("write", &path))
            .and_then(|()| {
                file.set_permissions(fs::Permissions::from_mode(OBJECT_MODE)).map_err(io_err("chmod", &path))
            })
            .and_then(|()| file.sync_all().map_err(io_err("fsync", &path)));
        if let Err(e) = written {
            drop(file);
            // Best effort: a leftover is harmless and clean_interrupted removes it later.
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Ok(path)
    }

    /// Create the object's fan-out directories as needed.
    fn create_object_dirs(&self, path: &Path) -> Result<(), StorageError> {
        let Some(dir) = path.parent() else {
            return Err(io_err("find the directory of", path)(io::ErrorKind::InvalidInput.into()));
        };
        fs::create_dir_all(dir).map_err(io_err("create directory", dir))
    }
}

impl BlobStore for LocalStore {
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, StorageError> {
        let sha256 = sha256_hex(bytes);
        let stored = StoredBlob { sha256: sha256.clone(), bytes: bytes.len() as u64 };
        let path = self.object_path(&sha256)?;
        if let Some(actual) = self.hash_existing(&path)? {
            self.accept_existing(&sha256, actual, &path)?;
            return Ok(stored);
        }
        self.create_object_dirs(&path)?;
        let temp = self.write_temp(bytes)?;
        // `link` fails rather than replace an existing name, which `rename` would silently do.
        let linked = fs::hard_link(&temp, &path);
        // The temporary name is no longer needed whatever happened; a leftover is cleaned later.
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => self.sync_object_dirs(&path)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Another writer published the name first. Whatever it linked there was complete
                // (only fsynced temporary files are linked), so its hash is meaningful.
                let actual =
                    self.hash_existing(&path)?.ok_or_else(|| io_err("find", &path)(io::ErrorKind::NotFound.into()))?;
                self.accept_existing(&sha256, actual, &path)?;
            }
            Err(e) => return Err(io_err("link", &path)(e)),
        }
        Ok(stored)
    }

    fn get(&self, sha256: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.object_path(sha256)?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::Missing { sha256: sha256.to_owned() });
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let actual = sha256_hex(&bytes);
        if actual != sha256 {
            return Err(StorageError::Corrupt { sha256: sha256.to_owned(), actual });
        }
        Ok(bytes)
    }

    fn open(&self, sha256: &str) -> Result<BlobReader, StorageError> {
        let path = self.object_path(sha256)?;
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::Missing { sha256: sha256.to_owned() });
            }
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let meta = file.metadata().map_err(io_err("stat", &path))?;
        Ok(BlobReader::local(file, meta.len(), FileVersion::of(&meta)))
    }

    fn verify(&self, sha256: &str) -> Result<Fixity, StorageError> {
        let path = self.object_path(sha256)?;
        Ok(match self.hash_existing(&path)? {
            None => Fixity::Missing,
            Some(actual) if actual == sha256 => Fixity::Intact,
            Some(actual) => Fixity::Changed { actual },
        })
    }

    /// Removes `tmp/put-*.tmp` files older than an hour. Younger ones may belong to a put still in
    /// progress in another thread or process, which would fail if its file disappeared; anything
    /// else in `tmp/` was not written by this store and is left alone.
    fn clean_interrupted(&self) -> Result<usize, StorageError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in fs::read_dir(&self.tmp).map_err(io_err("list", &self.tmp))? {
            let entry = entry.map_err(io_err("list", &self.tmp))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)) {
                continue;
            }
            let path = entry.path();
            // `DirEntry::metadata` does not follow symbolic links.
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("stat", &path)(e)),
            };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().map_err(io_err("stat", &path))?;
            if now.duration_since(modified).unwrap_or(Duration::ZERO) < INTERRUPTED_AFTER {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                // Another cleaner got there first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &path)(e)),
            }
        }
        Ok(removed)
    }

    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }
}

/// Fsync a directory, making the names created in it durable.
fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("fsync directory", dir))
}

/// Build a [`StorageError::Io`] for `op` on `path`.
fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
    move |source| StorageError::Io { op, path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, SeekFrom};
    use std::sync::{Arc, Barrier};

    use super::*;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalStore::open(dir.path().join("archive")).expect("open store");
        (dir, store)
    }

    /// Every regular file under `dir`, recursively.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    /// Replace the content of a stored (read-only) object, as damage or tampering would.
    fn tamper(store: &LocalStore, sha256: &str, content: &[u8]) {
        let path = store.object_path(sha256).expect("digest");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::write(&path, content).expect("overwrite");
        fs::set_permissions(&path, fs::Permissions::from_mode(OBJECT_MODE)).expect("chmod back");
    }

    #[test]
    fn put_then_get_returns_the_bytes_under_their_digest() {
        let (_dir, store) = store();
        let bytes = b"%PDF-1.7 archived report".to_vec();
        let stored = store.put(&bytes).expect("put");
        assert_eq!(stored, StoredBlob { sha256: sha256_hex(&bytes), bytes: bytes.len() as u64 });
        assert_eq!(store.get(&stored.sha256).expect("get"), bytes);
        assert_eq!(store.verify(&stored.sha256).expect("verify"), Fixity::Intact);

        let s = &stored.sha256;
        let expected = store.root().join("objects").join(&s[0..2]).join(&s[2..4]).join(s);
        assert_eq!(files_under(&store.root().join("objects")), vec![expected]);
        assert!(files_under(&store.root().join("tmp")).is_empty(), "no temporary file is left behind");

        let empty = store.put(b"").expect("an empty object is an object");
        assert_eq!(store.get(&empty.sha256).expect("get empty"), b"");
    }

    #[test]
    fn stored_objects_are_read_only() {
        let (_dir, store) = store();
        let stored = store.put(b"read-only").expect("put");
        let mode = fs::metadata(store.object_path(&stored.sha256).expect("digest")).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o444);
    }

    #[test]
    fn putting_the_same_bytes_again_writes_nothing() {
        let (_dir, store) = store();
        let first = store.put(b"same bytes").expect("first put");
        let path = store.object_path(&first.sha256).expect("digest");
        let before = fs::metadata(&path).expect("stat");
        let second = store.put(b"same bytes").expect("second put");
        let after = fs::metadata(&path).expect("stat");
        assert_eq!(first, second);
        assert_eq!(before.modified().expect("mtime"), after.modified().expect("mtime"));
        assert_eq!(std::os::unix::fs::MetadataExt::ino(&before), std::os::unix::fs::MetadataExt::ino(&after));
        assert_eq!(files_under(&store.root().join("objects")).len(), 1);
        assert!(files_under(&store.root().join("tmp")).is_empty());
    }

    #[test]
    fn a_changed_object_is_caught_by_get_and_verify_and_never_overwritten_by_put() {
        let (_dir, store) = store();
        let stored = store.put(b"original").expect("put");
        tamper(&store, &stored.sha256, b"tampered");

        match store.get(&stored.sha256) {
            Err(StorageError::Corrupt { sha256, actual }) => {
                assert_eq!(sha256, stored.sha256);
                assert_eq!(actual, sha256_hex(b"tampered"));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(store.verify(&stored.sha256).expect("verify"), Fixity::Changed { actual: sha256_hex(b"tampered") });

        // Putting the original bytes again must not repair (overwrite) the damaged file silently.
        let err = store.put(b"original").expect_err("the name is taken by other content");
        assert!(matches!(err, StorageError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&stored.sha256));
        let path = store.object_path(&stored.sha256).expect("digest");
        assert_eq!(fs::read(path).expect("read"), b"tampered");
    }

    #[test]
    fn a_missing_object_is_reported_as_missing() {
        let (_dir, store) = store();
        let absent = sha256_hex(b"never stored");
        assert!(matches!(store.get(&absent), Err(StorageError::Missing { sha256 }) if sha256 == absent));
        assert!(matches!(store.open(&absent), Err(StorageError::Missing { .. })));
        assert_eq!(store.verify(&absent).expect("verify"), Fixity::Missing);

        let stored = store.put(b"to be lost").expect("put");
        fs::remove_file(store.object_path(&stored.sha256).expect("digest")).expect("remove");
        assert_eq!(store.verify(&stored.sha256).expect("verify"), Fixity::Missing);
    }

    #[test]
    fn bad_digests_are_refused_before_touching_the_file_system() {
        let (dir, store) = store();
        // A file outside the store that a traversal would reach.
        fs::write(dir.path().join("secret"), b"outside").expect("write");
        let traversal = format!("../../../{}", "a".repeat(55));
        for bad in ["", "../../../secret", "ABCDEF", &sha256_hex(b"x").to_uppercase(), &traversal, "/etc/passwd"] {
            assert!(matches!(store.get(bad), Err(StorageError::BadDigest { .. })), "get {bad:?}");
            assert!(matches!(store.open(bad), Err(StorageError::BadDigest { .. })), "open {bad:?}");
            assert!(matches!(store.verify(bad), Err(StorageError::BadDigest { .. })), "verify {bad:?}");
        }
    }

    #[test]
    fn open_streams_and_seeks_with_the_length_known() {
        let (_dir, store) = store();
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let stored = store.put(&bytes).expect("put");
        let mut reader = store.open(&stored.sha256).expect("open");
        assert_eq!(reader.len(), bytes.len() as u64);
        reader.seek(SeekFrom::Start(150_000)).expect("seek");
        let mut tail = Vec::new();
        reader.read_to_end(&mut tail).expect("read");
        assert_eq!(tail, &bytes[150_000..]);
    }

    #[test]
    fn clean_interrupted_removes_stale_temp_files_only() {
        let (_dir, store) = store();
        let stored = store.put(b"keep me").expect("put");
        let tmp = store.root().join("tmp");
        let hour_and_a_bit_ago = SystemTime::now() - INTERRUPTED_AFTER - Duration::from_secs(60);
        let stale = ["put-1-00000000000000aa.tmp", "put-2-00000000000000bb.tmp"];
        for name in stale {
            let file = File::create(tmp.join(name)).expect("create");
            file.set_modified(hour_and_a_bit_ago).expect("set mtime");
        }
        // A write that may still be in progress, and a file this store did not write.
        fs::write(tmp.join("put-3-00000000000000cc.tmp"), b"partial").expect("create");
        let foreign = File::create(tmp.join("operator-notes.txt")).expect("create");
        foreign.set_modified(hour_and_a_bit_ago).expect("set mtime");

        assert_eq!(store.clean_interrupted().expect("clean"), 2);
        let left: Vec<String> =
            files_under(&tmp).iter().filter_map(|p| p.file_name()?.to_str().map(str::to_owned)).collect();
        assert_eq!(left, ["operator-notes.txt", "put-3-00000000000000cc.tmp"]);
        assert_eq!(store.get(&stored.sha256).expect("objects are untouched"), b"keep me");
        assert_eq!(store.clean_interrupted().expect("clean again"), 0);
    }

    #[test]
    fn concurrent_puts_of_the_same_bytes_all_succeed_and_leave_one_object() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let threads = 8;
        // Many rounds of small objects, so that the threads of a round pass the existence check
        // together and race to publish the name; one large object, where writing takes longer.
        let mut payloads: Vec<Vec<u8>> = (0..50u32).map(|round| round.to_le_bytes().to_vec()).collect();
        payloads.push((0..1_000_000u32).map(|i| (i % 239) as u8).collect());
        for bytes in &payloads {
            let bytes = Arc::new(bytes.clone());
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (store, bytes, barrier) = (Arc::clone(&store), Arc::clone(&bytes), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.put(&bytes)
                    })
                })
                .collect();
            let results: Vec<StoredBlob> =
                handles.into_iter().map(|h| h.join().expect("no panic").expect("every put succeeds")).collect();
            assert!(results.iter().all(|r| *r == results[0]));
            assert_eq!(store.get(&results[0].sha256).expect("get"), *bytes);
        }
        assert_eq!(files_under(&store.root().join("objects")).len(), payloads.len());
        assert!(files_under(&store.root().join("tmp")).is_empty());
    }

    #[test]
    fn concurrent_puts_of_different_bytes_share_directories_safely() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..20u8).map(|j| store.put(&[i, j]).map(|s| s.sha256)).collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut digests: Vec<String> =
            handles.into_iter().flat_map(|h| h.join().expect("no panic").expect("every put succeeds")).collect();
        digests.sort();
        digests.dedup();
        assert_eq!(digests.len(), 160);
        assert_eq!(files_under(&store.root().join("objects")).len(), 160);
        for d in &digests {
            assert_eq!(store.verify(d).expect("verify"), Fixity::Intact);
        }
    }

    #[test]
    fn describe_names_the_directory() {
        let (_dir, store) = store();
        assert_eq!(store.describe(), format!("local directory {}", store.root().display()));
    }
}
