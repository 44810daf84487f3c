//! The Network tab's "units and links" view of a run in the plane: every unit's map in a
//! column per layer, links between them as thick as their weights, the columns' heads, and
//! a tooltip with the weight or bias under the pointer. The maps' textures come from
//! [`super::plane::PlanePanel`]; this file lays them out and draws the rest.

use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Sense, Stroke, TextureHandle, Ui, vec2};

use crate::data::plane::Feature;
use crate::model::Network;
use crate::report::plane::{largest_weight, toward_white};
use crate::words::Words;

/// Rows of unit maps: a map and, below it, room for its name.
const ROW: f32 = 1.5;

/// Draws the units of `net` (inputs named by `features`, outputs by `class_names`) with
/// their maps from `textures` (in drawing order: inputs, hidden units, classes) and the
/// links between them.
pub fn draw(
    ui: &mut Ui,
    net: &Network<f32>,
    features: &[Feature],
    class_names: &[String],
    textures: &[TextureHandle],
) {
    let columns = unit_names(net, features, class_names);
    let (layout, response, painter) = Layout::allocate(ui, columns);
    let hover = response.hover_pos();
    let mut hovered = paint_links(&painter, &layout, net, hover);
    let text = ui.visuals().text_color();
    if let Some(bias) = paint_units(&painter, &layout, net, textures, hover, text) {
        hovered = Some((0.0, bias));
    }
    paint_heads(&painter, &layout, net, text);
    if let (Some((_, text)), Some(h)) = (hovered, hover) {
        let galley = painter.layout_no_wrap(text, FontId::proportional(13.0), Color32::BLACK);
        let r = Rect::from_min_size(h + vec2(12.0, 12.0), galley.size()).expand(4.0);
        painter.rect_filled(r, 3.0, Color32::from_rgb(255, 255, 225));
        painter.galley(r.min + vec2(4.0, 4.0), galley, Color32::BLACK);
    }
}

/// The units' names, a column per layer: the input features, `h<layer>.<unit>` for hidden
/// units, the class names.
fn unit_names(
    net: &Network<f32>,
    features: &[Feature],
    class_names: &[String],
) -> Vec<Vec<String>> {
    let mut columns: Vec<Vec<String>> =
        vec![features.iter().map(|f| f.label().to_string()).collect()];
    for (l, layer) in net.layers.iter().enumerate().take(net.layers.len() - 1) {
        columns.push(
            (1..=layer.weights.nrows())
                .map(|u| format!("h{}.{u}", l + 1))
                .collect(),
        );
    }
    columns.push(class_names.to_vec());
    columns
}

/// Where each unit's map goes: tiles as big as the tallest column lets them be, columns
/// spread over the width.
struct Layout {
    /// The units' names, a column per layer.
    columns: Vec<Vec<String>>,
    /// Units in the tallest column.
    tallest: f32,
    /// A map's side in points.
    tile: f32,
    /// Room between columns.
    gap_x: f32,
    /// The first column's top left.
    origin: Pos2,
}

impl Layout {
    /// Takes the room the `columns` of units need and lays them out in it.
    fn allocate(ui: &mut Ui, columns: Vec<Vec<String>>) -> (Self, egui::Response, Painter) {
        let tallest = columns.iter().map(Vec::len).max().unwrap_or(1) as f32;
        let avail = ui.available_size();
        let tile = ((avail.y - 30.0) / (tallest * ROW)).clamp(24.0, 96.0);
        let gap_x = ((avail.x - columns.len() as f32 * tile - 100.0)
            / (columns.len() as f32 - 1.0).max(1.0))
        .clamp(tile, 8.0 * tile);
        let height = tallest * tile * ROW + 30.0;
        let (response, painter) = ui.allocate_painter(vec2(avail.x, height), Sense::hover());
        let origin = response.rect.min + vec2(60.0, 24.0);
        let layout = Layout {
            columns,
            tallest,
            tile,
            gap_x,
            origin,
        };
        (layout, response, painter)
    }

    /// The top left of unit `i`'s map in column `col` (each column centred vertically).
    fn pos_of(&self, col: usize, i: usize) -> Pos2 {
        let n = self.columns[col].len() as f32;
        self.origin
            + vec2(
                col as f32 * (self.tile + self.gap_x),
                (self.tallest - n) * self.tile * ROW / 2.0 + i as f32 * self.tile * ROW,
            )
    }
}

