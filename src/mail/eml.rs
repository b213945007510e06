//! A transport that writes each message as an `.eml` file in a directory, used when
//! `MMR_SMTP_URL` is unset so that a newcomer without a mail server can open what would have been
//! sent in any mail client.
//!
//! Files are named `<UTC timestamp>-<sanitized message id>.eml`, written to a hidden temporary
//! name, fsynced and renamed, so a reader never sees a half-written message.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::mail::{MailError, OutgoingMessage, Transport};

/// Longest message-id part of a file name, to stay far below file-system name limits.
const MAX_ID_CHARS: usize = 120;

/// Writes messages as RFC 5322 files into one directory.
#[derive(Debug, Clone)]
pub struct EmlDirTransport {
    dir: PathBuf,
}

impl EmlDirTransport {
    /// Uses `dir`, creating it (and its parents) if needed.
    pub fn new(dir: &Path) -> Result<Self, MailError> {
        fs::create_dir_all(dir).map_err(|source| MailError::EmlDir { path: dir.to_owned(), source })?;
        Ok(Self { dir: dir.to_owned() })
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, MailError> {
        let target = self.dir.join(name);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| MailError::Io { path, source }
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)
            .map_err(io_error(&temporary))?;
        file.write_all(bytes).map_err(io_error(&temporary))?;
        file.sync_all().map_err(io_error(&temporary))?;
        drop(file);
        fs::rename(&temporary, &target).map_err(io_error(&target))?;
        // Make the rename itself durable.
        File::open(&self.dir).and_then(|dir| dir.sync_all()).map_err(io_error(&self.dir))?;
        Ok(target)
    }
}

impl Transport for EmlDirTransport {
    fn send(&self, message: &OutgoingMessage) -> Result<(), MailError> {
        let name = file_name(&Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string(), message.message_id());
        let path = self.write(&name, &message.formatted())?;
        tracing::info!(message.id = %message.message_id(), path = %path.display(), "mail written as .eml file");
        Ok(())
    }
}

/// `<timestamp>-<id>.eml`, keeping only characters that are safe in any file system.
fn file_name(timestamp: &str, message_id: &str) -> String {
    let id: String = message_id
        .chars()
        .take(MAX_ID_CHARS)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') { c } else { '_' })
        .collect();
    format!("{timestamp}-{id}.eml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_sanitized() {
        assert_eq!(
            file_name("20271130T225900.000Z", "cycle/12+stage=180@mmr.example.org"),
            "20271130T225900.000Z-cycle_12_stage_180@mmr.example.org.eml"
        );
        assert_eq!(file_name("t", "../../etc@x"), "t-.._.._etc@x.eml");
    }
}
