//! The playground's figures for a run on points in the plane: the decision boundary (the
//! predicted class over the plane, lighter where the network is less sure, with the training
//! and test points over it) and the network (every neuron's output over the plane as a small
//! map, links coloured and as thick as their weights).

use super::figures::{Figure, RunRecord};
use super::svg::{Anchor, Axes, Canvas, TABLEAU10};
use crate::data::Normalizer;
use crate::data::plane::{EXTENT, Feature, PlanePoint, PlanePoints};
use crate::model::{LossKind, Network};
use crate::train::plane::{PlaneMaps, maps};
use crate::words::{Words, class_name};

/// Cells per side of the decision boundary's map.
const BOUNDARY_SIDE: usize = 80;
/// Cells per side of each neuron's map in the network figure.
const NEURON_SIDE: usize = 24;
/// Colour of positive values and weights (blue) and of negative ones (orange).
const POSITIVE: [u8; 3] = [0x21, 0x66, 0xAC];
const NEGATIVE: [u8; 3] = [0xE0, 0x7B, 0x1A];

/// `#rrggbb` of a Tableau 10 class colour as bytes.
pub fn class_rgb(k: usize) -> [u8; 3] {
    let hex = TABLEAU10[k % TABLEAU10.len()];
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(128);
    [byte(1), byte(3), byte(5)]
}

/// `c` mixed with white: `t` = 1 gives `c`, 0 white.
pub fn toward_white(c: [u8; 3], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    c.map(|v| (255.0 - (255.0 - f32::from(v)) * t).round() as u8)
}

/// The colour of a cell predicted `class` with probability `p` among `classes`: the class
/// colour, lighter the nearer `p` is to a guess (1/classes).
pub fn confidence_rgb(class: usize, p: f32, classes: usize) -> [u8; 3] {
    let chance = 1.0 / classes.max(1) as f32;
    let t = ((p - chance) / (1.0 - chance)).clamp(0.0, 1.0);
    toward_white(class_rgb(class), 0.15 + 0.7 * t)
}

