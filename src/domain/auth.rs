//! Who is calling and what they may do: the permission table of DESIGN.md §3, in one place.
//!
//! Every handler names the [`Action`] it performs and calls [`authorize`] first. An anonymous
//! caller who needs to sign in gets [`Denied::Unauthenticated`] (401); a signed-in caller without
//! the right gets [`Denied::Forbidden`] (403). Lists are never silently filtered to hide a denial.

use std::fmt;

use super::Invalid;

/// The three kinds of token holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Secretariat,
    Coordinator,
    City,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim() {
            "secretariat" => Ok(Self::Secretariat),
            "coordinator" => Ok(Self::Coordinator),
            "city" => Ok(Self::City),
            other => Err(Invalid::new("role", format!("`{other}` is not a role (secretariat, coordinator, city)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secretariat => "secretariat",
            Self::Coordinator => "coordinator",
            Self::City => "city",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Secretariat,
    /// A field coordinator: reads and comments on the cities of one creative field.
    Coordinator {
        field: String,
    },
    /// A city's focal point: works on its own city's reports only.
    City {
        city_id: i64,
    },
}

impl Scope {
    pub fn role(&self) -> Role {
        match self {
            Self::Secretariat => Role::Secretariat,
            Self::Coordinator { .. } => Role::Coordinator,
            Self::City { .. } => Role::City,
        }
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A bearer API token.
    Token(i64),
    /// A session of the pages; `token` is the API token it was opened with, if it was.
    Session { id: i64, token: Option<i64> },
}

/// An authenticated caller: how they signed in, their name (the actor recorded in the audit
/// log) and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub credential: Credential,
    pub name: String,
    pub scope: Scope,
}

impl Principal {
    /// The API token behind the caller, if any: a bearer token, or the one a session was opened
    /// with.
    pub fn token_id(&self) -> Option<i64> {
        match self.credential {
            Credential::Token(id) => Some(id),
            Credential::Session { token, .. } => token,
        }
    }

    /// A short stable key for the caller, for per-caller limits: `token:<id>` or `session:<id>`.
    pub fn key(&self) -> String {
        match self.credential {
            Credential::Token(id) => format!("token:{id}"),
            Credential::Session { id, .. } => format!("session:{id}"),
        }
    }
}

/// The city a request is about, for the rows of the table that depend on ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CityRef<'a> {
    pub id: i64,
    /// The city's current creative field.
    pub field: &'a str,
}

/// Everything the permission table distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// List and read cities and fields.
    ReadRegistry,
    /// Create and edit cities, contacts, due dates and extensions.
    EditRegistry,
    /// Read a city's contacts: the city itself and the Secretariat.
    ReadContacts(CityRef<'a>),
    /// Read a city's cycles, reminders, submissions and comments.
    ReadCityWork(CityRef<'a>),
    /// Save a draft or submit (the Secretariat may act on a city's behalf).
    WriteReport(CityRef<'a>),
    /// Comment on a submission; a city may only reply to a comment on its own report.
    Comment { city: CityRef<'a>, is_reply: bool },
    /// Accept, request a revision, publish.
    Decide,
    /// The published archive, OAI-PMH and exports.
    ReadArchive,
    /// The audit log and API tokens.
    Administer,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No credentials where some are needed (401).
    Unauthenticated,
    /// Signed in, but this principal may not do this (403).
    Forbidden,
}

/// The permission table. `None` is the public.
pub fn authorize(who: Option<&Principal>, action: Action<'_>) -> Result<(), Denied> {
    if matches!(action, Action::ReadRegistry | Action::ReadArchive) {
        return Ok(());
    }
    let Some(who) = who else {
        return Err(Denied::Unauthenticated);
    };
    let own_city = |city: CityRef<'_>| matches!(who.scope, Scope::City { city_id } if city_id == city.id);
    let own_field = |city: CityRef<'_>| matches!(&who.scope, Scope::Coordinator { field } if field == city.field);
    let allowed = match (&who.scope, action) {
        (Scope::Secretariat, _) => true,
        (_, Action::ReadRegistry | Action::ReadArchive) => true,
        (_, Action::EditRegistry | Action::Decide | Action::Administer) => false,
        (_, Action::ReadContacts(city) | Action::WriteReport(city)) => own_city(city),
        (_, Action::ReadCityWork(city)) => own_city(city) || own_field(city),
        (_, Action::Comment { city, is_reply }) => own_field(city) || (is_reply && own_city(city)),
    };
    if allowed { Ok(()) } else { Err(Denied::Forbidden) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LYON: CityRef<'static> = CityRef { id: 1, field: "literature" };
    const BRAGA: CityRef<'static> = CityRef { id: 2, field: "media_arts" };

    fn principal(scope: Scope) -> Principal {
        Principal { credential: Credential::Token(1), name: "t".into(), scope }
    }

    /// Rows: actions about Lyon; columns: public, Lyon, Braga, coordinator of Lyon's field,
    /// coordinator of another field, Secretariat. `P` allowed, `U` 401, `F` 403.
    #[test]
    fn permission_matrix() {
        let callers = [
            None,
            Some(principal(Scope::City { city_id: LYON.id })),
            Some(principal(Scope::City { city_id: BRAGA.id })),
            Some(principal(Scope::Coordinator { field: "literature".into() })),
            Some(principal(Scope::Coordinator { field: "music".into() })),
            Some(principal(Scope::Secretariat)),
        ];
        let table: [(Action<'_>, &str); 10] = [
            (Action::ReadRegistry, "PPPPPP"),
            (Action::ReadArchive, "PPPPPP"),
            (Action::EditRegistry, "UFFFFP"),
            (Action::ReadContacts(LYON), "UPFFFP"),
            (Action::ReadCityWork(LYON), "UPFPFP"),
            (Action::WriteReport(LYON), "UPFFFP"),
            (Action::Comment { city: LYON, is_reply: false }, "UFFPFP"),
            (Action::Comment { city: LYON, is_reply: true }, "UPFPFP"),
            (Action::Decide, "UFFFFP"),
            (Action::Administer, "UFFFFP"),
        ];
        for (action, expected) in table {
            let got: String = callers
                .iter()
                .map(|who| match authorize(who.as_ref(), action) {
                    Ok(()) => 'P',
                    Err(Denied::Unauthenticated) => 'U',
                    Err(Denied::Forbidden) => 'F',
                })
                .collect();
            assert_eq!(got, expected, "{action:?}");
        }
    }

    #[test]
    fn roles_parse() {
        assert_eq!(Role::parse("coordinator").unwrap(), Role::Coordinator);
        assert!(Role::parse("admin").is_err());
    }
}
