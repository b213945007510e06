//! The public catalogue's values: a published report as the catalogue describes it ([`Record`]:
//! its title, description, rights, persistent identifier, citations and sets), what a search
//! selects ([`Filter`]) and its facet counts. Pure values; the database fills them
//! (`db::catalog`), `search` indexes them, `workflow::catalog` serves them.

use chrono::{Datelike, NaiveDateTime};
use serde_json::{Value, json};

use super::regions::Region;

/// A published report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    /// The publication date in force: the feed's `published`, the year a citation gives.
    pub published_at: NaiveDateTime,
    /// When it became public in its current form: the OAI datestamp, the feed's `updated`.
    pub public_since: NaiveDateTime,
    pub pdf_bytes: i64,
    pub city_slug: String,
    pub city_name: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// The country's short English name (the code when it is unknown).
    pub country_name: String,
    /// UNESCO's region of the country, when it has one.
    pub region: Option<Region>,
    pub field_slug: String,
    pub field_name: String,
    /// `en` or `fr`: the city's reporting language, or for a received document the language
    /// the history manifest gives it.
    pub language: String,
    pub cycle_number: i32,
    pub period_start_year: i32,
    pub period_end_year: i32,
    pub version: i32,
    pub submission_id: i64,
    /// The digest of the accepted sources.
    pub source_sha256: String,
    pub pdf_sha256: String,
    /// The source bundle's digest and size; `None` for a received document (a past report
    /// archived as the city sent it), which has no bundle.
    pub bundle_sha256: Option<String>,
    pub bundle_bytes: Option<i64>,
    pub renderer_version: String,
    pub template_version: String,
    pub archived_at: NaiveDateTime,
    pub last_fixity_at: Option<NaiveDateTime>,
    pub last_fixity_ok: Option<bool>,
    /// The files' edge digests (`db::archive::ArchivedDocument`), checked before a download.
    pub pdf_edges_sha256: Option<String>,
    pub bundle_edges_sha256: Option<String>,
}

impl Record {
    /// `Membership Monitoring Report — Östersund, 2022–2026`.
    pub fn title(&self) -> String {
        format!("Membership Monitoring Report — {}, {}", self.city_name, self.period())
    }

    /// The reporting period, `2022–2026`.
    pub fn period(&self) -> String {
        format!("{}–{}", self.period_start_year, self.period_end_year)
    }

    /// One sentence on what the report is.
    pub fn description(&self) -> String {
        format!(
            "Membership Monitoring Report of {} ({}), UNESCO Creative City of {}, for the reporting period {} \
             (cycle {}, version {}), as accepted and archived by the UNESCO Creative Cities Network Secretariat.",
            self.city_name,
            self.country_name,
            self.field_name,
            self.period(),
            self.cycle_number,
            self.version,
        )
    }

    /// The rights statement.
    pub fn rights(&self) -> String {
        format!(
            "© {}. Made public by the UNESCO Creative Cities Network for research and reference; \
             cite the city and the reporting period.",
            self.city_name
        )
    }

    /// The persistent identifier, in the local scheme: `mmr:archive/<id>`. It names the entry
    /// whatever the server's address; a DOI, once minted, sits beside it.
    pub fn persistent_id(&self) -> String {
        persistent_id(self.id)
    }

    /// The publication year, by which the report is cited.
    fn year(&self) -> i32 {
        self.published_at.year()
    }

    /// A reference in plain text, e.g. `Östersund (2026). Membership Monitoring Report —
    /// Östersund, 2022–2026 (version 1) [Report]. UNESCO Creative Cities Network, Gastronomy.
    /// mmr:archive/7. <url>`; `url` is the entry's public address.
    pub fn citation_text(&self, url: &str) -> String {
        format!(
            "{} ({}). {} (version {}) [Report]. UNESCO Creative Cities Network, {}. {}. {url}",
            self.city_name,
            self.year(),
            self.title(),
            self.version,
            self.field_name,
            self.persistent_id(),
        )
    }