/// A diverging colour for `v` in [−1, 1]: orange below 0, white at 0, blue above.
pub fn diverging_rgb(v: f32) -> [u8; 3] {
    if v >= 0.0 {
        toward_white(POSITIVE, v)
    } else {
        toward_white(NEGATIVE, -v)
    }
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// The run's points and its inputs' normaliser, made again from its settings; `None` for
/// runs not on data in the plane or whose points cannot be made.
pub fn regenerate(record: &RunRecord<'_>) -> Option<(PlanePoints, Normalizer)> {
    let config = &record.info.settings.start;
    let kind = config.dataset.plane()?;
    let req = config.data_request();
    let points = req.plane.points(kind, config.seed).ok()?;
    let splits = points.to_splits(&config.features);
    let norm = Normalizer::fit(&splits.train, config.preprocess);
    Some((points, norm))
}

/// Both playground figures of a run on data in the plane (none for other runs, or before
/// there are weights).
pub fn figures(record: &RunRecord<'_>) -> Vec<Figure> {
    let (Some(net), Some((points, norm))) = (record.network, regenerate(record)) else {
        return Vec::new();
    };
    let config = &record.info.settings.start;
    let loss = record.info.settings.live().loss;
    let features = &config.features;
    let mut out = Vec::new();
    if let Some(m) = maps(net, &norm, features, loss, BOUNDARY_SIDE) {
        let title = format!(
            "Decision boundary · {} · {}",
            points.name,
            record.info.settings.title()
        );
        out.push(decision_boundary(
            &m,
            &points.train,
            &points.test,
            &points.class_names,
            &title,
        ));
    }
    if let Some(m) = maps(net, &norm, features, loss, NEURON_SIDE) {
        out.push(network(net, &m, features, &points.class_names, loss));
    }
    out
}

/// The decision boundary: `m`'s predicted class per cell (lighter where less sure), the
/// training points filled and the test points as rings.
pub fn decision_boundary(
    m: &PlaneMaps,
    train: &[PlanePoint],
    test: &[PlanePoint],
    class_names: &[String],
    title: &str,
) -> Figure {
    let (w, h) = (760.0, 620.0);
    let mut c = Canvas::new(w, h);
    let e = f64::from(EXTENT);
    let axes = Axes {
        area: (80.0, 60.0, 580.0, 560.0),
        x: (-e, e),
        y: (-e, e),
    };
    axes.draw(&mut c, "x₁", "x₂", true);
    let cell = (axes.area.2 - axes.area.0) / m.side as f64;
    let mut csv = String::from("kind,x1,x2,label,predicted,confidence\n");
    let grid = crate::data::plane::grid(m.side);
    for (i, p) in grid.iter().enumerate() {
        let (k, prob) = m.predicted(i);
        let (r, col) = (i / m.side, i % m.side);
        c.rect(
            axes.area.0 + col as f64 * cell,
            axes.area.1 + r as f64 * cell,
            cell + 0.3,
            cell + 0.3,
            &hex(confidence_rgb(k, prob, m.classes)),
            None,
        );
        crate::format::putln!(csv, "grid,{},{},,{k},{prob:.4}", p[0], p[1]);
    }
    draw_points(&mut c, &axes, train, test);
    for (set, points) in [("train", train), ("test", test)] {
        for p in points {
            crate::format::putln!(csv, "{set},{},{},{},,", p.x[0], p.x[1], p.label);
        }
    }
    c.rect(
        axes.area.0,
        axes.area.1,
        axes.area.2 - axes.area.0,
        axes.area.3 - axes.area.1,
        "none",
        Some("#333333"),
    );
    draw_title(&mut c, w, title);
    draw_class_legend(&mut c, class_names);
    Figure {
        id: "decision_boundary".into(),
        title: title.to_string(),
        svg: c.finish(),
        csv,
    }
}

/// The training points filled and the test points as rings, in their class's colour (those
/// inside the plotted square).
fn draw_points(c: &mut Canvas, axes: &Axes, train: &[PlanePoint], test: &[PlanePoint]) {
    let inside = |p: &PlanePoint| p.x.iter().all(|v| v.abs() <= EXTENT);
    for p in train.iter().filter(|p| inside(p)) {
        let fill = hex(class_rgb(usize::from(p.label)));
        c.circle(
            axes.px(f64::from(p.x[0])),
            axes.py(f64::from(p.x[1])),
            3.2,
            &fill,
            "#222222",
            0.8,
        );
    }
    for p in test.iter().filter(|p| inside(p)) {
        let stroke = hex(class_rgb(usize::from(p.label)));
        c.circle(
            axes.px(f64::from(p.x[0])),
            axes.py(f64::from(p.x[1])),
            3.6,
            "#ffffff",
            &stroke,
            2.0,
        );
    }
}

/// The figure's title at the top, `w` wide.
fn draw_title(c: &mut Canvas, w: f64, title: &str) {
    // A run's title is longer than the figure is wide: its parts on as many lines as
    // they need.
    let lines = title_lines(title, 80);
    let size = if lines.len() > 1 { 13.0 } else { 15.0 };
    for (i, line) in lines.iter().enumerate() {
        let y = 22.0 + i as f64 * (size + 4.0) + if lines.len() > 2 { 0.0 } else { 6.0 };
        c.text(w / 2.0, y, line, size, Anchor::Middle, 0.0);
    }
}

/// The legend right of the plot: classes, then what filled and hollow points are.
fn draw_class_legend(c: &mut Canvas, class_names: &[String]) {
    let lx = 600.0;
    let mut ly = 90.0;
    for (k, name) in class_names.iter().enumerate() {
        c.rect(
            lx,
            ly - 12.0,
            16.0,
            16.0,
            &hex(class_rgb(k)),
            Some("#333333"),
        );
        c.text(lx + 24.0, ly + 1.0, name, 14.0, Anchor::Start, 0.0);
        ly += 26.0;
    }
    ly += 10.0;
    c.circle(lx + 8.0, ly - 4.0, 4.0, "#888888", "#222222", 0.8);
    c.text(
        lx + 24.0,
        ly + 1.0,
        "training point",
        14.0,
        Anchor::Start,
        0.0,
    );
    ly += 24.0;
    c.circle(lx + 8.0, ly - 4.0, 4.0, "#ffffff", "#888888", 2.0);
    c.text(lx + 24.0, ly + 1.0, "test point", 14.0, Anchor::Start, 0.0);
    ly += 34.0;
    for line in ["lighter: less", "sure (near 1/K)"] {
        c.text(lx, ly, line, 13.0, Anchor::Start, 0.0);
        ly += 18.0;
    }
}

/// `title`'s parts (between " · ") packed into lines of at most `width` characters (a
/// part longer than that gets a line of its own).
fn title_lines(title: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in title.split(" · ") {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 3 + part.chars().count() <= width => {
                line.push_str(" · ");
                line.push_str(part);
            }
            _ => lines.push(part.to_string()),
        }
    }
    lines
}

