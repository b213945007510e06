//! Membership Monitoring Reports for the UNESCO Creative Cities Network.
//!
//! Dependencies point inward: [`domain`] holds pure types and rules; [`db`] is the only module
//! that touches diesel; [`workflow`] holds the use cases shared by the HTTP API, the CLI and the
//! scheduler; [`http`] is the only module that touches axum. [`render`] (Markdown to PDF and the
//! template check), [`mail`] and [`storage`] (the write-once archive store) are leaves.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod render;
pub mod scheduler;
pub mod search;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod web;
pub mod workflow;
