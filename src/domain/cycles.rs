//! Four-year reporting cycles: which cycles a city has, when each report is due, and what state a
//! cycle is in. Everything here is a function of dates, the city's time zone and the cycle's
//! submissions; status is derived, never stored.
//!
//! Cycle n of a city designated in year Y covers the four years from Y + 4(n-1) to Y + 4n; its
//! report is due on the configured day (default 30 November) of Y + 4n at 23:59 in the city's time
//! zone. The submission window opens a configured number of days before (default 180). Cycle 1
//! starts at designation; cycle n starts the day after cycle n-1's regular due date.
//!
//! For selecting in the database, [`split_due_dates`] cuts the line of due dates at a moment into
//! stretches where a filter on the state of cycles without a submission gives the same answer in
//! every time zone, and the few dates where the zone decides; the caller settles those dates per
//! zone with [`CycleFacts::state`], so the status is still derived here and nowhere else.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::Invalid;

/// The configurable rules of the reporting calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleRules {
    /// Month and day the report is due in its due year.
    pub due_month: u32,
    pub due_day: u32,
    /// How many days before the deadline the submission window opens.
    pub window_days: u32,
    /// Cycles whose regular due year is earlier are not tracked (they predate the system).
    pub first_due_year: i32,
}

impl Default for CycleRules {
    fn default() -> Self {
        Self { due_month: 11, due_day: 30, window_days: 180, first_due_year: 2026 }
    }
}

impl CycleRules {
    /// Parses a due day written `MM-DD`; 29 February falls on the 28th in other years.
    pub fn parse_due_day(raw: &str) -> Result<(u32, u32), Invalid> {
        let bad = || Invalid::new("due_day", format!("`{raw}` is not a day of the year (MM-DD)"));
        let (m, d) = raw.trim().split_once('-').ok_or_else(bad)?;
        let (m, d): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        NaiveDate::from_ymd_opt(2024, m, d).ok_or_else(bad)?;
        Ok((m, d))
    }

    /// The regular due date of cycle `number` of a city designated in `designation_year`.
    pub fn due_date(&self, designation_year: i32, number: u32) -> NaiveDate {
        let year = designation_year + 4 * number as i32;
        NaiveDate::from_ymd_opt(year, self.due_month, self.due_day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.due_month, self.due_day - 1))
            .unwrap_or(NaiveDate::MAX)
    }

    /// When the submission window of a cycle due on `due` opens, as a local date.
    pub fn window_opens(&self, due: NaiveDate) -> NaiveDate {
        due.checked_sub_days(Days::new(u64::from(self.window_days))).unwrap_or(NaiveDate::MIN)
    }

    /// The cycles a city has by `today`: every cycle that has started and whose regular due year
    /// is at least `first_due_year`.
    pub fn cycles_started(&self, designation_date: NaiveDate, today: NaiveDate) -> Vec<CyclePlan> {
        let year = designation_date.year();
        let mut plans = Vec::new();
        for number in 1.. {
            let starts = if number == 1 {
                designation_date
            } else {
                self.due_date(year, number - 1).succ_opt().unwrap_or(NaiveDate::MAX)
            };
            if starts > today || number > 100 {
                break;
            }
            let due = self.due_date(year, number);
            if due.year() >= self.first_due_year {
                plans.push(CyclePlan { number, period_start_year: year + 4 * (number as i32 - 1), due_date: due });
            }
        }
        plans
    }
}

/// A cycle as the calendar derives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CyclePlan {
    pub number: u32,
    pub period_start_year: i32,
    pub due_date: NaiveDate,
}

impl CyclePlan {
    pub fn period_end_year(&self) -> i32 {
        self.period_start_year + 4
    }
}

/// The instant a report due on local date `due` in `tz` is late: 23:59 local has passed, that is
/// from midnight local on the next day. A midnight that falls in a DST gap moves to the first
/// valid instant after it.
pub fn deadline(due: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let next = due.succ_opt().unwrap_or(due);
    let midnight = next.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        chrono::LocalResult::None => {
            let later = midnight + chrono::TimeDelta::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc))
        }
    }
}

