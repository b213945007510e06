//! The message that tells a city what the Secretariat decided on a version of its report: a
//! revision request with the Secretariat's comments and the new deadline, or an acceptance. It
//! goes to every contact of the city, in the city's language, with the field's coordinator in
//! copy, and links to the pages where the person acts (the review page, the draft).

use chrono::NaiveDate;

use crate::mail::message::{Envelope, OutgoingMessage, compose_notice};
use crate::mail::wording::day;
use crate::mail::{Language, MailError};

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// The version is accepted (and archived).
    Accepted,
    /// A revision is asked for by `due`, with the Secretariat's comments.
    Revision { comments: String, due: NaiveDate },
}

/// Everything the decision message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionNotice {
    pub city_name: String,
    /// The reporting period, e.g. `2022–2026`.
    pub period: String,
    pub version: i32,
    pub outcome: DecisionOutcome,
    /// The version's review page, where the comments are read and answered.
    pub review_url: String,
    /// The cycle's drafting page, where the revision is written.
    pub draft_url: String,
}

/// Composes the decision message in `language`.
pub fn compose_decision(
    envelope: &Envelope,
    language: Language,
    notice: &DecisionNotice,
) -> Result<OutgoingMessage, MailError> {
    let DecisionNotice { city_name: city, period, version, review_url, draft_url, .. } = notice;
    let (subject, body) = match (&notice.outcome, language) {
        (DecisionOutcome::Revision { comments, due }, Language::En) => (
            format!("Revision requested: the monitoring report of {city} ({period})"),
            format!(
                "The Secretariat of the UNESCO Creative Cities Network has reviewed version {version} of the \
                 Membership Monitoring Report of {city} for {period} and asks for a revision by {due}.\n\n\
                 The Secretariat's comments:\n\n{comments}\n\n\
                 Read every comment, section by section, and reply on the review page:\n{review_url}\n\n\
                 Revise the report and the action plan, then submit them again, on the drafting page:\n{draft_url}\n",
                due = day(*due, language),
                comments = quoted(comments),
            ),
        ),
        (DecisionOutcome::Revision { comments, due }, Language::Fr) => (
            format!("Révision demandée\u{a0}: le rapport de suivi de {city} ({period})"),
            format!(
                "Le Secrétariat du Réseau des villes créatives de l’UNESCO a examiné la version {version} du \
                 rapport de suivi de {city} pour {period} et demande une révision d’ici le {due}.\n\n\
                 Les commentaires du Secrétariat\u{a0}:\n\n{comments}\n\n\
                 Lisez chaque commentaire, section par section, et répondez sur la page d’examen\u{a0}:\n{review_url}\n\n\
                 Révisez le rapport et le plan d’action, puis soumettez-les à nouveau, sur la page de rédaction\u{a0}:\n{draft_url}\n",
                due = day(*due, language),
                comments = quoted(comments),
            ),
        ),
        (DecisionOutcome::Accepted, Language::En) => (
            format!("Accepted: the monitoring report of {city} ({period})"),
            format!(
                "The Secretariat of the UNESCO Creative Cities Network has accepted version {version} of the \
                 Membership Monitoring Report of {city} for {period}. Thank you.\n\n\
                 The report is kept in the Network's archive as submitted; the Secretariat sets the day it is \
                 published. The accepted version and its comments stay on its page:\n{review_url}\n"
            ),
        ),
        (DecisionOutcome::Accepted, Language::Fr) => (
            format!("Accepté\u{a0}: le rapport de suivi de {city} ({period})"),
            format!(
                "Le Secrétariat du Réseau des villes créatives de l’UNESCO a accepté la version {version} du \
                 rapport de suivi de {city} pour {period}. Merci.\n\n\
                 Le rapport est conservé tel quel dans les archives du Réseau\u{a0}; le Secrétariat fixe le \
                 jour de sa publication. La version acceptée et ses commentaires restent sur sa page\u{a0}:\n{review_url}\n"
            ),
        ),
    };
    let signature = match language {
        Language::En => "Secretariat of the UNESCO Creative Cities Network",
        Language::Fr => "Secrétariat du Réseau des villes créatives de l’UNESCO",
    };
    compose_notice(envelope, &subject, &format!("{body}\n-- \n{signature}\n"))
}

/// The comments set off as a quotation, line by line, so they read as the Secretariat's words.
fn quoted(comments: &str) -> String {
    comments
        .trim()
        .lines()
        .map(|line| if line.is_empty() { ">".to_owned() } else { format!("> {line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from: "UNESCO Creative Cities <ccn@example.org>".into(),
            to: vec!["anna@ostersund.example".into()],
            cc: vec!["coordinator@gastronomy.example".into()],
            message_id: "decision.7@mmr.example".into(),
        }
    }

    fn notice(outcome: DecisionOutcome) -> DecisionNotice {
        DecisionNotice {
            city_name: "Östersund".into(),
            period: "2022–2026".into(),
            version: 2,
            outcome,
            review_url: "https://mmr.example/submissions/7".into(),
            draft_url: "https://mmr.example/cycles/3/draft".into(),
        }
    }

    #[test]
    fn a_revision_request_quotes_the_comments_and_gives_the_deadline_and_both_links() {
        let due = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        let revision = DecisionOutcome::Revision { comments: "Name the partners.\n\nAdd figures.".into(), due };
        let m = compose_decision(&envelope(), Language::En, &notice(revision.clone())).unwrap();
        assert_eq!(m.subject(), "Revision requested: the monitoring report of Östersund (2022–2026)");
        assert!(m.body().contains("version 2 of the Membership Monitoring Report of Östersund for 2022–2026"));
        assert!(m.body().contains("asks for a revision by 31 January 2027."));
        assert!(m.body().contains("> Name the partners.\n>\n> Add figures."));
        assert!(m.body().contains("reply on the review page:\nhttps://mmr.example/submissions/7\n"));
        assert!(m.body().contains("on the drafting page:\nhttps://mmr.example/cycles/3/draft\n"));
        assert_eq!(m.cc(), ["coordinator@gastronomy.example"]);

        let fr = compose_decision(&envelope(), Language::Fr, &notice(revision)).unwrap();
        assert_eq!(fr.subject(), "Révision demandée\u{a0}: le rapport de suivi de Östersund (2022–2026)");
        assert!(fr.body().contains("d’ici le 31 janvier 2027."));
        assert!(fr.body().ends_with("Secrétariat du Réseau des villes créatives de l’UNESCO\n"));
    }

    #[test]
    fn an_acceptance_says_what_happens_next_in_both_languages() {
        let m = compose_decision(&envelope(), Language::En, &notice(DecisionOutcome::Accepted)).unwrap();
        assert_eq!(m.subject(), "Accepted: the monitoring report of Östersund (2022–2026)");
        assert!(m.body().contains("accepted version 2"));
        assert!(m.body().contains("the Secretariat sets the day it is published"));
        assert!(!m.body().contains("/draft"), "nothing is left to draft");
        let fr = compose_decision(&envelope(), Language::Fr, &notice(DecisionOutcome::Accepted)).unwrap();
        assert!(fr.body().contains("a accepté la version 2"));
    }
}
