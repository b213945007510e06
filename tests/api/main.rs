//! The HTTP API through the real router, on SQLite and on PostgreSQL.

mod helpers;

mod abuse;
mod admission;
mod archive;
mod audit;
mod board;
mod browser;
mod bulk;
mod cities;
mod connections;
mod contacts;
mod cycles;
mod desk;
mod downloads;
mod drafting;
mod edge;
mod harvest;
mod health;
mod history;
mod journey;
mod metrics;
mod openapi;
mod outage;
mod pages;
mod permissions;
mod progress;
mod reminders;
mod scripts;
mod search;
mod sign_in;
mod skeleton;
/// The SMTP server harness of the mail tests (aiosmtpd in a child process).
#[allow(dead_code)]
#[path = "../mail/server.rs"]
mod smtp;
mod submissions;
mod tokens;
mod uploads;
mod walk;
