//! What the people who run the service watch, read from the database when `/metrics` is
//! scraped: cycles overdue (the board's count), the reminder ledger by state, and what the
//! archive holds (entries, bytes, damaged entries, the last fixity check). Counters and
//! histograms of requests, renderings and downloads are kept in memory by `http::metrics`.

use chrono::{DateTime, Utc};

use super::cycles::{BoardFilter, CycleSelection};
pub use crate::db::archive::Holdings;
use crate::db::{self, Conn};
use crate::domain::PageRequest;
use crate::domain::cycles::{CycleRules, CycleStatus};
use crate::domain::reminders::ReminderState;
use crate::error::Result;

/// The gauges of one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Cycles overdue now, as the Secretariat's board counts them (withdrawn cities left out).
    pub cycles_overdue: i64,
    /// Reminder ledger rows in each state, every state listed (0 when none is in it), so a
    /// gauge falls back to 0 when its last row leaves the state.
    pub reminders: Vec<(&'static str, i64)>,
    pub archive: Holdings,
}

pub fn snapshot(conn: &mut Conn<'_>, rules: &CycleRules, now: DateTime<Utc>) -> Result<Snapshot> {
    let overdue = BoardFilter { status: Some(CycleStatus::Overdue), ..BoardFilter::default() };
    let first = PageRequest::parse(Some(1), Some(1))?;
    let cycles_overdue = super::cycles::board(conn, rules, now, &CycleSelection::default(), &overdue, first)?.total;
    let counted = db::reminders::count_by_state(conn)?;
    let reminders = ReminderState::ALL
        .iter()
        .map(|s| (s.as_str(), counted.iter().find(|(state, _)| state == s.as_str()).map_or(0, |(_, n)| *n)))
        .collect();
    Ok(Snapshot { cycles_overdue, reminders, archive: db::archive::holdings(conn)? })
}
