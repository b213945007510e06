//! The template check (`mmr::render::check`) and the section outline
//! (`mmr::render::sections`): each finding with good and bad input, line numbers,
//! the order of findings, agreement with the renderer, and the outline giving the
//! source back.

use std::io::Cursor;
use std::time::Instant;

use mmr::render::{
    Attachment, CheckRequest, Finding, Limits, RenderError, SectionText, Severity, Source, Template, WarningCode,
    check, sections,
};
use proptest::prelude::*;

use super::support::try_render;

const REPORT: &str = "\
# Membership Monitoring Report

## 1. Executive Summary

The city did a great deal.

## 2. General Information

Facts and figures.

## 3. Contribution to the Network's Global Management

Meetings attended.

## 4. Major Initiatives Implemented at the Local Level

Festivals.

## 5. Major Initiatives Implemented through Inter-City Cooperation

Partnerships.
";

const PLAN: &str = "\
# 6. Proposed Action Plan for the Forthcoming Four-Year Period

Four more years.

## 6.1 Local Initiatives

A market.

## 6.2 International and Inter-City Initiatives

Exchanges.

## 6.3 Budget

Two million.

## 6.4 Communication and Awareness Plan

Posters.
";

fn run_with(report: &[u8], plan: Option<&[u8]>, attachments: &[Attachment], limits: &Limits) -> Vec<Finding> {
    let template = Template::builtin();
    check(&CheckRequest {
        report_markdown: report,
        action_plan_markdown: plan,
        attachments,
        template: &template,
        limits,
        previous_items: &[],
    })
}

fn run(report: &str, plan: Option<&str>, attachments: &[Attachment]) -> Vec<Finding> {
    run_with(report.as_bytes(), plan.map(str::as_bytes), attachments, &Limits::default())
}

/// The findings with one code.
fn with_code<'a>(findings: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.code == code).collect()
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
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

