//! The renderer's bytes, pinned: a fixed set of documents (a generated report with its action
//! plan, every construct with a PNG and a JPEG, a French report, right-to-left scripts from extra
//! fonts, a Letter page) is rendered and each PDF's SHA-256 compared with `golden.sha256`, which
//! also names the renderer version that produced it. Archived reports are verified by rendering
//! their bundles again, so a change to the bytes under an unchanged `mmr::render::RENDERER` would
//! make every earlier report look damaged: the test fails until the version is bumped.
//!
//! To regenerate after bumping the version: `MMR_GOLDEN_UPDATE=1 cargo test --test render golden`.
//! The update refuses to record new bytes under the version the list already names.

use std::fmt::Write as _;
use std::path::PathBuf;

use mmr::render::{Attachment, DocumentMeta, Limits, PageSize, RENDERER, RenderRequest, Template, render};
use sha2::{Digest, Sha256};

use super::constructs::{ALL, JPEG, png};
use super::scripts::template_with_extra_dir;
use super::support::{generated_report, meta};

fn list_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/render/golden.sha256")
}

fn sha256(pdf: &[u8]) -> String {
    Sha256::digest(pdf).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn pdf(
    report: &str,
    plan: Option<&str>,
    attachments: &[Attachment],
    meta: &DocumentMeta,
    template: &Template,
) -> Vec<u8> {
    render(&RenderRequest {
        report_markdown: report,
        action_plan_markdown: plan,
        attachments,
        meta,
        template,
        limits: &Limits::default(),
    })
    .expect("a golden document renders")
    .pdf
}

/// Each golden document's name and PDF.
pub(crate) fn documents() -> Vec<(&'static str, Vec<u8>)> {
    let builtin = Template::builtin();
    let english = meta();
    let french = DocumentMeta {
        title: "Rapport de suivi de l’adhésion — Saint-Étienne".into(),
        city: "Saint-Étienne".into(),
        country: "France".into(),
        creative_field: "Design".into(),
        language: "fr".into(),
        ..meta()
    };
    let pictures = [
        Attachment { name: "picture.png".into(), bytes: png(40, 20, true) },
        Attachment { name: "photo.jpg".into(), bytes: JPEG.to_vec() },
    ];
    let letter = Template::builtin().with_page_size(PageSize::Letter);
    let generated = generated_report(6, 7);
    let plan = "# Plan d’action\n\n1. Premier objectif : un festival.\n2. Deuxième objectif — « ateliers ».\n";
    vec![
        ("generated-with-plan", pdf(&generated, Some(plan), &[], &english, &builtin)),
        ("constructs-and-images", pdf(&format!("{ALL}\n![photo](photo.jpg)\n"), None, &pictures, &english, &builtin)),
        (
            "french",
            pdf(
                "# Résumé\n\nLa ville a organisé « Design Biennale » : 42 ateliers, œuvres et coopération.\n",
                Some(plan),
                &[],
                &french,
                &builtin,
            ),
        ),
        (
            "right-to-left",
            pdf(
                "Hebrew: שלום עולם. Arabic: مرحبا بالعالم.\n\nשלום עולם\n",
                None,
                &[],
                &english,
                &template_with_extra_dir(),
            ),
        ),
        (
            "letter-page",
            pdf("# Letter\n\nOn a US Letter page, Греческий and Ελληνικά too.\n", None, &[], &english, &letter),
        ),
    ]
}

/// `renderer <version>`, then `<sha256> <name>` per document.
fn listing(docs: &[(&str, Vec<u8>)]) -> String {
    let mut out = format!(
        "# SHA-256 of each golden PDF (tests/render/golden.rs). Regenerate only after bumping\n\
         # mmr::render::RENDERER: MMR_GOLDEN_UPDATE=1 cargo test --test render golden\n\
         renderer {RENDERER}\n"
    );
    for (name, bytes) in docs {
        let _ = writeln!(out, "{} {name}", sha256(bytes));
    }
    out
}

#[test]
fn golden_documents_keep_their_bytes_under_one_renderer_version() {
    let docs = documents();
    let now = listing(&docs);
    let recorded = std::fs::read_to_string(list_path()).unwrap_or_default();
    let recorded_version = recorded.lines().find_map(|l| l.strip_prefix("renderer ")).unwrap_or("none");
    let changed: Vec<&str> = now
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("renderer "))
        .filter(|l| !recorded.lines().any(|r| r == *l))
        .filter_map(|l| l.split_once(' ').map(|(_, name)| name))
        .collect();
    if std::env::var_os("MMR_GOLDEN_UPDATE").is_some() {
        assert!(
            changed.is_empty() || recorded_version != RENDERER,
            "the bytes of {changed:?} changed but the renderer is still `{RENDERER}`, as the list says: \
             bump mmr::render::RENDERER (src/render/mod.rs) before regenerating"
        );
        std::fs::write(list_path(), &now).expect("write tests/render/golden.sha256");
        return;
    }
    assert_eq!(
        recorded_version, RENDERER,
        "tests/render/golden.sha256 was made by `{recorded_version}`, this is `{RENDERER}`: regenerate it with \
         MMR_GOLDEN_UPDATE=1 cargo test --test render golden"
    );
    assert!(
        changed.is_empty(),
        "the PDF bytes of {changed:?} changed under `{RENDERER}`. Every change to the bytes is a new renderer \
         version: bump mmr::render::RENDERER in src/render/mod.rs, add it to README's \"Renderer versions\" \
         table, and regenerate the list with MMR_GOLDEN_UPDATE=1 cargo test --test render golden"
    );
}