/// The local calendar date of `instant` in `tz`.
pub fn local_date(instant: DateTime<Utc>, tz: Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// A cycle's status, derived from its dates and its latest submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CycleStatus {
    Upcoming,
    Open,
    Submitted,
    RevisionRequested,
    Accepted,
    Overdue,
    /// A past round closed by the history import: its facts are final (on time, late, never
    /// received), nothing more is expected and nobody chases it; never overdue.
    Closed,
}

impl CycleStatus {
    pub const ALL: [CycleStatus; 7] = [
        Self::Upcoming,
        Self::Open,
        Self::Submitted,
        Self::RevisionRequested,
        Self::Accepted,
        Self::Overdue,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Open => "open",
            Self::Submitted => "submitted",
            Self::RevisionRequested => "revision_requested",
            Self::Accepted => "accepted",
            Self::Overdue => "overdue",
            Self::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw.trim()).ok_or_else(|| {
            Invalid::new(
                "status",
                format!(
                    "`{raw}` is not a cycle status (upcoming, open, submitted, revision_requested, accepted, overdue, \
                     closed)"
                ),
            )
        })
    }
}

/// What was decided on a submitted version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accepted,
    RevisionRequested { revision_due: NaiveDate },
}

/// The facts a cycle's status is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleFacts {
    /// The due date in force: the regular or overridden date, moved by the latest extension.
    pub due_date: NaiveDate,
    pub time_zone: Tz,
    /// When the first version was submitted, if any.
    pub first_submitted_at: Option<DateTime<Utc>>,
    /// The decision on the latest version, if that version was decided.
    pub latest_decision: Option<Decision>,
    /// Whether any version was submitted.
    pub submitted: bool,
    /// A past round closed by the history import ([`CycleStatus::Closed`]).
    pub closed: bool,
}

/// A cycle's derived state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleState {
    pub status: CycleStatus,
    /// Whole days past the deadline (local calendar days) while no report is in; 0 otherwise.
    pub days_overdue: i64,
    /// Days until the deadline (local calendar days), negative once past.
    pub days_left: i64,
    /// The first version came after the deadline.
    pub late: bool,
    pub deadline: DateTime<Utc>,
    pub window_opens: NaiveDate,
}

impl CycleFacts {
    /// The facts of a cycle nothing has been submitted for.
    pub fn unsubmitted(due_date: NaiveDate, time_zone: Tz) -> Self {
        Self { due_date, time_zone, first_submitted_at: None, latest_decision: None, submitted: false, closed: false }
    }

    pub fn state(&self, rules: &CycleRules, now: DateTime<Utc>) -> CycleState {
        let deadline = deadline(self.due_date, self.time_zone);
        let today = local_date(now, self.time_zone);
        let days_left = (self.due_date - today).num_days();
        let window_opens = rules.window_opens(self.due_date);
        let status = match (self.submitted, self.latest_decision) {
            _ if self.closed => CycleStatus::Closed,
            (true, Some(Decision::Accepted)) => CycleStatus::Accepted,
            (true, Some(Decision::RevisionRequested { .. })) => CycleStatus::RevisionRequested,
            (true, None) => CycleStatus::Submitted,
            (false, _) if now >= deadline => CycleStatus::Overdue,
            (false, _) if today >= window_opens => CycleStatus::Open,
            (false, _) => CycleStatus::Upcoming,
        };
        CycleState {
            status,
            days_overdue: if status == CycleStatus::Overdue { (-days_left).max(1) } else { 0 },
            days_left,
            late: self.first_submitted_at.is_some_and(|t| t >= deadline),
            deadline,
            window_opens,
        }
    }
}

/// What the board asks of a cycle's derived state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateFilter {
    pub status: Option<CycleStatus>,
    /// At least this many days overdue (a cycle that is not overdue counts 0).
    pub min_days_overdue: Option<i64>,
}

