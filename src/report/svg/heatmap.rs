//! Heatmaps with row and column labels (e.g. a confusion matrix).

use super::canvas::{Anchor, Canvas, escape};
use super::text::{text_width, title};

/// A heatmap with row and column labels, a title and a subtitle; `shade` holds rows × cols
/// values in [0, 1] for the colour, `text` what to write in each cell.
pub fn heatmap(
    title_text: &str,
    subtitle: &str,
    (row_title, col_title): (&str, &str),
    labels: &[String],
    shade: &[f64],
    text: &[String],
) -> String {
    let n = labels.len().max(1);
    let cell = (440.0 / n as f64).clamp(14.0, 52.0);
    let longest = labels
        .iter()
        .map(|l| text_width(l, 14.0))
        .fold(0.0, f64::max);
    let (l, t) = (longest + 50.0, 80.0);
    let grid = cell * n as f64;
    let below = longest * 0.71 + 60.0;
    let w = (l + grid + 30.0)
        .max(text_width(title_text, 20.0) + 40.0)
        .max(text_width(subtitle, 15.0) + 40.0);
    let h = t + grid + below;
    let mut c = Canvas::new(w, h);
    title(&mut c, w, title_text);
    c.text(w / 2.0, 54.0, subtitle, 15.0, Anchor::Middle, 0.0);
    for r in 0..n {
        for col in 0..n {
            let v = shade
                .get(r * n + col)
                .copied()
                .unwrap_or(0.0)
                .clamp(0.0, 1.0);
            // White → dark blue.
            let mix = |a: f64, b: f64| (a + (b - a) * v).round() as u8;
            let fill = format!(
                "#{:02x}{:02x}{:02x}",
                mix(255.0, 8.0),
                mix(255.0, 48.0),
                mix(255.0, 107.0)
            );
            let (x, y) = (l + col as f64 * cell, t + r as f64 * cell);
            c.rect(x, y, cell, cell, &fill, Some("#ffffff"));
            if let Some(s) = text.get(r * n + col) {
                let size = (cell * 0.32).clamp(8.0, 14.0);
                crate::format::putln!(
                    c.body,
                    r#"<text x="{:.2}" y="{:.2}" font-size="{size:.1}" text-anchor="middle" fill="{}">{}</text>"#,
                    x + cell / 2.0,
                    y + cell / 2.0 + size / 3.0,
                    if v > 0.55 { "#ffffff" } else { "#000000" },
                    escape(s)
                );
            }
        }
    }
    let b = t + grid;
    for (i, name) in labels.iter().enumerate() {
        let y = t + (i as f64 + 0.5) * cell + 5.0;
        c.text(l - 8.0, y, name, 14.0, Anchor::End, 0.0);
        let x = l + (i as f64 + 0.5) * cell;
        c.text(x + 4.0, b + 14.0, name, 14.0, Anchor::End, -45.0);
    }
    c.text(
        l + grid / 2.0,
        h - 14.0,
        col_title,
        16.0,
        Anchor::Middle,
        0.0,
    );
    c.text(20.0, t + grid / 2.0, row_title, 16.0, Anchor::Middle, -90.0);
    c.finish()
}
