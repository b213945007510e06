//! Composition: every kind in every language, plurals, dates, and plain-text placeholder values.

use mmr::mail::{Language, MailError, ReminderKind, compose};

use crate::fixtures::{KINDS, context, envelope};

#[test]
fn every_kind_composes_in_every_language() {
    for language in [Language::En, Language::Fr] {
        for kind in KINDS {
            let ctx = context(language, kind);
            let msg = compose(&ctx, &envelope("k")).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            let what = format!("{language:?} {kind:?}");
            assert!(msg.subject().contains("Östersund"), "{what}: {}", msg.subject());
            for text in [msg.subject(), msg.body()] {
                assert!(!text.contains(['{', '}']), "{what}: placeholder left in {text}");
            }
            assert!(msg.body().contains(&ctx.link), "{what}");
            assert!(msg.body().contains("2022\u{2013}2026"), "{what}");
            assert!(msg.body().contains("Europe/Stockholm"), "{what}");
            assert!(msg.body().ends_with(".\n"), "{what}: {:?}", msg.body());
        }
    }
}

#[test]
fn bodies_read_naturally_in_english() {
    let msg = compose(&context(Language::En, ReminderKind::Upcoming), &envelope("u")).expect("ok");
    assert_eq!(msg.subject(), "Membership Monitoring Report of Östersund due in 14 days");
    assert!(msg.body().starts_with("Dear Anna Svensson,\n\n"));
    assert!(msg.body().contains("is due in 14 days, on 30 November 2026 at 23:59 (Europe/Stockholm)."));
}

#[test]
fn day_counts_are_singular_for_one() {
    let mut ctx = context(Language::En, ReminderKind::Upcoming);
    ctx.days = 1;
    let msg = compose(&ctx, &envelope("u")).expect("ok");
    assert!(msg.subject().ends_with("due in 1 day"), "{}", msg.subject());
    ctx.language = Language::Fr;
    let msg = compose(&ctx, &envelope("u")).expect("ok");
    assert!(msg.subject().ends_with("dans 1\u{a0}jour"), "{}", msg.subject());
    ctx.days = 7;
    let msg = compose(&ctx, &envelope("u")).expect("ok");
    assert!(msg.subject().ends_with("dans 7\u{a0}jours"), "{}", msg.subject());
}

#[test]
fn french_uses_french_dates_and_wording() {
    let msg = compose(&context(Language::Fr, ReminderKind::DueToday), &envelope("d")).expect("ok");
    assert_eq!(msg.subject(), "Rapport de suivi de l’adhésion d’Östersund à remettre aujourd’hui");
    assert!(msg.body().starts_with("Bonjour Anna Svensson,\n\n"));
    assert!(msg.body().contains("aujourd’hui, le 30 novembre 2026 à 23\u{a0}h\u{a0}59 (Europe/Stockholm)."));
}

#[test]
fn only_the_second_formal_reminder_mentions_leaving_the_network() {
    let body = |language, formal_number| {
        compose(&context(language, ReminderKind::Overdue { formal_number }), &envelope("o")).expect("ok")
    };
    let first = body(Language::En, 1);
    assert!(first.subject().starts_with("First formal reminder"));
    assert!(!first.body().contains("leave the Network"));
    let second = body(Language::En, 2);
    assert!(second.subject().starts_with("Second formal reminder"));
    assert!(second.body().contains("This is the second formal written reminder."));
    assert!(second.body().contains("UNESCO may invite it to leave the Network"));
    let second = body(Language::Fr, 2);
    assert!(second.subject().starts_with("Deuxième rappel officiel"));
    assert!(second.body().contains("l’UNESCO peut l’inviter à quitter le Réseau"));
    assert!(!body(Language::Fr, 1).body().contains("quitter le Réseau"));
}

#[test]
fn escalation_without_a_name_greets_the_team() {
    let mut ctx = context(Language::En, ReminderKind::Escalation);
    ctx.recipient_name = None;
    ctx.days = 60;
    let msg = compose(&ctx, &envelope("e")).expect("ok");
    assert!(msg.body().starts_with("Dear colleagues,\n"));
    assert!(msg.body().contains("marked as on notice"));
    assert!(msg.subject().contains("60 days overdue"));
    ctx.language = Language::Fr;
    let msg = compose(&ctx, &envelope("e")).expect("ok");
    assert!(msg.body().starts_with("Madame, Monsieur,\n"));
}

#[test]
fn line_breaks_in_values_cannot_create_headers() {
    let mut ctx = context(Language::En, ReminderKind::Upcoming);
    ctx.city_name = "Ghent\r\nBcc: victim@example.org\r\nX-Injected: yes".to_owned();
    ctx.recipient_name = Some("Eve\nSubject: hi".to_owned());
    ctx.field_name = "{link}".to_owned();
    let msg = compose(&ctx, &envelope("i")).expect("ok");
    assert!(!msg.subject().contains(['\r', '\n']));
    assert!(msg.body().contains("(creative field: {link})"), "braces stay literal");
    let bytes = msg.formatted();
    let text = String::from_utf8_lossy(&bytes);
    let (headers, _) = text.split_once("\r\n\r\n").expect("header section");
    for line in headers.split("\r\n") {
        assert!(!line.starts_with("Bcc:"), "{headers}");
        assert!(!line.starts_with("X-Injected:"), "{headers}");
        assert!(!line.starts_with("Subject: hi"), "{headers}");
    }
    assert_eq!(headers.matches("\r\nSubject:").count() + usize::from(headers.starts_with("Subject:")), 1);
}

#[test]
fn inconsistent_contexts_are_refused_permanently() {
    let mut negative = context(Language::En, ReminderKind::Upcoming);
    negative.days = -3;
    let mut zero = context(Language::En, ReminderKind::Overdue { formal_number: 0 });
    zero.days = 1;
    let mut link = context(Language::Fr, ReminderKind::DueToday);
    link.link = "javascript:alert(1)".to_owned();
    for ctx in [negative, zero, link] {
        let err = compose(&ctx, &envelope("x")).expect_err("refused");
        assert!(matches!(err, MailError::InvalidReminder(_)), "{err}");
        assert!(err.is_permanent());
    }
    let mut bad_id = envelope("x");
    bad_id.message_id = "no at sign".to_owned();
    let err = compose(&context(Language::En, ReminderKind::Upcoming), &bad_id).expect_err("id");
    assert!(matches!(err, MailError::InvalidMessageId(_)));
}
