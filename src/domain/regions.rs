//! UNESCO's five regions, by which the Secretariat reports on the network's geographical balance
//! and researchers compare cities: Africa, the Arab States, Asia and the Pacific, Europe and North
//! America, and Latin America and the Caribbean.
//!
//! A country's region is UNESCO's grouping of its Member States and Associate Members (as on
//! UNESCO's "Member States" pages). Territories that are neither (Hong Kong, Greenland, ...) take
//! the region of where they are when that is unambiguous, and have none otherwise (Antarctica,
//! uninhabited islands): [`of`] gives `None` and a search by region never finds them.

use super::Invalid;

/// One of UNESCO's five regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    Africa,
    ArabStates,
    AsiaPacific,
    EuropeNorthAmerica,
    LatinAmericaCaribbean,
}

impl Region {
    pub const ALL: [Region; 5] = [
        Region::Africa,
        Region::ArabStates,
        Region::AsiaPacific,
        Region::EuropeNorthAmerica,
        Region::LatinAmericaCaribbean,
    ];

    /// The slug a query names it by, e.g. `asia_pacific`.
    pub fn slug(self) -> &'static str {
        match self {
            Region::Africa => "africa",
            Region::ArabStates => "arab_states",
            Region::AsiaPacific => "asia_pacific",
            Region::EuropeNorthAmerica => "europe_north_america",
            Region::LatinAmericaCaribbean => "latin_america_caribbean",
        }
    }

    /// Its English name, as UNESCO writes it.
    pub fn name(self) -> &'static str {
        match self {
            Region::Africa => "Africa",
            Region::ArabStates => "Arab States",
            Region::AsiaPacific => "Asia and the Pacific",
            Region::EuropeNorthAmerica => "Europe and North America",
            Region::LatinAmericaCaribbean => "Latin America and the Caribbean",
        }
    }

    /// Parses a slug; anything else is invalid, naming the five.
    pub fn parse(raw: &str) -> Result<Region, Invalid> {
        let wanted = raw.trim().to_ascii_lowercase().replace('-', "_");
        Region::ALL.into_iter().find(|r| r.slug() == wanted).ok_or_else(|| {
            let slugs: Vec<&str> = Region::ALL.iter().map(|r| r.slug()).collect();
            let shown: String = raw.chars().take(40).collect();
            Invalid::new("region", format!("`{shown}` is not a region; use one of {}", slugs.join(", ")))
        })
    }

    /// The ISO 3166-1 alpha-2 codes of its countries and territories, sorted.
    pub fn countries(self) -> &'static [&'static str] {
        match self {
            Region::Africa => AFRICA,
            Region::ArabStates => ARAB_STATES,
            Region::AsiaPacific => ASIA_PACIFIC,
            Region::EuropeNorthAmerica => EUROPE_NORTH_AMERICA,
            Region::LatinAmericaCaribbean => LATIN_AMERICA_CARIBBEAN,
        }
    }
}

/// The region of the country with ISO code `code`, if it has one.
pub fn of(code: &str) -> Option<Region> {
    Region::ALL.into_iter().find(|r| r.countries().binary_search(&code).is_ok())
}

const AFRICA: &[&str] = &[
    "AO", "BF", "BI", "BJ", "BW", "CD", "CF", "CG", "CI", "CM", "CV", "DJ", "ER", "ET", "GA", "GH", "GM", "GN", "GQ",
    "GW", "KE", "KM", "LR", "LS", "MG", "ML", "MU", "MW", "MZ", "NA", "NE", "NG", "RE", "RW", "SC", "SH", "SL", "SN",
    "SO", "SS", "ST", "SZ", "TD", "TG", "TZ", "UG", "YT", "ZA", "ZM", "ZW",
];

const ARAB_STATES: &[&str] = &[
    "AE", "BH", "DZ", "EG", "EH", "IQ", "JO", "KW", "LB", "LY", "MA", "MR", "OM", "PS", "QA", "SA", "SD", "SY", "TN",
    "YE",
];

