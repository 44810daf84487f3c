//! Labels of marker lines (a setting changed while the run trained), kept inside the plot
//! and apart from each other.

use super::canvas::Anchor;
use super::text::ellipsize;

/// Marker label text size, the width of one of its characters, and the longest label
/// printed (the full text is in the figure's CSV and the window's read-out).
pub(super) const MARKER_SIZE: f64 = 13.0;
pub(super) const MARKER_CHAR: f64 = 7.4;
const MARKER_CHARS: usize = 26;

/// Where each marker's label goes on a plot spanning `left..right` (canvas x): (x, row 0–2,
/// anchor, text). A label starts right of its line, or ends left of it when it would run
/// past the right edge; labels step down over three rows so that near ones do not print
/// over each other, and long ones are cut with "…".
pub fn marker_labels(
    lines: &[(f64, &str)],
    left: f64,
    right: f64,
) -> Vec<(f64, usize, Anchor, String)> {
    let mut rows: [Vec<(f64, f64)>; 3] = Default::default();
    lines
        .iter()
        .map(|&(px, text)| {
            let text = ellipsize(text, MARKER_CHARS);
            let width = text.chars().count() as f64 * MARKER_CHAR;
            let (x, anchor, x0) = if px + 4.0 + width <= right - 2.0 {
                (px + 4.0, Anchor::Start, px + 4.0)
            } else if px - 4.0 - width >= left + 2.0 {
                (px - 4.0, Anchor::End, px - 4.0 - width)
            } else {
                // Wider than either side: as far left as the plot allows.
                (left + 2.0, Anchor::Start, left + 2.0)
            };
            let span = (x0 - 6.0, x0 + width + 6.0);
            let overlaps =
                |row: &Vec<(f64, f64)>| row.iter().filter(|s| s.0 < span.1 && span.0 < s.1).count();
            let row = (0..3).min_by_key(|&r| (overlaps(&rows[r]), r)).unwrap_or(0);
            rows[row].push(span);
            (x, row, anchor, text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_labels_stay_inside_the_plot_and_apart() {
        let (left, right) = (90.0, 695.0);
        let text = "η 0.001 → 0.05, λ 0.1 → 0.01, batch size 100 → 50";
        let labels = marker_labels(
            &[
                (300.0, text),
                (305.0, "λ 0.1 → 0"),
                (310.0, "η 0.01"),
                (690.0, "η 0.05 → 0.1"),
            ],
            left,
            right,
        );
        for (x, _, anchor, text) in &labels {
            let width = text.chars().count() as f64 * MARKER_CHAR;
            let (x0, x1) = match anchor {
                Anchor::End => (x - width, *x),
                _ => (*x, x + width),
            };
            assert!(x0 >= left && x1 <= right, "{text:?} at {x0}..{x1}");
        }
        // A long label is shortened; near ones go on different rows.
        assert!(labels[0].3.ends_with('…') && labels[0].3.chars().count() <= MARKER_CHARS);
        let rows: Vec<usize> = labels.iter().map(|l| l.1).collect();
        assert_eq!(&rows[..3], &[0, 1, 2]);
        // The one near the right edge ends left of its line.
        assert_eq!(labels[3].2, Anchor::End);
    }
}
