//! Typography a careful reader would not fault (issue 16), measured on the PDF with
//! `pdftotext -bbox-layout`: word spaces of justified lines, French punctuation kept with
//! its word, no illegal break preferred to a loose line, long words cut into full lines,
//! inline code not stretched, `/Lang` from the report, control characters stripped; a table
//! too wide for the portrait page on a landscape one, the appendix after both parts.

use std::path::Path;

use super::support::{annotations, generated_report, meta, pdftotext, render_md, tool, write_pdf};

/// A word's box in points (top-left origin) and its text.
#[derive(Debug, Clone)]
struct Word {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    text: String,
}

impl Word {
    fn height(&self) -> f32 {
        self.y1 - self.y0
    }
}

fn attr(tag: &str, name: &str) -> f32 {
    let key = format!("{name}=\"");
    let start = tag.find(&key).map(|i| i + key.len()).expect("attribute");
    let end = tag[start..].find('"').expect("closing quote") + start;
    tag[start..end].parse().expect("number")
}

/// The lines of the document, each with its words, in pdftotext's reading order.
fn bbox_lines(path: &Path) -> Vec<Vec<Word>> {
    parse_bbox(&pdftotext(path, &["-bbox-layout"]))
}

/// [`bbox_lines`] of page `n` (1-based).
fn bbox_page(path: &Path, n: usize) -> Vec<Vec<Word>> {
    let n = n.to_string();
    parse_bbox(&pdftotext(path, &["-bbox-layout", "-f", &n, "-l", &n]))
}

