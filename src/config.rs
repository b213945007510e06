//! Command line and configuration: every setting is a flag with an environment fallback, and its
//! doc comment here is its documentation (`mmr --help`, `mmr serve --help`). A bad value stops the
//! program at start with a message naming the setting.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::cycles::CycleRules;
use crate::domain::reminders::{ReminderSchedule, ScheduleDays, parse_days};
use crate::http::{ConnectionLimits, RateLimit, TrustedProxies};
use crate::workflow::reminders::ReminderConfig;

/// The Secretariat's address when `MMR_SECRETARIAT_EMAIL` is not set.
pub const DEFAULT_SECRETARIAT_EMAIL: &str = "secretariat@mmr.localhost";

#[derive(Debug, Parser)]
#[command(name = "mmr", version, about = "Membership Monitoring Reports for the UNESCO Creative Cities Network")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Directory for the embedded SQLite database and other local files.
    #[arg(long, env = "MMR_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`. Default: a SQLite file
    /// `mmr.sqlite3` in the data directory.
    #[arg(long, env = "MMR_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where archived PDFs and source bundles are kept, write-once: a directory path (or
    /// `file://` URL). Default: `archive/` in the data directory.
    #[arg(long, env = "MMR_ARCHIVE_URL", global = true)]
    pub archive_url: Option<String>,
    /// Log format on standard error: `text` for people, `json` for log collectors. The level
    /// comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "MMR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub calendar: CalendarOpts,
    #[command(flatten)]
    pub reminders: ReminderOpts,
    /// Seconds that parsing one received PDF (`mmr history import`, `POST /history/import`) may
    /// take; a PDF that takes longer is refused as a bad line.
    #[arg(long, env = "MMR_RECEIVED_PDF_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub received_pdf_seconds: u64,
}

impl GlobalOpts {
    /// The time budget of parsing one received PDF.
    pub fn received_pdf_budget(&self) -> Duration {
        Duration::from_secs(self.received_pdf_seconds)
    }
}

/// The reporting calendar (DESIGN.md §2), shared by the server and the `cycles` and `remind`
/// commands.
#[derive(Debug, Clone, Args)]
pub struct CalendarOpts {
    /// Day of the due year on which reports are due, `MM-DD`, at 23:59 in each city's time zone.
    #[arg(long, env = "MMR_DUE_DAY", default_value = "11-30", value_parser = parse_due_day, global = true)]
    pub due_day: (u32, u32),
    /// Days before the deadline that the submission window opens.
    #[arg(long, env = "MMR_WINDOW_DAYS", default_value_t = 180, value_parser = clap::value_parser!(u32).range(0..=1460), global = true)]
    pub window_days: u32,
    /// The first due year the calendar creates cycles for: `mmr cycles sync` and the sweep create
    /// no cycle due earlier (those rounds predate the system). Past rounds enter only through
    /// `mmr history import`, whatever their year, and are never reminded.
    #[arg(long, env = "MMR_FIRST_DUE_YEAR", default_value_t = 2026, value_parser = clap::value_parser!(i32).range(2008..=2100), global = true)]
    pub first_due_year: i32,
}

impl CalendarOpts {
    pub fn rules(&self) -> CycleRules {
        CycleRules {
            due_month: self.due_day.0,
            due_day: self.due_day.1,
            window_days: self.window_days,
            first_due_year: self.first_due_year,
        }
    }
}

fn parse_due_day(raw: &str) -> Result<(u32, u32), String> {
    CycleRules::parse_due_day(raw).map_err(|e| e.message)
}

