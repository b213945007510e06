//! The Secretariat's and coordinators' board, as the API and the desk page share it: the
//! selection narrowed to what the caller may read (a coordinator sees their field, a city its own
//! cycles; asking for more is refused, never silently emptied), the rows, the CSV of the same
//! selection, and the last reminder of each row.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::cycles::{BoardFilter, CycleOverview, CycleSelection};
use super::spreadsheet::Sheet;
use crate::db::{self, Conn};
use crate::domain::auth::{Denied, Principal, Scope};
use crate::domain::cycles::CycleRules;
use crate::domain::fields::FieldSlug;
use crate::domain::{Page, PageRequest};
use crate::error::Result;

/// Narrows `sel` to what `caller` may read; a selection beyond it is refused (403).
pub fn narrow(caller: &Principal, sel: &mut CycleSelection) -> Result<()> {
    match &caller.scope {
        Scope::Secretariat => {}
        Scope::Coordinator { field } => {
            if sel.field.as_ref().is_some_and(|f| f != field) {
                return Err(Denied::Forbidden.into());
            }
            sel.field = Some(field.clone());
        }
        Scope::City { city_id } => {
            if sel.city_id.is_some_and(|c| c != *city_id) {
                return Err(Denied::Forbidden.into());
            }
            sel.city_id = Some(*city_id);
        }
    }
    Ok(())
}

/// A board request: who asks, which cycles, which states, in what order.
pub struct BoardRequest<'a> {
    pub caller: &'a Principal,
    pub selection: CycleSelection,
    pub filter: &'a BoardFilter,
}

impl BoardRequest<'_> {
    /// Checks the field asked for exists and narrows the selection to the caller's.
    fn checked(&self, conn: &mut Conn<'_>) -> Result<CycleSelection> {
        if let Some(field) = &self.selection.field {
            super::cities::check_field(conn, &FieldSlug::parse(field)?)?;
        }
        let mut sel = self.selection.clone();
        narrow(self.caller, &mut sel)?;
        Ok(sel)
    }

    /// One page of the board.
    pub fn page(
        &self,
        conn: &mut Conn<'_>,
        rules: &CycleRules,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<CycleOverview>> {
        let sel = self.checked(conn)?;
        super::cycles::board(conn, rules, now, &sel, self.filter, page)
    }

    /// The whole selection (for CSV).
    pub fn all(&self, conn: &mut Conn<'_>, rules: &CycleRules, now: DateTime<Utc>) -> Result<Vec<CycleOverview>> {
        let sel = self.checked(conn)?;
        super::cycles::board_all(conn, rules, now, &sel, self.filter)
    }
}

/// The day each cycle of `rows` was last sent a reminder.
pub fn last_reminders(conn: &mut Conn<'_>, rows: &[CycleOverview]) -> Result<HashMap<i64, NaiveDate>> {
    let ids: Vec<i64> = rows.iter().map(|c| c.record.id).collect();
    Ok(db::reminders::last_sent(conn, &ids)?.into_iter().collect())
}

/// The last minute of the deadline, as local time with its offset (`2027-11-30T23:59:00+01:00`).
pub fn last_minute(c: &CycleOverview) -> String {
    let tz = c.record.city.time_zone.tz();
    (c.state.deadline - TimeDelta::minutes(1)).with_timezone(&tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The board's rows as CSV, one line per cycle, every cell neutralised.
pub fn board_csv(rows: &[CycleOverview]) -> std::io::Result<Vec<u8>> {
    let header = [
        "city",
        "name",
        "country",
        "field",
        "cycle",
        "period_start",
        "period_end",
        "due_date",
        "deadline",
        "status",
        "days_left",
        "days_overdue",
        "late",
        "versions",
        "extended",
        "outcome",
    ];
    let mut sheet = Sheet::new(&header)?;
    for c in rows {
        let r = &c.record;
        sheet.row([
            r.city.slug.clone(),
            r.city.name.clone(),
            r.city.country.clone(),
            r.city.field.clone(),
            r.number.to_string(),
            r.period_start_year.to_string(),
            r.period_end_year.to_string(),
            r.due_date().to_string(),
            last_minute(c),
            c.state.status.as_str().to_owned(),
            c.state.days_left.to_string(),
            c.state.days_overdue.to_string(),
            c.state.late.to_string(),
            r.submissions.len().to_string(),
            r.extended_due.is_some().to_string(),
            c.outcome().map(|(o, _)| o).unwrap_or_default().to_owned(),
        ])?;
    }
    sheet.finish()
}
