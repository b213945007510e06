//! The reminder ledger: one row per planned message, unique on (cycle, stage, recipient). Rows
//! move from `planned` to `sent`, `skipped`, `cancelled` or `failed` (retried with backoff); a
//! row is claimed before it is sent, so two processes never send the same one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::reminders;
use super::{Conn, DbError, with_conn};

/// Cancels a cycle's pending (`planned` or `failed`) rows of one kind; returns how many.
pub fn cancel_pending(conn: &mut Conn<'_>, cycle_id: i64, kind: &str, now: NaiveDateTime) -> Result<usize, DbError> {
    with_conn!(conn, |c| {
        Ok(diesel::update(
            reminders::table
                .filter(reminders::cycle_id.eq(cycle_id))
                .filter(reminders::kind.eq(kind))
                .filter(reminders::state.eq_any(["planned", "failed"])),
        )
        .set((
            reminders::state.eq("cancelled"),
            reminders::updated_at.eq(now),
            reminders::claimed_by.eq(None::<String>),
        ))
        .execute(c)?)
    })
}
