//! The template as data: the shipped one, loading from a directory, sections for
//! the upload check, paper sizes and extra fonts.

use std::path::Path;

use mmr::render::{
    Limits, PageSize, Part, PdfDate, RenderError, RenderRequest, Template, load_attachments_dir, render,
};

use super::support::{meta, pdftotext, scratch, tool, write_pdf};

#[test]
fn builtin_template_has_version_and_sections() {
    let t = Template::builtin();
    assert!(!t.version().is_empty());
    assert_eq!(t.page_size(), PageSize::A4);
    let s = t.sections();
    assert!(
        s.iter().any(|x| x.key == "executive_summary" && x.en == "Executive Summary" && x.fr == "Résumé analytique")
    );
    assert!(s.iter().filter(|x| x.part == Part::ActionPlan).count() >= 4);
    assert!(s.iter().any(|x| !x.required), "appendices are optional");
    for x in s {
        assert!(!x.key.is_empty() && !x.number.is_empty() && !x.en.is_empty() && !x.fr.is_empty());
        assert!(!x.prompt_en.is_empty() && !x.prompt_fr.is_empty(), "{} has a prompt in both languages", x.key);
    }
}

#[test]
fn template_loads_from_its_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("report_templates/mmr");
    let t = Template::load(&dir).expect("shipped template directory loads");
    assert_eq!(t.version(), Template::builtin().version());
    assert_eq!(t.sections(), Template::builtin().sections());
}

#[test]
fn broken_templates_are_clear_errors() {
    let dir = scratch("bad-template");
    std::fs::write(dir.join("template.json"), "{ \"name\": 1 }").expect("write");
    assert!(matches!(Template::load(&dir), Err(RenderError::BadTemplate { .. })));
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("report_templates/mmr/template.json"))
            .expect("read template");
    std::fs::write(dir.join("template.json"), shipped).expect("write");
    // No font files next to it.
    let e = Template::load(&dir).expect_err("fonts are missing");
    assert!(matches!(e, RenderError::MissingFont { .. }), "{e:?}");
}

#[test]
fn letter_paper_is_an_option() {
    let t = Template::builtin().with_page_size(PageSize::Letter);
    let m = meta();
    let r = render(&RenderRequest {
        report_markdown: "# Letter\n\nText.\n",
        action_plan_markdown: None,
        attachments: &[],
        meta: &m,
        template: &t,
        limits: &Limits::default(),
    })
    .expect("renders");
    let path = write_pdf("letter", &r.pdf);
    let (ok, info, _) = tool("pdfinfo", "poppler-utils", &[path.to_str().expect("utf-8 path")]);
    assert!(ok && info.contains("612 x 792 pts"), "{info}");
    assert!(pdftotext(&path, &[]).contains("Letter"));
}

#[test]
fn attachments_load_sorted_and_dates_parse_strictly() {
    let dir = scratch("attachments");
    std::fs::write(dir.join("b.png"), b"b").expect("write");
    std::fs::write(dir.join("a.jpg"), b"a").expect("write");
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    let atts = load_attachments_dir(&dir).expect("reads");
    assert_eq!(atts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["a.jpg", "b.png"]);
    assert!(matches!(load_attachments_dir(&dir.join("missing")), Err(RenderError::Attachments { .. })));

    assert_eq!(PdfDate::parse("2024-02-29").expect("date").to_string(), "2024-02-29");
    assert!(PdfDate::parse("2024-02-29T23:59:59Z").is_ok());
    for bad in [
        "",
        "2024",
        "2024-13-01",
        "2024-1-01",
        "24-01-01x",
        "2024-01-01T25:00:00Z",
        "2024-01-01 10:00",
        "２０２４-01-01",
    ] {
        assert!(matches!(PdfDate::parse(bad), Err(RenderError::BadMetadata { .. })), "{bad:?} accepted");
    }
}
