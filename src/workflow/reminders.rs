//! The reminder sweep: plans the ledger from each cycle's state, then sends what is due.
//!
//! Planning is idempotent: each stage of each cycle gets one row per recipient, keyed by the
//! deadline it counts from, so running it again adds nothing and a moved deadline plans fresh
//! rows while the stale ones are cancelled. It looks only at the cycles that can need it: those
//! with stages under way or within the planning horizon (a range of due dates or revision
//! deadlines), older ones whose last stage was never planned (a first sweep, a deadline moved
//! into the past), and those with pending rows (which may have to be cancelled). A cycle whose
//! stages are all past and planned is not read again, so a contact added to it later is not sent
//! its old stages. Sending takes, per cycle, only the latest due stage
//! (earlier ones still pending are skipped: no burst of stale mail after an outage), claims each
//! row with one conditional UPDATE (so two processes never both send it), and marks it sent only
//! after the transport accepted it; a failure is recorded and retried with backoff.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde_json::json;

use super::cycles::{CycleOverview, facts};
use super::{Actor, audit};
use crate::db::cycles::CycleRecord;
use crate::db::reminders::{NewReminder, PlanRange, Reminder};
use crate::db::{self, Conn, Db};
use crate::domain::cities::{CityPatch, CityStatus, CityTimeZone};
use crate::domain::cycles::{CycleRules, CycleStatus, Decision, local_date};
use crate::domain::reminders::{ReminderSchedule, Stage, StageKind, latest_only};
use crate::error::{Error, Result};
use crate::mail::{self, Envelope, Language, ReminderContext, ReminderKind, Transport};

/// Everything the sweep needs besides the database and the transport.
#[derive(Debug, Clone)]
pub struct ReminderConfig {
    pub schedule: ReminderSchedule,
    /// The sender mailbox (`MMR_MAIL_FROM`).
    pub from: String,
    /// The base of links in messages (`MMR_PUBLIC_URL`).
    pub public_url: String,
    /// Where escalations go (`MMR_SECRETARIAT_EMAIL`).
    pub secretariat_email: String,
    /// Attempts before a failing message is left failed for good.
    pub max_attempts: i32,
}

/// What one sweep did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub planned: usize,
    pub cancelled: usize,
    pub sent: usize,
    pub failed: usize,
    /// Superseded by a later stage, or held back by a suppression.
    pub skipped: usize,
    /// Claimed by another process first.
    pub taken_elsewhere: usize,
    /// Cities with a due message to the city but no contact to send it to.
    pub cities_without_contacts: Vec<String>,
    /// One line per message sent (or to send): `stage city -> recipient`.
    pub lines: Vec<String>,
}

/// The recipients of a stage: the city's contacts, or the Secretariat.
fn recipients(stage: &Stage, contacts: &[String], cfg: &ReminderConfig) -> Vec<String> {
    if stage.kind.to_secretariat() { vec![cfg.secretariat_email.clone()] } else { contacts.to_vec() }
}

/// The deadline and stages that apply to a cycle now, or `None` when it needs no reminders.
fn applicable<'a>(c: &CycleOverview, schedule: &'a ReminderSchedule) -> Option<(NaiveDate, &'a [Stage], &'static str)> {
    match c.state.status {
        CycleStatus::Upcoming | CycleStatus::Open | CycleStatus::Overdue => {
            Some((c.record.due_date(), &schedule.deadline, "deadline"))
        }
        CycleStatus::RevisionRequested => {
            revision_due(&c.record).map(|due| (due, schedule.revision.as_slice(), "revision"))
        }
        CycleStatus::Submitted | CycleStatus::Accepted => None,
    }
}

fn revision_due(record: &CycleRecord) -> Option<NaiveDate> {
    match record.latest_decision {
        Some(Decision::RevisionRequested { revision_due }) => Some(revision_due),
        _ => None,
    }
}

/// How far ahead the ledger is planned: the preview of upcoming reminders covers these days.
pub const PLAN_AHEAD_DAYS: i64 = 30;

