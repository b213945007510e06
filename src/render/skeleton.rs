//! A new report's starting point: the template's headings, numbered, in the city's
//! language, each with a one-line prompt, as the two Markdown texts of a draft
//! (report and action plan); and the items of the previous accepted action plan,
//! which the new report's progress part ([`PROGRESS_KEY`]) lists so the city reports
//! against each.
//!
//! The progress part is a table, `| Item | Status | Comment |` (French: `| Élément |
//! État | Commentaire |`), one row per item with an empty status for the city to fill
//! in with done, partly done or not done; the template check warns about each row
//! still without one. The renderer draws it like any Markdown table.

use super::check::{Matcher, PROGRESS_KEY};
use super::markdown;
use super::tree::{Block, plain_text};
use super::{Limits, Part, RenderError, Section, Template};

/// The sections of an action plan whose list items and table rows are its items.
const ITEM_SECTIONS: [&str; 4] =
    ["action_plan_local", "action_plan_international", "action_plan_budget", "action_plan_communication"];

/// Longest item text kept, in characters.
const MAX_ITEM_CHARS: usize = 200;

/// One item of an action plan: a list item or table row under 6.1–6.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// The template number of the section it sits in, e.g. `6.1`.
    pub section: String,
    /// Its text, plain and on one line (the first cell of a table row).
    pub text: String,
}

/// A draft to start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    pub report_markdown: String,
    pub action_plan_markdown: String,
}

/// The items of an action plan: the top-level list items and the table rows under the
/// template's sections 6.1–6.4, in order. A table row repeating an item already listed
/// (a budget line for an initiative of 6.1) and a total row are left out.
pub fn plan_items(action_plan: &str, template: &Template, limits: &Limits) -> Result<Vec<PlanItem>, RenderError> {
    let doc = markdown::parse(action_plan, limits)?;
    let matcher = Matcher::new(template.sections());
    let mut current: Option<(&Section, u8)> = None;
    let mut items: Vec<PlanItem> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut push = |section: &Section, text: String, is_row: bool| {
        let text = one_line(&text);
        let folded = fold(&text);
        if folded.is_empty() || (is_row && matches!(folded.as_str(), "total" | "sous total" | "subtotal")) {
            return;
        }
        if is_row && seen.iter().any(|s| s.starts_with(&folded)) {
            return;
        }
        seen.push(folded);
        items.push(PlanItem { section: section.number.clone(), text });
    };
    for block in &doc.blocks {
        match block {
            Block::Heading { level, content, .. } => {
                let text = plain_text(content);
                match matcher.find(&text) {
                    Some(k) => {
                        let section = &matcher.sections[k];
                        current = ITEM_SECTIONS.contains(&section.key.as_str()).then_some((section, *level));
                    }
                    None if current.is_some_and(|(_, l)| *level <= l) => current = None,
                    None => {}
                }
            }
            Block::List { items: list, .. } => {
                let Some((section, _)) = current else { continue };
                for item in list {
                    if let Some(Block::Paragraph(inlines)) = item.blocks.first() {
                        push(section, plain_text(inlines), false);
                    }
                }
            }
            Block::Table { rows, .. } => {
                let Some((section, _)) = current else { continue };
                for row in rows {
                    if let Some(cell) = row.first() {
                        push(section, plain_text(cell), true);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(items)
}

/// The template's sections as a draft in `language` (`fr` or English): every heading
/// numbered, with its prompt in italics under it. With `previous` items, the report ends
/// with the progress part listing each for the city to give its status.
pub fn skeleton(template: &Template, language: &str, previous: Option<&[PlanItem]>) -> Skeleton {
    let mut report = String::new();
    let mut plan = String::new();
    for section in template.sections() {
        if section.key == PROGRESS_KEY && previous.is_none() {
            continue;
        }
        let out = match section.part {
            Part::Report => &mut report,
            Part::ActionPlan => &mut plan,
        };
        if !out.is_empty() {
            out.push('\n');
        }
        let depth = section.number.matches('.').count() + 1;
        let number = if depth == 1 { format!("{}.", section.number) } else { section.number.clone() };
        out.push_str(&format!("{} {number} {}\n\n", "#".repeat(depth), section.title(language)));
        let prompt = section.prompt(language);
        if !prompt.is_empty() {
            out.push_str(&format!("*{}*\n", escape(prompt)));
        }
        if section.key == PROGRESS_KEY
            && let Some(items) = previous
        {
            out.push('\n');
            out.push_str(&progress_table(language, items));
        }
    }
    Skeleton { report_markdown: report, action_plan_markdown: plan }
}

/// The progress table with one row per item and empty status and comment.
fn progress_table(language: &str, items: &[PlanItem]) -> String {
    let header = if language == "fr" { "| Élément | État | Commentaire |" } else { "| Item | Status | Comment |" };
    let mut out = format!("{header}\n|---|---|---|\n");
    for item in items {
        out.push_str(&format!("| {} {} |  |  |\n", item.section, escape(&item.text)));
    }
    out
}

/// Text on one line, at most [`MAX_ITEM_CHARS`] characters.
fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(MAX_ITEM_CHARS) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text,
    }
}

/// Plain text made safe inside Markdown emphasis or a table cell.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '|' | '*' | '_' | '[' | ']' | '<' | '>' | '`' | '#' | '~' | '!' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lower-case ASCII words, for comparing items.
fn fold(text: &str) -> String {
    let folded = deunicode::deunicode(text).to_lowercase();
    folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}
