//! Addressing and building a message: the [`Envelope`] the caller supplies, [`compose`], and the
//! [`OutgoingMessage`] handed to transports, which wraps a lettre message and keeps its parts
//! readable for tests and dry runs.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder};

use crate::mail::MailError;
use crate::mail::reminder::ReminderContext;

/// Sender, recipients and message id of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender mailbox (`MMR_MAIL_FROM`), e.g. `UNESCO Creative Cities <ccn@example.org>`.
    pub from: String,
    /// Primary recipients; at least one.
    pub to: Vec<String>,
    /// Copied recipients (the field coordinator on formal reminders).
    pub cc: Vec<String>,
    /// Globally unique id, `left@right`, with or without angle brackets. The caller uses the
    /// reminder ledger key, so a duplicate delivery is recognisable by its `Message-ID` header.
    pub message_id: String,
}

/// A composed message, ready for any [`Transport`](crate::mail::Transport).
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    body: String,
    message_id: String,
    message: Message,
}

impl OutgoingMessage {
    /// The sender mailbox as it appears in the `From` header.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The `To` mailboxes.
    pub fn to(&self) -> &[String] {
        &self.to
    }

    /// The `Cc` mailboxes.
    pub fn cc(&self) -> &[String] {
        &self.cc
    }

    /// The subject, unencoded.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text body, unencoded, with `\n` line ends.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The message id without angle brackets; the `Message-ID` header is `<` this `>`.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The whole message as RFC 5322 bytes: encoded headers, CRLF line ends, UTF-8 body with a
    /// transfer encoding chosen by lettre.
    pub fn formatted(&self) -> Vec<u8> {
        self.message.formatted()
    }

    /// The lettre message, for the SMTP transport.
    pub(crate) fn lettre_message(&self) -> &Message {
        &self.message
    }
}

/// Renders the reminder in its language and addresses it.
///
/// The message is `text/plain; charset=utf-8`, carries `Message-ID: <id>` with the caller's id and
/// `Auto-Submitted: auto-generated` (RFC 3834) so that out-of-office replies are not sent back.
pub fn compose(context: &ReminderContext, envelope: &Envelope) -> Result<OutgoingMessage, MailError> {
    let text = context.render()?;
    build(envelope, text.subject, text.body)
}

/// A service notice to the Secretariat (such as a failed fixity check): plain text the caller
/// wrote, with the same headers as a reminder.
pub fn compose_notice(envelope: &Envelope, subject: &str, body: &str) -> Result<OutgoingMessage, MailError> {
    build(envelope, subject.to_owned(), body.to_owned())
}

/// A message id unique to this server: `mmr-<local>@<host of the public URL>` (`mmr.invalid`
/// when the URL has no host), so a duplicate delivery is recognisable by its `Message-ID`.
pub fn message_id_on(local: &str, public_url: &str) -> String {
    let rest = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next().filter(|h| !h.is_empty()).unwrap_or("mmr.invalid");
    format!("mmr-{local}@{host}")
}

/// Builds the lettre message from already rendered text.
fn build(envelope: &Envelope, subject: String, body: String) -> Result<OutgoingMessage, MailError> {
    let message_id = message_id(&envelope.message_id)?;
    if envelope.to.is_empty() {
        return Err(MailError::NoRecipient);
    }
    let from = mailbox("from", &envelope.from)?;
    let to = envelope.to.iter().map(|address| mailbox("to", address)).collect::<Result<Vec<_>, _>>()?;
    let cc = envelope.cc.iter().map(|address| mailbox("cc", address)).collect::<Result<Vec<_>, _>>()?;

    let mut builder: MessageBuilder = Message::builder()
        .from(from.clone())
        .subject(subject.clone())
        .message_id(Some(format!("<{message_id}>")))
        .header(ContentType::TEXT_PLAIN)
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_owned()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".to_owned()));
    for mailbox in &to {
        builder = builder.to(mailbox.clone());
    }
    for mailbox in &cc {
        builder = builder.cc(mailbox.clone());
    }
    let message = builder.body(body.clone()).map_err(|e| MailError::Build(e.to_string()))?;

    Ok(OutgoingMessage {
        from: from.to_string(),
        to: to.iter().map(Mailbox::to_string).collect(),
        cc: cc.iter().map(Mailbox::to_string).collect(),
        subject,
        body,
        message_id,
        message,
    })
}

fn mailbox(field: &'static str, address: &str) -> Result<Mailbox, MailError> {
    address.trim().parse::<Mailbox>().map_err(|e| MailError::InvalidAddress { field, reason: e.to_string() })
}

/// Checks an RFC 5322 `msg-id` (`dot-atom-text "@" dot-atom-text`) and returns it without
/// brackets.
fn message_id(id: &str) -> Result<String, MailError> {
    let id = id.trim();
    let id = id.strip_prefix('<').and_then(|inner| inner.strip_suffix('>')).unwrap_or(id);
    if id.is_empty() || id.len() > 250 {
        return Err(MailError::InvalidMessageId("must be between 1 and 250 characters"));
    }
    let (left, right) = id.split_once('@').ok_or(MailError::InvalidMessageId("must have the form left@right"))?;
    let dot_atom = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && !part.ends_with('.')
            && !part.contains("..")
            && part.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
    };
    if !dot_atom(left) || !dot_atom(right) {
        return Err(MailError::InvalidMessageId(
            "may only contain ASCII letters, digits, dots and !#$%&'*+-/=?^_`{|}~ around one @",
        ));
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from: "UNESCO Creative Cities <ccn@example.org>".to_owned(),
            to: vec!["focal@ghent.example".to_owned()],
            cc: vec![],
            message_id: "reminder-1@mmr.example.org".to_owned(),
        }
    }

    #[test]
    fn message_ids_use_the_public_host() {
        assert_eq!(message_id_on("a.1", "https://mmr.example.org/base"), "mmr-a.1@mmr.example.org");
        assert_eq!(message_id_on("a.1", "http://127.0.0.1:8080"), "mmr-a.1@127.0.0.1");
        assert_eq!(message_id_on("a.1", ""), "mmr-a.1@mmr.invalid");
    }

    #[test]
    fn message_ids_are_checked_and_bracketed_once() {
        assert_eq!(message_id("<a.b@c>").ok().as_deref(), Some("a.b@c"));
        assert_eq!(message_id("a-1@c.d").ok().as_deref(), Some("a-1@c.d"));
        for bad in ["", "no-at", "a@", "@b", "a b@c", "a@b@c", "a\r\nX: y@c", "é@c", "a..b@c"] {
            assert!(message_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn addresses_are_checked_without_echoing_them() {
        let mut bad = envelope();
        bad.to = vec!["not an address".to_owned()];
        let err = build(&bad, "s".into(), "b".into()).expect_err("invalid address");
        assert!(matches!(err, MailError::InvalidAddress { field: "to", .. }));
        assert!(!err.to_string().contains("not an address"));

        let mut none = envelope();
        none.to.clear();
        assert!(matches!(build(&none, "s".into(), "b".into()), Err(MailError::NoRecipient)));
    }

    #[test]
    fn headers_carry_id_content_type_and_auto_submitted() {
        let msg = build(&envelope(), "Réunion".into(), "Bonjour\n".into()).expect("builds");
        let text = String::from_utf8(msg.formatted()).expect("ASCII headers");
        assert!(text.contains("Message-ID: <reminder-1@mmr.example.org>\r\n"));
        assert!(text.contains("Content-Type: text/plain; charset=utf-8\r\n"));
        assert!(text.contains("Auto-Submitted: auto-generated\r\n"));
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
    }
}
