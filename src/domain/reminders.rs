//! Reminder stages: which messages a cycle calls for and when (DESIGN.md §2, UCCN.md §4.7).
//!
//! Deadline stages count days from the cycle's due date: reminders before it, one on the day,
//! two formal written reminders after it (copied to the field coordinator), and an escalation to
//! the Secretariat that puts the city on notice. Revision stages count from the revision
//! deadline. A stage's ledger key carries the date it counts from, so moving a deadline plans
//! fresh rows instead of colliding with cancelled ones.

use chrono::{Days, NaiveDate};

use super::Invalid;

/// What a stage says, which decides its template and recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// Before the deadline, to the city.
    Upcoming,
    /// On the due day, to the city.
    DueToday,
    /// A formal written reminder after the deadline, to the city with a copy to the coordinator.
    Overdue {
        formal_number: u8,
    },
    /// To the Secretariat; the city is put on notice.
    Escalation,
    RevisionUpcoming,
    RevisionDue,
    /// After the revision deadline, to the city with a copy to the coordinator.
    RevisionOverdue,
}

impl StageKind {
    /// The ledger's `kind`: which deadline the stage counts from.
    pub fn ledger_kind(self) -> &'static str {
        match self {
            Self::RevisionUpcoming | Self::RevisionDue | Self::RevisionOverdue => "revision",
            _ => "deadline",
        }
    }

    pub fn copies_coordinator(self) -> bool {
        matches!(self, Self::Overdue { .. } | Self::RevisionOverdue)
    }

    pub fn to_secretariat(self) -> bool {
        self == Self::Escalation
    }
}

/// One stage: a name, a day offset from its deadline (negative before), and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub offset_days: i64,
    pub kind: StageKind,
}

impl Stage {
    /// The ledger key of this stage against a deadline, e.g. `before_90@2026-11-30`.
    pub fn key(&self, deadline: NaiveDate) -> String {
        format!("{}@{deadline}", self.name)
    }

    /// The day the stage is due for a deadline.
    pub fn send_on(&self, deadline: NaiveDate) -> NaiveDate {
        let days = Days::new(self.offset_days.unsigned_abs());
        let date = if self.offset_days < 0 { deadline.checked_sub_days(days) } else { deadline.checked_add_days(days) };
        date.unwrap_or(deadline)
    }
}

/// The configured stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSchedule {
    pub deadline: Vec<Stage>,
    pub revision: Vec<Stage>,
}

/// The numbers a schedule is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDays {
    /// Days before the deadline (default 180, 90, 30, 7).
    pub before: Vec<u32>,
    /// Days after the deadline of the formal written reminders (default 14, 45).
    pub formal_after: Vec<u32>,
    /// Days after the deadline of the escalation to the Secretariat (default 60).
    pub escalation_after: u32,
    /// Days before a revision deadline (default 7).
    pub revision_before: Vec<u32>,
    /// Days after a revision deadline (default 14).
    pub revision_after: Vec<u32>,
}

impl Default for ScheduleDays {
    fn default() -> Self {
        Self {
            before: vec![180, 90, 30, 7],
            formal_after: vec![14, 45],
            escalation_after: 60,
            revision_before: vec![7],
            revision_after: vec![14],
        }
    }
}

/// Parses a comma-separated list of day counts (`180,90,30,7`; empty for none).
pub fn parse_days(setting: &'static str, raw: &str) -> Result<Vec<u32>, Invalid> {
    let mut days = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: u32 = part
            .parse()
            .ok()
            .filter(|n| (1..=1460).contains(n))
            .ok_or_else(|| Invalid::new(setting, format!("`{part}` is not a number of days from 1 to 1460")))?;
        if days.contains(&n) {
            return Err(Invalid::new(setting, format!("{n} is listed twice")));
        }
        days.push(n);
    }
    Ok(days)
}

