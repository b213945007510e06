//! PDFs this crate did not make: reports as cities sent them before the system existed, which
//! the archive keeps as received documents. [`inspect_received`] decides whether one may be
//! archived and served (a PDF, whole, not encrypted, without scripts, launch actions or embedded
//! files, within the size and object limits) and extracts its text for the archive search.
//!
//! It never panics and never works without bound on hostile input: the size is checked before
//! anything is parsed, the objects are counted in the raw bytes before lopdf builds them, every
//! stream is decompressed under a limit, and a panic inside lopdf is caught and refused like any
//! other unreadable file. And it runs under a time budget: small files can still cost much (a
//! thousand pages drawing one huge content stream), so the parsing runs on a thread of its own
//! and the caller stops waiting when the budget is spent; the thread itself stops at its next
//! check of the clock (between stages and every few pages), lopdf's call in progress finished.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lopdf::{Document, LoadOptions, Object};

/// Largest received PDF accepted.
pub const MAX_RECEIVED_PDF_BYTES: usize = 64 * 1024 * 1024;
/// Most indirect objects a received PDF may hold (a scanned 300-page report holds a few thousand).
pub const MAX_RECEIVED_PDF_OBJECTS: usize = 200_000;
/// Most bytes one stream may decompress to, while loading or extracting a page's text.
const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;
/// Pages whose text is extracted; later pages are archived but not searchable.
const MAX_TEXT_PAGES: u32 = 1_000;
/// Text of fewer letters and digits than this counts as none (a scan with a stray page number).
const MIN_TEXT_CHARS: usize = 20;
/// Pages whose text is extracted between two looks at the clock.
const TEXT_PAGES_PER_CHECK: usize = 32;
/// How long parsing one received PDF may take by default (`MMR_RECEIVED_PDF_SECONDS`).
pub const DEFAULT_RECEIVED_PDF_BUDGET: Duration = Duration::from_secs(5);

/// What inspecting an acceptable PDF found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPdf {
    pub pages: usize,
    /// The text of its pages, for the search; empty when it has none.
    pub text: String,
    /// Why there is no (or not all) text to search, when there is not.
    pub text_note: Option<String>,
}

/// Checks a received PDF and extracts its text within `budget`; `Err` says in one line why it is
/// refused (a PDF whose parsing takes longer is refused once the budget is spent).
pub fn inspect_received(bytes: &[u8], budget: Duration) -> Result<ReceivedPdf, String> {
    if bytes.len() > MAX_RECEIVED_PDF_BYTES {
        return Err(format!(
            "is {} bytes, over the limit of {} MiB for a received PDF",
            bytes.len(),
            MAX_RECEIVED_PDF_BYTES >> 20
        ));
    }
    let clock = Clock { deadline: Instant::now() + budget, stop: Arc::new(AtomicBool::new(false)) };
    let over = || {
        format!(
            "takes more than {} to parse, the time budget of a received PDF (MMR_RECEIVED_PDF_SECONDS)",
            seconds(budget)
        )
    };
    let (sender, receiver) = mpsc::sync_channel(1);
    let (owned, worker_clock) = (bytes.to_vec(), clock.clone());
    std::thread::Builder::new()
        .name("received-pdf".into())
        .spawn(move || {
            let found = inspect(&owned, &worker_clock);
            // The caller may have stopped waiting; then nobody needs the answer.
            let _ = sender.send(found);
        })
        .map_err(|e| format!("cannot be inspected now ({e})"))?;
    match receiver.recv_timeout(budget) {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(Refusal::Reason(why))) => Err(why),
        Ok(Err(Refusal::OverBudget)) | Err(mpsc::RecvTimeoutError::Timeout) => {
            clock.stop.store(true, Ordering::Relaxed);
            Err(over())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("cannot be read as a PDF (the reader gave up on it)".into()),
    }
}

/// `5 s`, `0.25 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// When the inspection must end, and the caller's word that it stopped waiting.
#[derive(Clone)]
struct Clock {
    deadline: Instant,
    stop: Arc<AtomicBool>,
}

impl Clock {
    fn check(&self) -> Result<(), Refusal> {
        if self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            Err(Refusal::OverBudget)
        } else {
            Ok(())
        }
    }
}

/// Why [`inspect`] refused a PDF.
enum Refusal {
    Reason(String),
    OverBudget,
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Self::Reason(why)
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Self {
        Self::Reason(why.to_owned())
    }
}

