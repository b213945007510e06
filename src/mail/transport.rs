//! The [`Transport`] trait every delivery method implements, and the choice of transport from
//! configuration (`MMR_SMTP_URL` set: SMTP; unset: `.eml` files).

use std::path::Path;
use std::sync::Arc;

use crate::mail::{EmlDirTransport, MailError, OutgoingMessage, SmtpTransport};

/// Delivers messages. Blocking: async callers run it on a blocking thread.
///
/// `Ok` means the message was accepted (by the SMTP server, or durably written), which is when a
/// reminder may be marked sent. On `Err`, [`MailError::is_permanent`] says whether to retry.
pub trait Transport: Send + Sync {
    /// Sends one message.
    fn send(&self, message: &OutgoingMessage) -> Result<(), MailError>;
}

/// Lets a test keep a handle on a [`MemoryTransport`](crate::mail::MemoryTransport) while the code
/// under test owns the transport.
impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, message: &OutgoingMessage) -> Result<(), MailError> {
        (**self).send(message)
    }
}

/// The transport the configuration asks for: SMTP when `smtp_url` (`MMR_SMTP_URL`) is set and not
/// blank, otherwise `.eml` files in `eml_dir` (created if missing), so a newcomer without a mail
/// server can read what would have been sent. See [`SmtpTransport::from_url`] for the URL forms.
pub fn transport_from_config(smtp_url: Option<&str>, eml_dir: &Path) -> Result<Box<dyn Transport>, MailError> {
    match smtp_url.map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) => Ok(Box::new(SmtpTransport::from_url(url)?)),
        None => Ok(Box::new(EmlDirTransport::new(eml_dir)?)),
    }
}