/// Draws one `side` × `side` map at (x, y), `size` wide, cell colours from `colour`.
fn draw_map(
    c: &mut Canvas,
    x: f64,
    y: f64,
    size: f64,
    side: usize,
    colour: impl Fn(usize) -> [u8; 3],
) {
    let cell = size / side as f64;
    for i in 0..side * side {
        let (r, col) = (i / side, i % side);
        c.rect(
            x + col as f64 * cell,
            y + r as f64 * cell,
            cell + 0.3,
            cell + 0.3,
            &hex(colour(i)),
            None,
        );
    }
    c.rect(x, y, size, size, "none", Some("#555555"));
}

/// Values scaled into [−1, 1] by their largest magnitude.
fn scaled(values: &[f32]) -> Vec<f32> {
    let top = values.iter().fold(0f32, |a, v| a.max(v.abs()));
    if top > 0.0 && top.is_finite() {
        values.iter().map(|v| v / top).collect()
    } else {
        vec![0.0; values.len()]
    }
}

/// The network as TensorFlow Playground draws it: a column of maps per layer (the inputs,
/// each hidden layer's units, the class probabilities), each map the unit's output over
/// the plane (orange negative, blue positive, scaled by the unit's largest value; the
/// classes in their colour), and a link for every weight, as thick as |w| and coloured by
/// its sign.
pub fn network(
    net: &Network<f32>,
    m: &PlaneMaps,
    features: &[Feature],
    class_names: &[String],
    loss: LossKind,
) -> Figure {
    let columns = network_columns(m, features, class_names);
    let layout = NetworkLayout {
        tile: 44.0,
        gap_x: 150.0,
        gap_y: 14.0,
        top: 70.0,
        heights: columns.iter().map(Vec::len).collect(),
    };
    let (tile, top) = (layout.tile, layout.top);
    let tallest = layout.tallest();
    let w = 60.0 + columns.len() as f64 * (tile + layout.gap_x) - layout.gap_x + 120.0;
    let h = top + tallest * (tile + layout.gap_y) + 60.0;
    let mut c = Canvas::new(w.max(480.0), h);
    // Links first, so the maps sit on top of their ends.
    let csv = draw_links(&mut c, net, &layout);
    for (col, units) in columns.iter().enumerate() {
        for (i, (label, cells)) in units.iter().enumerate() {
            let (x, y) = (layout.x_of(col), layout.y_of(col, i));
            draw_map(&mut c, x, y, tile, m.side, |k| cells[k]);
            let (lx, anchor) = if col + 1 == columns.len() {
                (x + tile + 8.0, Anchor::Start)
            } else if col == 0 {
                (x - 6.0, Anchor::End)
            } else {
                (x + tile / 2.0, Anchor::Middle)
            };
            let ly = if col == 0 || col + 1 == columns.len() {
                y + tile / 2.0 + 5.0
            } else {
                y + tile + 12.0
            };
            c.text(lx, ly, label, 12.0, anchor, 0.0);
        }
    }
    let hidden = m.layers.len().saturating_sub(1);
    let heads: Vec<String> = std::iter::once("inputs".to_string())
        .chain((1..=hidden).map(|l| format!("hidden {l} ({})", net.activation.label())))
        .chain(std::iter::once(match loss {
            LossKind::Bce => "p(class), sigmoid".to_string(),
            _ => "p(class), softmax".to_string(),
        }))
        .collect();
    for (col, head) in heads.iter().enumerate() {
        c.text(
            layout.x_of(col) + tile / 2.0,
            top - 14.0,
            head,
            13.0,
            Anchor::Middle,
            0.0,
        );
    }
    let title =
        "Network: each unit's output over the plane; links as thick as |w| (blue +, orange −)";
    c.text(w.max(480.0) / 2.0, 28.0, title, 14.0, Anchor::Middle, 0.0);
    Figure {
        id: "network".into(),
        title: title.to_string(),
        svg: c.finish(),
        csv,
    }
}

