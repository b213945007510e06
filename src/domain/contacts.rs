//! A city's focal points: the people reminders and review messages go to.

use super::fields::truncate;
use super::{Invalid, clean_text};

/// An e-mail address, trimmed and lower-cased. The check is deliberately structural (one `@`, a
/// dotted domain, no spaces): deliverability is the mail server's answer, not ours.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        let bad = || Invalid::new("email", format!("`{}` is not an e-mail address", truncate(raw.trim())));
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain.split('.').all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new focal point, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub name: String,
    pub email: Email,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub is_primary: bool,
}

impl NewContact {
    pub fn parse(
        name: &str,
        email: &str,
        role: Option<&str>,
        phone: Option<&str>,
        is_primary: bool,
    ) -> Result<Self, Invalid> {
        Ok(Self {
            name: clean_text("name", name, 200)?,
            email: Email::parse(email)?,
            role: role.map(|r| clean_text("role", r, 200)).transpose()?,
            phone: phone.map(|p| clean_text("phone", p, 50)).transpose()?,
            is_primary,
        })
    }
}

/// A validated change to a contact; `None` leaves a value as it is. `Some(None)` clears an
/// optional value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub role: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub is_primary: Option<bool>,
}

impl ContactPatch {
    /// Validates each value given, with the limits of [`NewContact::parse`]; `Some(None)` clears
    /// the role or phone.
    pub fn parse(
        name: Option<&str>,
        email: Option<&str>,
        role: Option<Option<&str>>,
        phone: Option<Option<&str>>,
        is_primary: Option<bool>,
    ) -> Result<Self, Invalid> {
        let optional = |field, value: Option<Option<&str>>, max| match value {
            Some(Some(v)) => clean_text(field, v, max).map(|v| Some(Some(v))),
            Some(None) => Ok(Some(None)),
            None => Ok(None),
        };
        Ok(Self {
            name: name.map(|n| clean_text("name", n, 200)).transpose()?,
            email: email.map(Email::parse).transpose()?,
            role: optional("role", role, 200)?,
            phone: optional("phone", phone, 50)?,
            is_primary,
        })
    }
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: i64,
    pub city_id: i64,
    pub name: String,
    pub email: String,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub is_primary: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Focal.Point@Ostersund.SE ").unwrap().as_str(), "focal.point@ostersund.se");
        for bad in ["", "no-at", "a@b", "@x.org", "a b@x.org", "a@@x.org", "a@x..org", "a@-x.org"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn contacts_validate_every_part() {
        assert!(NewContact::parse("Ana", "ana@x.org", Some("Focal point"), None, true).is_ok());
        assert_eq!(NewContact::parse(" ", "ana@x.org", None, None, false).unwrap_err().field, "name");
        assert_eq!(
            NewContact::parse("Ana", "ana@x.org", None, Some(&"9".repeat(51)), false).unwrap_err().field,
            "phone"
        );
    }
}
