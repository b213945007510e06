//! Language-specific pieces that templates cannot express as fixed text: dates and times, day
//! counts with singular and plural, ordinals and greetings, in English and French.
//!
//! French output follows the usual typographic conventions: `1er` for the first day of a month,
//! `23 h 59` for times, and a no-break space between a number and its unit.

use chrono::{DateTime, NaiveDate, Timelike};
use chrono_tz::Tz;

use crate::mail::reminder::Language;

/// No-break space, used inside French numbers with units so they never split across lines.
const NBSP: char = '\u{a0}';

/// The date alone: `30 November 2027`, `1er décembre 2027`.
pub(crate) fn date(at: &DateTime<Tz>, language: Language) -> String {
    day(at.date_naive(), language)
}

/// A calendar day: `30 November 2027`, `1er décembre 2027`.
pub(crate) fn day(d: NaiveDate, language: Language) -> String {
    let language = match language {
        Language::En => crate::domain::cities::Language::En,
        Language::Fr => crate::domain::cities::Language::Fr,
    };
    language.written_date(d)
}

/// Date, local time and time zone: `30 November 2027 at 23:59 (Europe/Stockholm)`,
/// `30 novembre 2027 à 23 h 59 (Europe/Stockholm)`.
pub(crate) fn deadline(at: &DateTime<Tz>, language: Language) -> String {
    let zone = at.timezone().name();
    let (hour, minute) = (at.hour(), at.minute());
    match language {
        Language::En => format!("{} at {hour:02}:{minute:02} ({zone})", date(at, language)),
        Language::Fr => format!("{} à {hour}{NBSP}h{NBSP}{minute:02} ({zone})", date(at, language)),
    }
}

/// What an extension adds after the deadline it moved: ` (extended from 30 November 2026)`,
/// ` (prolongé, initialement le 30 novembre 2026)`.
pub(crate) fn extended_from(previous: NaiveDate, language: Language) -> String {
    match language {
        Language::En => format!(" (extended from {})", day(previous, language)),
        Language::Fr => format!(" (prolongé, initialement le {})", day(previous, language)),
    }
}

/// A day count with its unit: `1 day`, `12 days`, `1 jour`, `12 jours`.
///
/// English uses the singular for exactly one; French also for zero.
pub(crate) fn days(count: i64, language: Language) -> String {
    match language {
        Language::En if count == 1 => "1 day".to_owned(),
        Language::En => format!("{count} days"),
        Language::Fr if count.abs() <= 1 => format!("{count}{NBSP}jour"),
        Language::Fr => format!("{count}{NBSP}jours"),
    }
}

/// The ordinal of a formal reminder, in lower case: `second`, `deuxième`; numerals past the fifth.
pub(crate) fn ordinal(number: u8, language: Language) -> String {
    let word = match (language, number) {
        (Language::En, 1) => "first",
        (Language::En, 2) => "second",
        (Language::En, 3) => "third",
        (Language::En, 4) => "fourth",
        (Language::En, 5) => "fifth",
        (Language::Fr, 1) => "premier",
        (Language::Fr, 2) => "deuxième",
        (Language::Fr, 3) => "troisième",
        (Language::Fr, 4) => "quatrième",
        (Language::Fr, 5) => "cinquième",
        (Language::En, n) => {
            let suffix = match (n % 100, n % 10) {
                (11..=13, _) => "th",
                (_, 1) => "st",
                (_, 2) => "nd",
                (_, 3) => "rd",
                _ => "th",
            };
            return format!("{n}{suffix}");
        }
        (Language::Fr, n) => return format!("{n}e"),
    };
    word.to_owned()
}

/// `text` with its first letter in upper case, for an ordinal that starts a subject line.
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The salutation line: `Dear Anna Svensson,` / `Dear colleagues,`, `Bonjour Anna Svensson,` /
/// `Madame, Monsieur,`.
pub(crate) fn greeting(name: Option<&str>, language: Language) -> String {
    match (language, name) {
        (Language::En, Some(name)) => format!("Dear {name},"),
        (Language::En, None) => "Dear colleagues,".to_owned(),
        (Language::Fr, Some(name)) => format!("Bonjour {name},"),
        (Language::Fr, None) => "Madame, Monsieur,".to_owned(),
    }
}

