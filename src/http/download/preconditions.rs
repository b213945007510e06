//! Preconditions and ranges (RFC 9110 §13 and §14): what a download request is answered with,
//! decided from its method and its `If-None-Match`, `If-Modified-Since`, `Range` and `If-Range`
//! headers before a byte of the file is read ([`plan`]); the HTTP date forms; `Content-Range`.
//! The rules are listed in the module doc of [`super`].

use axum::http::{HeaderMap, Method, header};
use chrono::{DateTime, NaiveDateTime, Utc};

use super::MAX_RANGES;

/// An inclusive byte range within the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn len(self) -> u64 {
        self.end - self.start + 1
    }
}

/// What a request is answered with, before any byte is read.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    NotModified,
    Whole,
    Single(ByteRange),
    Multi(Vec<ByteRange>),
    Unsatisfiable,
}

/// Decides the answer from the request's conditional and range headers (module doc).
pub fn plan(method: &Method, headers: &HeaderMap, etag: &str, modified: DateTime<Utc>, len: u64) -> Plan {
    if method != Method::GET && method != Method::HEAD {
        return Plan::Whole;
    }
    if let Some(tags) = joined(headers, &header::IF_NONE_MATCH) {
        if tag_list_matches(&tags, etag, false) {
            return Plan::NotModified;
        }
    } else if let Some(since) = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok())
        && let Some(since) = parse_http_date(since)
        && modified.timestamp() <= since.timestamp()
    {
        return Plan::NotModified;
    }
    if method != Method::GET {
        return Plan::Whole;
    }
    let mut ranges = headers.get_all(header::RANGE).iter();
    let (Some(range), None) = (ranges.next(), ranges.next()) else {
        return Plan::Whole;
    };
    if let Some(condition) = headers.get(header::IF_RANGE) {
        let condition = condition.to_str().unwrap_or("").trim();
        let holds = if condition.starts_with('"') || condition.starts_with("W/") {
            tag_list_matches(condition, etag, true)
        } else {
            parse_http_date(condition).is_some_and(|d| d.timestamp() == modified.timestamp())
        };
        if !holds {
            return Plan::Whole;
        }
    }
    let Some(specs) = range.to_str().ok().and_then(parse_range) else {
        return Plan::Whole;
    };
    if specs.len() > MAX_RANGES {
        return Plan::Whole;
    }
    let ranges: Vec<ByteRange> = specs.into_iter().filter_map(|s| s.resolve(len)).collect();
    let mut sorted = ranges.clone();
    sorted.sort_by_key(|r| r.start);
    if sorted.windows(2).any(|w| w[1].start <= w[0].end) {
        return Plan::Whole;
    }
    match ranges.len() {
        0 => Plan::Unsatisfiable,
        1 => Plan::Single(ranges[0]),
        _ => Plan::Multi(ranges),
    }
}

/// All values of a list header, joined with commas; `None` when it is absent or not text.
fn joined(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    let values: Option<Vec<&str>> = headers.get_all(name).iter().map(|v| v.to_str().ok()).collect();
    values.filter(|v| !v.is_empty()).map(|v| v.join(","))
}

/// Whether an `If-None-Match`-style list (or `*`) names `etag` (a quoted strong tag). Weak
/// comparison ignores a `W/` prefix; strong comparison never matches a weak tag. A malformed
/// list matches only through the tags read before the fault.
fn tag_list_matches(list: &str, etag: &str, strong: bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(after_quote) = rest.strip_prefix('"') else {
            return false;
        };
        let Some(end) = after_quote.find('"') else {
            return false;
        };
        let tag = &rest[..end + 2];
        if tag == etag && !(strong && weak) {
            return true;
        }
        rest = &after_quote[end + 1..];
    }
}

