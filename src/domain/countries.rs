//! ISO 3166-1 alpha-2 country reference data.
//!
//! This module owns the static country table used across the service: every one of
//! the 249 officially assigned ISO 3166-1 alpha-2 codes, its short English name and
//! the country's primary IANA time zone.
//!
//! * `COUNTRIES` is sorted by code, so [`country`] can binary-search it.
//! * `name` is a short English name. For the 54 countries of the founding-city data
//!   (`shared/domain/cities.csv`) it is spelled exactly as in that file (e.g.
//!   "South Korea", "Republic of the Congo", "Czechia", "Turkey"); UNESCO's long formal
//!   names ("Iran (Islamic Republic of)") are not stored here.
//! * `time_zone` is the zone of the capital (US -> America/New_York, AU ->
//!   Australia/Sydney, BR -> America/Sao_Paulo, CA -> America/Toronto, ...). It is a
//!   country-level default only: multi-zone countries need a per-city zone, which the
//!   city data carries. For uninhabited territories without a zone of their own the
//!   zone of the administering state's capital is used (BV -> Europe/Oslo, HM ->
//!   Australia/Sydney); AQ and UM, which have no capital, use Antarctica/McMurdo and
//!   Pacific/Midway. All names are valid in the IANA tz database as shipped by
//!   chrono-tz 0.10 (checked outside this crate; this module has no dependencies).

/// One ISO 3166-1 country or territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, two upper-case ASCII letters.
    pub code: &'static str,
    /// Short English name.
    pub name: &'static str,
    /// Primary IANA time zone (the capital's zone).
    pub time_zone: &'static str,
}

/// Looks up a country by its exact, upper-case ISO 3166-1 alpha-2 code.
///
/// Returns `None` for unknown codes and for codes that are not upper case
/// (`"fr"` gives `None`; callers normalise input themselves if they want to).
pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.binary_search_by(|c| c.code.cmp(code)).ok().map(|i| &COUNTRIES[i])
}

