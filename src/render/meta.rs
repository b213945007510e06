//! Caller-supplied facts about the report (cover values, PDF metadata) and the
//! attachments images may use. Dates are given, never read from the clock, so a
//! re-rendering of an archived bundle gives the same bytes.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{RenderError, RenderRequest};

/// Review status printed on the cover.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Draft,
    Submitted,
    Accepted {
        date: PdfDate,
    },
}

/// A calendar date with an optional UTC time, as given by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PdfDate {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl PdfDate {
    /// Parse `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    pub fn parse(text: &str) -> Result<PdfDate, RenderError> {
        let bad = || RenderError::BadMetadata {
            field: "date",
            reason: format!("{text:?} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"),
        };
        let b = text.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<u16> {
            let s = text.get(range)?;
            if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
        };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let (year, month, day) =
            (num(0..4).ok_or_else(bad)?, num(5..7).ok_or_else(bad)? as u8, num(8..10).ok_or_else(bad)? as u8);
        let (mut hour, mut minute, mut second) = (0, 0, 0);
        if b.len() > 10 {
            if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
                return Err(bad());
            }
            hour = num(11..13).ok_or_else(bad)? as u8;
            minute = num(14..16).ok_or_else(bad)? as u8;
            second = num(17..19).ok_or_else(bad)? as u8;
        }
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
            return Err(bad());
        }
        Ok(PdfDate { year, month, day, hour, minute, second })
    }

    /// A plain date at midnight UTC; out-of-range parts are clamped.
    pub fn ymd(year: u16, month: u8, day: u8) -> PdfDate {
        PdfDate {
            year: year.min(9999),
            month: month.clamp(1, 12),
            day: day.clamp(1, 31),
            hour: 0,
            minute: 0,
            second: 0,
        }
    }

    /// `D:YYYYMMDDHHmmSSZ`, the PDF date string.
    pub(crate) fn pdf_string(&self) -> String {
        format!(
            "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// ISO 8601 with time zone, as XMP wants it.
    pub(crate) fn xmp_string(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl fmt::Display for PdfDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Everything printed on the cover and written into the PDF metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    /// Document title; also the PDF title.
    pub title: String,
    /// City name, the PDF author.
    pub city: String,
    pub country: String,
    pub creative_field: String,
    /// Cycle label in the running header, e.g. `2021–2024`.
    pub cycle: String,
    /// Report version, e.g. `v3`.
    pub version: String,
    /// Submission date as printed; empty when not submitted.
    pub submission_date: Option<PdfDate>,
    pub status: Status,
    /// BCP 47 language tag of the text (PDF /Lang and XMP dc:language).
    pub language: String,
    pub keywords: Vec<String>,
    /// Creation date of the document, taken from the submission record.
    pub creation_date: PdfDate,
}

impl Default for DocumentMeta {
    fn default() -> Self {
        DocumentMeta {
            title: "Membership Monitoring Report".to_string(),
            city: String::new(),
            country: String::new(),
            creative_field: String::new(),
            cycle: String::new(),
            version: "draft".to_string(),
            submission_date: None,
            status: Status::Draft,
            language: "en".to_string(),
            keywords: vec!["UNESCO Creative Cities Network".to_string(), "Membership Monitoring Report".to_string()],
            creation_date: PdfDate::ymd(2000, 1, 1),
        }
    }
}

impl DocumentMeta {
    /// Metadata for a city when only its display name is known (the CLI without a
    /// database). The title follows the template's wording.
    pub fn for_city(city: &str) -> DocumentMeta {
        DocumentMeta {
            title: format!("Membership Monitoring Report — {city}"),
            city: city.to_string(),
            ..DocumentMeta::default()
        }
    }
}

/// A file handed over with the report. Image references resolve only to these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name as referenced from the Markdown (no directories).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Read the regular files of one directory (not recursively) as attachments,
/// sorted by name so the result does not depend on directory order.
pub fn load_attachments_dir(dir: &Path) -> Result<Vec<Attachment>, RenderError> {
    let io_err = |source| RenderError::Attachments { path: dir.display().to_string(), source };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        if !entry.file_type().map_err(io_err)?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).map_err(io_err)?;
        out.push(Attachment { name, bytes });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// SHA-256 over the source bundle (both Markdown texts and the attachments), hex
/// encoded; its first 16 digits go on the cover.
pub(crate) fn source_digest(request: &RenderRequest<'_>) -> String {
    bundle_digest(request.report_markdown, request.action_plan_markdown, request.attachments)
}

/// The digest that identifies a report's sources: each input length-prefixed, attachments in
/// the order given (callers sort them by name). A submitted version is known by it, and its
/// first 16 digits are printed on the PDF's cover, so a reader can tie a PDF to its version.
pub fn bundle_digest(report_markdown: &str, action_plan_markdown: Option<&str>, attachments: &[Attachment]) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(report_markdown.as_bytes());
    field(action_plan_markdown.unwrap_or("").as_bytes());
    for a in attachments {
        field(a.name.as_bytes());
        field(&a.bytes);
    }
    hex(&h.finalize())
}

/// The PDF /ID: a digest of the sources, the metadata and the template version,
/// so two renderings share an /ID exactly when they must share their bytes.
pub(crate) fn document_id(source_sha: &str, meta: &DocumentMeta, template_version: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(source_sha.as_bytes());
    h.update(format!("{meta:?}").as_bytes());
    h.update(template_version.as_bytes());
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
