//! Creative fields. They are data (a table the Secretariat can extend: Architecture arrived in
//! 2025), so the domain only knows what a well-formed field slug looks like; whether a field exists
//! is the database's answer.

use std::fmt;

use super::Invalid;

/// A creative field's slug, such as `gastronomy` or `crafts_folk_art`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldSlug(String);

impl FieldSlug {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let well_formed = (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if well_formed {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new(
                "field",
                format!("`{}` is not a creative field slug (lower-case letters and `_`)", truncate(s)),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortens user input quoted back in an error message.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX { s.to_owned() } else { format!("{}…", s.chars().take(MAX).collect::<String>()) }
}

/// A creative field as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreativeField {
    pub slug: String,
    pub name: String,
    /// The French name, for messages to French-speaking cities; `None` where none is recorded.
    pub name_fr: Option<String>,
    pub since_year: i32,
}

impl CreativeField {
    /// The name in a language (`en` or `fr`), falling back to the English one.
    pub fn name_in(&self, language: &str) -> &str {
        match (language, &self.name_fr) {
            ("fr", Some(name)) => name,
            _ => &self.name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_slugs() {
        assert_eq!(FieldSlug::parse(" crafts_folk_art ").unwrap().as_str(), "crafts_folk_art");
        assert!(FieldSlug::parse("Music").is_err());
        assert!(FieldSlug::parse("").is_err());
        assert!(FieldSlug::parse("media-arts").is_err());
    }
}
