//! Reminder stages: which messages a cycle calls for and when (DESIGN.md §2, UCCN.md §4.7).
//!
//! Deadline stages count days from the cycle's due date: reminders before it, one on the day,
//! two formal written reminders after it (copied to the field coordinator), and an escalation to
//! the Secretariat that puts the city on notice. Revision stages count from the revision
//! deadline. A stage's ledger key carries the date it counts from, so moving a deadline plans
//! fresh rows instead of colliding with cancelled ones.
//!
//! The escalation follows the Network's one documented rule (UCCN.md §4.7): a city may be asked
//! to leave after **two written reminders**. So its day is only the earliest it may happen:
//! [`escalation_step`] puts a city on notice only once the formal reminders were delivered to it,
//! the last one at least a configurable number of days before. A city that received fewer
//! (an outage, a contact added late) is sent the next one instead, as a catch-up stage, and the
//! escalation waits; a city that cannot be reached is never put on notice by the sweep.

use chrono::{Days, NaiveDate, TimeDelta};

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

/// Where a day stands against a deadline: what a message sent that day may truthfully say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The deadline is this many days ahead (at least 1).
    Before(i64),
    /// The deadline is today.
    Today,
    /// The deadline passed this many days ago (at least 1).
    After(i64),
}

impl Relation {
    /// `today` against `deadline`, both local dates of the city.
    pub fn of(deadline: NaiveDate, today: NaiveDate) -> Self {
        match (deadline - today).num_days() {
            0 => Self::Today,
            n if n > 0 => Self::Before(n),
            n => Self::After(-n),
        }
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
    /// The formal reminders sent by catch-up, when the escalation day came before the city had
    /// received them all: `formal_catchup_N`, N being the number the city receives it as. Their
    /// day is decided by [`escalation_step`], not by an offset.
    pub catch_up: Vec<Stage>,
    /// Days a city has to answer its last formal reminder before it may be put on notice; also
    /// the least time between two formal reminders sent by catch-up.
    pub notice_gap_days: u32,
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
    /// Days between the last delivered formal reminder and being put on notice (default 14).
    pub notice_gap: u32,
}

impl Default for ScheduleDays {
    fn default() -> Self {
        Self {
            before: vec![180, 90, 30, 7],
            formal_after: vec![14, 45],
            escalation_after: 60,
            revision_before: vec![7],
            revision_after: vec![14],
            notice_gap: 14,
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
        if !(1..=365).contains(&d.notice_gap) {
            return Err(Invalid::new("notice_gap", "the days before being put on notice must be from 1 to 365"));
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
        let catch_up = (1..=formal.len())
            .map(|n| Stage {
                name: format!("formal_catchup_{n}"),
                offset_days: i64::from(d.escalation_after),
                kind: StageKind::Overdue { formal_number: n as u8 },
            })
            .collect();
        deadline.sort_by_key(|s| s.offset_days);
        revision.sort_by_key(|s| s.offset_days);
        Ok(Self { deadline, revision, catch_up, notice_gap_days: d.notice_gap })
    }

    /// Finds a stage by the name part of a ledger key.
    pub fn stage_of_key(&self, key: &str) -> Option<&Stage> {
        let name = key.split('@').next()?;
        self.deadline.iter().chain(&self.revision).chain(&self.catch_up).find(|s| s.name == name)
    }

    /// Whether a ledger key names a formal written reminder (scheduled or catch-up).
    pub fn is_formal(&self, key: &str) -> bool {
        self.stage_of_key(key).is_some_and(|s| matches!(s.kind, StageKind::Overdue { .. }))
    }

    /// How many formal written reminders a city receives before it may be put on notice.
    pub fn formal_count(&self) -> usize {
        self.catch_up.len()
    }
}

impl Default for ReminderSchedule {
    fn default() -> Self {
        Self::new(&ScheduleDays::default()).unwrap_or(Self {
            deadline: Vec::new(),
            revision: Vec::new(),
            catch_up: Vec::new(),
            notice_gap_days: 14,
        })
    }
}

/// What the sweep does about a cycle whose escalation day has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationStep {
    /// Every formal reminder was delivered, the last long enough ago: put the city on notice.
    Escalate,
    /// Every formal reminder was delivered but the last too recently: wait until this day.
    WaitUntil(NaiveDate),
    /// Fewer were delivered: send the next one (the city receives it as `number`) on `on`, and
    /// look again `notice_gap_days` after that.
    SendFormal { number: u8, on: NaiveDate },
    /// A formal reminder is already pending (planned or being retried): let it go first.
    AwaitPending,
    /// The city has no contact, or every message to it failed: it cannot be reminded, so it is
    /// listed to the Secretariat and never put on notice by the sweep.
    CannotRemind,
}

/// The escalation rule. `delivered` holds the day each formal reminder was delivered to the city
/// (one per formal stage, whichever contact accepted it), `reachable` whether the city has a
/// contact whose messages do not all fail, `pending_formal` whether a formal reminder to it is
/// still planned or retrying.
pub fn escalation_step(
    schedule: &ReminderSchedule,
    delivered: &[NaiveDate],
    reachable: bool,
    pending_formal: bool,
    today: NaiveDate,
) -> EscalationStep {
    let gap = TimeDelta::days(i64::from(schedule.notice_gap_days));
    let last = delivered.iter().max().copied();
    let after_gap = |day: NaiveDate| day.checked_add_signed(gap).unwrap_or(NaiveDate::MAX);
    if delivered.len() >= schedule.formal_count() {
        return match last {
            Some(day) if after_gap(day) > today => EscalationStep::WaitUntil(after_gap(day)),
            _ => EscalationStep::Escalate,
        };
    }
    if pending_formal {
        return EscalationStep::AwaitPending;
    }
    if !reachable {
        return EscalationStep::CannotRemind;
    }
    let on = last.map_or(today, |day| after_gap(day).max(today));
    EscalationStep::SendFormal { number: delivered.len() as u8 + 1, on }
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
    fn relation_to_the_deadline() {
        let due = date(2026, 11, 30);
        assert_eq!(Relation::of(due, date(2026, 11, 23)), Relation::Before(7));
        assert_eq!(Relation::of(due, due), Relation::Today);
        assert_eq!(Relation::of(due, date(2026, 12, 7)), Relation::After(7));
        assert_eq!(Relation::of(due, date(2027, 1, 14)), Relation::After(45));
    }

    #[test]
    fn catch_up_stages_are_formal_reminders_numbered_by_receipt() {
        let s = ReminderSchedule::default();
        assert_eq!(s.formal_count(), 2);
        let stage = s.stage_of_key("formal_catchup_2@2026-11-30").unwrap();
        assert_eq!(stage.kind, StageKind::Overdue { formal_number: 2 });
        assert!(stage.kind.copies_coordinator());
        let bad_gap = ScheduleDays { notice_gap: 0, ..ScheduleDays::default() };
        assert_eq!(ReminderSchedule::new(&bad_gap).unwrap_err().field, "notice_gap");
    }

    #[test]
    fn a_city_is_put_on_notice_only_after_two_delivered_formal_reminders() {
        let s = ReminderSchedule::default();
        let today = date(2027, 1, 29);
        // The ordinary course: 14 and 45 days after the deadline, 15 days before the escalation.
        let both = [date(2026, 12, 14), date(2027, 1, 14)];
        assert_eq!(escalation_step(&s, &both, true, false, today), EscalationStep::Escalate);
        // The second came 10 days ago: 14 days after it.
        let recent = [date(2026, 12, 14), date(2027, 1, 19)];
        assert_eq!(escalation_step(&s, &recent, true, false, today), EscalationStep::WaitUntil(date(2027, 2, 2)));
        // One delivered (a contact added late, an outage): the next, 14 days after it.
        let one = [date(2027, 1, 20)];
        assert_eq!(
            escalation_step(&s, &one, true, false, today),
            EscalationStep::SendFormal { number: 2, on: date(2027, 2, 3) }
        );
        let long_ago = [date(2026, 12, 14)];
        assert_eq!(
            escalation_step(&s, &long_ago, true, false, today),
            EscalationStep::SendFormal { number: 2, on: today }
        );
        assert_eq!(escalation_step(&s, &[], true, false, today), EscalationStep::SendFormal { number: 1, on: today });
        assert_eq!(escalation_step(&s, &one, true, true, today), EscalationStep::AwaitPending);
        // Nobody to remind: never on notice, whatever the day.
        assert_eq!(escalation_step(&s, &[], false, false, today), EscalationStep::CannotRemind);
        assert_eq!(escalation_step(&s, &one, false, false, today), EscalationStep::CannotRemind);
        // Delivered before the contact left: the rule is met.
        assert_eq!(escalation_step(&s, &both, false, false, today), EscalationStep::Escalate);
    }

    #[test]
    fn only_the_latest_due_stage_is_sent() {
        let due = [(date(2026, 6, 3), 1), (date(2026, 9, 1), 2), (date(2026, 11, 23), 3), (date(2026, 11, 23), 4)];
        assert_eq!(latest_only(&due), (vec![3, 4], vec![1, 2]));
        assert_eq!(latest_only::<i32>(&[]), (vec![], vec![]));
    }
}

/// Where a row of the reminder ledger stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderState {
    Planned,
    Sent,
    Skipped,
    Cancelled,
    /// Failed; retried while a next attempt is set.
    Failed,
}

impl ReminderState {
    /// Every state, in the ledger's order.
    pub const ALL: [ReminderState; 5] = [Self::Planned, Self::Sent, Self::Skipped, Self::Cancelled, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
            let shown: String = raw.chars().take(40).collect();
            Invalid::new("state", format!("`{shown}` is not a reminder state ({})", all.join(", ")))
        })
    }
}

impl TryFrom<String> for ReminderState {
    type Error = Invalid;

    /// A stored state, as the database hands it back.
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}
