//! [`S3Store`]: the blob store in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, …).
//!
//! Selected by an archive location `s3://bucket/prefix` (`MMR_ARCHIVE_URL`); objects live at
//! `<prefix>/objects/ab/cd/<sha256>` in the bucket, the same fan-out as [`super::LocalStore`]. The
//! endpoint, region and credentials come from the standard environment ([`S3Settings::from_env`]):
//!
//! | variable | meaning |
//! | --- | --- |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` | required credentials |
//! | `AWS_SESSION_TOKEN` | optional, for temporary credentials |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | region, `us-east-1` when unset |
//! | `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) | an S3-compatible server, e.g. `http://127.0.0.1:9000`; AWS when unset |
//! | `AWS_ALLOW_HTTP` | `true` to allow a plain-http endpoint (a local server); otherwise HTTPS only |
//!
//! Requests are path-style (`endpoint/bucket/key`), which every S3-compatible server accepts.
//!
//! Write-once: a put looks for the object first, then stores it with a conditional `PutObject`
//! (`If-None-Match: *`, honoured by AWS S3 since 2024, MinIO, R2 and moto; a server that ignores it
//! leaves only concurrent first writers unprotected). When the name is taken the store reads the
//! object back and hashes it: the same content is success, anything else is
//! [`StorageError::Corrupt`]; an object is never overwritten or deleted. A put is one request of
//! the whole object (S3 takes up to 5 GiB so), and S3 has no partial objects, so
//! [`BlobStore::clean_interrupted`] has nothing to clean.
//!
//! The [`BlobStore`] trait is blocking and the S3 client is async: each store owns a small tokio
//! runtime and blocks on it. Call the store from a plain thread or a blocking one
//! (`tokio::task::spawn_blocking`), never from inside an async task: blocking there panics. Opening
//! a store makes no request, so that much is fine anywhere.
//!
//! [`BlobStore::open`] streams: its reader fetches byte ranges as it is read and sought, starting
//! small (64 KiB) and doubling while reads stay sequential, up to 8 MiB; [`BlobStore::verify`]
//! hashes through such a reader, so memory stays bounded for any object size.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig};
use tokio::runtime::Runtime;

use super::{BlobReader, BlobStore, Fixity, StorageError, StoredBlob, check_digest, sha256_hex, sha256_of_reader};

/// The first range a reader fetches after opening or seeking elsewhere.
const MIN_CHUNK: u64 = 64 * 1024;
/// The largest range a reader fetches at once (and so the most it holds in memory).
const MAX_CHUNK: u64 = 8 * 1024 * 1024;

/// Where an [`S3Store`] connects and with which credentials: the standard `AWS_*` settings.
///
/// `Debug` shows whether credentials are set, never their values.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `AWS_ENDPOINT_URL`: the server's base URL; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// `AWS_REGION`; `us-east-1` when `None`.
    pub region: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
    /// `AWS_ALLOW_HTTP`: whether a plain-http endpoint is acceptable.
    pub allow_http: bool,
}

impl S3Settings {
    /// Read the settings from the environment (see the module documentation). Empty variables count
    /// as unset; `AWS_ALLOW_HTTP` must be `true` or `false` when set.
    pub fn from_env() -> Result<S3Settings, StorageError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let allow_http = match var("AWS_ALLOW_HTTP").map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                return Err(config("AWS_ALLOW_HTTP", "must be `true` or `false`"));
            }
        };
        Ok(S3Settings {
            endpoint: var("AWS_ENDPOINT_URL").or_else(|| var("AWS_ENDPOINT")),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
            allow_http,
        })
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint.as_deref().map(endpoint_host))
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "<set>"))
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "<set>"))
            .field("session_token", &self.session_token.as_ref().map(|_| "<set>"))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// The write-once blob store in an S3 bucket (see the module documentation).
