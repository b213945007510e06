//! Criterion benchmark of the archival renderer on reports from
//! `shared/bench/gen_report.py` (20, 100 and 500 pages), plus a printed split of
//! the time by stage (parse, layout, PDF objects, subsetting, compression and
//! serialisation) averaged over repeated runs, and the template check on the same reports.
//!
//! Run: `cargo bench --bench render` (needs python3 and ../shared beside the repo).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use mmr::render::{
    Attachment, CheckRequest, DocumentMeta, Limits, PdfDate, RenderRequest, Status, Template, Timings, check, render,
    render_timed,
};

fn report(pages: u32) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_report.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--pages", &pages.to_string(), "--seed", "1"])
        .output()
        .unwrap_or_else(|e| panic!("python3 {} failed: {e}", script.display()));
    assert!(out.status.success(), "gen_report.py failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn meta() -> DocumentMeta {
    DocumentMeta {
        city: "Medellín".into(),
        country: "Colombia".into(),
        creative_field: "Music".into(),
        cycle: "2021–2024".into(),
        version: "v1".into(),
        submission_date: Some(PdfDate::ymd(2024, 11, 28)),
        status: Status::Submitted,
        creation_date: PdfDate::ymd(2024, 11, 28),
        ..DocumentMeta::for_city("Medellín")
    }
}

fn bench(c: &mut Criterion) {
    let template = Template::builtin();
    let limits = Limits::default();
    let meta = meta();
    let mut group = c.benchmark_group("render");
    for pages in [20u32, 100, 500] {
        let md = report(pages);
        let request = RenderRequest {
            report_markdown: &md,
            action_plan_markdown: None,
            attachments: &[],
            meta: &meta,
            template: &template,
            limits: &limits,
        };
        group.sample_size(if pages >= 500 { 10 } else { 20 });
        group.measurement_time(Duration::from_secs(if pages >= 500 { 20 } else { 8 }));
        group.throughput(Throughput::Elements(pages as u64));
        group.bench_with_input(BenchmarkId::from_parameter(pages), &request, |b, r| {
            b.iter(|| black_box(render(black_box(r)).expect("renders")))
        });
    }
    group.finish();
}

/// A 3000×2000 RGB PNG (6 megapixels) of smooth gradients with some grain, about what a
/// camera photograph converted to PNG compresses to.
fn photo_png() -> Vec<u8> {
    let (w, h) = (3000u32, 2000u32);
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    let mut grain = 0x2545_f491_u32;
    for y in 0..h {
        for x in 0..w {
            grain ^= grain << 13;
            grain ^= grain >> 17;
            grain ^= grain << 5;
            let g = (grain & 7) as u8;
            pixels.extend_from_slice(&[(x / 12) as u8 ^ g, (y / 8) as u8 ^ g, ((x + y) / 20) as u8 ^ g]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().and_then(|mut wr| wr.write_image_data(&pixels)).expect("encodes");
    out
}

/// The template check (`mmr::render::check`) that runs on every draft save and submit, on long
/// reports and on a short one carrying a 6-megapixel photograph.
fn bench_check(c: &mut Criterion) {
    let template = Template::builtin();
    let limits = Limits::default();
    let mut group = c.benchmark_group("check");
    for pages in [100u32, 500] {
        let md = report(pages);
        let request = CheckRequest {
            report_markdown: md.as_bytes(),
            action_plan_markdown: None,
            attachments: &[],
            template: &template,
            limits: &limits,
            previous_items: &[],
        };
        group.sample_size(20);
        group.throughput(Throughput::Bytes(md.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(pages), &request, |b, r| {
            b.iter(|| black_box(check(black_box(r))))
        });
    }
    let md = format!("{}\n\n![The festival](photo.png)\n", report(20));
    let attachments = [Attachment { name: "photo.png".into(), bytes: photo_png() }];
    let request = CheckRequest {
        report_markdown: md.as_bytes(),
        action_plan_markdown: None,
        attachments: &attachments,
        template: &template,
        limits: &limits,
        previous_items: &[],
    };
    assert!(check(&request).iter().all(|f| f.attachment.is_none()), "the photo is a valid image");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((md.len() + attachments[0].bytes.len()) as u64));
    group.bench_with_input(BenchmarkId::from_parameter("20-pages-6mp-png"), &request, |b, r| {
        b.iter(|| black_box(check(black_box(r))))
    });
    group.finish();
}

/// Average stage times over `runs` renderings, printed as a table.
fn split() {
    let template = Template::builtin();
    let limits = Limits::default();
    let meta = meta();
    println!("stage split (mean of runs, one thread):");
    println!("pages  pdf-pages  parse  layout  pdf-walk  printpdf  subset  compress+write  total  (ms)");
    for (pages, runs) in [(20u32, 20u32), (100, 10), (500, 4)] {
        let md = report(pages);
        let request = RenderRequest {
            report_markdown: &md,
            action_plan_markdown: None,
            attachments: &[],
            meta: &meta,
            template: &template,
            limits: &limits,
        };
        let mut sum = Timings::default();
        let mut page_count = 0;
        for _ in 0..runs {
            let (r, t) = render_timed(&request).expect("renders");
            page_count = r.page_count;
            sum.parse += t.parse;
            sum.layout += t.layout;
            sum.pdf += t.pdf;
            sum.printpdf += t.printpdf;
            sum.subset += t.subset;
            sum.compress += t.compress;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / runs as f64;
        let total = sum.parse + sum.layout + sum.pdf + sum.printpdf + sum.subset + sum.compress;
        println!(
            "{pages:>5}  {page_count:>9}  {:>5.1}  {:>6.1}  {:>8.1}  {:>8.1}  {:>6.1}  {:>14.1}  {:>5.1}",
            ms(sum.parse),
            ms(sum.layout),
            ms(sum.pdf),
            ms(sum.printpdf),
            ms(sum.subset),
            ms(sum.compress),
            ms(total)
        );
    }
}

criterion_group!(benches, bench, bench_check);

fn main() {
    split();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
