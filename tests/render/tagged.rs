//! Tagged PDF (PDF/UA-1, PDF/A-2a): the golden documents pass the PDF/UA machine check
//! (`pdfua_check.py`, which [`write_pdf`] runs on every PDF the tests look at), the
//! structure tree read by `pdfinfo -struct-text` gives the source's words in order, and the
//! check itself fails on PDFs damaged on purpose, so it is known to catch what it looks for.

use lopdf::{Document, Object};
use mmr::render::{Attachment, Limits, RenderRequest, Template, render};

use super::constructs::{ALL, png};
use super::golden::documents;
use super::support::{
    generated_report, meta, ordered_recall, ordered_recall_within, pdfua_check, render_md, source_words, struct_text,
    words, write_pdf, write_unchecked,
};

#[test]
fn golden_documents_pass_the_pdfua_machine_check() {
    for (name, pdf) in documents() {
        write_pdf(&format!("tagged-golden-{name}"), &pdf);
    }
}

#[test]
fn the_structure_tree_reads_the_report_in_order() {
    let md = generated_report(20, 1);
    let r = render_md(&md, None, &[]);
    let path = write_pdf("tagged-struct-text", &r.pdf);
    let actual = words(&struct_text(&path, true));
    // The notes close the part, in number order, after its text.
    let (notes, text_lines): (Vec<&str>, Vec<&str>) = md.lines().partition(|l| l.starts_with("[^"));
    let expected = source_words(&text_lines.join("\n"));
    let (recall, missing) = ordered_recall(&expected, &actual);
    eprintln!("structure tree: {:.4}% of {} source words in order", recall * 100.0, expected.len());
    assert!(
        recall >= 0.999,
        "only {:.4}% of the source words come back in order from the structure tree; first missing: {missing:?}",
        recall * 100.0
    );
    let (recall, missing) = ordered_recall_within(&source_words(&notes.join("\n")), &actual, usize::MAX);
    assert!(
        recall >= 0.999,
        "footnote recall {:.4}% from the structure tree; first missing: {missing:?}",
        recall * 100.0
    );
}

#[test]
fn the_templates_words_carry_their_language_in_a_report_of_another() {
    // Spanish: a language the template has no words in (it has English and French).
    let mut spanish = meta();
    spanish.language = "es".into();
    let template = Template::builtin();
    let r = render(&RenderRequest {
        report_markdown: "# Resumen\n\nLa ciudad organizó talleres.\n",
        action_plan_markdown: Some("# Plan de acción\n\n1. Un festival.\n"),
        attachments: &[],
        meta: &spanish,
        template: &template,
        limits: &Limits::default(),
    })
    .expect("renders");
    write_pdf("tagged-languages", &r.pdf);
    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let mut langs: Vec<(String, String)> = Vec::new();
    for obj in doc.objects.values() {
        let Ok(d) = obj.as_dict() else { continue };
        if let (Ok(s), Ok(lang)) = (d.get(b"S").and_then(Object::as_name), d.get(b"Lang").and_then(Object::as_str)) {
            langs.push((String::from_utf8_lossy(s).into_owned(), String::from_utf8_lossy(lang).into_owned()));
        }
    }
    langs.sort();
    // The document is Spanish; the cover, the contents title and the two part titles are the
    // (English) template's.
    let expected = [("Document", "es"), ("H1", "en"), ("H1", "en"), ("H1", "en"), ("Sect", "en")];
    let expected: Vec<(String, String)> = expected.iter().map(|(s, l)| (s.to_string(), l.to_string())).collect();
    assert_eq!(langs, expected);
}

/// The constructs document with its picture, opened for damaging.
fn constructs() -> Document {
    let attachments = [Attachment { name: "picture.png".into(), bytes: png(40, 20, true) }];
    let r = render_md(ALL, None, &attachments);
    Document::load_mem(&r.pdf).expect("lopdf reads the PDF")
}

/// Save a damaged document and run the check on it: it must fail, saying `expected`.
fn assert_caught(name: &str, mut doc: Document, expected: &str) {
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("save");
    let (ok, report) = pdfua_check(&write_unchecked(name, &bytes));
    assert!(!ok, "{name}: the check passed a damaged PDF");
    assert!(report.contains(expected), "{name}: expected {expected:?} in:\n{report}");
}

/// Apply `f` to every structure element's dictionary.
fn each_element(doc: &mut Document, mut f: impl FnMut(&mut lopdf::Dictionary)) {
    for obj in doc.objects.values_mut() {
        if let Object::Dictionary(d) = obj
            && d.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"StructElem")
        {
            f(d);
        }
    }
}

fn is_type(d: &lopdf::Dictionary, s: &[u8]) -> bool {
    d.get(b"S").and_then(Object::as_name).is_ok_and(|n| n == s)
}

/// The constructs document with its elements of type `from` made `to`.
fn retyped(from: &[u8], to: &str) -> Document {
    let mut doc = constructs();
    each_element(&mut doc, |d| {
        if is_type(d, from) {
            d.set("S", to);
        }
    });
    doc
}

/// Rewrite every page's content stream.
fn each_content(doc: &mut Document, f: impl Fn(&str) -> String) {
    let streams: Vec<_> = doc.get_pages().values().flat_map(|&p| doc.get_page_contents(p)).collect();
    for id in streams {
        let Ok(Object::Stream(s)) = doc.get_object_mut(id) else { continue };
        let text =
            String::from_utf8_lossy(&s.decompressed_content().unwrap_or_else(|_| s.content.clone())).into_owned();
        s.set_plain_content(f(&text).into_bytes());
    }
}

#[test]
fn the_check_catches_untagged_content() {
    let mut doc = constructs();
    each_content(&mut doc, |text| {
        text.lines().filter(|l| !l.ends_with("BDC") && *l != "EMC").collect::<Vec<_>>().join("\n")
    });
    assert_caught("untagged-content", doc, "outside tagged content and outside an artifact");

    let mut doc = constructs();
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).expect("catalog");
    let catalog = doc.get_dictionary_mut(root).expect("catalog");
    catalog.remove(b"StructTreeRoot");
    catalog.remove(b"MarkInfo");
    catalog.remove(b"Lang");
    assert_caught("untagged-catalog", doc, "no /StructTreeRoot");
}

#[test]
fn the_check_catches_a_figure_without_alt_text_and_a_skipped_heading() {
    let mut doc = constructs();
    each_element(&mut doc, |d| {
        if is_type(d, b"Figure") {
            d.remove(b"Alt");
        }
    });
    assert_caught("figure-without-alt", doc, "figure without /Alt");

    assert_caught("skipped-heading", retyped(b"H2", "H3"), "heading skips from H1 to H3");
}

#[test]
fn the_check_catches_a_table_without_headers_and_an_unknown_type() {
    assert_caught("table-without-headers", retyped(b"TH", "TD"), "table without header cells");
    assert_caught("unknown-type", retyped(b"BlockQuote", "Pullquote"), "neither standard nor role-mapped");
}

#[test]
fn the_check_catches_glyph_zero_and_a_broken_parent_tree() {
    let mut doc = constructs();
    // The first glyph of every run becomes glyph 0.
    each_content(&mut doc, |text| text.replace("Tm [<", "Tm [<0000><"));
    assert_caught("glyph-zero", doc, "glyph 0 (.notdef) drawn");

    let mut doc = constructs();
    for obj in doc.objects.values_mut() {
        if let Object::Dictionary(d) = obj {
            d.remove(b"StructParent");
            d.remove(b"StructParents");
        }
    }
    assert_caught("no-parent-tree-keys", doc, "annotation not in the structure tree");
}
