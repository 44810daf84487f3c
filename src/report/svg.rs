//! A small SVG writer and the chart kinds the figures are made of (lines, grouped bars,
//! histogram panels, heatmaps, image grids). Charts are drawn for print: a title, labelled
//! axes with round tick values, a legend, and text sizes that stay readable when the figure
//! is a column wide. The same SVG is rasterised for PNG export, so both look alike.

use std::fmt::Write;

/// Width and height of a chart in SVG user units (1/96 inch).
pub const CHART_SIZE: (f64, f64) = (720.0, 480.0);
/// Font family written into the SVG; the PNG renderer has it built in.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Colours for series, chosen to stay distinct in print and for colour-blind readers
/// (Okabe–Ito, then two more for ten classes).
pub const PALETTE: [&str; 10] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
    "#999999", "#8C510A",
];

/// Tableau 10: ten class colours that stay apart from each other, on white paper and on a
/// dark window alike (none is near black or white).
pub const TABLEAU10: [&str; 10] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC",
];

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy)]
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
    body: String,
}

/// Escapes text for XML.
fn escape(s: &str) -> String {
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
        let _ = writeln!(
            self.body,
            r#"<line x1="{:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
            a.0, a.1, b.0, b.1
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
                let _ = write!(pts, "{:.2},{:.2} ", p.0, p.1);
            }
            let _ = writeln!(
                self.body,
                r#"<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"{dash}/>"#
            );
        }
    }

    /// A rectangle, filled and optionally outlined.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Option<&str>) {
        let stroke = stroke.map_or(String::new(), |s| {
            format!(r#" stroke="{s}" stroke-width="1""#)
        });
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{fill}"{stroke}/>"#,
            w.max(0.0),
            h.max(0.0)
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
        let _ = writeln!(
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

/// About `target` round tick values covering [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Tick label with as many decimals as the step needs.
fn tick_label(v: f64, step: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        return format!("{v:.1e}");
    }
    // step = m · 10^e with m in {1, 2, 2.5, 5}: e decimals below 1, one more for m = 2.5.
    let e = step.log10().floor();
    let m = step / 10f64.powf(e);
    let decimals = (-e).max(0.0) as usize + usize::from((m - 2.5).abs() < 1e-6);
    format!("{v:.decimals$}")
}

/// A rectangle of the canvas and the data range mapped onto it.
#[derive(Debug, Clone, Copy)]
pub struct Axes {
    /// Left, top, right, bottom of the plotting area.
    pub area: (f64, f64, f64, f64),
    /// Data x range.
    pub x: (f64, f64),
    /// Data y range.
    pub y: (f64, f64),
}

impl Axes {
    /// Canvas x of data x.
    pub fn px(&self, x: f64) -> f64 {
        let (l, _, r, _) = self.area;
        l + (x - self.x.0) / (self.x.1 - self.x.0) * (r - l)
    }
    /// Canvas y of data y.
    pub fn py(&self, y: f64) -> f64 {
        let (_, t, _, b) = self.area;
        b - (y - self.y.0) / (self.y.1 - self.y.0) * (b - t)
    }

    /// Frame, grid, ticks and axis labels; `x_ticks: false` leaves the x axis unlabelled
    /// (for category axes).
    pub fn draw(&self, c: &mut Canvas, x_label: &str, y_label: &str, x_ticks: bool) {
        let (l, t, r, b) = self.area;
        let yt = nice_ticks(self.y.0, self.y.1, 6);
        let ystep = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
        for &v in &yt {
            let y = self.py(v);
            c.line((l, y), (r, y), "#dddddd", 1.0, None);
            c.text(
                l - 8.0,
                y + 5.0,
                &tick_label(v, ystep),
                14.0,
                Anchor::End,
                0.0,
            );
        }
        if x_ticks {
            let xt = nice_ticks(self.x.0, self.x.1, 8);
            let xstep = if xt.len() > 1 { xt[1] - xt[0] } else { 1.0 };
            for &v in &xt {
                let x = self.px(v);
                c.line((x, b), (x, b + 5.0), "#333333", 1.0, None);
                c.text(
                    x,
                    b + 22.0,
                    &tick_label(v, xstep),
                    14.0,
                    Anchor::Middle,
                    0.0,
                );
            }
        }
        c.rect(l, t, r - l, b - t, "none", Some("#333333"));
        c.text((l + r) / 2.0, b + 46.0, x_label, 16.0, Anchor::Middle, 0.0);
        let ymid = (t + b) / 2.0;
        c.text(l - 58.0, ymid, y_label, 16.0, Anchor::Middle, -90.0);
    }
}

/// Title at the top centre.
fn title(c: &mut Canvas, width: f64, text: &str) {
    // A long title (a run's settings as trained) gets a smaller font rather than losing its
    // ends: DejaVu Sans averages about 0.55 em per character.
    let chars = text.chars().count().max(1) as f64;
    let size = ((width - 24.0) / (0.55 * chars)).clamp(10.0, 20.0);
    c.text(width / 2.0, 30.0, text, size, Anchor::Middle, 0.0);
}

/// Size of the legend box for `entries`.
fn legend_size(entries: &[(&str, &str, bool)]) -> (f64, f64) {
    let longest = entries
        .iter()
        .map(|e| e.0.chars().count())
        .max()
        .unwrap_or(0) as f64;
    (44.0 + longest * 8.2, 10.0 + 22.0 * entries.len() as f64)
}

/// A legend box in the top-right corner of `area`: (name, colour, dashed).
fn legend(c: &mut Canvas, area: (f64, f64, f64, f64), entries: &[(&str, &str, bool)]) {
    let (w, _) = legend_size(entries);
    legend_at(c, (area.2 - w - 10.0, area.1 + 10.0), entries);
}

/// The corner of `area` where a legend box of `size` covers least of `lines` (canvas
/// units).
fn emptiest_corner(
    area: (f64, f64, f64, f64),
    size: (f64, f64),
    lines: &[Vec<(f64, f64)>],
) -> (f64, f64) {
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
        .min_by_key(|c| covered(c))
        .copied()
        .unwrap_or(corners[0])
}

/// A legend box with its top-left corner at `at`: (name, colour, dashed).
fn legend_at(c: &mut Canvas, at: (f64, f64), entries: &[(&str, &str, bool)]) {
    if entries.is_empty() {
        return;
    }
    let (w, h) = legend_size(entries);
    let (x, y) = at;
    c.rect(x, y, w, h, "#ffffff", Some("#999999"));
    for (i, (name, colour, dashed)) in entries.iter().enumerate() {
        let yy = y + 18.0 + 22.0 * i as f64;
        let dash = dashed.then_some("6 4");
        c.line((x + 8.0, yy - 5.0), (x + 34.0, yy - 5.0), colour, 2.5, dash);
        c.text(x + 40.0, yy, name, 14.0, Anchor::Start, 0.0);
    }
}

/// Data range of `values` with a little margin; `floor_zero` keeps 0 in the range.
fn padded_range(values: impl Iterator<Item = f64>, floor_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if floor_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let pad = 0.05 * (hi - lo);
    (
        if floor_zero && lo >= 0.0 {
            lo
        } else {
            lo - pad
        },
        hi + pad,
    )
}

/// One line of a line chart.
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Stroke colour.
    pub colour: &'static str,
    /// Drawn dashed (e.g. the training-set curve beside the validation one).
    pub dashed: bool,
}

