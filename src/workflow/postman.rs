//! How the pages' and the API's own messages go out (sign-in links, decisions told to a city):
//! through the reminders' transport, from their sender, with links on `MMR_PUBLIC_URL`. A message
//! is sent after the answer, on the blocking pool; a failure is logged without the address, and
//! the person can act from the pages without it.

use std::sync::Arc;

use crate::mail::{OutgoingMessage, Transport};

/// The transport, the sender and the base of the links.
pub struct Postman {
    pub transport: Arc<dyn Transport>,
    pub from: String,
    pub public_url: String,
}

impl std::fmt::Debug for Postman {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postman").field("from", &self.from).finish_non_exhaustive()
    }
}

impl Postman {
    /// Sends a message now, logging (without the address) what could not be sent.
    pub fn deliver(&self, message: &OutgoingMessage) {
        if let Err(e) = self.transport.send(message) {
            tracing::error!(error = %e, message_id = message.message_id(), "a message could not be sent");
        }
    }

    /// Sends a message on the blocking pool without waiting for it (at once when no runtime runs,
    /// as in a command).
    pub fn post(self: &Arc<Self>, message: OutgoingMessage) {
        let postman = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || postman.deliver(&message))),
            Err(_) => postman.deliver(&message),
        }
    }

    /// An absolute link to a page of this site.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}
