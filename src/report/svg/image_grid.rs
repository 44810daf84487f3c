//! Labelled pictures in a grid.

use super::canvas::{Anchor, Canvas};
use super::text::{text_width, title};

/// One tile of [`image_grid`]: a label over an RGB picture.
pub struct Tile {
    /// Caption.
    pub label: String,
    /// Pixels wide.
    pub width: usize,
    /// Pixels high.
    pub height: usize,
    /// Row-major RGB bytes.
    pub rgb: Vec<u8>,
}

/// Pictures in a grid of `cols` columns, each labelled (e.g. the class templates).
pub fn image_grid(title_text: &str, tiles: &[Tile], cols: usize) -> String {
    let cols = cols.clamp(1, tiles.len().max(1));
    let rows = tiles.len().div_ceil(cols).max(1);
    // Columns as wide as the longest caption, so captions never run into each other.
    let longest = tiles
        .iter()
        .map(|t| text_width(&t.label, 14.0))
        .fold(0.0, f64::max);
    // A lone picture (a deeper layer's filter sheet) fills the figure, up to 800 units for
    // 200 pixels and more: at 128 units a sheet of 64 × 32 tiles was a speck on the page.
    let size: f64 = match tiles {
        [one] => (4.0 * one.width.max(one.height) as f64)
            .min(800.0)
            .max(longest)
            .max(128.0),
        _ => 128.0,
    };
    // Its height as its picture's (a landscape sheet leaves no empty band below).
    let cell_h = match tiles {
        [one] => size * one.height.max(1) as f64 / one.width.max(one.height).max(1) as f64,
        _ => size,
    };
    let gap: f64 = 16.0;
    let col_w = (size + gap).max(longest + gap);
    let caption = 24.0;
    let w = cols as f64 * col_w + gap;
    let h = 50.0 + rows as f64 * (cell_h + gap + caption) + gap;
    let mut c = Canvas::new(w.max(320.0), h);
    title(&mut c, w.max(320.0), title_text);
    for (i, tile) in tiles.iter().enumerate() {
        let (r, col) = (i / cols, i % cols);
        let x0 = gap + col as f64 * col_w + (col_w - gap - size) / 2.0;
        let y0 = 50.0 + r as f64 * (cell_h + gap + caption);
        c.text(
            x0 + size / 2.0,
            y0 + 16.0,
            &tile.label,
            14.0,
            Anchor::Middle,
            0.0,
        );
        let (tw, th) = (tile.width.max(1), tile.height.max(1));
        let px = size / tw.max(th) as f64;
        // Pixels as rectangles: the figure stays a vector file any viewer can show. Slight
        // overlap hides the seams anti-aliasing would draw between neighbours.
        for y in 0..th {
            for x in 0..tw {
                let k = 3 * (y * tw + x);
                let Some(p) = tile.rgb.get(k..k + 3) else {
                    continue;
                };
                let fill = format!("#{:02x}{:02x}{:02x}", p[0], p[1], p[2]);
                crate::format::putln!(
                    c.body,
                    r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{fill}"/>"#,
                    x0 + x as f64 * px,
                    y0 + caption + y as f64 * px,
                    px + 0.3,
                    px + 0.3
                );
            }
        }
    }
    c.finish()
}