/// The deadlines whose stages the sweep plans on `today`, for a schedule's stages: deadlines with
/// a stage from two days ago (a margin for time zones) to the horizon are live; older ones are
/// planned until their last stage is.
fn plan_range(stages: &[Stage], today: NaiveDate, horizon: NaiveDate) -> Option<PlanRange<'_>> {
    let first = stages.iter().map(|s| s.offset_days).min()?;
    let last = stages.iter().max_by_key(|s| s.offset_days)?;
    let from = today.checked_sub_signed(TimeDelta::days(last.offset_days + 2)).unwrap_or(NaiveDate::MIN);
    let to = horizon.checked_sub_signed(TimeDelta::days(first)).unwrap_or(NaiveDate::MAX);
    Some(PlanRange { live: (from, to), last_stage: &last.name })
}

/// Plans the ledger and cancels what no longer applies. Idempotent: only rows missing from the
/// ledger are inserted, and only for stages due within [`PLAN_AHEAD_DAYS`]. Returns the report
/// and the states of the cycles it planned from (every cycle a pending row belongs to among
/// them), for the sending that follows.
pub fn plan(
    conn: &mut Conn<'_>,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
) -> Result<(SweepReport, Vec<CycleOverview>)> {
    let mut report = SweepReport::default();
    let horizon = now.date() + TimeDelta::days(PLAN_AHEAD_DAYS);
    let pending = db::reminders::pending(conn)?;
    let mut ids = db::reminders::cycles_to_plan(
        conn,
        plan_range(&cfg.schedule.deadline, now.date(), horizon),
        plan_range(&cfg.schedule.revision, now.date(), horizon),
    )?;
    ids.extend(pending.iter().map(|(_, cycle, ..)| *cycle));
    ids.sort_unstable();
    ids.dedup();
    let cycles: Vec<CycleOverview> = db::cycles::load_ids(conn, &ids)?
        .into_iter()
        .map(|record| {
            let state = facts(&record).state(rules, now.and_utc());
            CycleOverview { record, state }
        })
        .collect();
    let mut emails: HashMap<i64, Vec<String>> = HashMap::new();
    for (city, email, _) in db::contacts::all_recipients(conn)? {
        emails.entry(city).or_default().push(email);
    }
    let wanted: HashMap<i64, (NaiveDate, &[Stage], &'static str)> =
        cycles.iter().filter_map(|c| applicable(c, &cfg.schedule).map(|a| (c.record.id, a))).collect();
    // Pending rows whose cycle no longer calls for them (submitted, withdrawn, or a deadline
    // that moved) are cancelled.
    let stale: Vec<i64> = pending
        .into_iter()
        .filter(|(_, cycle, kind, stage)| match wanted.get(cycle) {
            Some((deadline, _, k)) => k != kind || !stage.ends_with(&format!("@{deadline}")),
            None => true,
        })
        .map(|(id, ..)| id)
        .collect();
    report.cancelled = db::reminders::cancel_ids(conn, &stale, now)?;
    let wanted_ids: Vec<i64> = wanted.keys().copied().collect();
    let existing: HashSet<(i64, String, String)> = db::reminders::keys_of(conn, &wanted_ids)?.into_iter().collect();
    let mut rows = Vec::new();
    for c in &cycles {
        let Some((deadline, stages, kind)) = wanted.get(&c.record.id) else { continue };
        let contacts = emails.get(&c.record.city.id).map(Vec::as_slice).unwrap_or_default();
        for stage in stages.iter().filter(|s| s.send_on(*deadline) <= horizon) {
            let key = stage.key(*deadline);
            let recipients = recipients(stage, contacts, cfg);
            if recipients.is_empty() && !report.cities_without_contacts.contains(&c.record.city.slug) {
                report.cities_without_contacts.push(c.record.city.slug.clone());
            }
            for recipient in recipients {
                if !existing.contains(&(c.record.id, key.clone(), recipient.clone())) {
                    rows.push(NewReminder {
                        cycle_id: c.record.id,
                        kind,
                        stage: key.clone(),
                        recipient,
                        send_on: stage.send_on(*deadline),
                    });
                }
            }
        }
    }
    report.planned = db::reminders::insert_planned(conn, &rows, now)?;
    Ok((report, cycles))
}

/// The rows to send now (the latest due stage of each cycle and kind) and those it supersedes.
fn select_due(conn: &mut Conn<'_>, cfg: &ReminderConfig, now: NaiveDateTime) -> Result<(Vec<Reminder>, Vec<i64>)> {
    let utc = now.and_utc();
    let candidates = db::reminders::due(conn, now.date() + TimeDelta::days(1), now, cfg.max_attempts)?;
    let due: Vec<Reminder> = candidates
        .into_iter()
        .filter(|r| {
            let tz = CityTimeZone::parse(&r.city_time_zone).map_or(chrono_tz::UTC, CityTimeZone::tz);
            r.send_on <= local_date(utc, tz)
        })
        .collect();
    let mut groups: HashMap<(i64, &str), Vec<(NaiveDate, usize)>> = HashMap::new();
    for (i, r) in due.iter().enumerate() {
        groups.entry((r.cycle_id, r.kind.as_str())).or_default().push((r.send_on, i));
    }
    let mut send = Vec::new();
    let mut skip = Vec::new();
    for rows in groups.values() {
        let (s, k) = latest_only(rows);
        send.extend(s);
        skip.extend(k.into_iter().map(|i| due[i].id));
    }
    send.sort_unstable();
    Ok((send.into_iter().map(|i| due[i].clone()).collect(), skip))
}

/// Plans, then sends what is due through `transport`. `owner` names this process in claims. On
/// a dry run nothing is written or sent; the report says what would be.
pub fn sweep(
    db: &Db,
    transport: &dyn Transport,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
    owner: &str,
    dry_run: bool,
) -> Result<SweepReport> {
    if dry_run {
        return db.run_blocking(|conn| conn.rolled_back(|conn| dry_run_report(conn, cfg, rules, now)));
    }
    let (mut report, planned) = db.run_blocking(|conn| conn.transaction(|conn| plan(conn, cfg, rules, now)))?;
    let (send, skip) = db.run_blocking(|conn| select_due(conn, cfg, now))?;
    report.skipped +=
        db.run_blocking(|conn| Ok::<_, Error>(db::reminders::skip(conn, &skip, "superseded by a later stage", now)?))?;
    if send.is_empty() {
        return Ok(report);
    }
    // Planning read the state of every cycle with a pending row, so these are all the cycles a
    // due row can belong to.
    let cycles: HashMap<i64, CycleOverview> = planned.into_iter().map(|c| (c.record.id, c)).collect();
    let suppressed = db.run_blocking(|conn| Ok::<_, Error>(db::reminders::suppressions(conn, None)?))?;
    let coordinators = db.run_blocking(|conn| Ok::<_, Error>(db::cities::coordinator_emails(conn)?))?;
    let fields = db.run_blocking(super::cities::list_fields)?;
    let names: HashMap<(i64, String), String> = db
        .run_blocking(|conn| Ok::<_, Error>(db::contacts::all_recipients(conn)?))?
        .into_iter()
        .map(|(city, email, name)| ((city, email), name))
        .collect();
    for row in send {
        let Some(cycle) = cycles.get(&row.cycle_id) else { continue };
        let tz = CityTimeZone::parse(&cycle.record.city.time_zone).map_or(chrono_tz::UTC, CityTimeZone::tz);
        let today = local_date(now.and_utc(), tz);
        if let Some(s) = suppressed.iter().find(|s| s.city_id == row.city_id && s.until_date.is_none_or(|u| u >= today))
        {
            let reason = format!("suppressed by {}: {}", s.created_by, s.reason);
            report.skipped +=
                db.run_blocking(|conn| Ok::<_, Error>(db::reminders::skip(conn, &[row.id], &reason, now)?))?;
            continue;
        }
        let until = now + TimeDelta::minutes(10);
        if !db.run_blocking(|conn| Ok::<_, Error>(db::reminders::claim(conn, row.id, owner, until, now)?))? {
            report.taken_elsewhere += 1;
            continue;
        }
        let Some(stage) = cfg.schedule.stage_of_key(&row.stage) else {
            let error = format!("stage `{}` is not in the schedule", row.stage);
            db.run_blocking(|conn| {
                Ok::<_, Error>(db::reminders::mark_failed(conn, row.id, owner, &error, None, now)?)
            })?;
            report.failed += 1;
            continue;
        };
        let field_name = fields
            .iter()
            .find(|(f, _)| f.slug == cycle.record.city.field)
            .map_or_else(|| cycle.record.city.field.clone(), |(f, _)| f.name.clone());
        let cc: Vec<String> = if stage.kind.copies_coordinator() {
            coordinators.iter().filter(|(f, _)| *f == cycle.record.city.field).map(|(_, e)| e.clone()).collect()
        } else {
            Vec::new()
        };
        let recipient_name = names.get(&(row.city_id, row.recipient.clone())).cloned();
        let context = context(cycle, stage, &row, tz, today, cfg, field_name, recipient_name)
            .map_err(|message| Failure { message, permanent: false });
        let message = context.and_then(|ctx| {
            let envelope = Envelope {
                from: cfg.from.clone(),
                to: vec![row.recipient.clone()],
                cc,
                message_id: message_id(row.id, &cfg.public_url),
            };
            mail::compose(&ctx, &envelope).map_err(|e| Failure { message: e.to_string(), permanent: false })
        });
        let result = message.and_then(|m| {
            transport.send(&m).map_err(|e| {
                let permanent = e.is_permanent();
                let message = if permanent { format!("permanent: {e}") } else { e.to_string() };
                Failure { message, permanent }
            })
        });
        match result {
            Ok(()) => {
                db.run_blocking(|conn| {
                    conn.transaction(|conn| {
                        db::reminders::mark_sent(conn, row.id, owner, now)?;
                        if stage.kind == StageKind::Escalation {
                            put_on_notice(conn, &cycle.record, now)?;
                        }
                        Ok::<_, Error>(())
                    })
                })?;
                report.sent += 1;
                report.lines.push(format!("sent {} {} -> {}", row.stage, row.city_slug, row.recipient));
            }
            Err(Failure { message: error, permanent }) => {
                let retry = (!permanent && row.attempts + 1 < cfg.max_attempts).then(|| now + backoff(row.attempts));
                tracing::warn!(reminder.id = row.id, city.slug = %row.city_slug, stage = %row.stage, retry = retry.is_some(), "reminder not sent: {error}");
                db.run_blocking(|conn| {
                    Ok::<_, Error>(db::reminders::mark_failed(conn, row.id, owner, &error, retry, now)?)
                })?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

fn dry_run_report(
    conn: &mut Conn<'_>,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
) -> Result<SweepReport> {
    let (mut report, _) = plan(conn, cfg, rules, now)?;
    let (send, skip) = select_due(conn, cfg, now)?;
    report.skipped = skip.len();
    report.lines = send.iter().map(|r| format!("would send {} {} -> {}", r.stage, r.city_slug, r.recipient)).collect();
    Ok(report)
}

/// Why a message was not sent, and whether trying again can help.
struct Failure {
    message: String,
    permanent: bool,
}

/// Waits 5 minutes after the first failure, doubling up to 12 hours.
fn backoff(attempts: i32) -> TimeDelta {
    TimeDelta::minutes(5 * 2_i64.pow(attempts.clamp(0, 8) as u32)).min(TimeDelta::hours(12))
}

/// A message id that names the ledger row, so a duplicate delivery is recognisable.
fn message_id(id: i64, public_url: &str) -> String {
    let host = public_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|h| !h.is_empty())
        .unwrap_or("mmr.invalid");
    format!("mmr-reminder-{id}@{host}")
}

#[allow(clippy::too_many_arguments)]
fn context(
    cycle: &CycleOverview,
    stage: &Stage,
    row: &Reminder,
    tz: chrono_tz::Tz,
    today: NaiveDate,
    cfg: &ReminderConfig,
    field_name: String,
    recipient_name: Option<String>,
) -> std::result::Result<ReminderContext, String> {
    let deadline_date =
        row.stage.split('@').nth(1).and_then(|d| d.parse::<NaiveDate>().ok()).ok_or("stage key without a date")?;
    let deadline: DateTime<Utc> = crate::domain::cycles::deadline(deadline_date, tz) - TimeDelta::minutes(1);
    let r = &cycle.record;
    let kind = match stage.kind {
        StageKind::Upcoming => ReminderKind::Upcoming,
        StageKind::DueToday => ReminderKind::DueToday,
        StageKind::Overdue { formal_number } => ReminderKind::Overdue { formal_number },
        StageKind::Escalation => ReminderKind::Escalation,
        StageKind::RevisionUpcoming => ReminderKind::RevisionUpcoming,
        StageKind::RevisionDue => ReminderKind::RevisionDue,
        StageKind::RevisionOverdue => ReminderKind::RevisionOverdue,
    };
    let to_city = !stage.kind.to_secretariat();
    Ok(ReminderContext {
        language: if to_city && r.city.language == "fr" { Language::Fr } else { Language::En },
        kind,
        city_name: r.city.name.clone(),
        field_name,
        cycle_number: r.number as u32,
        period_start_year: r.period_start_year,
        period_end_year: r.period_end_year,
        deadline: deadline.with_timezone(&tz),
        days: (deadline_date - today).num_days().abs(),
        link: format!("{}/api/v1/cities/{}/cycles", cfg.public_url.trim_end_matches('/'), r.city.slug),
        recipient_name: if to_city { recipient_name } else { None },
    })
}

/// The escalation marks an active city on notice (audited).
fn put_on_notice(conn: &mut Conn<'_>, record: &CycleRecord, now: NaiveDateTime) -> Result<()> {
    let city = db::cities::find_by_id(conn, record.city.id)?;
    if city.status != CityStatus::Active.as_str() {
        return Ok(());
    }
    let patch = CityPatch { status: Some(CityStatus::OnNotice), ..CityPatch::default() };
    db::cities::update(conn, &city, &patch, now.date(), now)?;
    audit(
        conn,
        &Actor::system("reminder sweep"),
        now,
        "city.on_notice",
        ("city", &city.slug),
        json!({ "cycle": record.number }),
    )
}

/// One page of the reminder ledger.
pub fn list(
    conn: &mut Conn<'_>,
    filter: &db::reminders::ReminderFilter,
    page: crate::domain::PageRequest,
) -> Result<crate::domain::Page<Reminder>> {
    Ok(db::reminders::list(conn, filter, page)?)
}

/// Holds back a city's reminders until a date (inclusive) or until lifted.
pub fn suppress(
    conn: &mut Conn<'_>,
    actor: &Actor,
    city_slug: &str,
    until: Option<NaiveDate>,
    reason: &str,
    now: NaiveDateTime,
) -> Result<db::reminders::Suppression> {
    let reason = crate::domain::clean_text("reason", reason, 2000)?;
    conn.transaction(|conn| {
        let city = super::cities::get(conn, city_slug)?;
        let id = db::reminders::insert_suppression(conn, city.id, until, &reason, &actor.name, now)?;
        audit(
            conn,
            actor,
            now,
            "reminders.suppress",
            ("city", city_slug),
            json!({ "id": id, "until": until.map(|d| d.to_string()), "reason": reason }),
        )?;
        db::reminders::suppressions(conn, Some(city.id))?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::not_found("suppression", id.to_string()))
    })
}

pub fn lift(conn: &mut Conn<'_>, actor: &Actor, city_slug: &str, id: i64, now: NaiveDateTime) -> Result<()> {
    conn.transaction(|conn| {
        let city = super::cities::get(conn, city_slug)?;
        if !db::reminders::lift_suppression(conn, city.id, id, now)? {
            return Err(Error::not_found("suppression", format!("{city_slug}/{id}")));
        }
        audit(conn, actor, now, "reminders.lift", ("city", city_slug), json!({ "id": id }))
    })
}

pub fn suppressions(conn: &mut Conn<'_>, city_slug: &str) -> Result<Vec<db::reminders::Suppression>> {
    let city = super::cities::get(conn, city_slug)?;
    Ok(db::reminders::suppressions(conn, Some(city.id))?)
}

/// The daily job: create the cycles that have started, then sweep. A dry run only sweeps (in a
/// rolled-back transaction), so it writes nothing.
pub fn daily(
    db: &Db,
    transport: &dyn Transport,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
    owner: &str,
    dry_run: bool,
) -> Result<(usize, SweepReport)> {
    let created = if dry_run {
        0
    } else {
        db.run_blocking(|conn| super::cycles::sync(conn, &Actor::system("reminder sweep"), rules, now))?.created
    };
    Ok((created, sweep(db, transport, cfg, rules, now, owner, dry_run)?))
}

/// A name for this process in reminder claims: host-less, but unique enough to tell two apart.
pub fn owner_id() -> String {
    format!("pid{}-{:08x}", std::process::id(), rand::random::<u32>())
}
