//! Admission of renderings (DESIGN.md §6, "Expensive work is admitted under a budget"): how many
//! renderings run at once, how long one may wait for its turn, and how often one caller may ask
//! for a preview. The work budget of a single rendering (blocks, headings, links, pages) is the
//! renderer's own ([`crate::render::Limits`]); this module bounds how many such budgets are spent
//! at the same time.
//!
//! - [`RenderGate`]: at most `concurrency` renderings at once in this process, whatever asks for
//!   them (a preview, a draft or version PDF, an acceptance's archiving, a verification). A
//!   rendering that finds them all taken waits, in line, for at most the queue deadline, then is
//!   refused with [`Error::Busy`] (503 `render_busy` with `Retry-After`). Memory is the reason:
//!   the largest document the limits admit peaks at a few hundred megabytes while it is laid out
//!   (BENCHMARKS.md, "Render admission"), so the default concurrency is the number of cores,
//!   lowered so that that many renderings fit in the machine's memory.
//! - [`CallerLimit`]: a caller (an API token) has one preview rendering at a time and a small
//!   rate of them (a token bucket); beyond it, [`Error::RateLimited`] (429 with `Retry-After`).
//!   Previews are the one rendering any token can ask for at will with a body of its choice.
//!
//! After a large rendering the allocator's free memory is handed back to the system
//! (`malloc_trim`): glibc otherwise keeps the arenas a rendering grew, and a few large previews
//! left the server holding gigabytes it no longer used.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// What the gate admits: renderings at once, and how long one may wait for its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderBudget {
    /// Renderings at once (at least 1).
    pub concurrency: usize,
    /// How long a rendering waits for a free slot before it is refused.
    pub queue: Duration,
}

/// The memory one rendering at the limits may need while it is laid out, with a margin; the
/// default concurrency keeps that many within the machine's memory.
pub const MEMORY_PER_RENDER: u64 = 768 * 1024 * 1024;

/// How long a rendering waits for its turn by default (`MMR_RENDER_QUEUE_SECS`).
pub const DEFAULT_QUEUE: Duration = Duration::from_secs(10);

impl Default for RenderBudget {
    fn default() -> Self {
        RenderBudget { concurrency: default_concurrency(), queue: DEFAULT_QUEUE }
    }
}

/// The number of cores, lowered so that each rendering at once has [`MEMORY_PER_RENDER`] of the
/// machine's memory; at least 1.
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let by_memory = total_memory().map_or(usize::MAX, |bytes| (bytes / MEMORY_PER_RENDER) as usize);
    cores.min(by_memory).max(1)
}

/// `MemTotal` of `/proc/meminfo`, in bytes; `None` where it cannot be read.
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The renderings running in this process (module doc). One per server, shared by every
/// rendering through [`super::render::Reporting`].
#[derive(Debug)]
pub struct RenderGate {
    budget: RenderBudget,
    running: Mutex<usize>,
    freed: Condvar,
    /// Renderings admitted since the start, for tests and metrics.
    admitted: AtomicU64,
}

impl Default for RenderGate {
    fn default() -> Self {
        RenderGate::new(RenderBudget::default())
    }
}

impl RenderGate {
    pub fn new(budget: RenderBudget) -> Self {
        let budget = RenderBudget { concurrency: budget.concurrency.max(1), ..budget };
        RenderGate { budget, running: Mutex::new(0), freed: Condvar::new(), admitted: AtomicU64::new(0) }
    }

    pub fn budget(&self) -> RenderBudget {
        self.budget
    }

    /// How many renderings were admitted since the start.
    pub fn admitted(&self) -> u64 {
        self.admitted.load(Ordering::Relaxed)
    }

    /// Waits (blocking) for a free slot, for at most the queue deadline; the slot is held until
    /// the permit is dropped.
    pub fn admit(&self) -> Result<RenderPermit<'_>> {
        let deadline = Instant::now() + self.budget.queue;
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= self.budget.concurrency {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let waited = self.budget.queue.as_secs();
                return Err(Error::Busy {
                    retry_after_secs: waited.max(1),
                    message: format!(
                        "the server is rendering {} documents at once, its limit (MMR_RENDER_CONCURRENCY), and none \
                         finished within {waited} s (MMR_RENDER_QUEUE_SECS); try again shortly",
                        self.budget.concurrency
                    ),
                });
            }
            running = self.freed.wait_timeout(running, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        *running += 1;
        self.admitted.fetch_add(1, Ordering::Relaxed);
        Ok(RenderPermit { gate: self })
    }
}

/// A slot of the [`RenderGate`], given back when dropped.
#[derive(Debug)]
pub struct RenderPermit<'a> {
    gate: &'a RenderGate,
}

impl Drop for RenderPermit<'_> {
    fn drop(&mut self) {
        let mut running = self.gate.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        self.gate.freed.notify_one();
    }
}

/// Hands the allocator's free memory back to the system after a rendering of at least
/// `input_bytes` of Markdown; below [`TRIM_AFTER_BYTES`] there is too little to matter.
pub fn trim_after(input_bytes: usize) {
    if input_bytes >= TRIM_AFTER_BYTES {
        release_free_memory();
    }
}

