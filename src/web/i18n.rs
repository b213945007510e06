//! The pages' two languages, English and French (the Network's working languages): one message
//! catalogue per language (`messages/en.txt`, `messages/fr.txt`, embedded in the binary), and the
//! choice of language for a request.
//!
//! A catalogue is `key = text` lines (`#` starts a comment line); `{name}` in a text is a
//! placeholder that [`Tr::fmt`] fills. Both catalogues must hold the same keys, with the same
//! placeholders (a test checks it, and that every key a template or page uses exists).
//!
//! The language of a request: `?lang=` (the visible switch on every page, which also sets the
//! `lang` cookie so the choice stays), then the `lang` cookie, then `Accept-Language` (its first
//! language we speak, by quality), then English.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum::http::header;

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The BCP 47 tag: `en`, `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    pub fn parse(raw: &str) -> Option<Lang> {
        let primary = raw.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else if primary.eq_ignore_ascii_case("fr") {
            Some(Lang::Fr)
        } else {
            None
        }
    }

    /// The language of a request: `query` (`?lang=`), else the `lang` cookie, else the first
    /// language of `Accept-Language` that the pages speak, else English.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
        query
            .and_then(Lang::parse)
            .or_else(|| cookie(headers, "lang").and_then(Lang::parse))
            .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(accepted))
            .unwrap_or(Lang::En)
    }

    fn catalogue(self) -> &'static Catalogue {
        static CATALOGUES: OnceLock<[Catalogue; 2]> = OnceLock::new();
        let [en, fr] = CATALOGUES.get_or_init(|| {
            [Catalogue::parse(include_str!("messages/en.txt")), Catalogue::parse(include_str!("messages/fr.txt"))]
        });
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The first language of an `Accept-Language` value that the pages speak, by quality (ties in
/// the header's order); a language with `q=0` is refused.
fn accepted(value: &str) -> Option<Lang> {
    let mut best: Option<(Lang, f32)> = None;
    for item in value.split(',').take(32) {
        let mut parts = item.split(';');
        let Some(lang) = parts.next().and_then(Lang::parse) else { continue };
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((lang, q));
        }
    }
    best.map(|(lang, _)| lang)
}

/// One language's messages, by key.
struct Catalogue {
    messages: HashMap<&'static str, &'static str>,
}

impl Catalogue {
    fn parse(text: &'static str) -> Self {
        let messages = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        Catalogue { messages }
    }
}

/// The translator of one request: its language's messages.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Tr { lang }
    }

    /// The message `key` in this language. A missing key (which the catalogue tests rule out) is
    /// logged and shows as nothing rather than failing the page.
    pub fn t(&self, key: &str) -> &'static str {
        match self.lang.catalogue().messages.get(key) {
            Some(text) => text,
            None => {
                debug_assert!(false, "message `{key}` is missing from the {} catalogue", self.lang.code());
                tracing::warn!(key, lang = self.lang.code(), "message missing from the catalogue");
                ""
            }
        }
    }

    /// The message `key` with its `{name}` placeholders filled from `args`.
    pub fn fmt(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut out = self.t(key).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), &value.to_string());
        }
        out
    }

    /// A count with its noun: `key.one` for 1, `key.other` otherwise (`{n}` filled).
    pub fn count(&self, key: &str, n: i64) -> String {
        let form = if n == 1 { "one" } else { "other" };
        self.fmt(&format!("{key}.{form}"), &[("n", &self.number(n))])
    }

    /// A whole number written as the language writes it: `12,345` in English, `12 345` (with a
    /// narrow no-break space) in French.
    pub fn number(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = match self.lang {
            Lang::En => ",",
            Lang::Fr => "\u{202f}",
        };
        let mut out = String::new();
        if n < 0 {
            out.push('-');
        }
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(d);
        }
        out
    }

    /// A date written out: `7 December 2026` / `1er décembre 2026`.
    pub fn date(&self, date: chrono::NaiveDate) -> String {
        let language = match self.lang {
            Lang::En => crate::domain::cities::Language::En,
            Lang::Fr => crate::domain::cities::Language::Fr,
        };
        language.written_date(date)
    }

    /// A size in bytes, rounded: `812 KB`, `1.4 MB` (`1,4 Mo` in French).
    pub fn bytes(&self, n: i64) -> String {
        let (units, comma) = match self.lang {
            Lang::En => (["bytes", "KB", "MB", "GB"], false),
            Lang::Fr => (["octets", "Ko", "Mo", "Go"], true),
        };
        let mut value = n.max(0) as f64;
        let mut unit = 0;
        while value >= 1000.0 && unit < units.len() - 1 {
            value /= 1000.0;
            unit += 1;
        }
        let text = if unit == 0 || value >= 100.0 { format!("{value:.0}") } else { format!("{value:.1}") };
        let text = if comma { text.replace('.', ",") } else { text };
        format!("{text}\u{a0}{}", units[unit])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(name, _)| name).collect()
    }

    #[test]
    fn both_catalogues_hold_the_same_keys_and_placeholders() {
        let (en, fr) = (&Lang::En.catalogue().messages, &Lang::Fr.catalogue().messages);
        fn keys(c: &HashMap<&'static str, &'static str>) -> BTreeSet<&'static str> {
            c.keys().copied().collect()
        }
        let only_en: Vec<_> = keys(en).difference(&keys(fr)).copied().collect();
        let only_fr: Vec<_> = keys(fr).difference(&keys(en)).copied().collect();
        assert!(only_en.is_empty() && only_fr.is_empty(), "only in en: {only_en:?}; only in fr: {only_fr:?}");
        for (key, text) in en {
            assert_eq!(placeholders(text), placeholders(fr[key]), "placeholders of `{key}`");
            assert!(!text.is_empty() && !fr[key].is_empty(), "`{key}` is empty");
        }
        assert!(en.len() > 50, "{} messages", en.len());
    }

    /// Every key used in a template or in the pages' code (`.t("…")`, `.fmt("…", …)`,
    /// `.count("…", n)`) exists in the catalogues.
    #[test]
    fn every_key_used_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web");
        let mut used = BTreeSet::new();
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str());
            if !matches!(ext, Some("html" | "rs")) || path.ends_with("i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in [".t(\"", ".fmt(\"", ".count(\""] {
                for piece in text.split(call).skip(1) {
                    let key = piece.split('"').next().unwrap();
                    let key = if call == ".count(\"" { format!("{key}.one") } else { key.to_owned() };
                    used.insert((key, path.display().to_string()));
                }
            }
        }
        assert!(used.len() > 30, "{} keys found in use", used.len());
        for (key, file) in used {
            for lang in Lang::ALL {
                assert!(lang.catalogue().messages.contains_key(key.as_str()), "`{key}` ({file}) is not in {lang:?}");
            }
        }
    }

    #[test]
    fn the_language_is_chosen_by_switch_then_cookie_then_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &headers), Lang::En);
        headers.insert(header::ACCEPT_LANGUAGE, "de-CH, fr-CA;q=0.8, en;q=0.5".parse().unwrap());
        assert_eq!(Lang::negotiate(None, &headers), Lang::Fr);
        headers.insert(header::ACCEPT_LANGUAGE, "fr;q=0, en-GB;q=0.3".parse().unwrap());
        assert_eq!(Lang::negotiate(None, &headers), Lang::En);
        headers.insert(header::COOKIE, "a=b; lang=fr".parse().unwrap());
        assert_eq!(Lang::negotiate(None, &headers), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("en"), &headers), Lang::En);
        assert_eq!(Lang::negotiate(Some("xx"), &headers), Lang::Fr);
    }

    #[test]
    fn numbers_dates_and_sizes_as_each_language_writes_them() {
        let (en, fr) = (Tr::new(Lang::En), Tr::new(Lang::Fr));
        assert_eq!(en.number(1234567), "1,234,567");
        assert_eq!(fr.number(12345), "12\u{202f}345");
        assert_eq!(en.number(999), "999");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(en.date(d), "1 December 2026");
        assert_eq!(fr.date(d), "1er décembre 2026");
        assert_eq!(en.bytes(1_400_000), "1.4\u{a0}MB");
        assert_eq!(fr.bytes(812_000), "812\u{a0}Ko");
        assert_eq!(en.bytes(512), "512\u{a0}bytes");
    }
}
