//! The `mmr` command: the server and the operator's tools.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use mmr::config::{
    CitiesCommand, Cli, Command, CyclesCommand, DemoCommand, HistoryCommand, ReminderOpts, RenderOpts, ServeOpts,
    StaffCommand, TokenCommand,
};
use mmr::db::Db;
use mmr::domain::auth::Role;
use mmr::domain::cycles::CycleRules;
use mmr::error::Error;
use mmr::http::{AppState, RateLimiter};
use mmr::mail::{self, Envelope, Transport};
use mmr::render::{self, DocumentMeta, Limits, PageSize, RenderRequest, Template};
use mmr::storage::{self, BlobStore};
use mmr::workflow::reminders::ReminderConfig;
use mmr::workflow::render::{CityCover, Reporting};
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
            let store = storage::open_store(&cli.global.archive_url())?;
            let pdf_budget = cli.global.received_pdf_budget();
            serve(db, opts, rules, store, cli.global.reminders.clone(), &cli.global.data_dir, pdf_budget)
        }
        Command::Migrate => startup::migrate(&connect()?),
        Command::Openapi => {
            println!("{}", mmr::http::openapi::json());
            Ok(())
        }
        Command::Cities { command: CitiesCommand::Import { file, if_empty } } => {
            let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let rows = workflow::import::parse_csv(&data, now().date())?;
            let db = connect()?;
            startup::migrate(&db)?;
            let s = db.run_blocking(|conn| {
                workflow::import::import(conn, &Actor::cli(), &rows, if_empty, &*progress(), now())
            })?;
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
        Command::History { command: HistoryCommand::Import { manifest, files, dry_run, if_empty } } => {
            let data = std::fs::read(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
            let manifest_rows = workflow::history::parse_manifest(&data, now().date())?;
            let dir = files.unwrap_or_else(|| manifest.parent().map(Path::to_path_buf).unwrap_or_default());
            let db = connect()?;
            let store = storage::open_store(&cli.global.archive_url())?;
            startup::migrate(&db)?;
            if if_empty {
                let n = db.run_blocking(workflow::history::imported_rounds)?;
                if n > 0 {
                    println!("{}: not imported, {n} past rounds were imported before", manifest.display());
                    return Ok(());
                }
            }
            let rules = cli.global.calendar.rules();
            let files = workflow::history::Files::Dir(dir);
            let request = workflow::history::ImportRequest {
                manifest: &manifest_rows,
                files: &files,
                dry_run,
                pdf_budget: cli.global.received_pdf_budget(),
            };
            let s =
                workflow::history::import(&db, store.as_ref(), &Actor::cli(), &rules, &request, &*progress(), now())?;
            for r in &s.rounds {
                let outcome = match (r.outcome, r.days_late) {
                    ("late", Some(days)) => format!("late by {days} day{}", if days == 1 { "" } else { "s" }),
                    (other, _) => other.replace('_', " "),
                };
                let archive = r.archive_id.map(|a| format!(", archive {a}")).unwrap_or_default();
                let note = r.text_note.as_deref().map(|n| format!("; PDF: {n}")).unwrap_or_default();
                println!(
                    "line {}: {} cycle {} (due {}): {}, {outcome}{archive}{note}",
                    r.line, r.city, r.cycle_number, r.due_date, r.action
                );
            }
            println!("{}: {}", manifest.display(), s.line());
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
            let db = connect()?;
            let transport = transport(&cli.global.reminders, &cli.global.data_dir)?;
            startup::migrate(&db)?;
            let rules = cli.global.calendar.rules();
            let at = as_of.map_or_else(now, |d| d.and_time(chrono::NaiveTime::MIN));
            let owner = workflow::reminders::owner_id();
            let (created, r) = workflow::reminders::daily(
                &db,
                transport.as_ref(),
                &config,
                &rules,
                at,
                &owner,
                dry_run,
                &*progress(),
            )?;
            for line in r.lines.iter().chain(&r.digest) {
                println!("{line}");
            }
            if !r.cannot_remind.is_empty() {
                let n = r.cannot_remind.len();
                eprintln!("warning: {n} cities with an overdue report cannot be reminded (listed in the digest)");
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
        Command::Render(opts) => {
            let city = match &opts.city {
                Some(slug) => {
                    let db = connect()?;
                    startup::migrate(&db)?;
                    Some(db.run_blocking(|conn| workflow::render::city_cover(conn, slug))?)
                }
                None => None,
            };
            let summary = render_files(&opts, city)?;
            for warning in &summary.warnings {
                eprintln!("warning: {warning}");
            }
            println!("{}: {} pages, {} bytes", opts.output.display(), summary.page_count, summary.bytes);
            Ok(())
        }
        Command::RenderBundle { bundle, output } => {
            let zip = std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
            let kit = Reporting::default();
            let again = workflow::archive::rerender_bundle(&kit, &zip)?;
            if again.made_by != render::RENDERER || again.template_version != kit.template.version() {
                eprintln!(
                    "warning: the bundle was made by {} with template {}; this is {} with template {}, so the bytes \
                     will differ: build the release tagged {} to re-render it (README, Renderer versions)",
                    again.made_by,
                    again.template_version,
                    render::RENDERER,
                    kit.template.version(),
                    again.made_by.replace(' ', "-")
                );
            }
            std::fs::write(&output, &again.pdf).with_context(|| format!("writing {}", output.display()))?;
            println!("{}: {} bytes, SHA-256 {}", output.display(), again.pdf.len(), storage::sha256_hex(&again.pdf));
            Ok(())
        }
        Command::Fixity => {
            let config = cli.global.reminders.config().map_err(Error::from)?;
            // The database first: it creates a missing data directory private (0700).
            let db = connect()?;
            let transport = transport(&cli.global.reminders, &cli.global.data_dir)?;
            let store = storage::open_store(&cli.global.archive_url())?;
            startup::migrate(&db)?;
            let (kit, rules) = (Reporting::default(), cli.global.calendar.rules());
            let resumed = workflow::archive::resume(&db, store.as_ref(), &kit, &rules, now())?;
            if !resumed.is_empty() {
                println!("completed {} interrupted archiving(s)", resumed.len());
            }
            let envelope = fixity_envelope(&config);
            let r = workflow::archive::fixity(
                &db,
                store.as_ref(),
                Some((transport.as_ref(), &envelope)),
                &*progress(),
                now(),
            )?;
            for p in &r.problems {
                println!(
                    "archive {} {}: {} ({})",
                    p.archive_id,
                    p.file,
                    workflow::archive::fixity_label(&p.state),
                    p.sha256
                );
            }
            println!(
                "fixity: {} files of {} archived reports checked in {}, {} problem(s)",
                r.files,
                r.documents,
                store.describe(),
                r.problems.len()
            );
            if r.problems.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} archived file(s) are missing or changed", r.problems.len())
            }
        }
        Command::Backup { dir } => {
            let db = connect()?;
            let archive_url = cli.global.archive_url();
            let store = storage::open_store(&archive_url)?;
            let r = workflow::backup::backup(&db, store.as_ref(), !storage::is_remote(&archive_url), &dir, now())?;
            let rows: Vec<String> = r.rows.iter().map(|(table, n)| format!("{n} {table}")).collect();
            println!("{}: database copied ({} bytes: {})", dir.display(), r.database_bytes, rows.join(", "));
            if r.copied {
                println!("{}: {} archived files copied from {}", dir.display(), r.files, r.archive);
            } else {
                println!(
                    "{}: {} archived files listed in the manifest but NOT copied: they stay in {}; back the bucket up with its own tools",
                    dir.display(),
                    r.files,
                    r.archive
                );
            }
            Ok(())
        }
        Command::Token { command } => token(&connect()?, command),
        Command::Staff { command } => staff(&connect()?, command),
        Command::Demo { command: DemoCommand::Load { if_empty } } => {
            let db = connect()?;
            let store = storage::open_store(&cli.global.archive_url())?;
            startup::migrate(&db)?;
            let (kit, rules) = (Reporting::default(), cli.global.calendar.rules());
            let s = workflow::demo::load(&db, store.as_ref(), &kit, &rules, &Actor::cli(), if_empty, now())?;
            if let Some(n) = s.archive_not_empty {
                let reports = if n == 1 { "report" } else { "reports" };
                println!("archive not empty ({n} archived {reports}): no demo reports loaded");
                return Ok(());
            }
            for (city, reason) in &s.skipped {
                println!("{city}: no demo report loaded: {reason}");
            }
            let names: Vec<String> = s
                .loaded
                .iter()
                .map(|l| format!("{} ({}, {}, archive {})", l.city_name, l.field, l.language, l.archive_id))
                .collect();
            println!(
                "loaded {} demo reports: {}",
                s.loaded.len(),
                if names.is_empty() { "none".into() } else { names.join(", ") }
            );
            Ok(())
        }
    }
}

