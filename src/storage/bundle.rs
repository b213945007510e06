//! The source bundle: everything an accepted report was rendered from, as one deterministic ZIP
//! file, archived next to the PDF and served as `source.zip`.
//!
//! Layout, in this order: `manifest.json` (the [`Manifest`]: who, which cycle and submission,
//! renderer and template versions, document metadata, and the SHA-256 and size of every other
//! entry), `report.md`, `action_plan.md`, then `attachments/<file name>` sorted by name.
//!
//! [`encode`] gives the same bytes for the same bundle: entries are stored (not deflated: the
//! images are PNG or JPEG and compressed already, and a stored entry's size is its size on disk,
//! which keeps [`decode`] simple to bound), with fixed timestamps and permissions and no archive
//! comment. [`decode`] takes hostile input: it refuses before reading any entry data when the
//! declared entry count or sizes exceed its [`BundleLimits`], accepts only the layout above, and
//! checks every entry against the manifest's digests and sizes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Cursor, Read, Write};

use serde::{Deserialize, Serialize};
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipArchive, ZipReadOptions, ZipWriter};

use super::sha256_hex;

/// The format identifier written into, and required of, every manifest.
pub const FORMAT: &str = "mmr-bundle/1";

const MANIFEST: &str = "manifest.json";
const REPORT: &str = "report.md";
const ACTION_PLAN: &str = "action_plan.md";
const ATTACHMENTS_DIR: &str = "attachments/";

/// Longest attachment file name, in bytes (the common file-system limit).
const MAX_ATTACHMENT_NAME_BYTES: usize = 255;

/// The end-of-central-directory record of a ZIP file without comment, and its signature.
const EOCD_LEN: usize = 22;
const EOCD_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];

/// The sources of one accepted report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Facts about the report; [`encode`] fills in `files`.
    pub manifest: Manifest,
    pub report_markdown: String,
    pub action_plan_markdown: String,
    /// `(file name, bytes)`; names are plain file names. [`decode`] returns them sorted by name.
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// `manifest.json`: what the bundle is and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    pub city: ManifestCity,
    pub cycle: ManifestCycle,
    pub submission: ManifestSubmission,
    /// When the Secretariat accepted the submission, RFC 3339 in UTC.
    pub accepted_at: String,
    /// Renderer name and version that produced the archived PDF.
    pub renderer: String,
    /// Version of the report template the PDF was rendered with.
    pub template_version: String,
    /// The metadata the PDF was rendered with, so that re-rendering gives the same bytes.
    pub document: ManifestDocument,
    /// Every entry of the bundle other than `manifest.json`, in bundle order.
    pub files: Vec<ManifestFile>,
}

/// The city the report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestCity {
    pub slug: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Creative field at the time of acceptance.
    pub field: String,
}

/// The reporting cycle the report answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestCycle {
    pub number: i32,
    pub period_start_year: i32,
    pub period_end_year: i32,
}

/// The accepted submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSubmission {
    pub id: i64,
    pub version: i32,
    /// RFC 3339 in UTC.
    pub submitted_at: String,
    /// Submitted after the due date.
    pub late: bool,
    /// The digest the version is known by and that was accepted (printed on the PDF's cover).
    pub bundle_sha256: String,
}

/// Cover and PDF metadata the archived PDF was rendered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDocument {
    pub title: String,
    /// BCP 47 language tag.
    pub language: String,
    /// The country and creative field as printed on the cover (English names).
    pub country: String,
    pub creative_field: String,
    pub cycle_label: String,
    pub version_label: String,
    pub keywords: Vec<String>,
    /// `YYYY-MM-DD`.
    pub submission_date: String,
    /// `YYYY-MM-DD`.
    pub accepted_date: String,
    /// `YYYY-MM-DD`.
    pub creation_date: String,
}

/// One entry of the bundle as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Path inside the bundle, e.g. `report.md` or `attachments/map.png`.
    pub path: String,
    /// SHA-256 of the entry, 64 lowercase hex digits.
    pub sha256: String,
    pub bytes: u64,
}

/// Bounds on what [`decode`] accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLimits {
    /// Entries in the ZIP file, the manifest and Markdown files included.
    pub max_entries: usize,
    /// Bytes of one entry.
    pub max_entry_bytes: u64,
    /// Bytes of all entries together.
    pub max_total_bytes: u64,
}

impl Default for BundleLimits {
    /// 256 entries, 16 MiB per entry (the renderer's image limit; Markdown is limited to 4 MiB),
    /// 128 MiB in all.
    fn default() -> Self {
        BundleLimits { max_entries: 256, max_entry_bytes: 16 * 1024 * 1024, max_total_bytes: 128 * 1024 * 1024 }
    }
}

