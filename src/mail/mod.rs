//! Outgoing e-mail: reminder messages composed from the templates in `report_templates/mail/`, and
//! the transports that deliver them (SMTP through lettre, `.eml` files in a directory, memory for
//! tests).
//!
//! This module is an adapter: it imports nothing from the crate but `domain`, and it is the only
//! place that imports lettre. Callers build a [`ReminderContext`] and an [`Envelope`] from domain data, call
//! [`compose`], and hand the [`OutgoingMessage`] to a [`Transport`] on a blocking thread. A send that
//! returns `Ok` means the SMTP server accepted the message (or the file was durably written), which
//! is the moment a reminder may be marked sent; [`MailError::is_permanent`] tells a failed send that
//! must not be retried from one worth retrying.

mod decision;
mod digest;
mod eml;
mod error;
mod memory;
mod message;
mod reminder;
mod sign_in;
mod smtp;
mod templates;
mod transport;
mod wording;

pub use decision::{DecisionNotice, DecisionOutcome, compose_decision};
pub use digest::{Digest, DigestCity, DigestNote, FailedMessage};
pub use eml::EmlDirTransport;
pub use error::MailError;
pub use memory::{MemoryTransport, SimulatedFailure};
pub use message::{Envelope, OutgoingMessage, compose, compose_notice, message_id_on};
pub use reminder::{Language, ReminderContext, ReminderKind};
pub use sign_in::{SignInLink, compose_sign_in};
pub use smtp::{SmtpOptions, SmtpTransport};
pub use transport::{Transport, transport_from_config};
