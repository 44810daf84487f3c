//! Histogram panels side by side.

use super::axes::Axes;
use super::canvas::{Anchor, Canvas};
use super::legend::legend;
use super::style::{CHART_SIZE, DASHED, Dash};
use super::text::title;

/// One panel of [`histogram_panels`]: bins over [min, max], one or more overlaid series.
pub struct HistogramPanel {
    /// Panel title.
    pub title: String,
    /// Left edge of the first bin.
    pub min: f64,
    /// Right edge of the last bin.
    pub max: f64,
    /// (name, colour, counts); all of the same length.
    pub series: Vec<(String, &'static str, Vec<u32>)>,
}

/// Histograms side by side (e.g. one per weight matrix), counts on y.
pub fn histogram_panels(title_text: &str, x_label: &str, panels: &[HistogramPanel]) -> String {
    let per = 360.0;
    let w = (per * panels.len().max(1) as f64).max(CHART_SIZE.0);
    let h = CHART_SIZE.1;
    let mut c = Canvas::new(w, h);
    title(&mut c, w, title_text);
    let pw = w / panels.len().max(1) as f64;
    for (pi, p) in panels.iter().enumerate() {
        let left = pi as f64 * pw;
        let max_count = p
            .series
            .iter()
            .flat_map(|s| s.2.iter())
            .copied()
            .max()
            .unwrap_or(1)
            .max(1);
        let axes = Axes {
            area: (left + 85.0, 70.0, left + pw - 20.0, h - 70.0),
            x: (p.min, p.max.max(p.min + 1e-12)),
            y: (0.0, f64::from(max_count) * 1.08),
        };
        c.text(
            (axes.area.0 + axes.area.2) / 2.0,
            60.0,
            &p.title,
            15.0,
            Anchor::Middle,
            0.0,
        );
        axes.draw(&mut c, x_label, "count", true);
        for (name_i, (_, colour, counts)) in p.series.iter().enumerate() {
            let bins = counts.len().max(1) as f64;
            let bw = (axes.x.1 - axes.x.0) / bins;
            let mut outline = Vec::new();
            for (i, &n) in counts.iter().enumerate() {
                let x0 = axes.x.0 + i as f64 * bw;
                let (px0, px1) = (axes.px(x0), axes.px(x0 + bw));
                let py = axes.py(f64::from(n));
                outline.push((px0, py));
                outline.push((px1, py));
                if name_i == 0 || p.series.len() == 1 {
                    let fill = format!("{colour}55");
                    c.rect(px0, py, px1 - px0, axes.py(0.0) - py, &fill, None);
                }
            }
            c.polyline(&outline, colour, 2.0, (name_i > 0).then_some("6 3"));
        }
        if p.series.len() > 1 {
            let entries: Vec<(&str, &str, Dash)> = p
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.0.as_str(), s.1, (i > 0).then_some(DASHED)))
                .collect();
            legend(&mut c, axes.area, &entries);
        }
    }
    c.finish()
}
