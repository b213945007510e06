//! What can stop a rendering ([`RenderError`]) and what only deserves a note in the
//! result ([`Warning`]). Every limit error names the limit and the value that broke
//! it, so the HTTP layer can answer 413/422 with a message a city can act on.

use std::fmt;

fn table_message(columns: usize, cells: Option<usize>, max_columns: usize, max_cells: usize) -> String {
    match cells {
        None => format!("a table has {columns} columns, above the limit of {max_columns} columns (max_table_columns)"),
        Some(_) => format!(
            "a table of {columns} columns has more than {max_cells} cells, above the limit of {max_cells} cells (max_table_cells)"
        ),
    }
}

/// Why a rendering could not produce a PDF.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A Markdown input is larger than `Limits::max_markdown_bytes`.
    #[error("{what} is {actual} bytes, above the limit of {limit} bytes (max_markdown_bytes)")]
    InputTooLarge { what: &'static str, limit: usize, actual: usize },
    /// Block quotes and lists are nested deeper than `Limits::max_nesting_depth`.
    #[error("{what} nests blocks {depth} levels deep, above the limit of {limit} (max_nesting_depth)")]
    NestingTooDeep { what: &'static str, limit: usize, depth: usize },
    /// A table has more columns or cells than the limits allow. A table too wide is refused at
    /// its first row, before its cells are counted (`cells` is `None`); one with too many cells
    /// when the count passes the limit.
    #[error("{}", table_message(*columns, *cells, *max_columns, *max_cells))]
    TableTooLarge { columns: usize, cells: Option<usize>, max_columns: usize, max_cells: usize },
    /// An input has more blocks, headings, links or inline items than its work budget
    /// (`Limits::max_blocks`, `max_headings`, `max_links`, `max_inlines`): refused while
    /// parsing, before layout.
    #[error("{what} has more than {limit} {items}, above the limit ({limit_name})")]
    TooMuchContent { what: &'static str, items: &'static str, limit: usize, limit_name: &'static str },
    /// An attachment used as an image is larger than `Limits::max_image_bytes`, or
    /// decodes to more than `Limits::max_image_pixels` pixels.
    #[error("image {name} is too large: {detail}")]
    ImageTooLarge { name: String, detail: String },
    /// An attachment used as an image is not a readable PNG or JPEG.
    #[error("image {name} is not a readable PNG or JPEG: {reason}")]
    BadImage { name: String, reason: String },
    /// The document grew past `Limits::max_pages`.
    #[error("the document needs more than {limit} pages (max_pages)")]
    TooManyPages { limit: usize },
    /// A font file named by the template is missing or unreadable.
    #[error("font {path} cannot be used: {reason}")]
    MissingFont { path: String, reason: String },
    /// The template data is invalid.
    #[error("template {path} is invalid: {reason}")]
    BadTemplate { path: String, reason: String },
    /// A caller-supplied metadata value is invalid (for example a malformed date).
    #[error("invalid metadata {field}: {reason}")]
    BadMetadata { field: &'static str, reason: String },
    /// Reading an attachment directory failed.
    #[error("cannot read attachments from {path}: {source}")]
    Attachments {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The PDF writer failed to serialise the document.
    #[error("PDF serialisation failed: {0}")]
    Pdf(String),
}

/// Stable codes for [`Warning`]s, shown in brackets by `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningCode {
    /// Characters that no configured font covers; drawn as a placeholder box.
    MissingGlyph,
    /// An image reference that names no attachment.
    MissingImage,
    /// A footnote reference without a definition.
    UndefinedFootnote,
    /// A link whose target is neither http(s)/mailto nor a heading in the document.
    LinkDropped,
}

impl WarningCode {
    /// The code as written in messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::MissingGlyph => "missing-glyph",
            WarningCode::MissingImage => "missing-image",
            WarningCode::UndefinedFootnote => "undefined-footnote",
            WarningCode::LinkDropped => "link-dropped",
        }
    }
}

/// Something the reader of the PDF should know was not rendered as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
}

impl Warning {
    pub(crate) fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Warning { code, message: message.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code.as_str(), self.message)
    }
}
