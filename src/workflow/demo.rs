//! Demonstration reports for a new installation (`mmr demo load`, run by `make run`), so that a
//! newcomer finds something in the archive, its search, OAI-PMH and the Atom feed.
//!
//! The reports are fictitious and say so in their title and first paragraph. They are taken
//! through the path a real report takes, by the same use cases the API calls: the city's draft
//! ([`super::submissions::save_draft`], with the template check), its submission, the
//! Secretariat's acceptance ([`super::review::decide`]) and the archiving
//! ([`super::archive::archive_accepted`]: a real rendering, written once to the store and public
//! from the acceptance on). Each step is audited under the caller's actor.
//!
//! The texts live in `demo/reports/<city>/` and are compiled in, so the binary loads them from any
//! directory. Loading is idempotent: a city whose report is accepted already, or whose cycle holds
//! a draft or a version of its own, is left alone and the reason is given. The server never calls
//! this.

use chrono::NaiveDateTime;

use super::cycles::CycleOverview;
use super::render::{Reporting, Sources};
use super::submissions::{Upload, UploadedFile};
use super::{Actor, archive, cycles, review, submissions};
use crate::db::cycles::CycleSelection;
use crate::db::{self, Db};
use crate::domain::cycles::{CycleRules, CycleStatus};
use crate::domain::submissions::DecisionInput;
use crate::error::{Error, Result};
use crate::render::Attachment;
use crate::storage::BlobStore;

/// One demonstration report: the city it is written for (by slug, as in `demo/cities.csv`) and
/// its sources.
#[derive(Debug, Clone, Copy)]
pub struct DemoReport {
    pub city: &'static str,
    pub report_markdown: &'static str,
    pub action_plan_markdown: &'static str,
    /// Images by file name, as the report refers to them.
    pub attachments: &'static [(&'static str, &'static [u8])],
}

macro_rules! demo_report {
    ($city:literal $(, $image:literal)*) => {
        DemoReport {
            city: $city,
            report_markdown: include_str!(concat!("../../demo/reports/", $city, "/report.md")),
            action_plan_markdown: include_str!(concat!("../../demo/reports/", $city, "/plan.md")),
            attachments: &[$(($image, include_bytes!(concat!("../../demo/reports/", $city, "/", $image)))),*],
        }
    };
}

/// The reports `mmr demo load` takes through the path: founding cities of six creative fields on
/// three continents, two of them in French, all due in 2026 under the default calendar.
pub const REPORTS: &[DemoReport] = &[
    demo_report!("chengdu", "visitors.png"),
    demo_report!("dakar"),
    demo_report!("dublin"),
    demo_report!("busan"),
    demo_report!("bologna"),
    demo_report!("jacmel"),
];

impl DemoReport {
    fn upload(&self) -> Upload {
        Upload {
            report_markdown: self.report_markdown.as_bytes().to_vec(),
            action_plan_markdown: Some(self.action_plan_markdown.as_bytes().to_vec()),
            attachments: Some(
                self.attachments
                    .iter()
                    .map(|(name, bytes)| UploadedFile { name: (*name).to_owned(), bytes: bytes.to_vec() })
                    .collect(),
            ),
        }
    }

    /// The digest its submitted version is known by.
    fn digest(&self) -> String {
        let mut attachments: Vec<Attachment> = self
            .attachments
            .iter()
            .map(|(name, bytes)| Attachment { name: (*name).to_owned(), bytes: bytes.to_vec() })
            .collect();
        attachments.sort_by(|a, b| a.name.cmp(&b.name));
        Sources {
            report_markdown: self.report_markdown.to_owned(),
            action_plan_markdown: self.action_plan_markdown.to_owned(),
            attachments,
        }
        .digest()
    }
}

/// A demonstration report now in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub city: String,
    pub city_name: String,
    pub field: String,
    pub language: String,
    pub cycle_id: i64,
    pub submission_id: i64,
    pub archive_id: i64,
    pub pdf_sha256: String,
}

/// What [`load`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// With `if_empty`, the number of archived reports that made it load nothing.
    pub archive_not_empty: Option<i64>,
    pub loaded: Vec<Loaded>,
    /// Cities left alone, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Where a city's demonstration report goes, or why it goes nowhere.
enum Target {
    /// Save the draft and submit it into this cycle.
    Draft(Box<CycleOverview>),
    /// The demonstration version is submitted already (an interrupted load): decide on it.
    Decide(i64),
    Skip(String),
}