impl ReminderSchedule {
    pub fn new(d: &ScheduleDays) -> Result<Self, Invalid> {
        if d.formal_after.len() > 9 {
            return Err(Invalid::new("formal_after", "at most 9 formal reminders"));
        }
        let mut formal = d.formal_after.clone();
        formal.sort_unstable();
        if formal.last().is_some_and(|&last| last >= d.escalation_after) {
            return Err(Invalid::new("escalation_after", "the escalation must come after the formal reminders"));
        }
        let before = |n: &u32, kind| Stage { name: format!("before_{n}"), offset_days: -i64::from(*n), kind };
        let mut deadline: Vec<Stage> = d.before.iter().map(|n| before(n, StageKind::Upcoming)).collect();
        deadline.push(Stage { name: "due".into(), offset_days: 0, kind: StageKind::DueToday });
        deadline.extend(formal.iter().enumerate().map(|(i, n)| Stage {
            name: format!("formal_{}", i + 1),
            offset_days: i64::from(*n),
            kind: StageKind::Overdue { formal_number: i as u8 + 1 },
        }));
        deadline.push(Stage {
            name: "escalation".into(),
            offset_days: i64::from(d.escalation_after),
            kind: StageKind::Escalation,
        });
        let mut revision: Vec<Stage> = d
            .revision_before
            .iter()
            .map(|n| Stage {
                name: format!("revision_before_{n}"),
                offset_days: -i64::from(*n),
                kind: StageKind::RevisionUpcoming,
            })
            .collect();
        revision.push(Stage { name: "revision_due".into(), offset_days: 0, kind: StageKind::RevisionDue });
        revision.extend(d.revision_after.iter().map(|n| Stage {
            name: format!("revision_after_{n}"),
            offset_days: i64::from(*n),
            kind: StageKind::RevisionOverdue,
        }));
        deadline.sort_by_key(|s| s.offset_days);
        revision.sort_by_key(|s| s.offset_days);
        Ok(Self { deadline, revision })
    }

    /// Finds a stage by the name part of a ledger key.
    pub fn stage_of_key(&self, key: &str) -> Option<&Stage> {
        let name = key.split('@').next()?;
        self.deadline.iter().chain(&self.revision).find(|s| s.name == name)
    }
}

impl Default for ReminderSchedule {
    fn default() -> Self {
        Self::new(&ScheduleDays::default()).unwrap_or(Self { deadline: Vec::new(), revision: Vec::new() })
    }
}

/// Of the rows due for one cycle (each `(send_on, id)`), which to send and which to skip: only
/// the latest due date is sent, so a city does not get a burst of stale mail after an outage.
pub fn latest_only<T: Copy>(due: &[(NaiveDate, T)]) -> (Vec<T>, Vec<T>) {
    let Some(latest) = due.iter().map(|(d, _)| *d).max() else { return (Vec::new(), Vec::new()) };
    let (send, skip): (Vec<_>, Vec<_>) = due.iter().partition(|(d, _)| *d == latest);
    (send.into_iter().map(|(_, t)| t).collect(), skip.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_default_schedule() {
        let s = ReminderSchedule::default();
        let names: Vec<(&str, i64)> = s.deadline.iter().map(|s| (s.name.as_str(), s.offset_days)).collect();
        assert_eq!(
            names,
            [
                ("before_180", -180),
                ("before_90", -90),
                ("before_30", -30),
                ("before_7", -7),
                ("due", 0),
                ("formal_1", 14),
                ("formal_2", 45),
                ("escalation", 60)
            ]
        );
        assert_eq!(s.deadline[6].kind, StageKind::Overdue { formal_number: 2 });
        assert!(s.deadline[6].kind.copies_coordinator() && s.deadline[7].kind.to_secretariat());
        let rev: Vec<&str> = s.revision.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(rev, ["revision_before_7", "revision_due", "revision_after_14"]);
        assert_eq!(s.revision[0].kind.ledger_kind(), "revision");
    }

    #[test]
    fn keys_and_dates() {
        let s = ReminderSchedule::default();
        let due = date(2026, 11, 30);
        assert_eq!(s.deadline[0].key(due), "before_180@2026-11-30");
        assert_eq!(s.deadline[0].send_on(due), date(2026, 6, 3));
        assert_eq!(s.deadline[7].send_on(due), date(2027, 1, 29));
        assert_eq!(s.stage_of_key("formal_2@2026-11-30").unwrap().offset_days, 45);
        assert!(s.stage_of_key("nonsense@2026-11-30").is_none());
    }

    #[test]
    fn schedules_are_checked() {
        assert_eq!(parse_days("days", "180, 90,30,7").unwrap(), [180, 90, 30, 7]);
        assert_eq!(parse_days("days", "").unwrap(), Vec::<u32>::new());
        for bad in ["0", "x", "7,7", "5000"] {
            assert_eq!(parse_days("days", bad).unwrap_err().field, "days", "{bad}");
        }
        let late_escalation = ScheduleDays { escalation_after: 30, ..ScheduleDays::default() };
        assert!(ReminderSchedule::new(&late_escalation).is_err());
    }

    #[test]
    fn only_the_latest_due_stage_is_sent() {
        let due = [(date(2026, 6, 3), 1), (date(2026, 9, 1), 2), (date(2026, 11, 23), 3), (date(2026, 11, 23), 4)];
        assert_eq!(latest_only(&due), (vec![3, 4], vec![1, 2]));
        assert_eq!(latest_only::<i32>(&[]), (vec![], vec![]));
    }
}