fn parse_bbox(xml: &str) -> Vec<Vec<Word>> {
    let mut lines = Vec::new();
    for line in xml.split("<line ").skip(1) {
        let body = &line[..line.find("</line>").unwrap_or(line.len())];
        let words = body
            .split("<word ")
            .skip(1)
            .map(|w| {
                let tag_end = w.find('>').expect("tag end");
                let text_end = w.find("</word>").expect("word end");
                let tag = &w[..tag_end];
                Word {
                    x0: attr(tag, "xMin"),
                    y0: attr(tag, "yMin"),
                    x1: attr(tag, "xMax"),
                    y1: attr(tag, "yMax"),
                    text: w[tag_end + 1..text_end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"),
                }
            })
            .collect::<Vec<_>>();
        if !words.is_empty() {
            lines.push(words);
        }
    }
    lines
}

/// Right edge of the text block of the built-in template (A4, 36 mm right margin).
const RIGHT: f32 = 595.276 - 36.0 * 72.0 / 25.4;

/// Height pdftotext gives a word of body text: the most common one.
fn body_height(lines: &[Vec<Word>]) -> f32 {
    let mut counts = std::collections::BTreeMap::new();
    for w in lines.iter().flatten() {
        *counts.entry((w.height() * 10.0).round() as i32).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|&(_, n)| n).map_or(0.0, |(h, _)| h as f32 / 10.0)
}

/// Mean space of each justified line of body text, as a ratio to the natural space
/// (the median space of the lines that do not reach the right margin).
fn justified_space_ratios(lines: &[Vec<Word>]) -> Vec<f32> {
    let body_height = body_height(lines);
    let body = |w: &Word| (w.height() - body_height).abs() < 0.2;
    let mut full = Vec::new();
    let mut ragged = Vec::new();
    // Contents lines (dot leaders) are not text.
    for words in lines.iter().filter(|l| !l.iter().any(|w| w.text == ".")) {
        let gaps: Vec<f32> =
            words.windows(2).filter(|p| body(&p[0]) && body(&p[1])).map(|p| p[1].x0 - p[0].x1).collect();
        if gaps.is_empty() {
            continue;
        }
        let last = words.last().expect("a word");
        if last.x1 >= RIGHT - 0.6 {
            full.push(gaps.iter().sum::<f32>() / gaps.len() as f32);
        } else {
            ragged.extend(gaps);
        }
    }
    ragged.sort_by(f32::total_cmp);
    let natural = ragged[ragged.len() / 2];
    let mut ratios: Vec<f32> = full.iter().map(|g| g / natural).collect();
    ratios.sort_by(f32::total_cmp);
    ratios
}

#[test]
fn justified_word_spaces_stay_close_to_their_natural_width() {
    let md = generated_report(100, 1);
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-spaces", &rendered.pdf);
    let ratios = justified_space_ratios(&bbox_lines(&path));
    assert!(ratios.len() > 1000, "too few justified lines found: {}", ratios.len());
    let median = ratios[ratios.len() / 2];
    let worst = ratios[ratios.len() - 1];
    assert!(median <= 1.20, "median justified word space is {:.0} % of natural", median * 100.0);
    assert!(worst <= 2.00, "a justified line has word spaces at {:.0} % of natural", worst * 100.0);
    // Hyphenation is what makes this possible.
    let text = pdftotext(&path, &["-layout"]);
    assert!(text.lines().filter(|l| l.trim_end().ends_with(|c: char| c.is_alphabetic())).count() > 100);
    assert!(text.lines().any(|l| l.trim_end().ends_with("-") && !l.trim_end().ends_with(" -")), "nothing hyphenated");
}

#[test]
fn french_punctuation_stays_with_its_word() {
    let sentence = "La ville a organisé « Design Biennale » : 42 ateliers ; des œuvres ! Pourquoi ? \
                    Parce que « la coopération » compte. ";
    let md: String = (0..6).map(|k| format!("{}{}\n\n", "Mot ".repeat(k), sentence.repeat(12))).collect();
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-french", &rendered.pdf);
    for line in pdftotext(&path, &["-layout"]).lines() {
        let line = line.trim();
        assert!(!line.starts_with([':', ';', '!', '?', '»']), "a line starts with closing punctuation: {line:?}");
        assert!(!line.ends_with('«'), "a line ends with an opening guillemet: {line:?}");
    }
}

#[test]
fn an_illegal_break_is_never_preferred_to_a_loose_line() {
    // "(" may not end a line (UAX #14), so the URL after it must bring it along.
    let md: String = (0..40)
        .map(|k| {
            format!(
                "{}Ville créative (<https://en.unesco.org/creative-cities/creative-cities-map>).\n\n",
                "mot ".repeat(k)
            )
        })
        .collect();
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-illegal", &rendered.pdf);
    for line in pdftotext(&path, &["-layout"]).lines() {
        assert!(!line.trim_end().ends_with('('), "a line ends where no break is allowed: {line:?}");
    }
}

#[test]
fn a_word_longer_than_the_line_is_cut_into_full_lines() {
    let word: String = (0..600).map(|k| ['a', 'é', 'b', 'c', 'ü'][k % 5]).collect();
    let md = format!("Before it.\n\n{word}\n\nAfter it.\n");
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-long-word", &rendered.pdf);
    let pieces: Vec<Word> = bbox_lines(&path)
        .into_iter()
        .filter(|l| l.len() == 1 && l[0].text.chars().all(|c| "aébcü".contains(c)) && l[0].text.len() > 3)
        .map(|l| l[0].clone())
        .collect();
    assert!(pieces.len() >= 3, "the word should take several lines: {pieces:?}");
    let joined: String = pieces.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(joined, word, "the pieces give the word back");
    for piece in &pieces[..pieces.len() - 1] {
        assert!(piece.x1 > RIGHT - 12.0, "a piece of the word stops short of the margin: {piece:?}");
        assert!(piece.x1 <= RIGHT + 0.1, "a piece of the word passes the margin: {piece:?}");
    }
}

#[test]
fn inline_code_keeps_its_spaces_in_justified_text() {
    let sentence = "The justified line carries `let total = a + b` in the middle of plain words that \
                    must stretch to fill the measure. ";
    let md: String = (0..8).map(|k| format!("{}{}\n\n", "word ".repeat(k * 2), sentence.repeat(3))).collect();
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-code", &rendered.pdf);
    let code = ["let", "total", "=", "a", "+", "b"];
    let mut gaps = Vec::new();
    let lines = bbox_lines(&path);
    let body = body_height(&lines);
    for line in lines {
        for pair in line.windows(2) {
            let mono = |w: &Word| code.contains(&w.text.as_str()) && (w.height() - body).abs() > 0.2;
            if mono(&pair[0]) && mono(&pair[1]) {
                gaps.push(pair[1].x0 - pair[0].x1);
            }
        }
    }
    assert!(gaps.len() > 20, "code words not found: {gaps:?}");
    let (lo, hi) = gaps.iter().fold((f32::MAX, f32::MIN), |(lo, hi), g| (lo.min(*g), hi.max(*g)));
    assert!(hi - lo < 0.05, "spaces inside inline code vary from {lo} to {hi} pt");
}

#[test]
fn lang_comes_from_the_report_and_control_characters_are_stripped() {
    let md = "# Résumé analytique\n\nLa ville a organisé des ateliers.\u{7} Fin.\n\n\
              # Informations générales\n\nTexte.\n";
    let rendered = render_md(md, None, &[]);
    let path = write_pdf("typography-lang", &rendered.pdf);
    let p = path.to_str().expect("utf-8 path");
    assert_eq!(meta().language, "en", "the metadata says English");
    let (ok, catalog, err) = tool("qpdf", "qpdf", &["--show-object=trailer", "--filtered-stream-data", p]);
    assert!(ok, "qpdf failed: {err}");
    let root = catalog.split("/Root ").nth(1).and_then(|r| r.split_whitespace().next()).expect("a /Root");
    let (_, root_obj, _) = tool("qpdf", "qpdf", &[&format!("--show-object={root}"), p]);
    assert!(root_obj.contains("/Lang (fr)"), "the catalog should declare French: {root_obj}");
    let (_, xmp, _) = tool("pdfinfo", "poppler-utils", &["-meta", p]);
    assert!(xmp.contains("<rdf:li>fr</rdf:li>"), "dc:language should be fr: {xmp}");
    let text = pdftotext(&path, &[]);
    assert!(!text.contains('\u{7}'), "a control character reached the text layer");
    assert!(text.contains("ateliers. Fin."), "{text}");
}

#[test]
fn a_french_report_has_the_templates_words_in_french() {
    let report = "# Résumé analytique\n\nLa ville a organisé des ateliers.\n\n\
                  # Informations générales\n\nTexte.\n";
    let plan = "# Plan d’action\n\n1. Un festival.\n";
    let french = render_md(report, Some(plan), &[]);
    let text = pdftotext(&write_pdf("typography-french-words", &french.pdf), &[]);
    for words in [
        "Réseau des villes créatives de l’UNESCO",
        "Rapport de suivi des membres",
        "Ville créative de l’UNESCO — Gastronomy",
        "Période couverte",
        "Statut",
        "Soumis",
        "Table des matières",
        "Partie I — Rapport",
        "Partie II — Plan d’action",
        "Östersund — Rapport de suivi des membres 2021–2024",
        "page 2 sur",
    ] {
        assert!(text.contains(words), "{words:?} missing from the French report:\n{text}");
    }
    for english in ["Contents", "Part I", "Reporting cycle", "Submitted", " of "] {
        assert!(!text.contains(english), "{english:?} left in English in the French report:\n{text}");
    }
    // A French draft says its status once, and no English version label ("draft").
    use mmr::render::{DocumentMeta, Limits, RenderRequest, Status, Template, render};
    let draft = DocumentMeta { status: Status::Draft, version: "draft".into(), ..meta() };
    let request = RenderRequest {
        report_markdown: report,
        action_plan_markdown: None,
        attachments: &[],
        meta: &draft,
        template: &Template::builtin(),
        limits: &Limits::default(),
    };
    let path = write_pdf("typography-french-draft", &render(&request).expect("renders").pdf);
    let cover = page_text(&path, 1);
    assert_eq!(cover.matches("Brouillon").count(), 1, "{cover}");
    assert!(!cover.to_lowercase().contains("draft") && !cover.contains("Version du rapport"), "{cover}");
    // An English report keeps the template's own words.
    let english = render_md("# Executive summary\n\nThe city held workshops.\n", Some(plan), &[]);
    let text = pdftotext(&write_pdf("typography-english-words", &english.pdf), &[]);
    for words in ["Membership Monitoring Report", "Contents", "Part I — Report", "Submitted", "page 2 of"] {
        assert!(text.contains(words), "{words:?} missing from the English report:\n{text}");
    }
}

/// GoTo link annotations in a PDF.
fn goto_links(pdf: &[u8]) -> usize {
    use lopdf::Object;
    annotations(pdf)
        .iter()
        .filter_map(|a| a.get(b"A").and_then(Object::as_dict).ok())
        .filter(|action| action.get(b"S").and_then(Object::as_name).ok() == Some(b"GoTo".as_slice()))
        .count()
}

#[test]
fn links_to_the_other_part_resolve_and_dead_links_are_plain_text() {
    let plan = "# Action plan\n\n## Budget\n\nFigures.\n";
    let linked = "# Report\n\nSee [the budget](#budget) and [nowhere](#nowhere).\n";
    let unlinked = "# Report\n\nSee the budget and nowhere.\n";
    let with = super::support::render_md(linked, Some(plan), &[]);
    let without = super::support::render_md(unlinked, Some(plan), &[]);
    assert_eq!(goto_links(&with.pdf), goto_links(&without.pdf) + 1, "the link to the action plan's heading is kept");
    let dropped: Vec<String> =
        with.warnings.iter().map(|w| w.to_string()).filter(|w| w.contains("names no heading")).collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert!(dropped[0].contains("#nowhere"), "{dropped:?}");
}

/// Path segments begun (`m` operators) in the content of every page.
fn moves(pdf: &[u8]) -> usize {
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf reads the PDF");
    doc.get_pages()
        .values()
        .map(|&id| {
            let content = doc.get_and_decode_page_content(id).expect("page content");
            content.operations.iter().filter(|op| op.operator == "m").count()
        })
        .sum()
}

#[test]
fn a_wrapped_code_line_is_marked_as_going_on() {
    let long = "{\"city\": \"Medellín\", \"field\": \"Music\", \"indicators\": [12, 15, 18], \"partners\": [\"Montréal\", \"Besançon\", \"Bogotá\"], \"notes\": \"wraps\"}";
    // The same text as short lines of their own: as many rows, no continuation.
    let wrapped = render_md(&format!("```\n{long}\n```\n"), None, &[]);
    let text = pdftotext(&write_pdf("typography-code-wrap", &wrapped.pdf), &["-layout"]);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains('"') || l.contains(']')).map(str::trim).collect();
    assert!(rows.len() >= 2, "the line should wrap: {rows:?}");
    let split = render_md(&format!("```\n{}\n```\n", rows.join("\n")), None, &[]);
    assert_eq!(moves(&wrapped.pdf), moves(&split.pdf) + 4 * (rows.len() - 1), "one mark per continuation line");
}

