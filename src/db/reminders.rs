//! The reminder ledger: one row per planned message, unique on (cycle, stage, recipient). Rows
//! move from `planned` to `sent`, `skipped`, `cancelled` or `failed` (retried with backoff). A
//! row is claimed with one conditional UPDATE before it is sent, so two processes sweeping at
//! the same moment never send the same row; it is marked sent only after the mail server
//! accepted it.

use crate::domain::reminders::ReminderState;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::schema::{cities, reminder_digests, reminder_suppressions, reminders, reporting_cycles};
use super::{Backend, Conn, DbError, with_conn};
use crate::domain::{Page, PageRequest};

/// Rows per statement where a list of ids is bound: under SQLite's and PostgreSQL's parameter
/// limits.
const CHUNK: usize = 5_000;

/// A row to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReminder {
    pub cycle_id: i64,
    pub kind: &'static str,
    pub stage: String,
    pub recipient: String,
    pub send_on: NaiveDate,
}

/// A ledger row with its city.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = reminders, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Reminder {
    pub id: i64,
    pub cycle_id: i64,
    pub kind: String,
    pub stage: String,
    pub recipient: String,
    pub send_on: NaiveDate,
    /// Parsed as the row is read: a state the ledger does not know is an error.
    #[diesel(deserialize_as = String)]
    pub state: ReminderState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    #[diesel(select_expression = cities::id)]
    pub city_id: i64,
    #[diesel(select_expression = cities::slug)]
    pub city_slug: String,
    #[diesel(select_expression = cities::time_zone)]
    pub city_time_zone: String,
}

/// Inserts the rows not yet in the ledger; returns how many were new.
pub fn insert_planned(conn: &mut Conn<'_>, rows: &[NewReminder], now: NaiveDateTime) -> Result<usize, DbError> {
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                reminders::cycle_id.eq(r.cycle_id),
                reminders::kind.eq(r.kind),
                reminders::stage.eq(&r.stage),
                reminders::recipient.eq(&r.recipient),
                reminders::send_on.eq(r.send_on),
                reminders::state.eq("planned"),
                reminders::created_at.eq(now),
                reminders::updated_at.eq(now),
            )
        })
        .collect();
    let mut inserted = 0;
    for chunk in values.chunks(500) {
        inserted += with_conn!(conn, |c| {
            diesel::insert_into(reminders::table)
                .values(chunk)
                .on_conflict((reminders::cycle_id, reminders::stage, reminders::recipient))
                .do_nothing()
                .execute(c)
        })?;
    }
    Ok(inserted)
}

/// Cancels a cycle's pending (`planned` or `failed`) rows of one kind; returns how many.
pub fn cancel_pending(conn: &mut Conn<'_>, cycle_id: i64, kind: &str, now: NaiveDateTime) -> Result<usize, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::update(
            reminders::table
                .filter(reminders::cycle_id.eq(cycle_id))
                .filter(reminders::kind.eq(kind))
                .filter(reminders::state.eq_any(["planned", "failed"])),
        )
        .set((reminders::state.eq("cancelled"), reminders::updated_at.eq(now)))
        .execute(c)?)
    })
}

/// Rows that may be sent now: planned, or failed and due for another attempt, with `send_on`
/// on or before `through` (the caller compares with each city's local date).
pub fn due(
    conn: &mut Conn<'_>,
    through: NaiveDate,
    now: NaiveDateTime,
    max_attempts: i32,
) -> Result<Vec<Reminder>, DbError> {
    with_conn!(conn, |c| {
        Ok(reminders::table
            .inner_join(reporting_cycles::table.inner_join(cities::table))
            .filter(reminders::send_on.le(through))
            .filter(
                reminders::state.eq("planned").or(reminders::state
                    .eq("failed")
                    .and(reminders::next_attempt_at.le(now))
                    .and(reminders::attempts.lt(max_attempts))),
            )
            .order((reminders::cycle_id, reminders::send_on, reminders::id))
            .select(Reminder::as_select())
            .load(c)?)
    })
}