/// All 249 officially assigned ISO 3166-1 alpha-2 codes, sorted by code.
#[rustfmt::skip]
pub const COUNTRIES: &[Country] = &[
    Country { code: "AD", name: "Andorra", time_zone: "Europe/Andorra" },
    Country { code: "AE", name: "United Arab Emirates", time_zone: "Asia/Dubai" },
    Country { code: "AF", name: "Afghanistan", time_zone: "Asia/Kabul" },
    Country { code: "AG", name: "Antigua and Barbuda", time_zone: "America/Antigua" },
    Country { code: "AI", name: "Anguilla", time_zone: "America/Anguilla" },
    Country { code: "AL", name: "Albania", time_zone: "Europe/Tirane" },
    Country { code: "AM", name: "Armenia", time_zone: "Asia/Yerevan" },
    Country { code: "AO", name: "Angola", time_zone: "Africa/Luanda" },
    Country { code: "AQ", name: "Antarctica", time_zone: "Antarctica/McMurdo" },
    Country { code: "AR", name: "Argentina", time_zone: "America/Argentina/Buenos_Aires" },
    Country { code: "AS", name: "American Samoa", time_zone: "Pacific/Pago_Pago" },
    Country { code: "AT", name: "Austria", time_zone: "Europe/Vienna" },
    Country { code: "AU", name: "Australia", time_zone: "Australia/Sydney" },
    Country { code: "AW", name: "Aruba", time_zone: "America/Aruba" },
    Country { code: "AX", name: "Åland Islands", time_zone: "Europe/Mariehamn" },
    Country { code: "AZ", name: "Azerbaijan", time_zone: "Asia/Baku" },
    Country { code: "BA", name: "Bosnia and Herzegovina", time_zone: "Europe/Sarajevo" },
    Country { code: "BB", name: "Barbados", time_zone: "America/Barbados" },
    Country { code: "BD", name: "Bangladesh", time_zone: "Asia/Dhaka" },
    Country { code: "BE", name: "Belgium", time_zone: "Europe/Brussels" },
    Country { code: "BF", name: "Burkina Faso", time_zone: "Africa/Ouagadougou" },
    Country { code: "BG", name: "Bulgaria", time_zone: "Europe/Sofia" },
    Country { code: "BH", name: "Bahrain", time_zone: "Asia/Bahrain" },
    Country { code: "BI", name: "Burundi", time_zone: "Africa/Bujumbura" },
    Country { code: "BJ", name: "Benin", time_zone: "Africa/Porto-Novo" },
    Country { code: "BL", name: "Saint Barthélemy", time_zone: "America/St_Barthelemy" },
    Country { code: "BM", name: "Bermuda", time_zone: "Atlantic/Bermuda" },
    Country { code: "BN", name: "Brunei", time_zone: "Asia/Brunei" },
    Country { code: "BO", name: "Bolivia", time_zone: "America/La_Paz" },
    Country { code: "BQ", name: "Caribbean Netherlands", time_zone: "America/Kralendijk" },
    Country { code: "BR", name: "Brazil", time_zone: "America/Sao_Paulo" },
    Country { code: "BS", name: "Bahamas", time_zone: "America/Nassau" },
    Country { code: "BT", name: "Bhutan", time_zone: "Asia/Thimphu" },
    Country { code: "BV", name: "Bouvet Island", time_zone: "Europe/Oslo" },
    Country { code: "BW", name: "Botswana", time_zone: "Africa/Gaborone" },
    Country { code: "BY", name: "Belarus", time_zone: "Europe/Minsk" },
    Country { code: "BZ", name: "Belize", time_zone: "America/Belize" },
    Country { code: "CA", name: "Canada", time_zone: "America/Toronto" },
    Country { code: "CC", name: "Cocos (Keeling) Islands", time_zone: "Indian/Cocos" },
    Country { code: "CD", name: "Democratic Republic of the Congo", time_zone: "Africa/Kinshasa" },
    Country { code: "CF", name: "Central African Republic", time_zone: "Africa/Bangui" },
    Country { code: "CG", name: "Republic of the Congo", time_zone: "Africa/Brazzaville" },
    Country { code: "CH", name: "Switzerland", time_zone: "Europe/Zurich" },
    Country { code: "CI", name: "Côte d'Ivoire", time_zone: "Africa/Abidjan" },
    Country { code: "CK", name: "Cook Islands", time_zone: "Pacific/Rarotonga" },
    Country { code: "CL", name: "Chile", time_zone: "America/Santiago" },
    Country { code: "CM", name: "Cameroon", time_zone: "Africa/Douala" },
    Country { code: "CN", name: "China", time_zone: "Asia/Shanghai" },
    Country { code: "CO", name: "Colombia", time_zone: "America/Bogota" },
    Country { code: "CR", name: "Costa Rica", time_zone: "America/Costa_Rica" },
    Country { code: "CU", name: "Cuba", time_zone: "America/Havana" },
    Country { code: "CV", name: "Cabo Verde", time_zone: "Atlantic/Cape_Verde" },
    Country { code: "CW", name: "Curaçao", time_zone: "America/Curacao" },
    Country { code: "CX", name: "Christmas Island", time_zone: "Indian/Christmas" },
    Country { code: "CY", name: "Cyprus", time_zone: "Asia/Nicosia" },
    Country { code: "CZ", name: "Czechia", time_zone: "Europe/Prague" },
    Country { code: "DE", name: "Germany", time_zone: "Europe/Berlin" },
    Country { code: "DJ", name: "Djibouti", time_zone: "Africa/Djibouti" },
    Country { code: "DK", name: "Denmark", time_zone: "Europe/Copenhagen" },
    Country { code: "DM", name: "Dominica", time_zone: "America/Dominica" },
    Country { code: "DO", name: "Dominican Republic", time_zone: "America/Santo_Domingo" },
    Country { code: "DZ", name: "Algeria", time_zone: "Africa/Algiers" },
    Country { code: "EC", name: "Ecuador", time_zone: "America/Guayaquil" },
    Country { code: "EE", name: "Estonia", time_zone: "Europe/Tallinn" },
    Country { code: "EG", name: "Egypt", time_zone: "Africa/Cairo" },
    Country { code: "EH", name: "Western Sahara", time_zone: "Africa/El_Aaiun" },
    Country { code: "ER", name: "Eritrea", time_zone: "Africa/Asmara" },
    Country { code: "ES", name: "Spain", time_zone: "Europe/Madrid" },
    Country { code: "ET", name: "Ethiopia", time_zone: "Africa/Addis_Ababa" },
    Country { code: "FI", name: "Finland", time_zone: "Europe/Helsinki" },
    Country { code: "FJ", name: "Fiji", time_zone: "Pacific/Fiji" },
    Country { code: "FK", name: "Falkland Islands", time_zone: "Atlantic/Stanley" },
    Country { code: "FM", name: "Micronesia", time_zone: "Pacific/Pohnpei" },
    Country { code: "FO", name: "Faroe Islands", time_zone: "Atlantic/Faroe" },
    Country { code: "FR", name: "France", time_zone: "Europe/Paris" },
    Country { code: "GA", name: "Gabon", time_zone: "Africa/Libreville" },
    Country { code: "GB", name: "United Kingdom", time_zone: "Europe/London" },
    Country { code: "GD", name: "Grenada", time_zone: "America/Grenada" },
    Country { code: "GE", name: "Georgia", time_zone: "Asia/Tbilisi" },
    Country { code: "GF", name: "French Guiana", time_zone: "America/Cayenne" },
    Country { code: "GG", name: "Guernsey", time_zone: "Europe/Guernsey" },
    Country { code: "GH", name: "Ghana", time_zone: "Africa/Accra" },
    Country { code: "GI", name: "Gibraltar", time_zone: "Europe/Gibraltar" },
    Country { code: "GL", name: "Greenland", time_zone: "America/Nuuk" },
    Country { code: "GM", name: "Gambia", time_zone: "Africa/Banjul" },
    Country { code: "GN", name: "Guinea", time_zone: "Africa/Conakry" },
    Country { code: "GP", name: "Guadeloupe", time_zone: "America/Guadeloupe" },
    Country { code: "GQ", name: "Equatorial Guinea", time_zone: "Africa/Malabo" },
    Country { code: "GR", name: "Greece", time_zone: "Europe/Athens" },
    Country { code: "GS", name: "South Georgia and the South Sandwich Islands", time_zone: "Atlantic/South_Georgia" },
    Country { code: "GT", name: "Guatemala", time_zone: "America/Guatemala" },
    Country { code: "GU", name: "Guam", time_zone: "Pacific/Guam" },
    Country { code: "GW", name: "Guinea-Bissau", time_zone: "Africa/Bissau" },
    Country { code: "GY", name: "Guyana", time_zone: "America/Guyana" },
    Country { code: "HK", name: "Hong Kong", time_zone: "Asia/Hong_Kong" },
    Country { code: "HM", name: "Heard Island and McDonald Islands", time_zone: "Australia/Sydney" },
    Country { code: "HN", name: "Honduras", time_zone: "America/Tegucigalpa" },
    Country { code: "HR", name: "Croatia", time_zone: "Europe/Zagreb" },
    Country { code: "HT", name: "Haiti", time_zone: "America/Port-au-Prince" },
    Country { code: "HU", name: "Hungary", time_zone: "Europe/Budapest" },
    Country { code: "ID", name: "Indonesia", time_zone: "Asia/Jakarta" },
    Country { code: "IE", name: "Ireland", time_zone: "Europe/Dublin" },
    Country { code: "IL", name: "Israel", time_zone: "Asia/Jerusalem" },
    Country { code: "IM", name: "Isle of Man", time_zone: "Europe/Isle_of_Man" },
    Country { code: "IN", name: "India", time_zone: "Asia/Kolkata" },
    Country { code: "IO", name: "British Indian Ocean Territory", time_zone: "Indian/Chagos" },
    Country { code: "IQ", name: "Iraq", time_zone: "Asia/Baghdad" },
    Country { code: "IR", name: "Iran", time_zone: "Asia/Tehran" },
    Country { code: "IS", name: "Iceland", time_zone: "Atlantic/Reykjavik" },
    Country { code: "IT", name: "Italy", time_zone: "Europe/Rome" },
    Country { code: "JE", name: "Jersey", time_zone: "Europe/Jersey" },
    Country { code: "JM", name: "Jamaica", time_zone: "America/Jamaica" },
    Country { code: "JO", name: "Jordan", time_zone: "Asia/Amman" },
    Country { code: "JP", name: "Japan", time_zone: "Asia/Tokyo" },
    Country { code: "KE", name: "Kenya", time_zone: "Africa/Nairobi" },
    Country { code: "KG", name: "Kyrgyzstan", time_zone: "Asia/Bishkek" },
    Country { code: "KH", name: "Cambodia", time_zone: "Asia/Phnom_Penh" },
    Country { code: "KI", name: "Kiribati", time_zone: "Pacific/Tarawa" },
    Country { code: "KM", name: "Comoros", time_zone: "Indian/Comoro" },
    Country { code: "KN", name: "Saint Kitts and Nevis", time_zone: "America/St_Kitts" },
    Country { code: "KP", name: "North Korea", time_zone: "Asia/Pyongyang" },
    Country { code: "KR", name: "South Korea", time_zone: "Asia/Seoul" },
    Country { code: "KW", name: "Kuwait", time_zone: "Asia/Kuwait" },
    Country { code: "KY", name: "Cayman Islands", time_zone: "America/Cayman" },
    Country { code: "KZ", name: "Kazakhstan", time_zone: "Asia/Almaty" },
    Country { code: "LA", name: "Laos", time_zone: "Asia/Vientiane" },
    Country { code: "LB", name: "Lebanon", time_zone: "Asia/Beirut" },
    Country { code: "LC", name: "Saint Lucia", time_zone: "America/St_Lucia" },
    Country { code: "LI", name: "Liechtenstein", time_zone: "Europe/Vaduz" },
    Country { code: "LK", name: "Sri Lanka", time_zone: "Asia/Colombo" },
    Country { code: "LR", name: "Liberia", time_zone: "Africa/Monrovia" },
    Country { code: "LS", name: "Lesotho", time_zone: "Africa/Maseru" },
    Country { code: "LT", name: "Lithuania", time_zone: "Europe/Vilnius" },
    Country { code: "LU", name: "Luxembourg", time_zone: "Europe/Luxembourg" },
    Country { code: "LV", name: "Latvia", time_zone: "Europe/Riga" },
    Country { code: "LY", name: "Libya", time_zone: "Africa/Tripoli" },
    Country { code: "MA", name: "Morocco", time_zone: "Africa/Casablanca" },
    Country { code: "MC", name: "Monaco", time_zone: "Europe/Monaco" },
    Country { code: "MD", name: "Moldova", time_zone: "Europe/Chisinau" },
    Country { code: "ME", name: "Montenegro", time_zone: "Europe/Podgorica" },
    Country { code: "MF", name: "Saint Martin (French part)", time_zone: "America/Marigot" },
    Country { code: "MG", name: "Madagascar", time_zone: "Indian/Antananarivo" },
    Country { code: "MH", name: "Marshall Islands", time_zone: "Pacific/Majuro" },
    Country { code: "MK", name: "North Macedonia", time_zone: "Europe/Skopje" },
    Country { code: "ML", name: "Mali", time_zone: "Africa/Bamako" },
    Country { code: "MM", name: "Myanmar", time_zone: "Asia/Yangon" },
    Country { code: "MN", name: "Mongolia", time_zone: "Asia/Ulaanbaatar" },
    Country { code: "MO", name: "Macao", time_zone: "Asia/Macau" },
    Country { code: "MP", name: "Northern Mariana Islands", time_zone: "Pacific/Saipan" },
    Country { code: "MQ", name: "Martinique", time_zone: "America/Martinique" },
    Country { code: "MR", name: "Mauritania", time_zone: "Africa/Nouakchott" },
    Country { code: "MS", name: "Montserrat", time_zone: "America/Montserrat" },
    Country { code: "MT", name: "Malta", time_zone: "Europe/Malta" },
    Country { code: "MU", name: "Mauritius", time_zone: "Indian/Mauritius" },
    Country { code: "MV", name: "Maldives", time_zone: "Indian/Maldives" },
    Country { code: "MW", name: "Malawi", time_zone: "Africa/Blantyre" },
    Country { code: "MX", name: "Mexico", time_zone: "America/Mexico_City" },
    Country { code: "MY", name: "Malaysia", time_zone: "Asia/Kuala_Lumpur" },
    Country { code: "MZ", name: "Mozambique", time_zone: "Africa/Maputo" },
    Country { code: "NA", name: "Namibia", time_zone: "Africa/Windhoek" },
    Country { code: "NC", name: "New Caledonia", time_zone: "Pacific/Noumea" },
    Country { code: "NE", name: "Niger", time_zone: "Africa/Niamey" },
    Country { code: "NF", name: "Norfolk Island", time_zone: "Pacific/Norfolk" },
    Country { code: "NG", name: "Nigeria", time_zone: "Africa/Lagos" },
    Country { code: "NI", name: "Nicaragua", time_zone: "America/Managua" },
    Country { code: "NL", name: "Netherlands", time_zone: "Europe/Amsterdam" },
    Country { code: "NO", name: "Norway", time_zone: "Europe/Oslo" },
    Country { code: "NP", name: "Nepal", time_zone: "Asia/Kathmandu" },
    Country { code: "NR", name: "Nauru", time_zone: "Pacific/Nauru" },
    Country { code: "NU", name: "Niue", time_zone: "Pacific/Niue" },
    Country { code: "NZ", name: "New Zealand", time_zone: "Pacific/Auckland" },
    Country { code: "OM", name: "Oman", time_zone: "Asia/Muscat" },
    Country { code: "PA", name: "Panama", time_zone: "America/Panama" },
    Country { code: "PE", name: "Peru", time_zone: "America/Lima" },
    Country { code: "PF", name: "French Polynesia", time_zone: "Pacific/Tahiti" },
    Country { code: "PG", name: "Papua New Guinea", time_zone: "Pacific/Port_Moresby" },
    Country { code: "PH", name: "Philippines", time_zone: "Asia/Manila" },
    Country { code: "PK", name: "Pakistan", time_zone: "Asia/Karachi" },
    Country { code: "PL", name: "Poland", time_zone: "Europe/Warsaw" },
    Country { code: "PM", name: "Saint Pierre and Miquelon", time_zone: "America/Miquelon" },
    Country { code: "PN", name: "Pitcairn", time_zone: "Pacific/Pitcairn" },
    Country { code: "PR", name: "Puerto Rico", time_zone: "America/Puerto_Rico" },
    Country { code: "PS", name: "Palestine", time_zone: "Asia/Hebron" },
    Country { code: "PT", name: "Portugal", time_zone: "Europe/Lisbon" },
    Country { code: "PW", name: "Palau", time_zone: "Pacific/Palau" },
    Country { code: "PY", name: "Paraguay", time_zone: "America/Asuncion" },
    Country { code: "QA", name: "Qatar", time_zone: "Asia/Qatar" },
    Country { code: "RE", name: "Réunion", time_zone: "Indian/Reunion" },
    Country { code: "RO", name: "Romania", time_zone: "Europe/Bucharest" },
    Country { code: "RS", name: "Serbia", time_zone: "Europe/Belgrade" },
    Country { code: "RU", name: "Russia", time_zone: "Europe/Moscow" },
    Country { code: "RW", name: "Rwanda", time_zone: "Africa/Kigali" },
    Country { code: "SA", name: "Saudi Arabia", time_zone: "Asia/Riyadh" },
    Country { code: "SB", name: "Solomon Islands", time_zone: "Pacific/Guadalcanal" },
    Country { code: "SC", name: "Seychelles", time_zone: "Indian/Mahe" },
    Country { code: "SD", name: "Sudan", time_zone: "Africa/Khartoum" },
    Country { code: "SE", name: "Sweden", time_zone: "Europe/Stockholm" },
    Country { code: "SG", name: "Singapore", time_zone: "Asia/Singapore" },
    Country { code: "SH", name: "Saint Helena, Ascension and Tristan da Cunha", time_zone: "Atlantic/St_Helena" },
    Country { code: "SI", name: "Slovenia", time_zone: "Europe/Ljubljana" },
    Country { code: "SJ", name: "Svalbard and Jan Mayen", time_zone: "Arctic/Longyearbyen" },
    Country { code: "SK", name: "Slovakia", time_zone: "Europe/Bratislava" },
    Country { code: "SL", name: "Sierra Leone", time_zone: "Africa/Freetown" },
    Country { code: "SM", name: "San Marino", time_zone: "Europe/San_Marino" },
    Country { code: "SN", name: "Senegal", time_zone: "Africa/Dakar" },
    Country { code: "SO", name: "Somalia", time_zone: "Africa/Mogadishu" },
    Country { code: "SR", name: "Suriname", time_zone: "America/Paramaribo" },
    Country { code: "SS", name: "South Sudan", time_zone: "Africa/Juba" },
    Country { code: "ST", name: "São Tomé and Príncipe", time_zone: "Africa/Sao_Tome" },
    Country { code: "SV", name: "El Salvador", time_zone: "America/El_Salvador" },
    Country { code: "SX", name: "Sint Maarten (Dutch part)", time_zone: "America/Lower_Princes" },
    Country { code: "SY", name: "Syria", time_zone: "Asia/Damascus" },
    Country { code: "SZ", name: "Eswatini", time_zone: "Africa/Mbabane" },
    Country { code: "TC", name: "Turks and Caicos Islands", time_zone: "America/Grand_Turk" },
    Country { code: "TD", name: "Chad", time_zone: "Africa/Ndjamena" },
    Country { code: "TF", name: "French Southern Territories", time_zone: "Indian/Kerguelen" },
    Country { code: "TG", name: "Togo", time_zone: "Africa/Lome" },
    Country { code: "TH", name: "Thailand", time_zone: "Asia/Bangkok" },
    Country { code: "TJ", name: "Tajikistan", time_zone: "Asia/Dushanbe" },
    Country { code: "TK", name: "Tokelau", time_zone: "Pacific/Fakaofo" },
    Country { code: "TL", name: "Timor-Leste", time_zone: "Asia/Dili" },
    Country { code: "TM", name: "Turkmenistan", time_zone: "Asia/Ashgabat" },
    Country { code: "TN", name: "Tunisia", time_zone: "Africa/Tunis" },
    Country { code: "TO", name: "Tonga", time_zone: "Pacific/Tongatapu" },
    Country { code: "TR", name: "Turkey", time_zone: "Europe/Istanbul" },
    Country { code: "TT", name: "Trinidad and Tobago", time_zone: "America/Port_of_Spain" },
    Country { code: "TV", name: "Tuvalu", time_zone: "Pacific/Funafuti" },
    Country { code: "TW", name: "Taiwan", time_zone: "Asia/Taipei" },
    Country { code: "TZ", name: "Tanzania", time_zone: "Africa/Dar_es_Salaam" },
    Country { code: "UA", name: "Ukraine", time_zone: "Europe/Kyiv" },
    Country { code: "UG", name: "Uganda", time_zone: "Africa/Kampala" },
    Country { code: "UM", name: "United States Minor Outlying Islands", time_zone: "Pacific/Midway" },
    Country { code: "US", name: "United States", time_zone: "America/New_York" },
    Country { code: "UY", name: "Uruguay", time_zone: "America/Montevideo" },
    Country { code: "UZ", name: "Uzbekistan", time_zone: "Asia/Tashkent" },
    Country { code: "VA", name: "Vatican City", time_zone: "Europe/Vatican" },
    Country { code: "VC", name: "Saint Vincent and the Grenadines", time_zone: "America/St_Vincent" },
    Country { code: "VE", name: "Venezuela", time_zone: "America/Caracas" },
    Country { code: "VG", name: "British Virgin Islands", time_zone: "America/Tortola" },
    Country { code: "VI", name: "United States Virgin Islands", time_zone: "America/St_Thomas" },
    Country { code: "VN", name: "Vietnam", time_zone: "Asia/Ho_Chi_Minh" },
    Country { code: "VU", name: "Vanuatu", time_zone: "Pacific/Efate" },
    Country { code: "WF", name: "Wallis and Futuna", time_zone: "Pacific/Wallis" },
    Country { code: "WS", name: "Samoa", time_zone: "Pacific/Apia" },
    Country { code: "YE", name: "Yemen", time_zone: "Asia/Aden" },
    Country { code: "YT", name: "Mayotte", time_zone: "Indian/Mayotte" },
    Country { code: "ZA", name: "South Africa", time_zone: "Africa/Johannesburg" },
    Country { code: "ZM", name: "Zambia", time_zone: "Africa/Lusaka" },
    Country { code: "ZW", name: "Zimbabwe", time_zone: "Africa/Harare" },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in COUNTRIES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} must sort strictly before {}", pair[0].code, pair[1].code);
        }
    }

    #[test]
    fn table_has_all_249_codes() {
        assert_eq!(COUNTRIES.len(), 249);
    }

    #[test]
    fn codes_are_two_upper_case_ascii_letters() {
        for c in COUNTRIES {
            assert_eq!(c.code.len(), 2, "{}", c.code);
            assert!(c.code.bytes().all(|b| b.is_ascii_uppercase()), "{}", c.code);
        }
    }

    #[test]
    fn names_and_zones_are_filled_in() {
        for c in COUNTRIES {
            assert!(!c.name.trim().is_empty(), "{} has no name", c.code);
            assert!(c.time_zone.contains('/'), "{} zone {}", c.code, c.time_zone);
        }
    }

    #[test]
    fn looks_up_known_codes() {
        let fr = country("FR").expect("FR");
        assert_eq!(fr.name, "France");
        assert_eq!(fr.time_zone, "Europe/Paris");

        let us = country("US").expect("US");
        assert_eq!(us.name, "United States");
        assert_eq!(us.time_zone, "America/New_York");

        assert_eq!(country("AU").map(|c| c.time_zone), Some("Australia/Sydney"));
        assert_eq!(country("BR").map(|c| c.time_zone), Some("America/Sao_Paulo"));
        assert_eq!(country("IN").map(|c| c.time_zone), Some("Asia/Kolkata"));
        assert_eq!(country("MK").map(|c| c.name), Some("North Macedonia"));
        assert_eq!(country("CD").map(|c| c.name), Some("Democratic Republic of the Congo"));
        // First and last entries, to exercise the ends of the binary search.
        assert_eq!(country("AD").map(|c| c.name), Some("Andorra"));
        assert_eq!(country("ZW").map(|c| c.name), Some("Zimbabwe"));
    }

    #[test]
    fn lower_case_or_unknown_codes_give_none() {
        assert!(country("fr").is_none());
        assert!(country("Fr").is_none());
        assert!(country("XX").is_none());
        assert!(country("UK").is_none()); // the UK's code is GB
        assert!(country("").is_none());
        assert!(country("FRA").is_none());
    }
}
