//! Every Markdown construct comes out visibly and distinctly: checked through the
//! extracted text, the PDF objects and the warnings.

use std::io::Cursor;

use lopdf::{Document, Object};
use mmr::render::{Attachment, WarningCode};

use super::support::{pdftotext, render_md, tool, write_pdf};

pub(crate) const ALL: &str = r#"# Heading one

## Heading two

### Heading three

#### Heading four

##### Heading five

###### Heading six

A paragraph with *emphasis*, **strong**, ~~struck~~ and `inline_code()` text,
plus a [link](https://example.org/x) and a "quoted" phrase -- with smart dashes.
Line one with a hard break  
line two after the break.

```rust
fn main() { println!("fenced code that is quite long and must wrap because it goes on and on past the right margin of the page"); }
```

    indented code block

> Quoted text
>
> > Nested quote text

7. seventh item
8. eighth item
   - nested bullet
     - deeper bullet

- [x] done task
- [ ] open task

| Left | Centre | Right |
|:-----|:------:|------:|
| a cell that wraps because it is rather long indeed | b | 1,234 |

Text with a footnote[^note].

[^note]: The footnote text.

---

<script>alert("raw html")</script>

A verylongwordwithoutanybreakopportunityatallthatmustbebrokensafelysomewhereinthemiddlebecauseitiswiderthanthelinewidthofthepageforsure and a URL https://example.org/a/very/long/path/that/keeps/going/and/going/and/going/until/it/overflows/the/line.

![A caption for the picture](picture.png)
"#;

/// A syntactically valid JPEG header (SOI, SOF0 8x4 RGB, EOI); the renderer never decodes JPEG
/// data, it passes it through.
pub(crate) const JPEG: [u8; 23] = [
    0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x04, 0x00, 0x08, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03,
    0x11, 0x01, 0xFF, 0xD9,
];

pub(crate) fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(Cursor::new(&mut out), width, height);
        enc.set_color(if alpha { png::ColorType::Rgba } else { png::ColorType::Rgb });
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        let channels = if alpha { 4 } else { 3 };
        let data: Vec<u8> = (0..width * height * channels).map(|i| (i * 7 % 251) as u8).collect();
        w.write_image_data(&data).expect("png data");
    }
    out
}

#[test]
fn every_construct_is_rendered() {
    let attachments = vec![Attachment { name: "picture.png".to_string(), bytes: png(40, 20, true) }];
    let r = render_md(ALL, None, &attachments);
    assert!(r.warnings.is_empty(), "unexpected warnings: {:?}", r.warnings);
    let path = write_pdf("constructs", &r.pdf);
    let (ok, out, err) = tool("qpdf", "qpdf", &["--check", path.to_str().expect("utf-8 path")]);
    assert!(ok, "qpdf: {out}{err}");
    let text = pdftotext(&path, &[]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Heading one",
        "Heading six",
        "emphasis",
        "strong",
        "struck",
        "inline_code()",
        "link",
        "\u{201c}quoted\u{201d}",
        "\u{2013} with smart dashes",
        "indented code block",
        "Nested quote text",
        "7.",
        "8.",
        "seventh item",
        "deeper bullet",
        "done task",
        "open task",
        "a cell that wraps",
        "1,234",
        "The footnote text.",
        "<script>alert(\"raw html\")</script>",
        "A caption for the picture",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{flat}");
    }
    // The hard break puts line two on its own line.
    assert!(text.lines().any(|l| l.trim_start().starts_with("line two after the break")), "{text}");
    // Long code is wrapped, not clipped: its end is present.
    assert!(flat.contains("margin of the page"), "{flat}");
    // The long word is broken but every letter is kept.
    let joined: String = flat.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(joined.contains("verylongwordwithoutanybreakopportunityatallthatmustbebrokensafely"), "{joined}");
    assert!(joined.contains("until/it/overflows/the/line"), "{joined}");

    // Nothing is drawn outside the page's text area (no overfull line).
    let (ok, bbox, _) = tool("pdftotext", "poppler-utils", &["-bbox", path.to_str().expect("utf-8 path"), "-"]);
    assert!(ok);
    for line in bbox.lines().filter(|l| l.contains("<word")) {
        let x_max: f32 =
            line.split("xMax=\"").nth(1).and_then(|s| s.split('"').next()).and_then(|s| s.parse().ok()).expect("xMax");
        assert!(x_max <= 595.3 - 56.0, "word beyond the right margin: {line}");
    }

    // The image is embedded losslessly, with its alpha as a soft mask.
    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let images: Vec<_> = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image"))
        .collect();
    assert_eq!(images.len(), 2, "image and its soft mask");
    for img in images {
        assert_eq!(img.dict.get(b"Filter").and_then(Object::as_name).ok(), Some(&b"FlateDecode"[..]), "lossless");
    }
}

#[test]
fn jpeg_is_embedded_unchanged() {
    let jpeg = JPEG.to_vec();
    let r = render_md("![photo](./photo.jpg)\n", None, &[Attachment { name: "photo.jpg".into(), bytes: jpeg.clone() }]);
    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let found = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .any(|s| s.dict.get(b"Filter").and_then(Object::as_name).ok() == Some(b"DCTDecode") && s.content == jpeg);
    assert!(found, "JPEG bytes not embedded as DCTDecode");
}

