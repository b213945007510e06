//! Pure domain types and rules: what a valid city, contact, field or principal is, and who may do
//! what. Nothing here touches a framework, a database or the clock; values enter through `parse`
//! constructors at the edge and are trusted from then on.

pub mod auth;
pub mod catalog;
pub mod cities;
pub mod contacts;
pub mod countries;
pub mod cycles;
pub mod fields;
pub mod harvest;
pub mod history;
pub mod regions;
pub mod reminders;
pub mod submissions;

use std::fmt;

/// A value that failed validation: which input it was and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The name of the offending input as the caller spelled it (`country`, `time_zone`, ...).
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for Invalid {}

/// The rule for control characters in text from outside (DESIGN.md §6: the two stores must
/// answer the same, and PostgreSQL cannot store U+0000): no C0 control character (U+0000 to
/// U+001F) anywhere, except TAB, LF and CR in multi-line text (`multiline`: Markdown, comments,
/// JSON string values). Works on bytes, so it also applies to text that is not UTF-8 yet (a C0
/// byte is that character in UTF-8). Returns the first offending character.
pub fn forbidden_control(text: &[u8], multiline: bool) -> Option<char> {
    text.iter().find(|&&b| b < 0x20 && !(multiline && matches!(b, b'\t' | b'\n' | b'\r'))).map(|&b| char::from(b))
}

/// What is said of a text refused by [`forbidden_control`].
pub fn control_message(c: char) -> String {
    format!("must not contain the control character U+{:04X}", u32::from(c))
}

/// [`forbidden_control`] as a validation of the input `field`.
pub fn check_text(field: &'static str, text: &[u8], multiline: bool) -> Result<(), Invalid> {
    forbidden_control(text, multiline).map_or(Ok(()), |c| Err(Invalid::new(field, control_message(c))))
}

/// Trims `raw` and checks it is non-empty, at most `max` characters and free of control characters.
pub(crate) fn clean_text(field: &'static str, raw: &str, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(Invalid::new(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(field: &'static str, raw: &str) -> Result<chrono::NaiveDate, Invalid> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new(field, format!("`{}` is not a date (YYYY-MM-DD)", fields::truncate(raw.trim()))))
}

/// One page of a list, as every list endpoint and query returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A validated page request: `page` from 1, `per_page` from 1 to [`PageRequest::MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: i64,
    per_page: i64,
}

impl PageRequest {
    pub const DEFAULT_PER_PAGE: i64 = 50;
    pub const MAX_PER_PAGE: i64 = 200;

    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, Invalid> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if !(1..=1_000_000).contains(&page) {
            return Err(Invalid::new("page", "must be between 1 and 1000000"));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(Invalid::new("per_page", format!("must be between 1 and {}", Self::MAX_PER_PAGE)));
        }
        Ok(Self { page, per_page })
    }

    pub fn page(self) -> i64 {
        self.page
    }

    pub fn per_page(self) -> i64 {
        self.per_page
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// This request's page of a whole list held in memory (the short lists: a city's contacts and
    /// cycles, a version's comments, the tokens).
    pub fn slice<T>(self, all: Vec<T>) -> Page<T> {
        let total = all.len() as i64;
        let items = all.into_iter().skip(self.offset() as usize).take(self.per_page as usize).collect();
        self.wrap(items, total)
    }

    /// Wraps one page of results with this request's numbers.
    pub fn wrap<T>(self, items: Vec<T>, total: i64) -> Page<T> {
        Page { items, total, page: self.page, per_page: self.per_page }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, per_page: Self::DEFAULT_PER_PAGE }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_request_defaults_and_bounds() {
        let p = PageRequest::parse(None, None).unwrap();
        assert_eq!((p.page(), p.per_page(), p.offset()), (1, 50, 0));
        assert_eq!(PageRequest::parse(Some(3), Some(20)).unwrap().offset(), 40);
        assert_eq!(PageRequest::parse(Some(0), None).unwrap_err().field, "page");
        assert_eq!(PageRequest::parse(None, Some(201)).unwrap_err().field, "per_page");
        assert_eq!(PageRequest::parse(None, Some(0)).unwrap_err().field, "per_page");
    }

    #[test]
    fn clean_text_rules() {
        assert_eq!(clean_text("name", "  Kraków ", 10).unwrap(), "Kraków");
        assert!(clean_text("name", "   ", 10).is_err());
        assert!(clean_text("name", "a\u{7}b", 10).is_err());
        assert!(clean_text("name", "abcdef", 5).is_err());
    }

    #[test]
    fn control_characters_rule() {
        assert_eq!(forbidden_control(b"a\0b", true), Some('\0'));
        assert_eq!(forbidden_control(b"line\r\n\tnext", true), None);
        assert_eq!(forbidden_control(b"line\nnext", false), Some('\n'));
        assert_eq!(forbidden_control("Kraków \u{7f}".as_bytes(), false), None, "only C0");
        assert_eq!(forbidden_control(b"\x1b[31m", true), Some('\u{1b}'));
        let e = check_text("q", b"\0", false).unwrap_err();
        assert_eq!((e.field, e.message.as_str()), ("q", "must not contain the control character U+0000"));
    }
}
