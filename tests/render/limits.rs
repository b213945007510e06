//! Every limit gives a clear error that names it; bad input never panics.

use std::io::Cursor;

use mmr::render::{Attachment, Limits, RenderError};

use super::support::try_render;

fn err(md: &str, attachments: &[Attachment], limits: &Limits) -> RenderError {
    match try_render(md, None, attachments, limits) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn markdown_size_limit() {
    let limits = Limits { max_markdown_bytes: 100, ..Limits::default() };
    let e = err(&"a".repeat(101), &[], &limits);
    assert!(matches!(e, RenderError::InputTooLarge { limit: 100, actual: 101, .. }), "{e:?}");
    assert!(e.to_string().contains("max_markdown_bytes"), "{e}");
    // The default is 4 MB.
    assert_eq!(Limits::default().max_markdown_bytes, 4 * 1024 * 1024);
}

#[test]
fn nesting_limit() {
    let e = err(&format!("{}deep\n", "> ".repeat(40)), &[], &Limits::default());
    assert!(matches!(e, RenderError::NestingTooDeep { .. }), "{e:?}");
    assert!(e.to_string().contains("max_nesting_depth"), "{e}");
    let mut list = String::new();
    for depth in 0..40 {
        list.push_str(&format!("{}- item\n", "  ".repeat(depth)));
    }
    assert!(matches!(err(&list, &[], &Limits::default()), RenderError::NestingTooDeep { .. }));
}

#[test]
fn table_limits() {
    let limits = Limits { max_table_cells: 50, ..Limits::default() };
    let mut md = String::from("| a | b |\n|---|---|\n");
    for _ in 0..30 {
        md.push_str("| x | y |\n");
    }
    let e = err(&md, &[], &limits);
    assert!(matches!(e, RenderError::TableTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("max_table_cells"), "{e}");
    let wide = format!("|{}\n|{}\n", " c |".repeat(40), "---|".repeat(40));
    let e = err(&wide, &[], &Limits::default());
    assert!(e.to_string().contains("max_table_columns"), "{e}");
    // Refused for its width before its cells are counted: no cell count is made up (it said
    // "60 cells" of a 60-column table with 3,060).
    let mut wider = format!("|{}\n|{}\n", " c |".repeat(60), "---|".repeat(60));
    for _ in 0..50 {
        wider.push_str(&format!("|{}\n", " x |".repeat(60)));
    }
    let message = err(&wider, &[], &Limits::default()).to_string();
    assert!(message.contains("60 columns") && !message.contains("cells"), "{message}");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(Cursor::new(&mut out), width, height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(&vec![128u8; (width * height) as usize]).expect("png data");
    }
    out
}

#[test]
fn image_limits_and_bad_images() {
    let md = "![x](big.png)\n";
    let att = |bytes: Vec<u8>| vec![Attachment { name: "big.png".into(), bytes }];

    let limits = Limits { max_image_bytes: 10, ..Limits::default() };
    let e = err(md, &att(png(4, 4)), &limits);
    assert!(matches!(e, RenderError::ImageTooLarge { .. }) && e.to_string().contains("max_image_bytes"), "{e}");

    let limits = Limits { max_image_pixels: 100, ..Limits::default() };
    let e = err(md, &att(png(20, 20)), &limits);
    assert!(matches!(e, RenderError::ImageTooLarge { .. }) && e.to_string().contains("max_image_pixels"), "{e}");

    let e = err(md, &att(b"GIF89a not supported".to_vec()), &Limits::default());
    assert!(matches!(e, RenderError::BadImage { .. }), "{e:?}");
    let mut truncated = png(30, 30);
    truncated.truncate(60);
    let e = err(md, &att(truncated), &Limits::default());
    assert!(matches!(e, RenderError::BadImage { .. }), "{e:?}");
    let e = err(md, &att(vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00]), &Limits::default());
    assert!(matches!(e, RenderError::BadImage { .. }), "{e:?}");
}

#[test]
fn page_limit() {
    let limits = Limits { max_pages: 5, ..Limits::default() };
    let md = "Paragraph.\n\n".repeat(2000);
    let e = err(&md, &[], &limits);
    assert!(matches!(e, RenderError::TooManyPages { limit: 5 }), "{e:?}");
    assert!(e.to_string().contains("max_pages"), "{e}");
}

#[test]
fn hostile_inputs_render_or_fail_cleanly() {
    let cases = [
        String::new(),
        "\0\u{FFFF}\u{10FFFF}".to_string(),
        "*".repeat(50_000),
        "[".repeat(20_000),
        "`".repeat(20_000),
        "a".repeat(200_000),
        "| a |\n|---|\n".to_string() + &"| x |\n".repeat(5000),
        "1. ".repeat(10_000),
        "[^x]".repeat(5000),
        "\u{200B}".repeat(50_000),
        "e\u{301}".repeat(20_000),
        "<div>\n".repeat(5000),
        "# \n".repeat(3000),
        "![a](b)".repeat(2000),
    ];
    for md in &cases {
        let _ = try_render(md, Some(md), &[], &Limits::default());
    }
}

#[test]
fn work_budget_refuses_a_hopeless_document_while_parsing() {
    // A million one-letter headings fit in the 4 MB of Markdown allowed; laying them out took
    // seconds and over a gigabyte. They are refused by the heading budget while parsing.
    let headings = "# a\n".repeat(1_000_000);
    let e = err(&headings, &[], &Limits::default());
    assert!(matches!(e, RenderError::TooMuchContent { limit_name: "max_headings", .. }), "{e:?}");
    assert!(e.to_string().contains("max_headings"), "{e}");

    // The same for blocks of any kind, nested ones counted, and for links.
    let limits = Limits { max_blocks: 10, ..Limits::default() };
    let e = err(&"para\n\n".repeat(11), &[], &limits);
    assert!(matches!(e, RenderError::TooMuchContent { limit_name: "max_blocks", limit: 10, .. }), "{e:?}");
    let e = err(&"- item\n".repeat(11), &[], &limits);
    assert!(e.to_string().contains("max_blocks"), "list items count: {e}");
    assert!(try_render(&"para\n\n".repeat(9), None, &[], &limits).is_ok(), "within the budget");
    let limits = Limits { max_links: 3, ..Limits::default() };
    let e = err(&"[a](https://example.org) ".repeat(4), &[], &limits);
    assert!(e.to_string().contains("max_links"), "{e}");

    // Alternating emphasis and code spans: an inline item every few bytes.
    let e = err(&"*a*`b`".repeat(300_000), &[], &Limits::default());
    assert!(e.to_string().contains("max_inlines"), "{e}");
    // The cells of many tables together count as blocks.
    let table = format!("|{}\n|{}\n|{}\n\n", " c |".repeat(10), "---|".repeat(10), " x |".repeat(10));
    let limits = Limits { max_blocks: 100, ..Limits::default() };
    let e = err(&table.repeat(6), &[], &limits);
    assert!(e.to_string().contains("max_blocks"), "{e}");
}
