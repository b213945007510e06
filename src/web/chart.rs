//! Bar charts drawn on the server as SVG (no script, no inline style: colours are presentation
//! attributes), each shown with a table beside it that says the same to those who cannot see
//! it: the home page's reports published per year, the desk's dashboard.

use std::fmt::Write;

/// Eight distinguishable colours, dark enough for white gaps and readable on white (one per
/// field, in the registry's order; more fields repeat them).
const COLOURS: [&str; 8] = ["#1f5f99", "#c2571a", "#2e7d32", "#8e3a8e", "#a8860b", "#00796b", "#b0233b", "#5d4037"];

/// The colour of the `i`-th series.
pub fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

const WIDTH: f64 = 640.0;
const LEFT: f64 = 40.0;
const TOP: f64 = 12.0;
const PLOT_H: f64 = 220.0;

/// A stacked bar chart of `rows` (`(label, counts per series)`) as an SVG element with id `id`,
/// labelled by `title` (and described by the element with id `described_by`).
pub fn stacked_bars(rows: &[(String, Vec<usize>)], title: &str, id: &str, described_by: &str) -> String {
    let max = rows.iter().map(|(_, c)| c.iter().sum::<usize>()).max().unwrap_or(0).max(1);
    let step = nice_step(max);
    let ceiling = max.div_ceil(step) * step;
    let mut svg = Frame::new(rows.iter().map(|(l, _)| l.as_str()), title, id, described_by);
    let mut tick = 0;
    while tick <= ceiling {
        svg.tick(tick as f64 / ceiling as f64, &tick.to_string());
        tick += step;
    }
    for (i, (_, counts)) in rows.iter().enumerate() {
        let mut bottom = 0.0;
        for (series, &n) in counts.iter().enumerate() {
            if n > 0 {
                let share = n as f64 / ceiling as f64;
                svg.bar(i, 0.0, 1.0, bottom, share, colour(series));
                bottom += share;
            }
        }
    }
    svg.finish()
}

/// A bar per series side by side in each row of `rows` (`(label, shares per series)`, each
/// share from 0 to 1, `None` where there is nothing to show), on a percent axis.
pub fn grouped_bars(rows: &[(String, Vec<Option<f64>>)], title: &str, id: &str, described_by: &str) -> String {
    let mut svg = Frame::new(rows.iter().map(|(l, _)| l.as_str()), title, id, described_by);
    for percent in (0..=100).step_by(25) {
        svg.tick(f64::from(percent) / 100.0, &format!("{percent}%"));
    }
    for (i, (_, shares)) in rows.iter().enumerate() {
        let width = 1.0 / shares.len().max(1) as f64;
        for (series, share) in shares.iter().enumerate() {
            if let Some(share) = share {
                svg.bar(i, series as f64 * width, width, 0.0, share.clamp(0.0, 1.0), colour(series));
            }
        }
    }
    svg.finish()
}

/// An SVG chart being drawn: the frame, the value axis's lines, bars in slots, the labels.
struct Frame {
    svg: String,
    slot: f64,
    bar: f64,
    /// Labels turned when they would not fit their slot.
    turned: bool,
}

impl Frame {
    fn new<'a>(labels: impl ExactSizeIterator<Item = &'a str>, title: &str, id: &str, described_by: &str) -> Self {
        let labels: Vec<&str> = labels.collect();
        let slot = (WIDTH - LEFT - 8.0) / labels.len().max(1) as f64;
        let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
        let turned = longest * 6.0 > slot;
        let bottom = if turned { 16.0 + longest * 4.5 } else { 28.0 };
        let height = TOP + PLOT_H + bottom;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" id="{id}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-labelledby="{id}-title" aria-describedby="{described_by}" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
            escape(title)
        );
        let mut frame = Frame { svg, slot, bar: (slot * 0.7).min(56.0), turned };
        for (i, label) in labels.iter().enumerate() {
            frame.label(i, label);
        }
        frame
    }

    /// A line of the value axis at `at` (0 to 1 of the plot's height), with its text.
    fn tick(&mut self, at: f64, text: &str) {
        let y = TOP + PLOT_H - PLOT_H * at;
        let _ = write!(
            self.svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d5d9e0" stroke-width="1"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#3d4451">{text}</text>"##,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0
        );
    }

    /// A bar in slot `i`: from `offset` across `width` of the slot's bar (both 0 to 1), from
    /// `bottom` up `height` (of the plot's height).
    fn bar(&mut self, i: usize, offset: f64, width: f64, bottom: f64, height: f64, fill: &str) {
        let x = LEFT + self.slot * i as f64 + (self.slot - self.bar) / 2.0 + self.bar * offset;
        let h = PLOT_H * height;
        let y = TOP + PLOT_H - PLOT_H * bottom - h;
        let _ = write!(
            self.svg,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{fill}" stroke="#ffffff" stroke-width="1"/>"##,
            self.bar * width
        );
    }

    fn label(&mut self, i: usize, label: &str) {
        let x = LEFT + self.slot * i as f64 + self.slot / 2.0;
        let y = TOP + PLOT_H + 16.0;
        let label = escape(label);
        if self.turned {
            let _ = write!(
                self.svg,
                r##"<text x="{x:.1}" y="{y:.1}" text-anchor="end" font-size="11" fill="#3d4451" transform="rotate(-40 {x:.1} {y:.1})">{label}</text>"##
            );
        } else {
            let _ = write!(
                self.svg,
                r##"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="11" fill="#3d4451">{label}</text>"##
            );
        }
    }

    fn finish(mut self) -> String {
        self.svg.push_str("</svg>");
        self.svg
    }
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
        let rows = [("2025".to_owned(), vec![2, 1]), ("2026".to_owned(), vec![0, 3])];
        let svg = stacked_bars(&rows, "Reports <per> year", "c", "t");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("Reports &lt;per&gt; year") && svg.contains(">2026</text>"));
        assert!(svg.contains(r#"id="c""#) && svg.contains(r#"aria-labelledby="c-title""#));
        assert!(!svg.contains("style="), "inline styles break the pages' CSP");
        assert!(stacked_bars(&[], "Empty", "c", "t").ends_with("</svg>"));
    }

    #[test]
    fn grouped_bars_show_shares_and_skip_what_is_unknown() {
        let rows =
            [("2019".to_owned(), vec![Some(0.5), None]), ("A long field name".to_owned(), vec![Some(1.0), Some(0.0)])];
        let svg = grouped_bars(&rows, "On time", "r", "t");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(">100%</text>") && svg.contains(">A long field name</text>"), "{svg}");
    }
}
