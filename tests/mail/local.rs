//! The transports that need no server: `.eml` files, memory, and the choice from configuration.

use std::sync::Arc;

use mmr::mail::{
    EmlDirTransport, Language, MailError, MemoryTransport, ReminderKind, SimulatedFailure, Transport, compose,
    transport_from_config,
};

use crate::fixtures::{context, envelope};

#[test]
fn eml_files_are_whole_messages_named_after_the_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("mail/outbox");
    let transport = EmlDirTransport::new(&target).expect("creates the directory");
    let msg =
        compose(&context(Language::Fr, ReminderKind::Deadline), &envelope("cycle-4/stage-180/contact-7")).expect("ok");
    transport.send(&msg).expect("written");

    let names: Vec<String> = std::fs::read_dir(&target)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    let name = &names[0];
    assert!(name.ends_with("-cycle-4_stage-180_contact-7@mmr.example.org.eml"), "{name}");
    assert!(name.starts_with("20"), "{name}");
    let written = std::fs::read(target.join(name)).expect("readable");
    assert_eq!(written, msg.formatted());
}

#[test]
fn config_without_smtp_url_writes_eml_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = compose(&context(Language::En, ReminderKind::Deadline), &envelope("c")).expect("ok");
    for (n, url) in [None, Some(""), Some("  ")].into_iter().enumerate() {
        let out = dir.path().join(format!("out{n}"));
        let transport = transport_from_config(url, &out).expect("eml transport");
        transport.send(&msg).expect("written");
        assert_eq!(std::fs::read_dir(&out).expect("exists").count(), 1);
    }
}

#[test]
fn config_errors_name_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = transport_from_config(Some("ftp://mail.example.org"), dir.path()).err().expect("refused");
    assert!(err.to_string().contains("MMR_SMTP_URL"), "{err}");

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let err = transport_from_config(None, &file.join("mail")).err().expect("refused");
    assert!(matches!(err, MailError::EmlDir { .. }));
    assert!(err.to_string().contains("MMR_SMTP_URL is not set"), "{err}");

    assert!(transport_from_config(Some("smtp://127.0.0.1:2525"), dir.path()).is_ok());
}

#[test]
fn memory_transport_records_and_fails_on_demand() {
    let memory = Arc::new(MemoryTransport::new());
    let transport: Box<dyn Transport> = Box::new(Arc::clone(&memory));
    let msg = compose(&context(Language::En, ReminderKind::Deadline), &envelope("m")).expect("ok");

    memory.fail_next(2, SimulatedFailure::Transient);
    memory.fail_next(1, SimulatedFailure::Permanent);
    let outcomes: Vec<Option<bool>> = (0..4).map(|_| transport.send(&msg).err().map(|e| e.is_permanent())).collect();
    assert_eq!(outcomes, [Some(false), Some(false), Some(true), None]);

    let sent = memory.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message_id(), "m@mmr.example.org");
    assert_eq!(sent[0].to(), ["Anna Svensson <focal@ostersund.example>"]);
    assert_eq!(sent[0].cc(), ["coordinator@gastronomy.example"]);
}
