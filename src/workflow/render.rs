//! What the cover of a rendered report says about its city, from the registry.

use crate::db::Conn;
use crate::error::Result;

/// What the cover says about a city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityCover {
    pub name: String,
    pub country: String,
    pub field: String,
    pub language: String,
}

/// A registered city's cover details; the country by its English name, the field by its name.
pub fn city_cover(conn: &mut Conn<'_>, slug: &str) -> Result<CityCover> {
    let city = super::cities::get(conn, slug)?;
    let field = super::cities::list_fields(conn)?
        .into_iter()
        .find(|(f, _)| f.slug == city.field)
        .map_or_else(|| city.field.clone(), |(f, _)| f.name);
    let country =
        crate::domain::countries::country(&city.country).map_or_else(|| city.country.clone(), |c| c.name.to_owned());
    Ok(CityCover { name: city.name, country, field, language: city.language })
}
