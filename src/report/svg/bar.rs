//! Grouped bar charts.

use super::axes::{Axes, padded_range};
use super::canvas::{Anchor, Canvas};
use super::style::CHART_SIZE;
use super::text::{EM_PER_CHAR, text_width, title, wrap_words};

/// Most lines of a category's name set level under its bar; a longer name is slanted.
const LABEL_LINES: usize = 4;
/// Font size of the categories' names and the bars' values.
const LABEL_SIZE: f64 = 14.0;

/// Grouped bars: one group per category, one bar per (name, colour, values) entry.
pub fn bar_chart(
    title_text: &str,
    y_label: &str,
    categories: &[String],
    groups: &[(&str, &'static str, Vec<f64>)],
    y_range: Option<(f64, f64)>,
) -> String {
    let (w, h) = CHART_SIZE;
    let mut c = Canvas::new(w, h);
    title(&mut c, w, title_text);
    // The legend goes in a row under the title, where it cannot cover a bar.
    let top = if groups.len() > 1 { 80.0 } else { 50.0 };
    let axes = Axes {
        area: (90.0, top, w - 25.0, h - 100.0),
        x: (0.0, categories.len().max(1) as f64),
        y: y_range.unwrap_or_else(|| {
            let (lo, hi) = padded_range(groups.iter().flat_map(|g| g.2.iter().copied()), true);
            // Room above the tallest bar for its value.
            let room = if groups.len() == 1 { 0.08 } else { 0.0 };
            (lo, hi + room * (hi - lo))
        }),
    };
    axes.draw(&mut c, "", y_label, false);
    let n = groups.len().max(1) as f64;
    for (gi, (_, colour, values)) in groups.iter().enumerate() {
        for (i, &v) in values.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let x0 = axes.px(i as f64 + 0.1 + 0.8 * gi as f64 / n);
            let x1 = axes.px(i as f64 + 0.1 + 0.8 * (gi as f64 + 1.0) / n);
            let base = 0f64.clamp(axes.y.0, axes.y.1);
            let (y0, y1) = (axes.py(v.clamp(axes.y.0, axes.y.1)), axes.py(base));
            c.rect(x0, y0.min(y1), x1 - x0, (y1 - y0).abs(), colour, None);
        }
    }
    // A lone series' bars carry their values, for a report's reader to quote.
    if groups.len() == 1 {
        for (i, &v) in groups[0].2.iter().enumerate() {
            if v.is_finite() {
                let top = axes.py(v.clamp(axes.y.0, axes.y.1));
                // Inside the bar's top when the frame leaves no room above it.
                let y = if top - 6.0 < axes.area.1 + LABEL_SIZE {
                    top + LABEL_SIZE + 4.0
                } else {
                    top - 6.0
                };
                let x = axes.px(i as f64 + 0.5);
                let text = crate::format::short_number(v);
                c.text(x, y, &text, LABEL_SIZE, Anchor::Middle, 0.0);
            }
        }
    }
    let b = axes.area.3;
    // Names set level under their bars, wrapped to the bar's slot, when every name fits
    // in a few lines (a run's layers, a setting and its value); else slanted, as class
    // names in a row of ten.
    let slot = (axes.px(1.0) - axes.px(0.0)) - 8.0;
    let chars = (slot / (EM_PER_CHAR * LABEL_SIZE)).floor() as usize;
    let wrapped: Vec<Vec<String>> = categories
        .iter()
        .map(|n| wrap_words(n, chars, LABEL_LINES + 1))
        .collect();
    let level = chars >= 8 && wrapped.iter().all(|w| w.len() <= LABEL_LINES);
    for (i, name) in categories.iter().enumerate() {
        let x = axes.px(i as f64 + 0.5);
        if level {
            for (l, line) in wrapped[i].iter().enumerate() {
                let y = b + 20.0 + 18.0 * l as f64;
                c.text(x, y, line, LABEL_SIZE, Anchor::Middle, 0.0);
            }
        } else {
            c.text(x + 4.0, b + 16.0, name, LABEL_SIZE, Anchor::End, -35.0);
        }
    }
    if groups.len() > 1 {
        let widths: Vec<f64> = groups
            .iter()
            .map(|g| 30.0 + text_width(g.0, 14.0))
            .collect();
        let mut x = (w - widths.iter().sum::<f64>()) / 2.0;
        for ((name, colour, _), width) in groups.iter().zip(&widths) {
            c.rect(x, 56.0, 14.0, 14.0, colour, None);
            c.text(x + 20.0, 68.0, name, 14.0, Anchor::Start, 0.0);
            x += width;
        }
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few long names (runs' layers) are set level, wrapped under their bars, with each
    /// bar's value above it; ten short ones in a row (class names) still fit, slanted if
    /// need be, and two series carry no values (they would overlap).
    #[test]
    fn long_names_wrap_under_their_bars_and_values_show() {
        let names: Vec<String> = ["patchify 2:3, dense 50", "patchify 16:160, dense 50"]
            .map(String::from)
            .to_vec();
        let svg = bar_chart(
            "t",
            "y",
            &names,
            &[("", "#000", vec![0.25, 0.5])],
            Some((0.0, 1.0)),
        );
        assert!(!svg.contains("rotate(-35"), "level names: {svg}");
        assert!(svg.contains(">patchify 16:160, dense 50<"), "{svg}");
        assert!(svg.contains(">0.25<") && svg.contains(">0.5<"), "{svg}");
        let many: Vec<String> = (0..40).map(|i| format!("parameter number {i}")).collect();
        let values = vec![1.0; 40];
        let two = [("a", "#000", values.clone()), ("b", "#111", values)];
        let svg = bar_chart("t", "y", &many, &two, None);
        assert!(svg.contains("rotate(-35"), "40 names slant");
        assert!(!svg.contains(">1<"), "no values with two series");
    }
}