#[test]
fn contents_have_dot_leaders_and_parts_have_pages_of_their_own() {
    let report = "# Executive Summary\n\nText.\n\n## A section with a long enough title\n\nMore text.\n";
    let plan = "# Local Initiatives\n\nPlans.\n";
    let rendered = render_md(report, Some(plan), &[]);
    let path = write_pdf("typography-contents", &rendered.pdf);
    let p = path.to_str().expect("utf-8 path");
    let page = |n: usize| {
        let (ok, out, err) =
            tool("pdftotext", "poppler-utils", &["-layout", "-f", &n.to_string(), "-l", &n.to_string(), p, "-"]);
        assert!(ok, "pdftotext failed: {err}");
        out
    };
    let contents = page(2);
    let titles = ["Part I", "Executive Summary", "A section with", "Part II", "Local Initiatives"];
    let entries: Vec<&str> = contents.lines().filter(|l| titles.iter().any(|t| l.contains(t))).collect();
    assert_eq!(entries.len(), titles.len(), "contents entries: {contents}");
    for entry in entries {
        let dots = entry.matches('.').count();
        assert!(dots >= 5, "no dot leader in the contents line {entry:?}");
    }
    for (part, first_heading) in
        [("Part I — Report", "Executive Summary"), ("Part II — Action Plan", "Local Initiatives")]
    {
        let n = (1..=rendered.page_count).find(|&n| page(n).contains(part) && n > 2).expect("the part's page");
        assert!(!page(n).contains(first_heading), "the part title shares its page with its first heading");
        assert!(page(n + 1).contains(first_heading), "the part's text starts on the page after its title");
    }
}

