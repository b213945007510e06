//! The template check: what a city is told each time it saves or submits a
//! Membership Monitoring Report, and the outline the review anchors comments to.
//!
//! [`check`] reads the report, the action plan and the attachments as they were
//! uploaded (raw bytes) and returns [`Finding`]s with a line number and a severity.
//! Errors block a submission; warnings do not. The Markdown is read by the
//! renderer's own reader and limits, and images by the renderer's own decoder, so
//! a submission that passes the check always renders, and every construct the
//! renderer would show differently from what was written gets a warning.
//!
//! Sections are found by heading, at any level, outside block quotes and lists:
//! a heading matches a template section when it equals its English or French
//! title once both are folded to lower-case ASCII (accents dropped, `œ` read as
//! `oe`), a leading number (`1.`, `6.3`, `II.`, `A.`) is removed, and punctuation,
//! spacing and the words "and"/"et" (so `&` is `and`) are ignored. [`sections`]
//! splits a text at the same headings with the same matching.
//!
//! A heading that matches no section but comes close to one its document lacks
//! (most of its words are the section's, a typo in a word allowed, small words
//! such as "the" or "de" ignored) is a near miss: a warning names the template
//! heading it probably means, and the `missing_section` error names the heading.
//!
//! The progress part ([`PROGRESS_KEY`], "Progress on the Previous Action Plan")
//! holds a table `| Item | Status | Comment |` with one row per item of the
//! previous accepted action plan (see [`skeleton`](super::skeleton)); its status
//! is one of done, partly done, not done (réalisé, partiellement réalisé, non
//! réalisé).
//!
//! | code | severity | meaning |
//! |---|---|---|
//! | `invalid_utf8` | error | the text is not UTF-8; nothing else in it is checked |
//! | `markdown_too_large` | error | the text is above `max_markdown_bytes`; nothing else in it is checked |
//! | `nesting_too_deep` | error | quotes and lists nest above `max_nesting_depth` |
//! | `table_too_large` | error | a table is above `max_table_columns` or `max_table_cells` |
//! | `markdown_rejected` | error | any other refusal of the Markdown reader |
//! | `report_empty` | error | the report has no text beyond headings |
//! | `action_plan_missing` | error | no action plan, or one with no text beyond headings |
//! | `missing_section` | error | a required section of the template has no heading in its document |
//! | `section_in_wrong_part` | warning | a report section's heading is in the action plan, or the reverse; it does not count there |
//! | `duplicate_section` | warning | a section's heading appears again (line of the repeat) |
//! | `section_out_of_order` | warning | a section comes after one the template puts after it |
//! | `heading_near_miss` | warning | a heading matches no section but is close to one the document lacks, which the message names |
//! | `progress_missing` | warning | the previous cycle has an accepted action plan and the report has no progress part |
//! | `progress_item_missing` | warning | an item of the previous accepted plan has no row in the progress table (one per item, naming it) |
//! | `progress_without_table` | warning | the progress part has no table of the previous plan's items |
//! | `progress_without_status` | warning | an item of the progress table has no status (one per item, naming it) |
//! | `progress_unknown_status` | warning | an item's status is not done, partly done or not done |
//! | `missing_attachment` | error | an image names no attachment |
//! | `remote_image` | error | an image is an `http(s)://` address; only attachments are shown |
//! | `attachment_too_large` | error | an attachment is above `max_image_bytes` or `max_image_pixels` |
//! | `bad_attachment` | error | an attachment is not a readable PNG or JPEG |
//! | `duplicate_attachment` | error | two attachments have the same name; only the first could be shown |
//! | `unused_attachment` | error | no image uses an attachment (not checked when a text could not be read) |
//! | `raw_html` | warning | raw HTML, shown as text and not interpreted (one per line) |
//! | `image_without_alt` | warning | an image has no alternative text: the PDF shows it without a caption, and screen readers skip it as decoration |
//! | `uncovered_characters` | warning | characters no font of the server has, drawn as empty boxes (naming the first few, with the line of the first) |
//! | `inert_link` | warning | a link shown as plain text: not http(s), mailto or a heading of the report or the action plan |
//!
//! Findings come in a stable order: the report's by line, then the action plan's
//! by line, then the attachments' by name; findings without a line (missing
//! sections, an empty text) open their document's list.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::images::{self, ColourSpace, Encoded, Image, Images};
use super::markdown::{self, Scan, TableMark};
use super::tree::{Block, Document, plain_text};
use super::{Attachment, Limits, Part, PlanItem, RenderError, Section, Template};