/// Reminders and outgoing mail, shared by the server and `mmr remind`.
#[derive(Debug, Clone, Args)]
pub struct ReminderOpts {
    /// SMTP server for outgoing mail: `smtp://host:port` (plain, a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`. Unset:
    /// each message is written as an .eml file in `<data dir>/outbox`.
    #[arg(long, env = "MMR_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// The sender of reminders.
    #[arg(
        long,
        env = "MMR_MAIL_FROM",
        default_value = "UNESCO Creative Cities Network <no-reply@mmr.localhost>",
        global = true
    )]
    pub mail_from: String,
    /// The public base URL of this service, for links in messages.
    #[arg(long, env = "MMR_PUBLIC_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub public_url: String,
    /// Where escalations go (a city silent after the formal reminders); also the OAI-PMH
    /// repository's `adminEmail`.
    #[arg(long, env = "MMR_SECRETARIAT_EMAIL", default_value = DEFAULT_SECRETARIAT_EMAIL, global = true)]
    pub secretariat_email: String,
    /// Days before the deadline on which reminders go to the city.
    #[arg(long, env = "MMR_REMINDER_DAYS_BEFORE", default_value = "180,90,30,7", value_parser = days("MMR_REMINDER_DAYS_BEFORE"), global = true)]
    pub reminder_days_before: DayList,
    /// Days after the deadline of the formal written reminders (copied to the field coordinator).
    #[arg(long, env = "MMR_FORMAL_REMINDER_DAYS", default_value = "14,45", value_parser = days("MMR_FORMAL_REMINDER_DAYS"), global = true)]
    pub formal_reminder_days: DayList,
    /// Days after the deadline from which a city may be put on notice (reported to the
    /// Secretariat in its daily digest), once every formal reminder was delivered to it.
    #[arg(long, env = "MMR_ESCALATION_DAYS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1460), global = true)]
    pub escalation_days: u32,
    /// Days a city has to answer its last delivered formal reminder before it is put on notice
    /// (also the least time between two formal reminders sent by catch-up).
    #[arg(long, env = "MMR_NOTICE_GAP_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=365), global = true)]
    pub notice_gap_days: u32,
    /// Days before a revision deadline on which reminders go to the city.
    #[arg(long, env = "MMR_REVISION_REMINDER_DAYS_BEFORE", default_value = "7", value_parser = days("MMR_REVISION_REMINDER_DAYS_BEFORE"), global = true)]
    pub revision_days_before: DayList,
    /// Days after a revision deadline of a reminder copied to the field coordinator.
    #[arg(long, env = "MMR_REVISION_REMINDER_DAYS_AFTER", default_value = "14", value_parser = days("MMR_REVISION_REMINDER_DAYS_AFTER"), global = true)]
    pub revision_days_after: DayList,
    /// Attempts before a message that keeps failing is left failed in the ledger.
    #[arg(long, env = "MMR_REMINDER_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(i32).range(1..=50), global = true)]
    pub max_attempts: i32,
}

/// A list of day counts, `180,90,30,7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayList(pub Vec<u32>);

fn days(setting: &'static str) -> impl Fn(&str) -> Result<DayList, String> + Clone {
    move |raw| parse_days(setting, raw).map(DayList).map_err(|e| e.message)
}

impl ReminderOpts {
    /// The sweep's configuration; an inconsistent schedule is an error naming the setting.
    pub fn config(&self) -> Result<ReminderConfig, crate::domain::Invalid> {
        let days = ScheduleDays {
            before: self.reminder_days_before.0.clone(),
            formal_after: self.formal_reminder_days.0.clone(),
            escalation_after: self.escalation_days,
            revision_before: self.revision_days_before.0.clone(),
            revision_after: self.revision_days_after.0.clone(),
            notice_gap: self.notice_gap_days,
        };
        let schedule = ReminderSchedule::new(&days).map_err(|e| crate::domain::Invalid {
            field: "MMR_ESCALATION_DAYS / MMR_FORMAL_REMINDER_DAYS",
            message: e.message,
        })?;
        crate::domain::contacts::Email::parse(&self.secretariat_email)
            .map_err(|e| crate::domain::Invalid::new("MMR_SECRETARIAT_EMAIL", e.message))?;
        Ok(ReminderConfig {
            schedule,
            from: self.mail_from.clone(),
            public_url: self.public_url.clone(),
            secretariat_email: self.secretariat_email.clone(),
            max_attempts: self.max_attempts,
        })
    }
}

