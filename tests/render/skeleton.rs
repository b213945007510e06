//! A new report's skeleton (`mmr::render::skeleton`) and the items of the previous
//! action plan it carries forward (`mmr::render::plan_items`): both languages, the
//! template check's verdict on them, and the progress part in the rendered PDF.

use mmr::render::{CheckRequest, Limits, PlanItem, Template, check, plan_items, skeleton};

use super::support::{pdftotext, render_md, write_pdf};

const PREVIOUS_PLAN: &str = "\
# 6. Proposed Action Plan for the Forthcoming Four-Year Period

We shall go on.

- This list is not under 6.1–6.4.

## 6.1 Local Initiatives

- **Words on the Street** campaign: poems on buses, 2023–2026.
- Literary Salon programme
  - a nested detail, not an item

### The salon in detail

1. Reading *festival* in schools | with a pipe

## 6.2 International and Inter-City Initiatives

* Writer Residency in Jaipur

## 6.3 Budget

| Initiative | Years | Amount |
|---|---|---|
| Words on the Street | 2023–2026 | €40,000 |
| Sub-Network Collaborations | 2024 | €10,000 |
| Total | | €50,000 |

## 6.4 Communication and Awareness Plan

Posters and a website, said in prose: no item.

# Annex

- Not an item either.
";

fn items() -> Vec<PlanItem> {
    plan_items(PREVIOUS_PLAN, &Template::builtin(), &Limits::default()).expect("the plan reads")
}

