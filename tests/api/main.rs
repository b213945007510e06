//! The HTTP API through the real router, on SQLite and on PostgreSQL.

mod helpers;

mod abuse;
mod archive;
mod audit;
mod cities;
mod contacts;
mod cycles;
mod downloads;
mod harvest;
mod health;
mod permissions;
mod reminders;
mod search;
mod submissions;
mod tokens;
mod uploads;
mod walk;