/// The text of page `n` (1-based), in layout mode.
fn page_text(path: &Path, n: usize) -> String {
    let n = n.to_string();
    pdftotext(path, &["-layout", "-f", &n, "-l", &n])
}

#[test]
fn footnotes_sit_at_the_foot_of_the_page_of_their_mark() {
    let mut report = String::from("# Report\n\n");
    let mut definitions = String::new();
    for n in 1..=40 {
        let filler = "Filler words of a paragraph that runs on. ".repeat(n % 7 * 4 + 2);
        report.push_str(&format!("{filler}Then marker{n}word[^n{n}] and more words after it.\n\n"));
        let body = "a note long enough to take a line or two of its own. ".repeat(n % 4 + 1);
        definitions.push_str(&format!("[^n{n}]: Note{n}text is {body}\n\n"));
    }
    report.push_str(&definitions);
    let plan = "# Plan\n\nA plan line with its own note[^p].\n\n[^p]: Plannote text.\n";
    let rendered = render_md(&report, Some(plan), &[]);
    let path = write_pdf("typography-footnotes", &rendered.pdf);
    let pages: Vec<String> = (1..=rendered.page_count).map(|n| page_text(&path, n)).collect();
    for n in 1..=40 {
        let mark = format!("marker{n}word");
        let note = format!("Note{n}text");
        let with_mark: Vec<usize> = (0..pages.len()).filter(|&p| pages[p].contains(&mark)).collect();
        let with_note: Vec<usize> = (0..pages.len()).filter(|&p| pages[p].contains(&note)).collect();
        assert_eq!(with_mark.len(), 1, "{mark} found on pages {with_mark:?}");
        assert_eq!(with_note, with_mark, "note {n} is not on the page of its mark");
    }
    // One numbering through the document: the action plan's note is the 41st.
    let plan_page = pages.iter().find(|p| p.contains("Plannote")).expect("the plan's note");
    assert!(plan_page.lines().any(|l| l.trim_start().starts_with("41.") && l.contains("Plannote")), "{plan_page}");
    // Marks link to their notes and notes back to their marks.
    let unmarked = report.replace("[^n", "[n");
    let plain = render_md(&unmarked, Some(&plan.replace("[^p]", "[p]")), &[]);
    assert_eq!(goto_links(&rendered.pdf), goto_links(&plain.pdf) + 2 * 41, "two links per footnote");
}

