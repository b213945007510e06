//! Cron strings to workflow functions; nothing else. `MMR_REMINDER_CRON` runs the daily job
//! (cycle sync, then the reminder sweep) on the blocking pool.

use std::sync::Arc;

use anyhow::Context;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::db::Db;
use crate::domain::cycles::CycleRules;
use crate::mail::Transport;
use crate::workflow::reminders::{self, ReminderConfig};

/// What the reminder job needs.
pub struct ReminderJob {
    pub db: Db,
    pub transport: Arc<dyn Transport>,
    pub config: ReminderConfig,
    pub rules: CycleRules,
}

/// Accepts the usual five cron fields (minute first) or six with seconds.
fn with_seconds(cron: &str) -> String {
    if cron.split_whitespace().count() == 5 { format!("0 {cron}") } else { cron.to_owned() }
}

/// Starts the schedule; `None` when `cron` is empty (the schedule is off). A bad expression is
/// an error naming the setting.
pub async fn start(cron: &str, job: ReminderJob) -> anyhow::Result<Option<JobScheduler>> {
    let cron = cron.trim();
    if cron.is_empty() {
        tracing::info!("MMR_REMINDER_CRON is empty: reminders are not scheduled");
        return Ok(None);
    }
    let job = Arc::new(job);
    let owner = reminders::owner_id();
    let scheduled = Job::new_async(with_seconds(cron).as_str(), move |_, _| {
        let (job, owner) = (job.clone(), owner.clone());
        Box::pin(async move {
            let span = tracing::info_span!("reminder_job");
            let result = tokio::task::spawn_blocking(move || {
                let _entered = span.enter();
                let now = chrono::Utc::now().naive_utc();
                reminders::daily(&job.db, job.transport.as_ref(), &job.config, &job.rules, now, &owner, false)
            })
            .await;
            match result {
                Ok(Ok((created, r))) => tracing::info!(
                    cycles.created = created,
                    planned = r.planned,
                    sent = r.sent,
                    failed = r.failed,
                    skipped = r.skipped,
                    "reminder sweep done"
                ),
                Ok(Err(e)) => tracing::error!(error = %e, "reminder sweep failed"),
                Err(e) => tracing::error!(error = %e, "reminder sweep panicked"),
            }
        })
    })
    .with_context(|| format!("MMR_REMINDER_CRON: `{cron}` is not a cron expression"))?;
    let scheduler = JobScheduler::new().await.context("starting the scheduler")?;
    scheduler.add(scheduled).await.context("scheduling the reminder job")?;
    scheduler.start().await.context("starting the scheduler")?;
    tracing::info!(cron, "reminders scheduled");
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
