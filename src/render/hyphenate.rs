//! Hyphenation points of a word, for the line breaker of justified text.
//!
//! Knuth–Liang patterns for English and French, shipped in `report_templates/patterns/` and
//! compiled into the binary, so the same word hyphenates the same way on every machine (nothing
//! is read at run time). Each dictionary is deserialised once per process, on first use.
//! Reports in English quote French names and phrases, and the other way round, so a word is
//! also offered the points the other language's patterns find, marked as such: the line breaker
//! makes them dearer, and takes one only where the alternative is a loose line. Other languages
//! are not hyphenated: their lines are justified by their spaces alone.
//!
//! Only plain words are offered: a core of letters (an elided article such as `l’` is left
//! whole), with at most its first letter a capital, so acronyms, names in capitals, numbers,
//! URLs and identifiers are never cut with a hyphen.

use std::sync::OnceLock;

use hyphenation::{Hyphenator as _, Language, Load, Standard};

static ENGLISH: OnceLock<Option<Standard>> = OnceLock::new();
static FRENCH: OnceLock<Option<Standard>> = OnceLock::new();

/// A place where a word may be hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    /// Byte offset in the word.
    pub at: usize,
    /// Only the other language's patterns allow it.
    pub foreign: bool,
}

/// The dictionaries for a document in a BCP 47 language: its own first, then the other one;
/// none for a language the renderer has no patterns for.
pub(crate) fn dictionaries(language: &str) -> Vec<&'static Standard> {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    let order = match primary.as_str() {
        "en" => [Language::EnglishUS, Language::French],
        "fr" => [Language::French, Language::EnglishUS],
        _ => return Vec::new(),
    };
    order.into_iter().filter_map(dictionary).collect()
}

fn dictionary(language: Language) -> Option<&'static Standard> {
    let (cell, bytes): (_, &[u8]) = match language {
        Language::French => (&FRENCH, include_bytes!("../../report_templates/patterns/fr.standard.bincode")),
        _ => (&ENGLISH, include_bytes!("../../report_templates/patterns/en-us.standard.bincode")),
    };
    cell.get_or_init(|| Standard::from_reader(language, &mut &bytes[..]).ok()).as_ref()
}

/// Where `word` may be hyphenated, in increasing order, by the first dictionary and (marked
/// foreign) by the others; empty when the word is not a plain word (see the module
/// documentation) or too short.
pub(crate) fn points(dictionaries: &[&Standard], word: &str) -> Vec<Point> {
    // The core: leading and trailing punctuation ("(", "»", ".", ",") is not part of it.
    let start = word.find(char::is_alphabetic).unwrap_or(word.len());
    let end = word.rfind(char::is_alphabetic).map_or(start, |i| i + word[i..].chars().next().map_or(0, char::len_utf8));
    if end <= start {
        return Vec::new();
    }
    let core = &word[start..end];
    // An elision (l’, d’, qu’) is kept with what follows; only the word after it is
    // hyphenated. A short ending (the English ’s, ’ll) is kept with what comes before.
    let (offset, core) = match core.rfind(['’', '\'']) {
        Some(i) => {
            let after = i + core[i..].chars().next().map_or(1, char::len_utf8);
            if core[after..].chars().count() <= 2 { (start, &core[..i]) } else { (start + after, &core[after..]) }
        }
        None => (start, core),
    };
    if core.chars().count() < 5
        || !core.chars().all(char::is_alphabetic)
        || core.chars().skip(1).any(char::is_uppercase)
    {
        return Vec::new();
    }
    let mut points: Vec<Point> = Vec::new();
    for (k, dict) in dictionaries.iter().enumerate() {
        for b in dict.hyphenate(core).breaks {
            if !points.iter().any(|p| p.at == b + offset) {
                points.push(Point { at: b + offset, foreign: k > 0 });
            }
        }
    }
    points.sort_by_key(|p| p.at);
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word with `-` at its own language's points and `~` at the other's.
    fn split(language: &str, word: &str) -> String {
        let mut out = String::new();
        let mut last = 0;
        for p in points(&dictionaries(language), word) {
            out.push_str(&word[last..p.at]);
            out.push(if p.foreign { '~' } else { '-' });
            last = p.at;
        }
        out.push_str(&word[last..]);
        out
    }

    #[test]
    fn english_and_french_words_hyphenate_and_the_rest_does_not() {
        assert_eq!(split("en", "hyphenation"), "hy-phe~n-a-tion");
        assert_eq!(split("en-GB", "(participation),"), "(par-ti~c-i-pa-tion),");
        assert_eq!(split("fr", "coopération"), "co-opé-ra-tion");
        assert_eq!(split("fr", "l’organisation"), "l’or-ga-n~i-sa-tion");
        assert_eq!(split("en", "Children’s"), "Chil-dren’s");
        assert_eq!(split("en", "Gastronomiques"), "Gas-tro~no~miques");
        for plain in ["UNESCO", "https://example.org/participation", "snake_case_identifier", "2013.", "cat"] {
            assert_eq!(split("en", plain), plain);
        }
        assert!(dictionaries("de").is_empty());
    }
}