/// What one check reads: the submission as uploaded, and the rules it is held to.
#[derive(Debug, Clone, Copy)]
pub struct CheckRequest<'a> {
    /// The report, as uploaded: the check itself reports invalid UTF-8.
    pub report_markdown: &'a [u8],
    /// The four-year action plan, if one was uploaded.
    pub action_plan_markdown: Option<&'a [u8]>,
    /// The files image references may name.
    pub attachments: &'a [Attachment],
    /// The sections the report is expected to have.
    pub template: &'a Template,
    /// The renderer's input limits.
    pub limits: &'a Limits,
    /// The items of the action plan accepted for the previous cycle, which the report's
    /// progress part must list; empty when there is no such plan.
    pub previous_items: &'a [PlanItem],
}

/// Whether a finding blocks a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Blocks a submission (the HTTP layer answers 422).
    Error,
    /// Shown to the city; does not block.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Which part of the submission a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Report,
    ActionPlan,
    Attachment,
}

impl Source {
    /// `"report"`, `"action_plan"` or `"attachment"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Report => "report",
            Source::ActionPlan => "action_plan",
            Source::Attachment => "attachment",
        }
    }

    /// How messages name the document.
    fn noun(self) -> &'static str {
        match self {
            Source::Report => "report",
            Source::ActionPlan => "action plan",
            Source::Attachment => "attachment",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Source::Report => 0,
            Source::ActionPlan => 1,
            Source::Attachment => 2,
        }
    }
}

/// One thing the city should know about its submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable snake_case code, listed in the module documentation.
    pub code: &'static str,
    /// A sentence for the city's focal point, naming what it is about.
    pub message: String,
    pub source: Source,
    /// 1-based line in the Markdown text the finding is about.
    pub line: Option<usize>,
    /// The attachment's name, when the finding is about one.
    pub attachment: Option<String>,
}

impl Finding {
    /// Whether this finding blocks a submission.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn new(severity: Severity, code: &'static str, source: Source, line: Option<usize>, message: String) -> Self {
        Finding { severity, code, message, source, line, attachment: None }
    }

    fn about_attachment(code: &'static str, name: &str, message: String) -> Self {
        Finding {
            severity: Severity::Error,
            code,
            message,
            source: Source::Attachment,
            line: None,
            attachment: Some(name.to_string()),
        }
    }
}

