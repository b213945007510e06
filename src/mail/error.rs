//! The one error type of the mail module, and the permanent/transient split that the reminder
//! ledger's retry logic relies on.

use std::io;
use std::path::PathBuf;

/// Why a message could not be composed or delivered.
///
/// Messages never contain e-mail addresses, passwords or message bodies, so an error can be logged
/// and stored in the reminder ledger as it is. The one exception is the text of an SMTP server's
/// reply, which is kept verbatim because it is what explains a rejection.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address in the envelope (or `MMR_MAIL_FROM`) is not a valid mailbox.
    #[error("invalid {field} address: {reason}")]
    InvalidAddress {
        /// Which envelope field: `from`, `to` or `cc`.
        field: &'static str,
        /// What is wrong with it, without the address itself.
        reason: String,
    },
    /// The envelope has no `to` recipient.
    #[error("the message has no `to` recipient")]
    NoRecipient,
    /// The caller's message id cannot be used as a `Message-ID` header.
    #[error("invalid message id: {0}")]
    InvalidMessageId(&'static str),
    /// The reminder context is inconsistent (a formal reminder numbered 0 or past its count, or sent before the deadline; no Secretariat address).
    #[error("invalid reminder: {0}")]
    InvalidReminder(String),
    /// An embedded template is malformed; the template tests make this unreachable in a release.
    #[error("mail template {language}/{template} is malformed: {reason}")]
    Template {
        /// Language directory of the template (`en`, `fr`).
        language: &'static str,
        /// Template file stem, e.g. `overdue_first`.
        template: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// lettre refused to build the message.
    #[error("could not build the message: {0}")]
    Build(String),
    /// `MMR_SMTP_URL` cannot be turned into an SMTP transport.
    #[error("MMR_SMTP_URL is invalid: {0}")]
    Config(String),
    /// `MMR_SMTP_URL` is unset and the `.eml` directory cannot be used.
    #[error(
        "MMR_SMTP_URL is not set, so mail is written as .eml files to {path}, \
         but that directory cannot be used: {source}"
    )]
    EmlDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The SMTP server refused the message with a 5xx reply: sending it again will fail again.
    #[error("the SMTP server rejected the message: {0}")]
    Rejected(String),
    /// Delivery failed for a reason that may go away (4xx reply, connection refused, timeout, TLS
    /// or network failure): retry later.
    #[error("the message could not be delivered now and may be retried: {0}")]
    Unavailable(String),
    /// A `.eml` file could not be written.
    #[error("could not write the mail file {path}: {source}")]
    Io {
        /// The file or directory being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl MailError {
    /// True when retrying the same message cannot succeed: the SMTP server rejected it with a 5xx
    /// reply, or the message itself is invalid. Connection failures, timeouts, 4xx replies and
    /// file-system errors are transient: the caller retries them with backoff.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::InvalidAddress { .. }
            | Self::NoRecipient
            | Self::InvalidMessageId(_)
            | Self::InvalidReminder(_)
            | Self::Template { .. }
            | Self::Build(_)
            | Self::Config(_)
            | Self::Rejected(_) => true,
            Self::EmlDir { .. } | Self::Unavailable(_) | Self::Io { .. } => false,
        }
    }
}
