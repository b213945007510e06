//! Composition: every kind in every language on every kind of day, plurals, dates, and
//! plain-text placeholder values.

use chrono::NaiveDate;
use mmr::mail::{Language, MailError, ReminderKind, compose};

use crate::fixtures::{KINDS, context, envelope, sent_on};

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
            assert!(msg.body().contains("ccn@unesco.example"), "{what}: says where to write");
            assert!(
                msg.body().contains("\nhttps://mmr.unesco.example/cycles/7/draft\n")
                    || msg.body().contains(": https://mmr.unesco.example/cycles/7/draft\n"),
                "{what}: links to the report's page, which a person opens in a browser"
            );
            assert!(msg.body().contains("2022\u{2013}2026"), "{what}");
            assert!(msg.body().contains("Europe/Stockholm"), "{what}");
            assert!(msg.body().ends_with(".\n"), "{what}: {:?}", msg.body());
        }
    }
}

/// What a message says of its deadline, in a language: its subject's ending and a phrase of its
/// body.
fn states(language: Language, kind: ReminderKind, days_after: i64) -> (String, String) {
    let msg = compose(&sent_on(context(language, kind), days_after), &envelope("t")).expect("composes");
    (msg.subject().to_owned(), msg.body().to_owned())
}

/// The table of the issue: each kind of stage on its day, 1 day late and 10 days late, in both
/// languages, says where it stands against the deadline and by how many days.
#[test]
fn every_message_is_true_on_the_day_it_is_sent() {
    use Language::{En, Fr};
    const NBSP: &str = "\u{a0}";
    let formal1 = ReminderKind::Formal { number: 1, of: 2 };
    let formal2 = ReminderKind::Formal { number: 2, of: 2 };
    let cases: Vec<(Language, ReminderKind, i64, String, &str)> = vec![
        // A reminder before the deadline: on its day (7 days before), then late.
        (En, ReminderKind::Deadline, -7, "due in 7 days".into(), "is due in 7 days, on 30 November 2026"),
        (En, ReminderKind::Deadline, -6, "due in 6 days".into(), "is due in 6 days"),
        (En, ReminderKind::Deadline, 0, "due today".into(), "is due today, 30 November 2026 at 23:59"),
        (En, ReminderKind::Deadline, 1, "overdue by 1 day".into(), "The deadline passed 1 day ago"),
        (En, ReminderKind::Deadline, 7, "overdue by 7 days".into(), "The deadline passed 7 days ago"),
        (En, ReminderKind::Deadline, 10, "overdue by 10 days".into(), "The deadline passed 10 days ago"),
        (Fr, ReminderKind::Deadline, -7, format!("à remettre dans 7{NBSP}jours"), "est à remettre dans 7"),
        (Fr, ReminderKind::Deadline, 0, "à remettre aujourd’hui".into(), "est à remettre aujourd’hui"),
        (Fr, ReminderKind::Deadline, 1, format!("en retard de 1{NBSP}jour"), "L’échéance est dépassée de 1"),
        (Fr, ReminderKind::Deadline, 7, format!("en retard de 7{NBSP}jours"), "L’échéance est dépassée de 7"),
        // Formal reminders: on their day (14 and 45 days after), 1 and 10 days late.
        (
            En,
            formal1,
            14,
            "Formal reminder 1 of 2: Membership Monitoring Report of Östersund overdue by 14 days".into(),
            "This is the first formal written reminder.",
        ),
        (En, formal1, 15, "overdue by 15 days".into(), "The deadline passed 15 days ago"),
        (En, formal1, 24, "overdue by 24 days".into(), "The deadline passed 24 days ago"),
        (
            En,
            formal2,
            45,
            "Formal reminder 2 of 2: Membership Monitoring Report of Östersund overdue by 45 days".into(),
            "This is the second formal written reminder.",
        ),
        (En, formal2, 55, "overdue by 55 days".into(), "The deadline passed 55 days ago"),
        (
            Fr,
            formal1,
            14,
            format!(
                "Rappel officiel 1 sur 2{NBSP}: rapport de suivi de l’adhésion d’Östersund en retard de 14{NBSP}jours"
            ),
            "premier rappel écrit officiel",
        ),
        (Fr, formal2, 46, format!("en retard de 46{NBSP}jours"), "deuxième rappel écrit officiel"),
        // Revision reminders: before, on the day, late.
        (
            En,
            ReminderKind::Revision,
            -7,
            "Revised Membership Monitoring Report of Östersund due in 7 days".into(),
            "The revised report is due in 7 days",
        ),
        (En, ReminderKind::Revision, 0, "due today".into(), "is due today"),
        (En, ReminderKind::Revision, 1, "overdue by 1 day".into(), "The deadline passed 1 day ago"),
        (En, ReminderKind::Revision, 10, "overdue by 10 days".into(), "The deadline passed 10 days ago"),
        (Fr, ReminderKind::Revision, 0, "à remettre aujourd’hui".into(), "est à remettre aujourd’hui"),
        (Fr, ReminderKind::Revision, 10, format!("en retard de 10{NBSP}jours"), "L’échéance est dépassée de 10"),
    ];
    for (language, kind, days, subject_end, phrase) in cases {
        let (subject, body) = states(language, kind, days);
        let what = format!("{language:?} {kind:?} {days:+}");
        assert!(subject.ends_with(&subject_end), "{what}: subject {subject:?}");
        assert!(body.contains(phrase), "{what}: body lacks {phrase:?}:\n{body}");
        if days > 0 {
            for untrue in ["due today", "due in", "aujourd’hui", "dans "] {
                assert!(!subject.contains(untrue), "{what}: a late message says {untrue:?}: {subject}");
            }
            for untrue in ["before that time", "avant cette heure"] {
                assert!(!body.contains(untrue), "{what}: a late message says {untrue:?}");
            }
        }
    }
}

