//! A city's work as its own page shows it: the city, every reporting cycle with its versions and
//! decisions, and the reminders sent and planned. The city's focal points see their own city;
//! the Secretariat and the field's coordinator see any city they may read (DESIGN.md §3).

use chrono::NaiveDateTime;

use super::cycles::{CycleOverview, CycleSelection};
use crate::db::reminders::{Reminder, ReminderFilter};
use crate::db::{self, Conn};
use crate::domain::auth::{Principal, Scope};
use crate::domain::cities::City;
use crate::domain::cycles::CycleRules;
use crate::domain::{Invalid, PageRequest};
use crate::error::Result;

/// How many of a city's newest reminders its page lists.
pub const REMINDERS_SHOWN: i64 = 100;

/// A city's work.
#[derive(Debug, Clone)]
pub struct CityWork {
    pub city: City,
    /// Newest first.
    pub cycles: Vec<CycleOverview>,
    /// The newest [`REMINDERS_SHOWN`] ledger rows (sent, planned, failed, cancelled), newest first.
    pub reminders: Vec<Reminder>,
    pub reminders_total: i64,
}

/// The work of the city `slug`, or of the caller's own city when `slug` is `None` (a city's
/// focal point; anyone else must name the city).
pub fn city_work(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    caller: &Principal,
    slug: Option<&str>,
    now: NaiveDateTime,
) -> Result<CityWork> {
    let slug = match (slug, &caller.scope) {
        (Some(slug), _) => slug.to_owned(),
        (None, Scope::City { city_id }) => super::cities::by_id(conn, *city_id)?.slug,
        (None, _) => return Err(Invalid::new("city", "name the city").into()),
    };
    let city = super::cities::with_readable_work(conn, caller, &slug)?;
    let selection = CycleSelection { city_id: Some(city.id), include_withdrawn: true, ..Default::default() };
    let mut cycles = super::cycles::overview(conn, rules, now.and_utc(), &selection)?;
    cycles.sort_by_key(|c| std::cmp::Reverse(c.record.number));
    let filter = ReminderFilter { city_id: Some(city.id), newest_first: true, ..Default::default() };
    let ledger = db::reminders::list(conn, &filter, PageRequest::parse(Some(1), Some(REMINDERS_SHOWN))?)?;
    Ok(CityWork { city, cycles, reminders: ledger.items, reminders_total: ledger.total })
}
