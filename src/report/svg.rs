//! A small SVG writer and the chart kinds the figures are made of (lines, grouped bars,
//! histogram panels, heatmaps, image grids). Charts are drawn for print: a title, labelled
//! axes with round tick values, a legend, and text sizes that stay readable when the figure
//! is a column wide. The same SVG is rasterised for PNG export, so both look alike.

/// Width and height of a chart in SVG user units (1/96 inch).
pub const CHART_SIZE: (f64, f64) = (720.0, 480.0);
/// Font family written into the SVG; the PNG renderer has it built in.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// A stroke's dash pattern as SVG's `stroke-dasharray` (`None`: solid).
pub type Dash = Option<&'static str>;

/// Dashes of a second line beside a solid one.
pub const DASHED: &str = "8 5";

/// Dots, for a third line.
pub const DOTTED: &str = "2 4";

/// The dash of the `i`-th run of an overlay: solid, dashed, dotted in turn (as the window
/// draws them), so runs whose colours are hard to tell apart in print still differ.
pub fn overlay_dash(i: usize) -> Dash {
    match i % 3 {
        0 => None,
        1 => Some(DASHED),
        _ => Some(DOTTED),
    }
}

/// Colours for series, chosen to stay distinct in print and for colour-blind readers
/// (Okabe–Ito's, with purple, brown and olive for its near twins: ten that stay apart).
pub const PALETTE: [&str; 10] = [
    // No two alike within the first nine (a nine-layer network's legend): no second blue,
    // yellow or grey (black is drawn grey on the window's dark theme).
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#6A3D9A", "#000000", "#8C510A",
    "#808000", "#56B4E9",
];

/// Tableau 10: ten class colours that stay apart from each other, on white paper and on a
/// dark window alike (none is near black or white).
pub const TABLEAU10: [&str; 10] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC",
];

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

pub use crate::format::{nice_ticks, tick_label};

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

