//! The archival properties, checked with real tools on generated reports:
//! `qpdf --check` clean, every font embedded, text extractable in reading order,
//! byte-identical output, metadata, and the PDF/A-relevant structure.

use lopdf::{Document, Object};

use super::support::{
    annotations, generated_report, meta, ordered_recall, ordered_recall_within, pdftotext, render_md, source_words,
    tool, words, write_pdf,
};

fn check_report(pages: u32) {
    let md = generated_report(pages, 1);
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf(&format!("report-{pages}"), &rendered.pdf);
    let p = path.to_str().expect("utf-8 path");

    let (ok, out, err) = tool("qpdf", "qpdf", &["--check", p]);
    assert!(ok, "qpdf --check failed for {pages} pages:\n{out}\n{err}");
    assert!(out.contains("No syntax or stream encoding errors"), "qpdf output: {out}");
    assert!(!out.to_lowercase().contains("warning") && err.trim().is_empty(), "qpdf warnings: {out}{err}");

    let (ok, fonts, err) = tool("pdffonts", "poppler-utils", &[p]);
    assert!(ok, "pdffonts failed: {err}");
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts listed: {fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name, type (two words), encoding, emb, sub, uni, object id, generation
        let n = cols.len();
        assert!(n >= 7, "unexpected pdffonts row {row:?}");
        assert_eq!(cols[n - 5], "yes", "font not embedded: {row}");
        assert_eq!(cols[n - 4], "yes", "font not subset: {row}");
        assert_eq!(cols[n - 3], "yes", "font without ToUnicode: {row}");
    }

    // Layout mode keeps table rows together; the default mode may read a table
    // column by column.
    let text = pdftotext(&path, &["-layout"]);
    // The body, from the first page after the cover and the contents (whose entries repeat
    // the headings, and could be matched in their place).
    let body_start = text.split('\u{c}').skip(1).position(|page| !page.contains(". . . .")).map_or(0, |k| k + 1);
    let body: Vec<&str> = text.split('\u{c}').skip(body_start).collect();
    let actual = words(&body.join("\u{c}"));
    // Footnotes are set at the foot of the page of their mark, amid the text: their words
    // come back in their own order, however far apart the notes are.
    let (notes, text_lines): (Vec<&str>, Vec<&str>) = md.lines().partition(|l| l.starts_with("[^"));
    let (recall, missing) = ordered_recall_within(&source_words(&notes.join("\n")), &actual, usize::MAX);
    assert!(recall >= 0.999, "{pages} pages: footnote recall {:.4}%; first missing: {missing:?}", recall * 100.0);
    let expected = source_words(&text_lines.join("\n"));
    let (recall, missing) = ordered_recall(&expected, &actual);
    assert!(
        recall >= 0.999,
        "{pages} pages: only {:.4}% of the source words come back in order; first missing: {missing:?}",
        recall * 100.0
    );
    // Diacritics survive extraction.
    for w in ["résumé", "Ölvir", "Łódź"] {
        if md.contains(w) {
            assert!(text.contains(w), "{w} missing from extracted text");
        }
    }
    assert!(rendered.page_count >= pages as usize / 2, "page count {} for {pages} pages", rendered.page_count);
}

#[test]
fn generated_5_pages_is_archival() {
    check_report(5);
}

#[test]
fn generated_20_pages_is_archival() {
    check_report(20);
}

#[test]
fn generated_100_pages_is_archival() {
    check_report(100);
}

#[test]
fn output_is_byte_identical_for_identical_input() {
    let md = generated_report(5, 7);
    let plan = "# Action plan\n\n1. First\n2. Second\n";
    let a = render_md(&md, Some(plan), &[]);
    let b = render_md(&md, Some(plan), &[]);
    assert_eq!(a.pdf, b.pdf, "two renderings in one process differ");
    assert_eq!(a.page_count, b.page_count);

    let c = render_md(&format!("{md}\nOne more sentence.\n"), Some(plan), &[]);
    assert_ne!(a.pdf, c.pdf, "different input must give a different PDF");
}

#[test]
fn metadata_comes_from_the_input() {
    let r = render_md("# Title\n\nText.\n", None, &[]);
    let path = write_pdf("metadata", &r.pdf);
    let (ok, info, err) = tool("pdfinfo", "poppler-utils", &[path.to_str().expect("utf-8 path")]);
    assert!(ok, "pdfinfo failed: {err}");
    let m = meta();
    assert!(info.contains(&m.title), "title missing: {info}");
    assert!(info.contains("Author:          Östersund"), "author missing: {info}");
    assert!(
        info.contains("mmr-render") && info.contains(mmr::render::Template::builtin().version()),
        "producer: {info}"
    );
    assert!(info.contains("2024") && info.contains("10:15:00"), "creation date not from input: {info}");
    assert!(info.contains("Keywords:        UCCN; gastronomy"), "keywords: {info}");
    assert!(info.contains("Encrypted:       no"), "{info}");

    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).expect("root");
    let catalog = doc.get_dictionary(root).expect("catalog");
    assert!(catalog.has(b"Metadata"), "no XMP metadata");
    assert!(catalog.has(b"OutputIntents"), "no output intent");
    assert!(catalog.has(b"Lang"), "no /Lang");
    assert!(!catalog.has(b"AA") && !catalog.has(b"OpenAction"), "no actions allowed");
    let xmp_ref = catalog.get(b"Metadata").and_then(Object::as_reference).expect("metadata ref");
    let xmp = doc.get_object(xmp_ref).and_then(Object::as_stream).expect("xmp stream");
    let xmp = String::from_utf8_lossy(&xmp.content);
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>") && xmp.contains("2024-11-28T10:15:00Z"), "{xmp}");
    assert!(xmp.contains("<pdfaid:conformance>A</pdfaid:conformance>"), "PDF/A-2a: {xmp}");
    assert!(xmp.contains("<pdfuaid:part>1</pdfuaid:part>") && xmp.contains("<pdfaSchema:prefix>pdfuaid<"), "{xmp}");
    assert!(doc.trailer.get(b"Encrypt").is_err(), "must not be encrypted");
    let raw = String::from_utf8_lossy(&r.pdf);
    assert!(!raw.contains("/JavaScript") && !raw.contains("/JS"), "no JavaScript");
}