/// Why a bundle could not be written or read. Entry names from the input are shown quoted and cut
/// to 200 characters.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bytes are not a ZIP file of the shape [`encode`] writes.
    #[error("not a source bundle: {reason}")]
    Malformed { reason: &'static str },
    /// The ZIP reader rejected the archive.
    #[error("not a readable source bundle: {0}")]
    Zip(ZipError),
    /// The ZIP writer failed.
    #[error("cannot write the source bundle: {0}")]
    Write(ZipError),
    /// More entries than [`BundleLimits::max_entries`].
    #[error("the bundle declares {count} entries; at most {max} are accepted")]
    TooManyEntries { count: u64, max: usize },
    /// An entry larger than [`BundleLimits::max_entry_bytes`].
    #[error("bundle entry {name:?} declares {bytes} bytes; at most {max} are accepted per entry")]
    EntryTooLarge { name: String, bytes: u64, max: u64 },
    /// Entries adding up to more than [`BundleLimits::max_total_bytes`].
    #[error("the bundle's entries declare more than {max} bytes in all")]
    TooLarge { max: u64 },
    /// An entry outside the layout (a path with directories, `..`, an absolute path, ...).
    #[error(
        "unexpected bundle entry {name:?}: a bundle holds only manifest.json, report.md, action_plan.md and attachments/<file name>"
    )]
    UnexpectedEntry { name: String },
    /// The same path twice (in the bundle, the manifest or the attachments to encode).
    #[error("bundle entry {name:?} appears more than once")]
    DuplicateEntry { name: String },
    /// An entry that is compressed or encrypted.
    #[error("bundle entry {name:?} is compressed or encrypted; only stored entries are accepted")]
    NotStored { name: String },
    /// An entry that is a symbolic link or a directory where a file belongs.
    #[error("bundle entry {name:?} is not a regular file")]
    NotAFile { name: String },
    /// An entry whose data does not match the sizes its headers declare.
    #[error("bundle entry {name:?} does not hold the {declared} bytes its header declares")]
    Inconsistent { name: String, declared: u64 },
    /// Reading an entry failed (including a CRC mismatch).
    #[error("cannot read bundle entry {name:?}: {source}")]
    Read { name: String, source: io::Error },
    /// A Markdown entry that is not UTF-8.
    #[error("bundle entry {name:?} is not UTF-8 text")]
    NotUtf8 { name: String },
    /// `manifest.json` is not a manifest (or could not be written).
    #[error("manifest.json: {0}")]
    Manifest(serde_json::Error),
    /// A manifest of another format version.
    #[error("unsupported bundle format {format:?}; this version reads {FORMAT}")]
    UnsupportedFormat { format: String },
    /// A required entry, or one the manifest lists, is absent.
    #[error("the bundle has no entry {name:?}")]
    MissingEntry { name: String },
    /// An entry the manifest does not list.
    #[error("bundle entry {name:?} is not listed in the manifest")]
    NotInManifest { name: String },
    /// An entry whose SHA-256 differs from the manifest's.
    #[error("bundle entry {name:?} has SHA-256 {actual}, the manifest says {expected}")]
    HashMismatch { name: String, expected: String, actual: String },
    /// An entry whose size differs from the manifest's.
    #[error("bundle entry {name:?} has {actual} bytes, the manifest says {expected}")]
    SizeMismatch { name: String, expected: u64, actual: u64 },
    /// An attachment name that is not a plain file name.
    #[error("attachment name {name:?} {reason}")]
    BadAttachmentName { name: String, reason: &'static str },
}

/// Write `bundle` as a ZIP file. The same bundle always gives the same bytes.
///
/// `manifest.files` is computed here from the contents (whatever the caller put there is
/// replaced), so decoding and re-encoding a bundle reproduces it byte for byte. Attachments are
/// written sorted by name; a name that is not a plain file name, or that appears twice, is an
/// error.
pub fn encode(bundle: &Bundle) -> Result<Vec<u8>, BundleError> {
    let mut attachments: Vec<(String, &[u8])> = Vec::with_capacity(bundle.attachments.len());
    for (name, bytes) in &bundle.attachments {
        check_attachment_name(name)?;
        attachments.push((format!("{ATTACHMENTS_DIR}{name}"), bytes));
    }
    attachments.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = attachments.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(BundleError::DuplicateEntry { name: pair[0].0.clone() });
    }
    let entries: Vec<(&str, &[u8])> =
        [(REPORT, bundle.report_markdown.as_bytes()), (ACTION_PLAN, bundle.action_plan_markdown.as_bytes())]
            .into_iter()
            .chain(attachments.iter().map(|(path, bytes)| (path.as_str(), *bytes)))
            .collect();

    let mut manifest = bundle.manifest.clone();
    manifest.files = entries
        .iter()
        .map(|(path, bytes)| ManifestFile {
            path: (*path).to_owned(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        })
        .collect();
    let mut manifest_json = serde_json::to_vec_pretty(&manifest).map_err(BundleError::Manifest)?;
    manifest_json.push(b'\n');

    // Every field that could vary with the machine or the clock is fixed.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::DEFAULT)
        .system(System::Unix)
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in std::iter::once((MANIFEST, manifest_json.as_slice())).chain(entries) {
        zip.start_file(path, options).map_err(BundleError::Write)?;
        zip.write_all(bytes).map_err(|e| BundleError::Write(ZipError::Io(e)))?;
    }
    Ok(zip.finish().map_err(BundleError::Write)?.into_inner())
}

