//! The class templates of several runs in one figure (the first assignment's comparison of
//! λ): one row per run, named by the settings that differ between the runs, one picture per
//! class (a linear classifier's weight rows) or per most important first-layer unit (an
//! MLP's).

use super::figures::{Figure, template_caption};
use super::svg::{self, Anchor, Canvas};
use crate::data::ImageShape;
use crate::model::Network;
use crate::model::templates::{RgbPicture, templates};

/// Most pictures in a row (all ten classes of CIFAR-10).
const MAX_PER_ROW: usize = 10;
/// Side of one picture in the figure, SVG units.
const TILE: f64 = 64.0;
/// Space between pictures.
const GAP: f64 = 8.0;

/// One row of the figure: its label and the pictures with their captions.
pub struct TemplateRow {
    /// What sets this run apart ("λ 0.1").
    pub label: String,
    /// (caption, picture) of each class or unit.
    pub pictures: Vec<(String, RgbPicture)>,
}

/// The row of one run's weights: the class templates of a linear classifier (captioned by
/// class), or the most important first-layer units of an MLP ("unit 7"); `None` when the
/// weights do not fit images of `shape`.
pub fn template_row(
    label: String,
    net: &Network<f32>,
    shape: ImageShape,
    class_names: &[String],
) -> Option<TemplateRow> {
    let pictures = templates(net, shape, MAX_PER_ROW);
    if pictures.is_empty() {
        return None;
    }
    let pictures = pictures
        .into_iter()
        .map(|(unit, p)| (template_caption(net, class_names, unit), p))
        .collect();
    Some(TemplateRow { label, pictures })
}

/// The figure of `rows`, titled `title_text`.
pub fn templates_compared(title_text: &str, rows: &[TemplateRow]) -> Figure {
    let cols = rows
        .iter()
        .map(|r| r.pictures.len())
        .max()
        .unwrap_or(1)
        .clamp(1, MAX_PER_ROW);
    // Captions are cut to the picture's width (7 px a character at 11 px).
    let caption_chars = ((TILE + GAP) / 6.5).floor() as usize;
    let left = 16.0;
    let w = (left * 2.0 + cols as f64 * (TILE + GAP)).max(480.0);
    let (label_h, caption_h) = (22.0, 16.0);
    let row_h = label_h + TILE + caption_h + 12.0;
    let mut c = Canvas::new(w, 10.0);
    let extra = svg::title(&mut c, w, title_text);
    let top = 50.0 + extra.max(0.0);
    let h = top + rows.len().max(1) as f64 * row_h + 8.0;
    // The canvas is made again now that its height is known; the title is drawn the same.
    let mut c = Canvas::new(w, h);
    svg::title(&mut c, w, title_text);
    let mut csv = String::from("run,picture,caption,row,column,red,green,blue\n");
    for (ri, row) in rows.iter().enumerate() {
        let y0 = top + ri as f64 * row_h;
        let label = svg::ellipsize(&row.label, ((w - 2.0 * left) / 8.5) as usize);
        c.text(left, y0 + 16.0, &label, 15.0, Anchor::Start, 0.0);
        for (pi, (caption, p)) in row.pictures.iter().enumerate().take(cols) {
            let x0 = left + pi as f64 * (TILE + GAP);
            let ty = y0 + label_h;
            let (pw, ph) = (p.width.max(1), p.height.max(1));
            let px = TILE / pw.max(ph) as f64;
            for y in 0..ph {
                for x in 0..pw {
                    let Some(rgb) = p.pixels.get(y * pw + x) else {
                        continue;
                    };
                    let fill = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
                    // Slight overlap hides the seams anti-aliasing would draw.
                    c.rect(
                        x0 + x as f64 * px,
                        ty + y as f64 * px,
                        px + 0.3,
                        px + 0.3,
                        &fill,
                        None,
                    );
                    crate::format::putln!(
                        csv,
                        "{},{pi},{},{y},{x},{},{},{}",
                        csv_field(&row.label),
                        csv_field(caption),
                        rgb[0],
                        rgb[1],
                        rgb[2]
                    );
                }
            }
            c.text(
                x0 + TILE / 2.0,
                ty + TILE + 13.0,
                &svg::ellipsize(caption, caption_chars),
                11.0,
                Anchor::Middle,
                0.0,
            );
        }
    }
    Figure {
        id: "templates_compared".into(),
        title: title_text.to_string(),
        svg: c.finish(),
        csv,
    }
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(v: u8) -> RgbPicture {
        RgbPicture {
            width: 2,
            height: 2,
            pixels: vec![[v, v, v]; 4],
        }
    }

    #[test]
    fn one_row_per_run_named_by_its_label() {
        let rows = vec![
            TemplateRow {
                label: "λ 0".into(),
                pictures: vec![("cat".into(), picture(10)), ("dog".into(), picture(200))],
            },
            TemplateRow {
                label: "λ 1".into(),
                pictures: vec![("cat".into(), picture(30)), ("dog".into(), picture(90))],
            },
        ];
        let f = templates_compared("Class templates of 2 runs", &rows);
        assert!(
            f.svg.contains(">λ 0<") && f.svg.contains(">λ 1<"),
            "rows named"
        );
        assert_eq!(f.svg.matches(">cat<").count(), 2);
        // 2 runs × 2 pictures × 4 pixels, and the header.
        assert_eq!(f.csv.lines().count(), 1 + 16);
        assert!(f.csv.contains("λ 1,1,dog,0,0,90,90,90"), "{}", f.csv);
        assert_eq!(f.id, "templates_compared");
    }
}
