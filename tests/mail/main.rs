//! Integration tests of `mmr::mail`: reminder composition in every language, the `.eml` and
//! memory transports, and SMTP delivery against a real SMTP server process (`smtp_server.py`,
//! which needs Python 3 and `pip install aiosmtpd`; the STARTTLS test also needs the `openssl`
//! command).

mod compose;
mod fixtures;
mod local;
mod server;
mod smtp;