/// A 16x8 CMYK JPEG as Photoshop and Pillow write them (Adobe marker, inverted samples): cyan
/// on the left half, black on the right.
const CMYK_JPEG: &[u8] = include_bytes!("cmyk.jpg");

#[test]
fn a_cmyk_jpeg_is_converted_to_srgb_samples() {
    let r = render_md(
        "![Cyan and black](ink.jpg)\n",
        None,
        &[Attachment { name: "ink.jpg".into(), bytes: CMYK_JPEG.to_vec() }],
    );
    write_pdf("cmyk", &r.pdf);
    let doc = Document::load_mem(&r.pdf).expect("lopdf reads the PDF");
    let image = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .find(|s| s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image"))
        .expect("an image XObject");
    assert_eq!(image.dict.get(b"ColorSpace").and_then(Object::as_name).ok(), Some(b"DeviceRGB".as_slice()));
    let samples = image.decompressed_content().expect("Flate samples");
    assert_eq!(samples.len(), 16 * 8 * 3);
    let pixel = |x: usize, y: usize| &samples[(y * 16 + x) * 3..(y * 16 + x) * 3 + 3];
    let (cyan, black) = (pixel(2, 4), pixel(13, 4));
    assert!(cyan[0] < 60 && cyan[1] > 200 && cyan[2] > 200, "cyan came out as {cyan:?}");
    assert!(black.iter().all(|&c| c < 60), "black came out as {black:?}");
}

#[test]
fn missing_image_is_a_warning_and_a_visible_box() {
    let r = render_md("![Alt text here](nothere.png)\n", None, &[]);
    assert!(r.warnings.iter().any(|w| w.code == WarningCode::MissingImage), "{:?}", r.warnings);
    let text = pdftotext(&write_pdf("missing-image", &r.pdf), &[]);
    assert!(text.contains("nothere.png") && text.contains("Alt text here"), "{text}");
}

#[test]
fn uncovered_characters_become_placeholders_and_warnings() {
    // Devanagari: no shipped face covers it.
    let r = render_md("Text नमस्ते here.\n", None, &[]);
    let w: Vec<_> = r.warnings.iter().filter(|w| w.code == WarningCode::MissingGlyph).collect();
    assert_eq!(w.len(), 1, "{:?}", r.warnings);
    assert!(w[0].to_string().starts_with("[missing-glyph]") && w[0].message.contains("U+0928"), "{}", w[0]);
    let text = pdftotext(&write_pdf("placeholder", &r.pdf), &[]);
    assert!(text.contains("Text") && text.contains("here."), "{text}");
}

#[test]
fn greek_cyrillic_and_symbols_are_covered_and_shaped() {
    let r = render_md("Ελληνικά και русский текст, fi ligature office ✓ ◦.\n", None, &[]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let text = pdftotext(&write_pdf("scripts", &r.pdf), &[]);
    for w in ["Ελληνικά", "русский", "office", "✓"] {
        assert!(text.contains(w), "{w} missing: {text}");
    }
}

#[test]
fn table_header_repeats_on_every_page_the_table_spans() {
    let mut md = String::from("| Repeated Header | Value |\n|---|---:|\n");
    for i in 0..150 {
        md.push_str(&format!("| row {i} | {i} |\n"));
    }
    let r = render_md(&md, None, &[]);
    let path = write_pdf("long-table", &r.pdf);
    let body_pages = r.page_count - 2;
    assert!(body_pages >= 2, "the table should span pages");
    let mut with_header = 0;
    for p in 3..=r.page_count {
        let page = p.to_string();
        let text = pdftotext(&path, &["-f", &page, "-l", &page]);
        if text.contains("Repeated Header") {
            with_header += 1;
        }
    }
    assert_eq!(with_header, body_pages, "header on every page of the table");
}

#[test]
fn report_and_action_plan_start_on_new_pages_with_header_and_footer() {
    let r = render_md("# Report\n\nBody.\n", Some("# Plan\n\nSteps.\n"), &[]);
    let path = write_pdf("parts", &r.pdf);
    assert_eq!(r.page_count, 6, "cover, contents, part I, report, part II, plan");
    let part_page = pdftotext(&path, &["-f", "5", "-l", "5"]);
    assert!(part_page.contains("Part II") && !part_page.contains("Steps."), "{part_page}");
    let plan_page = pdftotext(&path, &["-f", "6", "-l", "6"]);
    assert!(plan_page.contains("Steps."), "{plan_page}");
    assert!(plan_page.contains("Östersund — Membership Monitoring Report 2021–2024"), "{plan_page}");
    assert!(plan_page.contains("page 6 of 6"), "{plan_page}");
    let cover = pdftotext(&path, &["-f", "1", "-l", "1"]);
    assert!(!cover.contains("page 1 of"), "no footer on the cover: {cover}");
    for field in ["Östersund", "Sweden", "Gastronomy", "2021–2024", "v3", "2024-11-28", "Submitted", "Source SHA-256"]
    {
        assert!(cover.contains(field), "{field} missing from cover: {cover}");
    }
    let contents = pdftotext(&path, &["-f", "2", "-l", "2"]);
    assert!(contents.contains("Contents") && contents.contains("Plan") && contents.contains('6'), "{contents}");
}