fn staff(db: &Db, command: StaffCommand) -> anyhow::Result<()> {
    startup::migrate(db)?;
    let actor = Actor::cli();
    match command {
        StaffCommand::Add { email, name } => {
            let added =
                db.run_blocking(|conn| workflow::sign_in::add_staff(conn, &actor, None, &email, &name, now()))?;
            if added {
                eprintln!("added staff address {email}: a sign-in link sent there signs in as the Secretariat");
            } else {
                eprintln!("{email} is a staff address already");
            }
        }
        StaffCommand::Remove { email } => {
            db.run_blocking(|conn| workflow::sign_in::remove_staff(conn, &actor, None, &email, now()))?;
            eprintln!("removed staff address {email} and ended its sessions");
        }
        StaffCommand::List => {
            for s in db.run_blocking(|conn| workflow::sign_in::staff(conn, None))? {
                println!("{}  {}  (added {})", s.email, s.name, s.created_at.format("%Y-%m-%d"));
            }
        }
        StaffCommand::SignOut { email } => {
            let ended =
                db.run_blocking(|conn| workflow::sign_in::end_sessions_of(conn, &actor, None, &email, now()))?;
            eprintln!("ended {ended} session(s) of {email}");
        }
    }
    Ok(())
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

fn serve(
    db: Db,
    opts: ServeOpts,
    rules: CycleRules,
    store: Arc<dyn BlobStore>,
    reminders: ReminderOpts,
    data_dir: &Path,
    received_pdf_budget: std::time::Duration,
) -> anyhow::Result<()> {
    let config = reminders.config().map_err(Error::from)?;
    let transport: Arc<dyn Transport> = transport(&reminders, data_dir)?.into();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let db = db.with_checkout_timeout(opts.database_checkout_timeout());
        let mut state = AppState::new(db.clone(), opts.max_body_bytes as usize, rules, store.clone());
        state.connection_limits = opts.connection_limits();
        state.public_url = reminders.public_url.trim_end_matches('/').to_owned();
        state.secretariat_email = reminders.secretariat_email.clone();
        state.rate_limiter = opts.rate_limit().map(|limit| Arc::new(RateLimiter::new(limit)));
        if !opts.trusted_proxies.is_empty() {
            tracing::info!(proxies = %opts.trusted_proxies, "X-Forwarded-For is believed from these proxies");
        }
        state.trusted_proxies = Arc::new(opts.trusted_proxies.clone());
        state.metrics_here = opts.metrics_bind.is_none();
        state.reporting = opts.admission.reporting()?;
        state.postman = Some(Arc::new(workflow::Postman {
            transport: transport.clone(),
            from: config.from.clone(),
            public_url: state.public_url.clone(),
        }));
        state.received_pdf_budget = received_pdf_budget;
        state.alarm = Some(Arc::new(workflow::archive::Alarm {
            transport: transport.clone(),
            envelope: fixity_envelope(&config),
        }));
        let fixity = scheduler::FixityJob {
            db: db.clone(),
            store,
            reporting: state.reporting.clone(),
            rules,
            transport: transport.clone(),
            envelope: fixity_envelope(&config),
        };
        let reminder = scheduler::ReminderJob { db: db.clone(), transport, config, rules };
        // Acceptances whose archiving a crash interrupted are completed in the background.
        let resume = (state.db.clone(), state.store.clone(), state.reporting.clone());
        tokio::task::spawn_blocking(move || {
            match workflow::archive::resume(&resume.0, resume.1.as_ref(), &resume.2, &rules, now()) {
                Ok(done) if !done.is_empty() => tracing::info!(count = done.len(), "completed interrupted archivings"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "completing interrupted archivings failed"),
            }
            // Then the edge digests of entries archived before they were recorded.
            match workflow::archive::backfill_edges(&resume.0, resume.1.as_ref()) {
                Ok(0) => {}
                Ok(done) => tracing::info!(count = done, "recorded the edge digests of earlier archive entries"),
                Err(e) => tracing::error!(error = %e, "recording the edge digests of earlier archive entries failed"),
            }
        });
        // The archive search's index is built before the first search has to wait for it.
        let (index_db, catalog) = (state.db.clone(), state.catalog.clone());
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match index_db.run_blocking(|conn| catalog.sync(conn)) {
                Ok(_) => {
                    let stats = catalog.stats();
                    tracing::info!(
                        entries = stats.entries,
                        terms = stats.terms,
                        ms = started.elapsed().as_millis() as u64,
                        "archive search index built"
                    );
                }
                Err(e) => tracing::error!(error = %e, "building the archive search index failed"),
            }
        });
        let _schedule = scheduler::start(&opts.reminder_cron, reminder, &opts.fixity_cron, fixity).await?;
        if let Some(warning) = mmr::config::public_url_warning(&state.public_url, opts.bind) {
            tracing::warn!("{warning}");
        }
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .with_context(|| format!("MMR_BIND / --bind: cannot listen on {}", opts.bind))?;
        let addr = listener.local_addr()?;
        if let Some(metrics_bind) = opts.metrics_bind {
            let metrics = tokio::net::TcpListener::bind(metrics_bind)
                .await
                .with_context(|| format!("MMR_METRICS_BIND / --metrics-bind: cannot listen on {metrics_bind}"))?;
            let app = axum::Router::from(mmr::http::metrics::router()).with_state(state.clone());
            tracing::info!(addr = %metrics.local_addr()?, "metrics on http://{}/metrics", metrics.local_addr()?);
            tokio::spawn(async move { axum::serve(metrics, app).await });
        }
        tracing::info!(%addr, db.backend = db.backend().as_str(), archive = %state.store.describe(), "listening on http://{addr}");
        startup::serve(listener, state).await
    })
}