/// `s` cut to at most `max` characters, ending in "…" when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// `s` broken at spaces into at most `lines` lines of at most `max` characters; a word
/// longer than a line, or text left over after the last line, is cut with "…".
pub fn wrap_words(s: &str, max: usize, lines: usize) -> Vec<String> {
    let max = max.max(4);
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut words = s.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(word) = words.next() {
        let len = current.chars().count();
        let fits = len == 0 || len + 1 + word.chars().count() <= max;
        if !fits {
            out.push(std::mem::take(&mut current));
            if out.len() == lines {
                // Text is left over: the last line says so.
                if let Some(last) = out.last_mut() {
                    *last = ellipsize(&format!("{last} {word}"), max);
                    if !last.ends_with('…') {
                        last.push('…');
                    }
                }
                return out;
            }
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if words.peek().is_none() || current.chars().count() > max {
            current = ellipsize(&current, max);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Share of an em DejaVu Sans averages per character, for fitting text.
const EM_PER_CHAR: f64 = 0.55;

/// The title's lines and font size for a figure `width` wide: one line when it fits at a
/// readable size, else two (a run's settings as trained can be long), never cut at the
/// sides.
fn title_layout(width: f64, text: &str) -> (Vec<String>, f64) {
    let fit = |line: &str| (width - 24.0) / (EM_PER_CHAR * line.chars().count().max(1) as f64);
    if fit(text) >= 14.0 {
        return (vec![text.to_string()], fit(text).min(20.0));
    }
    let max = ((width - 24.0) / (EM_PER_CHAR * 12.0)).floor() as usize;
    let half = text.chars().count().div_ceil(2);
    // Break near the middle when that fits, so both lines are alike in length.
    let balanced = wrap_words(text, (half + 8).min(max), 2);
    let lines = if balanced.last().is_some_and(|l| l.ends_with('…')) {
        wrap_words(text, max, 2)
    } else {
        balanced
    };
    let size = lines
        .iter()
        .map(|l| fit(l))
        .fold(f64::INFINITY, f64::min)
        .clamp(12.0, 18.0);
    (lines, size)
}

/// Title at the top centre, on two lines when long; returns how much further down than a
/// one-line title it reaches.
pub(crate) fn title(c: &mut Canvas, width: f64, text: &str) -> f64 {
    let (lines, size) = title_layout(width, text);
    if lines.len() == 1 {
        c.text(width / 2.0, 30.0, text, size, Anchor::Middle, 0.0);
        return 0.0;
    }
    let step = (size * 1.2).ceil();
    for (i, line) in lines.iter().enumerate() {
        c.text(
            width / 2.0,
            22.0 + step * i as f64,
            line,
            size,
            Anchor::Middle,
            0.0,
        );
    }
    step - 8.0
}

/// Legend text size, and the width of one of its characters (DejaVu Sans at 14 px).
const LEGEND_SIZE: f64 = 14.0;
const LEGEND_CHAR: f64 = 8.2;

/// Size of the legend box for `entries` (each name on one line).
fn legend_size(entries: &[(&str, &str, Dash)]) -> (f64, f64) {
    let longest = entries
        .iter()
        .map(|e| e.0.chars().count())
        .max()
        .unwrap_or(0) as f64;
    (
        44.0 + longest * LEGEND_CHAR,
        10.0 + 22.0 * entries.len() as f64,
    )
}

/// A legend laid out to fit a width: each entry's name wrapped onto lines.
struct LegendLayout<'a> {
    /// (lines of the name, colour, dashed) per entry.
    entries: Vec<(Vec<String>, &'a str, Dash)>,
    /// Width and height of the box.
    size: (f64, f64),
}

/// Height of a legend entry's first line, and of each further line of a wrapped name.
const LEGEND_ROW: f64 = 22.0;
const LEGEND_WRAP_ROW: f64 = 17.0;

/// `entries` laid out in a box at most `max_width` wide: long names wrap onto up to three
/// lines, and are cut with "…" beyond that.
fn legend_layout<'a>(entries: &[(&str, &'a str, Dash)], max_width: f64) -> LegendLayout<'a> {
    let chars = ((max_width - 44.0) / LEGEND_CHAR).floor().max(8.0) as usize;
    let entries: Vec<(Vec<String>, &str, Dash)> = entries
        .iter()
        .map(|&(name, colour, dashed)| (wrap_words(name, chars, 3), colour, dashed))
        .collect();
    let longest = entries
        .iter()
        .flat_map(|(lines, _, _)| lines.iter().map(|l| l.chars().count()))
        .max()
        .unwrap_or(0) as f64;
    let height = 10.0
        + entries
            .iter()
            .map(|(lines, _, _)| LEGEND_ROW + LEGEND_WRAP_ROW * (lines.len() as f64 - 1.0))
            .sum::<f64>();
    LegendLayout {
        entries,
        size: (44.0 + longest * LEGEND_CHAR, height),
    }
}

/// Draws a laid-out legend with its top-left corner at `at`.
fn legend_box(c: &mut Canvas, at: (f64, f64), legend: &LegendLayout<'_>) {
    if legend.entries.is_empty() {
        return;
    }
    let (x, mut y) = at;
    c.rect(
        x,
        y,
        legend.size.0,
        legend.size.1,
        "#ffffff",
        Some("#999999"),
    );
    y += 18.0;
    for (lines, colour, dashed) in &legend.entries {
        let dash = *dashed;
        c.line((x + 8.0, y - 5.0), (x + 34.0, y - 5.0), colour, 2.5, dash);
        for (i, line) in lines.iter().enumerate() {
            c.text(
                x + 40.0,
                y + LEGEND_WRAP_ROW * i as f64,
                line,
                LEGEND_SIZE,
                Anchor::Start,
                0.0,
            );
        }
        y += LEGEND_ROW + LEGEND_WRAP_ROW * (lines.len() as f64 - 1.0);
    }
}

/// Marker label text size, the width of one of its characters, and the longest label
/// printed (the full text is in the figure's CSV and the window's read-out).
const MARKER_SIZE: f64 = 13.0;
const MARKER_CHAR: f64 = 7.4;
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

/// A legend box in the top-right corner of `area`: (name, colour, dashed).
fn legend(c: &mut Canvas, area: (f64, f64, f64, f64), entries: &[(&str, &str, Dash)]) {
    let (w, _) = legend_size(entries);
    legend_at(c, (area.2 - w - 10.0, area.1 + 10.0), entries);
}

