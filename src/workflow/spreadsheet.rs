//! CSV as a spreadsheet will open it: the one writer behind every CSV the API and the pages
//! answer (the board, the archive export). Every cell goes through [`neutralise`], so a value a city or a client
//! chose (a city name such as `=HYPERLINK(...)`) is shown as text, never run as a formula
//! (OWASP, "CSV Injection").

use std::borrow::Cow;

use std::io;

/// A CSV document being written: a header row, then rows, each cell neutralised.
pub struct Sheet {
    out: csv::Writer<Vec<u8>>,
}

impl Sheet {
    /// A sheet whose first row is `header`.
    pub fn new(header: &[&str]) -> io::Result<Self> {
        let mut sheet = Self { out: csv::Writer::from_writer(Vec::new()) };
        sheet.row(header.iter().copied())?;
        Ok(sheet)
    }

    /// Appends one row. (Writing to memory fails only if memory does.)
    pub fn row<I>(&mut self, cells: I) -> io::Result<()>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let cells: Vec<I::Item> = cells.into_iter().collect();
        self.out.write_record(cells.iter().map(|c| neutralise(c.as_ref()).into_owned())).map_err(io::Error::from)
    }

    /// The document's bytes (UTF-8).
    pub fn finish(self) -> io::Result<Vec<u8>> {
        self.out.into_inner().map_err(|e| io::Error::other(e.error().to_string()))
    }
}

/// `cell` as a spreadsheet must see it: one that starts with `=`, `+`, `-`, `@`, TAB or CR is
/// prefixed with a single quote so it is read as text. A plain number (`-3`, `12.5`) is left as
/// it is: it cannot be a formula, and quoting it would turn a number column into text.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// An optional minus sign, digits, and optionally a point and more digits.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted_and_numbers_are_not() {
        for (cell, want) in [
            ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-", "'-"),
            ("-3", "-3"),
            ("-12.5", "-12.5"),
            ("Lyon", "Lyon"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(neutralise(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn every_cell_of_a_sheet_is_neutralised() {
        let mut sheet = Sheet::new(&["name", "n"]).unwrap();
        sheet.row(["=1+1", "-4"]).unwrap();
        let text = String::from_utf8(sheet.finish().unwrap()).unwrap();
        assert_eq!(text, "name,n\n'=1+1,-4\n");
    }
}
