//! Extra fonts from a template's font directory: right-to-left scripts shaped
//! and ordered, fonts embedded, no placeholder; text of both directions drawn in the
//! order of UAX #9 and read back, from the structure and the text layer, as written.

use std::path::Path;

use mmr::render::{Limits, RenderRequest, Template, WarningCode, render};

use super::support::{meta, pdftotext, scratch, struct_text, tool, write_pdf};

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
    let md = "Hebrew: שלום עולם. Arabic: مرحبا بالعالم.\n\nשלום עולם\n";
    let r = render_with(&template, md);
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
    // The letters of a right-to-left word are drawn from the right, one by one: poppler gives
    // each a box of its own, and the first letter of each word says where it is.
    let (a, b) = (x_of("ש").expect("first word"), x_of("ע").expect("second word"));
    assert!(a > b, "first Hebrew word should be right of the second: {a} vs {b}");
}

/// Whitespace runs as one space.
/// A report rendered with `template`.
fn render_with(template: &Template, md: &str) -> mmr::render::Rendered {
    render(&RenderRequest {
        report_markdown: md,
        action_plan_markdown: None,
        attachments: &[],
        meta: &meta(),
        template,
        limits: &Limits::default(),
    })
    .expect("renders")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn mixed_direction_text_reads_back_in_logical_order() {
    let template = template_with_extra_dir();
    let arabic = "زار الوفد مدينة Edinburgh في عام 2013. وعاد مع UNESCO Creative Cities بعد ثلاثة أيام.";
    let hebrew = "המשלחת ביקרה בעיר Paris בשנת 2019. ושבה עם UNESCO לאחר 3 ימים.";
    let md = format!("{arabic}\n\n{hebrew}\n");
    let r = render_with(&template, &md);
    let path = write_pdf("bidi", &r.pdf);
    // The structure tree gives each paragraph as written: words, digits and Latin in order.
    let tagged = squash(&struct_text(&path, true));
    for paragraph in [arabic, hebrew] {
        assert!(tagged.contains(paragraph), "{paragraph:?} does not read back in order from the structure:\n{tagged}");
    }
    // The text layer gives every word as written (poppler orders the runs of a line by the
    // page's main direction). Words with a lam-alef are left out: Noto Naskh draws it as two
    // glyphs at one place, the alef without advance, which poppler's text layer takes for
    // overprinted text and moves apart, in whichever order they are drawn; an /ActualText
    // span over the pair only swaps its letters there (poppler lays a span's text out left
    // to right) and is not read by its structure text. The structure reads them right (above).
    let text: String =
        pdftotext(&path, &[]).chars().map(|c| if matches!(c, '\u{202B}' | '\u{202C}') { ' ' } else { c }).collect();
    let words: Vec<&str> = text.split_whitespace().flat_map(|w| w.split('.')).collect();
    for word in format!("{arabic} {hebrew}").split_whitespace().map(|w| w.trim_end_matches('.')) {
        assert!(word.contains("لا") || words.contains(&word), "{word:?} does not read back from the text:\n{text}");
    }
    // Drawn right to left: the Latin word, then the number after it, further left.
    let (ok, bbox, _) = tool("pdftotext", "poppler-utils", &["-bbox", path.to_str().expect("utf-8 path"), "-"]);
    assert!(ok);
    let x_of = |w: &str| -> f32 {
        bbox.lines()
            .filter(|l| l.contains(w))
            .filter_map(|l| l.split("xMin=\"").nth(1)?.split('"').next()?.parse().ok())
            .next()
            .unwrap_or_else(|| panic!("{w} not in {bbox}"))
    };
    assert!(x_of("Edinburgh") > x_of("2013"), "the number follows Edinburgh, to its left");
    assert!(x_of("Paris") > x_of("2019"), "the number follows Paris, to its left");
}

#[test]
fn arabic_indic_digits_read_left_to_right_in_arabic_text() {
    let template = template_with_extra_dir();
    let md = "افتتح المهرجان في عام ٢٠١٣ بحضور الجمهور.\n";
    let r = render_with(&template, md);
    let path = write_pdf("arabic-indic-digits", &r.pdf);
    assert!(squash(&struct_text(&path, true)).contains(md.trim()), "{}", struct_text(&path, true));
    // The number is drawn left to right, as one word: its glyphs in reading order.
    let (ok, bbox, _) = tool("pdftotext", "poppler-utils", &["-bbox", path.to_str().expect("utf-8 path"), "-"]);
    assert!(ok);
    assert!(bbox.lines().any(|l| l.contains(">٢٠١٣<")), "the digits are not drawn left to right:\n{bbox}");
}