/// A line chart of `series`.
pub fn line_chart(title_text: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    line_chart_marked(title_text, x_label, y_label, series, &[])
}

/// A line chart with a thin dashed vertical line at each marker's x, labelled with its text
/// at the top of the plot (a setting changed while the run trained).
pub fn line_chart_marked(
    title_text: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    markers: &[(f64, String)],
) -> String {
    let (w, h) = CHART_SIZE;
    let mut c = Canvas::new(w, h);
    title(&mut c, w, title_text);
    let all = || series.iter().flat_map(|s| s.points.iter());
    let axes = Axes {
        area: (90.0, 50.0, w - 25.0, h - 70.0),
        x: padded_range(all().map(|p| p.0), false),
        y: padded_range(all().map(|p| p.1), false),
    };
    axes.draw(&mut c, x_label, y_label, true);
    let (_, top, _, bottom) = axes.area;
    for (i, (x, text)) in markers.iter().enumerate() {
        if !(axes.x.0..=axes.x.1).contains(x) {
            continue;
        }
        let px = axes.px(*x);
        c.line((px, top), (px, bottom), "#555555", 1.2, Some("4 3"));
        // Labels of nearby markers step down so they do not print over each other.
        let y = top + 16.0 + 16.0 * (i % 3) as f64;
        c.text(px + 4.0, y, text, 13.0, Anchor::Start, 0.0);
    }
    let mut drawn = Vec::new();
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (axes.px(x), axes.py(y)))
            .collect();
        c.polyline(&pts, s.colour, 2.5, s.dashed.then_some("8 5"));
        drawn.push(pts);
    }
    let entries: Vec<(&str, &str, bool)> = series
        .iter()
        .map(|s| (s.name.as_str(), s.colour, s.dashed))
        .collect();
    let at = emptiest_corner(axes.area, legend_size(&entries), &drawn);
    legend_at(&mut c, at, &entries);
    c.finish()
}

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
                let _ = writeln!(
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
        let _ = writeln!(
            c.body,
            r#"<circle cx="{:.2}" cy="{:.2}" r="5" fill="{colour}"/>"#,
            w - 5.0,
            y - 5.0
        );
        c.text(w + 6.0, y, name, 14.0, Anchor::Start, 0.0);
    }
    c.finish()
}

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
            let entries: Vec<(&str, &str, bool)> = p
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.0.as_str(), s.1, i > 0))
                .collect();
            legend(&mut c, axes.area, &entries);
        }
    }
    c.finish()
}