impl fmt::Display for Finding {
    /// `error [missing_section] report: missing section …`, with `line N` or the
    /// attachment's name when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}] {}", self.severity.as_str(), self.code, self.source.as_str())?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(name) = &self.attachment {
            write!(f, " {name}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One part of a Markdown text, from a heading to the next (or from the start to
/// the first heading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionText {
    /// The heading's plain text; `None` for text before the first heading.
    pub heading: Option<String>,
    /// The template section the heading matches, by key.
    pub key: Option<String>,
    /// Heading level 1 to 6; 0 for text before the first heading.
    pub level: u8,
    /// 1-based line where the section starts.
    pub line: usize,
    /// The exact source of the section, heading line included.
    pub text: String,
}

/// Split Markdown into sections at headings (text before the first heading:
/// heading `None`, level 0). `key` is the template section key when the heading
/// matches one, with the same matching as [`check`]. Headings inside block quotes,
/// lists or footnotes, and `#` lines in code, do not split. The `text`s put end to
/// end give back the input exactly.
pub fn sections(markdown: &str, template: &Template) -> Vec<SectionText> {
    let matcher = Matcher::new(template.sections());
    let lines = Lines::new(markdown.as_bytes());
    let headings = markdown::outline(markdown);
    // A section starts at the beginning of its heading's line, so indentation
    // before the marker stays with the heading.
    let mut starts = Vec::with_capacity(headings.len());
    for h in &headings {
        let start = lines.line_start(h.range.start).max(starts.last().copied().unwrap_or(0));
        starts.push(start);
    }
    let mut out = Vec::with_capacity(headings.len() + 1);
    let first = starts.first().copied().unwrap_or(markdown.len());
    if first > 0 {
        out.push(SectionText { heading: None, key: None, level: 0, line: 1, text: markdown[..first].to_string() });
    }
    for (i, h) in headings.iter().enumerate() {
        let start = starts[i];
        let end = starts.get(i + 1).copied().unwrap_or(markdown.len());
        out.push(SectionText {
            heading: Some(h.text.clone()),
            key: matcher.find(&h.text).map(|k| matcher.sections[k].key.clone()),
            level: h.level,
            line: lines.line(start),
            // Both ends are line starts (after an ASCII line break) or the ends of
            // the text, so they are character boundaries.
            text: markdown[start..end].to_string(),
        });
    }
    out
}

/// Check a submission against the template and the renderer's limits.
pub fn check(req: &CheckRequest<'_>) -> Vec<Finding> {
    let matcher = Matcher::new(req.template.sections());
    let mut out = Vec::new();

    let report = read(Source::Report, req.report_markdown, req.limits, &mut out);
    let plan = req.action_plan_markdown.map(|bytes| read(Source::ActionPlan, bytes, req.limits, &mut out));

    if let Some(text) = &report {
        if !text.scan.marks.has_content {
            let message = if text.scan.marks.headings.is_empty() {
                "the report is empty".to_string()
            } else {
                "the report has headings but no text".to_string()
            };
            out.push(Finding::new(Severity::Error, "report_empty", Source::Report, None, message));
        }
        let others = plan.as_ref().and_then(|p| p.as_ref()).map(|p| &p.scan.anchors);
        text.check(Part::Report, &matcher, others, &mut out);
        text.check_progress(&matcher, req.previous_items, &mut out);
    }
    match &plan {
        None => out.push(Finding::new(
            Severity::Error,
            "action_plan_missing",
            Source::ActionPlan,
            None,
            "no action plan was submitted; the four-year action plan is required".to_string(),
        )),
        Some(Some(text)) => {
            if !text.scan.marks.has_content {
                out.push(Finding::new(
                    Severity::Error,
                    "action_plan_missing",
                    Source::ActionPlan,
                    None,
                    "the action plan is blank: it has no text beyond headings".to_string(),
                ));
            }
            text.check(Part::ActionPlan, &matcher, report.as_ref().map(|r| &r.scan.anchors), &mut out);
        }
        // Unreadable: its own finding says why.
        Some(None) => {}
    }

    let texts: Vec<&Text<'_>> = report.iter().chain(plan.iter().flatten()).collect();
    // Which attachments are used is known only when every text could be read.
    let all_read = report.is_some() && !matches!(plan, Some(None));
    check_attachments(req, &texts, all_read, &mut out);
    check_coverage(req.template, &texts, &mut out);

    out.sort_by(|a, b| {
        let key = |f: &Finding| (f.source.rank(), f.line.unwrap_or(0));
        key(a).cmp(&key(b)).then_with(|| a.attachment.cmp(&b.attachment))
    });
    out
}

/// How many uncovered characters a warning names.
const UNCOVERED_NAMED: usize = 8;

/// Characters no face of the template has (its own and the server's extra fonts): the PDF would
/// draw each as an empty box with no text behind it. One `uncovered_characters` warning per text,
/// naming the first few with the line of the first. ASCII is in every face, and characters that
/// are never drawn (controls, spaces, joiners, direction marks, variation selectors) are left out.
fn check_coverage(template: &Template, texts: &[&Text<'_>], out: &mut Vec<Finding>) {
    if texts.iter().all(|t| t.body.is_ascii()) {
        return;
    }
    // A face that does not parse is the renderer's error to report, not the check's.
    let Ok(fonts) = super::fonts::FontSet::load(template) else { return };
    for text in texts {
        let mut seen = HashSet::new();
        let missing: Vec<(char, usize)> = text
            .body
            .char_indices()
            .filter(|&(_, c)| !c.is_ascii() && drawn(c) && seen.insert(c))
            .filter(|&(_, c)| fonts.covering(super::fonts::REGULAR, c).is_none())
            .map(|(offset, c)| (c, text.lines.line(offset)))
            .collect();
        let Some(&(_, line)) = missing.first() else { continue };
        let named: Vec<String> =
            missing.iter().take(UNCOVERED_NAMED).map(|(c, _)| format!("“{c}” (U+{:04X})", u32::from(*c))).collect();
        let more = missing.len().saturating_sub(UNCOVERED_NAMED);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        out.push(Finding::new(
            Severity::Warning,
            "uncovered_characters",
            text.source,
            Some(line),
            format!(
                "no font of this server has {}{more}: the PDF would show empty boxes in their place \
                 (first on line {line}); the Secretariat can add a font for the script (MMR_FONTS_DIR)",
                named.join(", ")
            ),
        ));
    }
}

/// Whether a character is drawn as a glyph (not a control, a space, or an invisible format
/// character the shaper consumes).
fn drawn(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}')
        || matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0100}'..='\u{E01EF}'))
}

/// One Markdown text that could be read.
struct Text<'a> {
    source: Source,
    body: &'a str,
    lines: Lines,
    scan: Scan,
}