/// Marks rows skipped (superseded or suppressed) unless another process holds them.
pub fn skip(conn: &mut Conn<'_>, ids: &[i64], reason: &str, now: NaiveDateTime) -> Result<usize, DbError> {
    let mut skipped = 0;
    for chunk in ids.chunks(CHUNK) {
        skipped += with_conn!(conn, |c| {
            diesel::update(
                reminders::table
                    .filter(reminders::id.eq_any(chunk))
                    .filter(reminders::state.eq_any(["planned", "failed"]))
                    .filter(reminders::claimed_until.is_null().or(reminders::claimed_until.lt(now))),
            )
            .set((reminders::state.eq("skipped"), reminders::last_error.eq(reason), reminders::updated_at.eq(now)))
            .execute(c)
        })?;
    }
    Ok(skipped)
}

/// Which cycles the sweep plans for one kind of deadline (the due date in force, or the revision
/// deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanRange<'a> {
    /// Cycles whose deadline is in this range (inclusive) have stages under way or coming within
    /// the planning horizon: they are always planned.
    pub live: (NaiveDate, NaiveDate),
    /// A cycle whose deadline is older is planned only while the ledger has no row for this, the
    /// last stage, against its deadline: once that is planned, so is every stage before it.
    pub last_stage: &'a str,
}

/// The cycles whose reminders the sweep plans: those without a submission by their due date in
/// force (`deadline`), and those asked for a revision by their revision deadline (`revision`).
pub fn cycles_to_plan(
    conn: &mut Conn<'_>,
    deadline: Option<PlanRange<'_>>,
    revision: Option<PlanRange<'_>>,
) -> Result<Vec<i64>, DbError> {
    // The ledger key of the last stage against a cycle's deadline, `stage@YYYY-MM-DD`. SQLite
    // keeps dates as that text already; PostgreSQL formats them.
    let key_date = |column: &str| match conn.backend() {
        Backend::Sqlite => format!("reporting_cycles.{column}"),
        Backend::Postgres => format!("to_char(reporting_cycles.{column}, 'YYYY-MM-DD')"),
    };
    let (due_key, revision_key) = (key_date("due_in_force"), key_date("revision_due"));
    let unplanned = |last_stage: &str, key: &str| {
        sql::<Bool>(
            "NOT EXISTS (SELECT 1 FROM reminders WHERE reminders.cycle_id = reporting_cycles.id AND reminders.stage = ",
        )
        .bind::<Text, _>(format!("{last_stage}@"))
        .sql(&format!(" || {key})"))
    };
    let mut ids: Vec<i64> = Vec::new();
    with_conn!(conn, |c| {
        if let Some(range) = deadline {
            let unsubmitted = reporting_cycles::table.filter(reporting_cycles::first_submitted_at.is_null());
            ids.extend(
                unsubmitted
                    .filter(reporting_cycles::due_in_force.between(range.live.0, range.live.1))
                    .select(reporting_cycles::id)
                    .load::<i64>(c)?,
            );
            ids.extend(
                unsubmitted
                    .filter(reporting_cycles::due_in_force.lt(range.live.0))
                    .filter(unplanned(range.last_stage, &due_key))
                    .select(reporting_cycles::id)
                    .load::<i64>(c)?,
            );
        }
        if let Some(range) = revision {
            let revising = reporting_cycles::table.filter(reporting_cycles::latest_decision.eq("request_revision"));
            ids.extend(
                revising
                    .filter(reporting_cycles::revision_due.between(range.live.0, range.live.1))
                    .select(reporting_cycles::id)
                    .load::<i64>(c)?,
            );
            ids.extend(
                revising
                    .filter(reporting_cycles::revision_due.lt(range.live.0))
                    .filter(unplanned(range.last_stage, &revision_key))
                    .select(reporting_cycles::id)
                    .load::<i64>(c)?,
            );
        }
        Ok::<_, DbError>(())
    })?;
    Ok(ids)
}

/// The keys (cycle, stage, recipient) of these cycles' rows, whatever their state: what planning
/// must not insert again.
pub fn keys_of(conn: &mut Conn<'_>, cycle_ids: &[i64]) -> Result<Vec<(i64, String, String)>, DbError> {
    let mut keys = Vec::new();
    for chunk in cycle_ids.chunks(CHUNK) {
        with_conn!(conn, |c| {
            keys.extend(
                reminders::table
                    .filter(reminders::cycle_id.eq_any(chunk))
                    .select((reminders::cycle_id, reminders::stage, reminders::recipient))
                    .load::<(i64, String, String)>(c)?,
            );
            Ok::<_, DbError>(())
        })?;
    }
    Ok(keys)
}

