//! Submissions and their review: what an attachment may be called and contain, when a city may
//! submit, what a review decision is, and who may write a comment. Pure rules over values; the
//! workflow applies them inside its transactions.

use chrono::{DateTime, NaiveDate, Utc};

use super::cycles::{CycleState, CycleStatus, deadline};
use super::{Invalid, clean_text};

/// The longest attachment name accepted, in bytes.
pub const MAX_ATTACHMENT_NAME: usize = 128;

/// The most attachments one draft or version may carry.
pub const MAX_ATTACHMENTS: usize = 200;

/// A plain file name an image reference can point at: no directories, no dot files, no control
/// or separator characters, and a `.png`, `.jpg` or `.jpeg` extension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttachmentName(String);

impl AttachmentName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("attachment", format!("`{}` {why}", super::fields::truncate(raw)));
        if raw.is_empty() {
            return Err(Invalid::new("attachment", "an attachment needs a file name"));
        }
        if raw.len() > MAX_ATTACHMENT_NAME {
            return Err(bad(&format!("is longer than {MAX_ATTACHMENT_NAME} bytes")));
        }
        if raw.contains(['/', '\\']) || raw == "." || raw == ".." {
            return Err(bad("is not a plain file name (no directories)"));
        }
        if raw.starts_with('.') || raw.starts_with(' ') || raw.ends_with(' ') {
            return Err(bad("must not start with a dot or start or end with a space"));
        }
        if raw.chars().any(|c| c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|' | '\u{feff}')) {
            return Err(bad("contains a character that is not allowed in a file name"));
        }
        let lower = raw.to_ascii_lowercase();
        if ![".png", ".jpg", ".jpeg"].iter().any(|ext| lower.ends_with(ext)) {
            return Err(bad("must end in .png, .jpg or .jpeg"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The media type of an image, from its first bytes (never from its name or a client's claim).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// Why a cycle does not take a new version now (409), or `Ok` when it does: in the window, when
/// overdue, or after a revision request.
pub fn may_submit(state: &CycleState) -> Result<(), String> {
    match state.status {
        CycleStatus::Open | CycleStatus::Overdue | CycleStatus::RevisionRequested => Ok(()),
        CycleStatus::Upcoming => {
            Err(format!("the submission window of this cycle opens on {}; save a draft until then", state.window_opens))
        }
        CycleStatus::Submitted => {
            Err("the latest version is awaiting review; a new version can follow a revision request".into())
        }
        CycleStatus::Accepted => Err("the report of this cycle is already accepted".into()),
        CycleStatus::Closed => {
            Err("this past round was closed by the history import: its facts are final and it takes no report".into())
        }
    }
}

/// Whether a version submitted at `at` is late: after the cycle's deadline for a first report,
/// after the revision deadline for a revised one.
pub fn is_late(at: DateTime<Utc>, state: &CycleState, revision_due: Option<NaiveDate>, tz: chrono_tz::Tz) -> bool {
    match revision_due {
        Some(due) => at >= deadline(due, tz),
        None => at >= state.deadline,
    }
}

/// The longest review comment or decision comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 20_000;

/// What the Secretariat decides on a submitted version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionInput {
    Accept,
    RequestRevision { comments: String, revision_due: NaiveDate },
}

impl DecisionInput {
    /// Validates a decision taken on local date `today` (the city's): a revision request needs
    /// comments and a revision deadline after today.
    pub fn parse(
        decision: &str,
        comments: Option<&str>,
        revision_due: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, Invalid> {
        match decision.trim() {
            "accept" => {
                if revision_due.is_some() {
                    return Err(Invalid::new("revision_due", "an acceptance takes no revision deadline"));
                }
                Ok(Self::Accept)
            }
            "request_revision" => {
                let comments = markdown_text("comments", comments.unwrap_or(""))?;
                let revision_due = revision_due
                    .ok_or_else(|| Invalid::new("revision_due", "a revision request needs a revision deadline"))?;
                if revision_due <= today {
                    return Err(Invalid::new("revision_due", format!("must be after today ({today})")));
                }
                Ok(Self::RequestRevision { comments, revision_due })
            }
            other => Err(Invalid::new(
                "decision",
                format!("`{}` is not a decision (accept, request_revision)", super::fields::truncate(other)),
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::RequestRevision { .. } => "request_revision",
        }
    }
}

/// A Markdown text typed by a reviewer: non-blank, bounded, no control characters but line breaks
/// and tabs.
pub fn markdown_text(field: &'static str, raw: &str) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(Invalid::new(field, format!("must be at most {MAX_COMMENT_CHARS} characters")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// A section heading a comment is anchored to.
pub fn section_anchor(raw: &str) -> Result<String, Invalid> {
    clean_text("section", raw, 200)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn attachment_names_are_plain_image_file_names() {
        for ok in ["map.png", "Carte de Lyon.JPG", "fig-1.jpeg", "東京.png"] {
            assert_eq!(AttachmentName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "../etc/passwd.png",
            "a/b.png",
            "a\\b.png",
            ".hidden.png",
            "..",
            "x.gif",
            "x.png.exe",
            "nul\0.png",
            "a:b.png",
            " x.png",
            &format!("{}.png", "a".repeat(200)),
        ] {
            assert!(AttachmentName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn images_are_sniffed_from_their_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a"), None);
        assert_eq!(sniff_image(b""), None);
    }

    fn state(status: CycleStatus) -> CycleState {
        CycleState {
            status,
            days_overdue: 0,
            days_left: 10,
            late: false,
            deadline: Utc.with_ymd_and_hms(2027, 12, 1, 0, 0, 0).unwrap(),
            window_opens: NaiveDate::from_ymd_opt(2027, 6, 3).unwrap(),
        }
    }

    #[test]
    fn submitting_is_open_in_the_window_when_overdue_and_after_a_revision_request() {
        for ok in [CycleStatus::Open, CycleStatus::Overdue, CycleStatus::RevisionRequested] {
            assert!(may_submit(&state(ok)).is_ok());
        }
        assert!(may_submit(&state(CycleStatus::Upcoming)).unwrap_err().contains("2027-06-03"));
        assert!(may_submit(&state(CycleStatus::Submitted)).unwrap_err().contains("awaiting review"));
        assert!(may_submit(&state(CycleStatus::Accepted)).unwrap_err().contains("accepted"));
    }

    #[test]
    fn lateness_is_measured_against_the_deadline_that_applies() {
        let s = state(CycleStatus::Open);
        let tz = chrono_tz::UTC;
        assert!(!is_late(Utc.with_ymd_and_hms(2027, 11, 30, 23, 59, 0).unwrap(), &s, None, tz));
        assert!(is_late(Utc.with_ymd_and_hms(2027, 12, 1, 0, 0, 0).unwrap(), &s, None, tz));
        let revision_due = NaiveDate::from_ymd_opt(2028, 2, 1);
        assert!(!is_late(Utc.with_ymd_and_hms(2028, 1, 20, 0, 0, 0).unwrap(), &s, revision_due, tz));
        assert!(is_late(Utc.with_ymd_and_hms(2028, 2, 2, 0, 0, 0).unwrap(), &s, revision_due, tz));
    }

    #[test]
    fn decisions_are_validated() {
        let today = NaiveDate::from_ymd_opt(2027, 12, 5).unwrap();
        let later = NaiveDate::from_ymd_opt(2028, 1, 31);
        assert_eq!(DecisionInput::parse("accept", None, None, today).unwrap(), DecisionInput::Accept);
        assert_eq!(
            DecisionInput::parse("request_revision", Some(" Add the action plan budget. "), later, today).unwrap(),
            DecisionInput::RequestRevision {
                comments: "Add the action plan budget.".into(),
                revision_due: later.unwrap()
            }
        );
        assert_eq!(DecisionInput::parse("request_revision", None, later, today).unwrap_err().field, "comments");
        assert_eq!(DecisionInput::parse("request_revision", Some("x"), None, today).unwrap_err().field, "revision_due");
        assert_eq!(
            DecisionInput::parse("request_revision", Some("x"), Some(today), today).unwrap_err().field,
            "revision_due"
        );
        assert_eq!(DecisionInput::parse("accept", None, later, today).unwrap_err().field, "revision_due");
        assert_eq!(DecisionInput::parse("reject", None, None, today).unwrap_err().field, "decision");
    }

    #[test]
    fn comment_text_keeps_line_breaks_and_refuses_other_controls() {
        assert_eq!(markdown_text("body", " a\n\tb \n").unwrap(), "a\n\tb");
        assert!(markdown_text("body", "a\u{1b}[31m").is_err());
        assert!(markdown_text("body", "  \n ").is_err());
        assert!(markdown_text("body", &"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
    }
}