/// Decode and scan one text; on failure record why and return `None`.
fn read<'a>(source: Source, bytes: &'a [u8], limits: &Limits, out: &mut Vec<Finding>) -> Option<Text<'a>> {
    let noun = source.noun();
    if bytes.len() > limits.max_markdown_bytes {
        out.push(Finding::new(
            Severity::Error,
            "markdown_too_large",
            source,
            None,
            format!(
                "the {noun} is {} bytes, above the limit of {} bytes (max_markdown_bytes)",
                bytes.len(),
                limits.max_markdown_bytes
            ),
        ));
        return None;
    }
    let body = match std::str::from_utf8(bytes) {
        Ok(body) => body,
        Err(e) => {
            let line = Lines::new(bytes).line(e.valid_up_to());
            out.push(Finding::new(
                Severity::Error,
                "invalid_utf8",
                source,
                Some(line),
                format!("the {noun} is not UTF-8 text (first invalid byte on line {line}); save it as UTF-8"),
            ));
            return None;
        }
    };
    let lines = Lines::new(bytes);
    match markdown::scan(body, limits) {
        Ok(scan) => Some(Text { source, body, lines, scan }),
        Err(e) => {
            let code = match e.error {
                RenderError::InputTooLarge { .. } => "markdown_too_large",
                RenderError::NestingTooDeep { .. } => "nesting_too_deep",
                RenderError::TableTooLarge { .. } => "table_too_large",
                RenderError::TooMuchContent { .. } => "too_much_content",
                _ => "markdown_rejected",
            };
            let line = Some(lines.line(e.offset));
            out.push(Finding::new(
                Severity::Error,
                code,
                source,
                line,
                format!("the {noun} cannot be read: {}", e.error),
            ));
            None
        }
    }
}