/// French `de` before a city name, with elision and contraction: `de Gand`, `d’Östersund`,
/// `du Havre` (for `Le Havre`), `des Cayes` (for `Les Cayes`). A leading `h` is left alone, since
/// whether it is mute depends on the word.
pub(crate) fn french_de(city: &str) -> String {
    if let Some(rest) = city.strip_prefix("Le ") {
        return format!("du {rest}");
    }
    if let Some(rest) = city.strip_prefix("Les ") {
        return format!("des {rest}");
    }
    let starts_with_vowel =
        city.chars().next().is_some_and(|first| first.to_lowercase().all(|c| "aàâäeéèêëiîïoôöuùûüœæ".contains(c)));
    if starts_with_vowel { format!("d’{city}") } else { format!("de {city}") }
}

/// A reporting period: `2023–2027` (en dash in both languages).
pub(crate) fn period(start_year: i32, end_year: i32) -> String {
    format!("{start_year}\u{2013}{end_year}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Tz> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0).single().expect("unambiguous test time")
    }

    #[test]
    fn english_deadline() {
        let t = at(chrono_tz::Europe::Stockholm, 2027, 11, 30, 23, 59);
        assert_eq!(deadline(&t, Language::En), "30 November 2027 at 23:59 (Europe/Stockholm)");
        let t = at(chrono_tz::Asia::Seoul, 2028, 3, 5, 9, 5);
        assert_eq!(deadline(&t, Language::En), "5 March 2028 at 09:05 (Asia/Seoul)");
    }

    #[test]
    fn french_deadline_uses_french_months_hours_and_first_day() {
        let t = at(chrono_tz::Europe::Stockholm, 2027, 11, 30, 23, 59);
        assert_eq!(deadline(&t, Language::Fr), "30 novembre 2027 à 23\u{a0}h\u{a0}59 (Europe/Stockholm)");
        let t = at(chrono_tz::America::Bogota, 2027, 12, 1, 9, 5);
        assert_eq!(deadline(&t, Language::Fr), "1er décembre 2027 à 9\u{a0}h\u{a0}05 (America/Bogota)");
        let t = at(chrono_tz::Europe::Paris, 2027, 8, 15, 12, 0);
        assert_eq!(date(&t, Language::Fr), "15 août 2027");
    }

    #[test]
    fn extensions_name_the_date_they_moved() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(extended_from(d, Language::En), " (extended from 1 December 2026)");
        assert_eq!(extended_from(d, Language::Fr), " (prolongé, initialement le 1er décembre 2026)");
    }

    #[test]
    fn day_counts_agree_in_number() {
        assert_eq!(days(1, Language::En), "1 day");
        assert_eq!(days(0, Language::En), "0 days");
        assert_eq!(days(14, Language::En), "14 days");
        assert_eq!(days(1, Language::Fr), "1\u{a0}jour");
        assert_eq!(days(0, Language::Fr), "0\u{a0}jour");
        assert_eq!(days(45, Language::Fr), "45\u{a0}jours");
    }

    #[test]
    fn french_de_elides_and_contracts() {
        assert_eq!(french_de("Gand"), "de Gand");
        assert_eq!(french_de("Östersund"), "d’Östersund");
        assert_eq!(french_de("Icheon"), "d’Icheon");
        assert_eq!(french_de("Édimbourg"), "d’Édimbourg");
        assert_eq!(french_de("Le Havre"), "du Havre");
        assert_eq!(french_de("Les Cayes"), "des Cayes");
        assert_eq!(french_de("La Paz"), "de La Paz");
        assert_eq!(french_de("Hangzhou"), "de Hangzhou");
        assert_eq!(french_de("Yaoundé"), "de Yaoundé");
    }

    #[test]
    fn ordinals_and_capitals() {
        assert_eq!(ordinal(2, Language::En), "second");
        assert_eq!(ordinal(2, Language::Fr), "deuxième");
        assert_eq!(ordinal(11, Language::En), "11th");
        assert_eq!(ordinal(22, Language::En), "22nd");
        assert_eq!(ordinal(11, Language::Fr), "11e");
        assert_eq!(capitalized("deuxième"), "Deuxième");
        assert_eq!(capitalized(""), "");
    }
}
