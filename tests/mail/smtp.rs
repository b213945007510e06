//! SMTP delivery against a real server process: acceptance with the right headers in both
//! languages, 550 as a permanent error, 451 and unreachable or silent servers as transient ones,
//! and STARTTLS with a certificate authority generated for the test.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use mmr::mail::{Language, MailError, OutgoingMessage, ReminderKind, SmtpOptions, SmtpTransport, Transport, compose};

use crate::fixtures::{context, envelope};
use crate::server::SmtpServer;

fn transport(url: &str, timeout: Duration) -> SmtpTransport {
    let options = SmtpOptions { timeout, ..SmtpOptions::default() };
    SmtpTransport::with_options(url, &options).expect("valid URL")
}

fn header<'a>(record: &'a serde_json::Value, name: &str) -> &'a str {
    record["headers"][name].as_str().unwrap_or_else(|| panic!("no {name} header in {record}"))
}

fn assert_delivered(record: &serde_json::Value, msg: &OutgoingMessage) {
    assert_eq!(header(record, "Subject"), msg.subject());
    assert_eq!(header(record, "From"), "UNESCO Creative Cities Network <ccn@unesco.example>");
    assert_eq!(header(record, "To"), "Anna Svensson <focal@ostersund.example>");
    assert_eq!(header(record, "Cc"), "coordinator@gastronomy.example");
    assert_eq!(header(record, "Message-ID"), format!("<{}>", msg.message_id()));
    assert_eq!(header(record, "Auto-Submitted"), "auto-generated");
    assert_eq!(record["content_type"], "text/plain");
    assert_eq!(record["charset"], "utf-8");
    assert!(record["headers"].get("Date").is_some());
    assert_eq!(record["mail_from"], "ccn@unesco.example");
    assert_eq!(record["rcpt_tos"], serde_json::json!(["focal@ostersund.example", "coordinator@gastronomy.example"]));
    // lettre ends DATA with CRLF "." CRLF even after a final CRLF, so the server sees one more
    // line end than the message has.
    let body = record["body"].as_str().expect("text body").replace("\r\n", "\n");
    assert_eq!(body.trim_end(), msg.body().trim_end());
}

#[test]
fn accepted_messages_arrive_with_their_headers_in_both_languages() {
    let server = SmtpServer::start();
    let smtp = transport(&server.url(), Duration::from_secs(10));
    let english = compose(
        &context(Language::En, ReminderKind::Formal { number: 2, of: 2 }),
        &envelope("cycle-4.stage-overdue-2.contact-7"),
    )
    .expect("ok");
    let mut french_context = context(Language::Fr, ReminderKind::Deadline);
    french_context.city_name = "Saint-Étienne".to_owned();
    let french = compose(&french_context, &envelope("cycle-4.stage-180.contact-7")).expect("ok");

    smtp.send(&english).expect("accepted");
    smtp.send(&french).expect("accepted");

    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_delivered(&received[0], &english);
    assert_delivered(&received[1], &french);
    assert_eq!(
        header(&received[1], "Subject"),
        "Rapport de suivi de l’adhésion de Saint-Étienne à remettre dans 14\u{a0}jours"
    );
    let body = received[1]["body"].as_str().expect("body");
    assert!(body.contains("le 30 novembre 2026 à 23\u{a0}h\u{a0}59 (Europe/Stockholm)"));
    assert_eq!(received[0]["tls"], false);
}

#[test]
fn a_rejected_recipient_is_a_permanent_error() {
    let server = SmtpServer::start();
    let smtp = transport(&server.url(), Duration::from_secs(10));
    let mut to_reject = envelope("r");
    to_reject.to = vec!["reject-me@ostersund.example".to_owned()];
    to_reject.cc.clear();
    let msg = compose(&context(Language::En, ReminderKind::Deadline), &to_reject).expect("ok");

    let err = smtp.send(&msg).expect_err("rejected");
    assert!(matches!(err, MailError::Rejected(_)), "{err}");
    assert!(err.is_permanent());
    assert!(err.to_string().contains("550"), "{err}");
    assert!(server.received().is_empty());
}

#[test]
fn a_deferred_recipient_is_a_transient_error() {
    let server = SmtpServer::start();
    let smtp = transport(&server.url(), Duration::from_secs(10));
    let mut to_defer = envelope("d");
    to_defer.to = vec!["defer@ostersund.example".to_owned()];
    let msg = compose(&context(Language::Fr, ReminderKind::Deadline), &to_defer).expect("ok");

    let err = smtp.send(&msg).expect_err("deferred");
    assert!(matches!(err, MailError::Unavailable(_)), "{err}");
    assert!(!err.is_permanent());
    assert!(err.to_string().contains("451"), "{err}");
    assert!(server.received().is_empty());
}

#[test]
fn a_server_that_is_down_is_a_quick_transient_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let smtp = transport(&format!("smtp://127.0.0.1:{port}"), Duration::from_secs(5));
    let msg = compose(&context(Language::En, ReminderKind::Deadline), &envelope("down")).expect("ok");

    let started = Instant::now();
    let err = smtp.send(&msg).expect_err("nobody listens");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(matches!(err, MailError::Unavailable(_)), "{err}");
    assert!(!err.is_permanent());
}

#[test]
fn a_silent_server_times_out_as_a_transient_error() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accepts connections and never says a word.
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let smtp = transport(&format!("smtp://127.0.0.1:{port}"), Duration::from_secs(1));
    let msg = compose(&context(Language::En, ReminderKind::Deadline), &envelope("mute")).expect("ok");

    let started = Instant::now();
    let err = smtp.send(&msg).expect_err("no greeting");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(matches!(err, MailError::Unavailable(_)), "{err}");
}

/// Writes a CA and a server certificate for 127.0.0.1 signed by it; returns the CA's PEM.
fn certificates(dir: &Path) -> Vec<u8> {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=MMR test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
        [&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]].concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    for args in steps {
        let output = Command::new("openssl").args(&args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}): the STARTTLS test needs it (apt-get install openssl)")
        });
        assert!(output.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    std::fs::read(dir.join("ca.pem")).expect("CA certificate")
}

#[test]
fn starttls_delivers_to_a_trusted_server_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = certificates(dir.path());
    let server = SmtpServer::start_tls(&dir.path().join("server.pem"), &dir.path().join("server.key"));
    let url = format!("smtp://127.0.0.1:{}?tls=starttls", server.port());
    let msg = compose(&context(Language::Fr, ReminderKind::Revision), &envelope("tls")).expect("ok");

    let untrusted = transport(&url, Duration::from_secs(10));
    let err = untrusted.send(&msg).expect_err("unknown CA");
    assert!(matches!(err, MailError::Unavailable(_)), "{err}");
    assert!(server.received().is_empty());

    let options = SmtpOptions { timeout: Duration::from_secs(10), extra_root_certificate_pem: Some(ca) };
    let trusted = SmtpTransport::with_options(&url, &options).expect("valid");
    trusted.send(&msg).expect("accepted over TLS");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["tls"], true);
    assert_delivered(&received[0], &msg);
}
