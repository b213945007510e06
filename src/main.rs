//! The `mmr` command: the server and the operator's tools.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use std::path::Path;

use mmr::config::{CitiesCommand, Cli, Command, CyclesCommand, ReminderOpts, ServeOpts, TokenCommand};
use mmr::db::Db;
use mmr::domain::auth::Role;
use mmr::domain::cycles::CycleRules;
use mmr::error::Error;
use mmr::http::AppState;
use mmr::mail::{self, Transport};
use mmr::workflow::{self, Actor, tokens::TokenSpec};
use mmr::{scheduler, startup, telemetry};

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|e| name_env_and_exit(e));
    telemetry::init(cli.global.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Exits on a command-line error; a bad value also names the environment variable it may have
/// come from, since most settings are given that way.
fn name_env_and_exit(e: clap::Error) -> ! {
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation)
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
    {
        let long = arg.trim_start_matches("--").split([' ', '=']).next().unwrap_or_default();
        let env = Cli::command()
            .get_subcommands()
            .flat_map(|c| c.get_arguments().cloned().collect::<Vec<_>>())
            .chain(Cli::command().get_arguments().cloned())
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env().map(|v| v.to_string_lossy().into_owned()));
        if let Some(env) = env {
            eprintln!("error: setting {env} / --{long} is invalid");
        }
    }
    e.exit()
}

/// Prints an error with its causes, and every problem of a multi-problem error.
fn report(e: &anyhow::Error) {
    eprintln!("error: {e:#}");
    if let Some(Error::InvalidMany { problems, .. }) = e.downcast_ref::<Error>() {
        for p in problems {
            eprintln!("  {p}");
        }
    }
}

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.global.database_url();
    let connect = || Db::connect(&url).with_context(|| format!("MMR_DATABASE_URL / --database-url ({})", redact(&url)));
    match cli.command {
        Command::Serve(opts) => {
            let db = connect()?;
            startup::migrate(&db)?;
            let rules = cli.global.calendar.rules();
            let s = db.run_blocking(|conn| workflow::cycles::sync(conn, &Actor::cli(), &rules, now()))?;
            tracing::info!(cycles.created = s.created, cities = s.cities, "reporting cycles synced");
            serve(db, opts, rules, cli.global.reminders.clone(), &cli.global.data_dir)
        }
        Command::Migrate => startup::migrate(&connect()?),
        Command::Cities { command: CitiesCommand::Import { file, if_empty } } => {
            let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let rows = workflow::import::parse_csv(&data, now().date())?;
            let db = connect()?;
            startup::migrate(&db)?;
            let s = db.run_blocking(|conn| workflow::import::import(conn, &Actor::cli(), &rows, if_empty, now()))?;
            if s.skipped_non_empty {
                println!("{}: not imported, the database already has {} cities", file.display(), s.cities_total);
            } else {
                println!(
                    "{}: {} created, {} updated, {} unchanged; {} cities in {} countries",
                    file.display(),
                    s.created,
                    s.updated,
                    s.unchanged,
                    s.cities_total,
                    s.countries_total
                );
            }
            Ok(())
        }
        Command::Cycles { command: CyclesCommand::Sync { as_of } } => {
            let db = connect()?;
            startup::migrate(&db)?;
            let rules = cli.global.calendar.rules();
            let at = as_of.map_or_else(now, |d| d.and_time(chrono::NaiveTime::MIN));
            let s = db.run_blocking(|conn| workflow::cycles::sync(conn, &Actor::cli(), &rules, at))?;
            println!("cycles as of {}: {} created for {} cities", at.date(), s.created, s.cities);
            Ok(())
        }
        Command::Remind { as_of, dry_run } => {
            let config = cli.global.reminders.config().map_err(Error::from)?;
            let transport = transport(&cli.global.reminders, &cli.global.data_dir)?;
            let db = connect()?;
            startup::migrate(&db)?;
            let rules = cli.global.calendar.rules();
            let at = as_of.map_or_else(now, |d| d.and_time(chrono::NaiveTime::MIN));
            let owner = workflow::reminders::owner_id();
            let (created, r) =
                workflow::reminders::daily(&db, transport.as_ref(), &config, &rules, at, &owner, dry_run)?;
            for line in &r.lines {
                println!("{line}");
            }
            if !r.cities_without_contacts.is_empty() {
                let n = r.cities_without_contacts.len();
                let shown = r.cities_without_contacts.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
                let more = if n > 10 { format!(" and {} more", n - 10) } else { String::new() };
                eprintln!("warning: {n} cities have no contact to remind: {shown}{more}");
            }
            println!(
                "reminders as of {}{}: {} cycles created, {} planned, {} sent, {} failed, {} skipped, {} cancelled, {} taken by another process",
                at.date(),
                if dry_run { " (dry run)" } else { "" },
                created,
                r.planned,
                r.sent,
                r.failed,
                r.skipped,
                r.cancelled,
                r.taken_elsewhere
            );
            if r.failed > 0 { anyhow::bail!("{} reminders failed; see the ledger", r.failed) } else { Ok(()) }
        }
        Command::Token { command } => token(&connect()?, command),
    }
}

fn token(db: &Db, command: TokenCommand) -> anyhow::Result<()> {
    startup::migrate(db)?;
    match command {
        TokenCommand::Create { role, field, city, name } => {
            let spec =
                TokenSpec::parse(Role::parse(&role)?, field.as_deref(), city.as_deref(), &name).map_err(Error::from)?;
            let (id, secret) = db.run_blocking(|conn| workflow::tokens::create(conn, &Actor::cli(), &spec, now()))?;
            eprintln!("created {role} token {id} for {name}; it is shown only this once:");
            println!("{secret}");
        }
        TokenCommand::List => {
            let tokens = db.run_blocking(workflow::tokens::list)?;
            println!("{:>4}  {:<11}  {:<16}  {:<20}  {:<8}  name", "id", "role", "scope", "created", "state");
            for (t, city) in tokens {
                let scope = city.or(t.field).unwrap_or_default();
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let created = t.created_at.format("%Y-%m-%d %H:%M");
                println!("{:>4}  {:<11}  {:<16}  {:<20}  {:<8}  {}", t.id, t.role, scope, created, state, t.name);
            }
        }
        TokenCommand::Revoke { id } => {
            db.run_blocking(|conn| workflow::tokens::revoke(conn, &Actor::cli(), id, now()))?;
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}

fn serve(db: Db, opts: ServeOpts, rules: CycleRules, reminders: ReminderOpts, data_dir: &Path) -> anyhow::Result<()> {
    let config = reminders.config().map_err(Error::from)?;
    let transport = transport(&reminders, data_dir)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let job = scheduler::ReminderJob { db: db.clone(), transport: transport.into(), config, rules };
        let _schedule = scheduler::start(&opts.reminder_cron, job).await?;
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .with_context(|| format!("MMR_BIND / --bind: cannot listen on {}", opts.bind))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, db.backend = db.backend().as_str(), "listening on http://{addr}");
        startup::serve(listener, AppState::new(db, opts.max_body_bytes as usize, rules)).await
    })
}

/// SMTP when `MMR_SMTP_URL` is set, otherwise .eml files in `<data dir>/outbox`.
fn transport(opts: &ReminderOpts, data_dir: &Path) -> anyhow::Result<Box<dyn Transport>> {
    Ok(mail::transport_from_config(opts.smtp_url.as_deref(), &data_dir.join("outbox"))?)
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}