/// Read a bundle written by [`encode`], checking every entry against the manifest.
///
/// Safe on hostile input: the declared entry count and sizes are checked against `limits` before
/// any entry is read, only stored (uncompressed, unencrypted) regular files in the bundle layout
/// are accepted, and no entry is read past its declared size. Attachments come back sorted by
/// name.
pub fn decode(zip: &[u8], limits: &BundleLimits) -> Result<Bundle, BundleError> {
    check_declared_count(zip, limits)?;
    let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(BundleError::Zip)?;
    if archive.len() > limits.max_entries {
        return Err(BundleError::TooManyEntries { count: archive.len() as u64, max: limits.max_entries });
    }
    if archive.has_duplicate_names() {
        return Err(BundleError::Malformed { reason: "the ZIP directory lists a name more than once" });
    }
    if archive.has_overlapping_entries().map_err(BundleError::Zip)? {
        return Err(BundleError::Malformed { reason: "ZIP entries overlap" });
    }

    // First pass, over the directory only: layout, kind and declared sizes of every entry.
    let mut files: Vec<(usize, String, u64)> = Vec::with_capacity(archive.len());
    let mut total = 0u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(BundleError::Zip)?;
        let raw_name = entry.name_raw();
        let Some(path) = std::str::from_utf8(raw_name).ok().filter(|path| is_bundle_path(path)) else {
            return Err(BundleError::UnexpectedEntry { name: shown(&String::from_utf8_lossy(raw_name)) });
        };
        if path == ATTACHMENTS_DIR {
            // The directory entry some ZIP tools write; it holds nothing.
            if !entry.is_dir() || entry.size() != 0 || entry.compressed_size() != 0 {
                return Err(BundleError::NotAFile { name: shown(path) });
            }
            continue;
        }
        if entry.is_dir() || entry.is_symlink() {
            return Err(BundleError::NotAFile { name: shown(path) });
        }
        let declared = entry.size();
        if declared > limits.max_entry_bytes {
            return Err(BundleError::EntryTooLarge { name: shown(path), bytes: declared, max: limits.max_entry_bytes });
        }
        if entry.encrypted() || entry.compression() != CompressionMethod::Stored {
            return Err(BundleError::NotStored { name: shown(path) });
        }
        if entry.compressed_size() != declared {
            return Err(BundleError::Inconsistent { name: shown(path), declared });
        }
        total = total.saturating_add(declared);
        if total > limits.max_total_bytes {
            return Err(BundleError::TooLarge { max: limits.max_total_bytes });
        }
        files.push((index, path.to_owned(), declared));
    }

    // Second pass: the data, never more than declared.
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (index, path, declared) in files {
        let read_err = |source| BundleError::Read { name: shown(&path), source };
        let options = ZipReadOptions::new().enforce_header_consistency(true);
        let file = archive.by_index_with_options(index, options).map_err(BundleError::Zip)?;
        // Bounded by the limits checked above.
        let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        file.take(declared.saturating_add(1)).read_to_end(&mut bytes).map_err(read_err)?;
        if bytes.len() as u64 != declared {
            return Err(BundleError::Inconsistent { name: shown(&path), declared });
        }
        contents.insert(path, bytes);
    }

    let manifest = parse_manifest(contents.remove(MANIFEST))?;
    check_against_manifest(&manifest, &contents)?;
    let report_markdown = take_text(&mut contents, REPORT)?;
    let action_plan_markdown = take_text(&mut contents, ACTION_PLAN)?;
    // What is left are attachments, in name order (a BTreeMap iterates sorted).
    let attachments = contents
        .into_iter()
        .map(|(path, bytes)| (path.strip_prefix(ATTACHMENTS_DIR).unwrap_or(&path).to_owned(), bytes))
        .collect();
    Ok(Bundle { manifest, report_markdown, action_plan_markdown, attachments })
}

/// Refuse an archive whose end record declares too many entries, before the ZIP reader parses (and
/// allocates for) its directory. The record must end the file: [`encode`] writes no archive
/// comment and nothing after the archive.
fn check_declared_count(zip: &[u8], limits: &BundleLimits) -> Result<(), BundleError> {
    let Some(eocd) = zip.len().checked_sub(EOCD_LEN).map(|at| &zip[at..]) else {
        return Err(BundleError::Malformed { reason: "too short to be a ZIP file" });
    };
    if eocd[0..4] != EOCD_SIGNATURE || eocd[20..22] != [0, 0] {
        return Err(BundleError::Malformed {
            reason: "the file does not end with a ZIP end-of-central-directory record (or has an archive comment)",
        });
    }
    let on_this_disk = u16::from_le_bytes([eocd[8], eocd[9]]);
    let in_all = u16::from_le_bytes([eocd[10], eocd[11]]);
    let count = u64::from(on_this_disk.max(in_all));
    if count > limits.max_entries as u64 {
        return Err(BundleError::TooManyEntries { count, max: limits.max_entries });
    }
    Ok(())
}

