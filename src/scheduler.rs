//! Cron strings to workflow functions; nothing else. `MMR_REMINDER_CRON` runs the daily job
//! (cycle sync, then the reminder sweep) and `MMR_FIXITY_CRON` the archive's fixity check, each on
//! the blocking pool.

use std::sync::Arc;

use anyhow::Context;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::db::Db;
use crate::domain::cycles::CycleRules;
use crate::mail::{Envelope, Transport};
use crate::storage::BlobStore;
use crate::workflow::reminders::{self, ReminderConfig};
use crate::workflow::render::Reporting;

/// What the reminder job needs.
pub struct ReminderJob {
    pub db: Db,
    pub transport: Arc<dyn Transport>,
    pub config: ReminderConfig,
    pub rules: CycleRules,
}

/// What the fixity job needs; failures are mailed with `envelope`.
pub struct FixityJob {
    pub db: Db,
    pub store: Arc<dyn BlobStore>,
    pub reporting: Reporting,
    pub rules: CycleRules,
    pub transport: Arc<dyn Transport>,
    pub envelope: Envelope,
}

impl ReminderJob {
    fn run(&self, owner: &str) {
        let now = chrono::Utc::now().naive_utc();
        match reminders::daily(
            &self.db,
            self.transport.as_ref(),
            &self.config,
            &self.rules,
            now,
            owner,
            false,
            &crate::workflow::Silent,
        ) {
            Ok((created, r)) => tracing::info!(
                cycles.created = created,
                planned = r.planned,
                sent = r.sent,
                failed = r.failed,
                skipped = r.skipped,
                "reminder sweep done"
            ),
            Err(e) => tracing::error!(error = %e, "reminder sweep failed"),
        }
    }
}

impl FixityJob {
    /// Completes interrupted archivings, then re-hashes the archive.
    pub fn run(&self) {
        let now = chrono::Utc::now().naive_utc();
        use crate::workflow::archive;
        if let Err(e) = archive::resume(&self.db, self.store.as_ref(), &self.reporting, &self.rules, now) {
            tracing::error!(error = %e, "completing interrupted archivings failed");
        }
        match archive::fixity(
            &self.db,
            self.store.as_ref(),
            Some((self.transport.as_ref(), &self.envelope)),
            &crate::workflow::Silent,
            now,
        ) {
            Ok(r) if r.problems.is_empty() => {
                tracing::info!(documents = r.documents, files = r.files, "fixity check done")
            }
            Ok(r) => tracing::error!(documents = r.documents, problems = r.problems.len(), "fixity check found damage"),
            Err(e) => tracing::error!(error = %e, "fixity check failed"),
        }
    }
}

/// Accepts the usual five cron fields (minute first) or six with seconds.
fn with_seconds(cron: &str) -> String {
    if cron.split_whitespace().count() == 5 { format!("0 {cron}") } else { cron.to_owned() }
}

/// A job running `work` on the blocking pool on `cron`; `None` when the cron is empty.
fn job(
    setting: &str,
    cron: &str,
    name: &'static str,
    work: Arc<dyn Fn() + Send + Sync>,
) -> anyhow::Result<Option<Job>> {
    let cron = cron.trim();
    if cron.is_empty() {
        tracing::info!("{setting} is empty: the {name} job is not scheduled");
        return Ok(None);
    }
    let scheduled = Job::new_async(with_seconds(cron).as_str(), move |_, _| {
        let work = work.clone();
        Box::pin(async move {
            let span = tracing::info_span!("job", job.name = name);
            let result = tokio::task::spawn_blocking(move || {
                let _entered = span.enter();
                work();
            })
            .await;
            if let Err(e) = result {
                tracing::error!(error = %e, job.name = name, "scheduled job panicked");
            }
        })
    })
    .with_context(|| format!("{setting}: `{cron}` is not a cron expression"))?;
    tracing::info!(cron, job.name = name, "scheduled");
    Ok(Some(scheduled))
}

/// Starts the schedule; `None` when both crons are empty. A bad expression is an error naming
/// the setting.
pub async fn start(
    reminder_cron: &str,
    reminder: ReminderJob,
    fixity_cron: &str,
    fixity: FixityJob,
) -> anyhow::Result<Option<JobScheduler>> {
    let owner = reminders::owner_id();
    let reminder = Arc::new(reminder);
    let fixity = Arc::new(fixity);
    let jobs: Vec<Job> = [
        job("MMR_REMINDER_CRON", reminder_cron, "reminders", Arc::new(move || reminder.run(&owner)))?,
        job("MMR_FIXITY_CRON", fixity_cron, "fixity", Arc::new(move || fixity.run()))?,
    ]
    .into_iter()
    .flatten()
    .collect();
    if jobs.is_empty() {
        return Ok(None);
    }
    let scheduler = JobScheduler::new().await.context("starting the scheduler")?;
    for j in jobs {
        scheduler.add(j).await.context("scheduling a job")?;
    }
    scheduler.start().await.context("starting the scheduler")?;
    Ok(Some(scheduler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crons_get_seconds() {
        assert_eq!(with_seconds("0 6 * * *"), "0 0 6 * * *");
        assert_eq!(with_seconds("*/5 * * * * *"), "*/5 * * * * *");
    }
}
