//! Fuzz the renderer with arbitrary bytes as the report and the action plan: it
//! must return Ok or a RenderError, never panic, hang or exhaust memory.
//!
//! Run from `fuzz/`: `RUSTC_BOOTSTRAP=1 cargo fuzz run render -- -max_total_time=600`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mmr::render::{render, DocumentMeta, Limits, RenderRequest, Template};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first NUL, if any, separates the report from the action plan.
    let (report, plan) = match text.split_once('\0') {
        Some((r, p)) => (r, Some(p)),
        None => (&*text, None),
    };
    let template = Template::builtin();
    let meta = DocumentMeta::for_city("Fuzz");
    let limits = Limits { max_pages: 300, ..Limits::default() };
    let _ = render(&RenderRequest {
        report_markdown: report,
        action_plan_markdown: plan,
        attachments: &[],
        meta: &meta,
        template: &template,
        limits: &limits,
    });
});