/// The inspection itself, on the worker thread, checking `clock` between stages and pages.
/// The size is the caller's to check, before the bytes are copied for it.
fn inspect(bytes: &[u8], clock: &Clock) -> Result<ReceivedPdf, Refusal> {
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_none() {
        return Err("is not a PDF (no %PDF- header)".into());
    }
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if find(tail, b"%%EOF").is_none() {
        return Err("is truncated (no %%EOF at its end)".into());
    }
    if count(bytes, b" obj") > MAX_RECEIVED_PDF_OBJECTS {
        return Err(format!("holds more than {MAX_RECEIVED_PDF_OBJECTS} objects").into());
    }
    if find(bytes, b"/Encrypt").is_some() {
        return Err("is encrypted".into());
    }
    let options = LoadOptions { max_decompressed_size: Some(MAX_DECOMPRESSED), ..LoadOptions::default() };
    let doc = match catch_unwind(AssertUnwindSafe(|| Document::load_mem_with_options(bytes, options))) {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => return Err(format!("cannot be read as a PDF ({e})").into()),
        Err(_) => return Err("cannot be read as a PDF (the reader gave up on it)".into()),
    };
    clock.check()?;
    if doc.is_encrypted() {
        return Err("is encrypted".into());
    }
    if doc.objects.len() > MAX_RECEIVED_PDF_OBJECTS {
        return Err(format!("holds more than {MAX_RECEIVED_PDF_OBJECTS} objects").into());
    }
    if let Some(what) = doc.objects.values().find_map(active_content) {
        return Err(format!("carries {what}, which the archive never serves").into());
    }
    clock.check()?;
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    if pages.is_empty() {
        return Err("has no pages".into());
    }
    let searched: Vec<u32> = pages.iter().copied().take(MAX_TEXT_PAGES as usize).collect();
    let mut chunks = Vec::new();
    // A few pages at a time: each call walks the page tree again, so one page a call would cost
    // the square of the pages.
    for pages in searched.chunks(TEXT_PAGES_PER_CHECK) {
        clock.check()?;
        let text = catch_unwind(AssertUnwindSafe(|| {
            doc.extract_text_chunks_with_limit(pages, MAX_DECOMPRESSED)
                .into_iter()
                .filter_map(Result::ok)
                .collect::<Vec<String>>()
        }));
        chunks.extend(text.unwrap_or_default());
    }
    let extracted = chunks.join("\n");
    let text = clean(&extracted);
    let letters = text.chars().filter(|c| c.is_alphanumeric()).count();
    let text_note = if letters < MIN_TEXT_CHARS {
        Some(
            "no extractable text (a scanned document?): it is archived and served, but only its \
             metadata can be searched"
                .to_owned(),
        )
    } else if pages.len() > searched.len() {
        Some(format!("the text of the first {MAX_TEXT_PAGES} of {} pages is searchable", pages.len()))
    } else {
        None
    };
    Ok(ReceivedPdf { pages: pages.len(), text: if letters < MIN_TEXT_CHARS { String::new() } else { text }, text_note })
}

/// What active content an object carries, if any, in any dictionary nested in it: scripts,
/// launch and form actions, embedded files. Walks with its own stack, so nesting costs no
/// recursion.
fn active_content(object: &Object) -> Option<&'static str> {
    let mut stack = vec![object];
    while let Some(object) = stack.pop() {
        let dict = match object {
            Object::Dictionary(d) => d,
            Object::Stream(s) => &s.dict,
            Object::Array(items) => {
                stack.extend(items.iter());
                continue;
            }
            _ => continue,
        };
        if dict.has(b"JS") || dict.has(b"JavaScript") {
            return Some("JavaScript");
        }
        if dict.has(b"EmbeddedFiles") || dict.has_type(b"EmbeddedFile") || dict.has_type(b"Filespec") {
            return Some("an embedded file");
        }
        match dict.get(b"S").and_then(Object::as_name) {
            Ok(b"JavaScript") => return Some("JavaScript"),
            Ok(b"Launch") => return Some("a launch action"),
            Ok(b"ImportData" | b"SubmitForm") => return Some("a form action"),
            _ => {}
        }
        stack.extend(dict.iter().map(|(_, v)| v));
    }
    None
}

