//! Delivery over SMTP through lettre's blocking transport, configured from `MMR_SMTP_URL`.
//!
//! Each send opens one connection, so a stalled server costs at most the timeout per step and
//! never blocks later sends. Errors are split for the retry logic: a 5xx reply is
//! [`MailError::Rejected`] (permanent); 4xx replies, refused connections, timeouts and TLS or
//! network failures are [`MailError::Unavailable`] (transient).

use std::time::Duration;

use lettre::Transport as _;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use url::Url;

use crate::mail::{MailError, OutgoingMessage, Transport};

/// Settings that are not part of the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpOptions {
    /// Bound on connecting and on each read or write (default 30 s).
    pub timeout: Duration,
    /// An extra PEM certificate authority to trust besides the public web roots, for a relay
    /// with a private CA (and for the tests' self-signed server).
    pub extra_root_certificate_pem: Option<Vec<u8>>,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), extra_root_certificate_pem: None }
    }
}

/// How the URL asks for encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    None,
    Opportunistic,
    StartTls,
    Implicit,
}

/// An SMTP relay.
pub struct SmtpTransport {
    inner: lettre::SmtpTransport,
}

impl SmtpTransport {
    /// Builds the transport from `MMR_SMTP_URL` with the default [`SmtpOptions`].
    ///
    /// Accepted forms (lettre's URL format, plus `tls=starttls` as a synonym of `tls=required`):
    /// - `smtp://host:port` — plain SMTP, for a local relay or tests (port 25 by default);
    /// - `smtp://user:pass@host:587?tls=required` (or `?tls=starttls`) — STARTTLS, which must
    ///   succeed before anything else is sent (port 587 by default);
    /// - `smtp://host:587?tls=opportunistic` — STARTTLS when offered, plain otherwise (no
    ///   credentials allowed);
    /// - `smtps://user:pass@host:465` — implicit TLS (port 465 by default).
    ///
    /// User and password are percent-encoded. A path (`smtp://host/ehlo.name`) sets the EHLO name.
    /// Credentials are refused unless the connection is always encrypted, so a password is never
    /// sent in clear text. Certificates are checked against the Mozilla root set.
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        Self::with_options(url, &SmtpOptions::default())
    }

    /// Builds the transport from a URL (see [`SmtpTransport::from_url`]) and explicit options.
    pub fn with_options(url: &str, options: &SmtpOptions) -> Result<Self, MailError> {
        // Error messages never repeat the URL: it may hold a password.
        let mut parsed = Url::parse(url).map_err(|e| MailError::Config(e.to_string()))?;
        let tls = parsed.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
        let encryption = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => Encryption::None,
            ("smtp", Some("opportunistic")) => Encryption::Opportunistic,
            ("smtp", Some("required" | "starttls")) => Encryption::StartTls,
            ("smtps", None) => Encryption::Implicit,
            ("smtp" | "smtps", Some(other)) => {
                return Err(MailError::Config(format!(
                    "unknown tls={other}; use tls=required, tls=starttls or tls=opportunistic \
                     with smtp://, or smtps:// for implicit TLS"
                )));
            }
            (scheme, _) => {
                return Err(MailError::Config(format!("unknown scheme {scheme}://; use smtp:// or smtps://")));
            }
        };
        let has_credentials = !parsed.username().is_empty() || parsed.password().is_some();
        if has_credentials && matches!(encryption, Encryption::None | Encryption::Opportunistic) {
            return Err(MailError::Config(
                "credentials would be sent unencrypted; use smtps:// or add ?tls=required".into(),
            ));
        }
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| MailError::Config("the URL has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if encryption == Encryption::StartTls {
            // lettre only knows `tls=required`.
            let query: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(key, value)| {
                    let value = if key == "tls" { "required".into() } else { value };
                    (key.into_owned(), value.into_owned())
                })
                .collect();
            parsed.query_pairs_mut().clear().extend_pairs(query);
        }

        let mut builder = lettre::SmtpTransport::from_url(parsed.as_str())
            .map_err(|e| MailError::Config(e.to_string()))?
            .timeout(Some(options.timeout));
        if let Some(pem) = &options.extra_root_certificate_pem {
            let certificate = Certificate::from_pem(pem)
                .map_err(|e| MailError::Config(format!("the extra root certificate is unusable: {e}")))?;
            let parameters = TlsParameters::builder(host)
                .add_root_certificate(certificate)
                .build()
                .map_err(|e| MailError::Config(e.to_string()))?;
            builder = match encryption {
                Encryption::None => builder,
                Encryption::Opportunistic => builder.tls(Tls::Opportunistic(parameters)),
                Encryption::StartTls => builder.tls(Tls::Required(parameters)),
                Encryption::Implicit => builder.tls(Tls::Wrapper(parameters)),
            };
        }
        Ok(Self { inner: builder.build() })
    }
}

impl Transport for SmtpTransport {
    fn send(&self, message: &OutgoingMessage) -> Result<(), MailError> {
        match self.inner.send(message.lettre_message()) {
            Ok(_) => {
                tracing::debug!(message.id = %message.message_id(), "SMTP server accepted the message");
                Ok(())
            }
            Err(error) if error.is_permanent() => {
                tracing::warn!(message.id = %message.message_id(), %error, "SMTP server rejected the message");
                Err(MailError::Rejected(error.to_string()))
            }
            Err(error) => {
                tracing::warn!(message.id = %message.message_id(), %error, "SMTP delivery failed, will be retried");
                Err(MailError::Unavailable(error.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error(url: &str) -> String {
        match SmtpTransport::from_url(url) {
            Err(MailError::Config(reason)) => reason,
            Err(other) => panic!("{url}: unexpected error {other}"),
            Ok(_) => panic!("{url}: accepted"),
        }
    }

    #[test]
    fn accepts_the_documented_forms() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://relay.example.org",
            "smtp://user:p%40ss@relay.example.org:587?tls=required",
            "smtp://user:pass@relay.example.org:587?tls=starttls",
            "smtp://relay.example.org:587?tls=opportunistic",
            "smtps://user:pass@relay.example.org",
            "smtp://[::1]:2525/mmr.example.org",
        ] {
            assert!(SmtpTransport::from_url(url).is_ok(), "{url} refused");
        }
    }

    #[test]
    fn refuses_unknown_schemes_modes_and_clear_text_passwords() {
        assert!(config_error("http://relay.example.org").contains("smtp://"));
        assert!(config_error("smtp://relay.example.org?tls=maybe").contains("tls=maybe"));
        let reason = config_error("smtp://user:secret@relay.example.org:25");
        assert!(reason.contains("unencrypted"));
        assert!(!reason.contains("secret"));
        assert!(config_error("not a url").contains("relative URL"));
        let shown = MailError::Config(config_error("smtp://u:secret@h?tls=opportunistic"));
        assert!(shown.to_string().starts_with("MMR_SMTP_URL is invalid"));
    }
}