#[test]
fn a_moved_deadline_is_stated_with_the_date_it_replaced() {
    let mut ctx = context(Language::En, ReminderKind::Deadline);
    ctx.extended_from = Some(NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"));
    // Sent on the old deadline's day: 30 days before the one in force.
    let msg = compose(&sent_on(ctx.clone(), -30), &envelope("x")).expect("ok");
    assert!(msg.subject().ends_with("due in 30 days"), "{}", msg.subject());
    assert!(msg.body().contains("on 30 November 2026 at 23:59 (Europe/Stockholm) (extended from 31 October 2026)."));
    ctx.language = Language::Fr;
    ctx.field_name = "Gastronomie".to_owned();
    let msg = compose(&sent_on(ctx, 3), &envelope("x")).expect("ok");
    assert!(msg.subject().ends_with("en retard de 3\u{a0}jours"), "{}", msg.subject());
    assert!(msg.body().contains("(prolongé, initialement le 31 octobre 2026)"), "{}", msg.body());
    assert!(msg.body().contains("(domaine créatif\u{a0}: Gastronomie)"), "{}", msg.body());
}

#[test]
fn bodies_read_naturally_in_english() {
    let msg = compose(&context(Language::En, ReminderKind::Deadline), &envelope("u")).expect("ok");
    assert_eq!(msg.subject(), "Membership Monitoring Report of Östersund due in 14 days");
    assert!(msg.body().starts_with("Dear Anna Svensson,\n\n"));
    assert!(msg.body().contains("is due in 14 days, on 30 November 2026 at 23:59 (Europe/Stockholm)."));
}

#[test]
fn day_counts_are_singular_for_one() {
    let ctx = sent_on(context(Language::En, ReminderKind::Deadline), -1);
    let msg = compose(&ctx, &envelope("u")).expect("ok");
    assert!(msg.subject().ends_with("due in 1 day"), "{}", msg.subject());
    let msg = compose(&sent_on(context(Language::Fr, ReminderKind::Deadline), -1), &envelope("u")).expect("ok");
    assert!(msg.subject().ends_with("dans 1\u{a0}jour"), "{}", msg.subject());
    let msg = compose(&sent_on(context(Language::Fr, ReminderKind::Deadline), -7), &envelope("u")).expect("ok");
    assert!(msg.subject().ends_with("dans 7\u{a0}jours"), "{}", msg.subject());
}

#[test]
fn french_uses_french_dates_and_wording() {
    let msg = compose(&sent_on(context(Language::Fr, ReminderKind::Deadline), 0), &envelope("d")).expect("ok");
    assert_eq!(msg.subject(), "Rapport de suivi de l’adhésion d’Östersund à remettre aujourd’hui");
    assert!(msg.body().starts_with("Bonjour Anna Svensson,\n\n"));
    assert!(msg.body().contains("aujourd’hui, le 30 novembre 2026 à 23\u{a0}h\u{a0}59 (Europe/Stockholm)."));
}

#[test]
fn only_the_second_formal_reminder_mentions_leaving_the_network() {
    let body = |language, number| {
        compose(&context(language, ReminderKind::Formal { number, of: 2 }), &envelope("o")).expect("ok")
    };
    let first = body(Language::En, 1);
    assert!(first.subject().starts_with("Formal reminder 1 of 2:"), "{}", first.subject());
    assert!(!first.body().contains("leave the Network"));
    let second = body(Language::En, 2);
    assert!(second.subject().starts_with("Formal reminder 2 of 2:"), "{}", second.subject());
    assert!(second.body().contains("This is the second formal written reminder."));
    assert!(second.body().contains("despite an earlier formal written reminder"));
    assert!(second.body().contains("UNESCO may invite it to leave the Network"));
    let second = body(Language::Fr, 2);
    assert!(second.subject().starts_with("Rappel officiel 2 sur 2\u{a0}:"), "{}", second.subject());
    assert!(second.body().contains("l’UNESCO peut l’inviter à quitter le Réseau"));
    assert!(!body(Language::Fr, 1).body().contains("quitter le Réseau"));
}

#[test]
fn a_message_without_a_name_greets_the_team() {
    let mut ctx = context(Language::En, ReminderKind::Deadline);
    ctx.recipient_name = None;
    let msg = compose(&ctx, &envelope("e")).expect("ok");
    assert!(msg.body().starts_with("Dear colleagues,\n"));
    ctx.language = Language::Fr;
    let msg = compose(&ctx, &envelope("e")).expect("ok");
    assert!(msg.body().starts_with("Madame, Monsieur,\n"));
}

#[test]
fn line_breaks_in_values_cannot_create_headers() {
    let mut ctx = context(Language::En, ReminderKind::Deadline);
    ctx.city_name = "Ghent\r\nBcc: victim@example.org\r\nX-Injected: yes".to_owned();
    ctx.recipient_name = Some("Eve\nSubject: hi".to_owned());
    ctx.field_name = "{secretariat_email}".to_owned();
    let msg = compose(&ctx, &envelope("i")).expect("ok");
    assert!(!msg.subject().contains(['\r', '\n']));
    assert!(msg.body().contains("(creative field: {secretariat_email})"), "braces stay literal");
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
    let zero = context(Language::En, ReminderKind::Formal { number: 0, of: 2 });
    let third_of_two = context(Language::En, ReminderKind::Formal { number: 3, of: 2 });
    // A formal reminder before or on the deadline would be untrue.
    let early = sent_on(context(Language::En, ReminderKind::Formal { number: 1, of: 2 }), 0);
    let mut no_address = context(Language::Fr, ReminderKind::Deadline);
    no_address.secretariat_email = "javascript:alert(1)".to_owned();
    for ctx in [zero, third_of_two, early, no_address] {
        let err = compose(&ctx, &envelope("x")).expect_err("refused");
        assert!(matches!(err, MailError::InvalidReminder(_)), "{err}");
        assert!(err.is_permanent());
    }
    let mut bad_id = envelope("x");
    bad_id.message_id = "no at sign".to_owned();
    let err = compose(&context(Language::En, ReminderKind::Deadline), &bad_id).expect_err("id");
    assert!(matches!(err, MailError::InvalidMessageId(_)));
}
