//! The message templates of `report_templates/mail/<language>/<template>.txt`, embedded in the
//! binary, and the placeholder substitution that fills them.
//!
//! A template file starts with a `Subject: ` line, then an empty line, then the plain-text body.
//! `{name}` is a placeholder for one of the values `ReminderContext::render` supplies. Substitution is a single
//! pass, so a value that contains braces is never expanded again. The tests check every template
//! of every language against these rules, and that the directory holds no template the code does
//! not embed.

use crate::domain::reminders::Relation;
use crate::mail::MailError;
use crate::mail::reminder::{Language, ReminderKind, RenderedText};

/// Every placeholder a template may use; `ReminderContext::render` supplies each of them.
#[cfg(test)]
pub(crate) const PLACEHOLDERS: [&str; 16] = [
    "greeting",
    "city_name",
    "de_city_name",
    "field_name",
    "cycle_number",
    "period",
    "deadline",
    "deadline_date",
    "extension_note",
    "days",
    "secretariat_email",
    "report_url",
    "formal_number",
    "formal_count",
    "formal_ordinal",
    "formal_ordinal_title",
];

/// One template file stem, shared by all languages: a kind of reminder and where the day it is
/// sent stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    Upcoming,
    DueToday,
    Overdue,
    FormalFirst,
    FormalFurther,
    RevisionUpcoming,
    RevisionDue,
    RevisionOverdue,
}

impl Template {
    #[cfg(test)]
    pub(crate) const ALL: [Template; 8] = [
        Template::Upcoming,
        Template::DueToday,
        Template::Overdue,
        Template::FormalFirst,
        Template::FormalFurther,
        Template::RevisionUpcoming,
        Template::RevisionDue,
        Template::RevisionOverdue,
    ];

    /// The template for a kind of reminder sent on a day standing so against its deadline: a
    /// deadline reminder sent late says the report is overdue, not due. The first formal reminder
    /// has its own wording, the second and later ones share the one that mentions leaving the
    /// Network. `None` for a formal reminder before the deadline has passed, which no city may be
    /// sent.
    pub(crate) fn choose(kind: ReminderKind, relation: Relation) -> Option<Template> {
        Some(match (kind, relation) {
            (ReminderKind::Deadline, Relation::Before(_)) => Template::Upcoming,
            (ReminderKind::Deadline, Relation::Today) => Template::DueToday,
            (ReminderKind::Deadline, Relation::After(_)) => Template::Overdue,
            (ReminderKind::Formal { .. }, Relation::Before(_) | Relation::Today) => return None,
            (ReminderKind::Formal { number, .. }, Relation::After(_)) if number <= 1 => Template::FormalFirst,
            (ReminderKind::Formal { .. }, Relation::After(_)) => Template::FormalFurther,
            (ReminderKind::Revision, Relation::Before(_)) => Template::RevisionUpcoming,
            (ReminderKind::Revision, Relation::Today) => Template::RevisionDue,
            (ReminderKind::Revision, Relation::After(_)) => Template::RevisionOverdue,
        })
    }

    /// File stem in the template directory.
    pub(crate) fn stem(self) -> &'static str {
        match self {
            Template::Upcoming => "upcoming",
            Template::DueToday => "due_today",
            Template::Overdue => "overdue",
            Template::FormalFirst => "formal_first",
            Template::FormalFurther => "formal_further",
            Template::RevisionUpcoming => "revision_upcoming",
            Template::RevisionDue => "revision_due",
            Template::RevisionOverdue => "revision_overdue",
        }
    }

    /// The embedded file text. The match is exhaustive over (language, template), so a language
    /// without every template does not compile.
    pub(crate) fn source(self, language: Language) -> &'static str {
        macro_rules! file {
            ($lang:literal, $stem:literal) => {
                include_str!(concat!("../../report_templates/mail/", $lang, "/", $stem, ".txt"))
            };
        }
        match (language, self) {
            (Language::En, Template::Upcoming) => file!("en", "upcoming"),
            (Language::En, Template::DueToday) => file!("en", "due_today"),
            (Language::En, Template::Overdue) => file!("en", "overdue"),
            (Language::En, Template::FormalFirst) => file!("en", "formal_first"),
            (Language::En, Template::FormalFurther) => file!("en", "formal_further"),
            (Language::En, Template::RevisionUpcoming) => file!("en", "revision_upcoming"),
            (Language::En, Template::RevisionDue) => file!("en", "revision_due"),
            (Language::En, Template::RevisionOverdue) => file!("en", "revision_overdue"),
            (Language::Fr, Template::Upcoming) => file!("fr", "upcoming"),
            (Language::Fr, Template::DueToday) => file!("fr", "due_today"),
            (Language::Fr, Template::Overdue) => file!("fr", "overdue"),
            (Language::Fr, Template::FormalFirst) => file!("fr", "formal_first"),
            (Language::Fr, Template::FormalFurther) => file!("fr", "formal_further"),
            (Language::Fr, Template::RevisionUpcoming) => file!("fr", "revision_upcoming"),
            (Language::Fr, Template::RevisionDue) => file!("fr", "revision_due"),
            (Language::Fr, Template::RevisionOverdue) => file!("fr", "revision_overdue"),
        }
    }
}

