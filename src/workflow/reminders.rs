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
//!
//! What a message says is decided when it is sent, from the deadline in force and the city's
//! local date: a stage sent late says "overdue by N days", never "due today". Formal reminders
//! are numbered by the formal reminders the city actually received. The escalation is no message
//! of its own: on its day [`escalation_step`] decides, from what was delivered, whether the city
//! is put on notice, sent the next formal reminder first (a catch-up stage, the escalation
//! waiting for it), or listed as one that cannot be reminded. The Secretariat hears of all this
//! in one digest a day ([`send_digest`]): the cities put on notice, those that cannot be
//! reminded, and the messages that failed for good.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde_json::json;

use super::cycles::{CycleOverview, facts};
use super::{Actor, audit};
use crate::db::cycles::CycleRecord;
use crate::db::reminders::{NewReminder, PlanRange};
/// The reminder ledger's rows and filters, as the entry points pass and get them.
pub use crate::db::reminders::{Reminder, ReminderFilter, Suppression};
use crate::db::{self, Conn, Db};
use crate::domain::cities::{CityPatch, CityStatus, CityTimeZone};
use crate::domain::cycles::{CycleRules, CycleStatus, Decision, local_date};
use crate::domain::fields::CreativeField;
use crate::domain::reminders::{
    EscalationStep, ReminderSchedule, ReminderState, Stage, StageKind, escalation_step, latest_only,
};
use crate::error::{Error, Result};
use crate::mail::{
    self, Digest, DigestCity, DigestNote, Envelope, FailedMessage, Language, ReminderContext, ReminderKind, Transport,
};

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
    /// Cities put on notice by this sweep (slugs).
    pub on_notice: Vec<String>,
    /// Cities with an overdue report and no contact the system can reach: never put on notice by
    /// the sweep, listed in the Secretariat's digest instead.
    pub cannot_remind: Vec<DigestCity>,
    /// The Secretariat's digest, when this sweep sent one (or, on a dry run, would): one line.
    pub digest: Option<String>,
    /// One line per message sent (or to send): `stage city -> recipient`.
    pub lines: Vec<String>,
}

/// The recipients of a stage: the city's contacts, or the Secretariat.
fn recipients(stage: &Stage, contacts: &[String], cfg: &ReminderConfig) -> Vec<String> {
    if stage.kind.to_secretariat() { vec![cfg.secretariat_email.clone()] } else { contacts.to_vec() }
}

/// The deadline and stages that apply to a cycle now, or `None` when it needs no reminders.
fn applicable<'a>(c: &CycleOverview, schedule: &'a ReminderSchedule) -> Option<(NaiveDate, &'a [Stage], &'static str)> {
    if c.record.closed_by_history {
        // A past round closed by the history import: its facts are final, whatever its status.
        return None;
    }
    match c.state.status {
        CycleStatus::Upcoming | CycleStatus::Open | CycleStatus::Overdue => {
            Some((c.record.due_date(), &schedule.deadline, "deadline"))
        }
        CycleStatus::RevisionRequested => {
            revision_due(&c.record).map(|due| (due, schedule.revision.as_slice(), "revision"))
        }
        CycleStatus::Submitted | CycleStatus::Accepted | CycleStatus::Closed => None,
    }
}

fn revision_due(record: &CycleRecord) -> Option<NaiveDate> {
    match record.latest_decision {
        Some(Decision::RevisionRequested { revision_due }) => Some(revision_due),
        _ => None,
    }
}

/// Whether an overdue cycle is one the sweep chases (reminds, escalates, lists as unreachable):
/// not a past round that the history import closed as never received.
fn chased(c: &CycleOverview) -> bool {
    c.state.status == CycleStatus::Overdue && !c.record.closed_by_history
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
/// and the states of the cycles it planned from (every cycle a pending row due by tomorrow
/// belongs to among them), for the sending that follows.
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
    // A cycle with pending rows is read when one is due by tomorrow, or when its row already shows
    // one no longer applies (so it is cancelled now, not on its day); rows further ahead (a
    // catch-up reminder, an escalation waiting for it) bring their cycle in on their day.
    let tomorrow = now.date() + TimeDelta::days(1);
    ids.extend(pending.iter().filter(|p| p.send_on <= tomorrow || looks_stale(p)).map(|p| p.cycle_id));
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
        .filter(|p| ids.binary_search(&p.cycle_id).is_ok())
        .filter(|p| match wanted.get(&p.cycle_id) {
            Some((deadline, _, k)) => *k != p.kind || !p.stage.ends_with(&format!("@{deadline}")),
            None => true,
        })
        .map(|p| p.id)
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
    escalate(conn, cfg, &cycles, &emails, now, &mut report)?;
    Ok((report, cycles))
}

