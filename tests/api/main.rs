//! The HTTP API through the real router, on SQLite and on PostgreSQL.

mod helpers;

mod audit;
mod cities;
mod contacts;
mod cycles;
mod health;
mod reminders;
mod tokens;
mod walk;
