//! Line charts, optionally with marker lines.

use super::axes::{Axes, padded_range};
use super::canvas::{Anchor, Canvas};
use super::legend::{emptiest_corner, legend_box, legend_layout};
use super::markers::{MARKER_CHAR, MARKER_SIZE, marker_labels};
use super::style::{CHART_SIZE, Dash};
use super::text::{title, title_layout};

/// One line of a line chart.
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Stroke colour.
    pub colour: &'static str,
    /// Its dash pattern (`None`: solid), e.g. the training-set curve dashed beside the
    /// validation one, or an overlay's runs told apart by dash as well as colour.
    pub dash: Dash,
}

/// A line chart of `series`.
pub fn line_chart(title_text: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    line_chart_marked(title_text, x_label, y_label, series, &[])
}

/// A line chart with a thin dashed vertical line at each marker's x, labelled with its text
/// at the top of the plot (a setting changed while the run trained).
pub fn line_chart_marked(
    title_text: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    markers: &[(f64, String)],
) -> String {
    let (w, h) = CHART_SIZE;
    let (title_lines, _) = title_layout(w, title_text);
    let title_extra = if title_lines.len() > 1 { 14.0 } else { 0.0 };
    let all = || series.iter().flat_map(|s| s.points.iter());
    let area = (90.0, 50.0 + title_extra, w - 25.0, h - 70.0);
    let (l, top, r, bottom) = area;
    let mut axes = Axes {
        area,
        x: padded_range(all().map(|p| p.0), false),
        y: padded_range(all().map(|p| p.1), false),
    };
    let shown: Vec<(f64, &str)> = markers
        .iter()
        .filter(|(x, _)| (axes.x.0..=axes.x.1).contains(x))
        .map(|(x, text)| (axes.px(*x), text.as_str()))
        .collect();
    let labels = marker_labels(&shown, l, r);
    let label_y = |row: usize| top + 16.0 + 16.0 * row as f64;
    // Headroom above the data for the marker labels' rows, so they do not print over the
    // curves.
    if let Some(rows) = labels.iter().map(|l| l.1 + 1).max() {
        let room = (16.0 * rows as f64 + 8.0).min((bottom - top) * 0.4);
        let (lo, hi) = axes.y;
        axes.y.1 = hi + (hi - lo) * room / (bottom - top - room);
    }
    let mut drawn: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .map(|&(x, y)| (axes.px(x), axes.py(y)))
                .collect()
        })
        .collect();
    // The legend keeps clear of the marker labels as of the curves.
    for (x, row, anchor, text) in &labels {
        let width = text.chars().count() as f64 * MARKER_CHAR;
        let x0 = if matches!(anchor, Anchor::End) {
            x - width
        } else {
            *x
        };
        let y = label_y(*row) - 5.0;
        drawn.push(vec![(x0, y), (x0 + width, y)]);
    }
    let entries: Vec<(&str, &str, Dash)> = series
        .iter()
        .map(|s| (s.name.as_str(), s.colour, s.dash))
        .collect();
    let (area_w, area_h) = (r - l, bottom - top);
    let inside = legend_layout(&entries, area_w - 20.0);
    let (corner, covered) = emptiest_corner(area, inside.size, &drawn);
    let (bw, bh) = inside.size;
    // A box too big for any corner goes under the plot, and the figure grows to hold it.
    let too_big = bw * bh > 0.2 * area_w * area_h
        || (covered > 0 && (bw > 0.45 * area_w || bh > 0.35 * area_h));
    let (legend, at, height) = if too_big {
        let below = legend_layout(&entries, w - 20.0);
        let x = ((w - below.size.0) / 2.0).max(10.0);
        let y = bottom + 60.0;
        let height = y + below.size.1 + 12.0;
        (below, (x, y), height)
    } else {
        (inside, corner, h)
    };
    let mut c = Canvas::new(w, height);
    title(&mut c, w, title_text);
    axes.draw(&mut c, x_label, y_label, true);
    for &(px, _) in &shown {
        c.line((px, top), (px, bottom), "#555555", 1.2, Some("4 3"));
    }
    for (s, pts) in series.iter().zip(&drawn) {
        c.polyline(pts, s.colour, 2.5, s.dash);
    }
    // Labels over the curves, so that they stay readable.
    for (x, row, anchor, text) in labels {
        c.text(x, label_y(row), &text, MARKER_SIZE, anchor, 0.0);
    }
    legend_box(&mut c, at, &legend);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::svg::style::PALETTE;

    /// (x, y, width, height) of the first `<rect>` drawn with `stroke`.
    fn rect_with(svg: &str, stroke: &str) -> Option<(f64, f64, f64, f64)> {
        let line = svg
            .lines()
            .find(|l| l.starts_with("<rect") && l.contains(&format!(r#"stroke="{stroke}""#)))?;
        let attr = |name: &str| -> Option<f64> {
            let start = line.find(&format!(r#" {name}=""#))? + name.len() + 3;
            line[start..].split('"').next()?.parse().ok()
        };
        Some((attr("x")?, attr("y")?, attr("width")?, attr("height")?))
    }

    /// (width, height) of an SVG document.
    fn svg_size(svg: &str) -> (f64, f64) {
        let line = svg.lines().next().unwrap_or_default();
        let get = |name: &str| -> f64 {
            line.split(&format!(r#" {name}=""#))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        (get("width"), get("height"))
    }

    fn rising(name: &str, colour: &'static str, lift: f64) -> Series {
        Series {
            name: name.to_string(),
            points: (1..=40)
                .map(|i| {
                    (
                        f64::from(i),
                        lift + 0.4 * (1.0 - (-f64::from(i) / 5.0).exp()),
                    )
                })
                .collect(),
            colour,
            dash: None,
        }
    }

    #[test]
    fn a_long_legend_stays_inside_the_figure() {
        let long = "split All training images, epochs 12, batch size 100, η cyclic 1e-5…0.1, \
                    λ 0.005, loss Softmax cross-entropy, η schedule Cyclic (triangular), \
                    half-cycle (steps) 980, weight init Xavier (σ = 1/√inputs), hidden layers 50";
        let other = "split All training images, epochs 400, batch size 100, η 0.001, λ 0.1, \
                     loss Binary cross-entropy (sigmoid)";
        let svg = line_chart(
            "Validation accuracy",
            "epoch",
            "fraction correct",
            &[
                rising(long, PALETTE[0], 0.1),
                rising(other, PALETTE[1], 0.3),
            ],
        );
        let (w, h) = svg_size(&svg);
        let (x, y, bw, bh) = rect_with(&svg, "#999999").expect("a legend box");
        assert!(
            x >= 0.0 && x + bw <= w,
            "legend {x}..{} in a figure {w} wide",
            x + bw
        );
        assert!(
            y >= 0.0 && y + bh <= h,
            "legend {y}..{} in a figure {h} high",
            y + bh
        );
        // Too big for a corner: under the plot area, in a taller figure.
        assert!(h > CHART_SIZE.1 && y > CHART_SIZE.1 - 70.0, "{h} {y}");
        // A short legend stays in a corner of the usual figure.
        let svg = line_chart(
            "Accuracy",
            "epoch",
            "fraction correct",
            &[
                rising("training", PALETTE[0], 0.1),
                rising("validation", PALETTE[1], 0.0),
            ],
        );
        assert_eq!(svg_size(&svg), CHART_SIZE);
        let (x, _, bw, _) = rect_with(&svg, "#999999").unwrap();
        assert!(x + bw <= CHART_SIZE.0 - 25.0);
    }
}