/// One labelled map per unit, a column per layer: the inputs, each hidden layer's units
/// (orange negative, blue positive, scaled by the unit's largest value), the class
/// probabilities in their class's colour.
fn network_columns(
    m: &PlaneMaps,
    features: &[Feature],
    class_names: &[String],
) -> Vec<Vec<(String, Vec<[u8; 3]>)>> {
    let mut columns: Vec<Vec<(String, Vec<[u8; 3]>)>> = Vec::new();
    columns.push(
        features
            .iter()
            .zip(&m.inputs)
            .map(|(f, v)| {
                (
                    f.label().to_string(),
                    scaled(v).into_iter().map(diverging_rgb).collect(),
                )
            })
            .collect(),
    );
    let hidden = m.layers.len().saturating_sub(1);
    for (l, layer) in m.layers.iter().take(hidden).enumerate() {
        columns.push(
            layer
                .iter()
                .enumerate()
                .map(|(u, v)| {
                    (
                        format!("h{}.{}", l + 1, u + 1),
                        scaled(v).into_iter().map(diverging_rgb).collect(),
                    )
                })
                .collect(),
        );
    }
    columns.push(
        (0..m.classes)
            .map(|k| {
                let name = class_name(class_names, k);
                let cells = (0..m.side * m.side)
                    .map(|i| toward_white(class_rgb(k), m.probs[i * m.classes + k]))
                    .collect();
                (name, cells)
            })
            .collect(),
    );
    columns
}

/// Where the network figure's maps go: a column per layer, each centred on the tallest.
struct NetworkLayout {
    /// A map's side.
    tile: f64,
    /// Space between columns (for the links).
    gap_x: f64,
    /// Space between maps of a column (for their labels).
    gap_y: f64,
    /// Top of the tallest column.
    top: f64,
    /// Maps per column.
    heights: Vec<usize>,
}

impl NetworkLayout {
    /// Maps in the tallest column (at least 1).
    fn tallest(&self) -> f64 {
        self.heights.iter().copied().max().unwrap_or(1) as f64
    }
    /// Left edge of column `col`.
    fn x_of(&self, col: usize) -> f64 {
        60.0 + col as f64 * (self.tile + self.gap_x)
    }
    /// Top of map `i` of column `col`.
    fn y_of(&self, col: usize, i: usize) -> f64 {
        let n = self.heights.get(col).copied().unwrap_or(0) as f64;
        let step = self.tile + self.gap_y;
        self.top + (self.tallest() - n) * step / 2.0 + i as f64 * step
    }
}

/// The largest |w| of `net`'s weights (never 0): links are as thick as |w| against it, in
/// the figure and in the window's Network tab alike.
pub fn largest_weight(net: &Network<f32>) -> f32 {
    net.layers
        .iter()
        .flat_map(|l| l.weights.iter())
        .fold(0f32, |a, w| a.max(w.abs()))
        .max(f32::MIN_POSITIVE)
}

/// A link for every weight, as thick as |w| and coloured by its sign; returns the CSV of
/// the weights and biases.
fn draw_links(c: &mut Canvas, net: &Network<f32>, layout: &NetworkLayout) -> String {
    let tile = layout.tile;
    let top_weight = largest_weight(net);
    let mut csv = String::from("layer,from,to,weight,bias\n");
    for (l, layer) in net.layers.iter().enumerate() {
        for (to, row) in layer.weights.rows().into_iter().enumerate() {
            for (from, &wt) in row.iter().enumerate() {
                let a = (layout.x_of(l) + tile, layout.y_of(l, from) + tile / 2.0);
                let b = (layout.x_of(l + 1), layout.y_of(l + 1, to) + tile / 2.0);
                let colour = if wt >= 0.0 { POSITIVE } else { NEGATIVE };
                let strength = wt.abs() / top_weight;
                c.line(
                    a,
                    b,
                    &hex(toward_white(colour, 0.25 + 0.75 * strength)),
                    0.5 + 5.0 * f64::from(strength),
                    None,
                );
                crate::format::putln!(csv, "{},{},{},{wt},", l + 1, from + 1, to + 1);
            }
            crate::format::putln!(csv, "{},,{},,{}", l + 1, to + 1, layer.bias[to]);
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_confidence_and_sign() {
        assert_eq!(confidence_rgb(0, 0.5, 2), toward_white(class_rgb(0), 0.15));
        assert_eq!(confidence_rgb(1, 1.0, 2), toward_white(class_rgb(1), 0.85));
        assert_eq!(diverging_rgb(0.0), [255, 255, 255]);
        assert_eq!(diverging_rgb(1.0), POSITIVE);
        assert_eq!(diverging_rgb(-1.0), NEGATIVE);
    }

    #[test]
    fn long_titles_break_between_their_parts() {
        let t = "Decision boundary · spiral, 2 classes (600 points, noise 0.1) · MLP 8-8 tanh · \
                 Softmax cross-entropy · λ 0 · η 0.03 · Adam · batch 10";
        let lines = title_lines(t, 80);
        assert_eq!(lines.join(" · "), t, "nothing lost");
        assert!(lines.len() >= 2);
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{lines:?}");
        assert_eq!(title_lines("short", 80), ["short"]);
    }
}