/// A progress bar on standard error when it is a terminal (`mmr fixity` and the like at a
/// prompt); nothing otherwise, as under cron or in a pipe, where the command's summary says it all.
fn progress() -> Box<dyn workflow::Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar(indicatif::ProgressBar::hidden()))
    } else {
        Box::new(workflow::Silent)
    }
}

/// [`progress`]'s bar: hidden until a job says how many steps it has, cleared when it ends.
struct Bar(indicatif::ProgressBar);

impl workflow::Progress for Bar {
    fn begin(&self, what: &str, total: u64) {
        let style =
            indicatif::ProgressStyle::with_template("{msg}: {bar:32} {pos}/{len} ({elapsed}, about {eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        self.0.set_style(style);
        self.0.set_message(what.to_owned());
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }

    fn step(&self) {
        self.0.inc(1);
    }

    fn end(&self) {
        self.0.finish_and_clear();
    }
}

/// How a fixity alert is addressed: to the Secretariat, with a unique message id.
fn fixity_envelope(config: &ReminderConfig) -> Envelope {
    Envelope {
        from: config.from.clone(),
        to: vec![config.secretariat_email.clone()],
        cc: Vec::new(),
        message_id: format!("fixity.{}.{:08x}@mmr.invalid", now().format("%Y%m%dT%H%M%S"), rand::random::<u32>()),
    }
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

/// What a rendering produced.
#[derive(Debug)]
struct RenderSummary {
    page_count: usize,
    bytes: usize,
    warnings: Vec<String>,
}

/// Reads the files named in `opts`, renders, and writes the PDF (through a temporary file, so a
/// failed run never leaves half a PDF under the output name).
fn render_files(opts: &RenderOpts, city: Option<CityCover>) -> anyhow::Result<RenderSummary> {
    let read = |path: &Path| std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()));
    let report = read(&opts.report)?;
    let plan = opts.action_plan.as_deref().map(read).transpose()?;
    let attachments = match &opts.attachments {
        Some(dir) => render::load_attachments_dir(dir).with_context(|| format!("--attachments {}", dir.display()))?,
        None => Vec::new(),
    };
    let mut template = match &opts.template {
        Some(dir) => Template::load(dir).with_context(|| format!("--template {}", dir.display()))?,
        None => Template::builtin(),
    };
    if opts.page_size == "letter" {
        template = template.with_page_size(PageSize::Letter);
    }
    if let Some(dir) = &opts.fonts {
        template = template.with_fonts_dir(dir).with_context(|| format!("--fonts {}", dir.display()))?;
    }
    let date = match opts.date {
        Some(d) => d,
        None => {
            let modified = std::fs::metadata(&opts.report)
                .and_then(|m| m.modified())
                .context("reading the report's modification date")?;
            chrono::DateTime::<chrono::Utc>::from(modified).date_naive()
        }
    };
    let mut meta = match (&city, &opts.title) {
        (Some(c), _) => DocumentMeta::for_city(&c.name),
        (None, Some(title)) => DocumentMeta { title: title.clone(), ..DocumentMeta::default() },
        (None, None) => DocumentMeta::default(),
    };
    if let Some(c) = city {
        meta.country = c.country;
        meta.creative_field = c.field;
        meta.language = c.language;
    }
    meta.cycle = opts.cycle.clone().unwrap_or_default();
    meta.creation_date = workflow::render::pdf_date(date);
    let limits = Limits::default();
    let request = RenderRequest {
        report_markdown: &report,
        action_plan_markdown: plan.as_deref(),
        attachments: &attachments,
        meta: &meta,
        template: &template,
        limits: &limits,
    };
    let rendered = render::render(&request)?;
    let tmp = opts.output.with_extension("pdf.partial");
    std::fs::write(&tmp, &rendered.pdf).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &opts.output).with_context(|| format!("writing {}", opts.output.display()))?;
    Ok(RenderSummary {
        page_count: rendered.page_count,
        bytes: rendered.pdf.len(),
        warnings: rendered.warnings.iter().map(ToString::to_string).collect(),
    })
}
