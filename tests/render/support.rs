//! Shared helpers: fixtures, the report generator, and the external PDF tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use mmr::render::{Attachment, DocumentMeta, Limits, PdfDate, RenderRequest, Rendered, Status, Template, render};

/// Metadata as the service would give it for a submitted report.
pub fn meta() -> DocumentMeta {
    DocumentMeta {
        title: "Membership Monitoring Report — Östersund".to_string(),
        city: "Östersund".to_string(),
        country: "Sweden".to_string(),
        creative_field: "Gastronomy".to_string(),
        cycle: "2021–2024".to_string(),
        version: "v3".to_string(),
        submission_date: Some(PdfDate::ymd(2024, 11, 28)),
        status: Status::Submitted,
        language: "en".to_string(),
        keywords: vec!["UCCN".to_string(), "gastronomy".to_string()],
        creation_date: PdfDate::parse("2024-11-28T10:15:00Z").expect("valid date"),
    }
}

/// Render with the built-in template and default limits.
pub fn render_md(report: &str, plan: Option<&str>, attachments: &[Attachment]) -> Rendered {
    try_render(report, plan, attachments, &Limits::default()).expect("rendering succeeds")
}

pub fn try_render(
    report: &str,
    plan: Option<&str>,
    attachments: &[Attachment],
    limits: &Limits,
) -> Result<Rendered, mmr::render::RenderError> {
    let template = Template::builtin();
    let meta = meta();
    render(&RenderRequest {
        report_markdown: report,
        action_plan_markdown: plan,
        attachments,
        meta: &meta,
        template: &template,
        limits,
    })
}

