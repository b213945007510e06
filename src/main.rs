//! The `mmr` command: the server and the operator's tools.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use mmr::config::{CitiesCommand, Cli, Command, CyclesCommand, ServeOpts, TokenCommand};
use mmr::db::Db;
use mmr::domain::auth::Role;
use mmr::error::Error;
use mmr::http::AppState;
use mmr::workflow::{self, Actor, tokens::TokenSpec};
use mmr::{startup, telemetry};

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
            serve(db, opts, rules)
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

fn serve(db: Db, opts: ServeOpts, rules: mmr::domain::cycles::CycleRules) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .with_context(|| format!("MMR_BIND / --bind: cannot listen on {}", opts.bind))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, db.backend = db.backend().as_str(), "listening on http://{addr}");
        startup::serve(listener, AppState::new(db, opts.max_body_bytes as usize, rules)).await
    })
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