/// A pending (`planned` or `failed`) row with what its cycle row says now.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct PendingRow {
    pub id: i64,
    pub cycle_id: i64,
    pub kind: String,
    pub stage: String,
    pub send_on: NaiveDate,
    pub first_submitted_at: Option<NaiveDateTime>,
    pub due_in_force: NaiveDate,
    pub latest_decision: Option<String>,
    pub revision_due: Option<NaiveDate>,
}

/// Every pending row, with its cycle's progress columns.
pub fn pending(conn: &mut Conn<'_>) -> Result<Vec<PendingRow>, DbError> {
    with_conn!(conn, |c| {
        Ok(reminders::table
            .inner_join(reporting_cycles::table)
            .filter(reminders::state.eq_any(["planned", "failed"]))
            .select((
                reminders::id,
                reminders::cycle_id,
                reminders::kind,
                reminders::stage,
                reminders::send_on,
                reporting_cycles::first_submitted_at,
                reporting_cycles::due_in_force,
                reporting_cycles::latest_decision,
                reporting_cycles::revision_due,
            ))
            .load(c)?)
    })
}

/// Cancels rows by id; returns how many were still pending.
pub fn cancel_ids(conn: &mut Conn<'_>, ids: &[i64], now: NaiveDateTime) -> Result<usize, DbError> {
    let mut cancelled = 0;
    for chunk in ids.chunks(CHUNK) {
        cancelled += with_conn!(conn, |c| {
            diesel::update(
                reminders::table
                    .filter(reminders::id.eq_any(chunk))
                    .filter(reminders::state.eq_any(["planned", "failed"])),
            )
            .set((reminders::state.eq("cancelled"), reminders::updated_at.eq(now)))
            .execute(c)
        })?;
    }
    Ok(cancelled)
}

/// Claims a row for `owner` until `until`; `false` if it is no longer pending or another
/// process holds it. One UPDATE, so exactly one of two racing processes wins.
pub fn claim(
    conn: &mut Conn<'_>,
    id: i64,
    owner: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let n = with_conn!(conn, |c| {
        diesel::update(
            reminders::table
                .filter(reminders::id.eq(id))
                .filter(reminders::state.eq_any(["planned", "failed"]))
                .filter(reminders::claimed_until.is_null().or(reminders::claimed_until.lt(now))),
        )
        .set((reminders::claimed_by.eq(owner), reminders::claimed_until.eq(until), reminders::updated_at.eq(now)))
        .execute(c)
    })?;
    Ok(n == 1)
}