/// Whether a pending row's cycle row already shows that it no longer applies: a deadline row of
/// a cycle that was submitted or whose deadline moved, a revision row of a cycle no longer asked
/// for a revision by that date. Only a filter: [`plan`] decides on the cycle's whole state.
fn looks_stale(p: &db::reminders::PendingRow) -> bool {
    let against = |date: NaiveDate| p.stage.ends_with(&format!("@{date}"));
    match p.kind.as_str() {
        "revision" => p.latest_decision.as_deref() != Some("request_revision") || !p.revision_due.is_some_and(against),
        _ => p.first_submitted_at.is_some() || !against(p.due_in_force),
    }
}

/// What the ledger says a city received for one deadline.
struct Progress {
    /// The local day each formal stage was first delivered (one entry per stage).
    delivered: Vec<NaiveDate>,
    /// A formal reminder is still planned or retrying.
    pending_formal: bool,
}

impl Progress {
    /// From a cycle's rows against its deadline in force.
    fn of(schedule: &ReminderSchedule, rows: &[&Reminder], tz: chrono_tz::Tz) -> Self {
        let mut first_sent: HashMap<&str, NaiveDate> = HashMap::new();
        for r in rows.iter().filter(|r| schedule.is_formal(&r.stage)) {
            if let Some(at) = r.sent_at {
                let day = local_date(at.and_utc(), tz);
                first_sent.entry(r.stage.as_str()).and_modify(|d| *d = (*d).min(day)).or_insert(day);
            }
        }
        let mut delivered: Vec<NaiveDate> = first_sent.into_values().collect();
        delivered.sort_unstable();
        Self { delivered, pending_formal: rows.iter().any(|r| schedule.is_formal(&r.stage) && r.is_pending()) }
    }
}

/// Why a city cannot be reminded of an overdue report, or `None` if it can: it has no contact,
/// or the latest message tried for this deadline (`rows`, a cycle's rows against its deadline in
/// force) failed for good for every recipient.
fn unreachable(has_contact: bool, rows: &[&Reminder]) -> Option<DigestNote> {
    if !has_contact {
        return Some(DigestNote::NoContact);
    }
    let latest_tried = rows
        .iter()
        .filter(|r| !r.stage.starts_with(ESCALATION_PREFIX))
        .filter(|r| matches!(r.state, ReminderState::Sent | ReminderState::Failed))
        .max_by_key(|r| (r.send_on, r.id))?;
    rows.iter()
        .filter(|r| r.stage == latest_tried.stage)
        .all(|r| r.failed_for_good() || r.state == ReminderState::Skipped)
        .then_some(DigestNote::AllFailed)
}

/// The overdue cycles among `cycles` whose cities cannot be reminded, each with why and its
/// ledger rows against the deadline in force.
fn unreachable_overdue<'a>(
    conn: &mut Conn<'_>,
    cycles: &'a [CycleOverview],
) -> Result<Vec<(&'a CycleOverview, DigestNote, Vec<Reminder>)>> {
    let overdue: Vec<&CycleOverview> = cycles.iter().filter(|c| chased(c)).collect();
    if overdue.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = overdue.iter().map(|c| c.record.id).collect();
    let ledger = Ledger::load(conn, &ids)?;
    let with_contact: HashSet<i64> = db::contacts::all_recipients(conn)?.into_iter().map(|(city, ..)| city).collect();
    Ok(overdue
        .into_iter()
        .filter_map(|c| {
            let rows = ledger.against(c.record.id, c.record.due_date());
            let note = unreachable(with_contact.contains(&c.record.city.id), &rows)?;
            Some((c, note, rows.into_iter().cloned().collect()))
        })
        .collect())
}

