//! The home page's chart: reports published per year, stacked by creative field, drawn on the
//! server as SVG (no script, no inline style: colours are presentation attributes), with a table
//! beside it that says the same to those who cannot see it.

use std::fmt::Write;

/// Eight distinguishable colours, dark enough for white gaps and readable on white (one per
/// field, in the registry's order; more fields repeat them).
const COLOURS: [&str; 8] = ["#1f5f99", "#c2571a", "#2e7d32", "#8e3a8e", "#a8860b", "#00796b", "#b0233b", "#5d4037"];

/// The colour of the `i`-th series.
pub fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

/// A stacked bar chart of `rows` (`(year, counts per series)`) as an SVG element, labelled by
/// `title` (and described by the element with id `described_by`).
pub fn stacked_bars(rows: &[(i32, Vec<usize>)], title: &str, described_by: &str) -> String {
    let (width, height, left, bottom, top) = (640.0_f64, 260.0_f64, 36.0_f64, 28.0_f64, 12.0_f64);
    let max = rows.iter().map(|(_, c)| c.iter().sum::<usize>()).max().unwrap_or(0).max(1);
    let step = nice_step(max);
    let ceiling = max.div_ceil(step) * step;
    let plot_h = height - bottom - top;
    let plot_w = width - left - 8.0;
    let slot = plot_w / rows.len().max(1) as f64;
    let bar = (slot * 0.7).min(56.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title" aria-describedby="{described_by}" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title>"#,
        escape(title)
    );
    let mut tick = 0;
    while tick <= ceiling {
        let y = top + plot_h - plot_h * tick as f64 / ceiling as f64;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d5d9e0" stroke-width="1"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#3d4451">{tick}</text>"##,
            width - 8.0,
            left - 6.0,
            y + 4.0
        );
        tick += step;
    }
    for (i, (year, counts)) in rows.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = top + plot_h;
        for (series, &n) in counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let h = plot_h * n as f64 / ceiling as f64;
            y -= h;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}" stroke="#ffffff" stroke-width="1"/>"##,
                colour(series)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#3d4451">{year}</text>"##,
            x + bar / 2.0,
            height - bottom + 16.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A step for the value axis giving at most five lines: 1, 2, 5, 10, 20, 50, ...
fn nice_step(max: usize) -> usize {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if max.div_ceil(step * m) <= 5 {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// Text escaped for XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_and_the_axis_is_round() {
        assert_eq!(nice_step(3), 1);
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(23), 5);
        assert_eq!(nice_step(480), 100);
        let svg = stacked_bars(&[(2025, vec![2, 1]), (2026, vec![0, 3])], "Reports <per> year", "t");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("Reports &lt;per&gt; year") && svg.contains(">2026</text>"));
        assert!(!svg.contains("style="), "inline styles break the pages' CSP");
        assert!(stacked_bars(&[], "Empty", "t").ends_with("</svg>"));
    }
}