/// Keeps the text the search can use: no control characters but line breaks and tabs, no
/// runs of blank lines.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line: String = line.chars().filter(|c| !c.is_control() || *c == '\t').collect();
        let line = line.trim();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page PDF with `text` in Helvetica and `extra` in its catalogue.
    pub(crate) fn simple_pdf(text: &str, extra: &str) -> Vec<u8> {
        pages_pdf(1, &format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET"), extra)
    }

    /// A PDF of `pages` pages that all draw the one content stream `content`, with `extra` in
    /// its catalogue.
    fn pages_pdf(pages: usize, content: &str, extra: &str) -> Vec<u8> {
        let (content_id, font_id) = (3 + pages, 4 + pages);
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 3 + i)).collect();
        let mut objects = vec![
            format!("<< /Type /Catalog /Pages 2 0 R {extra} >>"),
            format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")),
        ];
        objects.extend((0..pages).map(|_| {
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R \
                 /Resources << /Font << /F1 {font_id} 0 R >> >> >>"
            )
        }));
        objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
        objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned());
        let mut pdf = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
        }
        let xref = pdf.len();
        pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
        for o in offsets {
            pdf.extend(format!("{o:010} 00000 n \n").bytes());
        }
        pdf.extend(
            format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).bytes(),
        );
        pdf
    }

    fn inspect_received_now(bytes: &[u8]) -> Result<ReceivedPdf, String> {
        inspect_received(bytes, DEFAULT_RECEIVED_PDF_BUDGET)
    }

    #[test]
    fn text_is_extracted() {
        let r = inspect_received_now(&simple_pdf("Demonstration legacy report of Ostersund gastronomy", "")).unwrap();
        assert_eq!(r.pages, 1);
        assert!(r.text.contains("Ostersund"), "{r:?}");
        assert_eq!(r.text_note, None);
    }

    #[test]
    fn a_page_without_text_is_noted() {
        let r = inspect_received_now(&simple_pdf("12", "")).unwrap();
        assert!(r.text.is_empty());
        assert!(r.text_note.unwrap().contains("no extractable text"));
    }

    #[test]
    fn bad_pdfs_are_refused_with_a_reason() {
        let good = simple_pdf("Some words of a report that is long enough", "");
        let refused = |bytes: &[u8]| inspect_received(bytes, DEFAULT_RECEIVED_PDF_BUDGET).unwrap_err();
        assert!(refused(b"hello").contains("not a PDF"));
        assert!(refused(&good[..good.len() / 2]).contains("truncated"));
        let js = simple_pdf("x", "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>");
        assert!(refused(&js).contains("JavaScript"));
        let escaped = simple_pdf("x", "/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>");
        assert!(refused(&escaped).contains("JavaScript"), "{}", refused(&escaped));
        let embedded = simple_pdf("x", "/Names << /EmbeddedFiles << /Names [] >> >>");
        assert!(refused(&embedded).contains("embedded file"));
        let encrypted = simple_pdf("x", "/Encrypt << /Filter /Standard >>");
        assert!(refused(&encrypted).contains("encrypted"));
        let mut many = b"%PDF-1.4\n".to_vec();
        many.extend(b"1 0 obj null endobj\n".repeat(MAX_RECEIVED_PDF_OBJECTS + 1));
        many.extend(b"%%EOF\n");
        assert!(refused(&many).contains("objects"));
    }

    /// A small file that costs much: a thousand pages drawing one content stream of 20,000
    /// text operators each (400 KB on disk, 20 million operators to parse for the text).
    #[test]
    fn a_pdf_over_the_time_budget_is_refused_in_bounded_time() {
        let content = format!("BT /F1 12 Tf 72 720 Td {} ET", "(legacy) Tj ".repeat(20_000));
        let costly = pages_pdf(1_000, &content, "");
        assert!(costly.len() < 500_000, "{} bytes", costly.len());
        let budget = Duration::from_millis(300);
        let started = Instant::now();
        let refused = inspect_received(&costly, budget).unwrap_err();
        let took = started.elapsed();
        assert!(refused.contains("takes more than 0.3 s to parse"), "{refused}");
        assert!(refused.contains("MMR_RECEIVED_PDF_SECONDS"), "{refused}");
        assert!(took < Duration::from_secs(2), "refused after {took:?}");
        // Pages with little to draw fit easily.
        let light = pages_pdf(300, "BT /F1 12 Tf 72 720 Td (A legacy report page) Tj ET", "");
        let found = inspect_received(&light, DEFAULT_RECEIVED_PDF_BUDGET).unwrap();
        assert_eq!(found.pages, 300);
    }
}