impl StateFilter {
    pub fn matches(&self, state: &CycleState) -> bool {
        self.status.is_none_or(|s| state.status == s) && self.min_days_overdue.is_none_or(|n| state.days_overdue >= n)
    }
}

/// A stretch of the line of due dates, as a filter on the state of cycles without a submission
/// sees it at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueSpan {
    /// Due dates from `from` to `to` (inclusive; `None` is unbounded) that the filter keeps, or
    /// drops, whatever the city's time zone.
    Settled { from: Option<NaiveDate>, to: Option<NaiveDate>, keep: bool },
    /// A due date on which the answer depends on the time zone.
    Zoned(NaiveDate),
}

/// The due dates on which the state of a cycle without a submission depends on its time zone at
/// `now`, oldest first.
///
/// A city's local date is within a day of the UTC date (offsets stay within ±24 h, DST gaps
/// included), so with `n` the UTC date: the deadline of a report due on or before `n - 2` has
/// passed everywhere and one due on or after `n + 1` nowhere; the window of a report due on or
/// before `n - 1 + window_days` is open everywhere and one due on or after `n + 2 + window_days`
/// nowhere; and a report due on or before `n - 1 - m` is at least `m` days overdue everywhere, one
/// due on or after `n + 2 - m` nowhere. Only the dates between those bounds are listed.
pub fn zone_dependent_due_dates(
    rules: &CycleRules,
    now: DateTime<Utc>,
    min_days_overdue: Option<i64>,
) -> Vec<NaiveDate> {
    let n = now.date_naive();
    let shift = |days: i64| TimeDelta::try_days(days).and_then(|d| n.checked_add_signed(d));
    let window = i64::from(rules.window_days);
    let mut dates = vec![shift(-1), Some(n), shift(window), shift(window + 1)];
    if let Some(m) = min_days_overdue.filter(|m| *m >= 2) {
        dates.extend([shift(-m), shift(1 - m)]);
    }
    let mut dates: Vec<NaiveDate> = dates.into_iter().flatten().collect();
    dates.sort_unstable();
    dates.dedup();
    dates
}

/// Cuts the line of due dates at `now` into what `keep` says of cycles without a submission:
/// stretches where the answer is the same in every time zone, and the
/// [zone-dependent dates](zone_dependent_due_dates), in order.
///
/// `keep` may look at the status and at whether `days_overdue` reaches `min_days_overdue`: those
/// are the thresholds the cut knows about. Between two zone-dependent dates each of them is
/// settled, so one date, in UTC, answers for the whole stretch.
pub fn split_due_dates(
    rules: &CycleRules,
    now: DateTime<Utc>,
    min_days_overdue: Option<i64>,
    keep: impl Fn(&CycleState) -> bool,
) -> Vec<DueSpan> {
    let kept = |due: NaiveDate| keep(&CycleFacts::unsubmitted(due, chrono_tz::UTC).state(rules, now));
    let mut spans = Vec::new();
    // The first date of the stretch not yet emitted; `None` before the first zone-dependent date.
    let mut from: Option<NaiveDate> = None;
    for date in zone_dependent_due_dates(rules, now, min_days_overdue) {
        if let Some(to) = date.pred_opt().filter(|to| from.is_none_or(|f| f <= *to)) {
            spans.push(DueSpan::Settled { from, to: Some(to), keep: kept(to) });
        }
        spans.push(DueSpan::Zoned(date));
        match date.succ_opt() {
            Some(next) => from = Some(next),
            None => return spans,
        }
    }
    let rest = from.unwrap_or(now.date_naive());
    spans.push(DueSpan::Settled { from, to: None, keep: kept(rest) });
    spans
}