#[test]
fn resources_hold_no_empty_dictionaries_and_fonts_are_flagged_symbolic() {
    let r = render_md("# Title\n\nText with `code`.\n", None, &[]);
    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let resolve = |o: &Object| match o {
        Object::Reference(id) => doc.get_object(*id).expect("resolves").clone(),
        other => other.clone(),
    };
    let mut descriptors = 0;
    for (_, page) in doc.get_pages() {
        let page = doc.get_dictionary(page).expect("page");
        let resources = resolve(page.get(b"Resources").expect("resources"));
        for (key, value) in resources.as_dict().expect("dictionary").iter() {
            let value = resolve(value);
            assert!(
                !value.as_dict().is_ok_and(|d| d.is_empty()),
                "empty /{} in the resources",
                String::from_utf8_lossy(key)
            );
        }
    }
    for obj in doc.objects.values() {
        let Ok(d) = obj.as_dict() else { continue };
        if d.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"FontDescriptor") {
            descriptors += 1;
            let flags = d.get(b"Flags").and_then(Object::as_i64).expect("flags");
            let name =
                String::from_utf8_lossy(d.get(b"FontName").and_then(Object::as_name).expect("name")).into_owned();
            assert!(flags & 4 != 0 && flags & 32 == 0, "{name}: flags {flags}, not symbolic");
            assert_eq!(flags & 1 != 0, name.contains("Mono"), "{name}: fixed pitch flag in {flags}");
        }
    }
    assert!(descriptors >= 2, "regular and monospace faces");
}

#[test]
fn outline_is_nested_in_document_order() {
    let md = "# Report\n\n## Zeta first\n\ntext\n\n### Inner\n\ntext\n\n## Alpha second\n\ntext\n";
    let r = render_md(md, Some("# Plan\n\n## Budget\n\ntext\n"), &[]);
    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).expect("root");
    let catalog = doc.get_dictionary(root).expect("catalog");
    let outlines = catalog.get(b"Outlines").and_then(Object::as_reference).expect("outline");
    let title = |id| -> String {
        let d = doc.get_dictionary(id).expect("outline item");
        match d.get(b"Title").expect("title") {
            Object::String(bytes, _) if bytes.starts_with(&[0xFE, 0xFF]) => String::from_utf16_lossy(
                &bytes[2..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>(),
            ),
            Object::String(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("title {other:?}"),
        }
    };
    let children = |id| -> Vec<lopdf::ObjectId> {
        let d = doc.get_dictionary(id).expect("outline node");
        let mut out = Vec::new();
        let mut next = d.get(b"First").and_then(Object::as_reference).ok();
        while let Some(n) = next {
            out.push(n);
            next = doc.get_dictionary(n).expect("item").get(b"Next").and_then(Object::as_reference).ok();
        }
        out
    };
    let top: Vec<String> = children(outlines).into_iter().map(title).collect();
    assert_eq!(top, vec!["Contents", "Part I — Report", "Part II — Action Plan"]);
    let part1 = children(outlines)[1];
    let report = children(part1);
    assert_eq!(report.iter().map(|&i| title(i)).collect::<Vec<_>>(), vec!["Report"]);
    let sections: Vec<String> = children(report[0]).into_iter().map(title).collect();
    assert_eq!(sections, vec!["Zeta first", "Alpha second"], "document order, not sorted");
    let zeta = children(report[0])[0];
    assert_eq!(children(zeta).into_iter().map(title).collect::<Vec<_>>(), vec!["Inner"]);
}

#[test]
fn links_are_clickable_without_a_box_and_contents_link_to_headings() {
    let md = "# Heading one\n\nSee [UNESCO](https://www.unesco.org/) and [below](#second).\n\n## Second\n\nText.\n";
    let r = render_md(md, None, &[]);
    let mut uris = 0;
    let mut gotos = 0;
    for a in annotations(&r.pdf) {
        let border = a.get(b"Border").and_then(Object::as_array).expect("border");
        assert!(
            border.iter().all(|v| v.as_float().map(|f| f == 0.0).unwrap_or(true)),
            "visible link border {border:?}"
        );
        assert_eq!(a.get(b"F").and_then(Object::as_i64).ok(), Some(4), "annotations must print");
        let action = a.get(b"A").and_then(Object::as_dict).expect("action");
        match action.get(b"S").and_then(Object::as_name).expect("action type") {
            b"URI" => uris += 1,
            b"GoTo" => gotos += 1,
            other => panic!("unexpected action {}", String::from_utf8_lossy(other)),
        }
    }
    assert_eq!(uris, 1, "one external link");
    // Two contents entries plus the in-document link.
    assert!(gotos >= 3, "contents and #anchor links: {gotos}");
}