/// The cycles the digest lists as cannot be reminded: those of [`unreachable_overdue`] whose city
/// has not received every formal reminder (the others are put on notice). Read after sending, so
/// a message refused for good in this sweep counts.
fn cannot_remind(
    conn: &mut Conn<'_>,
    cfg: &ReminderConfig,
    cycles: &[CycleOverview],
    now: NaiveDateTime,
) -> Result<Vec<DigestCity>> {
    let fields = db::cities::list_fields(conn)?;
    let mut listed = Vec::new();
    for (c, note, rows) in unreachable_overdue(conn, cycles)? {
        let tz = c.record.city.time_zone.tz();
        let rows: Vec<&Reminder> = rows.iter().collect();
        if Progress::of(&cfg.schedule, &rows, tz).delivered.len() < cfg.schedule.formal_count() {
            listed.push(digest_city(&c.record, &fields, local_date(now.and_utc(), tz), note));
        }
    }
    Ok(listed)
}

/// How many overdue cycles among `cycles` belong to cities that cannot be reminded: the
/// dashboard's count.
pub fn count_unreachable(conn: &mut Conn<'_>, cycles: &[CycleOverview]) -> Result<usize> {
    Ok(unreachable_overdue(conn, cycles)?.len())
}

/// The deadline rows of some cycles, grouped by cycle, so that each cycle's are found at once.
struct Ledger(HashMap<i64, Vec<Reminder>>);

impl Ledger {
    fn load(conn: &mut Conn<'_>, cycle_ids: &[i64]) -> Result<Self> {
        let mut by_cycle: HashMap<i64, Vec<Reminder>> = HashMap::new();
        for row in db::reminders::ledger_of(conn, cycle_ids, "deadline")? {
            by_cycle.entry(row.cycle_id).or_default().push(row);
        }
        Ok(Self(by_cycle))
    }

    /// A cycle's rows against one deadline (the date of their stage keys).
    fn against(&self, cycle_id: i64, deadline: impl std::fmt::Display) -> Vec<&Reminder> {
        let suffix = format!("@{deadline}");
        self.0.get(&cycle_id).map_or_else(Vec::new, |rows| rows.iter().filter(|r| r.stage.ends_with(&suffix)).collect())
    }
}

/// The name part of an escalation row's stage key.
const ESCALATION_PREFIX: &str = "escalation@";

/// Applies the escalation rule to the overdue cycles planned from: puts on notice the cities
/// that received every formal reminder, plans the next formal reminder (a catch-up stage) for
/// those that received fewer and moves their escalation after it, and lists those that cannot
/// be reminded.
fn escalate(
    conn: &mut Conn<'_>,
    cfg: &ReminderConfig,
    cycles: &[CycleOverview],
    emails: &HashMap<i64, Vec<String>>,
    now: NaiveDateTime,
    report: &mut SweepReport,
) -> Result<()> {
    let overdue: Vec<&CycleOverview> = cycles.iter().filter(|c| chased(c)).collect();
    if overdue.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = overdue.iter().map(|c| c.record.id).collect();
    let ledger = Ledger::load(conn, &ids)?;
    let gap = TimeDelta::days(i64::from(cfg.schedule.notice_gap_days));
    let (mut catch_up, mut moves) = (Vec::new(), Vec::new());
    for c in overdue {
        let deadline = c.record.due_date();
        let suffix = format!("@{deadline}");
        let rows = ledger.against(c.record.id, deadline);
        let tz = c.record.city.time_zone.tz();
        let today = local_date(now.and_utc(), tz);
        let progress = Progress::of(&cfg.schedule, &rows, tz);
        let contacts = emails.get(&c.record.city.id).map(Vec::as_slice).unwrap_or_default();
        let reachable = unreachable(!contacts.is_empty(), &rows).is_none();
        let key = format!("{ESCALATION_PREFIX}{deadline}");
        let Some(row) = rows.iter().find(|r| r.stage == key && r.is_pending()) else { continue };
        if row.send_on > today {
            continue;
        }
        match escalation_step(&cfg.schedule, &progress.delivered, reachable, progress.pending_formal, today) {
            EscalationStep::Escalate => {
                if db::reminders::mark_escalated(conn, row.id, now)? {
                    put_on_notice(conn, &c.record, &progress.delivered, now)?;
                    report.on_notice.push(c.record.city.slug.clone());
                    report.lines.push(format!("escalated {key} {} (on notice)", c.record.city.slug));
                }
            }
            EscalationStep::WaitUntil(day) => {
                moves.push((row.id, day));
            }
            EscalationStep::SendFormal { number, on } => {
                let stage = format!("formal_catchup_{number}{suffix}");
                catch_up.extend(contacts.iter().map(|recipient| NewReminder {
                    cycle_id: c.record.id,
                    kind: "deadline",
                    stage: stage.clone(),
                    recipient: recipient.clone(),
                    send_on: on,
                }));
                moves.push((row.id, on.checked_add_signed(gap).unwrap_or(on)));
            }
            EscalationStep::AwaitPending | EscalationStep::CannotRemind => {}
        }
    }
    report.planned += db::reminders::insert_planned(conn, &catch_up, now)?;
    db::reminders::reschedule(conn, &moves, now)?;
    Ok(())
}

