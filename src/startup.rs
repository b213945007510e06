//! Starting the server: migrate, bind, serve until SIGINT or SIGTERM, then finish the requests in
//! flight.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::db::Db;
use crate::http::{self, AppState};
use crate::web::{self, WebState};

/// Serves the API and the pages on `listener` until a shutdown signal ([`http::serve`]: each request knows its
/// TCP peer, and downloads can be sent with `sendfile`).
pub async fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    let pages = pages(&state);
    http::serve_with_pages(listener, state, Some(pages), shutdown_signal()).await.context("serving HTTP")
}

/// The HTML pages over the same database, clock, rules, template and search index as the API.
pub fn pages(state: &AppState) -> axum::Router {
    web::router(WebState {
        db: state.db.clone(),
        clock: state.clock.clone(),
        rules: state.rules,
        reporting: state.reporting.clone(),
        store: state.store.clone(),
        catalog: state.catalog.clone(),
        public_url: state.public_url.clone(),
        excerpts: Default::default(),
        postman: state.postman.clone(),
        max_body_bytes: state.max_body_bytes,
        sign_in_throttle: Default::default(),
    })
}

/// Applies pending migrations, logging what was applied.
pub fn migrate(db: &Db) -> anyhow::Result<()> {
    let applied = db.migrate().context("applying database migrations")?;
    if applied.is_empty() {
        tracing::info!(db.backend = db.backend().as_str(), "database schema is up to date");
    } else {
        tracing::info!(db.backend = db.backend().as_str(), migrations = ?applied, "applied migrations");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