#[test]
fn a_table_keeps_two_rows_at_each_page_edge_and_its_lead_in_and_caption() {
    let table: String = std::iter::once("| Item | Amount | Comment |\n|---|---:|---|\n".to_string())
        .chain((1..=14).map(|k| format!("| Row{k}x | {k}00 | spent as planned |\n")))
        .collect();
    // Every offset of the table on its first page, so the page break falls at every row.
    for filler in 0..28 {
        let md = format!(
            "# Budget\n\n{}The figures are as follows:\n\nTable: Budget by line\n\n{table}\nAfter the table.\n",
            "A line of filler text.\n\n".repeat(28 + filler)
        );
        let rendered = render_md(&md, None, &[]);
        let path = write_pdf("typography-table-keep", &rendered.pdf);
        for n in 1..=rendered.page_count {
            let text = page_text(&path, n);
            let rows = (1..=14).filter(|k| text.contains(&format!("Row{k}x"))).count();
            assert!(rows == 0 || rows >= 2, "filler {filler}: page {n} holds a single row of the table:\n{text}");
            for above in ["as follows:", "Table: Budget by line"] {
                if text.contains(above) {
                    assert!(rows >= 2, "filler {filler}: {above:?} is apart from its table:\n{text}");
                }
            }
        }
    }
}

