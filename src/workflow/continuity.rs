//! Continuity from one report to the next (DESIGN.md §2): a new report starts from the
//! template's skeleton in the city's language, and reports against the items of the action
//! plan accepted for the city's previous cycle, which the reviewer also sees beside a version.
//!
//! The previous cycle is the city's cycle numbered just before; its plan counts only when the
//! latest decision on it is an acceptance (the accepted version is then its latest). A round
//! known only from history (no Markdown version) has no plan to carry forward.

use chrono::NaiveDateTime;

use super::cycles::Access;
use super::render::Reporting;
use crate::db::cycles::{CycleRecord, CycleSelection};
use crate::db::{self, Conn};
use crate::domain::auth::Principal;
use crate::domain::cycles::{CycleRules, Decision};
use crate::error::Result;
use crate::render::{self, PlanItem};

/// The accepted action plan of a city's previous cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousPlan {
    pub cycle_id: i64,
    pub period_start_year: i32,
    pub period_end_year: i32,
    /// The accepted version.
    pub submission_id: i64,
    pub version: i32,
    pub action_plan_markdown: String,
}

/// A draft to start a cycle's report from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSkeleton {
    /// `en` or `fr`: the city's language.
    pub language: &'static str,
    pub report_markdown: String,
    pub action_plan_markdown: String,
    /// The plan the progress part reports against, when there is one.
    pub previous: Option<PreviousPlan>,
    /// Its items, as listed in the progress part.
    pub items: Vec<PlanItem>,
}

/// The action plan accepted for the cycle before `cycle`, if the city has one.
pub fn previous_plan(conn: &mut Conn<'_>, cycle: &CycleRecord) -> Result<Option<PreviousPlan>> {
    let selection =
        CycleSelection { city_id: Some(cycle.city.id), include_withdrawn: true, ..CycleSelection::default() };
    let previous =
        db::cycles::load(conn, &selection)?.into_iter().filter(|c| c.number < cycle.number).max_by_key(|c| c.number);
    let Some(previous) = previous else { return Ok(None) };
    if previous.latest_decision != Some(Decision::Accepted) {
        return Ok(None);
    }
    let Some(fact) = previous.submissions.last() else { return Ok(None) };
    let Some(accepted) = db::submissions::submission(conn, fact.id)? else { return Ok(None) };
    Ok(Some(PreviousPlan {
        cycle_id: previous.id,
        period_start_year: previous.period_start_year,
        period_end_year: previous.period_end_year,
        submission_id: accepted.id,
        version: accepted.version,
        action_plan_markdown: accepted.action_plan_markdown,
    }))
}

/// The items of the action plan accepted for the cycle before `cycle_id`, which the template
/// check holds the report's progress part to; none when there is no such plan. A plan that can
/// no longer be read (limits lowered since) is logged and counts as none, so it never stops a
/// city from saving.
pub fn previous_items(conn: &mut Conn<'_>, kit: &Reporting, cycle_id: i64) -> Result<Vec<PlanItem>> {
    let Some(record) = db::cycles::load_ids(conn, &[cycle_id])?.pop() else { return Ok(Vec::new()) };
    let Some(plan) = previous_plan(conn, &record)? else { return Ok(Vec::new()) };
    Ok(render::plan_items(&plan.action_plan_markdown, &kit.template, &kit.limits).unwrap_or_else(|e| {
        tracing::warn!(cycle.id = cycle_id, submission.id = plan.submission_id, error = %e, "the previous action plan cannot be read; its items are not checked");
        Vec::new()
    }))
}

/// The skeleton of cycle `cycle_id`'s report in its city's language, with the previous accepted
/// plan's items in its progress part, for a `caller` who may read the city's work (as its draft:
/// [`super::cycles::for_caller`]). Nothing is stored: the city saves it as its draft.
pub fn skeleton(
    conn: &mut Conn<'_>,
    rules: &CycleRules,
    kit: &Reporting,
    caller: &Principal,
    cycle_id: i64,
    now: NaiveDateTime,
) -> Result<DraftSkeleton> {
    let cycle = super::cycles::for_caller(conn, rules, caller, cycle_id, Access::Read, now)?;
    let language = cycle.record.city.language.as_str();
    let previous = previous_plan(conn, &cycle.record)?;
    let items = match &previous {
        Some(plan) => render::plan_items(&plan.action_plan_markdown, &kit.template, &kit.limits)?,
        None => Vec::new(),
    };
    let skeleton = render::skeleton(&kit.template, language, previous.as_ref().map(|_| items.as_slice()));
    Ok(DraftSkeleton {
        language,
        report_markdown: skeleton.report_markdown,
        action_plan_markdown: skeleton.action_plan_markdown,
        previous,
        items,
    })
}