/// A board's "at least this many days overdue": a number of days, 0 or more.
pub fn min_days_overdue(days: i64) -> Result<i64, Invalid> {
    if days < 0 { Err(Invalid::new("min_days_overdue", "must be 0 or more days")) } else { Ok(days) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_dates_follow_the_designation_year() {
        let rules = CycleRules::default();
        // Nottingham, designated 11 December 2015, reported in December 2019 (UCCN.md §4.3).
        assert_eq!(rules.due_date(2015, 1), date(2019, 11, 30));
        assert_eq!(rules.due_date(2015, 3), date(2027, 11, 30));
        // A 29 February due day falls on the 28th outside leap years.
        let leap = CycleRules { due_month: 2, due_day: 29, ..rules };
        assert_eq!(leap.due_date(2016, 1), date(2020, 2, 29));
        assert_eq!(leap.due_date(2017, 1), date(2021, 2, 28));
        assert_eq!(CycleRules::parse_due_day("02-29").unwrap(), (2, 29));
        assert!(CycleRules::parse_due_day("02-30").is_err());
        assert!(CycleRules::parse_due_day("11/30").is_err());
    }

    #[test]
    fn cycles_start_at_designation_then_after_each_due_date() {
        let rules = CycleRules { first_due_year: 2000, ..CycleRules::default() };
        // Designated in a leap year, on 29 February.
        let designated = date(2016, 2, 29);
        assert!(rules.cycles_started(designated, date(2016, 2, 28)).is_empty());
        let plans = rules.cycles_started(designated, date(2020, 11, 30));
        assert_eq!(plans.len(), 1);
        assert_eq!((plans[0].period_start_year, plans[0].period_end_year()), (2016, 2020));
        let plans = rules.cycles_started(designated, date(2020, 12, 1));
        assert_eq!(plans.iter().map(|p| p.number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(plans[1].due_date, date(2024, 11, 30));
        // Cycles due before the first tracked year are left out.
        let tracked = CycleRules { first_due_year: 2024, ..rules };
        let plans = tracked.cycles_started(designated, date(2026, 11, 24));
        assert_eq!(plans.iter().map(|p| p.number).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn the_deadline_is_2359_local_far_from_utc() {
        let due = date(2027, 11, 30);
        // Kiritimati is UTC+14: its deadline passes at 10:00 UTC on the 30th.
        assert_eq!(
            deadline(due, chrono_tz::Pacific::Kiritimati),
            Utc.with_ymd_and_hms(2027, 11, 30, 10, 0, 0).unwrap()
        );
        // Pago Pago is UTC-11: 11:00 UTC on 1 December.
        assert_eq!(deadline(due, chrono_tz::Pacific::Pago_Pago), Utc.with_ymd_and_hms(2027, 12, 1, 11, 0, 0).unwrap());
    }

    #[test]
    fn a_midnight_in_a_dst_gap_moves_forward() {
        // Santiago springs forward at 00:00 on the first Sunday of September: 2024-09-08 has no
        // midnight, so a report due on the 7th is late from 01:00 local on the 8th.
        let d = deadline(date(2024, 9, 7), chrono_tz::America::Santiago);
        assert_eq!(d, Utc.with_ymd_and_hms(2024, 9, 8, 4, 0, 0).unwrap());
    }

    fn facts(due: NaiveDate, tz: Tz) -> CycleFacts {
        CycleFacts::unsubmitted(due, tz)
    }

    #[test]
    fn status_moves_from_upcoming_to_overdue() {
        let rules = CycleRules::default();
        let tz = chrono_tz::Europe::Stockholm;
        let f = facts(date(2027, 11, 30), tz);
        let s = f.state(&rules, at(tz, 2027, 6, 2, 12, 0));
        assert_eq!((s.status, s.window_opens), (CycleStatus::Upcoming, date(2027, 6, 3)));
        assert_eq!(f.state(&rules, at(tz, 2027, 6, 3, 0, 0)).status, CycleStatus::Open);
        let last_minute = f.state(&rules, at(tz, 2027, 11, 30, 23, 59));
        assert_eq!((last_minute.status, last_minute.days_left), (CycleStatus::Open, 0));
        let s = f.state(&rules, at(tz, 2027, 12, 1, 0, 0));
        assert_eq!((s.status, s.days_overdue), (CycleStatus::Overdue, 1));
        assert_eq!(f.state(&rules, at(tz, 2028, 1, 29, 9, 0)).days_overdue, 60);
    }

    #[test]
    fn an_extension_across_the_year_end_moves_the_deadline() {
        let rules = CycleRules::default();
        let tz = chrono_tz::Asia::Tokyo;
        let extended = facts(date(2028, 1, 15), tz);
        let s = extended.state(&rules, at(tz, 2027, 12, 20, 9, 0));
        assert_eq!((s.status, s.days_left), (CycleStatus::Open, 26));
        assert_eq!(extended.state(&rules, at(tz, 2028, 1, 16, 0, 0)).status, CycleStatus::Overdue);
    }

    #[test]
    fn submissions_and_decisions_set_the_status_and_the_late_flag() {
        let rules = CycleRules::default();
        let tz = chrono_tz::America::Bogota;
        let now = at(tz, 2028, 2, 1, 12, 0);
        let mut f = facts(date(2027, 11, 30), tz);
        f.submitted = true;
        f.first_submitted_at = Some(at(tz, 2027, 11, 30, 23, 58));
        let s = f.state(&rules, now);
        assert_eq!((s.status, s.late, s.days_overdue), (CycleStatus::Submitted, false, 0));
        f.first_submitted_at = Some(at(tz, 2027, 12, 1, 0, 1));
        assert!(f.state(&rules, now).late);
        f.latest_decision = Some(Decision::RevisionRequested { revision_due: date(2028, 3, 1) });
        assert_eq!(f.state(&rules, now).status, CycleStatus::RevisionRequested);
        f.latest_decision = Some(Decision::Accepted);
        assert_eq!(f.state(&rules, now).status, CycleStatus::Accepted);
    }

    #[test]
    fn a_round_closed_by_history_is_closed_never_overdue() {
        let rules = CycleRules::default();
        let tz = chrono_tz::Europe::Paris;
        let now = at(tz, 2026, 12, 7, 12, 0);
        let mut never = facts(date(2022, 11, 30), tz);
        assert_eq!(never.state(&rules, now).status, CycleStatus::Overdue);
        never.closed = true;
        let s = never.state(&rules, now);
        assert_eq!((s.status, s.days_overdue), (CycleStatus::Closed, 0));
        let mut late = never.clone();
        late.submitted = true;
        late.first_submitted_at = Some(at(tz, 2023, 1, 10, 12, 0));
        late.latest_decision = Some(Decision::Accepted);
        let s = late.state(&rules, now);
        assert_eq!((s.status, s.late), (CycleStatus::Closed, true));
        let overdue = StateFilter { status: Some(CycleStatus::Overdue), min_days_overdue: None };
        let days = StateFilter { status: None, min_days_overdue: Some(1) };
        assert!(!overdue.matches(&s) && !days.matches(&s));
    }

    /// Zones at the edges of the offset range, with half- and quarter-hour offsets, and with DST
    /// changes at midnight, plus a sample of the rest.
    fn zones() -> Vec<Tz> {
        let mut zones: Vec<Tz> = [
            "UTC",
            "Pacific/Kiritimati",
            "Etc/GMT-14",
            "Etc/GMT+12",
            "Pacific/Pago_Pago",
            "Pacific/Apia",
            "Pacific/Chatham",
            "America/Santiago",
            "America/Havana",
            "America/Asuncion",
            "Asia/Tehran",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "America/St_Johns",
            "Europe/Stockholm",
            "America/Scoresbysund",
            "Antarctica/Troll",
            "Asia/Tokyo",
        ]
        .iter()
        .map(|z| z.parse().unwrap())
        .collect();
        zones.extend(chrono_tz::TZ_VARIANTS.iter().step_by(25));
        zones
    }

    /// Checks `split_due_dates` against the state itself, cycle by cycle, for every zone and every
    /// due date near a threshold: each settled stretch answers as every zone would.
    fn check_split(rules: &CycleRules, now: DateTime<Utc>, filters: &[StateFilter], zones: &[Tz]) {
        let n = now.date_naive();
        let window = i64::from(rules.window_days);
        let mut dates: Vec<NaiveDate> =
            (-75..=6).chain(window - 4..=window + 5).map(|d| n + TimeDelta::days(d)).collect();
        dates.sort_unstable();
        dates.dedup();
        let states: Vec<Vec<CycleState>> = dates
            .iter()
            .map(|d| zones.iter().map(|z| CycleFacts::unsubmitted(*d, *z).state(rules, now)).collect())
            .collect();
        for filter in filters {
            let spans = split_due_dates(rules, now, filter.min_days_overdue, |s| filter.matches(s));
            for (d, states) in dates.iter().zip(&states) {
                let covering: Vec<&DueSpan> = spans
                    .iter()
                    .filter(|s| match s {
                        DueSpan::Settled { from, to, .. } => from.is_none_or(|f| f <= *d) && to.is_none_or(|t| *d <= t),
                        DueSpan::Zoned(z) => z == d,
                    })
                    .collect();
                assert_eq!(covering.len(), 1, "{d} at {now} is covered once: {spans:?}");
                if let DueSpan::Settled { keep, .. } = covering[0] {
                    for (zone, state) in zones.iter().zip(states) {
                        assert_eq!(filter.matches(state), *keep, "{filter:?} due {d} in {zone} at {now}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_due_date_split_agrees_with_the_state_in_every_zone() {
        let zones = zones();
        let mut filters = vec![StateFilter::default()];
        for status in CycleStatus::ALL.map(Some).into_iter().chain([None]) {
            for min_days_overdue in [None, Some(-3), Some(0), Some(1), Some(2), Some(5), Some(60)] {
                filters.push(StateFilter { status, min_days_overdue });
            }
        }
        for window_days in [180, 2, 1, 0] {
            let rules = CycleRules { window_days, ..CycleRules::default() };
            for (y, m, d, h, min) in [
                (2026, 11, 24, 6, 0),
                (2026, 12, 1, 0, 0),
                (2026, 12, 1, 9, 59),
                (2026, 12, 1, 10, 0),
                (2026, 12, 2, 11, 0),
                (2026, 12, 1, 23, 59),
                (2024, 9, 8, 3, 59),
                (2024, 9, 8, 4, 0),
            ] {
                let now = Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
                check_split(&rules, now, &filters, &zones);
            }
        }
    }

    #[test]
    fn the_split_of_the_overdue_list_is_one_open_range_and_two_zoned_days() {
        let rules = CycleRules::default();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap();
        let overdue = StateFilter { status: Some(CycleStatus::Overdue), min_days_overdue: None };
        let spans = split_due_dates(&rules, now, None, |s| overdue.matches(s));
        assert_eq!(
            spans[..3],
            [
                DueSpan::Settled { from: None, to: Some(date(2026, 11, 22)), keep: true },
                DueSpan::Zoned(date(2026, 11, 23)),
                DueSpan::Zoned(date(2026, 11, 24)),
            ]
        );
        assert!(spans[3..].iter().all(|s| !matches!(s, DueSpan::Settled { keep: true, .. })), "{spans:?}");
        // Days overdue beyond what any date can be: nothing is kept, and nothing panics.
        let far = StateFilter { status: None, min_days_overdue: Some(i64::MAX) };
        let spans = split_due_dates(&rules, now, far.min_days_overdue, |s| far.matches(s));
        assert!(spans.iter().all(|s| !matches!(s, DueSpan::Settled { keep: true, .. })), "{spans:?}");
    }

    #[test]
    fn statuses_parse() {
        for s in CycleStatus::ALL {
            assert_eq!(CycleStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(CycleStatus::parse("late").is_err());
    }
}