#[test]
fn a_label_column_is_not_squeezed() {
    let labels = ["Cultural events held", "Public library visits", "Residencies hosted abroad"];
    let long = "a long description of what was done, with partners, places and dates, that wraps over lines";
    let mut md = String::from("| Indicator | Baseline | Result |\n|---|---|---|\n");
    for label in labels {
        md.push_str(&format!("| {label} | {long} | {long} |\n"));
    }
    let rendered = render_md(&md, None, &[]);
    let text = pdftotext(&write_pdf("typography-label-column", &rendered.pdf), &["-layout"]);
    for label in labels {
        assert!(text.lines().any(|l| l.contains(label)), "the label {label:?} is wrapped:\n{text}");
    }
}

#[test]
fn a_wide_table_gets_smaller_type_before_its_words_are_cut() {
    let header: String = (1..=32).map(|c| format!("| C{c} ")).collect::<String>() + "|\n";
    let rule: String = "|---".repeat(32) + "|\n";
    let rows: String =
        (0..6).map(|r| (1..=32).map(|c| format!("| {} ", (r * 32 + c) % 97 + 1)).collect::<String>() + "|\n").collect();
    let rendered = render_md(&format!("{header}{rule}{rows}"), None, &[]);
    let text = pdftotext(&write_pdf("typography-wide-table", &rendered.pdf), &["-layout"]);
    let words: Vec<&str> = text.split_whitespace().collect();
    for c in 1..=32 {
        let name = format!("C{c}");
        assert!(words.contains(&name.as_str()), "the header {name} is cut:\n{text}");
    }
}

#[test]
fn the_cover_uses_the_page_says_the_status_once_and_a_title_is_not_a_city() {
    use mmr::render::{DocumentMeta, Limits, RenderRequest, Status, Template, render};
    let template = Template::builtin();
    let limits = Limits::default();
    let draw = |meta: &DocumentMeta, name: &str| {
        let request = RenderRequest {
            report_markdown: "# Executive Summary\n\nText.\n",
            action_plan_markdown: None,
            attachments: &[],
            meta,
            template: &template,
            limits: &limits,
        };
        write_pdf(name, &render(&request).expect("renders").pdf)
    };
    // A draft: version "draft" and status "Draft" are one fact.
    let draft = DocumentMeta { status: Status::Draft, version: "draft".into(), ..meta() };
    let path = draw(&draft, "typography-cover-draft");
    let cover = page_text(&path, 1);
    assert_eq!(cover.to_lowercase().matches("draft").count(), 1, "the status is said more than once:\n{cover}");
    // The facts stand on the bottom margin, the title block above the middle: the page is used.
    let lines = bbox_page(&path, 1);
    let cover_words: Vec<&Word> = lines.iter().flatten().collect();
    let lowest = cover_words.iter().map(|w| w.y1).fold(0.0, f32::max);
    assert!(lowest > 841.89 * 0.8, "the cover stops at {lowest} pt of 842");
    let city = cover_words.iter().find(|w| w.text == "Östersund").expect("the city on the cover");
    assert!(city.y0 > 841.89 * 0.25 && city.y0 < 841.89 * 0.5, "the city sits at {} pt", city.y0);
    // `mmr render --title` without a city: the title once on the cover, alone in the header.
    let titled = DocumentMeta { title: "Bologna City of Music: the report".into(), ..DocumentMeta::default() };
    let path = draw(&titled, "typography-cover-title");
    let cover = page_text(&path, 1);
    assert_eq!(cover.matches("Bologna City of Music").count(), 1, "{cover}");
    let second = page_text(&path, 2);
    let header = second.lines().find(|l| l.contains("Bologna")).expect("the running header");
    assert_eq!(header.trim(), "Bologna City of Music: the report", "{second}");
}

/// Width and height of page `n` (1-based), in points, as `pdfinfo -f n -l n` gives them.
fn page_size(path: &Path, n: usize) -> (f32, f32) {
    let n = n.to_string();
    let (ok, out, err) = tool("pdfinfo", "poppler-utils", &["-f", &n, "-l", &n, path.to_str().expect("utf-8 path")]);
    assert!(ok, "pdfinfo failed: {err}");
    let line = out.lines().find(|l| l.starts_with("Page") && l.contains("size:")).expect("a page size line");
    let mut numbers = line.split("size:").nth(1).expect("size").split_whitespace().filter_map(|w| w.parse().ok());
    (numbers.next().expect("width"), numbers.next().expect("height"))
}

