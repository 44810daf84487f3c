//! Grouped bar charts.

use super::axes::{Axes, padded_range};
use super::canvas::{Anchor, Canvas};
use super::style::CHART_SIZE;
use super::text::{text_width, title};

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
        y: y_range
            .unwrap_or_else(|| padded_range(groups.iter().flat_map(|g| g.2.iter().copied()), true)),
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
    let b = axes.area.3;
    for (i, name) in categories.iter().enumerate() {
        let x = axes.px(i as f64 + 0.5);
        c.text(x + 4.0, b + 16.0, name, 14.0, Anchor::End, -35.0);
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
