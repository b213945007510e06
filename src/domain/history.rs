//! Past reporting rounds, as the Secretariat's records give them (`mmr history import`): one row
//! of the manifest per round of a city, checked on its own here (dates in order, a decision only
//! on a report received, a file and a revision deadline only where they belong).
//!
//! A file is the report as it was received, whatever became of it: the PDF of an accepted report
//! is archived and published from the decision date like any accepted report; that of a report
//! received but not accepted (undecided, or sent back for revision) is archived write-once as
//! the received document of its round and stays unpublished (it was never accepted), readable by
//! those who read the city's work. What needs the registry (the city,
//! which of its cycles the round is) is checked by `workflow::history`.

use chrono::{Datelike, NaiveDate};

use super::Invalid;
use super::cities::Language;
use super::fields::truncate;

/// Longest free note kept with a round.
pub const MAX_NOTES: usize = 2000;

/// What was decided on a past round's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PastDecision {
    Accepted,
    RevisionRequested,
    /// Received but never decided, or never received.
    None,
}

impl PastDecision {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
            "accepted" | "accept" => Ok(Self::Accepted),
            "revision_requested" | "request_revision" => Ok(Self::RevisionRequested),
            "" | "none" => Ok(Self::None),
            other => Err(Invalid::new(
                "decision",
                format!("`{}` is not a decision (accepted, revision requested, none)", truncate(other)),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::RevisionRequested => "revision_requested",
            Self::None => "none",
        }
    }
}

/// Which round of a city a row is: its period (`2014-2018`), or the year its report was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundKey {
    Period { start: i32, end: i32 },
    DueYear(i32),
}

impl RoundKey {
    /// The cycle number of this round for a city designated in `designation_year`, when the
    /// round is one of its cycles.
    pub fn cycle_number(self, designation_year: i32) -> Result<u32, Invalid> {
        let end = match self {
            Self::Period { end, .. } | Self::DueYear(end) => end,
        };
        let offset = end - designation_year;
        if offset >= 4 && offset % 4 == 0 {
            Ok((offset / 4) as u32)
        } else {
            let what = match self {
                Self::Period { start, end } => format!("period {start}-{end}"),
                Self::DueYear(y) => format!("due year {y}"),
            };
            Err(Invalid::new(
                "period",
                format!(
                    "{what} is not one of the city's four-year cycles (designated {designation_year}: \
                     {}-{}, {}-{}, ...)",
                    designation_year,
                    designation_year + 4,
                    designation_year + 4,
                    designation_year + 8
                ),
            ))
        }
    }

    /// The last year of the period: the regular due year.
    pub fn end_year(self) -> i32 {
        match self {
            Self::Period { end, .. } | Self::DueYear(end) => end,
        }
    }
}

/// One past round as the manifest states it, checked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastRound {
    pub city: String,
    pub round: RoundKey,
    /// The due date that applied (catch-up dates and extensions included).
    pub due_date: NaiveDate,
    /// When the report was received; `None`: never.
    pub received_on: Option<NaiveDate>,
    pub decision: PastDecision,
    pub decided_on: Option<NaiveDate>,
    /// The revision deadline the Secretariat set, for a revision requested (`None`: unknown).
    pub revision_due: Option<NaiveDate>,
    pub language: Language,
    /// The report as it was sent: a PDF file name (no directories).
    pub file: Option<String>,
    pub notes: String,
}

/// The raw cells of one manifest row (empty cells as `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRound<'a> {
    pub city: Option<&'a str>,
    pub period: Option<&'a str>,
    pub due_year: Option<&'a str>,
    pub due_date: Option<&'a str>,
    pub received_on: Option<&'a str>,
    pub decision: Option<&'a str>,
    pub decided_on: Option<&'a str>,
    pub revision_due: Option<&'a str>,
    pub language: Option<&'a str>,
    pub file: Option<&'a str>,
    pub notes: Option<&'a str>,
}

