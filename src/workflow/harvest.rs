//! Harvesting (OAI-PMH): the lists of published entries and withdrawn ones by datestamp, sets,
//! and single entries as a harvester sees them.
//!
//! A withdrawn entry is one that was public and is not any more (its publication date withdrawn
//! or moved into the future). It stays in the lists as a deleted header dated by its withdrawal,
//! for as long as it stays hidden (OAI-PMH's `deletedRecord` `persistent`), so a harvester that
//! copied it learns to remove it. An entry never public is never named.

use chrono::NaiveDateTime;

use super::catalog::Record;
use crate::db::Conn;
use crate::db::catalog::{self, WithdrawnRow};
pub use crate::domain::harvest::{Selection, Within, set_specs};
use crate::error::Result;

/// A set of the catalogue: its spec and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetInfo {
    pub spec: String,
    pub name: String,
}

/// What a set spec selects: `Some(None)` for a whole top-level set (`field`, `country`, which
/// hold every entry), `None` for a spec outside the hierarchy.
pub fn parse_set(spec: &str) -> Option<Option<Within>> {
    match spec.split_once(':') {
        None if spec == "field" || spec == "country" => Some(None),
        Some(("field", slug)) if !slug.is_empty() => Some(Some(Within::Field(slug.to_owned()))),
        Some(("country", code)) if !code.is_empty() => Some(Some(Within::Country(code.to_owned()))),
        _ => None,
    }
}

/// The sets that hold published entries: `field` and `country`, then one per field and country
/// with an entry. Empty when nothing is published.
pub fn sets(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Vec<SetInfo>> {
    let fields = catalog::fields(conn, now)?;
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let countries = catalog::countries(conn, now)?;
    let mut sets = vec![SetInfo { spec: "field".into(), name: "Creative fields".into() }];
    sets.extend(fields.into_iter().map(|f| SetInfo { spec: format!("field:{}", f.code), name: f.name }));
    sets.push(SetInfo { spec: "country".into(), name: "Countries".into() });
    sets.extend(countries.into_iter().map(|code| {
        let name = crate::domain::countries::country(&code).map_or_else(|| code.clone(), |c| c.name.to_owned());
        SetInfo { spec: format!("country:{code}"), name }
    }));
    Ok(sets)
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Published records and withdrawn headers, by datestamp and id.
    pub records: Vec<Harvested>,
    /// How many entries the whole selection holds.
    pub total: i64,
    /// Whether entries follow the last one of this page.
    pub more: bool,
}

/// Up to `limit` entries of `sel` after the keyset position `after` (a datestamp and an id),
/// oldest first: the published ones and the withdrawn ones, merged. An entry is never both at
/// one horizon (withdrawn means not public by then).
pub fn slice(conn: &mut Conn<'_>, sel: &Selection, after: Option<(NaiveDateTime, i64)>, limit: usize) -> Result<Slice> {
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX - 1);
    let live =
        catalog::page(conn, sel, after, limit + 1)?.into_iter().map(|r| Harvested::Record(Box::new(Record::from(r))));
    let gone = catalog::withdrawn_page(conn, sel, after, limit + 1)?.into_iter().map(Harvested::from);
    let mut records: Vec<Harvested> = live.chain(gone).collect();
    records.sort_by_key(Harvested::position);
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let total = catalog::count(conn, sel)? + catalog::withdrawn_count(conn, sel)?;
    Ok(Slice { records, total, more })
}

/// An entry of a harvesting list: a published record, or the header of one withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Harvested {
    Record(Box<Record>),
    Withdrawn(Withdrawn),
}

/// An entry that was public and is withdrawn: what a deleted header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawn {
    pub id: i64,
    /// When it stopped being public: the header's datestamp.
    pub withdrawn_at: NaiveDateTime,
    /// The sets it belonged to.
    pub set_specs: [String; 2],
}

impl From<WithdrawnRow> for Harvested {
    fn from(w: WithdrawnRow) -> Self {
        let set_specs = set_specs(&w.field_slug, &w.country);
        Harvested::Withdrawn(Withdrawn { id: w.id, withdrawn_at: w.withdrawn_at, set_specs })
    }
}

impl Harvested {
    pub fn id(&self) -> i64 {
        match self {
            Harvested::Record(r) => r.id,
            Harvested::Withdrawn(w) => w.id,
        }
    }

    /// The datestamp: when it became public in its current form, or when it was withdrawn.
    pub fn datestamp(&self) -> NaiveDateTime {
        match self {
            Harvested::Record(r) => r.public_since,
            Harvested::Withdrawn(w) => w.withdrawn_at,
        }
    }

    /// Its keyset position in a list.
    pub fn position(&self) -> (NaiveDateTime, i64) {
        (self.datestamp(), self.id())
    }
}

/// Entry `id` as a harvester sees it at `now`: published, withdrawn, or unknown (`None`; also an
/// entry never public, whose existence is not told).
pub fn harvested(conn: &mut Conn<'_>, id: i64, now: NaiveDateTime) -> Result<Option<Harvested>> {
    if let Some(row) = catalog::get(conn, id, now)? {
        return Ok(Some(Harvested::Record(Box::new(Record::from(row)))));
    }
    Ok(catalog::withdrawn(conn, id, now)?.map(Harvested::from))
}

/// The earliest datestamp of the repository: of a published entry or a withdrawal.
pub fn earliest_datestamp(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Option<NaiveDateTime>> {
    let published = catalog::earliest(conn, now)?;
    let withdrawn = catalog::earliest_withdrawal(conn, now)?;
    Ok(published.into_iter().chain(withdrawn).min())
}

/// The earliest datestamp (`public_since`) among published entries.
pub fn earliest(conn: &mut Conn<'_>, now: NaiveDateTime) -> Result<Option<NaiveDateTime>> {
    Ok(catalog::earliest(conn, now)?)
}
