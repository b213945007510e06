//! Member cities: the validated values a city is made of, and the rules that tie them together.
//! Cities are keyed by slug, never by name (there are two Granadas).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use super::countries::{self, Country};
use super::fields::{FieldSlug, truncate};
use super::{Invalid, clean_text};

/// The first designations (Edinburgh, October 2004); nothing can be designated before.
pub const FIRST_DESIGNATION_YEAR: i32 = 2004;

/// A city's URL key: lower-case ASCII letters and digits in hyphen-separated words, 1 to 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CitySlug(String);

impl CitySlug {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let ok = (1..=64).contains(&raw.len())
            && raw.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid::new(
                "slug",
                format!(
                    "`{}` is not a city slug (lower-case letters and digits in words joined by `-`, at most 64)",
                    truncate(raw)
                ),
            ))
        }
    }

    /// Derives a slug from a city name: diacritics folded to ASCII, everything else joined by `-`.
    pub fn from_name(name: &str) -> Result<Self, Invalid> {
        let folded = deunicode::deunicode(name).to_lowercase();
        let words: Vec<&str> = folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let mut slug = words.join("-");
        slug.truncate(64);
        Self::parse(slug.trim_end_matches('-'))
            .map_err(|_| Invalid::new("name", format!("no slug can be made from `{}`; give one", truncate(name))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CitySlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A city's name or one of its aliases: trimmed, 1 to 200 characters, no control characters and
/// no bidirectional embedding, override or isolate controls (U+202A to U+202E, U+2066 to U+2069),
/// which could make a name display as another (a "Trojan Source" spoof in lists and exports).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CityName(String);

impl CityName {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        let name = clean_text(field, raw, 200)?;
        if let Some(c) = name.chars().find(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
            let message = format!("must not contain the bidirectional control character U+{:04X}", u32::from(c));
            return Err(Invalid::new(field, message));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An assigned ISO 3166-1 alpha-2 country code (upper-case on the way in and out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryCode(&'static Country);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim().to_ascii_uppercase();
        countries::country(&code).map(Self).ok_or_else(|| {
            Invalid::new("country", format!("`{}` is not an ISO 3166-1 alpha-2 country code", truncate(raw.trim())))
        })
    }

    pub fn as_str(self) -> &'static str {
        self.0.code
    }

    /// The country's default zone, for cities whose own zone is not given.
    pub fn default_time_zone(self) -> CityTimeZone {
        CityTimeZone::parse(self.0.time_zone).unwrap_or(CityTimeZone(Tz::UTC))
    }
}

/// An IANA time zone, in which a city's deadlines fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CityTimeZone(Tz);

impl std::fmt::Display for CityTimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for CityTimeZone {
    type Error = Invalid;

    /// A stored zone name, as the database hands it back.
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl CityTimeZone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Tz::from_str(raw.trim())
            .map(Self)
            .map_err(|_| Invalid::new("time_zone", format!("`{}` is not an IANA time zone", truncate(raw.trim()))))
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The language a city's messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Fr,
}

impl TryFrom<String> for Language {
    type Error = Invalid;

    /// A stored language code, as the database hands it back.
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl Language {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Self::En),
            "fr" => Ok(Self::Fr),
            other => {
                Err(Invalid::new("language", format!("`{}` is not a supported language (en, fr)", truncate(other))))
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// A calendar day as this language writes it: `30 November 2027`, `1er décembre 2027`.
    pub fn written_date(self, d: NaiveDate) -> String {
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const FR: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        // month0() is always in 0..12.
        let month = d.month0() as usize % 12;
        match self {
            Self::En => format!("{} {} {}", d.day(), EN[month], d.year()),
            Self::Fr if d.day() == 1 => format!("1er {} {}", FR[month], d.year()),
            Self::Fr => format!("{} {} {}", d.day(), FR[month], d.year()),
        }
    }
}

/// Membership status. `on_notice` is set by the reminder escalation; `withdrawn` by the Secretariat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CityStatus {
    #[default]
    Active,
    OnNotice,
    Withdrawn,
}

impl CityStatus {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim() {
            "active" => Ok(Self::Active),
            "on_notice" => Ok(Self::OnNotice),
            "withdrawn" => Ok(Self::Withdrawn),
            other => Err(Invalid::new(
                "status",
                format!("`{}` is not a city status (active, on_notice, withdrawn)", truncate(other)),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::OnNotice => "on_notice",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// Checks a designation date: not before the network existed, not after `today`.
pub fn check_designation_date(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    if date.year() < FIRST_DESIGNATION_YEAR {
        return Err(Invalid::new(
            "designation_date",
            format!("{date} is before the network's first designations ({FIRST_DESIGNATION_YEAR})"),
        ));
    }
    if date > today {
        return Err(Invalid::new("designation_date", format!("{date} is in the future")));
    }
    Ok(date)
}

/// The designation date assumed when only the year is known: the day that year's round was
/// announced where it is on record (UCCN.md §3), otherwise 1 January. Only the year drives
/// reporting deadlines, so the guess never moves a due date.
pub fn designation_date_for_year(year: i32) -> Option<NaiveDate> {
    let (month, day) = match year {
        2014 => (12, 1),
        2015 => (12, 11),
        2017 | 2019 | 2023 | 2025 => (10, 31),
        _ => (1, 1),
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Lower-cased, ASCII-folded text a city is found by: its name and all its aliases, so that
/// `krakow`, `Kraków` and `CRACOW` find the same city on either database.
pub fn search_text<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(fold).collect::<Vec<_>>().join("\n")
}

/// Folds a query or a name for matching against [`search_text`].
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

/// Everything needed to register a city, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCity {
    pub slug: CitySlug,
    pub name: CityName,
    pub aliases: Vec<CityName>,
    pub country: CountryCode,
    pub field: FieldSlug,
    pub designation_date: NaiveDate,
    pub time_zone: CityTimeZone,
    pub language: Language,
}

/// A city as given by a caller (HTTP body or CSV row), before validation.
#[derive(Debug, Clone, Default)]
pub struct CityInput<'a> {
    /// Derived from the name when absent.
    pub slug: Option<&'a str>,
    pub name: &'a str,
    pub aliases: Vec<&'a str>,
    pub country: &'a str,
    pub field: &'a str,
    pub designation_date: Option<NaiveDate>,
    /// The country's primary zone when absent.
    pub time_zone: Option<&'a str>,
    pub language: Option<&'a str>,
}

impl NewCity {
    /// Validates every part of `input`; `today` bounds the designation date.
    pub fn parse(input: &CityInput<'_>, today: NaiveDate) -> Result<Self, Invalid> {
        let name = CityName::parse("name", input.name)?;
        let slug = match input.slug {
            Some(slug) => CitySlug::parse(slug)?,
            None => CitySlug::from_name(name.as_str())?,
        };
        let country = CountryCode::parse(input.country)?;
        let designation_date = input.designation_date.ok_or_else(|| Invalid::new("designation_date", "is required"))?;
        Ok(Self {
            aliases: parse_aliases(Some(&name), input.aliases.iter().copied())?,
            field: FieldSlug::parse(input.field)?,
            designation_date: check_designation_date(designation_date, today)?,
            time_zone: match input.time_zone {
                Some(tz) => CityTimeZone::parse(tz)?,
                None => country.default_time_zone(),
            },
            language: input.language.map(Language::parse).transpose()?.unwrap_or_default(),
            slug,
            name,
            country,
        })
    }

    pub fn search_text(&self) -> String {
        search_text(std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(CityName::as_str)))
    }
}

/// Parses a list of aliases, dropping duplicates and the name itself (when known); at most 50.
pub fn parse_aliases<'a>(
    name: Option<&CityName>,
    raw: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<CityName>, Invalid> {
    let mut aliases: Vec<CityName> = Vec::new();
    for a in raw {
        let alias = CityName::parse("aliases", a)?;
        if Some(&alias) != name && !aliases.contains(&alias) {
            aliases.push(alias);
        }
    }
    if aliases.len() > 50 {
        return Err(Invalid::new("aliases", "at most 50 aliases"));
    }
    Ok(aliases)
}

/// A validated change to a city; `None` leaves a value as it is. The slug never changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CityPatch {
    pub name: Option<CityName>,
    pub aliases: Option<Vec<CityName>>,
    pub country: Option<CountryCode>,
    pub field: Option<FieldSlug>,
    pub designation_date: Option<NaiveDate>,
    pub time_zone: Option<CityTimeZone>,
    pub language: Option<Language>,
    pub status: Option<CityStatus>,
}

/// A change to a city as text, as the API's body and the desk's form bring it; `None` leaves
/// a value as it is.
#[derive(Debug, Clone, Default)]
pub struct CityPatchInput<'a> {
    pub name: Option<&'a str>,
    pub aliases: Option<Vec<&'a str>>,
    pub country: Option<&'a str>,
    pub field: Option<&'a str>,
    pub designation_date: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub language: Option<&'a str>,
    pub status: Option<&'a str>,
}

impl CityPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Validates each value given; a designation date must not be after `today`.
    pub fn parse(input: &CityPatchInput<'_>, today: NaiveDate) -> Result<Self, Invalid> {
        let name = input.name.map(|n| CityName::parse("name", n)).transpose()?;
        Ok(Self {
            aliases: match &input.aliases {
                Some(a) => Some(parse_aliases(name.as_ref(), a.iter().copied())?),
                None => None,
            },
            name,
            country: input.country.map(CountryCode::parse).transpose()?,
            field: input.field.map(FieldSlug::parse).transpose()?,
            designation_date: match input.designation_date {
                Some(d) => Some(check_designation_date(super::parse_date("designation_date", d)?, today)?),
                None => None,
            },
            time_zone: input.time_zone.map(CityTimeZone::parse).transpose()?,
            language: input.language.map(Language::parse).transpose()?,
            status: input.status.map(CityStatus::parse).transpose()?,
        })
    }
}

/// A city as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub country: String,
    pub field: String,
    pub designation_date: NaiveDate,
    pub time_zone: String,
    pub language: String,
    pub status: String,
}

/// A period during which a city belonged to a field; `until` is open for the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPeriod {
    pub field: String,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        assert!(CitySlug::parse("granada-0").is_ok());
        for bad in ["", "Granada", "-a", "a-", "a--b", "a b", "é", &"a".repeat(65)] {
            assert!(CitySlug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slugs_from_names_fold_diacritics() {
        assert_eq!(CitySlug::from_name("Östersund").unwrap().as_str(), "ostersund");
        assert_eq!(CitySlug::from_name("Saint-Étienne").unwrap().as_str(), "saint-etienne");
        assert_eq!(CitySlug::from_name("Tel Aviv-Yafo").unwrap().as_str(), "tel-aviv-yafo");
        assert_eq!(CitySlug::from_name("Łódź").unwrap().as_str(), "lodz");
        assert!(CitySlug::from_name("!!!").is_err());
    }

    #[test]
    fn countries_must_be_assigned_codes() {
        assert_eq!(CountryCode::parse("se").unwrap().as_str(), "SE");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("SWE").is_err());
        assert_eq!(CountryCode::parse("JP").unwrap().default_time_zone().name(), "Asia/Tokyo");
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(CityTimeZone::parse("Pacific/Kiritimati").unwrap().name(), "Pacific/Kiritimati");
        assert!(CityTimeZone::parse("Mars/Olympus").is_err());
        assert!(CityTimeZone::parse("").is_err());
    }

    #[test]
    fn designation_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert!(check_designation_date(NaiveDate::from_ymd_opt(2003, 12, 31).unwrap(), today).is_err());
        assert!(check_designation_date(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), today).is_err());
        assert!(check_designation_date(NaiveDate::from_ymd_opt(2004, 10, 13).unwrap(), today).is_ok());
        assert_eq!(designation_date_for_year(2015), NaiveDate::from_ymd_opt(2015, 12, 11));
        assert_eq!(designation_date_for_year(2008), NaiveDate::from_ymd_opt(2008, 1, 1));
    }

    #[test]
    fn search_text_matches_folded_queries() {
        let text = search_text(["Kraków", "Cracow"]);
        assert!(text.contains(&fold("KRAKOW")));
        assert!(text.contains(&fold("cracow")));
    }

    #[test]
    fn names_refuse_bidirectional_controls() {
        for c in ['\u{202A}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let e = CityName::parse("aliases", &format!("Lyon{c}noyL")).unwrap_err();
            assert_eq!(e.field, "aliases");
            assert!(e.message.contains(&format!("U+{:04X}", u32::from(c))), "{}", e.message);
        }
        assert!(CityName::parse("name", "\u{200F}Tel Aviv-Yafo").is_ok(), "a plain RTL mark is not an override");
    }

    #[test]
    fn aliases_drop_duplicates_and_the_name() {
        let name = CityName::parse("name", "Kraków").unwrap();
        let aliases = parse_aliases(Some(&name), ["Krakow", "Kraków", "Krakow", " Cracow "]).unwrap();
        let got: Vec<&str> = aliases.iter().map(CityName::as_str).collect();
        assert_eq!(got, ["Krakow", "Cracow"]);
    }

    #[test]
    fn new_city_from_input() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let input = CityInput {
            name: "Östersund",
            aliases: vec!["Ostersund"],
            country: "se",
            field: "gastronomy",
            designation_date: NaiveDate::from_ymd_opt(2010, 1, 1),
            ..CityInput::default()
        };
        let city = NewCity::parse(&input, today).unwrap();
        assert_eq!(city.slug.as_str(), "ostersund");
        assert_eq!(city.country.as_str(), "SE");
        assert_eq!(city.time_zone.name(), "Europe/Stockholm");
        assert_eq!(city.language, Language::En);
        let bad = CityInput { country: "Sweden", ..input.clone() };
        assert_eq!(NewCity::parse(&bad, today).unwrap_err().field, "country");
        let bad = CityInput { field: "Gastronomy", ..input.clone() };
        assert_eq!(NewCity::parse(&bad, today).unwrap_err().field, "field");
        let bad = CityInput { designation_date: None, ..input };
        assert_eq!(NewCity::parse(&bad, today).unwrap_err().field, "designation_date");
    }

    #[test]
    fn enums_round_trip() {
        for s in ["active", "on_notice", "withdrawn"] {
            assert_eq!(CityStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Language::parse("FR").unwrap(), Language::Fr);
        assert!(Language::parse("de").is_err());
    }
}