/// Whether `path` is one of the names a bundle may hold.
fn is_bundle_path(path: &str) -> bool {
    match path {
        MANIFEST | REPORT | ACTION_PLAN | ATTACHMENTS_DIR => true,
        _ => path.strip_prefix(ATTACHMENTS_DIR).is_some_and(|name| check_attachment_name(name).is_ok()),
    }
}

/// Check that `name` is a plain file name: not empty, at most 255 bytes, no path separator, no
/// control character, not `.` or `..`.
fn check_attachment_name(name: &str) -> Result<(), BundleError> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_ATTACHMENT_NAME_BYTES {
        "is longer than 255 bytes"
    } else if name == "." || name == ".." {
        "is a directory reference"
    } else if name.contains(['/', '\\']) {
        "contains a path separator"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(BundleError::BadAttachmentName { name: shown(name), reason })
}

/// Parse `manifest.json`: its format first, so that another version is named as such, then the
/// whole manifest.
fn parse_manifest(bytes: Option<Vec<u8>>) -> Result<Manifest, BundleError> {
    #[derive(Deserialize)]
    struct FormatOnly {
        format: String,
    }
    let bytes = bytes.ok_or_else(|| BundleError::MissingEntry { name: MANIFEST.to_owned() })?;
    let probe: FormatOnly = serde_json::from_slice(&bytes).map_err(BundleError::Manifest)?;
    if probe.format != FORMAT {
        return Err(BundleError::UnsupportedFormat { format: shown(&probe.format) });
    }
    serde_json::from_slice(&bytes).map_err(BundleError::Manifest)
}

/// Check that the manifest lists exactly the entries present, each with its digest and size.
fn check_against_manifest(manifest: &Manifest, contents: &BTreeMap<String, Vec<u8>>) -> Result<(), BundleError> {
    let mut listed = BTreeSet::new();
    for file in &manifest.files {
        if !listed.insert(file.path.as_str()) {
            return Err(BundleError::DuplicateEntry { name: shown(&file.path) });
        }
        let bytes = contents.get(&file.path).ok_or_else(|| BundleError::MissingEntry { name: shown(&file.path) })?;
        if bytes.len() as u64 != file.bytes {
            return Err(BundleError::SizeMismatch {
                name: shown(&file.path),
                expected: file.bytes,
                actual: bytes.len() as u64,
            });
        }
        let actual = sha256_hex(bytes);
        if actual != file.sha256 {
            return Err(BundleError::HashMismatch { name: shown(&file.path), expected: shown(&file.sha256), actual });
        }
    }
    match contents.keys().find(|path| !listed.contains(path.as_str())) {
        Some(path) => Err(BundleError::NotInManifest { name: shown(path) }),
        None => Ok(()),
    }
}

/// Take a required Markdown entry out of `contents` as text.
fn take_text(contents: &mut BTreeMap<String, Vec<u8>>, path: &str) -> Result<String, BundleError> {
    let bytes = contents.remove(path).ok_or_else(|| BundleError::MissingEntry { name: path.to_owned() })?;
    String::from_utf8(bytes).map_err(|_| BundleError::NotUtf8 { name: path.to_owned() })
}

