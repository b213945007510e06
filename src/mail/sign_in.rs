//! The message that carries single-use sign-in links, in the recipient's language.

use crate::mail::message::{Envelope, OutgoingMessage, compose_notice};
use crate::mail::{Language, MailError};

/// One way the recipient may sign in: what it signs in as (a city, a field, the Secretariat)
/// and the link's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLink {
    pub label: String,
    pub url: String,
}

/// The sign-in message: each link on a line of its own under what it signs in as, how long the
/// links last, and what to do with a message one did not ask for.
pub fn compose_sign_in(
    envelope: &Envelope,
    language: Language,
    links: &[SignInLink],
    minutes: i64,
) -> Result<OutgoingMessage, MailError> {
    if links.is_empty() {
        return Err(MailError::NoRecipient);
    }
    let mut body = String::new();
    let (subject, intro, each, outro) = match language {
        Language::En => (
            "Your sign-in link to the MMR system",
            "Someone, probably you, asked to sign in to the UNESCO Creative Cities Network's \
             Membership Monitoring Report system with this address.",
            "Sign in as",
            format!(
                "Each link works once, for {minutes} minutes. If you did not ask to sign in, you can \
                 ignore this message: nothing happens unless a link is opened."
            ),
        ),
        Language::Fr => (
            "Votre lien de connexion au système MMR",
            "Quelqu’un, sans doute vous, a demandé à se connecter avec cette adresse au système des \
             rapports de suivi des membres du Réseau des villes créatives de l’UNESCO.",
            "Se connecter en tant que",
            format!(
                "Chaque lien ne sert qu’une fois, pendant {minutes}\u{a0}minutes. Si vous n’avez pas \
                 demandé à vous connecter, ignorez ce message : rien ne se passe tant qu’aucun lien \
                 n’est ouvert."
            ),
        ),
    };
    body.push_str(intro);
    body.push_str("\n\n");
    for link in links {
        let colon = if language == Language::Fr { "\u{a0}:" } else { ":" };
        body.push_str(&format!("{each} {}{colon}\n{}\n\n", link.label, link.url));
    }
    body.push_str(&outro);
    body.push_str("\n\n-- \nSecretariat of the UNESCO Creative Cities Network\n");
    compose_notice(envelope, subject, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from: "UNESCO Creative Cities <ccn@example.org>".into(),
            to: vec!["anna@ostersund.example".into()],
            cc: Vec::new(),
            message_id: "sign-in.1@mmr.example".into(),
        }
    }

    #[test]
    fn links_each_on_their_own_line_in_the_language() {
        let links = [
            SignInLink { label: "Östersund".into(), url: "https://mmr.example/sign-in/link/abc".into() },
            SignInLink { label: "the Secretariat".into(), url: "https://mmr.example/sign-in/link/def".into() },
        ];
        let fr_links =
            [SignInLink { label: "Secrétariat".into(), url: "https://mmr.example/sign-in/link/def".into() }];
        let en = compose_sign_in(&envelope(), Language::En, &links, 15).unwrap();
        assert!(en.body().contains("Sign in as Östersund:\nhttps://mmr.example/sign-in/link/abc\n"));
        assert!(en.body().contains("for 15 minutes"));
        let fr = compose_sign_in(&envelope(), Language::Fr, &fr_links, 15).unwrap();
        assert_eq!(fr.subject(), "Votre lien de connexion au système MMR");
        assert!(
            fr.body().contains("Se connecter en tant que Secrétariat\u{a0}:\nhttps://mmr.example/sign-in/link/def")
        );
        assert!(compose_sign_in(&envelope(), Language::En, &[], 15).is_err());
    }
}
