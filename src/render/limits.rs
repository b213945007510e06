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
        }
    }
}