/// One range of a `Range: bytes=...` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `a-b`
    FromTo(u64, u64),
    /// `a-`
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The bytes this asks for in a file of `len` bytes, or `None` when it is not satisfiable.
    fn resolve(self, len: u64) -> Option<ByteRange> {
        let last = len.checked_sub(1)?;
        match self {
            RangeSpec::FromTo(a, b) if a <= last => Some(ByteRange { start: a, end: b.min(last) }),
            RangeSpec::From(a) if a <= last => Some(ByteRange { start: a, end: last }),
            RangeSpec::Suffix(n) if n > 0 => Some(ByteRange { start: len.saturating_sub(n), end: last }),
            _ => None,
        }
    }
}

/// Parses `bytes=...`; `None` for another unit or any malformed part (the header is then ignored).
/// Numbers too large for 64 bits are read as the largest one: valid syntax, just beyond any file.
fn parse_range(header: &str) -> Option<Vec<RangeSpec>> {
    let (unit, set) = header.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let mut specs = Vec::new();
    for part in set.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (first, last) = part.split_once('-')?;
        let spec = match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, false) => RangeSpec::Suffix(number(last)?),
            (false, true) => RangeSpec::From(number(first)?),
            (false, false) => {
                let (a, b) = (number(first)?, number(last)?);
                if b < a {
                    return None;
                }
                RangeSpec::FromTo(a, b)
            }
            (true, true) => return None,
        };
        specs.push(spec);
    }
    if specs.is_empty() { None } else { Some(specs) }
}

pub fn content_range(r: ByteRange, len: u64) -> String {
    format!("bytes {}-{}/{len}", r.start, r.end)
}

