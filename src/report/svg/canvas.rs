//! The SVG document a chart draws on: lines, polylines, rectangles, circles and text, and
//! the finished file.

/// Font family written into the SVG; the PNG renderer has it built in.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

/// An SVG document being drawn.
pub struct Canvas {
    width: f64,
    height: f64,
    /// The elements drawn so far (charts in this folder add raw SVG elements here).
    pub(super) body: String,
}

/// Escapes text for XML.
pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: f64, height: f64) -> Self {
        let mut c = Canvas {
            width,
            height,
            body: String::new(),
        };
        c.rect(0.0, 0.0, width, height, "#ffffff", None);
        c
    }

    /// A straight line; `dash` like "6 4".
    pub fn line(
        &mut self,
        a: (f64, f64),
        b: (f64, f64),
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let dash = dash.map_or(String::new(), |d| format!(r#" stroke-dasharray="{d}""#));
        crate::format::putln!(
            self.body,
            r#"<line x1="{:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
            a.0,
            a.1,
            b.0,
            b.1
        );
    }

    /// A polyline through `points`, skipping non-finite ones (they split the line).
    pub fn polyline(
        &mut self,
        points: &[(f64, f64)],
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let dash = dash.map_or(String::new(), |d| format!(r#" stroke-dasharray="{d}""#));
        for run in points
            .split(|p| !(p.0.is_finite() && p.1.is_finite()))
            .filter(|r| !r.is_empty())
        {
            let mut pts = String::new();
            for p in run {
                crate::format::put!(pts, "{:.2},{:.2} ", p.0, p.1);
            }
            crate::format::putln!(
                self.body,
                r#"<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"{dash}/>"#
            );
        }
    }

    /// A rectangle, filled and optionally outlined.
    /// Nothing is drawn for a rectangle without area (an empty histogram bin, a bar of 0):
    /// a zero or negative width or height is invalid SVG, which renderers warn about (sizes
    /// are written with two decimals, so below 0.005 is zero).
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Option<&str>) {
        if !(w >= 0.005 && h >= 0.005) {
            return;
        }
        let stroke = stroke.map_or(String::new(), |s| {
            format!(r#" stroke="{s}" stroke-width="1""#)
        });
        crate::format::putln!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{fill}"{stroke}/>"#
        );
    }

    /// A circle of radius `r` at (x, y), filled and outlined.
    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str, stroke: &str, width: f64) {
        crate::format::putln!(
            self.body,
            r#"<circle cx="{x:.2}" cy="{y:.2}" r="{r:.2}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    /// Text at (x, y) (baseline), optionally rotated by `rotate` degrees around that point.
    pub fn text(&mut self, x: f64, y: f64, s: &str, size: f64, anchor: Anchor, rotate: f64) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let transform = if rotate != 0.0 {
            format!(r#" transform="rotate({rotate} {x:.2} {y:.2})""#)
        } else {
            String::new()
        };
        crate::format::putln!(
            self.body,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="{anchor}"{transform}>{}</text>"#,
            escape(s)
        );
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT_FAMILY}, sans-serif">
{body}</svg>
"#,
            w = self.width,
            h = self.height,
            body = self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut c = Canvas::new(10.0, 10.0);
        c.text(0.0, 0.0, "a<b & c", 10.0, Anchor::Start, 0.0);
        assert!(c.finish().contains("a&lt;b &amp; c"));
    }
}