impl GlobalOpts {
    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("mmr.sqlite3").display()))
    }

    /// Where archived reports are stored: `MMR_ARCHIVE_URL`, else `archive/` in the data directory.
    pub fn archive_url(&self) -> String {
        self.archive_url.clone().unwrap_or_else(|| self.data_dir.join("archive").display().to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (applies pending migrations first).
    Serve(ServeOpts),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage member cities.
    Cities {
        #[command(subcommand)]
        command: CitiesCommand,
    },
    /// Past reporting rounds from the Secretariat's records.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// Reporting cycles.
    Cycles {
        #[command(subcommand)]
        command: CyclesCommand,
    },
    /// Plan the reminder ledger and send what is due (the server does this on MMR_REMINDER_CRON).
    Remind {
        /// Act as if now were the start of this date (YYYY-MM-DD, UTC).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Print what would be sent; write and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Render a report (and its action plan) to an archival PDF; needs no database unless
    /// `--city` asks for a city's details from it.
    Render(RenderOpts),
    /// Render an archived report's source bundle (`GET /api/v1/archive/{id}/source.zip`) again,
    /// as its manifest says, to compare with the archived PDF's SHA-256; needs no database. A
    /// bundle made by another renderer version gives other bytes: build the release that carries
    /// it (README, "Renderer versions").
    RenderBundle {
        /// The source bundle (ZIP).
        bundle: PathBuf,
        /// Where to write the PDF.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Re-hash every archived file and report missing or changed ones (non-zero exit, audit
    /// event, and an e-mail to MMR_SECRETARIAT_EMAIL); first completes interrupted archivings.
    /// The server runs it on MMR_FIXITY_CRON.
    Fixity,
    /// Copy the running installation (SQLite database and archive) into DIR, to restore on its own.
    ///
    /// DIR receives `mmr.sqlite3`, a consistent copy of the SQLite database taken while the server goes on writing; `archive/`,
    /// the archived files it names (checked against their SHA-256), when the archive is a local
    /// directory; and `manifest.json` (written last) listing every archived file with its SHA-256
    /// and size. For an S3 archive the manifest lists the files without copying them. On
    /// PostgreSQL use pg_dump instead. To restore, copy `mmr.sqlite3` and `archive/` into an empty
    /// data directory.
    Backup {
        /// A new or empty directory to write the backup into.
        dir: PathBuf,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the Secretariat's staff addresses: whoever gets a sign-in link at one signs in to
    /// the pages as the Secretariat.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Print the API's OpenAPI 3.1 document (what `GET /api/v1/openapi.json` serves), e.g. to
    /// generate a client; needs no database.
    Openapi,
    /// Demonstration content for a new installation (`make run`); `mmr serve` never adds it.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Debug, Args)]
pub struct ServeOpts {
    /// Address and port to listen on.
    #[arg(long, env = "MMR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "MMR_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_body_bytes: u32,
    #[command(flatten)]
    pub admission: AdmissionOpts,
    /// Serve the Prometheus metrics (`/metrics`) on this address instead of the main one, e.g. an
    /// interface only the monitoring can reach.
    #[arg(long, env = "MMR_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// When to sync cycles and send reminders: a cron expression in UTC (5 fields, or 6 with
    /// seconds). Empty turns the schedule off.
    #[arg(long, env = "MMR_REMINDER_CRON", default_value = "0 6 * * *")]
    pub reminder_cron: String,
    /// When to re-hash the archive (fixity check): a cron expression in UTC. Default: Sundays
    /// at 03:00. Empty turns it off.
    #[arg(long, env = "MMR_FIXITY_CRON", default_value = "0 3 * * 0")]
    pub fixity_cron: String,
    /// Requests a minute each client address may make without a valid token (the TCP peer's
    /// address, or the one a trusted proxy forwarded: see --trusted-proxies; IPv6 addresses count
    /// by their /64 network). Beyond it the answer is 429 with `Retry-After`. Requests with a
    /// valid token are not counted, but an address already refused is refused before any token is
    /// looked up; the health probes are never limited. 0 turns limiting off.
    #[arg(long, env = "MMR_RATE_LIMIT", default_value_t = 120, value_parser = clap::value_parser!(u32).range(0..=60_000))]
    pub rate_limit: u32,
    /// Requests an address may make at once, before the per-minute rate applies.
    #[arg(long, env = "MMR_RATE_LIMIT_BURST", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate_limit_burst: u32,
    /// Seconds a client has to send a request's head (request line and headers) from its first
    /// byte, and a new connection its first head; then the connection is closed.
    #[arg(long, env = "MMR_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// Seconds a keep-alive connection may wait for its next request, or a response may stall
    /// (a client that stopped reading), before the connection is closed.
    #[arg(long, env = "MMR_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,
    /// Seconds from a request's head to its response's head (reading the body and handling it);
    /// then 408. A download's streaming is not counted.
    #[arg(long, env = "MMR_REQUEST_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub request_timeout_secs: u64,
    /// Connections served at once; further ones wait to be accepted.
    #[arg(long, env = "MMR_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Milliseconds a request waits for a database connection before answering 503 (the store
    /// is down or every connection is busy).
    #[arg(long, env = "MMR_DATABASE_CHECKOUT_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub database_checkout_timeout_ms: u64,
    /// The reverse proxies in front of the server, as comma-separated networks
    /// (`10.0.0.0/8,2001:db8::/32`; a bare address is one host). From these peers the client's
    /// address is the right-most address of `X-Forwarded-For` that is not itself a trusted proxy;
    /// it is what the rate limit counts, the logs show and the audit log records. From any other
    /// peer the header is ignored. Empty (the default): no proxy is trusted.
    #[arg(long, env = "MMR_TRUSTED_PROXIES", default_value = "", value_parser = parse_trusted_proxies)]
    pub trusted_proxies: TrustedProxies,
}

fn parse_trusted_proxies(raw: &str) -> Result<TrustedProxies, String> {
    raw.parse()
}

impl ServeOpts {
    /// The connection timeouts and cap.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_connections: self.max_connections as usize,
        }
    }

    /// How long a request waits for a database connection.
    pub fn database_checkout_timeout(&self) -> Duration {
        Duration::from_millis(self.database_checkout_timeout_ms)
    }

    /// The rate limit for anonymous requests, or `None` when `MMR_RATE_LIMIT` is 0.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        Some(RateLimit::new(NonZeroU32::new(self.rate_limit)?, NonZeroU32::new(self.rate_limit_burst)?))
    }
}

/// Admission of renderings (`workflow::admission`).
#[derive(Debug, Args)]
pub struct AdmissionOpts {
    /// Renderings (previews, draft and version PDFs, archiving, verification) at once. Default:
    /// the number of cores, lowered so that each has 768 MiB of the machine's memory.
    #[arg(long, env = "MMR_RENDER_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub render_concurrency: Option<u32>,
    /// Seconds a rendering waits for its turn before it is refused with 503 `render_busy`.
    #[arg(long, env = "MMR_RENDER_QUEUE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub render_queue_secs: u64,
    /// Previews one token may ask for in a minute (one at a time); 429 beyond.
    #[arg(long, env = "MMR_PREVIEW_RATE", default_value_t = crate::workflow::admission::DEFAULT_PREVIEW_RATE, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub preview_rate: u32,
    /// A directory of extra fonts (.ttf, .otf, and each face of a .ttc/.otc collection; symbolic
    /// links followed) used wherever the template's fonts have no glyph, as `mmr render --fonts`
    /// does: previews, draft and version PDFs, archiving and verification all render with them.
    /// Read once at startup. README shows a directory for Arabic, Hebrew, Devanagari, Thai and CJK.
    #[arg(long, env = "MMR_FONTS_DIR")]
    pub fonts_dir: Option<PathBuf>,
}

impl AdmissionOpts {
    /// The rendering kit of `mmr serve`: the built-in template with the fonts of `--fonts-dir`,
    /// the default limits, admitted as configured. Fails when the fonts directory cannot be read
    /// or holds a file that is not a font.
    pub fn reporting(&self) -> anyhow::Result<crate::workflow::render::Reporting> {
        use crate::workflow::admission::{CallerLimit, CallerRate, RenderBudget, RenderGate, default_concurrency};
        let budget = RenderBudget {
            concurrency: self.render_concurrency.map_or_else(default_concurrency, |n| n as usize),
            queue: std::time::Duration::from_secs(self.render_queue_secs),
        };
        let mut template = crate::render::Template::builtin();
        if let Some(dir) = &self.fonts_dir {
            template = template
                .with_fonts_dir(dir)
                .with_context(|| format!("MMR_FONTS_DIR / --fonts-dir {}", dir.display()))?;
        }
        Ok(crate::workflow::render::Reporting {
            template: std::sync::Arc::new(template),
            gate: std::sync::Arc::new(RenderGate::new(budget)),
            previews: std::sync::Arc::new(CallerLimit::new(CallerRate { per_minute: self.preview_rate })),
            ..Default::default()
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum CitiesCommand {
    /// Import cities from a CSV file (the format of shared/domain/cities.csv, optionally with
    /// slug, aliases, designation_date, time_zone and language columns). Upserts by slug; a file
    /// with any bad row imports nothing and names every bad line.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Import only into a database without cities (used to seed a new installation).
        #[arg(long)]
        if_empty: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Import past reporting rounds from a CSV manifest (columns city, period or due_year,
    /// due_date, received_on, decision, decided_on, language, file, notes; README shows the
    /// format). Each round becomes a cycle with its real facts, closed (never reminded); the PDF
    /// of an accepted report is archived write-once as a received document and published from
    /// the decision date. All or nothing: a manifest with any bad line imports nothing and names
    /// every bad line. Importing the same manifest again changes nothing.
    Import {
        /// The manifest (CSV).
        manifest: PathBuf,
        /// The directory of the PDFs the manifest names (default: the manifest's directory).
        #[arg(long)]
        files: Option<PathBuf>,
        /// Check everything and print what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import only when no past round was imported yet (`make run` loads the demo history so).
        #[arg(long)]
        if_empty: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Take six fictitious, plainly marked demonstration reports (founding cities, six creative
    /// fields, English and French) through the real path: draft, submit, accept, archive (a
    /// rendered PDF in the write-once store) and publish. Creates the cycles that have started
    /// first. Idempotent: a city whose report is already there, or whose cycle holds work of its
    /// own, is left alone.
    Load {
        /// Load only into a database with no archived report (used by `make run`).
        #[arg(long)]
        if_empty: bool,
    },
}

#[derive(Debug, Args)]
pub struct RenderOpts {
    /// The report, in Markdown (CommonMark with GitHub tables, footnotes and task lists).
    pub report: PathBuf,
    /// The four-year action plan, rendered as Part II.
    #[arg(long)]
    pub action_plan: Option<PathBuf>,
    /// A directory of images the Markdown may reference by file name (PNG, JPEG).
    #[arg(long)]
    pub attachments: Option<PathBuf>,
    /// Take the cover's city, country and field from the database's city with this slug.
    #[arg(long, conflicts_with = "title")]
    pub city: Option<String>,
    /// The document's title (and author) when no city is named.
    #[arg(long)]
    pub title: Option<String>,
    /// The reporting period on the cover and in the running header, e.g. `2022–2026`.
    #[arg(long)]
    pub cycle: Option<String>,
    /// The date written into the PDF (YYYY-MM-DD); default: the report file's modification date,
    /// so the same file renders to the same bytes.
    #[arg(long)]
    pub date: Option<chrono::NaiveDate>,
    /// A template directory (template.json and fonts) instead of the built-in MMR template.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// A directory of extra fonts (CJK, Arabic, Hebrew...) used where the template's fonts have
    /// no glyph: .ttf, .otf, and each face of a .ttc/.otc collection; symbolic links followed.
    #[arg(long)]
    pub fonts: Option<PathBuf>,
    /// Page size: a4 or letter.
    #[arg(long, default_value = "a4", value_parser = ["a4", "letter"])]
    pub page_size: String,
    /// Where to write the PDF.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum CyclesCommand {
    /// Create the cycles that have started (idempotent; the server also does it daily).
    Sync {
        /// Act as if today were this date (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff address (an address already there is left as it is).
    Add {
        /// The e-mail address.
        email: String,
        /// The staff member's name, as the pages and the audit log show it.
        #[arg(long)]
        name: String,
    },
    /// Remove a staff address and end that person's sessions.
    Remove { email: String },
    /// List the staff addresses.
    List,
    /// End every session of the person with this address (city contact, coordinator or staff).
    SignOut { email: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on standard output (it is shown only once).
    Create {
        /// secretariat, coordinator or city.
        #[arg(long)]
        role: String,
        /// The creative field of a coordinator token.
        #[arg(long)]
        field: Option<String>,
        /// The city slug of a city token.
        #[arg(long)]
        city: Option<String>,
        /// Who holds the token; recorded in the audit log.
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: i64 },
}

/// The warning to give at start when `MMR_PUBLIC_URL` names this machine's loopback (as its
/// default does) while the server listens beyond it: its host would go into every link of the
/// messages and into the permanent OAI-PMH identifiers, which harvesters keep.
pub fn public_url_warning(public_url: &str, bind: SocketAddr) -> Option<String> {
    if bind.ip().is_loopback() {
        return None;
    }
    let host = url::Url::parse(public_url).ok()?.host_str()?.trim_matches(['[', ']']).to_ascii_lowercase();
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    loopback.then(|| {
        format!(
            "MMR_PUBLIC_URL is {public_url} while the server listens on {bind}: the links in its messages would \
             lead nowhere and the permanent OAI-PMH identifiers would name {host}. Set MMR_PUBLIC_URL to the \
             address people reach this service at (e.g. https://mmr.example.org)."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::public_url_warning;

    #[test]
    fn a_loopback_public_url_is_flagged_only_when_serving_beyond_loopback() {
        let everywhere = "0.0.0.0:8080".parse().unwrap();
        let here = "127.0.0.1:8080".parse().unwrap();
        let warning = public_url_warning("http://127.0.0.1:8080", everywhere).expect("a warning");
        assert!(warning.contains("0.0.0.0:8080") && warning.contains("OAI-PMH identifiers would name 127.0.0.1"));
        for url in ["http://localhost:8080/", "http://[::1]:8080", "http://mmr.localhost"] {
            assert!(public_url_warning(url, everywhere).is_some(), "{url}");
        }
        assert_eq!(public_url_warning("http://127.0.0.1:8080", here), None, "a local trial");
        assert_eq!(public_url_warning("https://mmr.unesco.example", everywhere), None);
        assert_eq!(public_url_warning("https://mmr.unesco.example", "10.0.0.5:80".parse().unwrap()), None);
    }
}