/// Records that the mail server accepted the message.
pub fn mark_sent(conn: &mut Conn<'_>, id: i64, owner: &str, now: NaiveDateTime) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(reminders::table.filter(reminders::id.eq(id)).filter(reminders::claimed_by.eq(owner)))
            .set((
                reminders::state.eq("sent"),
                reminders::sent_at.eq(now),
                reminders::attempts.eq(reminders::attempts + 1),
                reminders::last_error.eq(None::<String>),
                reminders::claimed_until.eq(None::<NaiveDateTime>),
                reminders::updated_at.eq(now),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// Records a failed attempt; `retry_at` is `None` when the failure is permanent.
pub fn mark_failed(
    conn: &mut Conn<'_>,
    id: i64,
    owner: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    with_conn!(conn, |c| {
        diesel::update(reminders::table.filter(reminders::id.eq(id)).filter(reminders::claimed_by.eq(owner)))
            .set((
                reminders::state.eq("failed"),
                reminders::attempts.eq(reminders::attempts + 1),
                reminders::last_error.eq(error),
                reminders::next_attempt_at.eq(retry_at),
                reminders::claimed_until.eq(None::<NaiveDateTime>),
                reminders::updated_at.eq(now),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// Filters of the ledger view.
#[derive(Debug, Clone, Default)]
pub struct ReminderFilter {
    pub city_id: Option<i64>,
    pub cycle_id: Option<i64>,
    pub state: Option<String>,
    pub kind: Option<String>,
    pub send_from: Option<NaiveDate>,
    pub send_to: Option<NaiveDate>,
    /// Newest first (by send date, then id) rather than oldest first.
    pub newest_first: bool,
}

/// One page of the ledger, by send date then id (oldest or newest first).
pub fn list(conn: &mut Conn<'_>, f: &ReminderFilter, page: PageRequest) -> Result<Page<Reminder>, DbError> {
    let (total, items) = with_conn!(conn, |c| {
        let filtered = || {
            let mut q = reminders::table.inner_join(reporting_cycles::table.inner_join(cities::table)).into_boxed();
            if let Some(id) = f.city_id {
                q = q.filter(cities::id.eq(id));
            }
            if let Some(id) = f.cycle_id {
                q = q.filter(reminders::cycle_id.eq(id));
            }
            if let Some(state) = &f.state {
                q = q.filter(reminders::state.eq(state.as_str()));
            }
            if let Some(kind) = &f.kind {
                q = q.filter(reminders::kind.eq(kind.as_str()));
            }
            if let Some(d) = f.send_from {
                q = q.filter(reminders::send_on.ge(d));
            }
            if let Some(d) = f.send_to {
                q = q.filter(reminders::send_on.le(d));
            }
            q
        };
        let total: i64 = filtered().count().get_result(c)?;
        let ordered = if f.newest_first {
            filtered().order((reminders::send_on.desc(), reminders::id.desc()))
        } else {
            filtered().order((reminders::send_on, reminders::id))
        };
        let items: Vec<Reminder> =
            ordered.limit(page.per_page()).offset(page.offset()).select(Reminder::as_select()).load(c)?;
        Ok::<_, DbError>((total, items))
    })?;
    Ok(page.wrap(items, total))
}

/// A hold on a city's reminders.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Suppression {
    pub id: i64,
    pub city_id: i64,
    pub until_date: Option<NaiveDate>,
    pub reason: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub lifted_at: Option<NaiveDateTime>,
}

/// How many ledger rows are in each state (planned, sent, failed, skipped, cancelled, ...).
pub fn count_by_state(conn: &mut Conn<'_>) -> Result<Vec<(String, i64)>, DbError> {
    use diesel::dsl::count_star;
    with_conn!(conn, |c| Ok(reminders::table
        .group_by(reminders::state)
        .select((reminders::state, count_star()))
        .order(reminders::state)
        .load(c)?))
}

pub fn insert_suppression(
    conn: &mut Conn<'_>,
    city_id: i64,
    until: Option<NaiveDate>,
    reason: &str,
    by: &str,
    now: NaiveDateTime,
) -> Result<i64, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::insert_into(reminder_suppressions::table)
            .values((
                reminder_suppressions::city_id.eq(city_id),
                reminder_suppressions::until_date.eq(until),
                reminder_suppressions::reason.eq(reason),
                reminder_suppressions::created_by.eq(by),
                reminder_suppressions::created_at.eq(now),
            ))
            .returning(reminder_suppressions::id)
            .get_result(c)?)
    })
}

/// Lifts a suppression; `false` if it does not exist for this city or was already lifted.
pub fn lift_suppression(conn: &mut Conn<'_>, city_id: i64, id: i64, now: NaiveDateTime) -> Result<bool, DbError> {
    let n = with_conn!(conn, |c| {
        diesel::update(
            reminder_suppressions::table
                .filter(reminder_suppressions::id.eq(id))
                .filter(reminder_suppressions::city_id.eq(city_id))
                .filter(reminder_suppressions::lifted_at.is_null()),
        )
        .set(reminder_suppressions::lifted_at.eq(now))
        .execute(c)
    })?;
    Ok(n == 1)
}

/// Suppressions not lifted, optionally of one city, oldest first.
pub fn suppressions(conn: &mut Conn<'_>, city_id: Option<i64>) -> Result<Vec<Suppression>, DbError> {
    with_conn!(conn, |c| {
        let mut q = reminder_suppressions::table.filter(reminder_suppressions::lifted_at.is_null()).into_boxed();
        if let Some(id) = city_id {
            q = q.filter(reminder_suppressions::city_id.eq(id));
        }
        Ok(q.order(reminder_suppressions::id)
            .select((
                reminder_suppressions::id,
                reminder_suppressions::city_id,
                reminder_suppressions::until_date,
                reminder_suppressions::reason,
                reminder_suppressions::created_by,
                reminder_suppressions::created_at,
                reminder_suppressions::lifted_at,
            ))
            .load(c)?)
    })
}

impl Reminder {
    /// Planned, or failed with another attempt to come.
    pub fn is_pending(&self) -> bool {
        self.state == ReminderState::Planned || (self.state == ReminderState::Failed && self.next_attempt_at.is_some())
    }

    /// Failed with no attempt left (refused for good, or out of attempts).
    pub fn failed_for_good(&self) -> bool {
        self.state == ReminderState::Failed && self.next_attempt_at.is_none()
    }
}

/// Every row of one kind (`deadline` or `revision`) of these cycles.
pub fn ledger_of(conn: &mut Conn<'_>, cycle_ids: &[i64], kind: &str) -> Result<Vec<Reminder>, DbError> {
    let mut rows = Vec::new();
    for chunk in cycle_ids.chunks(CHUNK) {
        with_conn!(conn, |c| {
            rows.extend(
                reminders::table
                    .inner_join(reporting_cycles::table.inner_join(cities::table))
                    .filter(reminders::cycle_id.eq_any(chunk))
                    .filter(reminders::kind.eq(kind))
                    .order((reminders::cycle_id, reminders::id))
                    .select(Reminder::as_select())
                    .load(c)?,
            );
            Ok::<_, DbError>(())
        })?;
    }
    Ok(rows)
}

/// Records an escalation (a row that no mail carries: the digest reports it) as done; `false`
/// if it is no longer pending, so of two processes exactly one puts the city on notice.
pub fn mark_escalated(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<bool, DbError> {
    let n = with_conn!(conn, |c| {
        diesel::update(
            reminders::table
                .filter(reminders::id.eq(id))
                .filter(reminders::state.eq_any(["planned", "failed"]))
                .filter(reminders::claimed_until.is_null().or(reminders::claimed_until.lt(now))),
        )
        .set((
            reminders::state.eq("sent"),
            reminders::sent_at.eq(now),
            reminders::last_error.eq(None::<String>),
            reminders::updated_at.eq(now),
        ))
        .execute(c)
    })?;
    Ok(n == 1)
}

/// Moves planned rows to other days (escalations waiting for the formal reminders), one
/// statement per day; returns how many moved.
pub fn reschedule(conn: &mut Conn<'_>, moves: &[(i64, NaiveDate)], now: NaiveDateTime) -> Result<usize, DbError> {
    let mut by_day: std::collections::BTreeMap<NaiveDate, Vec<i64>> = std::collections::BTreeMap::new();
    for (id, day) in moves {
        by_day.entry(*day).or_default().push(*id);
    }
    let mut moved = 0;
    for (day, ids) in by_day {
        for chunk in ids.chunks(CHUNK) {
            moved += with_conn!(conn, |c| {
                diesel::update(
                    reminders::table
                        .filter(reminders::id.eq_any(chunk))
                        .filter(reminders::state.eq("planned"))
                        .filter(reminders::send_on.ne(day)),
                )
                .set((reminders::send_on.eq(day), reminders::updated_at.eq(now)))
                .execute(c)
            })?;
        }
    }
    Ok(moved)
}

/// Escalations recorded in `(after, through]`, and rows that failed for good then: what the
/// Secretariat's digest reports.
pub fn events_since(
    conn: &mut Conn<'_>,
    after: Option<NaiveDateTime>,
    through: NaiveDateTime,
) -> Result<(Vec<Reminder>, Vec<Reminder>), DbError> {
    with_conn!(conn, |c| {
        let rows = || reminders::table.inner_join(reporting_cycles::table.inner_join(cities::table)).into_boxed();
        let mut escalated = rows()
            .filter(reminders::stage.like("escalation@%"))
            .filter(reminders::state.eq("sent"))
            .filter(reminders::sent_at.le(through));
        let mut failed = rows()
            .filter(reminders::state.eq("failed"))
            .filter(reminders::next_attempt_at.is_null())
            .filter(reminders::updated_at.le(through));
        if let Some(after) = after {
            escalated = escalated.filter(reminders::sent_at.gt(after));
            failed = failed.filter(reminders::updated_at.gt(after));
        }
        let escalated = escalated.order((cities::slug, reminders::id)).select(Reminder::as_select()).load(c)?;
        let failed = failed.order((cities::slug, reminders::id)).select(Reminder::as_select()).load(c)?;
        Ok((escalated, failed))
    })
}

/// When the last digest that reached the mail server was sent.
pub fn last_digest_sent(conn: &mut Conn<'_>) -> Result<Option<NaiveDateTime>, DbError> {
    with_conn!(conn, |c| {
        Ok(reminder_digests::table
            .filter(reminder_digests::state.eq("sent"))
            .select(diesel::dsl::max(reminder_digests::sent_at))
            .first::<Option<NaiveDateTime>>(c)?)
    })
}

/// Plans the digest of `day` (once) and claims it for `owner`; `false` if it was sent already,
/// is out of attempts, waits for its next attempt, or another process holds it.
pub fn claim_digest(
    conn: &mut Conn<'_>,
    day: NaiveDate,
    owner: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
    max_attempts: i32,
) -> Result<bool, DbError> {
    let n = with_conn!(conn, |c| {
        diesel::insert_into(reminder_digests::table)
            .values((
                reminder_digests::day.eq(day),
                reminder_digests::state.eq("planned"),
                reminder_digests::created_at.eq(now),
                reminder_digests::updated_at.eq(now),
            ))
            .on_conflict(reminder_digests::day)
            .do_nothing()
            .execute(c)?;
        diesel::update(
            reminder_digests::table
                .filter(reminder_digests::day.eq(day))
                .filter(
                    reminder_digests::state.eq("planned").or(reminder_digests::state
                        .eq("failed")
                        .and(reminder_digests::next_attempt_at.le(now))
                        .and(reminder_digests::attempts.lt(max_attempts))),
                )
                .filter(reminder_digests::claimed_until.is_null().or(reminder_digests::claimed_until.lt(now))),
        )
        .set((
            reminder_digests::claimed_by.eq(owner),
            reminder_digests::claimed_until.eq(until),
            reminder_digests::updated_at.eq(now),
        ))
        .execute(c)
    })?;
    Ok(n == 1)
}

/// How many of each the digest reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestCounts {
    pub on_notice: i32,
    pub cannot_remind: i32,
    pub failed: i32,
}

/// Records the digest of `day` sent (`Ok`) or failed (`Err` with the error and when to retry).
pub fn finish_digest(
    conn: &mut Conn<'_>,
    day: NaiveDate,
    owner: &str,
    counts: DigestCounts,
    outcome: Result<(), (&str, Option<NaiveDateTime>)>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let (state, sent_at, error, retry) = match outcome {
        Ok(()) => ("sent", Some(now), None, None),
        Err((error, retry)) => ("failed", None, Some(error), retry),
    };
    with_conn!(conn, |c| {
        diesel::update(
            reminder_digests::table
                .filter(reminder_digests::day.eq(day))
                .filter(reminder_digests::claimed_by.eq(owner)),
        )
        .set((
            reminder_digests::state.eq(state),
            reminder_digests::sent_at.eq(sent_at),
            reminder_digests::attempts.eq(reminder_digests::attempts + 1),
            reminder_digests::last_error.eq(error),
            reminder_digests::next_attempt_at.eq(retry),
            reminder_digests::claimed_until.eq(None::<NaiveDateTime>),
            reminder_digests::on_notice.eq(counts.on_notice),
            reminder_digests::cannot_remind.eq(counts.cannot_remind),
            reminder_digests::failed.eq(counts.failed),
            reminder_digests::updated_at.eq(now),
        ))
        .execute(c)
    })?;
    Ok(())
}

/// The day each of `cycle_ids` was last sent a reminder (sent rows only; cycles never reminded
/// are absent).
pub fn last_sent(conn: &mut Conn<'_>, cycle_ids: &[i64]) -> Result<Vec<(i64, NaiveDate)>, DbError> {
    if cycle_ids.is_empty() {
        return Ok(Vec::new());
    }
    with_conn!(conn, |c| {
        Ok(reminders::table
            .filter(reminders::cycle_id.eq_any(cycle_ids))
            .filter(reminders::state.eq("sent"))
            .group_by(reminders::cycle_id)
            .select((reminders::cycle_id, diesel::dsl::max(reminders::send_on)))
            .load::<(i64, Option<NaiveDate>)>(c)?
            .into_iter()
            .filter_map(|(id, day)| day.map(|d| (id, d)))
            .collect())
    })
}
