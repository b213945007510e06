//! The HTTP API through the real router, on SQLite and on PostgreSQL.

mod helpers;

mod audit;
mod board;
mod cities;
mod contacts;
mod cycles;
mod health;
mod progress;
mod reminders;
mod tokens;
mod walk;