#[test]
fn a_table_whose_words_would_be_cut_goes_on_a_landscape_page() {
    let header: String = (1..=32).map(|c| format!("| M{c} ")).collect::<String>() + "|\n";
    let rule: String = "|---".repeat(32) + "|\n";
    let value = |r: usize, c: usize| ((r * 32 + c) * 1013 % 99_991).to_string();
    let rows: String =
        (0..6).map(|r| (1..=32).map(|c| format!("| {} ", value(r, c))).collect::<String>() + "|\n").collect();
    let md = format!("# Months\n\nBefore the table.\n\n{header}{rule}{rows}\nAfter the table.\n");
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-landscape-table", &rendered.pdf);
    let n = (1..=rendered.page_count).find(|&n| page_text(&path, n).contains("M10")).expect("the table's page");
    let text = page_text(&path, n);
    let words: Vec<&str> = text.split_whitespace().collect();
    // Portrait, even in the smallest type, the five-digit figures were cut.
    let cells = (0..6).flat_map(|r| (1..=32).map(move |c| value(r, c)));
    for word in (1..=32).map(|c| format!("M{c}")).chain(cells) {
        assert!(words.contains(&word.as_str()), "{word} is cut:\n{text}");
    }
    let (w, h) = page_size(&path, n);
    assert!(w > h, "the table's page is {w} × {h}, not landscape");
    assert!(text.contains(&format!("page {n} of {}", rendered.page_count)), "no footer on the landscape page:\n{text}");
    // The text around it stays on portrait pages.
    for (words, page) in [("Before the table.", n - 1), ("After the table.", n + 1)] {
        assert!(page_text(&path, page).contains(words), "{words:?} is not on page {page}");
        let (w, h) = page_size(&path, page);
        assert!(w < h, "page {page} is {w} × {h}, not portrait");
    }
}

/// A lead-in ending in ":" and a "Table: …" caption go with their table onto its landscape page
/// (they stayed on the portrait page before it); the text after them does not.
#[test]
fn a_landscape_tables_lead_in_and_caption_turn_with_it() {
    let header: String = (1..=32).map(|c| format!("| M{c} ")).collect::<String>() + "|\n";
    let rule: String = "|---".repeat(32) + "|\n";
    let rows: String = (0..4)
        .map(|r| (1..=32).map(|c| format!("| {} ", (r * 32 + c) * 1013 % 99_991)).collect::<String>() + "|\n")
        .collect();
    let md = format!(
        "# Months\n\nBefore the table.\n\nThe visits, month by month:\n\n{header}{rule}{rows}\n\
         Table 2: Visits by month.\n\nAfter the table.\n"
    );
    let rendered = render_md(&md, None, &[]);
    let path = write_pdf("typography-landscape-caption", &rendered.pdf);
    let n = (1..=rendered.page_count).find(|&n| page_text(&path, n).contains("M10")).expect("the table's page");
    let text = page_text(&path, n);
    let (w, h) = page_size(&path, n);
    assert!(w > h, "the table's page is {w} × {h}, not landscape");
    for words in ["The visits, month by month:", "Table 2: Visits by month."] {
        assert!(text.contains(words), "{words:?} is not on the table's landscape page:\n{text}");
    }
    for (words, page) in [("Before the table.", n - 1), ("After the table.", n + 1)] {
        assert!(page_text(&path, page).contains(words), "{words:?} is not on page {page}");
    }
}