/// Creates the cycles that have started, then takes every [`REPORTS`] entry from draft to
/// published archive entry. With `if_empty`, does nothing when the archive holds any report.
/// Blocking (it renders); call it off the async threads.
pub fn load(
    db: &Db,
    store: &dyn BlobStore,
    kit: &Reporting,
    rules: &CycleRules,
    actor: &Actor,
    if_empty: bool,
    now: NaiveDateTime,
) -> Result<LoadSummary> {
    let mut summary = LoadSummary::default();
    if if_empty {
        let archived = db.run_blocking(|conn| Ok::<_, Error>(db::archive::count(conn)?))?;
        if archived > 0 {
            summary.archive_not_empty = Some(archived);
            return Ok(summary);
        }
    }
    db.run_blocking(|conn| cycles::sync(conn, actor, rules, now))?;
    for report in REPORTS {
        let target = db.run_blocking(|conn| target(conn, rules, report, now))?;
        let submission_id = match target {
            Target::Skip(reason) => {
                summary.skipped.push((report.city.to_owned(), reason));
                continue;
            }
            Target::Decide(id) => id,
            Target::Draft(cycle) => db.run_blocking(|conn| {
                submissions::save_draft(conn, actor, kit, &cycle, &report.upload(), now)?;
                Ok::<_, Error>(submissions::submit(conn, actor, rules, kit, cycle.record.id, None, now)?.submission.id)
            })?,
        };
        db.run_blocking(|conn| review::decide(conn, actor, rules, submission_id, &DecisionInput::Accept, now))?;
        let entry = archive::archive_accepted(db, store, kit, rules, actor, submission_id, now)?;
        let loaded = db.run_blocking(|conn| {
            let found = review::get(conn, rules, now, submission_id)?;
            let city = super::cities::get(conn, &found.cycle.record.city.slug)?;
            Ok::<_, Error>(Loaded {
                city: city.slug,
                city_name: city.name,
                field: city.field,
                language: city.language,
                cycle_id: found.cycle.record.id,
                submission_id,
                archive_id: entry.id,
                pdf_sha256: entry.pdf_sha256.clone(),
            })
        })?;
        tracing::info!(
            city.slug = %loaded.city,
            archive.id = loaded.archive_id,
            submission.id = submission_id,
            "demonstration report archived and published"
        );
        summary.loaded.push(loaded);
    }
    Ok(summary)
}

/// The cycle a city's demonstration report belongs in: its earliest cycle that is due or past
/// due and not accepted, unless that cycle holds work of the city's own.
fn target(conn: &mut db::Conn<'_>, rules: &CycleRules, report: &DemoReport, now: NaiveDateTime) -> Result<Target> {
    let city = match super::cities::get(conn, report.city) {
        Ok(city) => city,
        Err(Error::NotFound { .. }) => return Ok(Target::Skip("not in the registry (mmr cities import)".into())),
        Err(e) => return Err(e),
    };
    let sel = CycleSelection { city_id: Some(city.id), include_withdrawn: true, ..CycleSelection::default() };
    let mut all = cycles::overview(conn, rules, now.and_utc(), &sel)?;
    all.sort_by_key(|c| c.record.number);
    let accepted = all.iter().any(|c| c.state.status == CycleStatus::Accepted);
    let Some(cycle) = all
        .into_iter()
        .find(|c| !matches!(c.state.status, CycleStatus::Accepted | CycleStatus::Upcoming | CycleStatus::Closed))
    else {
        return Ok(Target::Skip(if accepted {
            "its report is accepted already".into()
        } else {
            "no cycle of its is open for a report (see MMR_FIRST_DUE_YEAR)".into()
        }));
    };
    let digest = report.digest();
    let latest = cycle.record.submissions.last().map(|s| s.id);
    match cycle.state.status {
        CycleStatus::Open | CycleStatus::Overdue => {}
        CycleStatus::Submitted => {
            let ours = match latest {
                Some(id) => review::get(conn, rules, now, id)?.version.submission.bundle_sha256 == digest,
                None => false,
            };
            return Ok(match (ours, latest) {
                (true, Some(id)) => Target::Decide(id),
                _ => Target::Skip("a version of its own awaits review".into()),
            });
        }
        _ => return Ok(Target::Skip("its report is under revision".into())),
    }
    if let Some(draft) = db::submissions::draft(conn, cycle.record.id)?
        && draft.report_markdown != report.report_markdown
    {
        return Ok(Target::Skip("it has a draft of its own".into()));
    }
    Ok(Target::Draft(Box::new(cycle)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{CheckRequest, check};

    /// Every demonstration report passes the template check without a single finding, so the
    /// demo shows a clean report (and `load` never fails on its own content).
    #[test]
    fn every_demo_report_passes_the_template_check_cleanly() {
        let kit = Reporting::default();
        for report in REPORTS {
            let attachments: Vec<Attachment> = report
                .attachments
                .iter()
                .map(|(name, bytes)| Attachment { name: (*name).to_owned(), bytes: bytes.to_vec() })
                .collect();
            let findings = check(&CheckRequest {
                report_markdown: report.report_markdown.as_bytes(),
                action_plan_markdown: Some(report.action_plan_markdown.as_bytes()),
                attachments: &attachments,
                template: &kit.template,
                limits: &kit.limits,
                previous_items: &[],
            });
            assert!(findings.is_empty(), "{}: {findings:?}", report.city);
            assert!(report.report_markdown.contains("fictitious content generated for the MMR system's demo"));
            assert!(
                report.action_plan_markdown.contains("fictitious content generated for the MMR system's demo")
                    || report.action_plan_markdown.contains("contenu fictif généré pour la démo du système MMR")
            );
        }
    }

    /// The README walkthrough's sample (Östersund, never loaded) passes the check too.
    #[test]
    fn the_walkthrough_sample_passes_the_template_check() {
        let kit = Reporting::default();
        let attachments = [Attachment {
            name: "map.png".into(),
            bytes: include_bytes!("../../demo/reports/ostersund/map.png").to_vec(),
        }];
        let findings = check(&CheckRequest {
            report_markdown: include_bytes!("../../demo/reports/ostersund/report.md"),
            action_plan_markdown: Some(include_bytes!("../../demo/reports/ostersund/plan.md")),
            attachments: &attachments,
            template: &kit.template,
            limits: &kit.limits,
            previous_items: &[],
        });
        assert!(findings.is_empty(), "{findings:?}");
        assert!(REPORTS.iter().all(|r| r.city != "ostersund"));
    }
}
