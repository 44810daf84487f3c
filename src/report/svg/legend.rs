//! Legend boxes: laid out to fit, placed in the corner the lines cover least.

use super::canvas::{Anchor, Canvas};
use super::style::Dash;
use super::text::wrap_words;

/// Legend text size, and the width of one of its characters (DejaVu Sans at 14 px).
const LEGEND_SIZE: f64 = 14.0;
const LEGEND_CHAR: f64 = 8.2;

/// Size of the legend box for `entries` (each name on one line).
fn legend_size(entries: &[(&str, &str, Dash)]) -> (f64, f64) {
    let longest = entries
        .iter()
        .map(|e| e.0.chars().count())
        .max()
        .unwrap_or(0) as f64;
    (
        44.0 + longest * LEGEND_CHAR,
        10.0 + 22.0 * entries.len() as f64,
    )
}

/// A legend laid out to fit a width: each entry's name wrapped onto lines.
pub(super) struct LegendLayout<'a> {
    /// (lines of the name, colour, dashed) per entry.
    pub(super) entries: Vec<(Vec<String>, &'a str, Dash)>,
    /// Width and height of the box.
    pub(super) size: (f64, f64),
}

/// Height of a legend entry's first line, and of each further line of a wrapped name.
const LEGEND_ROW: f64 = 22.0;
const LEGEND_WRAP_ROW: f64 = 17.0;

/// `entries` laid out in a box at most `max_width` wide: long names wrap onto up to three
/// lines, and are cut with "…" beyond that.
pub(super) fn legend_layout<'a>(
    entries: &[(&str, &'a str, Dash)],
    max_width: f64,
) -> LegendLayout<'a> {
    let chars = ((max_width - 44.0) / LEGEND_CHAR).floor().max(8.0) as usize;
    let entries: Vec<(Vec<String>, &str, Dash)> = entries
        .iter()
        .map(|&(name, colour, dashed)| (wrap_words(name, chars, 3), colour, dashed))
        .collect();
    let longest = entries
        .iter()
        .flat_map(|(lines, _, _)| lines.iter().map(|l| l.chars().count()))
        .max()
        .unwrap_or(0) as f64;
    let height = 10.0
        + entries
            .iter()
            .map(|(lines, _, _)| LEGEND_ROW + LEGEND_WRAP_ROW * (lines.len() as f64 - 1.0))
            .sum::<f64>();
    LegendLayout {
        entries,
        size: (44.0 + longest * LEGEND_CHAR, height),
    }
}

/// Draws a laid-out legend with its top-left corner at `at`.
pub(super) fn legend_box(c: &mut Canvas, at: (f64, f64), legend: &LegendLayout<'_>) {
    if legend.entries.is_empty() {
        return;
    }
    let (x, mut y) = at;
    c.rect(
        x,
        y,
        legend.size.0,
        legend.size.1,
        "#ffffff",
        Some("#999999"),
    );
    y += 18.0;
    for (lines, colour, dashed) in &legend.entries {
        let dash = *dashed;
        c.line((x + 8.0, y - 5.0), (x + 34.0, y - 5.0), colour, 2.5, dash);
        for (i, line) in lines.iter().enumerate() {
            c.text(
                x + 40.0,
                y + LEGEND_WRAP_ROW * i as f64,
                line,
                LEGEND_SIZE,
                Anchor::Start,
                0.0,
            );
        }
        y += LEGEND_ROW + LEGEND_WRAP_ROW * (lines.len() as f64 - 1.0);
    }
}

/// A legend box in the top-right corner of `area`: (name, colour, dashed).
pub(super) fn legend(c: &mut Canvas, area: (f64, f64, f64, f64), entries: &[(&str, &str, Dash)]) {
    let (w, _) = legend_size(entries);
    legend_at(c, (area.2 - w - 10.0, area.1 + 10.0), entries);
}

/// The corner of `area` where a legend box of `size` covers least of `lines` (canvas
/// units).
pub(super) fn emptiest_corner(
    area: (f64, f64, f64, f64),
    size: (f64, f64),
    lines: &[Vec<(f64, f64)>],
) -> ((f64, f64), usize) {
    let (l, t, r, b) = area;
    let (w, h) = size;
    let corners = [
        (r - w - 10.0, t + 10.0),
        (r - w - 10.0, b - h - 10.0),
        (l + 10.0, t + 10.0),
        (l + 10.0, b - h - 10.0),
    ];
    let covered = |&(x, y): &(f64, f64)| {
        let inside = |p: (f64, f64)| {
            p.0 >= x - 5.0 && p.0 <= x + w + 5.0 && p.1 >= y - 5.0 && p.1 <= y + h + 5.0
        };
        // Points along each segment, so a line crossing the box counts.
        lines
            .iter()
            .flat_map(|points| points.windows(2))
            .flat_map(|s| {
                (0..16).map(move |i| {
                    let f = f64::from(i) / 16.0;
                    (
                        s[0].0 + f * (s[1].0 - s[0].0),
                        s[0].1 + f * (s[1].1 - s[0].1),
                    )
                })
            })
            .chain(lines.iter().filter_map(|p| p.last().copied()))
            .filter(|&p| inside(p))
            .count()
    };
    corners
        .iter()
        .map(|c| (*c, covered(c)))
        .min_by_key(|(_, n)| *n)
        .unwrap_or((corners[0], 0))
}

/// A legend box with its top-left corner at `at`: (name, colour, dashed).
fn legend_at(c: &mut Canvas, at: (f64, f64), entries: &[(&str, &str, Dash)]) {
    if entries.is_empty() {
        return;
    }
    let (w, h) = legend_size(entries);
    let (x, y) = at;
    c.rect(x, y, w, h, "#ffffff", Some("#999999"));
    for (i, (name, colour, dashed)) in entries.iter().enumerate() {
        let yy = y + 18.0 + 22.0 * i as f64;
        let dash = *dashed;
        c.line((x + 8.0, yy - 5.0), (x + 34.0, yy - 5.0), colour, 2.5, dash);
        c.text(x + 40.0, yy, name, 14.0, Anchor::Start, 0.0);
    }
}