#[test]
fn the_appendix_comes_after_both_parts_with_its_bookmark_and_contents_entry() {
    let report = "# 1. Executive Summary\n\nSummary text.\n\n# 7. Appendices\n\nThe festival programme.[^p]\n\n\
                  ## Annex A: Programme\n\nProgramme text.\n\n\
                  # 5. Major Initiatives Implemented through Inter-City Cooperation\n\nCooperation text.\n\n\
                  [^p]: Printed in May.\n";
    let plan = "# 6. Proposed Action Plan\n\nPlan text.\n";
    let rendered = render_md(report, Some(plan), &[]);
    let path = write_pdf("typography-appendix", &rendered.pdf);
    let page_of = |words: &str| {
        (3..=rendered.page_count).find(|&n| page_text(&path, n).contains(words)).unwrap_or_else(|| panic!("{words:?}"))
    };
    let order = ["Summary text.", "Cooperation text.", "Plan text.", "The festival programme.", "Programme text."];
    let pages: Vec<usize> = order.iter().map(|w| page_of(w)).collect();
    assert!(pages.windows(2).all(|p| p[0] <= p[1]), "pages out of order: {order:?} on {pages:?}");
    assert!(pages[3] > pages[2], "the appendix shares the action plan's page");
    assert_eq!(page_of("Part II"), pages[2] - 1, "the appendix sits between the parts");
    assert_eq!(page_of("Printed in May."), pages[3], "the appendix's note is not at the foot of its page");
    // The contents list it last, beside the parts, with its page.
    let contents = page_text(&path, 2);
    let entries: Vec<&str> = contents.lines().filter(|l| l.contains("Part II") || l.contains("Appendices")).collect();
    assert_eq!(entries.len(), 2, "{contents}");
    assert!(entries[0].contains("Part II") && entries[1].trim_end().ends_with(&pages[3].to_string()), "{contents}");
    // And so does the outline.
    let doc = lopdf::Document::load_mem(&rendered.pdf).expect("lopdf reads the PDF");
    let titles: Vec<String> = outline_top(&doc);
    assert_eq!(titles, ["Contents", "Part I — Report", "Part II — Action Plan", "7. Appendices"]);
}

/// Notes are numbered as they are read: the report's body, the action plan, then the appendix,
/// which is laid out after both (before, the appendix's note kept its place in the report's
/// numbering and read "2" after the action plan's "3").
#[test]
fn notes_are_numbered_in_reading_order_with_the_appendix_last() {
    let report = "# 1. Executive Summary\n\nSummary text.[^s]\n\n# 7. Appendices\n\nThe festival programme.[^p]\n\n\
                  # 5. Major Initiatives Implemented through Inter-City Cooperation\n\nCooperation text.[^c]\n\n\
                  [^s]: Summary note.\n\n[^p]: Printed in May.\n\n[^c]: Cooperation note.\n";
    let plan = "# 6. Proposed Action Plan\n\nPlan text.[^a]\n\n[^a]: Plan note.\n";
    let rendered = render_md(report, Some(plan), &[]);
    let path = write_pdf("typography-appendix-notes", &rendered.pdf);
    let text: String = (3..=rendered.page_count).map(|n| page_text(&path, n)).collect();
    let numbered = |note: &str| {
        let line = text.lines().find(|l| l.contains(note)).unwrap_or_else(|| panic!("{note:?} in {text}"));
        line.trim_start().split('.').next().unwrap().trim().to_owned()
    };
    let numbers: Vec<String> =
        ["Summary note.", "Cooperation note.", "Plan note.", "Printed in May."].iter().map(|n| numbered(n)).collect();
    assert_eq!(numbers, ["1", "2", "3", "4"], "{text}");
}

/// The titles of the outline's top-level entries.
fn outline_top(doc: &lopdf::Document) -> Vec<String> {
    use lopdf::Object;
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).expect("root");
    let catalog = doc.get_dictionary(root).expect("catalog");
    let outlines = catalog.get(b"Outlines").and_then(Object::as_reference).expect("outline");
    let mut out = Vec::new();
    let mut next = doc.get_dictionary(outlines).expect("outlines").get(b"First").and_then(Object::as_reference).ok();
    while let Some(id) = next {
        let d = doc.get_dictionary(id).expect("outline item");
        let title = match d.get(b"Title").expect("title") {
            Object::String(bytes, _) if bytes.starts_with(&[0xFE, 0xFF]) => String::from_utf16_lossy(
                &bytes[2..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>(),
            ),
            Object::String(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("title {other:?}"),
        };
        out.push(title);
        next = d.get(b"Next").and_then(Object::as_reference).ok();
    }
    out
}