/// The corner of `area` where a legend box of `size` covers least of `lines` (canvas
/// units).
fn emptiest_corner(
    area: (f64, f64, f64, f64),
    size: (f64, f64),
    lines: &[Vec<(f64, f64)>],
) -> ((f64, f64), usize) {
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
        .map(|c| (*c, covered(c)))
        .min_by_key(|(_, n)| *n)
        .unwrap_or((corners[0], 0))
}

/// A legend box with its top-left corner at `at`: (name, colour, dashed).
fn legend_at(c: &mut Canvas, at: (f64, f64), entries: &[(&str, &str, Dash)]) {
    if entries.is_empty() {
        return;
    }
    let (w, h) = legend_size(entries);
    let (x, y) = at;
    c.rect(x, y, w, h, "#ffffff", Some("#999999"));
    for (i, (name, colour, dashed)) in entries.iter().enumerate() {
        let yy = y + 18.0 + 22.0 * i as f64;
        let dash = *dashed;
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
    /// Its dash pattern (`None`: solid), e.g. the training-set curve dashed beside the
    /// validation one, or an overlay's runs told apart by dash as well as colour.
    pub dash: Dash,
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
    let (title_lines, _) = title_layout(w, title_text);
    let title_extra = if title_lines.len() > 1 { 14.0 } else { 0.0 };
    let all = || series.iter().flat_map(|s| s.points.iter());
    let area = (90.0, 50.0 + title_extra, w - 25.0, h - 70.0);
    let (l, top, r, bottom) = area;
    let mut axes = Axes {
        area,
        x: padded_range(all().map(|p| p.0), false),
        y: padded_range(all().map(|p| p.1), false),
    };
    let shown: Vec<(f64, &str)> = markers
        .iter()
        .filter(|(x, _)| (axes.x.0..=axes.x.1).contains(x))
        .map(|(x, text)| (axes.px(*x), text.as_str()))
        .collect();
    let labels = marker_labels(&shown, l, r);
    let label_y = |row: usize| top + 16.0 + 16.0 * row as f64;
    // Headroom above the data for the marker labels' rows, so they do not print over the
    // curves.
    if let Some(rows) = labels.iter().map(|l| l.1 + 1).max() {
        let room = (16.0 * rows as f64 + 8.0).min((bottom - top) * 0.4);
        let (lo, hi) = axes.y;
        axes.y.1 = hi + (hi - lo) * room / (bottom - top - room);
    }
    let mut drawn: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .map(|&(x, y)| (axes.px(x), axes.py(y)))
                .collect()
        })
        .collect();
    // The legend keeps clear of the marker labels as of the curves.
    for (x, row, anchor, text) in &labels {
        let width = text.chars().count() as f64 * MARKER_CHAR;
        let x0 = if matches!(anchor, Anchor::End) {
            x - width
        } else {
            *x
        };
        let y = label_y(*row) - 5.0;
        drawn.push(vec![(x0, y), (x0 + width, y)]);
    }
    let entries: Vec<(&str, &str, Dash)> = series
        .iter()
        .map(|s| (s.name.as_str(), s.colour, s.dash))
        .collect();
    let (area_w, area_h) = (r - l, bottom - top);
    let inside = legend_layout(&entries, area_w - 20.0);
    let (corner, covered) = emptiest_corner(area, inside.size, &drawn);
    let (bw, bh) = inside.size;
    // A box too big for any corner goes under the plot, and the figure grows to hold it.
    let too_big = bw * bh > 0.2 * area_w * area_h
        || (covered > 0 && (bw > 0.45 * area_w || bh > 0.35 * area_h));
    let (legend, at, height) = if too_big {
        let below = legend_layout(&entries, w - 20.0);
        let x = ((w - below.size.0) / 2.0).max(10.0);
        let y = bottom + 60.0;
        let height = y + below.size.1 + 12.0;
        (below, (x, y), height)
    } else {
        (inside, corner, h)
    };
    let mut c = Canvas::new(w, height);
    title(&mut c, w, title_text);
    axes.draw(&mut c, x_label, y_label, true);
    for &(px, _) in &shown {
        c.line((px, top), (px, bottom), "#555555", 1.2, Some("4 3"));
    }
    for (s, pts) in series.iter().zip(&drawn) {
        c.polyline(pts, s.colour, 2.5, s.dash);
    }
    // Labels over the curves, so that they stay readable.
    for (x, row, anchor, text) in labels {
        c.text(x, label_y(row), &text, MARKER_SIZE, anchor, 0.0);
    }
    legend_box(&mut c, at, &legend);
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