/// The shared directory sits beside the repository (`../shared`), in CI and here.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// A report from `shared/bench/gen_report.py`.
pub fn generated_report(pages: u32, seed: u32) -> String {
    let script = shared_dir().join("bench/gen_report.py");
    assert!(script.exists(), "{} not found: the shared/ directory must sit beside the repository", script.display());
    let out = Command::new("python3")
        .arg(&script)
        .args(["--pages", &pages.to_string(), "--seed", &seed.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to run gen_report.py (apt-get install python3): {e}"));
    assert!(out.status.success(), "gen_report.py failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("gen_report.py writes UTF-8")
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mmr-render-tests-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Write the PDF to a scratch file and return its path, once the PDF/UA machine check
/// ([`pdfua_check`]) finds nothing wrong with it: every PDF a test looks at is checked.
pub fn write_pdf(name: &str, pdf: &[u8]) -> PathBuf {
    let path = write_unchecked(name, pdf);
    let (ok, report) = pdfua_check(&path);
    assert!(ok, "{name}: the PDF/UA machine check failed:\n{report}");
    path
}

/// Write the PDF to a scratch file without checking it (a PDF made bad on purpose).
pub fn write_unchecked(name: &str, pdf: &[u8]) -> PathBuf {
    let path = scratch(name).join("out.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    path
}

/// Run `tests/render/pdfua_check.py` (Python with pikepdf) on a PDF: whether it passed, and
/// its report (one violation a line).
pub fn pdfua_check(path: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render/pdfua_check.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to run pdfua_check.py (apt-get install python3): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'pikepdf'"),
        "pdfua_check.py needs pikepdf: `make test-deps` or `python3 -m pip install pikepdf`"
    );
    assert!(out.status.code() != Some(2), "pdfua_check.py could not read {}: {stderr}", path.display());
    (out.status.success(), format!("{}{stderr}", String::from_utf8_lossy(&out.stdout)))
}

/// The text of the structure tree in its order, as `pdfinfo -struct-text` reads it: one line
/// per marked-content sequence it prints (the renderer writes one per line of text), the
/// cover and contents left out when `from_part` is set (they repeat the headings).
pub fn struct_text(path: &Path, from_part: bool) -> String {
    let (ok, out, err) = tool("pdfinfo", "poppler-utils", &["-struct-text", path.to_str().expect("utf-8 path")]);
    assert!(ok, "pdfinfo -struct-text failed: {err}");
    let start = if from_part { out.lines().position(|l| l == "  Part").unwrap_or(0) } else { 0 };
    out.lines()
        .skip(start)
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run an external tool; a missing tool fails the test with the package to install.
pub fn tool(program: &str, package: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("`{program}` is required for this test: install the Debian package `{package}` (apt-get install {package}): {e}")
    });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn pdftotext(path: &Path, extra: &[&str]) -> String {
    let p = path.to_str().expect("utf-8 path");
    let mut args: Vec<&str> = extra.to_vec();
    args.extend([p, "-"]);
    let (ok, out, err) = tool("pdftotext", "poppler-utils", &args);
    assert!(ok, "pdftotext failed: {err}");
    out
}

/// Words as runs of letters or of digits, so punctuation, Markdown syntax and
/// footnote numbers set against a word do not count. A word hyphenated at a line
/// end counts both as its two parts and, right after them, as the whole word, so
/// words hyphenated by the renderer and compounds broken after their own hyphen
/// both come back.
pub fn words(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut per_line: Vec<Vec<String>> = lines.iter().map(|l| line_words(l)).collect();
    for k in 0..lines.len() {
        let Some(head) = lines[k].trim_end().strip_suffix('-') else { continue };
        let Some(next) = continuation(&lines, k) else { continue };
        let first: String = lines[next].trim_start().chars().take_while(|c| c.is_alphabetic()).collect();
        if head.ends_with(char::is_alphabetic)
            && first.starts_with(char::is_lowercase)
            && let Some(last) = per_line[k].last().cloned()
            && !per_line[next].is_empty()
        {
            per_line[next].insert(1, format!("{last}{first}"));
        }
    }
    per_line.into_iter().flatten().collect()
}

/// The line that continues line `k`: the next one, or across a page break (a
/// blank line, the page's footnotes and footer, then the next page's header line
/// after the form feed) the first line of text on the next page.
fn continuation(lines: &[&str], k: usize) -> Option<usize> {
    let next = lines.get(k + 1)?;
    if !next.trim().is_empty() {
        return Some(k + 1);
    }
    let feed = (k + 1..lines.len().min(k + 60)).find(|&i| lines[i].contains('\u{c}'))?;
    (feed + 1..lines.len().min(feed + 6)).find(|&i| !lines[i].trim().is_empty())
}

fn line_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            let d = c.is_numeric();
            if !cur.is_empty() && d != digits {
                out.push(std::mem::take(&mut cur));
            }
            digits = d;
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The words a reader should see, from Markdown source: syntax, link URLs,
/// footnote labels and table delimiters removed.
pub fn source_words(markdown: &str) -> Vec<String> {
    let mut text = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let mut l = line.trim_start().to_string();
        // Footnote definition labels and task boxes.
        if l.starts_with("[^")
            && let Some(i) = l.find("]:")
        {
            l = l[i + 2..].to_string();
        }
        for marker in ["- [x] ", "- [ ] "] {
            if let Some(rest) = l.strip_prefix(marker) {
                l = rest.to_string();
            }
        }
        if l.starts_with('|') && l.chars().all(|c| matches!(c, '|' | ':' | '-' | ' ')) {
            continue;
        }
        text.push_str(&strip_inline(&l));
        text.push('\n');
    }
    line_words(&text)
}

fn strip_inline(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['[', ']']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("[^") {
            // Footnote reference: the number is rendered as a superscript.
            match after.find(']') {
                Some(j) => {
                    out.push(' ');
                    out.push_str(&after[..j]);
                    out.push(' ');
                    rest = &after[j + 1..];
                }
                None => rest = after,
            }
        } else if let Some(after) = tail.strip_prefix("](") {
            // Link destination: not visible.
            match after.find(')') {
                Some(j) => rest = &after[j + 1..],
                None => rest = after,
            }
        } else {
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Share of `expected` found in `actual` in order. Each expected word is looked
/// up at or after the position of the previous match, within a short window (the
/// running header and footer fit in it); a word not found counts as missing and
/// does not move the position. After three misses in a row the next lookup has
/// no window, which steps over the contents pages.
pub fn ordered_recall(expected: &[String], actual: &[String]) -> (f64, Vec<String>) {
    ordered_recall_within(expected, actual, 400)
}

/// [`ordered_recall`] with the window given.
pub fn ordered_recall_within(expected: &[String], actual: &[String], window: usize) -> (f64, Vec<String>) {
    use std::collections::HashMap;
    let mut misses_in_row = 0;
    let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, w) in actual.iter().enumerate() {
        positions.entry(w.as_str()).or_default().push(i);
    }
    let mut pos = 0usize;
    let mut found = 0usize;
    let mut missing = Vec::new();
    for w in expected {
        let next = positions.get(w.as_str()).and_then(|ps| {
            let k = ps.partition_point(|&p| p < pos);
            ps.get(k).copied().filter(|&p| misses_in_row >= 3 || p < pos.saturating_add(window))
        });
        match next {
            Some(p) => {
                found += 1;
                pos = p + 1;
                misses_in_row = 0;
            }
            None => {
                misses_in_row += 1;
                if missing.len() < 40 {
                    missing.push(w.clone());
                }
            }
        }
    }
    (found as f64 / expected.len().max(1) as f64, missing)
}

/// Every annotation dictionary of a PDF, page by page.
pub fn annotations(pdf: &[u8]) -> Vec<lopdf::Dictionary> {
    use lopdf::Object;
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf reads the PDF");
    let mut out = Vec::new();
    for (_, page) in doc.get_pages() {
        let page = doc.get_dictionary(page).expect("page");
        let Ok(Object::Array(annots)) = page.get(b"Annots") else { continue };
        for a in annots {
            match a {
                Object::Dictionary(d) => out.push(d.clone()),
                Object::Reference(r) => out.push(doc.get_dictionary(*r).expect("annot").clone()),
                _ => {}
            }
        }
    }
    out
}
