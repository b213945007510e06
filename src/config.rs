//! Command line and configuration: every setting is a flag with an environment fallback, and its
//! doc comment here is its documentation (`mmr --help`, `mmr serve --help`). A bad value stops the
//! program at start with a message naming the setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::cycles::CycleRules;

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
    /// Log format on standard error: `text` for people, `json` for log collectors. The level
    /// comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "MMR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub calendar: CalendarOpts,
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
    /// The first due year tracked: cycles due earlier predate the system and are not created.
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

impl GlobalOpts {
    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("mmr.sqlite3").display()))
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
    /// Reporting cycles.
    Cycles {
        #[command(subcommand)]
        command: CyclesCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Args)]
pub struct ServeOpts {
    /// Address and port to listen on.
    #[arg(long, env = "MMR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "MMR_MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_body_bytes: u32,
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
pub enum CyclesCommand {
    /// Create the cycles that have started (idempotent; the server also does it daily).
    Sync {
        /// Act as if today were this date (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
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
