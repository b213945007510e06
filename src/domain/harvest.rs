//! What a harvesting list (OAI-PMH) covers: the entries public, or withdrawn, by a horizon, with
//! bounds on their datestamps and a set. Pure values; the database answers them (`db::catalog`).

use chrono::NaiveDateTime;

/// Narrows a list to the entries of one creative field or one country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    Field(String),
    Country(String),
}

/// Which published entries a list covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Only entries published at or before this instant (the time the list was first asked for).
    pub horizon: NaiveDateTime,
    /// Published at or after.
    pub from: Option<NaiveDateTime>,
    /// Published strictly before.
    pub before: Option<NaiveDateTime>,
    pub within: Option<Within>,
}

/// The sets of an entry of creative field `field` in the country `country`.
pub fn set_specs(field: &str, country: &str) -> [String; 2] {
    [format!("field:{field}"), format!("country:{country}")]
}
