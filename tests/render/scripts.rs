//! Extra fonts from a template's font directory: right-to-left scripts shaped
//! and ordered, fonts embedded, no placeholder.

use std::path::Path;

use mmr::render::{Limits, RenderRequest, Template, WarningCode, render};

use super::support::{meta, pdftotext, scratch, tool, write_pdf};

/// A copy of the shipped template whose `fonts.extra_dir` points at the test
/// fonts (Noto Sans Hebrew, Noto Naskh Arabic).
pub(crate) fn template_with_extra_dir() -> Template {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = root.join("report_templates/mmr");
    let dir = scratch("extra-fonts-template");
    let json = std::fs::read_to_string(shipped.join("template.json")).expect("read template");
    let json = json.replace("\"extra_dir\": null", "\"extra_dir\": \"extra\"");
    std::fs::write(dir.join("template.json"), json).expect("write template");
    for sub in ["fonts", "extra"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    for entry in std::fs::read_dir(shipped.join("fonts")).expect("fonts dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.join("fonts").join(entry.file_name())).expect("copy font");
    }
    for f in ["NotoSansHebrew-Regular.ttf", "NotoNaskhArabic-Regular.ttf"] {
        std::fs::copy(root.join("tests/render/fonts").join(f), dir.join("extra").join(f)).expect("copy extra font");
    }
    Template::load(&dir).expect("template with extra fonts loads")
}

#[test]
fn hebrew_and_arabic_use_the_configured_fonts() {
    let template = template_with_extra_dir();
    let m = meta();
    let md = "Hebrew: שלום עולם. Arabic: مرحبا بالعالم.\n\nשלום עולם\n";
    let r = render(&RenderRequest {
        report_markdown: md,
        action_plan_markdown: None,
        attachments: &[],
        meta: &m,
        template: &template,
        limits: &Limits::default(),
    })
    .expect("renders");
    assert!(!r.warnings.iter().any(|w| w.code == WarningCode::MissingGlyph), "{:?}", r.warnings);
    let path = write_pdf("rtl", &r.pdf);
    let (ok, fonts, _) = tool("pdffonts", "poppler-utils", &[path.to_str().expect("utf-8 path")]);
    assert!(ok && fonts.contains("NotoSansHebrew") && fonts.contains("NotoNaskhArabic"), "{fonts}");
    let text = pdftotext(&path, &[]);
    let reversed = |s: &str| s.chars().rev().collect::<String>();
    for w in ["שלום", "עולם", "مرحبا"] {
        assert!(text.contains(w) || text.contains(&reversed(w)), "{w} missing: {text}");
    }
    // In a right-to-left paragraph the first word is drawn rightmost.
    let (ok, bbox, _) = tool("pdftotext", "poppler-utils", &["-bbox", path.to_str().expect("utf-8 path"), "-"]);
    assert!(ok);
    let x_of = |w: &str| -> Option<f32> {
        bbox.lines()
            .filter(|l| l.contains(w) || l.contains(&reversed(w)))
            .filter_map(|l| l.split("xMin=\"").nth(1)?.split('"').next()?.parse().ok())
            .next_back()
    };
    let (a, b) = (x_of("שלום").expect("first word"), x_of("עולם").expect("second word"));
    assert!(a > b, "first Hebrew word should be right of the second: {a} vs {b}");
}