/// Rough width of `s` in DejaVu Sans at `size` (for margins; the average glyph is ~0.6 em).
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.6
}

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
                let _ = writeln!(
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
    let size: f64 = 128.0;
    // Columns as wide as the longest caption, so captions never run into each other.
    let longest = tiles
        .iter()
        .map(|t| text_width(&t.label, 14.0))
        .fold(0.0, f64::max);
    let gap: f64 = 16.0;
    let col_w = (size + gap).max(longest + gap);
    let caption = 24.0;
    let w = cols as f64 * col_w + gap;
    let h = 50.0 + rows as f64 * (size + gap + caption) + gap;
    let mut c = Canvas::new(w.max(320.0), h);
    title(&mut c, w.max(320.0), title_text);
    for (i, tile) in tiles.iter().enumerate() {
        let (r, col) = (i / cols, i % cols);
        let x0 = gap + col as f64 * col_w + (col_w - gap - size) / 2.0;
        let y0 = 50.0 + r as f64 * (size + gap + caption);
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
                let _ = writeln!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = nice_ticks(1.73, 2.31, 6);
        assert!(t.iter().all(|v| (1.73..=2.31).contains(v)));
        assert!(t.len() >= 3);
        assert_eq!(nice_ticks(1.0, 1.0, 5), vec![1.0]);
    }

    #[test]
    fn tick_labels_have_the_needed_decimals() {
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(2.0, 0.5), "2.0");
        assert_eq!(tick_label(20.0, 5.0), "20");
    }

    #[test]
    fn text_is_escaped() {
        let mut c = Canvas::new(10.0, 10.0);
        c.text(0.0, 0.0, "a<b & c", 10.0, Anchor::Start, 0.0);
        assert!(c.finish().contains("a&lt;b &amp; c"));
    }
}