/// An HTTP date (IMF-fixdate), e.g. `Tue, 24 Nov 2026 09:30:00 GMT`.
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Reads the three HTTP-date forms RFC 9110 §5.6.7 requires recipients to accept.
fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    ["%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use chrono::NaiveDate;

    use super::*;

    const ETAG: &str = "\"0123\"";

    fn modified() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 11, 24).and_then(|d| d.and_hms_opt(9, 30, 0)).map(|t| t.and_utc()).unwrap()
    }

    fn plan_for(method: Method, pairs: &[(header::HeaderName, &str)]) -> Plan {
        let mut headers = HeaderMap::new();
        for (name, v) in pairs {
            headers.append(name.clone(), HeaderValue::from_str(v).unwrap());
        }
        plan(&method, &headers, ETAG, modified(), 1000)
    }

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_lists_and_star() {
        for matching in ["\"0123\"", "W/\"0123\"", "\"x\", \"0123\"", "\"a,b\" ,W/\"0123\"", "*", " * "] {
            assert_eq!(plan_for(Method::GET, &[(header::IF_NONE_MATCH, matching)]), Plan::NotModified, "{matching}");
            assert_eq!(plan_for(Method::HEAD, &[(header::IF_NONE_MATCH, matching)]), Plan::NotModified);
        }
        for other in ["\"0124\"", "\"0123", "0123", "\"\"", "", "\"x\" junk \"0123\""] {
            assert_eq!(plan_for(Method::GET, &[(header::IF_NONE_MATCH, other)]), Plan::Whole, "{other}");
        }
        // Two header lines form one list.
        let two = [(header::IF_NONE_MATCH, "\"a\""), (header::IF_NONE_MATCH, "\"0123\"")];
        assert_eq!(plan_for(Method::GET, &two), Plan::NotModified);
    }

    #[test]
    fn if_modified_since_counts_only_without_if_none_match() {
        let same = http_date(modified());
        assert_eq!(same, "Tue, 24 Nov 2026 09:30:00 GMT");
        assert_eq!(plan_for(Method::GET, &[(header::IF_MODIFIED_SINCE, &same)]), Plan::NotModified);
        for obsolete in ["Tuesday, 24-Nov-26 09:30:00 GMT", "Tue Nov 24 09:30:00 2026", "Wed, 25 Nov 2026 00:00:00 GMT"]
        {
            assert_eq!(
                plan_for(Method::GET, &[(header::IF_MODIFIED_SINCE, obsolete)]),
                Plan::NotModified,
                "{obsolete}"
            );
        }
        for earlier_or_bad in ["Tue, 24 Nov 2026 09:29:59 GMT", "yesterday", ""] {
            assert_eq!(plan_for(Method::GET, &[(header::IF_MODIFIED_SINCE, earlier_or_bad)]), Plan::Whole);
        }
        let both = [(header::IF_NONE_MATCH, "\"other\""), (header::IF_MODIFIED_SINCE, same.as_str())];
        assert_eq!(plan_for(Method::GET, &both), Plan::Whole, "If-None-Match decides when present");
    }

    #[test]
    fn ranges_in_the_three_forms_and_several() {
        let range = |v: &str| plan_for(Method::GET, &[(header::RANGE, v)]);
        assert_eq!(range("bytes=0-99"), Plan::Single(r(0, 99)));
        assert_eq!(range("bytes=990-5000"), Plan::Single(r(990, 999)));
        assert_eq!(range("bytes=900-"), Plan::Single(r(900, 999)));
        assert_eq!(range("bytes=-10"), Plan::Single(r(990, 999)));
        assert_eq!(range("bytes=-5000"), Plan::Single(r(0, 999)));
        assert_eq!(range("BYTES = 5-5"), Plan::Single(r(5, 5)));
        assert_eq!(range("bytes=500-599, 0-9"), Plan::Multi(vec![r(500, 599), r(0, 9)]));
        // Unsatisfiable parts are dropped while another is satisfiable.
        assert_eq!(range("bytes=0-9,2000-"), Plan::Single(r(0, 9)));
        assert_eq!(range("bytes=1000-"), Plan::Unsatisfiable);
        assert_eq!(range("bytes=-0"), Plan::Unsatisfiable);
        assert_eq!(range("bytes=99999999999999999999999-"), Plan::Unsatisfiable);
        assert_eq!(range("bytes=0-99999999999999999999999"), Plan::Single(r(0, 999)));
    }

    #[test]
    fn malformed_overlapping_and_too_many_ranges_get_the_whole_file() {
        let range = |v: &str| plan_for(Method::GET, &[(header::RANGE, v)]);
        for bad in
            ["bytes=", "bytes=5", "bytes=9-1", "bytes=a-b", "bytes=-", "bytes=1-2-3", "items=0-1", "0-1", "bytes=--1"]
        {
            assert_eq!(range(bad), Plan::Whole, "{bad}");
        }
        assert_eq!(range("bytes=0-99,50-150"), Plan::Whole, "overlapping");
        assert_eq!(range("bytes=0-99,-950"), Plan::Whole, "overlapping suffix");
        let many: Vec<String> = (0..=MAX_RANGES as u64).map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
        assert_eq!(range(&format!("bytes={}", many.join(","))), Plan::Whole);
        let enough = &many[..MAX_RANGES];
        assert!(matches!(range(&format!("bytes={}", enough.join(","))), Plan::Multi(v) if v.len() == MAX_RANGES));
        // Two Range lines, HEAD and other methods: the Range header is ignored.
        let two = [(header::RANGE, "bytes=0-1"), (header::RANGE, "bytes=2-3")];
        assert_eq!(plan_for(Method::GET, &two), Plan::Whole);
        assert_eq!(plan_for(Method::HEAD, &[(header::RANGE, "bytes=0-1")]), Plan::Whole);
    }

    #[test]
    fn if_range_needs_the_strong_etag_or_the_exact_date() {
        let with =
            |condition: &str| plan_for(Method::GET, &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, condition)]);
        assert_eq!(with(ETAG), Plan::Single(r(0, 9)));
        assert_eq!(with(&http_date(modified())), Plan::Single(r(0, 9)));
        for stale in ["\"other\"", "W/\"0123\"", "Tue, 24 Nov 2026 09:30:01 GMT", "garbage"] {
            assert_eq!(with(stale), Plan::Whole, "{stale}");
        }
    }
}