/// An input-supplied name as shown in an error: at most 200 characters.
fn shown(name: &str) -> String {
    name.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.to_owned(),
            city: ManifestCity {
                slug: "granada-es".to_owned(),
                name: "Granada".to_owned(),
                country: "ES".to_owned(),
                field: "literature".to_owned(),
            },
            cycle: ManifestCycle { number: 3, period_start_year: 2022, period_end_year: 2025 },
            submission: ManifestSubmission {
                id: 42,
                version: 2,
                submitted_at: "2026-11-20T10:15:00Z".to_owned(),
                late: false,
                bundle_sha256: "ab".repeat(32),
            },
            accepted_at: "2026-12-03T09:00:00Z".to_owned(),
            renderer: "mmr 0.1.0".to_owned(),
            template_version: "mmr-template/1".to_owned(),
            document: ManifestDocument {
                title: "Membership Monitoring Report — Granada".to_owned(),
                language: "en".to_owned(),
                country: "Spain".to_owned(),
                creative_field: "Literature".to_owned(),
                cycle_label: "2022–2025".to_owned(),
                version_label: "v2".to_owned(),
                keywords: vec!["UNESCO Creative Cities Network".to_owned(), "literature".to_owned()],
                submission_date: "2026-11-20".to_owned(),
                accepted_date: "2026-12-03".to_owned(),
                creation_date: "2026-11-20".to_owned(),
            },
            files: Vec::new(),
        }
    }

    fn bundle() -> Bundle {
        Bundle {
            manifest: manifest(),
            report_markdown: "# Report\n\nLa Alhambra, ŽŠ, Ελληνικά.\n\n![map](map.png)\n".to_owned(),
            action_plan_markdown: "# Action plan\n\n1. Read more.\n".to_owned(),
            // Deliberately unsorted.
            attachments: vec![
                ("map.png".to_owned(), b"\x89PNG\r\n\x1a\nmap".to_vec()),
                ("café photo.jpg".to_owned(), b"\xff\xd8\xff\xe0photo".to_vec()),
                ("empty.png".to_owned(), Vec::new()),
            ],
        }
    }

    fn limits() -> BundleLimits {
        BundleLimits::default()
    }

    /// One entry of a hand-made ZIP file.
    struct Raw {
        name: Vec<u8>,
        data: Vec<u8>,
        method: u16,
        flags: u16,
        /// Declared uncompressed size, when it should differ from the data's.
        declared: Option<u32>,
        external_attributes: u32,
    }

    fn raw(name: &str, data: &[u8]) -> Raw {
        Raw {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            method: 0,
            flags: 0,
            declared: None,
            external_attributes: 0,
        }
    }

    /// Build a ZIP file byte by byte, to say things the ZIP writer refuses to say.
    fn raw_zip(entries: &[Raw]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for e in entries {
            let offset = out.len() as u32;
            let mut crc = flate2::Crc::new();
            crc.update(&e.data);
            let (csize, usize_) = (e.data.len() as u32, e.declared.unwrap_or(e.data.len() as u32));
            let common = |buf: &mut Vec<u8>| {
                buf.extend_from_slice(&20u16.to_le_bytes()); // version needed
                buf.extend_from_slice(&e.flags.to_le_bytes());
                buf.extend_from_slice(&e.method.to_le_bytes());
                buf.extend_from_slice(&0u16.to_le_bytes()); // time
                buf.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
                buf.extend_from_slice(&crc.sum().to_le_bytes());
                buf.extend_from_slice(&csize.to_le_bytes());
                buf.extend_from_slice(&usize_.to_le_bytes());
                buf.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
                buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
            };
            out.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04]);
            common(&mut out);
            out.extend_from_slice(&e.name);
            out.extend_from_slice(&e.data);

            central.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02]);
            central.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes()); // made by: Unix
            common(&mut central);
            central.extend_from_slice(&0u16.to_le_bytes()); // comment length
            central.extend_from_slice(&0u16.to_le_bytes()); // disk
            central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            central.extend_from_slice(&e.external_attributes.to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(&e.name);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&EOCD_SIGNATURE);
        out.extend_from_slice(&[0, 0, 0, 0]); // disk numbers
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        out
    }

    /// The manifest JSON that makes `entries` a valid bundle.
    fn manifest_for(entries: &[Raw]) -> Raw {
        let mut m = manifest();
        m.files = entries
            .iter()
            .filter(|e| !e.name.ends_with(b"/"))
            .map(|e| ManifestFile {
                path: String::from_utf8_lossy(&e.name).into_owned(),
                sha256: sha256_hex(&e.data),
                bytes: e.data.len() as u64,
            })
            .collect();
        raw(MANIFEST, &serde_json::to_vec(&m).expect("serializable"))
    }

    /// A hand-made bundle: a valid manifest for `entries` (report and plan included), then them.
    fn hand_bundle(extra: Vec<Raw>) -> Vec<u8> {
        let mut entries = vec![raw(REPORT, b"# R\n"), raw(ACTION_PLAN, b"# P\n")];
        entries.extend(extra);
        let mut all = vec![manifest_for(&entries)];
        all.extend(entries);
        raw_zip(&all)
    }

    #[test]
    fn a_bundle_round_trips_with_its_manifest_filled_in() {
        let original = bundle();
        let zip = encode(&original).expect("encode");
        let decoded = decode(&zip, &limits()).expect("decode");

        assert_eq!(decoded.report_markdown, original.report_markdown);
        assert_eq!(decoded.action_plan_markdown, original.action_plan_markdown);
        let mut attachments = original.attachments.clone();
        attachments.sort();
        assert_eq!(decoded.attachments, attachments);

        let paths: Vec<&str> = decoded.manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "report.md",
                "action_plan.md",
                "attachments/café photo.jpg",
                "attachments/empty.png",
                "attachments/map.png"
            ]
        );
        let report = &decoded.manifest.files[0];
        assert_eq!(report.sha256, sha256_hex(original.report_markdown.as_bytes()));
        assert_eq!(report.bytes, original.report_markdown.len() as u64);
        assert_eq!(Manifest { files: Vec::new(), ..decoded.manifest.clone() }, original.manifest);

        // A decoded bundle encodes back to the very same bytes.
        assert_eq!(encode(&decoded).expect("re-encode"), zip);
    }

    #[test]
    fn the_zip_has_the_documented_layout_stored_and_readable_by_any_zip_reader() {
        let zip = encode(&bundle()).expect("encode");
        let mut archive = ZipArchive::new(Cursor::new(&zip)).expect("a valid ZIP file");
        let names: Vec<String> = archive.file_names().map(|n| n.expect("name").into_owned()).collect();
        assert_eq!(
            names,
            [
                "manifest.json",
                "report.md",
                "action_plan.md",
                "attachments/café photo.jpg",
                "attachments/empty.png",
                "attachments/map.png"
            ]
        );
        for i in 0..archive.len() {
            let entry = archive.by_index(i).expect("entry");
            assert_eq!(entry.compression(), CompressionMethod::Stored);
            assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
            assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o644));
        }
        let mut manifest = String::new();
        archive.by_name(MANIFEST).expect("manifest").read_to_string(&mut manifest).expect("utf-8");
        assert!(manifest.contains("\"format\": \"mmr-bundle/1\""), "{manifest}");
    }

    #[test]
    fn encoding_is_deterministic() {
        let first = encode(&bundle()).expect("encode");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut reordered = bundle();
        reordered.attachments.reverse();
        reordered.manifest.files =
            vec![ManifestFile { path: "ignored".to_owned(), sha256: "ignored".to_owned(), bytes: 0 }];
        assert_eq!(encode(&bundle()).expect("encode again"), first, "same input, same bytes, a second later");
        assert_eq!(encode(&reordered).expect("encode reordered"), first, "attachment order and files do not matter");
    }

    #[test]
    fn encode_refuses_bad_and_duplicate_attachment_names() {
        for name in ["", ".", "..", "../evil.png", "/etc/passwd", "dir/x.png", "a\\b.png", "nul\0.png", "tab\t.png"] {
            let mut b = bundle();
            b.attachments.push((name.to_owned(), b"x".to_vec()));
            assert!(matches!(encode(&b), Err(BundleError::BadAttachmentName { .. })), "{name:?} was accepted");
        }
        let mut b = bundle();
        b.attachments.push(("x".repeat(256), Vec::new()));
        assert!(matches!(encode(&b), Err(BundleError::BadAttachmentName { .. })));
        let mut b = bundle();
        b.attachments.push(("map.png".to_owned(), b"another map".to_vec()));
        match encode(&b) {
            Err(BundleError::DuplicateEntry { name }) => assert_eq!(name, "attachments/map.png"),
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }

    #[test]
    fn the_hand_made_bundle_helper_builds_valid_bundles() {
        let decoded = decode(&hand_bundle(vec![raw("attachments/a.png", b"png")]), &limits()).expect("valid");
        assert_eq!(decoded.attachments, vec![("a.png".to_owned(), b"png".to_vec())]);
        // A directory entry for attachments/ is tolerated.
        let mut dir = raw(ATTACHMENTS_DIR, b"");
        dir.external_attributes = (0o040_755 << 16) | 0x10;
        decode(&hand_bundle(vec![dir]), &limits()).expect("attachments/ directory entry");
    }

    #[test]
    fn too_many_entries_are_refused_from_the_declared_count() {
        let small = BundleLimits { max_entries: 4, ..limits() };
        let four_attachments = (0..4).map(|i| raw(&format!("attachments/{i}.png"), b"x")).collect();
        match decode(&hand_bundle(four_attachments), &small) {
            Err(BundleError::TooManyEntries { count: 7, max: 4 }) => {}
            other => panic!("expected TooManyEntries, got {other:?}"),
        }
        // An end record claiming 65,535 entries is refused before the directory is parsed.
        let mut zip = hand_bundle(Vec::new());
        let at = zip.len() - EOCD_LEN;
        zip[at + 8..at + 12].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(decode(&zip, &limits()), Err(BundleError::TooManyEntries { count: 65535, .. })));
    }

    #[test]
    fn oversized_entries_are_refused_from_their_declared_size_without_reading() {
        let small = BundleLimits { max_entry_bytes: 5000, max_total_bytes: 6000, ..limits() };
        let big = raw("attachments/big.png", &[7u8; 5001]);
        match decode(&hand_bundle(vec![big]), &small) {
            Err(BundleError::EntryTooLarge { name, bytes: 5001, max: 5000 }) => assert_eq!(name, "attachments/big.png"),
            other => panic!("expected EntryTooLarge, got {other:?}"),
        }
        let three = (0..3).map(|i| raw(&format!("attachments/{i}.png"), &[1u8; 2500])).collect();
        assert!(matches!(decode(&hand_bundle(three), &small), Err(BundleError::TooLarge { max: 6000 })));

        // A zip bomb: a 1 KiB deflated entry declaring almost 4 GiB. It is refused on its header.
        let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        deflated.write_all(&vec![0u8; 1 << 20]).expect("deflate");
        let mut bomb = raw("attachments/bomb.png", &deflated.finish().expect("deflate"));
        bomb.method = 8;
        bomb.declared = Some(u32::MAX - 1);
        let refused = decode(&hand_bundle(vec![bomb]), &limits());
        assert!(matches!(refused, Err(BundleError::EntryTooLarge { bytes: 0xffff_fffe, .. })), "{refused:?}");
        // The same within the size limit is refused for being compressed.
        let mut small_deflated = raw("attachments/z.png", &[0x03, 0x00]);
        small_deflated.method = 8;
        small_deflated.declared = Some(10);
        assert!(matches!(decode(&hand_bundle(vec![small_deflated]), &limits()), Err(BundleError::NotStored { .. })));
    }

    #[test]
    fn entries_whose_data_and_header_disagree_are_refused() {
        let mut lying = raw("attachments/a.png", &[1u8; 20]);
        lying.declared = Some(10);
        assert!(matches!(
            decode(&hand_bundle(vec![lying]), &limits()),
            Err(BundleError::Inconsistent { declared: 10, .. })
        ));
        // A flipped data byte fails the CRC check.
        let mut zip = hand_bundle(vec![raw("attachments/a.png", b"abcdef")]);
        let at = zip.windows(6).position(|w| w == b"abcdef").expect("data present");
        zip[at] = b'X';
        assert!(matches!(decode(&zip, &limits()), Err(BundleError::Read { .. })), "{:?}", decode(&zip, &limits()));
    }

    #[test]
    fn names_outside_the_layout_are_refused() {
        for name in [
            "../report.md",
            "/etc/passwd",
            "attachments/../manifest.json",
            "attachments/sub/x.png",
            "attachments\\x.png",
            "other/",
            "other/x.png",
            "attachments/",
            "attachments/.",
            "attachments/..",
            "Report.md",
            "./report.md",
            "C:/x.png",
        ] {
            // `attachments/` is allowed only as an empty directory entry; as a file it is refused.
            let result = decode(&hand_bundle(vec![raw(name, b"x")]), &limits());
            assert!(
                matches!(result, Err(BundleError::UnexpectedEntry { .. } | BundleError::NotAFile { .. })),
                "{name:?}: {result:?}"
            );
        }
        let mut not_utf8 = raw("attachments/x.png", b"x");
        not_utf8.name = b"attachments/\xff.png".to_vec();
        assert!(matches!(decode(&hand_bundle(vec![not_utf8]), &limits()), Err(BundleError::UnexpectedEntry { .. })));
        let mut dir = raw("attachments/d/", b"");
        dir.external_attributes = (0o040_755 << 16) | 0x10;
        assert!(matches!(decode(&hand_bundle(vec![dir]), &limits()), Err(BundleError::UnexpectedEntry { .. })));
    }

    #[test]
    fn links_encrypted_and_duplicate_entries_are_refused() {
        let mut link = raw("attachments/link.png", b"/etc/passwd");
        link.external_attributes = 0o120_777 << 16;
        assert!(matches!(decode(&hand_bundle(vec![link]), &limits()), Err(BundleError::NotAFile { .. })));

        let mut encrypted = raw("attachments/e.png", b"secret");
        encrypted.flags = 1;
        assert!(matches!(decode(&hand_bundle(vec![encrypted]), &limits()), Err(BundleError::NotStored { .. })));

        let twice = vec![raw("attachments/a.png", b"one"), raw("attachments/a.png", b"one")];
        assert!(matches!(decode(&hand_bundle(twice), &limits()), Err(BundleError::Malformed { .. })));
    }

    #[test]
    fn required_entries_must_be_present() {
        let only_report = raw_zip(&[manifest_for(&[raw(REPORT, b"# R\n")]), raw(REPORT, b"# R\n")]);
        match decode(&only_report, &limits()) {
            Err(BundleError::MissingEntry { name }) => assert_eq!(name, ACTION_PLAN),
            other => panic!("expected MissingEntry, got {other:?}"),
        }
        let no_manifest = raw_zip(&[raw(REPORT, b"# R\n"), raw(ACTION_PLAN, b"# P\n")]);
        match decode(&no_manifest, &limits()) {
            Err(BundleError::MissingEntry { name }) => assert_eq!(name, MANIFEST),
            other => panic!("expected MissingEntry, got {other:?}"),
        }
    }

    #[test]
    fn every_entry_is_checked_against_the_manifest() {
        let entries = vec![raw(REPORT, b"# R\n"), raw(ACTION_PLAN, b"# P\n"), raw("attachments/a.png", b"png")];
        let listed = manifest_for(&entries);

        // An entry changed after the manifest was written.
        let mut changed = vec![manifest_for(&entries)];
        changed.extend([raw(REPORT, b"# X\n"), raw(ACTION_PLAN, b"# P\n"), raw("attachments/a.png", b"png")]);
        match decode(&raw_zip(&changed), &limits()) {
            Err(BundleError::HashMismatch { name, expected, actual }) => {
                assert_eq!(name, REPORT);
                assert_eq!(expected, sha256_hex(b"# R\n"));
                assert_eq!(actual, sha256_hex(b"# X\n"));
            }
            other => panic!("expected HashMismatch, got {other:?}"),
        }
        let mut resized = vec![manifest_for(&entries)];
        resized.extend([raw(REPORT, b"# R\n"), raw(ACTION_PLAN, b"# P\n"), raw("attachments/a.png", b"pngg")]);
        assert!(matches!(
            decode(&raw_zip(&resized), &limits()),
            Err(BundleError::SizeMismatch { expected: 3, actual: 4, .. })
        ));
        // An entry the manifest does not list.
        let mut extra = vec![manifest_for(&entries)];
        extra.extend(entries.iter().map(|e| raw(std::str::from_utf8(&e.name).expect("utf-8"), &e.data)));
        extra.push(raw("attachments/b.png", b"smuggled"));
        assert!(
            matches!(decode(&raw_zip(&extra), &limits()), Err(BundleError::NotInManifest { name }) if name == "attachments/b.png")
        );
        // A listed entry that is absent.
        let mut absent = vec![listed];
        absent.extend([raw(REPORT, b"# R\n"), raw(ACTION_PLAN, b"# P\n")]);
        assert!(
            matches!(decode(&raw_zip(&absent), &limits()), Err(BundleError::MissingEntry { name }) if name == "attachments/a.png")
        );
        // The same path listed twice.
        let mut m = manifest();
        let twice = ManifestFile { path: REPORT.to_owned(), sha256: sha256_hex(b"# R\n"), bytes: 4 };
        m.files = vec![twice.clone(), twice];
        let zip = raw_zip(&[
            raw(MANIFEST, &serde_json::to_vec(&m).expect("json")),
            raw(REPORT, b"# R\n"),
            raw(ACTION_PLAN, b"# P\n"),
        ]);
        assert!(matches!(decode(&zip, &limits()), Err(BundleError::DuplicateEntry { .. })));
    }

    #[test]
    fn the_manifest_must_be_a_manifest_of_this_format() {
        let entries = vec![raw(REPORT, b"# R\n"), raw(ACTION_PLAN, b"# P\n")];
        let with_manifest = |json: &[u8]| {
            let mut all = vec![raw(MANIFEST, json)];
            all.extend(entries.iter().map(|e| raw(std::str::from_utf8(&e.name).expect("utf-8"), &e.data)));
            raw_zip(&all)
        };
        assert!(matches!(decode(&with_manifest(b"not json"), &limits()), Err(BundleError::Manifest(_))));
        assert!(matches!(decode(&with_manifest(b"{}"), &limits()), Err(BundleError::Manifest(_))));

        let mut json: serde_json::Value =
            serde_json::from_slice(&manifest_for(&entries).data).expect("the helper writes JSON");
        json["format"] = "mmr-bundle/2".into();
        match decode(&with_manifest(&serde_json::to_vec(&json).expect("json")), &limits()) {
            Err(BundleError::UnsupportedFormat { format }) => assert_eq!(format, "mmr-bundle/2"),
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
        json["format"] = FORMAT.into();
        json["unexpected"] = true.into();
        assert!(matches!(
            decode(&with_manifest(&serde_json::to_vec(&json).expect("json")), &limits()),
            Err(BundleError::Manifest(_))
        ));
    }

    #[test]
    fn markdown_must_be_utf8() {
        let bad = decode(
            &raw_zip(&{
                let entries = vec![raw(REPORT, b"# R\xff\n"), raw(ACTION_PLAN, b"# P\n")];
                let mut all = vec![manifest_for(&entries)];
                all.extend(entries);
                all
            }),
            &limits(),
        );
        assert!(matches!(bad, Err(BundleError::NotUtf8 { name }) if name == REPORT));
    }

    #[test]
    fn garbage_truncation_and_trailing_data_are_refused() {
        let zip = encode(&bundle()).expect("encode");
        for input in
            [&b""[..], b"PK", b"not a zip file at all, just some text that is long enough", &zip[..zip.len() / 2]]
        {
            assert!(
                matches!(decode(input, &limits()), Err(BundleError::Malformed { .. })),
                "{:?}",
                decode(input, &limits())
            );
        }
        let mut trailing = zip.clone();
        trailing.extend_from_slice(b"trailer");
        assert!(matches!(decode(&trailing, &limits()), Err(BundleError::Malformed { .. })));
        // Cut in the middle but keeping a plausible end record: the directory no longer points at
        // the entries.
        let mut cut = zip[..40].to_vec();
        cut.extend_from_slice(&zip[zip.len() - 200..]);
        assert!(decode(&cut, &limits()).is_err());
    }
}