impl Text<'_> {
    /// Sections, links and raw HTML of a text that belongs to `part`; `others` are the anchors
    /// of the other text, which its links may name too.
    fn check(&self, part: Part, matcher: &Matcher<'_>, others: Option<&HashSet<String>>, out: &mut Vec<Finding>) {
        let marks = &self.scan.marks;
        // A text with nothing at all in it already has its finding; listing every
        // section as missing would only repeat it.
        if !marks.has_content && marks.headings.is_empty() {
            return;
        }
        self.check_sections(part, matcher, out);
        let noun = self.source.noun();
        for (dest, offset) in &marks.inert_links {
            out.push(self.warning(
                "inert_link",
                *offset,
                format!(
                    "the link to “{}” will be shown as plain text: only http, https and mailto links and links to headings are kept",
                    shorten(dest)
                ),
            ));
        }
        for (dest, slug, offset) in &marks.anchor_links {
            if !self.scan.anchors.contains(slug) && !others.is_some_and(|o| o.contains(slug)) {
                out.push(self.warning(
                    "inert_link",
                    *offset,
                    format!(
                        "the link to “{}” names no heading of the {noun}; it will be shown as plain text",
                        shorten(dest)
                    ),
                ));
            }
        }
        for (src, offset) in &marks.undescribed_images {
            out.push(self.warning(
                "image_without_alt",
                *offset,
                format!(
                    "the image “{}” has no description: write what it shows between the brackets, \
                     ![…]({}), or the archived PDF has no caption for it and screen readers skip it",
                    shorten(src),
                    shorten(src)
                ),
            ));
        }
        let mut last_line = 0;
        for range in &marks.html {
            let line = self.lines.line(range.start);
            if line == last_line {
                continue;
            }
            last_line = line;
            let source = self.body.get(range.clone()).unwrap_or_default();
            let first = source.lines().next().unwrap_or_default().trim();
            out.push(self.warning(
                "raw_html",
                range.start,
                format!("raw HTML “{}” is shown as text, not interpreted", shorten(first)),
            ));
        }
    }

    fn check_sections(&self, part: Part, matcher: &Matcher<'_>, out: &mut Vec<Finding>) {
        let sections = matcher.sections;
        let mut first_line: Vec<Option<usize>> = vec![None; sections.len()];
        let mut furthest: Option<usize> = None;
        for h in &self.scan.marks.headings {
            let Some(k) = matcher.find(&h.text) else { continue };
            let section = &sections[k];
            let line = self.lines.line(h.range.start);
            if section.part != part {
                let (home, here) = match section.part {
                    Part::Report => ("report", "action plan"),
                    Part::ActionPlan => ("action plan", "report"),
                };
                out.push(self.warning(
                    "section_in_wrong_part",
                    h.range.start,
                    format!(
                        "section {} belongs in the {home}, not in the {here}; it does not count here",
                        titles(section)
                    ),
                ));
                continue;
            }
            if let Some(first) = first_line[k] {
                out.push(self.warning(
                    "duplicate_section",
                    h.range.start,
                    format!("section {} appears again (first on line {first})", titles(section)),
                ));
                continue;
            }
            first_line[k] = Some(line);
            match furthest {
                Some(f) if f > k => out.push(self.warning(
                    "section_out_of_order",
                    h.range.start,
                    format!(
                        "section {} comes after {}, but the template puts it before",
                        titles(section),
                        titles(&sections[f])
                    ),
                )),
                _ => furthest = Some(k),
            }
        }
        // Near misses: headings that match nothing, against the sections of this part
        // the text lacks.
        let mut near: Vec<Option<(String, usize)>> = vec![None; sections.len()];
        let mut seen = HashMap::new();
        for h in &self.scan.marks.headings {
            if matcher.find(&h.text).is_some() {
                continue;
            }
            let lacking = |k: usize| sections[k].part == part && first_line[k].is_none();
            let Some(k) = matcher.near_miss(&h.text, lacking, &mut seen) else { continue };
            let section = &sections[k];
            let line = self.lines.line(h.range.start);
            out.push(self.warning(
                "heading_near_miss",
                h.range.start,
                format!(
                    "the heading “{}” matches no section of the template; did you mean section {} {}? \
                     Use the template's heading so the section is found",
                    shorten(&h.text),
                    section.number,
                    titles(section)
                ),
            ));
            near[k].get_or_insert((h.text.clone(), line));
        }
        for (k, section) in sections.iter().enumerate() {
            if section.required && section.part == part && first_line[k].is_none() {
                let hint = match &near[k] {
                    Some((heading, line)) => {
                        format!("; the heading “{}” on line {line} may be meant as this section", shorten(heading))
                    }
                    None => String::new(),
                };
                out.push(Finding::new(
                    Severity::Error,
                    "missing_section",
                    self.source,
                    None,
                    format!(
                        "missing section {} (section {} of the template) in the {}{hint}",
                        titles(section),
                        section.number,
                        self.source.noun()
                    ),
                ));
            }
        }
    }

    /// The progress part: it lists every item of the previous plan, and each row of its table
    /// says how far the item went.
    fn check_progress(&self, matcher: &Matcher<'_>, previous: &[PlanItem], out: &mut Vec<Finding>) {
        let headings = &self.scan.marks.headings;
        let Some(i) = headings
            .iter()
            .position(|h| matcher.find(&h.text).is_some_and(|k| matcher.sections[k].key == PROGRESS_KEY))
        else {
            if !previous.is_empty() {
                let part = match matcher.sections.iter().find(|s| s.key == PROGRESS_KEY) {
                    Some(s) => format!("section {} {}", s.number, titles(s)),
                    None => "a progress part".to_string(),
                };
                out.push(Finding::new(
                    Severity::Warning,
                    "progress_missing",
                    self.source,
                    None,
                    format!(
                        "the report does not say how far the {} item(s) of the previous action plan went; \
                         add {part} with a row for each (the skeleton lists them)",
                        previous.len()
                    ),
                ));
            }
            return;
        };
        let heading = &headings[i];
        let end =
            headings[i + 1..].iter().find(|h| h.level <= heading.level).map_or(self.body.len(), |h| h.range.start);
        let tables: Vec<&TableMark> =
            self.scan.marks.tables.iter().filter(|t| t.start > heading.range.start && t.start < end).collect();
        if tables.is_empty() {
            out.push(self.warning(
                "progress_without_table",
                heading.range.start,
                "the progress part has no table; list the previous action plan's items as | Item | Status | Comment |"
                    .to_string(),
            ));
        }
        let listed: Vec<String> = tables
            .iter()
            .flat_map(|t| {
                let (item, _) = progress_columns(&t.header);
                t.rows.iter().filter_map(move |(cells, _)| cells.get(item)).map(|c| fold_heading(c))
            })
            .collect();
        for prev in previous {
            let wanted = fold_heading(&prev.text);
            if !listed.iter().any(|row| row.contains(&wanted)) {
                out.push(self.warning(
                    "progress_item_missing",
                    heading.range.start,
                    format!(
                        "the previous action plan's item “{} {}” is not in the progress table, so it has no status; \
                         add a row for it",
                        prev.section,
                        shorten(&prev.text)
                    ),
                ));
            }
        }
        for table in tables {
            let (item, status) = progress_columns(&table.header);
            for (cells, offset) in &table.rows {
                let cell = |k: usize| cells.get(k).map_or("", |c| c.trim());
                let name = cell(item);
                if name.is_empty() {
                    continue;
                }
                let given = cell(status);
                if given.is_empty() {
                    out.push(self.warning(
                        "progress_without_status",
                        *offset,
                        format!(
                            "the previous action plan's item “{}” has no status; write {}",
                            shorten(name),
                            STATUS_HINT
                        ),
                    ));
                } else if progress_status(given).is_none() {
                    out.push(self.warning(
                        "progress_unknown_status",
                        *offset,
                        format!(
                            "the status “{}” of the item “{}” is not one the check knows; write {}",
                            shorten(given),
                            shorten(name),
                            STATUS_HINT
                        ),
                    ));
                }
            }
        }
    }

    fn warning(&self, code: &'static str, offset: usize, message: String) -> Finding {
        Finding::new(Severity::Warning, code, self.source, Some(self.lines.line(offset)), message)
    }
}