    /// A BibTeX `@techreport` entry keyed `mmr-archive-<id>`, the city as a corporate author
    /// (double braces keep it whole), every value escaped for (La)TeX.
    pub fn bibtex(&self, url: &str) -> String {
        let fields = [
            ("author", format!("{{{}}}", tex(&self.city_name))),
            ("title", tex(&self.title())),
            ("institution", "UNESCO Creative Cities Network".to_owned()),
            ("type", "Membership Monitoring Report".to_owned()),
            ("year", self.year().to_string()),
            ("month", self.published_at.month().to_string()),
            ("version", self.version.to_string()),
            ("language", language_name(&self.language).to_owned()),
            ("keywords", tex(&format!("{}, {}", self.field_name, self.country_name))),
            ("url", url.replace(['{', '}'], "")),
            ("note", tex(&format!("{}; PDF SHA-256 {}", self.persistent_id(), self.pdf_sha256))),
        ];
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {k} = {{{v}}}")).collect();
        format!("@techreport{{mmr-archive-{},\n{}\n}}\n", self.id, body.join(",\n"))
    }

    /// A CSL-JSON item (`type` `report`), as citation managers import it.
    pub fn csl_json(&self, url: &str) -> Value {
        let d = self.published_at.date();
        json!({
            "id": format!("mmr-archive-{}", self.id),
            "type": "report",
            "title": self.title(),
            "author": [{ "literal": self.city_name }],
            "issued": { "date-parts": [[d.year(), d.month(), d.day()]] },
            "publisher": "UNESCO Creative Cities Network",
            "genre": "Membership Monitoring Report",
            "version": self.version.to_string(),
            "language": self.language,
            "keyword": format!("{}, {}", self.field_name, self.country_name),
            "abstract": self.description(),
            "URL": url,
            "note": self.persistent_id(),
        })
    }

    /// The sets it belongs to: its field's and its country's.
    pub fn set_specs(&self) -> [String; 2] {
        super::harvest::set_specs(&self.field_slug, &self.country_code)
    }
}

/// The persistent identifier of archive entry `id`: `mmr:archive/<id>`.
pub fn persistent_id(id: i64) -> String {
    format!("mmr:archive/{id}")
}

/// The language's English name, as BibTeX's `language` field takes it.
fn language_name(code: &str) -> &str {
    match code {
        "en" => "english",
        "fr" => "french",
        other => other,
    }
}

/// Escapes the characters (La)TeX gives a meaning to; other Unicode passes as is (biber reads
/// UTF-8).
fn tex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' | '}' | '&' | '%' | '$' | '#' | '_' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(ch),
        }
    }
    out
}

/// What a search, an export or a bulk download selects among published entries; every given
/// criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// UNESCO's region of the city's country.
    pub region: Option<Region>,
    pub field: Option<String>,
    /// The last year of the reporting period.
    pub year: Option<i32>,
    /// `en` or `fr`.
    pub language: Option<String>,
    /// Words that must all occur in the report or the action plan, as `workflow::catalog::query_words` gives
    /// them. Empty: no text condition.
    pub words: Vec<String>,
}

/// One value of a facet and how many entries of the search have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub code: String,
    /// The field's or country's name; the year itself for years.
    pub name: String,
    pub count: i64,
}

/// The facets of a search: its entries counted per creative field, country, UNESCO region and
/// period end year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub fields: Vec<FacetCount>,
    pub countries: Vec<FacetCount>,
    /// Summed from the countries' counts; countries without a region are not counted.
    pub regions: Vec<FacetCount>,
    pub years: Vec<FacetCount>,
    /// `en` or `fr`, named by their codes.
    pub languages: Vec<FacetCount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tex_escapes_what_tex_reads() {
        assert_eq!(tex("Saint-Étienne"), "Saint-Étienne");
        assert_eq!(tex("A & B {x} 50% $1 #2 a_b"), "A \\& B \\{x\\} 50\\% \\$1 \\#2 a\\_b");
        assert_eq!(tex("~^\\"), "\\textasciitilde{}\\textasciicircum{}\\textbackslash{}");
    }
}