/// Renderings of this much Markdown or more are followed by [`release_free_memory`].
pub const TRIM_AFTER_BYTES: usize = 256 * 1024;

/// `malloc_trim(0)`: glibc returns the free pages of every arena to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim takes no pointer and only walks the allocator's own free lists, under
    // its locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

/// The limit on one caller's previews: one at a time, and `per_minute` of them a minute (a token
/// bucket holding a minute's worth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerRate {
    pub per_minute: u32,
}

/// Previews a caller may ask for in a minute by default (`MMR_PREVIEW_RATE`).
pub const DEFAULT_PREVIEW_RATE: u32 = 10;

impl Default for CallerRate {
    fn default() -> Self {
        CallerRate { per_minute: DEFAULT_PREVIEW_RATE }
    }
}

/// The callers bucketed: beyond this many, idle full buckets are forgotten.
const REMEMBERED_CALLERS: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    busy: bool,
}

/// Each caller's previews (module doc), by caller key (e.g. `token:<id>`). One per server.
#[derive(Debug)]
pub struct CallerLimit {
    rate: CallerRate,
    callers: Mutex<HashMap<String, Bucket>>,
}

impl Default for CallerLimit {
    fn default() -> Self {
        CallerLimit::new(CallerRate::default())
    }
}

impl CallerLimit {
    pub fn new(rate: CallerRate) -> Self {
        CallerLimit { rate: CallerRate { per_minute: rate.per_minute.max(1) }, callers: Mutex::new(HashMap::new()) }
    }

    /// Takes one of `caller`'s previews, refused while another of theirs runs or when their
    /// minute's worth is spent; held until the permit is dropped.
    pub fn begin(self: &Arc<Self>, caller: &str) -> Result<CallerPermit> {
        let capacity = f64::from(self.rate.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut callers = self.callers.lock().unwrap_or_else(PoisonError::into_inner);
        if callers.len() >= REMEMBERED_CALLERS {
            callers.retain(|_, b| b.busy || b.tokens + b.at.elapsed().as_secs_f64() * per_second < capacity);
        }
        let bucket = callers.entry(caller.to_owned()).or_insert(Bucket { tokens: capacity, at: now, busy: false });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(capacity);
        bucket.at = now;
        if bucket.busy {
            return Err(Error::RateLimited {
                retry_after_secs: 1,
                message: "this token already has a preview being rendered; one at a time".to_owned(),
            });
        }
        if bucket.tokens < 1.0 {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64;
            return Err(Error::RateLimited {
                retry_after_secs: wait,
                message: format!(
                    "this token has asked for {} previews in the last minute, its limit (MMR_PREVIEW_RATE)",
                    self.rate.per_minute
                ),
            });
        }
        bucket.tokens -= 1.0;
        bucket.busy = true;
        Ok(CallerPermit { limit: self.clone(), caller: caller.to_owned() })
    }
}

/// One caller's preview in progress; dropping it lets them ask for the next.
#[derive(Debug)]
pub struct CallerPermit {
    limit: Arc<CallerLimit>,
    caller: String,
}

impl Drop for CallerPermit {
    fn drop(&mut self) {
        let mut callers = self.limit.callers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = callers.get_mut(&self.caller) {
            bucket.busy = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_admits_its_concurrency_and_refuses_after_the_queue_deadline() {
        let gate = RenderGate::new(RenderBudget { concurrency: 2, queue: Duration::from_millis(20) });
        let (a, b) = (gate.admit().unwrap(), gate.admit().unwrap());
        match gate.admit() {
            Err(Error::Busy { retry_after_secs, message }) => {
                assert_eq!(retry_after_secs, 1);
                assert!(message.contains("MMR_RENDER_CONCURRENCY"), "{message}");
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(a);
        let c = gate.admit().expect("a freed slot is taken");
        drop((b, c));
        assert_eq!(gate.admitted(), 3);
    }

    #[test]
    fn a_waiting_rendering_gets_the_slot_freed_within_its_deadline() {
        let gate = Arc::new(RenderGate::new(RenderBudget { concurrency: 1, queue: Duration::from_secs(5) }));
        let held = gate.admit().unwrap();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.admit().map(|_| ()).is_ok())
        };
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn a_caller_has_one_preview_at_a_time_and_a_rate() {
        let limit = Arc::new(CallerLimit::new(CallerRate { per_minute: 2 }));
        let first = limit.begin("token:1").unwrap();
        assert!(matches!(limit.begin("token:1"), Err(Error::RateLimited { .. })), "one at a time");
        let other = limit.begin("token:2").expect("another caller is not held up");
        drop(first);
        drop(limit.begin("token:1").unwrap());
        match limit.begin("token:1") {
            Err(Error::RateLimited { retry_after_secs, message }) => {
                assert!((20..=30).contains(&retry_after_secs), "{retry_after_secs}");
                assert!(message.contains("MMR_PREVIEW_RATE"), "{message}");
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        drop(other);
    }
}
