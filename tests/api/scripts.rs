//! Every script on the server (issue 17): with `MMR_FONTS_DIR` pointing at Debian's Noto fonts
//! (README's recipe: `fonts-noto-core`, `fonts-noto-cjk`, installed by `make test-deps`), a report
//! in Arabic, Hebrew, Devanagari, Thai, Chinese, Japanese and Korean, beside Latin, renders through
//! the API, as a preview and as the archived PDF, with no glyph 0 drawn and its text read back.

use std::path::Path;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use mmr::render::Template;
use serde_json::json;

use crate::helpers::{TestApp, pdftotext, request, send_via};
use crate::submissions::{b64, full_plan, full_report, open_cycle, png};

/// One paragraph per script, each with numbers; `true` for a right-to-left script.
const SAMPLES: [(&str, bool, &str); 7] = [
    (
        "Arabic",
        true,
        "تعمل المدينة مع الفنانين المحليين منذ عام 2013. ويشارك أكثر من 400 شخص في المهرجان السنوي للموسيقى.",
    ),
    ("Hebrew", true, "העיר עובדת עם אמנים מקומיים מאז שנת 2013. יותר מ־400 אנשים משתתפים בפסטיבל המוזיקה השנתי."),
    ("Devanagari", false, "शहर 2013 से स्थानीय कलाकारों के साथ काम करता है। वार्षिक संगीत उत्सव में 400 से अधिक लोग भाग लेते हैं।"),
    ("Thai", false, "เมืองนี้ทำงานร่วมกับศิลปินท้องถิ่นมาตั้งแต่ปี 2013 และมีผู้เข้าร่วมเทศกาลดนตรีประจำปีมากกว่า 400 คน"),
    ("Chinese", false, "该市自2013年起与当地艺术家合作，每年的音乐节有四百多人参加。"),
    ("Japanese", false, "市は2013年から地元の芸術家と協力しており、毎年の音楽祭には四百人以上が参加しています。"),
    ("Korean", false, "시는 2013년부터 지역 예술가들과 협력해 왔으며, 매년 음악 축제에 400명 이상이 참여합니다."),
];

/// README's fonts directory: links to the Debian packages' files.
const DEBIAN_FONTS: [&str; 5] = [
    "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerifHebrew-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerifDevanagari-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerifThai-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
];

fn fonts_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for font in DEBIAN_FONTS {
        let path = Path::new(font);
        assert!(path.exists(), "{font} is missing: install fonts-noto-core and fonts-noto-cjk (make test-deps)");
        std::os::unix::fs::symlink(path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// A script's paragraph: the sample three times, so lines wrap.
fn paragraph(sample: &str) -> String {
    format!("{sample} {sample} {sample}")
}

/// Longest common subsequence of the source's non-space characters in the extracted text, over
/// the source's: the share of the text read back in order.
fn recall(source: &str, extracted: &str) -> f64 {
    let a: Vec<char> = source.chars().filter(|c| !c.is_whitespace()).collect();
    let b: Vec<char> = extracted.chars().filter(|c| !c.is_whitespace()).collect();
    let mut row = vec![0u32; b.len() + 1];
    for x in &a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { above.max(row[j]) };
            diagonal = above;
        }
    }
    f64::from(row[b.len()]) / a.len() as f64
}

/// The share of the source's non-space characters found in the extracted text, counted with
/// their multiplicity but in any order. For right-to-left text: pdftotext gives a line that
/// mixes directions as its direction runs in visual order, so an order-based measure would
/// score the reader, not the PDF.
fn unordered_recall(source: &str, extracted: &str) -> f64 {
    let mut available = std::collections::HashMap::new();
    for c in extracted.chars() {
        *available.entry(c).or_insert(0u32) += 1;
    }
    let wanted: Vec<char> = source.chars().filter(|c| !c.is_whitespace()).collect();
    let found = wanted
        .iter()
        .filter(|c| {
            available.get_mut(c).is_some_and(|n| {
                *n > 0 && {
                    *n -= 1;
                    true
                }
            })
        })
        .count();
    found as f64 / wanted.len() as f64
}

/// Every page's content stream, searched for glyph code 0 (a `.notdef` box).
fn draws_glyph_zero(pdf: &[u8]) -> bool {
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf reads the PDF");
    doc.get_pages().values().any(|&page| {
        let content = doc.get_page_content(page);
        content.windows(6).any(|w| w == b"<0000>")
    })
}

fn assert_every_script_is_drawn(what: &str, pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-"), "{what}: not a PDF");
    assert!(!draws_glyph_zero(pdf), "{what}: glyph 0 drawn");
    let text = pdftotext(pdf);
    for (script, rtl, sample) in SAMPLES {
        let source = paragraph(sample);
        let r = if rtl { unordered_recall(&source, &text) } else { recall(&source, &text) };
        assert!(r >= 0.999, "{what}: {script} read back at {:.2} %:\n{text}", r * 100.0);
    }
}

async fn a_report_in_eight_scripts_renders_through_the_api(app: TestApp) {
    let fonts = fonts_dir();
    let mut state = app.state.clone();
    state.reporting.template = Arc::new(Template::builtin().with_fonts_dir(fonts.path()).unwrap());
    let router = mmr::http::router(state);
    let paragraphs: String = SAMPLES.iter().map(|(_, _, sample)| format!("\n\n{}", paragraph(sample))).collect();
    let report = full_report(&paragraphs);

    let preview = json!({ "report_markdown": report, "action_plan_markdown": full_plan() });
    let r = send_via(&router, request(Method::POST, "/api/v1/preview", Some(&app.admin), Some(preview))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_every_script_is_drawn("preview", &r.bytes);

    let (cycle, city) = open_cycle(&app).await;
    let body = json!({ "report_markdown": report, "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(6, 6)) }] });
    let path = format!("/api/v1/cycles/{cycle}/submissions");
    let r = send_via(&router, request(Method::POST, &path, Some(&city), Some(body))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let version = r.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/submissions/{version}/decision");
    let r =
        send_via(&router, request(Method::POST, &path, Some(&app.admin), Some(json!({ "decision": "accept" })))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let archive = r.body["archive_id"].as_i64().unwrap();
    let r = send_via(&router, request(Method::GET, &format!("/api/v1/archive/{archive}/pdf"), Some(&app.admin), None))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_every_script_is_drawn("archive", &r.bytes);
}

crate::both_backends!(a_report_in_eight_scripts_renders_through_the_api);