/// Rough width of `s` in DejaVu Sans at `size` (for margins; the average glyph is ~0.6 em).
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
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

    /// (x, y, width, height) of the first `<rect>` drawn with `stroke`.
    fn rect_with(svg: &str, stroke: &str) -> Option<(f64, f64, f64, f64)> {
        let line = svg
            .lines()
            .find(|l| l.starts_with("<rect") && l.contains(&format!(r#"stroke="{stroke}""#)))?;
        let attr = |name: &str| -> Option<f64> {
            let start = line.find(&format!(r#" {name}=""#))? + name.len() + 3;
            line[start..].split('"').next()?.parse().ok()
        };
        Some((attr("x")?, attr("y")?, attr("width")?, attr("height")?))
    }

    /// (width, height) of an SVG document.
    fn svg_size(svg: &str) -> (f64, f64) {
        let line = svg.lines().next().unwrap_or_default();
        let get = |name: &str| -> f64 {
            line.split(&format!(r#" {name}=""#))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        (get("width"), get("height"))
    }

    fn rising(name: &str, colour: &'static str, lift: f64) -> Series {
        Series {
            name: name.to_string(),
            points: (1..=40)
                .map(|i| {
                    (
                        f64::from(i),
                        lift + 0.4 * (1.0 - (-f64::from(i) / 5.0).exp()),
                    )
                })
                .collect(),
            colour,
            dash: None,
        }
    }

    #[test]
    fn a_long_legend_stays_inside_the_figure() {
        let long = "split All training images, epochs 12, batch size 100, η cyclic 1e-5…0.1, \
                    λ 0.005, loss Softmax cross-entropy, η schedule Cyclic (triangular), \
                    half-cycle (steps) 980, weight init Xavier (σ = 1/√inputs), hidden layers 50";
        let other = "split All training images, epochs 400, batch size 100, η 0.001, λ 0.1, \
                     loss Binary cross-entropy (sigmoid)";
        let svg = line_chart(
            "Validation accuracy",
            "epoch",
            "fraction correct",
            &[
                rising(long, PALETTE[0], 0.1),
                rising(other, PALETTE[1], 0.3),
            ],
        );
        let (w, h) = svg_size(&svg);
        let (x, y, bw, bh) = rect_with(&svg, "#999999").expect("a legend box");
        assert!(
            x >= 0.0 && x + bw <= w,
            "legend {x}..{} in a figure {w} wide",
            x + bw
        );
        assert!(
            y >= 0.0 && y + bh <= h,
            "legend {y}..{} in a figure {h} high",
            y + bh
        );
        // Too big for a corner: under the plot area, in a taller figure.
        assert!(h > CHART_SIZE.1 && y > CHART_SIZE.1 - 70.0, "{h} {y}");
        // A short legend stays in a corner of the usual figure.
        let svg = line_chart(
            "Accuracy",
            "epoch",
            "fraction correct",
            &[
                rising("training", PALETTE[0], 0.1),
                rising("validation", PALETTE[1], 0.0),
            ],
        );
        assert_eq!(svg_size(&svg), CHART_SIZE);
        let (x, _, bw, _) = rect_with(&svg, "#999999").unwrap();
        assert!(x + bw <= CHART_SIZE.0 - 25.0);
    }

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

    #[test]
    fn a_long_title_wraps_onto_two_lines() {
        let long = "MLP 50 ReLU, Softmax cross-entropy, λ 0.005, η cyclic 1e-5…0.1, batch 100, \
                    Xavier, all training images, 12 epochs, shuffled";
        let (lines, size) = title_layout(CHART_SIZE.0, long);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(size >= 12.0);
        for l in &lines {
            assert!(
                EM_PER_CHAR * size * l.chars().count() as f64 <= CHART_SIZE.0 - 24.0,
                "{l}"
            );
        }
        assert_eq!(
            lines.join(" "),
            long.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        assert_eq!(title_layout(CHART_SIZE.0, "Loss").0, vec!["Loss"]);
        assert_eq!(wrap_words("a bb ccc dddd", 6, 2), vec!["a bb", "ccc d…"]);
    }
}
