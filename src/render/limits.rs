//! Input limits. Every one of them bounds time or memory for hostile input; the
//! defaults are the service's policy and each can be raised by configuration.

/// Bounds on what a rendering accepts. Exceeding one gives a [`super::RenderError`]
/// naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of Markdown per input (report, action plan).
    pub max_markdown_bytes: usize,
    /// Depth of nested block quotes and lists.
    pub max_nesting_depth: usize,
    /// Columns of one table.
    pub max_table_columns: usize,
    /// Cells of one table (columns times rows).
    pub max_table_cells: usize,
    /// Bytes of one image attachment.
    pub max_image_bytes: usize,
    /// Pixels (width times height) of one decoded image.
    pub max_image_pixels: u64,
    /// Pages of the finished document.
    pub max_pages: usize,
    /// Blocks of one input (paragraphs, headings, list items' paragraphs, code blocks, quotes,
    /// lists, tables and each of their cells, rules, footnote bodies), nested ones included. A work budget counted while
    /// parsing, before any layout: every block costs shaping, line breaking and PDF objects, and a
    /// Markdown input of a few bytes per block (a million one-letter paragraphs or list items fit
    /// in [`Limits::max_markdown_bytes`]) would otherwise take seconds and gigabytes to lay out.
    pub max_blocks: usize,
    /// Headings of one input. Each one also costs a line of the table of contents, a bookmark and
    /// a link, so they are bounded more tightly than blocks.
    pub max_headings: usize,
    /// Links of one input: each is an annotation on every line it spans.
    pub max_links: usize,
    /// Inline items of one input: runs of text in one style, code spans, line breaks, images,
    /// footnote references. Densely formatted prose has one every 15 bytes or so (about 280,000
    /// in the 4 MB allowed); alternating emphasis and code spans make one every three bytes, and
    /// each costs shaping and PDF operations of its own.
    pub max_inlines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_markdown_bytes: 4 * 1024 * 1024,
            max_nesting_depth: 16,
            max_table_columns: 32,
            max_table_cells: 20_000,
            max_image_bytes: 16 * 1024 * 1024,
            max_image_pixels: 40_000_000,
            max_pages: 5_000,
            max_blocks: 100_000,
            max_headings: 10_000,
            max_links: 50_000,
            max_inlines: 400_000,
        }
    }
}