/// Splits a template file into its subject line and body.
fn split(template: Template, language: Language) -> Result<(&'static str, &'static str), MailError> {
    let malformed = |reason: &str| MailError::Template {
        language: language.code(),
        template: template.stem(),
        reason: reason.to_owned(),
    };
    let source = template.source(language);
    let rest =
        source.strip_prefix("Subject: ").ok_or_else(|| malformed("the first line must start with `Subject: `"))?;
    let (subject, body) =
        rest.split_once("\n\n").ok_or_else(|| malformed("an empty line must follow the subject line"))?;
    if subject.contains('\n') || subject.trim().is_empty() {
        return Err(malformed("the subject must be one non-empty line"));
    }
    Ok((subject, body.trim_end()))
}

/// Fills a template's subject and body with `values`, which must name every placeholder used.
pub(crate) fn render(
    template: Template,
    language: Language,
    values: &[(&str, String)],
) -> Result<RenderedText, MailError> {
    let (subject, body) = split(template, language)?;
    let fill = |text: &str| {
        substitute(text, values).map_err(|reason| MailError::Template {
            language: language.code(),
            template: template.stem(),
            reason,
        })
    };
    Ok(RenderedText { subject: fill(subject)?, body: format!("{}\n", fill(body)?) })
}

/// Replaces each `{name}` in `text` by its value, in one pass.
fn substitute(text: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| "a `{` is not closed by `}`".to_owned())?;
        let name = &after[..close];
        let value = values
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| value)
            .ok_or_else(|| format!("unknown placeholder {{{name}}}"))?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` has no matching `{`".to_owned());
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn every_placeholder() -> Vec<(&'static str, String)> {
        PLACEHOLDERS.iter().map(|name| (*name, format!("<{name}>"))).collect()
    }

    /// Names of the placeholders used in `text`.
    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let close = after.find('}').unwrap_or(after.len());
            names.insert(after[..close].to_owned());
            rest = &after[close.min(after.len())..];
        }
        names
    }

    #[test]
    fn every_template_of_every_language_parses_and_uses_known_placeholders() {
        let known: BTreeSet<String> = PLACEHOLDERS.iter().map(|s| s.to_string()).collect();
        for language in Language::ALL {
            for template in Template::ALL {
                let (subject, body) = split(template, language)
                    .unwrap_or_else(|e| panic!("{}/{}: {e}", language.code(), template.stem()));
                let used: BTreeSet<String> = placeholders(subject).union(&placeholders(body)).cloned().collect();
                let unknown: Vec<_> = used.difference(&known).collect();
                assert!(
                    unknown.is_empty(),
                    "{}/{} uses unknown placeholders {unknown:?}",
                    language.code(),
                    template.stem()
                );
                let names_city =
                    |names: &BTreeSet<String>| names.contains("city_name") || names.contains("de_city_name");
                assert!(
                    names_city(&placeholders(body)),
                    "{}/{} body does not name the city",
                    language.code(),
                    template.stem()
                );
                for required in ["greeting", "deadline", "secretariat_email"] {
                    assert!(
                        placeholders(body).contains(required),
                        "{}/{} body lacks {{{required}}}",
                        language.code(),
                        template.stem()
                    );
                }
                assert!(
                    names_city(&placeholders(subject)),
                    "{}/{} subject does not name the city",
                    language.code(),
                    template.stem()
                );
                let rendered = render(template, language, &every_placeholder()).unwrap_or_else(|e| panic!("{e}"));
                assert!(!rendered.subject.contains(['{', '}']));
                assert!(!rendered.body.contains(['{', '}']));
            }
        }
    }

    #[test]
    fn the_template_directory_holds_exactly_the_embedded_templates() {
        // file!() is relative to the package root (the test's working directory) in the main
        // crate, and absolute when the module is compiled through a #[path] attribute elsewhere.
        let dir = Path::new(file!())
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .expect("src/mail/templates.rs has three ancestors")
            .join("report_templates/mail");
        let mut on_disk = BTreeSet::new();
        for language in std::fs::read_dir(&dir).expect("report_templates/mail exists") {
            let language = language.expect("readable entry").path();
            for file in std::fs::read_dir(&language).expect("language directory") {
                let file = file.expect("readable entry").path();
                let rel = file.strip_prefix(&dir).expect("inside dir");
                on_disk.insert(rel.to_string_lossy().into_owned());
            }
        }
        let embedded: BTreeSet<String> = Language::ALL
            .iter()
            .flat_map(|l| Template::ALL.iter().map(move |t| format!("{}/{}.txt", l.code(), t.stem())))
            .collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn french_templates_use_french_spacing_and_apostrophes() {
        for template in Template::ALL {
            let text = template.source(Language::Fr);
            for (bad, why) in [
                (" :", "no-break space before a colon"),
                (" ;", "narrow no-break space before a semicolon"),
                (" ?", "narrow no-break space before a question mark"),
                (" !", "narrow no-break space before an exclamation mark"),
                ("'", "typographic apostrophe"),
                ("n° ", "no-break space after n°"),
            ] {
                assert!(!text.contains(bad), "fr/{}: use a {why} (found {bad:?})", template.stem());
            }
        }
    }

    #[test]
    fn substitution_is_single_pass_and_rejects_unknown_names() {
        let values = [("city_name", "{link}".to_owned()), ("link", "L".to_owned())];
        assert_eq!(substitute("{city_name} {link}", &values).as_deref(), Ok("{link} L"));
        assert!(substitute("{nope}", &values).is_err());
        assert!(substitute("{city_name", &values).is_err());
        assert!(substitute("city}", &values).is_err());
    }
}