/// Image references against attachments, and each attachment on its own.
fn check_attachments(req: &CheckRequest<'_>, texts: &[&Text<'_>], all_read: bool, out: &mut Vec<Finding>) {
    // Every usable attachment name, looked up through the renderer's own
    // `Images::get` so a reference resolves here exactly when it does there. The
    // check needs only the names: each entry holds an empty placeholder image.
    let mut table = Images::default();
    let mut names: Vec<&str> = Vec::new();
    let mut reachable: Vec<bool> = Vec::new();
    for att in req.attachments {
        if table.by_name.contains_key(&att.name) {
            out.push(Finding::about_attachment(
                "duplicate_attachment",
                &att.name,
                format!("two attachments are named “{}”; only the first could be shown, rename one", att.name),
            ));
            continue;
        }
        let can_be_referenced = match validate(att, req.limits) {
            Ok(can_be_referenced) => can_be_referenced,
            Err(e) => {
                let code = match e {
                    RenderError::ImageTooLarge { .. } => "attachment_too_large",
                    _ => "bad_attachment",
                };
                out.push(Finding::about_attachment(code, &att.name, e.to_string()));
                true
            }
        };
        table.by_name.insert(att.name.clone(), table.list.len());
        table.list.push(Image { width: 0, height: 0, colour: ColourSpace::Gray, encoded: Encoded::Jpeg(Vec::new()) });
        names.push(&att.name);
        reachable.push(can_be_referenced);
    }

    let mut used = vec![false; names.len()];
    for text in texts {
        for (src, offset) in &text.scan.marks.images {
            let line = Some(text.lines.line(*offset));
            let lower = src.trim().to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                out.push(Finding::new(
                    Severity::Error,
                    "remote_image",
                    text.source,
                    line,
                    format!(
                        "the image “{}” is on the web; attach the file to the submission instead (images are never fetched)",
                        shorten(src)
                    ),
                ));
                continue;
            }
            match table.get(src) {
                Some((k, _)) => used[k] = true,
                None => out.push(Finding::new(
                    Severity::Error,
                    "missing_attachment",
                    text.source,
                    line,
                    format!("the image “{}” is not among the attachments; attach it or remove the image", shorten(src)),
                )),
            }
        }
    }

    if !all_read {
        return;
    }
    for (k, name) in names.iter().enumerate() {
        if used[k] {
            continue;
        }
        let message = if reachable[k] {
            format!(
                "the attachment “{name}” is not used by any image; reference it as ![description]({name}) or remove it"
            )
        } else {
            format!("the attachment “{name}” can never be shown: images name attachments by file name only; rename it")
        };
        out.push(Finding::about_attachment("unused_attachment", name, message));
    }
}

/// Checks one attachment as the renderer's image preparation would (`max_image_bytes` first,
/// then the header and `max_image_pixels` before any pixel is allocated, then the data), without
/// re-encoding it. `Ok(false)` when no image reference can name the attachment (references are
/// looked up by their trimmed file name, so a name with a directory part or edge spaces is never
/// found).
fn validate(att: &Attachment, limits: &Limits) -> Result<bool, RenderError> {
    if images::normalise(&att.name) != att.name {
        return Ok(false);
    }
    images::validate(att, limits)?;
    Ok(true)
}

/// The language a report is written in, as its section headings say: `"fr"` when more of
/// them carry a template section's French title than its English one, `"en"` when more carry
/// the English one, `None` when they do not tell (no section heading, titles the same in both,
/// or as many of each).
pub(crate) fn heading_language(document: &Document, template: &Template) -> Option<&'static str> {
    let (mut en, mut fr) = (0usize, 0usize);
    for block in &document.blocks {
        if let Block::Heading { content, .. } = block {
            let folded = fold_heading(&plain_text(content));
            for section in template.sections().iter().filter(|s| s.en != s.fr) {
                en += usize::from(fold_heading(&section.en) == folded);
                fr += usize::from(fold_heading(&section.fr) == folded);
            }
        }
    }
    match fr.cmp(&en) {
        std::cmp::Ordering::Greater => Some("fr"),
        std::cmp::Ordering::Less => Some("en"),
        std::cmp::Ordering::Equal => None,
    }
}