#[test]
fn the_items_of_an_action_plan_are_its_list_items_and_table_rows_under_6_1_to_6_4() {
    let found: Vec<(String, String)> = items().into_iter().map(|i| (i.section, i.text)).collect();
    let expected = [
        ("6.1", "Words on the Street campaign: poems on buses, 2023–2026."),
        ("6.1", "Literary Salon programme"),
        ("6.1", "Reading festival in schools | with a pipe"),
        ("6.2", "Writer Residency in Jaipur"),
        ("6.3", "Sub-Network Collaborations"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(s, t)| (s.to_string(), t.to_string())).collect();
    assert_eq!(found, expected);

    // A French plan, and one without any section of the template.
    let fr = "# Plan d'action\n\n## 6.1 Initiatives locales\n\n- Salon du livre\n\n## 6.4 Plan de communication et de sensibilisation\n\n- Affiches\n";
    let found = plan_items(fr, &Template::builtin(), &Limits::default()).expect("reads");
    assert_eq!(found.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(), ["Salon du livre", "Affiches"]);
    assert!(plan_items("- a list\n", &Template::builtin(), &Limits::default()).expect("reads").is_empty());
}

fn check_skeleton(report: &str, plan: &str) -> Vec<mmr::render::Finding> {
    check_against(report, plan, &[])
}

fn check_against(report: &str, plan: &str, previous: &[PlanItem]) -> Vec<mmr::render::Finding> {
    let template = Template::builtin();
    check(&CheckRequest {
        report_markdown: report.as_bytes(),
        action_plan_markdown: Some(plan.as_bytes()),
        attachments: &[],
        template: &template,
        limits: &Limits::default(),
        previous_items: previous,
    })
}

#[test]
fn the_skeleton_has_every_heading_numbered_with_a_prompt_in_both_languages_and_passes_the_check() {
    let template = Template::builtin();
    let en = skeleton(&template, "en", None);
    assert!(en.report_markdown.starts_with("# 1. Executive Summary\n\n*In about a page:"), "{}", en.report_markdown);
    for heading in [
        "# 2. General Information",
        "# 3. Contribution to the Network's Global Management",
        "# 4. Major Initiatives Implemented at the Local Level",
        "# 5. Major Initiatives Implemented through Inter-City Cooperation",
        "# 7. Appendices\n\n*Optional:",
    ] {
        assert!(en.report_markdown.contains(heading), "{heading} in {}", en.report_markdown);
    }
    assert!(!en.report_markdown.contains("Progress"), "no previous plan, no progress part");
    assert!(en.action_plan_markdown.starts_with("# 6. Proposed Action Plan for the Forthcoming Four-Year Period\n\n*"));
    for heading in [
        "## 6.1 Local Initiatives",
        "## 6.2 International and Inter-City Initiatives",
        "## 6.3 Budget",
        "## 6.4 Communication and Awareness Plan",
    ] {
        assert!(en.action_plan_markdown.contains(heading), "{heading}");
    }
    // Every heading is followed by its prompt.
    let prompts = en.report_markdown.matches("\n*").count() + en.action_plan_markdown.matches("\n*").count();
    assert_eq!(prompts, 11);
    let findings = check_skeleton(&en.report_markdown, &en.action_plan_markdown);
    assert!(findings.is_empty(), "{findings:#?}");

    let fr = skeleton(&template, "fr", None);
    assert!(fr.report_markdown.starts_with("# 1. Résumé analytique\n\n*En une page environ"), "{}", fr.report_markdown);
    assert!(fr.report_markdown.contains("# 4. Principales initiatives mises en œuvre au niveau local\n\n*Trois"));
    assert!(fr.report_markdown.contains("# 7. Annexes\n\n*Facultatif"));
    assert!(fr.action_plan_markdown.starts_with("# 6. Plan d'action proposé pour la prochaine période de quatre ans"));
    assert!(fr.action_plan_markdown.contains("## 6.4 Plan de communication et de sensibilisation\n\n*Comment"));
    let findings = check_skeleton(&fr.report_markdown, &fr.action_plan_markdown);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_skeleton_carries_the_previous_items_forward_and_the_check_asks_for_their_status() {
    let template = Template::builtin();
    let previous = items();
    let en = skeleton(&template, "en", Some(&previous));
    let progress = en.report_markdown.split("## 7.1 Progress on the Previous Action Plan\n").nth(1).expect("progress");
    assert!(progress.contains("| Item | Status | Comment |\n|---|---|---|\n"), "{progress}");
    assert!(progress.contains("| 6.1 Words on the Street campaign: poems on buses, 2023–2026. |  |  |\n"));
    assert!(progress.contains("| 6.1 Reading festival in schools \\| with a pipe |  |  |\n"), "{progress}");
    assert!(progress.contains("| 6.3 Sub-Network Collaborations |  |  |\n"));
    let findings = check_skeleton(&en.report_markdown, &en.action_plan_markdown);
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["progress_without_status"; 5], "{findings:#?}");
    assert!(findings[2].message.contains("“6.1 Reading festival in schools | with a pipe” has no status"));

    // The city answers three; two still lack a status.
    let answered = en
        .report_markdown
        .replace("2023–2026. |  |  |", "2023–2026. | done | On 40 buses. |")
        .replace("Literary Salon programme |  |  |", "Literary Salon programme | partly done | Two of four. |")
        .replace("Writer Residency in Jaipur |  |  |", "Writer Residency in Jaipur | not done | Postponed. |");
    let findings = check_skeleton(&answered, &en.action_plan_markdown);
    let named: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(named.len(), 2, "{named:#?}");
    assert!(named[0].contains("“6.1 Reading festival") && named[1].contains("“6.3 Sub-Network Collaborations”"));

    let fr = skeleton(&template, "fr", Some(&previous));
    assert!(fr.report_markdown.contains("## 7.1 Progrès du plan d'action précédent\n\n*Pour chaque élément"));
    assert!(fr.report_markdown.contains("| Élément | État | Commentaire |"));
    let findings = check_skeleton(&fr.report_markdown, &fr.action_plan_markdown);
    assert_eq!(findings.len(), 5, "{findings:#?}");
}

#[test]
fn the_check_knows_the_previous_items_and_names_those_left_out() {
    let template = Template::builtin();
    let previous = items();
    let en = skeleton(&template, "en", Some(&previous));
    // As the skeleton gives it: one warning per item, all without status.
    let findings = check_against(&en.report_markdown, &en.action_plan_markdown, &previous);
    assert!(findings.iter().all(|f| f.code == "progress_without_status"), "{findings:#?}");
    assert_eq!(findings.len(), 5);

    // A row dropped (and the rest answered): that item is named, at the progress heading.
    let mut report = String::new();
    for line in en.report_markdown.lines() {
        if line.contains("Writer Residency") {
            continue;
        }
        report.push_str(&line.replace("|  |  |", "| done | Yes. |"));
        report.push('\n');
    }
    let findings = check_against(&report, &en.action_plan_markdown, &previous);
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["progress_item_missing"], "{findings:#?}");
    let heading_line = report.lines().position(|l| l.starts_with("## 7.1")).unwrap() + 1;
    assert_eq!(findings[0].line, Some(heading_line));
    assert!(findings[0].message.contains("“6.2 Writer Residency in Jaipur” is not in the progress table"));

    // No progress part at all: one warning saying how many items are waiting.
    let bare = skeleton(&template, "en", None);
    let findings = check_against(&bare.report_markdown, &bare.action_plan_markdown, &previous);
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["progress_missing"], "{findings:#?}");
    assert!(findings[0].message.contains("the 5 item(s) of the previous action plan"), "{}", findings[0].message);
    assert!(findings[0].message.contains("section 7.1 “Progress on the Previous Action Plan”"));
}

#[test]
fn the_progress_part_is_a_table_in_the_pdf() {
    let template = Template::builtin();
    let en = skeleton(&template, "en", Some(&items()));
    let report = en
        .report_markdown
        .replace("2023–2026. |  |  |", "2023–2026. | done | On 40 buses. |")
        .replace("Writer Residency in Jaipur |  |  |", "Writer Residency in Jaipur | not done | Postponed. |");
    let rendered = render_md(&report, Some(&en.action_plan_markdown), &[]);
    let path = write_pdf("skeleton-progress.pdf", &rendered.pdf);
    let text = pdftotext(&path, &["-layout"]);
    assert!(text.contains("7.1 Progress on the Previous Action Plan"), "{text}");
    let row = |item: &str| {
        text.lines().find(|l| l.contains(item)).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let header = row("Comment").expect("the table's header row");
    assert!(header.contains("Item Status Comment"), "{header}");
    let jaipur = row("Writer Residency in Jaipur").expect("a row per item");
    assert!(jaipur.contains("6.2 Writer Residency in Jaipur not done Postponed."), "{jaipur}");
}
