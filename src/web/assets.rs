//! The pages' static files (style sheet, script, icon), embedded in the binary and served under
//! content-hashed names (`/static/site.3f9a0c1e.css`), so a browser may keep them for a year and a
//! new release is fetched at once. An old or unknown name is a 404.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// `site.css`.
    pub name: &'static str,
    /// `site.<8 hex digits of its SHA-256>.css`.
    pub hashed: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const FILES: [(&str, &str, &[u8]); 3] = [
    ("site.css", "text/css; charset=utf-8", include_bytes!("static/site.css")),
    ("site.js", "text/javascript; charset=utf-8", include_bytes!("static/site.js")),
    ("icon.svg", "image/svg+xml", include_bytes!("static/icon.svg")),
];

fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|&(name, content_type, body)| {
                let digest = Sha256::digest(body);
                let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                Asset { name, hashed: format!("{stem}.{short}.{ext}"), content_type, body }
            })
            .collect()
    })
}

/// The address of asset `name` (`/static/site.3f9a0c1e.css`).
pub fn url(name: &str) -> String {
    let asset = all().iter().find(|a| a.name == name);
    debug_assert!(asset.is_some(), "no asset named {name}");
    format!("/static/{}", asset.map_or(name, |a| a.hashed.as_str()))
}

/// The asset served under `hashed`, if it is the current name of one.
pub fn find(hashed: &str) -> Option<&'static Asset> {
    all().iter().find(|a| a.hashed == hashed)
}

/// The total size of the style sheets and scripts a page loads, in bytes (the page budget).
pub fn page_weight() -> usize {
    all().iter().filter(|a| a.name != "icon.svg").map(|a| a.body.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let css = url("site.css");
        assert!(
            css.starts_with("/static/site.") && css.ends_with(".css") && css.len() == "/static/site.12345678.css".len()
        );
        assert!(find(css.trim_start_matches("/static/")).is_some());
        assert!(find("site.css").is_none());
        assert!(page_weight() < 50 * 1024, "CSS and scripts weigh {} bytes", page_weight());
    }
}