/// Template sections with their titles folded for matching.
pub(super) struct Matcher<'t> {
    pub(super) sections: &'t [Section],
    titles: Vec<(String, String)>,
    /// The content words of every title (the first 128), and each section's English and
    /// French title as indices into them, for near misses.
    vocabulary: Vec<String>,
    title_words: Vec<(Vec<usize>, Vec<usize>)>,
}

/// Which words of a [`Matcher`]'s vocabulary a word is alike, as bits.
type WordMask = u128;

impl<'t> Matcher<'t> {
    pub(super) fn new(sections: &'t [Section]) -> Self {
        let titles: Vec<(String, String)> =
            sections.iter().map(|s| (fold_heading(&s.en), fold_heading(&s.fr))).collect();
        let mut vocabulary: Vec<String> = Vec::new();
        let mut index = |title: &str| -> Vec<usize> {
            let mut out = Vec::new();
            for word in content_words(title) {
                let k = match vocabulary.iter().position(|v| v == word) {
                    Some(k) => k,
                    None if vocabulary.len() < WordMask::BITS as usize => {
                        vocabulary.push(word.to_string());
                        vocabulary.len() - 1
                    }
                    None => continue,
                };
                out.push(k);
            }
            out
        };
        let title_words = titles.iter().map(|(en, fr)| (index(en), index(fr))).collect();
        Matcher { sections, titles, vocabulary, title_words }
    }

    /// Index of the first section whose English or French title the heading matches.
    pub(super) fn find(&self, heading: &str) -> Option<usize> {
        let folded = fold_heading(heading);
        if folded.is_empty() {
            return None;
        }
        self.titles.iter().position(|(en, fr)| *en == folded || *fr == folded)
    }

    /// The section among `candidates` whose English or French title the heading comes
    /// closest to, when it is close enough to be a near miss ([`closeness`] at least
    /// one half); the first of equals. `seen` keeps each word's comparison with the
    /// vocabulary, so a text's headings cost one comparison per distinct word.
    fn near_miss(
        &self,
        heading: &str,
        candidates: impl Fn(usize) -> bool,
        seen: &mut HashMap<String, WordMask>,
    ) -> Option<usize> {
        let folded = fold_heading(heading);
        let words = content_words(&folded);
        // Closeness of one half needs at most three times a title's words: a longer heading
        // is no near miss.
        let most = self.title_words.iter().map(|(en, fr)| en.len().max(fr.len())).max().unwrap_or(0);
        if words.is_empty() || words.len() > 3 * most {
            return None;
        }
        let masks: Vec<WordMask> = words
            .iter()
            .map(|w| {
                *seen.entry((*w).to_string()).or_insert_with(|| {
                    self.vocabulary.iter().enumerate().filter(|(_, v)| alike(w, v)).fold(0, |m, (k, _)| m | 1 << k)
                })
            })
            .collect();
        let mut best: Option<(f32, usize)> = None;
        for (k, (en, fr)) in self.title_words.iter().enumerate() {
            if !candidates(k) {
                continue;
            }
            let score = closeness(&masks, en).max(closeness(&masks, fr));
            if score >= 0.5 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, k));
            }
        }
        best.map(|(_, k)| k)
    }
}

/// Words that carry no meaning in a heading, in English and French.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "the", "of", "for", "to", "in", "at", "on", "by", "with", "its", "s", "de", "du", "des", "la", "le",
    "les", "l", "d", "pour", "au", "aux", "en", "dans", "sur", "par", "un", "une",
];

/// The words of a folded heading without the small ones, a plural `s` or `x` dropped.
fn content_words(folded: &str) -> Vec<&str> {
    folded
        .split(' ')
        .filter(|w| !w.is_empty() && !SMALL_WORDS.contains(w))
        .map(|w| if w.len() > 3 && (w.ends_with('s') || w.ends_with('x')) { &w[..w.len() - 1] } else { w })
        .collect()
}

/// How alike a heading's words (each as the vocabulary words it is [`alike`]) and a
/// title's (as vocabulary indices) are, 0 to 1: twice the words they share over the
/// words of both (Dice).
fn closeness(a: &[WordMask], b: &[usize]) -> f32 {
    let mut used = vec![false; b.len()];
    let mut shared = 0;
    for mask in a {
        let found = b.iter().enumerate().position(|(k, v)| !used[k] && mask & (1 << v) != 0);
        if let Some(k) = found {
            used[k] = true;
            shared += 1;
        }
    }
    (2 * shared) as f32 / (a.len() + b.len()).max(1) as f32
}