const ASIA_PACIFIC: &[&str] = &[
    "AF", "AS", "AU", "BD", "BN", "BT", "CC", "CK", "CN", "CX", "FJ", "FM", "GU", "HK", "ID", "IN", "IO", "IR", "JP",
    "KG", "KH", "KI", "KP", "KR", "KZ", "LA", "LK", "MH", "MM", "MN", "MO", "MP", "MV", "MY", "NC", "NF", "NP", "NR",
    "NU", "NZ", "PF", "PG", "PH", "PK", "PN", "PW", "SB", "SG", "TH", "TJ", "TK", "TL", "TM", "TO", "TV", "TW", "UZ",
    "VN", "VU", "WF", "WS",
];

const EUROPE_NORTH_AMERICA: &[&str] = &[
    "AD", "AL", "AM", "AT", "AX", "AZ", "BA", "BE", "BG", "BY", "CA", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI",
    "FO", "FR", "GB", "GE", "GG", "GI", "GL", "GR", "HR", "HU", "IE", "IL", "IM", "IS", "IT", "JE", "LI", "LT", "LU",
    "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PM", "PT", "RO", "RS", "RU", "SE", "SI", "SJ", "SK", "SM",
    "TR", "UA", "US", "VA",
];

const LATIN_AMERICA_CARIBBEAN: &[&str] = &[
    "AG", "AI", "AR", "AW", "BB", "BL", "BM", "BO", "BQ", "BR", "BS", "BZ", "CL", "CO", "CR", "CU", "CW", "DM", "DO",
    "EC", "FK", "GD", "GF", "GP", "GT", "GY", "HN", "HT", "JM", "KN", "KY", "LC", "MF", "MQ", "MS", "MX", "NI", "PA",
    "PE", "PR", "PY", "SR", "SV", "SX", "TC", "TT", "UY", "VC", "VE", "VG", "VI",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::countries::{COUNTRIES, country};

    #[test]
    fn every_code_is_a_country_sorted_and_in_one_region_only() {
        for region in Region::ALL {
            let codes = region.countries();
            assert!(codes.windows(2).all(|w| w[0] < w[1]), "{region:?} is sorted without repeats");
            for code in codes {
                assert!(country(code).is_some(), "{code} of {region:?} is an ISO 3166-1 code");
                assert_eq!(of(code), Some(region), "{code} is in {region:?} only");
            }
        }
        let placed: usize = Region::ALL.iter().map(|r| r.countries().len()).sum();
        let unplaced: Vec<&str> = COUNTRIES.iter().map(|c| c.code).filter(|c| of(c).is_none()).collect();
        assert_eq!(placed + unplaced.len(), COUNTRIES.len());
        assert_eq!(unplaced, ["AQ", "BV", "GS", "HM", "TF", "UM"], "only uninhabited places have no region");
    }

    #[test]
    fn the_founding_cities_countries_all_have_their_region() {
        let csv = include_str!("../../demo/cities.csv");
        for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let code = line.split(',').nth(4).expect("an iso3166_alpha2 column");
            assert!(of(code).is_some(), "{line}");
        }
        let expect = [
            ("SN", Region::Africa),
            ("EG", Region::ArabStates),
            ("LB", Region::ArabStates),
            ("IR", Region::AsiaPacific),
            ("TR", Region::EuropeNorthAmerica),
            ("IL", Region::EuropeNorthAmerica),
            ("RU", Region::EuropeNorthAmerica),
            ("US", Region::EuropeNorthAmerica),
            ("HT", Region::LatinAmericaCaribbean),
            ("MO", Region::AsiaPacific),
        ];
        for (code, region) in expect {
            assert_eq!(of(code), Some(region), "{code}");
        }
    }

    #[test]
    fn slugs_parse_back_and_anything_else_names_them() {
        for region in Region::ALL {
            assert_eq!(Region::parse(region.slug()), Ok(region));
        }
        assert_eq!(Region::parse("Europe-North-America"), Ok(Region::EuropeNorthAmerica));
        let e = Region::parse("europe").unwrap_err();
        assert_eq!(e.field, "region");
        assert!(e.message.contains("latin_america_caribbean"), "{}", e.message);
    }
}