fn date(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, Invalid> {
    raw.map(|r| super::parse_date(field, r)).transpose()
}

impl PastRound {
    /// Checks a row: every date a date, none after `today` (but a revision deadline), received
    /// before decided, a decision only on a report received, a revision deadline only for a
    /// revision requested and not before it, a file only for a report received.
    pub fn parse(raw: &RawRound<'_>, today: NaiveDate) -> Result<Self, Invalid> {
        let city = raw.city.ok_or_else(|| Invalid::new("city", "is empty"))?.trim().to_ascii_lowercase();
        let year = |field: &'static str, r: &str| {
            r.trim()
                .parse::<i32>()
                .ok()
                .filter(|y| (2004..=today.year()).contains(y))
                .ok_or_else(|| Invalid::new(field, format!("`{}` is not a year from 2004 on", truncate(r))))
        };
        let round = match (raw.period, raw.due_year) {
            (Some(p), due_year) => {
                let (a, b) = p
                    .split_once(['-', '–', '/'])
                    .ok_or_else(|| Invalid::new("period", format!("`{}` is not a period (2014-2018)", truncate(p))))?;
                let (start, end) = (year("period", a)?, year("period", b)?);
                if end != start + 4 {
                    return Err(Invalid::new("period", format!("{start}-{end} is not four years")));
                }
                if let Some(d) = due_year
                    && year("due_year", d)? != end
                {
                    return Err(Invalid::new(
                        "due_year",
                        format!("{} is not the end of period {start}-{end}", d.trim()),
                    ));
                }
                RoundKey::Period { start, end }
            }
            (None, Some(d)) => RoundKey::DueYear(year("due_year", d)?),
            (None, None) => return Err(Invalid::new("period", "give the period (2014-2018) or the due year")),
        };
        let due_date = date("due_date", raw.due_date)?.ok_or_else(|| Invalid::new("due_date", "is empty"))?;
        if due_date.year() < round.end_year() {
            return Err(Invalid::new(
                "due_date",
                format!("{due_date} is before the round's due year {}", round.end_year()),
            ));
        }
        let received_on = date("received_on", raw.received_on)?;
        let decided_on = date("decided_on", raw.decided_on)?;
        let decision = PastDecision::parse(raw.decision.unwrap_or(""))?;
        for (field, d) in [("due_date", Some(due_date)), ("received_on", received_on), ("decided_on", decided_on)] {
            if let Some(d) = d
                && d > today
            {
                return Err(Invalid::new(field, format!("{d} is in the future: only past rounds are imported")));
            }
        }
        let period_start = NaiveDate::from_ymd_opt(round.end_year() - 4, 1, 1).unwrap_or(NaiveDate::MIN);
        if let Some(r) = received_on
            && r < period_start
        {
            return Err(Invalid::new("received_on", format!("{r} is before the round's period began")));
        }
        match (decision, received_on, decided_on) {
            (PastDecision::None, _, Some(_)) => {
                return Err(Invalid::new("decided_on", "a date without a decision"));
            }
            (PastDecision::None, _, None) => {}
            (_, None, _) => {
                return Err(Invalid::new("decision", "a decision on a report never received (received_on is empty)"));
            }
            (_, Some(_), None) => return Err(Invalid::new("decided_on", "the decision needs its date")),
            (_, Some(r), Some(d)) if d < r => {
                return Err(Invalid::new("decided_on", format!("{d} is before the report was received ({r})")));
            }
            _ => {}
        }
        let revision_due = date("revision_due", raw.revision_due)?;
        if let Some(due) = revision_due {
            if decision != PastDecision::RevisionRequested {
                return Err(Invalid::new("revision_due", "a revision deadline only goes with a revision requested"));
            }
            if let Some(d) = decided_on
                && due < d
            {
                return Err(Invalid::new("revision_due", format!("{due} is before the revision was requested ({d})")));
            }
        }
        let language = raw.language.map(Language::parse).transpose()?.unwrap_or_default();
        let file = match raw.file.map(str::trim) {
            None | Some("") => None,
            Some(f) if f.contains(['/', '\\']) || f.starts_with('.') || f.chars().any(char::is_control) => {
                return Err(Invalid::new("file", format!("`{}` is not a plain file name", truncate(f))));
            }
            Some(_) if received_on.is_none() => {
                return Err(Invalid::new(
                    "file",
                    "a file for a report never received (received_on is empty); leave the file empty for this round",
                ));
            }
            Some(f) => Some(f.to_owned()),
        };
        let notes = raw.notes.unwrap_or("").trim().to_owned();
        if notes.chars().count() > MAX_NOTES || notes.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
            return Err(Invalid::new("notes", format!("at most {MAX_NOTES} characters, no control characters")));
        }
        Ok(Self { city, round, due_date, received_on, decision, decided_on, revision_due, language, file, notes })
    }

    /// Days the report came after the due date (0 when on time); `None` when never received.
    pub fn days_late(&self) -> Option<i64> {
        self.received_on.map(|r| (r - self.due_date).num_days().max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn good() -> RawRound<'static> {
        RawRound {
            city: Some("ostersund"),
            period: Some("2010-2014"),
            due_date: Some("2014-11-30"),
            received_on: Some("2014-12-10"),
            decision: Some("accepted"),
            decided_on: Some("2015-02-01"),
            language: Some("en"),
            file: Some("ostersund-2014.pdf"),
            ..RawRound::default()
        }
    }

    #[test]
    fn a_good_row_parses_with_its_lateness() {
        let r = PastRound::parse(&good(), today()).unwrap();
        assert_eq!(r.round, RoundKey::Period { start: 2010, end: 2014 });
        assert_eq!(r.days_late(), Some(10));
        assert_eq!(r.round.cycle_number(2010).unwrap(), 1);
        assert!(r.round.cycle_number(2011).is_err());
    }

    #[test]
    fn dates_out_of_order_are_named() {
        let bad = |raw: RawRound<'static>| PastRound::parse(&raw, today()).unwrap_err().field;
        assert_eq!(bad(RawRound { decided_on: Some("2014-12-01"), ..good() }), "decided_on");
        assert_eq!(bad(RawRound { received_on: None, ..good() }), "decision");
        assert_eq!(bad(RawRound { due_date: Some("2013-11-30"), ..good() }), "due_date");
        assert_eq!(bad(RawRound { received_on: Some("2027-01-01"), ..good() }), "received_on");
        assert_eq!(bad(RawRound { decision: Some("none"), ..good() }), "decided_on");
        let never = RawRound { received_on: None, decision: None, decided_on: None, ..good() };
        assert_eq!(bad(never), "file");
        let revision = RawRound { decision: Some("revision requested"), revision_due: Some("2015-04-30"), ..good() };
        let parsed = PastRound::parse(&revision, today()).unwrap();
        assert_eq!(parsed.revision_due, NaiveDate::from_ymd_opt(2015, 4, 30));
        assert_eq!(parsed.file.as_deref(), Some("ostersund-2014.pdf"), "a report received, not accepted");
        assert_eq!(bad(RawRound { revision_due: Some("2015-01-31"), ..revision }), "revision_due");
        assert_eq!(bad(RawRound { revision_due: Some("2015-04-30"), ..good() }), "revision_due");
        assert_eq!(bad(RawRound { file: Some("../x.pdf"), ..good() }), "file");
    }
}