/// Words are alike when equal or, for words of five letters or more, one typo apart
/// (two from nine letters).
fn alike(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let shorter = a.len().min(b.len());
    let allowed = match shorter {
        0..=4 => return false,
        5..=8 => 1,
        _ => 2,
    };
    a.len().abs_diff(b.len()) <= allowed && within_edits(a.as_bytes(), b.as_bytes(), allowed)
}

/// Whether two words are at most `allowed` edits apart (Levenshtein), giving up as soon as
/// a row of the table is past it. Words of 32 bytes or more are never compared (no title
/// has one).
fn within_edits(a: &[u8], b: &[u8], allowed: usize) -> bool {
    const MAX: usize = 32;
    if a.len() >= MAX || b.len() >= MAX {
        return false;
    }
    let mut row = [0u8; MAX + 1];
    for (j, cell) in row.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j as u8;
    }
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i as u8 + 1;
        let mut least = row[0];
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + u8::from(ca != cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
            least = least.min(row[j + 1]);
        }
        if usize::from(least) > allowed {
            return false;
        }
    }
    usize::from(row[b.len()]) <= allowed
}

/// The key of the template section that reports on the previous action plan.
pub const PROGRESS_KEY: &str = "previous_plan_progress";

/// How far an item of the previous action plan went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Done,
    PartlyDone,
    NotDone,
}

const STATUS_HINT: &str = "done, partly done or not done (réalisé, partiellement réalisé, non réalisé)";

/// A status as written in the progress table, in English or French, any case or accents.
pub fn progress_status(text: &str) -> Option<Progress> {
    match fold_heading(text).as_str() {
        "done" | "completed" | "realise" | "realisee" | "fait" => Some(Progress::Done),
        "partly done"
        | "partially done"
        | "partly"
        | "partially"
        | "in progress"
        | "partiellement realise"
        | "partiellement realisee"
        | "en partie realise"
        | "en cours" => Some(Progress::PartlyDone),
        "not done" | "not started" | "non realise" | "non realisee" | "pas realise" | "pas fait" => {
            Some(Progress::NotDone)
        }
        _ => None,
    }
}

/// Which columns of a progress table hold the item and the status: by their header,
/// otherwise the first and the second.
fn progress_columns(header: &[String]) -> (usize, usize) {
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&fold_heading(h).as_str()));
    let item = find(&["item", "element", "initiative", "action"]).unwrap_or(0);
    let status = find(&["status", "statut", "etat"]).unwrap_or(if item == 1 { 0 } else { 1 });
    (item, status)
}

/// A heading as compared with section titles: ASCII lower case without accents,
/// leading numbering removed, words of letters and digits separated by one space.
fn fold_heading(text: &str) -> String {
    let folded = deunicode::deunicode(text).to_lowercase();
    let rest = strip_numbering(folded.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()));
    let mut out = String::with_capacity(rest.len());
    let words = rest.split(|c: char| !c.is_ascii_alphanumeric());
    for word in words.filter(|w| !w.is_empty() && !matches!(*w, "and" | "et")) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Remove a leading `1.`, `6.3`, `6.3.1)` or roman `II.`, `iv)`, `IV ` from
/// lower-case text. A roman numeral counts only when something follows it, and
/// only up to 39, so words such as "mix" or "civil" stay.
fn strip_numbering(text: &str) -> &str {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    }
    let end = text.find(|c: char| c.is_whitespace() || matches!(c, '.' | ')' | ':')).unwrap_or(text.len());
    if end < text.len() && is_roman(&text[..end]) {
        return &text[end..];
    }
    // A letter numbering an appendix: `A.`, `b)`.
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), Some('.' | ')')) if c.is_ascii_lowercase() => chars.as_str(),
        _ => text,
    }
}

/// A lower-case roman numeral from 1 to 39.
fn is_roman(token: &str) -> bool {
    let units = token.trim_start_matches('x');
    token.len() - units.len() <= 3
        && !token.is_empty()
        && matches!(units, "" | "i" | "ii" | "iii" | "iv" | "v" | "vi" | "vii" | "viii" | "ix")
}

/// “English” / “French”, or one title when both are the same.
fn titles(section: &Section) -> String {
    if section.en == section.fr {
        format!("“{}”", section.en)
    } else {
        format!("“{}” / “{}”", section.en, section.fr)
    }
}

/// At most 80 characters of user text, for a message.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Byte offsets where lines start. A line ends at `\n`, `\r\n` or a lone `\r`, as
/// in CommonMark.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &[u8]) -> Self {
        let mut starts = vec![0];
        for (i, &b) in text.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && text.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        Lines { starts }
    }

    /// The 1-based line holding byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// The offset where the line holding `offset` starts.
    fn line_start(&self, offset: usize) -> usize {
        self.starts[self.line(offset) - 1]
    }
}