/// Paints every weight as a link, as thick as |w| against the largest, blue positive,
/// orange negative; returns the link nearest the pointer at `hover` (within 4 points) with
/// its distance and a line naming it and its weight.
fn paint_links(
    painter: &Painter,
    layout: &Layout,
    net: &Network<f32>,
    hover: Option<Pos2>,
) -> Option<(f32, String)> {
    let tile = layout.tile;
    let columns = &layout.columns;
    let top = largest_weight(net);
    let mut hovered: Option<(f32, String)> = None;
    for (l, layer) in net.layers.iter().enumerate() {
        for (to, row) in layer.weights.rows().into_iter().enumerate() {
            for (from, &w) in row.iter().enumerate() {
                let a = layout.pos_of(l, from) + vec2(tile, tile / 2.0);
                let b = layout.pos_of(l + 1, to) + vec2(0.0, tile / 2.0);
                let c = if w >= 0.0 {
                    [0x21, 0x66, 0xAC]
                } else {
                    [0xE0, 0x7B, 0x1A]
                };
                let s = w.abs() / top;
                let [r, g, b_] = toward_white(c, 0.3 + 0.7 * s);
                painter.line_segment(
                    [a, b],
                    Stroke::new(0.5 + 5.0 * s, Color32::from_rgb(r, g, b_)),
                );
                if let Some(h) = hover {
                    let d = distance_to_segment(h, a, b);
                    if d < 4.0 && hovered.as_ref().is_none_or(|(best, _)| d < *best) {
                        hovered = Some((
                            d,
                            format!("{} → {}: w = {w:.4}", columns[l][from], columns[l + 1][to]),
                        ));
                    }
                }
            }
        }
    }
    hovered
}

/// Paints each unit's map from `textures`, framed and named (inputs named on the left,
/// classes on the right, hidden units below); returns a line with the bias of the unit
/// under the pointer at `hover`, if any.
fn paint_units(
    painter: &Painter,
    layout: &Layout,
    net: &Network<f32>,
    textures: &[TextureHandle],
    hover: Option<Pos2>,
    text: Color32,
) -> Option<String> {
    let columns = &layout.columns;
    let mut bias_line = None;
    for (col, names) in columns.iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let r = Rect::from_min_size(layout.pos_of(col, i), vec2(layout.tile, layout.tile));
            // The textures are in drawing order: inputs, hidden units, classes.
            let tex_index = columns[..col].iter().map(Vec::len).sum::<usize>() + i;
            if let Some(tex) = textures.get(tex_index) {
                painter.image(
                    tex.id(),
                    r,
                    Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
            painter.rect_stroke(
                r,
                0.0,
                Stroke::new(1.0, Color32::from_gray(90)),
                egui::StrokeKind::Inside,
            );
            let (text_at, align) = if col == 0 {
                (r.left_center() - vec2(4.0, 0.0), Align2::RIGHT_CENTER)
            } else if col + 1 == columns.len() {
                (r.right_center() + vec2(4.0, 0.0), Align2::LEFT_CENTER)
            } else {
                (r.center_bottom() + vec2(0.0, 2.0), Align2::CENTER_TOP)
            };
            painter.text(text_at, align, name, FontId::proportional(13.0), text);
            if col > 0 && hover.is_some_and(|h| r.contains(h)) {
                let bias = net.layers[col - 1].bias[i];
                bias_line = Some(format!("{name}: bias b = {bias:.4}"));
            }
        }
    }
    bias_line
}

/// Paints each column's head above it: inputs, the hidden layers with their activation,
/// p(class).
fn paint_heads(painter: &Painter, layout: &Layout, net: &Network<f32>, text: Color32) {
    let columns = layout.columns.len();
    let heads: Vec<String> = std::iter::once("inputs".to_string())
        .chain((1..columns - 1).map(|l| format!("hidden {l} ({})", net.activation.label())))
        .chain(std::iter::once("p(class)".to_string()))
        .collect();
    for (col, head) in heads.iter().enumerate() {
        painter.text(
            layout
                .pos_of(col, 0)
                .min(layout.origin + vec2(col as f32 * (layout.tile + layout.gap_x), 0.0))
                - vec2(-layout.tile / 2.0, 4.0),
            Align2::CENTER_BOTTOM,
            head,
            FontId::proportional(14.0),
            text,
        );
    }
}

/// The distance from `p` to the segment from `a` to `b`.
fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_sq().max(1e-6)).clamp(0.0, 1.0);
    (a + ab * t).distance(p)
}