#[derive(Debug)]
pub struct S3Store {
    client: Arc<Client>,
    bucket: String,
    /// `<prefix>/objects`, or `objects` without a prefix.
    objects: ObjectPath,
    /// `s3://bucket/prefix` as given, normalised.
    location: String,
    /// The endpoint's host (and port), or `AWS` for the default endpoint.
    endpoint_host: String,
}

/// The S3 client and the runtime its requests run on, shared by a store and its readers.
struct Client {
    s3: AmazonS3,
    runtime: Option<Runtime>,
}

impl Client {
    /// Run `future` to completion on this client's runtime, from a thread that is not async.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            // The runtime is taken only in `drop`, after which no method can run.
            None => unreachable!("S3 client used after drop"),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Dropping a runtime normally blocks, which panics inside an async context; the last
        // reference may well be dropped in one (the server's state at shutdown).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl S3Store {
    /// Open the store at `url` (`s3://bucket` or `s3://bucket/prefix`) with `settings`. Makes no
    /// request: a wrong endpoint, bucket or credential shows on the first operation.
    ///
    /// Fails with [`StorageError::Config`] naming the setting for a URL without a bucket, with
    /// credentials, a query or an unusable prefix, missing credentials, or a bad endpoint.
    pub fn open(url: &str, settings: S3Settings) -> Result<S3Store, StorageError> {
        let parsed =
            url::Url::parse(url).map_err(|e| config("MMR_ARCHIVE_URL", &format!("not a valid s3:// URL ({e})")))?;
        if parsed.scheme() != "s3" {
            return Err(config("MMR_ARCHIVE_URL", "an S3 archive location starts with s3://"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(config(
                "MMR_ARCHIVE_URL",
                "credentials do not belong in the s3:// URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(config("MMR_ARCHIVE_URL", "an s3:// URL takes no query or fragment: use s3://bucket/prefix"));
        }
        let bucket = parsed.host_str().unwrap_or_default().to_owned();
        if bucket.is_empty() {
            return Err(config("MMR_ARCHIVE_URL", "the s3:// URL names no bucket: use s3://bucket/prefix"));
        }
        if parsed.port().is_some() {
            return Err(config(
                "MMR_ARCHIVE_URL",
                "an s3:// URL names a bucket, not a server: set the server in AWS_ENDPOINT_URL",
            ));
        }
        let prefix = parsed.path().trim_matches('/');
        let prefix = ObjectPath::parse(prefix).map_err(|_| {
            config(
                "MMR_ARCHIVE_URL",
                "the prefix after the bucket has an empty, `.` or `..` segment or a bad character",
            )
        })?;
        let location =
            if prefix.as_ref().is_empty() { format!("s3://{bucket}") } else { format!("s3://{bucket}/{prefix}") };

        let access_key = settings
            .access_key_id
            .ok_or_else(|| config("AWS_ACCESS_KEY_ID", "not set: the s3:// archive store needs credentials"))?;
        let secret_key = settings
            .secret_access_key
            .ok_or_else(|| config("AWS_SECRET_ACCESS_KEY", "not set: the s3:// archive store needs credentials"))?;

        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(settings.region.unwrap_or_else(|| "us-east-1".to_owned()))
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            .with_allow_http(settings.allow_http)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        if let Some(token) = settings.session_token {
            builder = builder.with_token(token);
        }
        let endpoint_host = match &settings.endpoint {
            Some(endpoint) => {
                let endpoint_url = url::Url::parse(endpoint)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .ok_or_else(|| config("AWS_ENDPOINT_URL", "not an http:// or https:// URL"))?;
                if !endpoint_url.username().is_empty() || endpoint_url.password().is_some() {
                    return Err(config(
                        "AWS_ENDPOINT_URL",
                        "credentials do not belong in the endpoint URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                    ));
                }
                if endpoint_url.scheme() == "http" && !settings.allow_http {
                    return Err(config(
                        "AWS_ENDPOINT_URL",
                        "is plain http: set AWS_ALLOW_HTTP=true to allow that (for a local server only)",
                    ));
                }
                builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
                endpoint_host(endpoint)
            }
            None => "AWS".to_owned(),
        };

        // TLS uses rustls with ring; the process-wide provider may already be installed (by an
        // earlier store or another client), which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 =
            builder.build().map_err(|e| config("AWS_ENDPOINT_URL", &format!("cannot set up the S3 client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mmr-s3")
            .enable_all()
            .build()
            .map_err(|e| StorageError::Remote {
                op: "start the S3 client runtime for",
                location: location.clone(),
                source: Box::new(e),
            })?;
        Ok(S3Store {
            client: Arc::new(Client { s3, runtime: Some(runtime) }),
            bucket,
            objects: prefix.join("objects"),
            location,
            endpoint_host,
        })
    }

    /// The store's location, `s3://bucket` or `s3://bucket/prefix`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The key of the object named `sha256` (checked first).
    fn key(&self, sha256: &str) -> Result<ObjectPath, StorageError> {
        check_digest(sha256)?;
        Ok(self.objects.clone().join(&sha256[0..2]).join(&sha256[2..4]).join(sha256))
    }

    /// `s3://bucket/key`, for messages.
    fn url_of(&self, key: &ObjectPath) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn remote(&self, op: &'static str, key: &ObjectPath, e: object_store::Error) -> StorageError {
        StorageError::Remote { op, location: self.url_of(key), source: Box::new(e) }
    }

    /// The object's size; `None` when there is none.
    fn size(&self, key: &ObjectPath) -> Result<Option<u64>, StorageError> {
        match self.client.block_on(self.client.s3.head(key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote("look up", key, e)),
        }
    }

    /// A streaming reader of the `len` bytes at `key`.
    fn reader(&self, key: ObjectPath, len: u64) -> RangeReader {
        let location = self.url_of(&key);
        RangeReader {
            client: Arc::clone(&self.client),
            key,
            location,
            len,
            pos: 0,
            buf: Bytes::new(),
            buf_start: 0,
            chunk: MIN_CHUNK,
        }
    }

    /// SHA-256 of the object at `key`, read as a stream; `None` when there is none.
    fn hash_existing(&self, key: &ObjectPath) -> Result<Option<String>, StorageError> {
        let Some(len) = self.size(key)? else { return Ok(None) };
        let location = self.url_of(key);
        let (actual, _) = sha256_of_reader(self.reader(key.clone(), len)).map_err(|e| StorageError::Remote {
            op: "read",
            location,
            source: Box::new(e),
        })?;
        Ok(Some(actual))
    }
}

impl BlobStore for S3Store {
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, StorageError> {
        let sha256 = sha256_hex(bytes);
        let key = self.key(&sha256)?;
        let stored = StoredBlob { sha256: sha256.clone(), bytes: bytes.len() as u64 };
        let settle = |existing: String| {
            if existing == sha256 {
                Ok(stored.clone())
            } else {
                Err(StorageError::Corrupt { sha256: sha256.clone(), actual: existing })
            }
        };
        // Look first: a repeated put then uploads nothing, and a server that ignored the
        // precondition below could still only lose a race, never overwrite a settled object.
        if let Some(existing) = self.hash_existing(&key)? {
            return settle(existing);
        }
        let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        match self.client.block_on(self.client.s3.put_opts(&key, payload, options)) {
            Ok(_) => Ok(stored),
            // Another writer got there in between.
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                match self.hash_existing(&key)? {
                    Some(existing) => settle(existing),
                    // Refused as existing, then gone: something deletes archive objects.
                    None => Err(StorageError::Missing { sha256 }),
                }
            }
            Err(e) => Err(self.remote("store", &key, e)),
        }
    }

    fn get(&self, sha256: &str) -> Result<Vec<u8>, StorageError> {
        let key = self.key(sha256)?;
        let bytes = self.client.block_on(async {
            match self.client.s3.get(&key).await {
                Ok(result) => result.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        let bytes = bytes.map_err(|e| self.remote("read", &key, e))?;
        let bytes = bytes.ok_or_else(|| StorageError::Missing { sha256: sha256.to_owned() })?;
        let actual = sha256_hex(&bytes);
        if actual != sha256 {
            return Err(StorageError::Corrupt { sha256: sha256.to_owned(), actual });
        }
        Ok(bytes.to_vec())
    }

    fn open(&self, sha256: &str) -> Result<BlobReader, StorageError> {
        let key = self.key(sha256)?;
        let len = self.size(&key)?.ok_or_else(|| StorageError::Missing { sha256: sha256.to_owned() })?;
        Ok(BlobReader::new(self.reader(key, len), len))
    }

    fn verify(&self, sha256: &str) -> Result<Fixity, StorageError> {
        let key = self.key(sha256)?;
        Ok(match self.hash_existing(&key)? {
            None => Fixity::Missing,
            Some(actual) if actual == sha256 => Fixity::Intact,
            Some(actual) => Fixity::Changed { actual },
        })
    }

    fn clean_interrupted(&self) -> Result<usize, StorageError> {
        // A put is one request: S3 stores the whole object or nothing.
        Ok(0)
    }

    fn describe(&self) -> String {
        format!("S3 bucket {} at {}", self.location, self.endpoint_host)
    }
}

/// Reads an object by byte ranges, fetched lazily (see the module documentation).
struct RangeReader {
    client: Arc<Client>,
    key: ObjectPath,
    /// `s3://bucket/key`, for errors.
    location: String,
    len: u64,
    pos: u64,
    /// The last range fetched, which starts at `buf_start`.
    buf: Bytes,
    buf_start: u64,
    /// How much the next sequential fetch asks for.
    chunk: u64,
}

impl RangeReader {
    /// Fetch the range starting at `self.pos`, for a read of `wanted` bytes.
    fn fetch(&mut self, wanted: usize) -> io::Result<()> {
        let sequential = !self.buf.is_empty() && self.pos == self.buf_start + self.buf.len() as u64;
        self.chunk = if sequential { (self.chunk * 2).min(MAX_CHUNK) } else { MIN_CHUNK };
        let size = self.chunk.max(wanted as u64).min(MAX_CHUNK);
        let range: Range<u64> = self.pos..(self.pos + size).min(self.len);
        let bytes = self
            .client
            .block_on(self.client.s3.get_range(&self.key, range.clone()))
            .map_err(|e| io::Error::other(format!("cannot read bytes {range:?} of {}: {e}", self.location)))?;
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} ended at {} of the {} bytes it had when opened", self.location, self.pos, self.len),
            ));
        }
        self.buf = bytes;
        self.buf_start = self.pos;
        Ok(())
    }
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= buf_end {
            self.fetch(out.len())?;
        }
        let offset = usize::try_from(self.pos - self.buf_start).map_err(io::Error::other)?;
        let n = out.len().min(self.buf.len() - offset);
        out[..n].copy_from_slice(&self.buf[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// A [`StorageError::Config`] for `setting`.
fn config(setting: &'static str, problem: &str) -> StorageError {
    StorageError::Config { setting, problem: problem.to_owned() }
}

/// The host (and port) of an endpoint URL, without user name or password.
fn endpoint_host(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => "an endpoint without a host".to_owned(),
        },
        Err(_) => "an unparseable endpoint".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> S3Settings {
        S3Settings {
            access_key_id: Some("AKIAKEY".into()),
            secret_access_key: Some("topsecret".into()),
            ..S3Settings::default()
        }
    }

    fn config_error(url: &str, settings: S3Settings) -> (&'static str, String) {
        match S3Store::open(url, settings) {
            Err(StorageError::Config { setting, problem }) => (setting, problem),
            other => panic!("{url}: expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn bad_urls_name_the_setting() {
        for url in ["s3://", "s3:///prefix", "s3://key:secret@bucket/p", "s3://bucket/p?x=1", "s3://bucket/a//b"] {
            let (setting, problem) = config_error(url, settings());
            assert_eq!(setting, "MMR_ARCHIVE_URL", "{url}: {problem}");
            assert!(!problem.contains("secret"), "{problem}");
        }
        let (_, problem) = config_error("s3://", settings());
        assert!(problem.contains("no bucket"), "{problem}");
        let (_, problem) = config_error("s3://bucket:9000/p", settings());
        assert!(problem.contains("AWS_ENDPOINT_URL"), "{problem}");
    }

    #[test]
    fn missing_credentials_and_bad_endpoints_name_the_setting() {
        let no_key = S3Settings { access_key_id: None, ..settings() };
        assert_eq!(config_error("s3://bucket/p", no_key).0, "AWS_ACCESS_KEY_ID");
        let no_secret = S3Settings { secret_access_key: None, ..settings() };
        assert_eq!(config_error("s3://bucket/p", no_secret).0, "AWS_SECRET_ACCESS_KEY");
        let http = S3Settings { endpoint: Some("http://127.0.0.1:9000".into()), ..settings() };
        let (setting, problem) = config_error("s3://bucket/p", http);
        assert_eq!(setting, "AWS_ENDPOINT_URL");
        assert!(problem.contains("AWS_ALLOW_HTTP=true"), "{problem}");
        let garbage = S3Settings { endpoint: Some("not a url".into()), ..settings() };
        assert_eq!(config_error("s3://bucket/p", garbage).0, "AWS_ENDPOINT_URL");
    }

    #[test]
    fn describe_and_debug_show_no_credentials() {
        let with_password = S3Settings { endpoint: Some("https://user:pw@s3.example.org/".into()), ..settings() };
        let (setting, problem) = config_error("s3://archive", with_password);
        assert_eq!(setting, "AWS_ENDPOINT_URL");
        assert!(!problem.contains("pw"), "{problem}");
        let settings = S3Settings {
            endpoint: Some("https://s3.example.org:8443/".into()),
            session_token: Some("tokensecret".into()),
            ..settings()
        };
        let debug = format!("{settings:?}");
        let store = S3Store::open("s3://archive/mmr/reports/", settings).expect("valid settings");
        assert_eq!(store.location(), "s3://archive/mmr/reports");
        assert_eq!(store.describe(), "S3 bucket s3://archive/mmr/reports at s3.example.org:8443");
        for text in [debug, store.describe(), format!("{store:?}")] {
            for secret in ["topsecret", "AKIAKEY", "tokensecret"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        let bare = S3Store::open("s3://archive", super::tests::settings()).expect("no prefix");
        assert_eq!(bare.describe(), "S3 bucket s3://archive at AWS");
        assert_eq!(bare.key(&sha256_hex(b"x")).expect("digest").as_ref().split('/').next(), Some("objects"));
    }

    #[test]
    fn keys_fan_out_under_the_prefix_and_refuse_bad_digests() {
        let store = S3Store::open("s3://archive/mmr", settings()).expect("open");
        let sha = sha256_hex(b"abc");
        assert_eq!(store.key(&sha).expect("digest").as_ref(), format!("mmr/objects/ba/78/{sha}"));
        assert_eq!(store.url_of(&store.key(&sha).expect("digest")), format!("s3://archive/mmr/objects/ba/78/{sha}"));
        for bad in ["", "../../x", &sha.to_uppercase()] {
            assert!(matches!(store.get(bad), Err(StorageError::BadDigest { .. })), "{bad:?}");
            assert!(matches!(store.open(bad), Err(StorageError::BadDigest { .. })), "{bad:?}");
            assert!(matches!(store.verify(bad), Err(StorageError::BadDigest { .. })), "{bad:?}");
        }
        assert_eq!(store.clean_interrupted().expect("nothing to clean"), 0);
    }

    #[test]
    fn dropping_a_store_inside_an_async_context_does_not_panic() {
        let store = S3Store::open("s3://archive", settings()).expect("open");
        let outer = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        outer.block_on(async move { drop(store) });
    }
}
