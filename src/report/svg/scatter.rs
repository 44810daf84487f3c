//! Scatter plots of labelled groups of points.

use super::axes::{Axes, padded_range};
use super::canvas::{Anchor, Canvas};
use super::style::CHART_SIZE;
use super::text::{text_width, title};

/// Points of one class in a scatter plot: (name, colour, points).
pub type ScatterGroup = (String, &'static str, Vec<(f64, f64)>);

/// A scatter plot of labelled groups of points (e.g. an embedding coloured by class).
pub fn scatter_chart(
    title_text: &str,
    x_label: &str,
    y_label: &str,
    groups: &[ScatterGroup],
) -> String {
    let (w, h) = CHART_SIZE;
    let legend_w = 40.0
        + groups
            .iter()
            .map(|g| text_width(&g.0, 14.0))
            .fold(0.0, f64::max);
    let mut c = Canvas::new(w + legend_w, h);
    title(&mut c, w + legend_w, title_text);
    let all = || groups.iter().flat_map(|g| g.2.iter());
    let axes = Axes {
        area: (90.0, 50.0, w - 25.0, h - 70.0),
        x: padded_range(all().map(|p| p.0), false),
        y: padded_range(all().map(|p| p.1), false),
    };
    axes.draw(&mut c, x_label, y_label, true);
    for (_, colour, points) in groups {
        for &(x, y) in points {
            if x.is_finite() && y.is_finite() {
                crate::format::putln!(
                    c.body,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="2.6" fill="{colour}" fill-opacity="0.75"/>"#,
                    axes.px(x),
                    axes.py(y)
                );
            }
        }
    }
    for (i, (name, colour, _)) in groups.iter().enumerate() {
        let y = 70.0 + 22.0 * i as f64;
        crate::format::putln!(
            c.body,
            r#"<circle cx="{:.2}" cy="{:.2}" r="5" fill="{colour}"/>"#,
            w - 5.0,
            y - 5.0
        );
        c.text(w + 6.0, y, name, 14.0, Anchor::Start, 0.0);
    }
    c.finish()
}
