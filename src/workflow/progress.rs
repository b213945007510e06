//! How far a long job has got (`mmr fixity`, `mmr remind`, `mmr history import`, `mmr cities
//! import`): the job says how many steps it has, then each one it finishes. The command line
//! draws a bar (indicatif) when its standard error is a terminal and nothing otherwise; its
//! summary is printed either way. The server's scheduled runs report to [`Silent`].

/// Where a job reports its steps.
pub trait Progress: Sync {
    /// The job has `total` steps, each one of `what` (e.g. "archive entries").
    fn begin(&self, what: &str, total: u64);
    /// One more step is done.
    fn step(&self);
    /// The job's steps are over.
    fn end(&self);
}

/// Reports nowhere.
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: u64) {}
    fn step(&self) {}
    fn end(&self) {}
}