/// A cycle as the digest lists it.
fn digest_city(r: &CycleRecord, fields: &[(CreativeField, i64)], today: NaiveDate, note: DigestNote) -> DigestCity {
    DigestCity {
        slug: r.city.slug.clone(),
        name: r.city.name.clone(),
        field_name: field_name(fields, &r.city.field, "en"),
        cycle_number: r.number as u32,
        due: r.due_date(),
        days_overdue: (today - r.due_date()).num_days(),
        note,
    }
}

/// A field's display name in a language, its slug if it is unknown.
fn field_name(fields: &[(CreativeField, i64)], slug: &str, language: &str) -> String {
    fields.iter().find(|(f, _)| f.slug == slug).map_or_else(|| slug.to_owned(), |(f, _)| f.name_in(language).to_owned())
}

/// The rows to send now (the latest due stage of each cycle and kind) and those it supersedes.
/// Escalation rows are not messages: planning decides them ([`escalate`]).
fn select_due(conn: &mut Conn<'_>, cfg: &ReminderConfig, now: NaiveDateTime) -> Result<(Vec<Reminder>, Vec<i64>)> {
    let utc = now.and_utc();
    let candidates = db::reminders::due(conn, now.date() + TimeDelta::days(1), now, cfg.max_attempts)?;
    let due: Vec<Reminder> = candidates
        .into_iter()
        .filter(|r| !r.stage.starts_with(ESCALATION_PREFIX))
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

/// Plans, then sends what is due through `transport`, then the Secretariat's digest when there
/// is something to say. `owner` names this process in claims. On a dry run nothing is written or
/// sent; the report says what would be.
#[allow(clippy::too_many_arguments, reason = "the stores, settings and run options of one sweep, each used once")]
pub fn sweep(
    db: &Db,
    transport: &dyn Transport,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
    owner: &str,
    dry_run: bool,
    progress: &dyn super::Progress,
) -> Result<SweepReport> {
    if dry_run {
        return db.run_blocking(|conn| conn.rolled_back(|conn| dry_run_report(conn, cfg, rules, now)));
    }
    let (mut report, planned) = db.run_blocking(|conn| conn.transaction(|conn| plan(conn, cfg, rules, now)))?;
    let (send, skip) = db.run_blocking(|conn| select_due(conn, cfg, now))?;
    report.skipped +=
        db.run_blocking(|conn| Ok::<_, Error>(db::reminders::skip(conn, &skip, "superseded by a later stage", now)?))?;
    if !send.is_empty() {
        send_due(db, transport, cfg, now, owner, send, &planned, &mut report, progress)?;
    }
    report.cannot_remind = db.run_blocking(|conn| cannot_remind(conn, cfg, &planned, now))?;
    send_digest(db, transport, cfg, now, owner, &mut report)?;
    Ok(report)
}

/// Sends the selected rows, each claimed first and marked after the transport answered.
#[allow(clippy::too_many_arguments)]
fn send_due(
    db: &Db,
    transport: &dyn Transport,
    cfg: &ReminderConfig,
    now: NaiveDateTime,
    owner: &str,
    send: Vec<Reminder>,
    planned: &[CycleOverview],
    report: &mut SweepReport,
    progress: &dyn super::Progress,
) -> Result<()> {
    // Planning read the state of every cycle with a pending row, so these are all the cycles a
    // due row can belong to.
    let cycles: HashMap<i64, &CycleOverview> = planned.iter().map(|c| (c.record.id, c)).collect();
    let suppressed = db.run_blocking(|conn| Ok::<_, Error>(db::reminders::suppressions(conn, None)?))?;
    let coordinators = db.run_blocking(|conn| Ok::<_, Error>(db::cities::coordinator_emails(conn)?))?;
    let fields = db.run_blocking(super::cities::list_fields)?;
    let names: HashMap<(i64, String), String> = db
        .run_blocking(|conn| Ok::<_, Error>(db::contacts::all_recipients(conn)?))?
        .into_iter()
        .map(|(city, email, name)| ((city, email), name))
        .collect();
    // Formal reminders are numbered by those their city received: one read for every cycle that
    // sends one now. A sweep sends one stage per cycle, so no row sent below changes the count of
    // another (the stage being sent is left out of its own count).
    let mut formal_cycles: Vec<i64> =
        send.iter().filter(|r| cfg.schedule.is_formal(&r.stage)).map(|r| r.cycle_id).collect();
    formal_cycles.sort_unstable();
    formal_cycles.dedup();
    let received = db.run_blocking(|conn| Ledger::load(conn, &formal_cycles))?;
    progress.begin("reminders due", send.len() as u64);
    for row in send {
        progress.step();
        let Some(cycle) = cycles.get(&row.cycle_id) else { continue };
        let tz = cycle.record.city.time_zone.tz();
        let today = local_date(now.and_utc(), tz);
        if let Some(s) = suppressed.iter().find(|s| s.city_id == row.city_id && s.until_date.is_none_or(|u| u >= today))
        {
            let reason = format!("suppressed by {}: {}", s.created_by, s.reason);
            report.skipped +=
                db.run_blocking(|conn| Ok::<_, Error>(db::reminders::skip(conn, &[row.id], &reason, now)?))?;
            continue;
        }
        let until = now + TimeDelta::minutes(10);
        let Some(stage) = cfg.schedule.stage_of_key(&row.stage) else {
            let error = format!("stage `{}` is not in the schedule", row.stage);
            if db.run_blocking(|conn| Ok::<_, Error>(db::reminders::claim(conn, row.id, owner, until, now)?))? {
                db.run_blocking(|conn| {
                    Ok::<_, Error>(db::reminders::mark_failed(conn, row.id, owner, &error, None, now)?)
                })?;
                report.failed += 1;
            }
            continue;
        };
        let kind = match stage.kind {
            StageKind::Overdue { .. } => {
                let deadline = row.stage.split_once('@').map_or("", |(_, d)| d);
                let mut others = received.against(row.cycle_id, deadline);
                others.retain(|r| r.stage != row.stage);
                let received = Progress::of(&cfg.schedule, &others, tz).delivered.len();
                let of = cfg.schedule.formal_count();
                if received >= of {
                    let reason = format!("the city has received all {of} formal reminders");
                    report.skipped +=
                        db.run_blocking(|conn| Ok::<_, Error>(db::reminders::skip(conn, &[row.id], &reason, now)?))?;
                    continue;
                }
                ReminderKind::Formal { number: received as u8 + 1, of: of as u8 }
            }
            StageKind::RevisionUpcoming | StageKind::RevisionDue | StageKind::RevisionOverdue => ReminderKind::Revision,
            StageKind::Upcoming | StageKind::DueToday | StageKind::Escalation => ReminderKind::Deadline,
        };
        if !db.run_blocking(|conn| Ok::<_, Error>(db::reminders::claim(conn, row.id, owner, until, now)?))? {
            report.taken_elsewhere += 1;
            continue;
        }
        let cc: Vec<String> = if stage.kind.copies_coordinator() {
            coordinators.iter().filter(|(f, _)| *f == cycle.record.city.field).map(|(_, e)| e.clone()).collect()
        } else {
            Vec::new()
        };
        let language = Language::from(cycle.record.city.language);
        let context = context(cycle, kind, &row, tz, today, cfg, language, &fields)
            .map(|ctx| ReminderContext {
                recipient_name: names.get(&(row.city_id, row.recipient.clone())).cloned(),
                ..ctx
            })
            .map_err(|message| Failure { message, permanent: false });
        let message = context.and_then(|ctx| {
            let envelope = Envelope {
                from: cfg.from.clone(),
                to: vec![row.recipient.clone()],
                cc,
                message_id: mail::message_id_on(&format!("reminder-{}", row.id), &cfg.public_url),
            };
            mail::compose(&ctx, &envelope).map_err(|e| Failure { message: e.to_string(), permanent: true })
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
                db.run_blocking(|conn| Ok::<_, Error>(db::reminders::mark_sent(conn, row.id, owner, now)?))?;
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
    progress.end();
    Ok(())
}

/// The digest of the day (UTC): what happened since the last digest that was sent, and the
/// cities that cannot be reminded. Nothing is sent when there is nothing to say; at most one
/// digest a day is sent, whichever process claims it.
fn build_digest(
    conn: &mut Conn<'_>,
    cfg: &ReminderConfig,
    now: NaiveDateTime,
    cannot_remind: &[DigestCity],
) -> Result<Digest> {
    let since = db::reminders::last_digest_sent(conn)?;
    let (escalated, failed) = db::reminders::events_since(conn, since, now)?;
    let mut ids: Vec<i64> = escalated.iter().chain(&failed).map(|r| r.cycle_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let records: HashMap<i64, CycleRecord> = db::cycles::load_ids(conn, &ids)?.into_iter().map(|r| (r.id, r)).collect();
    let fields = db::cities::list_fields(conn)?;
    let ledger = Ledger::load(conn, &ids)?;
    let mut on_notice = Vec::new();
    for row in &escalated {
        let Some(record) = records.get(&row.cycle_id) else { continue };
        let tz = record.city.time_zone.tz();
        let rows = ledger.against(row.cycle_id, row.stage.trim_start_matches(ESCALATION_PREFIX));
        let note = DigestNote::Delivered(Progress::of(&cfg.schedule, &rows, tz).delivered);
        on_notice.push(digest_city(record, &fields, local_date(now.and_utc(), tz), note));
    }
    let failed = failed
        .iter()
        .map(|r| FailedMessage {
            city_slug: r.city_slug.clone(),
            city_name: records.get(&r.cycle_id).map_or_else(|| r.city_slug.clone(), |c| c.city.name.clone()),
            stage: r.stage.clone(),
            recipient: r.recipient.clone(),
            error: r.last_error.clone().unwrap_or_default(),
        })
        .collect();
    Ok(Digest {
        day: now.date(),
        public_url: cfg.public_url.trim_end_matches('/').to_owned(),
        on_notice,
        cannot_remind: cannot_remind.to_vec(),
        failed,
    })
}

/// Sends the day's digest to the Secretariat if there is something to say and no process has.
fn send_digest(
    db: &Db,
    transport: &dyn Transport,
    cfg: &ReminderConfig,
    now: NaiveDateTime,
    owner: &str,
    report: &mut SweepReport,
) -> Result<()> {
    let digest = db.run_blocking(|conn| build_digest(conn, cfg, now, &report.cannot_remind))?;
    if digest.is_empty() {
        return Ok(());
    }
    let day = digest.day;
    let until = now + TimeDelta::minutes(10);
    if !db.run_blocking(|conn| {
        Ok::<_, Error>(db::reminders::claim_digest(conn, day, owner, until, now, cfg.max_attempts)?)
    })? {
        return Ok(());
    }
    let counts = db::reminders::DigestCounts {
        on_notice: digest.on_notice.len() as i32,
        cannot_remind: digest.cannot_remind.len() as i32,
        failed: digest.failed.len() as i32,
    };
    let (subject, body) = digest.render();
    let envelope = Envelope {
        from: cfg.from.clone(),
        to: vec![cfg.secretariat_email.clone()],
        cc: Vec::new(),
        message_id: mail::message_id_on(&format!("digest-{day}"), &cfg.public_url),
    };
    let sent = mail::compose_notice(&envelope, &subject, &body).and_then(|m| transport.send(&m));
    // A digest is due once a day, so a retry waits only the first backoff step: the next sweep
    // of the same day tries again, and the next day's digest reports the same events anyway.
    let error = sent.err().map(|e| (e.to_string(), (!e.is_permanent()).then(|| now + backoff(0))));
    if let Some((message, retry)) = &error {
        tracing::warn!(digest.day = %day, retry = retry.is_some(), "digest not sent: {message}");
    }
    let outcome = match &error {
        None => Ok(()),
        Some((message, retry)) => Err((message.as_str(), *retry)),
    };
    report.digest = Some(match &outcome {
        Ok(()) => format!("sent digest {day} -> {}: {subject}", cfg.secretariat_email),
        Err((error, _)) => format!("digest {day} not sent: {error}"),
    });
    db.run_blocking(|conn| Ok::<_, Error>(db::reminders::finish_digest(conn, day, owner, counts, outcome, now)?))?;
    Ok(())
}

fn dry_run_report(
    conn: &mut Conn<'_>,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
) -> Result<SweepReport> {
    let (mut report, planned) = plan(conn, cfg, rules, now)?;
    report.cannot_remind = cannot_remind(conn, cfg, &planned, now)?;
    let (send, skip) = select_due(conn, cfg, now)?;
    report.skipped = skip.len();
    report.lines.extend(send.iter().map(|r| format!("would send {} {} -> {}", r.stage, r.city_slug, r.recipient)));
    let digest = build_digest(conn, cfg, now, &report.cannot_remind)?;
    if !digest.is_empty() {
        report.digest =
            Some(format!("would send digest {} -> {}: {}", digest.day, cfg.secretariat_email, digest.render().0));
    }
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

/// The facts of a message to the city, as they are on `today` (its local date).
#[allow(clippy::too_many_arguments)]
fn context(
    cycle: &CycleOverview,
    kind: ReminderKind,
    row: &Reminder,
    tz: chrono_tz::Tz,
    today: NaiveDate,
    cfg: &ReminderConfig,
    language: Language,
    fields: &[(CreativeField, i64)],
) -> std::result::Result<ReminderContext, String> {
    let deadline_date =
        row.stage.split('@').nth(1).and_then(|d| d.parse::<NaiveDate>().ok()).ok_or("stage key without a date")?;
    let deadline: DateTime<Utc> = crate::domain::cycles::deadline(deadline_date, tz) - TimeDelta::minutes(1);
    let r = &cycle.record;
    let extended_from = match kind {
        ReminderKind::Revision => None,
        _ => r.extended_due.filter(|d| *d == deadline_date).map(|_| r.scheduled_due),
    };
    Ok(ReminderContext {
        language,
        kind,
        city_name: r.city.name.clone(),
        field_name: field_name(fields, &r.city.field, language.code()),
        cycle_number: r.number as u32,
        period_start_year: r.period_start_year,
        period_end_year: r.period_end_year,
        deadline: deadline.with_timezone(&tz),
        extended_from,
        today,
        secretariat_email: cfg.secretariat_email.clone(),
        report_url: format!("{}/cycles/{}/draft", cfg.public_url, r.id),
        recipient_name: None,
    })
}

/// The escalation marks an active city on notice (audited with the formal reminders it received).
fn put_on_notice(conn: &mut Conn<'_>, record: &CycleRecord, delivered: &[NaiveDate], now: NaiveDateTime) -> Result<()> {
    let city = db::cities::find_by_id(conn, record.city.id)?;
    if city.status != CityStatus::Active.as_str() {
        return Ok(());
    }
    let patch = CityPatch { status: Some(CityStatus::OnNotice), ..CityPatch::default() };
    db::cities::update(conn, &city, &patch, now.date(), now)?;
    let delivered: Vec<String> = delivered.iter().map(|d| d.to_string()).collect();
    audit(
        conn,
        &Actor::system("reminder sweep"),
        now,
        "city.on_notice",
        ("city", &city.slug),
        json!({ "cycle": record.number, "formal_reminders_delivered": delivered }),
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

/// Holds back a city's reminders until a date (inclusive, not in the past) or until lifted.
pub fn suppress(
    conn: &mut Conn<'_>,
    actor: &Actor,
    city_slug: &str,
    until: Option<NaiveDate>,
    reason: &str,
    now: NaiveDateTime,
) -> Result<db::reminders::Suppression> {
    if until.is_some_and(|u| u < now.date()) {
        return Err(crate::domain::Invalid::new("until", "is in the past").into());
    }
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
#[allow(clippy::too_many_arguments, reason = "the stores, settings and run options of one sweep, each used once")]
pub fn daily(
    db: &Db,
    transport: &dyn Transport,
    cfg: &ReminderConfig,
    rules: &CycleRules,
    now: NaiveDateTime,
    owner: &str,
    dry_run: bool,
    progress: &dyn super::Progress,
) -> Result<(usize, SweepReport)> {
    let created = if dry_run {
        0
    } else {
        db.run_blocking(|conn| super::cycles::sync(conn, &Actor::system("reminder sweep"), rules, now))?.created
    };
    Ok((created, sweep(db, transport, cfg, rules, now, owner, dry_run, progress)?))
}

/// A name for this process in reminder claims: host-less, but unique enough to tell two apart.
pub fn owner_id() -> String {
    format!("pid{}-{:08x}", std::process::id(), rand::random::<u32>())
}