/// A PNG claiming `width` x `height` with one byte of image data: what an image
/// bomb looks like before it is inflated.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    // A zlib stream holding one stored byte.
    let idat = [0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01];
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &idat[..]), (b"IEND", &[][..])] {
        let mut chunk = kind.to_vec();
        chunk.extend(data);
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(&chunk);
        out.extend(crc32(&chunk).to_be_bytes());
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn attachment(name: &str, bytes: Vec<u8>) -> Attachment {
    Attachment { name: name.to_string(), bytes }
}

#[test]
fn a_complete_submission_has_no_findings() {
    let findings = run(REPORT, Some(PLAN), &[]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn headings_match_in_french_without_accents_numbers_or_case() {
    let report = "\
RÉSUMÉ ANALYTIQUE
=================

Texte.

### II. Informations generales :

Texte.

#### 3) Contribution à la gestion globale du réseau.

Texte.

Principales initiatives mises en oeuvre au niveau local
-------------------------------------------------------

Texte.

# iv - Principales initiatives mises en œuvre dans le cadre de la coopération entre villes

Texte.
";
    let plan = "\
# Plan d’action proposé pour la prochaine période de quatre ans

Texte.

## 6.1. Initiatives locales
## 6.2 Initiatives internationales et entre villes
## 6.3 Budget
## 6.4 Plan de communication et de sensibilisation

Texte.
";
    let findings = run(report, Some(plan), &[]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_missing_section_is_an_error_in_both_languages() {
    // A heading unlike any section's (one that comes close is a near miss, below).
    let report = REPORT.replace("## 1. Executive Summary", "## 1. Foreword");
    let findings = run(&report, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["missing_section"], "{findings:#?}");
    let f = &findings[0];
    assert!(f.is_error());
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.severity.as_str(), "error");
    assert_eq!((f.source, f.source.as_str(), f.line, f.attachment.as_deref()), (Source::Report, "report", None, None));
    assert!(f.message.contains("“Executive Summary” / “Résumé analytique”"), "{}", f.message);

    let plan = PLAN.replace("## 6.3 Budget", "## 6.3 Money");
    let findings = run(REPORT, Some(&plan), &[]);
    assert_eq!(codes(&findings), ["missing_section"]);
    assert_eq!(findings[0].source, Source::ActionPlan);
    // Same title in both languages: named once.
    assert!(findings[0].message.contains("missing section “Budget” (section 6.3"), "{}", findings[0].message);

    // Appendices are optional.
    assert!(!run(REPORT, Some(PLAN), &[]).iter().any(|f| f.message.contains("Appendices")));
}

#[test]
fn headings_differing_only_in_numbering_case_accents_or_punctuation_are_found() {
    let report = "\
# A. EXECUTIVE SUMMARY!
Text.
# 2 — general information
Text.
# (3) Contribution to the Network’s global management
Text.
# 4.0. Major initiatives implemented at the local level...
Text.
# V) Major Initiatives Implemented Through Inter City Cooperation
Text.
";
    let plan = PLAN
        .replace("# 6. Proposed", "# 6 - proposed")
        .replace("## 6.4 Communication and Awareness Plan", "## 6.4) Communication & awareness plan");
    let findings = run(report, Some(&plan), &[]);
    assert!(findings.is_empty(), "{findings:#?}");
    let plan = "\
# VI. Plan d'action propose pour la prochaine periode de quatre ans
Texte.
## 6.1 INITIATIVES LOCALES
## 6.2 Initiatives internationales & entre villes
## 6.3 budget
## 6.4 Plan de communication, et de sensibilisation
Texte.
";
    let findings = run(REPORT, Some(plan), &[]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_near_miss_is_a_warning_naming_the_heading_it_probably_means() {
    let plan = PLAN.replace(
        "# 6. Proposed Action Plan for the Forthcoming Four-Year Period",
        "# Action plan for the next four years",
    );
    let findings = run(REPORT, Some(&plan), &[]);
    assert_eq!(codes(&findings), ["missing_section", "heading_near_miss"], "{findings:#?}");
    let near = &findings[1];
    assert_eq!((near.severity, near.source, near.line), (Severity::Warning, Source::ActionPlan, Some(1)));
    assert!(
        near.message.contains("“Action plan for the next four years”")
            && near.message.contains(
                "section 6 “Proposed Action Plan for the Forthcoming Four-Year Period” / \
                 “Plan d'action proposé pour la prochaine période de quatre ans”"
            ),
        "{}",
        near.message
    );
    // The missing section is not silent about it either.
    assert!(findings[0].message.contains("the heading “Action plan for the next four years” on line 1"));

    // French, and a typo.
    let report = REPORT
        .replace("## 1. Executive Summary", "## 1. Résumé analitique")
        .replace("## 2. General Information", "## 2. Informations générales sur la ville");
    let findings = run(&report, Some(PLAN), &[]);
    let near = with_code(&findings, "heading_near_miss");
    assert_eq!(near.len(), 2, "{findings:#?}");
    assert_eq!(near[0].line, Some(3));
    assert!(near[0].message.contains("section 1 “Executive Summary” / “Résumé analytique”"), "{}", near[0].message);
    assert!(near[1].message.contains("section 2 “General Information”"), "{}", near[1].message);
    let plan = PLAN.replace(
        "# 6. Proposed Action Plan for the Forthcoming Four-Year Period",
        "# 6. Plan d'action pour les quatre prochaines années",
    );
    let findings = run(REPORT, Some(&plan), &[]);
    assert_eq!(codes(&findings), ["missing_section", "heading_near_miss"], "{findings:#?}");
    assert!(findings[1].message.contains("“Plan d'action proposé pour la prochaine période de quatre ans”"));

    // Headings unlike any section, and ones like a section the text already has, are left alone.
    let report = format!("{REPORT}\n### Festivals and fairs\n\nMore.\n\n### Summary of the festival\n\nMore.\n");
    let findings = run(&report, Some(PLAN), &[]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_progress_part_warns_about_each_item_without_a_status() {
    let report = format!(
        "{REPORT}
## 7.1 Progress on the previous action plan

| Item | Status | Comment |
|---|---|---|
| 6.1 Words on the Street | done | On every bus. |
| 6.1 Literary Salon | Partly done | Two of four. |
| 6.2 Residency in Jaipur |  |  |
| 6.3 Budget of the fair | maybe | |
| 6.4 Posters | not done | No money. |
"
    );
    let findings = run(&report, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["progress_without_status", "progress_unknown_status"], "{findings:#?}");
    assert_eq!(findings[0].line, Some(29));
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(findings[0].message.contains("“6.2 Residency in Jaipur” has no status"), "{}", findings[0].message);
    assert!(findings[1].message.contains("“maybe”") && findings[1].message.contains("“6.3 Budget of the fair”"));

    // French, in any case and without accents; a missing table is named.
    let report = format!(
        "{REPORT}\n# Progrès du plan d’action précédent\n\n| Élément | État | Commentaire |\n|---|---|---|\n\
         | Salon | REALISE | |\n| Foire | partiellement réalisé | |\n| Affiches | non réalisé | |\n| Site | | |\n"
    );
    let findings = run(&report, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["progress_without_status"], "{findings:#?}");
    assert!(findings[0].message.contains("“Site”"));
    let report = format!("{REPORT}\n# Progress on the Previous Action Plan\n\nAll done.\n");
    assert_eq!(codes(&run(&report, Some(PLAN), &[])), ["progress_without_table"]);
}

#[test]
fn headings_in_code_quotes_and_lists_do_not_count() {
    let report = REPORT
        .replace("## 2. General Information\n", "```\n## 2. General Information\n```\n")
        .replace("## 3. Contribution", "> ## 3. Contribution")
        .replace("## 4. Major", "- ## 4. Major");
    let findings = run(&report, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["missing_section"; 3], "{findings:#?}");
}

#[test]
fn repeated_and_misplaced_sections_are_warnings_with_lines() {
    let report = format!("{REPORT}\n## Executive summary\n\nAgain.\n");
    let findings = run(&report, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["duplicate_section"], "{findings:#?}");
    let f = &findings[0];
    assert_eq!((f.severity, f.line), (Severity::Warning, Some(23)));
    assert!(!f.is_error());
    assert!(f.message.contains("first on line 3"), "{}", f.message);

    // General information moved to the end.
    let report = "# Executive Summary\nA.\n# Global management\n# Contribution to the Network's Global Management\nC.\n\
                  # General Information\nB.\n# Major Initiatives Implemented at the Local Level\nD.\n\
                  # Major Initiatives Implemented through Inter-City Cooperation\nE.\n";
    let findings = run(report, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["section_out_of_order"], "{findings:#?}");
    assert_eq!(findings[0].line, Some(6));
    assert!(findings[0].message.contains("“General Information”"), "{}", findings[0].message);
    assert!(findings[0].message.contains("comes after “Contribution to the Network's Global Management”"));

    // The action plan written into the report: it does not count there.
    let findings = run(&format!("{REPORT}\n{PLAN}"), None, &[]);
    assert_eq!(codes(&findings[..1]), ["section_in_wrong_part"], "{findings:#?}");
    assert_eq!(findings[0].line, Some(23));
    assert!(findings[0].message.contains("belongs in the action plan"), "{}", findings[0].message);
    assert_eq!(with_code(&findings, "section_in_wrong_part").len(), 5);
    let missing = with_code(&findings, "action_plan_missing");
    assert_eq!(missing.len(), 1);
    assert!(missing[0].is_error() && missing[0].message.contains("no action plan was submitted"));
}

#[test]
fn empty_report_and_blank_action_plan_are_errors() {
    for blank in ["", " \n\t\n", "\r\n\r\n"] {
        let findings = run(blank, Some(PLAN), &[]);
        assert_eq!(codes(&findings), ["report_empty"], "{blank:?}: {findings:#?}");
        assert!(findings[0].is_error());

        let findings = run(REPORT, Some(blank), &[]);
        assert_eq!(codes(&findings), ["action_plan_missing"], "{blank:?}: {findings:#?}");
        assert_eq!(findings[0].source, Source::ActionPlan);
    }
    // Headings alone are not a plan: blank, and the sections are there.
    let headings_only: String =
        PLAN.lines().filter(|l| l.starts_with('#') || l.is_empty()).map(|l| format!("{l}\n")).collect();
    let findings = run(REPORT, Some(&headings_only), &[]);
    assert_eq!(codes(&findings), ["action_plan_missing"], "{findings:#?}");
    assert!(findings[0].message.contains("blank"), "{}", findings[0].message);
    // A rule and a heading are not a report either.
    let findings = run("# Executive Summary\n\n---\n", Some(PLAN), &[]);
    assert_eq!(codes(&findings)[0], "report_empty", "{findings:#?}");
    assert_eq!(with_code(&findings, "missing_section").len(), 4);
}

#[test]
fn invalid_utf8_names_the_line_of_the_first_bad_byte() {
    let mut report = REPORT.as_bytes().to_vec();
    // "Facts and figures." on line 9 becomes Latin-1.
    let at = REPORT.find("Facts").expect("line 9");
    report.splice(at..at, [b'F', 0xE9, b' ']);
    let findings = run_with(&report, Some(PLAN.as_bytes()), &[], &Limits::default());
    assert_eq!(codes(&findings), ["invalid_utf8"], "{findings:#?}");
    assert_eq!((findings[0].line, findings[0].source), (Some(9), Source::Report));
    assert!(findings[0].is_error() && findings[0].message.contains("UTF-8"));

    let findings = run_with(REPORT.as_bytes(), Some(b"\xFF# Plan\n"), &[], &Limits::default());
    assert_eq!(codes(&findings), ["invalid_utf8"]);
    assert_eq!((findings[0].line, findings[0].source), (Some(1), Source::ActionPlan));
}

#[test]
fn limits_are_the_renderers_and_name_themselves() {
    let limits = Limits { max_markdown_bytes: 200, ..Limits::default() };
    let findings = run_with(REPORT.as_bytes(), Some(b"# Plan\n\nText.\n"), &[], &limits);
    let f = &with_code(&findings, "markdown_too_large")[0];
    assert!(f.is_error() && f.source == Source::Report && f.message.contains("max_markdown_bytes"), "{f:?}");
    assert!(f.message.contains(&REPORT.len().to_string()), "{}", f.message);

    let deep = format!("{REPORT}\nText\n\n{}deep\n", "> ".repeat(40));
    let findings = run(&deep, Some(PLAN), &[]);
    assert_eq!(codes(&findings), ["nesting_too_deep"], "{findings:#?}");
    assert_eq!(findings[0].line, Some(25));
    let rendered = try_render(&deep, None, &[], &Limits::default()).expect_err("the renderer refuses it too");
    assert!(matches!(rendered, RenderError::NestingTooDeep { .. }));
    assert!(findings[0].message.ends_with(&rendered.to_string()), "{}", findings[0].message);
    assert!(findings[0].message.contains("max_nesting_depth"));

    let limits = Limits { max_table_cells: 10, ..Limits::default() };
    let table = format!("{PLAN}\n| a | b |\n|---|---|\n{}", "| x | y |\n".repeat(10));
    let findings = run_with(REPORT.as_bytes(), Some(table.as_bytes()), &[], &limits);
    assert_eq!(codes(&findings), ["table_too_large"], "{findings:#?}");
    assert_eq!((findings[0].source, findings[0].line), (Source::ActionPlan, Some(27)));
    assert!(findings[0].message.contains("max_table_cells"));

    // Within the limits, the check has nothing to say and the renderer renders.
    let ok = format!("{REPORT}\n{}deep\n", "> ".repeat(16));
    assert!(run(&ok, Some(PLAN), &[]).is_empty());
    assert!(try_render(&ok, Some(PLAN), &[], &Limits::default()).is_ok());
}

#[test]
fn the_check_and_the_renderer_refuse_the_same_markdown() {
    let limits = Limits { max_markdown_bytes: 4096, max_nesting_depth: 4, max_table_columns: 3, ..Limits::default() };
    let cases = [
        "> > > > deep enough\n".to_string(),
        "> > > > > too deep\n".to_string(),
        "- a\n  - b\n    - c\n      - d\n".to_string(),
        "- a\n  - b\n    - c\n      - d\n        > e\n".to_string(),
        "| a | b | c |\n|---|---|---|\n".to_string(),
        "| a | b | c | d |\n|---|---|---|---|\n".to_string(),
        "[^n]\n\n[^n]: > > > > note\n".to_string(),
        "x".repeat(4096),
        "x".repeat(4097),
    ];
    for md in &cases {
        let rendered = try_render(md, None, &[], &limits);
        let findings = run_with(md.as_bytes(), None, &[], &limits);
        let refused = findings.iter().any(|f| {
            matches!(f.code, "markdown_too_large" | "nesting_too_deep" | "table_too_large" | "markdown_rejected")
        });
        assert_eq!(refused, rendered.is_err(), "{md:?}: {findings:#?}");
    }
}

#[test]
fn images_resolve_to_attachments_only() {
    let plan = format!("{PLAN}\n![Market](./attachments/market.png)\n\n![Logo](logo.jpg)\n");
    let jpeg = {
        // SOI, then a baseline frame header of 2x3, 3 components.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 8, 0, 3, 0, 2, 3];
        j.extend([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
        j
    };
    let atts = [attachment("market.png", png(8, 8)), attachment("logo.jpg", jpeg)];
    let findings = run(REPORT, Some(&plan), &atts);
    assert!(findings.is_empty(), "{findings:#?}");

    let report = format!(
        "{REPORT}\n![Missing](photos/missing.png)\n\n![Remote](https://example.org/x.png)\n\n![Also remote](HTTP://example.org/market.png)\n"
    );
    let findings = run(&report, Some(&plan), &atts);
    assert_eq!(codes(&findings), ["missing_attachment", "remote_image", "remote_image"], "{findings:#?}");
    assert_eq!(findings.iter().map(|f| f.line).collect::<Vec<_>>(), [Some(23), Some(25), Some(27)]);
    assert!(findings.iter().all(|f| f.is_error() && f.source == Source::Report));
    assert!(findings[0].message.contains("photos/missing.png"), "{}", findings[0].message);
    assert!(findings[1].message.contains("https://example.org/x.png"), "{}", findings[1].message);

    // An image without a description is decoration to a screen reader: a warning.
    let report = format!("{REPORT}\n![](market.png)\n\n![ ](logo.jpg \"a title is no description\")\n");
    let findings = run(&report, Some(&plan), &atts);
    assert_eq!(codes(&findings), ["image_without_alt", "image_without_alt"], "{findings:#?}");
    assert_eq!(findings.iter().map(|f| f.line).collect::<Vec<_>>(), [Some(23), Some(25)]);
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));
    assert!(findings[0].message.contains("market.png") && findings[0].message.contains("screen readers"));
}

#[test]
fn every_attachment_must_be_used_readable_and_within_the_limits() {
    let report = format!("{REPORT}\n![a](big.png) ![b](bomb.png) ![c](gif.png) ![d](cut.png)\n");
    let mut cut = png(30, 30);
    cut.truncate(60);
    let limits = Limits { max_image_bytes: 2000, max_image_pixels: 10_000, ..Limits::default() };
    let atts = [
        attachment("unused.png", png(2, 2)),
        attachment("gif.png", b"GIF89a not a png".to_vec()),
        attachment("big.png", vec![0x89; 3000]),
        attachment("bomb.png", png_header_only(100_000, 100_000)),
        attachment("cut.png", cut),
        attachment("dir/nested.png", png(2, 2)),
        attachment("unused.png", png(3, 3)),
    ];
    let start = Instant::now();
    let findings = run_with(report.as_bytes(), Some(PLAN.as_bytes()), &atts, &limits);
    assert!(start.elapsed().as_secs() < 2, "the image bomb was decoded");
    let summary: Vec<(&str, Option<&str>)> = findings.iter().map(|f| (f.code, f.attachment.as_deref())).collect();
    assert_eq!(
        summary,
        [
            ("attachment_too_large", Some("big.png")),
            ("attachment_too_large", Some("bomb.png")),
            ("bad_attachment", Some("cut.png")),
            ("unused_attachment", Some("dir/nested.png")),
            ("bad_attachment", Some("gif.png")),
            ("duplicate_attachment", Some("unused.png")),
            ("unused_attachment", Some("unused.png")),
        ],
        "{findings:#?}"
    );
    assert!(findings.iter().all(|f| f.is_error() && f.source == Source::Attachment && f.line.is_none()));
    assert!(findings[0].message.contains("max_image_bytes"), "{}", findings[0].message);
    assert!(findings[1].message.contains("max_image_pixels"), "{}", findings[1].message);
    assert!(findings[3].message.contains("file name only"), "{}", findings[3].message);
    assert!(findings[6].message.contains("![description](unused.png)"), "{}", findings[6].message);

    // The renderer refuses the same attachments.
    for name in ["big.png", "bomb.png", "gif.png", "cut.png"] {
        let md = format!("![x]({name})\n");
        let refused = try_render(&md, None, &atts, &limits).expect_err(name);
        assert!(findings.iter().any(|f| f.message == refused.to_string()), "{refused}");
    }

    // When a text cannot be read its references are unknown: no attachment is called unused.
    let findings = run_with(b"\xFF", Some(PLAN.as_bytes()), &atts[..1], &limits);
    assert_eq!(codes(&findings), ["invalid_utf8"]);
}

/// The check reads image data as far as the renderer does without re-encoding it: damage past the
/// header is found, and what the renderer embeds (16-bit, alpha, palette) passes.
#[test]
fn damaged_image_data_is_refused_by_the_check_as_by_the_renderer() {
    let idat = |bytes: &[u8]| bytes.windows(4).position(|w| w == b"IDAT").expect("an IDAT chunk") + 4;
    let mut flipped = png(30, 30);
    let at = idat(&flipped) + 4;
    flipped[at] ^= 0x55;
    let mut cut = png(64, 64);
    cut.truncate(idat(&cut) + 6);
    let encoded = |colour: png::ColorType, depth: png::BitDepth, samples: usize| {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(Cursor::new(&mut out), 9, 7);
        enc.set_color(colour);
        enc.set_depth(depth);
        if colour == png::ColorType::Indexed {
            enc.set_palette(vec![0, 0, 0, 255, 255, 255]);
        }
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(&vec![1u8; 9 * 7 * samples]).expect("png data");
        w.finish().expect("png end");
        out
    };
    let good = [
        ("rgba16.png", encoded(png::ColorType::Rgba, png::BitDepth::Sixteen, 8)),
        ("palette.png", encoded(png::ColorType::Indexed, png::BitDepth::Eight, 1)),
        ("gray-alpha.png", encoded(png::ColorType::GrayscaleAlpha, png::BitDepth::Eight, 2)),
    ];
    let bad = [("short.png", png_header_only(50, 50)), ("flipped.png", flipped), ("cut.png", cut)];
    let limits = Limits::default();
    for (name, bytes) in good.iter().chain(&bad) {
        let atts = [attachment(name, bytes.clone())];
        let md = format!("![x]({name})\n");
        let findings: Vec<Finding> =
            run_with(format!("{REPORT}\n{md}").as_bytes(), Some(PLAN.as_bytes()), &atts, &limits)
                .into_iter()
                .filter(|f| f.attachment.is_some())
                .collect();
        match try_render(&md, None, &atts, &limits) {
            Ok(_) => assert!(findings.is_empty(), "{name}: {findings:#?}"),
            Err(refused) => {
                assert_eq!(codes(&findings), ["bad_attachment"], "{name}: {findings:#?}");
                assert_eq!(findings[0].message, refused.to_string(), "{name}");
            }
        }
    }
    for (name, bytes, renders) in good.iter().map(|(n, b)| (n, b, true)).chain(bad.iter().map(|(n, b)| (n, b, false))) {
        assert!(
            try_render(&format!("![x]({name})\n"), None, &[attachment(name, bytes.clone())], &limits).is_ok()
                == renders,
            "{name}"
        );
    }
}

#[test]
fn raw_html_and_inert_links_are_warnings_with_lines() {
    let extra = "\
<script>alert(1)</script>

Inline <b>bold</b> and <i>it</i>.

[ok](https://example.org) [mail](mailto:a@example.org) <a@example.org> [up](#1-executive-summary)

[js](javascript:alert(1)) [file](file:///etc/passwd) [data](data:text/html,x) [rel](other.md) [gone](#nowhere)
";
    let report = format!("{REPORT}\n{extra}");
    let findings = run(&report, Some(PLAN), &[]);
    let summary: Vec<(&str, Option<usize>)> = findings.iter().map(|f| (f.code, f.line)).collect();
    assert_eq!(
        summary,
        [
            ("raw_html", Some(23)),
            ("raw_html", Some(25)),
            ("inert_link", Some(29)),
            ("inert_link", Some(29)),
            ("inert_link", Some(29)),
            ("inert_link", Some(29)),
            ("inert_link", Some(29)),
        ],
        "{findings:#?}"
    );
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));
    assert!(findings[0].message.contains("“<script>alert(1)</script>” is shown as text, not interpreted"));
    assert!(findings[2].message.contains("javascript:alert(1)") && findings[2].message.contains("plain text"));
    assert!(findings[6].message.contains("#nowhere") && findings[6].message.contains("no heading"));

    // The renderer drops exactly the links the check warns about.
    let rendered = try_render(&report, Some(PLAN), &[], &Limits::default()).expect("renders");
    let dropped = rendered.warnings.iter().filter(|w| w.code == WarningCode::LinkDropped).count();
    assert_eq!(dropped, with_code(&findings, "inert_link").len(), "{:?}", rendered.warnings);
}

#[test]
fn findings_are_ordered_report_plan_attachments_and_lines_survive_crlf() {
    let report = REPORT.replace("## 2. General Information", "## 2. General").replace('\n', "\r\n")
        + "\r\n![x](nope.png)\r\n\r\n<b>x</b>\r\n";
    let plan = PLAN.replace("## 6.3 Budget", "## Budget plan") + "\n[x](y.md)\n";
    let atts = [attachment("z.png", png(2, 2)), attachment("a.png", png(2, 2))];
    let findings = run(&report, Some(&plan), &atts);
    let summary: Vec<(Source, &str, Option<usize>)> = findings.iter().map(|f| (f.source, f.code, f.line)).collect();
    assert_eq!(
        summary,
        [
            (Source::Report, "missing_section", None),
            (Source::Report, "heading_near_miss", Some(7)),
            (Source::Report, "missing_attachment", Some(23)),
            (Source::Report, "raw_html", Some(25)),
            (Source::ActionPlan, "missing_section", None),
            (Source::ActionPlan, "heading_near_miss", Some(13)),
            (Source::ActionPlan, "inert_link", Some(21)),
            (Source::Attachment, "unused_attachment", None),
            (Source::Attachment, "unused_attachment", None),
        ],
        "{findings:#?}"
    );
    assert_eq!(findings[7].attachment.as_deref(), Some("a.png"));
    assert_eq!(findings[8].to_string(), format!("error [unused_attachment] attachment z.png: {}", findings[8].message));
    assert_eq!(findings[2].to_string(), format!("error [missing_attachment] report line 23: {}", findings[2].message));
}

#[test]
fn a_four_megabyte_report_checks_quickly() {
    let mut report = REPORT.to_string();
    let para =
        "A paragraph with *emphasis*, a [link](https://example.org), `code` and some words to fill the line.\n\n";
    let mut n = 0;
    while report.len() < 4 * 1024 * 1024 - 4096 {
        n += 1;
        report.push_str(&format!("### Activity {n}\n\n"));
        for _ in 0..8 {
            report.push_str(para);
        }
        report.push_str("| a | b |\n|---|---|\n| 1 | 2 |\n\n- item\n- item\n\n");
    }
    let start = Instant::now();
    let findings = run(&report, Some(PLAN), &[]);
    let elapsed = start.elapsed();
    assert!(findings.is_empty(), "{:#?}", &findings[..findings.len().min(5)]);
    eprintln!("check of {} bytes: {elapsed:?}", report.len());
    // Generous for a debug build on a shared machine; a release build takes a
    // small fraction of this.
    assert!(elapsed.as_secs_f64() < 10.0, "{elapsed:?}");
}

#[test]
fn ten_thousand_headings_that_match_nothing_check_quickly() {
    // Every section lacking and every heading different: the near-miss search at its worst.
    let mut report = String::new();
    let mut n = 0u32;
    while n < 9_900 {
        n += 1;
        report.push_str(&format!(
            "# Initiativ{n} implementd locall levl cooperatio{n} summar{n} informatio{n} contributio{n} netwrk\n\nx\n"
        ));
    }
    let start = Instant::now();
    let findings = run(&report, Some(PLAN), &[]);
    let elapsed = start.elapsed();
    assert_eq!(with_code(&findings, "missing_section").len(), 5);
    eprintln!("check of {} headings: {elapsed:?}", n);
    assert!(elapsed.as_secs_f64() < 10.0, "{elapsed:?}");
}

/// `sections` on the shared report, checked part by part.
fn outline(md: &str) -> Vec<SectionText> {
    let out = sections(md, &Template::builtin());
    assert_eq!(out.iter().map(|s| s.text.as_str()).collect::<String>(), md, "the sections give the input back");
    out
}

#[test]
fn sections_split_at_headings_and_know_template_keys() {
    let s = outline(REPORT);
    let summary: Vec<(Option<&str>, Option<&str>, u8, usize)> =
        s.iter().map(|x| (x.heading.as_deref(), x.key.as_deref(), x.level, x.line)).collect();
    assert_eq!(
        summary,
        [
            (Some("Membership Monitoring Report"), None, 1, 1),
            (Some("1. Executive Summary"), Some("executive_summary"), 2, 3),
            (Some("2. General Information"), Some("general_information"), 2, 7),
            (Some("3. Contribution to the Network’s Global Management"), Some("global_management"), 2, 11),
            (Some("4. Major Initiatives Implemented at the Local Level"), Some("local_initiatives"), 2, 15),
            (
                Some("5. Major Initiatives Implemented through Inter-City Cooperation"),
                Some("inter_city_cooperation"),
                2,
                19
            ),
        ]
    );
    assert_eq!(s[1].text, "## 1. Executive Summary\n\nThe city did a great deal.\n\n");
    let keys: Vec<Option<String>> = outline(PLAN).into_iter().map(|x| x.key).collect();
    assert_eq!(
        keys.iter().flatten().map(String::as_str).collect::<Vec<_>>(),
        [
            "action_plan",
            "action_plan_local",
            "action_plan_international",
            "action_plan_budget",
            "action_plan_communication"
        ]
    );
}

#[test]
fn sections_edge_cases() {
    assert!(outline("").is_empty());
    let s = outline("Just text\nno headings\n");
    assert_eq!((s.len(), s[0].heading.as_deref(), s[0].level, s[0].line), (1, None, 0, 1));

    // Text before the first heading, setext headings, an indented ATX heading.
    let s = outline("Intro.\n\nBudget\n======\n\nMoney.\n\n   ## Annexes ##\nA\n");
    assert_eq!(s.len(), 3);
    assert_eq!((s[0].heading.as_deref(), s[0].text.as_str()), (None, "Intro.\n\n"));
    assert_eq!(
        (s[1].heading.as_deref(), s[1].key.as_deref(), s[1].level, s[1].line),
        (Some("Budget"), Some("action_plan_budget"), 1, 3)
    );
    assert_eq!(s[1].text, "Budget\n======\n\nMoney.\n\n");
    assert_eq!(
        (s[2].key.as_deref(), s[2].level, s[2].line, s[2].text.as_str()),
        (Some("appendices"), 2, 8, "   ## Annexes ##\nA\n")
    );

    // `#` in code, quotes and lists does not split.
    let s = outline("# A\n```\n# not a heading\n```\n    # indented code\n> # quoted\n- # listed\n# B\n");
    assert_eq!(s.iter().map(|x| x.heading.as_deref()).collect::<Vec<_>>(), [Some("A"), Some("B")]);
    assert_eq!(s[1].line, 8);

    // CRLF and lone CR line endings.
    let s = outline("x\r\n# One\r\ntext\r\n## Two\r\n");
    assert_eq!(
        s.iter().map(|x| (x.line, x.text.as_str())).collect::<Vec<_>>(),
        [(1, "x\r\n"), (2, "# One\r\ntext\r\n"), (4, "## Two\r\n")]
    );
    let s = outline("x\r# One\rtext\r");
    assert_eq!(s.iter().map(|x| (x.line, x.text.as_str())).collect::<Vec<_>>(), [(1, "x\r"), (2, "# One\rtext\r")]);

    // A heading with no text, and no final newline.
    let s = outline("#\n# Budget");
    assert_eq!(
        s.iter().map(|x| (x.heading.as_deref(), x.key.as_deref())).collect::<Vec<_>>(),
        [(Some(""), None), (Some("Budget"), Some("action_plan_budget"))]
    );
}

fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("# ".to_string()),
        Just("## Budget\n".to_string()),
        Just("Annexes\n---\n".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just("> ".to_string()),
        Just("- ".to_string()),
        Just("```\n".to_string()),
        Just("    ".to_string()),
        Just("===\n".to_string()),
        Just("<div>\n".to_string()),
        Just("[^1]: # note\n".to_string()),
        "[a-zA-Zéœ ]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sections_always_give_the_input_back(md in markdownish()) {
        let s = sections(&md, &Template::builtin());
        prop_assert_eq!(s.iter().map(|x| x.text.as_str()).collect::<String>(), md.clone());
        for (i, x) in s.iter().enumerate() {
            prop_assert!(!x.text.is_empty());
            prop_assert_eq!(x.heading.is_none(), i == 0 && x.level == 0);
            prop_assert_eq!(x.line, 1 + md[..md.len() - s[i..].iter().map(|y| y.text.len()).sum::<usize>()]
                .bytes().enumerate().filter(|&(k, b)| b == b'\n' || (b == b'\r' && md.as_bytes().get(k + 1) != Some(&b'\n'))).count());
        }
    }

    #[test]
    fn the_check_never_panics(report in markdownish(), plan in markdownish(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let limits = Limits { max_markdown_bytes: 64 * 1024, ..Limits::default() };
        let atts = [attachment("a.png", bytes.clone())];
        let findings = run_with(report.as_bytes(), Some(plan.as_bytes()), &atts, &limits);
        prop_assert!(findings.iter().all(|f| !f.message.is_empty()));
        run_with(&bytes, None, &[], &limits);
    }
}

/// Characters no font of the server has are named, with the line of the first; Latin with its
/// accents is covered; a font for the script (the template's extra fonts) removes the warning.
#[test]
fn characters_no_font_has_are_named() {
    let report = REPORT.replacen(
        "The city did a great deal.",
        "The city did a great deal.\n\nÉté à Saint-Étienne.\n\nمدينة مبدعة",
        1,
    );
    assert_ne!(report, REPORT, "the report holds the sentence this test replaces");
    let findings = run(&report, Some(PLAN), &[]);
    let uncovered = with_code(&findings, "uncovered_characters");
    assert_eq!(uncovered.len(), 1, "{findings:?}");
    let f = uncovered[0];
    assert_eq!((f.severity, f.source), (Severity::Warning, Source::Report));
    let line = report.lines().position(|l| l.starts_with("مدينة")).unwrap() + 1;
    assert_eq!(f.line, Some(line));
    assert!(f.message.contains("“م” (U+0645)") && f.message.contains("“ع” (U+0639)"), "{}", f.message);
    assert!(!f.message.contains('É') && !f.message.contains('é'), "accented Latin is covered: {}", f.message);

    let plain =
        run(&REPORT.replacen("The city did a great deal.", "Été à Saint-Étienne, « 2 000 € ».", 1), Some(PLAN), &[]);
    assert!(with_code(&plain, "uncovered_characters").is_empty(), "{plain:?}");

    let template = super::scripts::template_with_extra_dir();
    let arabic = REPORT.replacen("The city did a great deal.", "مدينة مبدعة", 1);
    let with_font = check(&CheckRequest {
        report_markdown: arabic.as_bytes(),
        action_plan_markdown: Some(PLAN.as_bytes()),
        attachments: &[],
        template: &template,
        limits: &Limits::default(),
        previous_items: &[],
    });
    assert!(with_code(&with_font, "uncovered_characters").is_empty(), "{with_font:?}");
}
