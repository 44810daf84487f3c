//! ConvNetJS's view of how a layer maps the plane, in the Network tab: pick a layer and two
//! of its units; the plane's grid lines and the training points, carried through the
//! network to that layer, are drawn at those two units' outputs. A hidden layer bends and
//! folds the grid so that the classes come apart; the class scores' layer shows them
//! separated by a line when the network has learnt. The numbers come from
//! [`crate::train::plane::warp`]; this file only draws them.

use egui::{Color32, Ui};
use egui_plot::{Line, PlotPoints, Points};

use crate::data::Normalizer;
use crate::data::plane::{Feature, PlanePoint};
use crate::model::{Activation, LossKind, Network};
use crate::report::plane::{class_rgb, toward_white};
use crate::train::plane::{Warp, warp};
use crate::words::Words;

/// Grid lines per direction: one every unit of the plane, −6 to 6.
const LINES: usize = 13;
/// Points along each grid line.
const SAMPLES: usize = 61;

/// (run, weights version, layer, units) a computed warp belongs to.
type Key = (u64, u64, usize, [usize; 2]);

/// State of the warped-grid view: the layer and units chosen, and the last warp computed.
#[derive(Default)]
pub struct WarpPanel {
    /// The layer shown (0 the first hidden layer; the last is the class scores). `None`
    /// until chosen: then the last hidden layer.
    pub layer: Option<usize>,
    /// The two units whose outputs are the axes.
    pub units: [usize; 2],
    cache: Option<(Key, Warp)>,
}

/// What the view needs to know about the run.
pub struct WarpInput<'a> {
    /// (run, weights version) of `net`.
    pub version: (u64, u64),
    /// The latest weights.
    pub net: &'a Network<f32>,
    /// The inputs' normaliser and the features the network takes.
    pub norm: &'a Normalizer,
    /// The features the network takes.
    pub features: &'a [Feature],
    /// The run's loss (it decides how scores become probabilities).
    pub loss: LossKind,
    /// The training points.
    pub train: &'a [PlanePoint],
    /// The classes' names.
    pub class_names: &'a [String],
}

/// The name of layer `l` of `net` in menus and on the axes.
fn layer_name(net: &Network<f32>, l: usize) -> String {
    if l + 1 == net.layers.len() {
        "class scores".to_string()
    } else {
        format!("hidden {} ({})", l + 1, net.activation.label())
    }
}

/// The name of unit `u` of layer `l` (as the network view labels it).
fn unit_name(net: &Network<f32>, l: usize, u: usize, class_names: &[String]) -> String {
    if l + 1 == net.layers.len() {
        class_names
            .get(u)
            .map_or_else(|| format!("class {}", u + 1), |n| format!("score of {n}"))
    } else {
        format!("h{}.{}", l + 1, u + 1)
    }
}

/// The default layer: the last hidden one with two units at least, else the class scores.
fn default_layer(net: &Network<f32>) -> usize {
    let last = net.layers.len().saturating_sub(1);
    (0..last)
        .rev()
        .find(|&l| net.layers[l].weights.nrows() >= 2)
        .unwrap_or(last)
}

/// Runs of consecutive vertices of one predicted class, each with the vertex after it so
/// that the runs join up: (class, points). A vertex at the same place as the one before
/// is left out (saturated units put many there: nothing to draw).
fn class_runs(line: &[crate::train::plane::WarpVertex]) -> Vec<(usize, Vec<[f64; 2]>)> {
    let mut runs: Vec<(usize, Vec<[f64; 2]>)> = Vec::new();
    for v in line {
        let p = [f64::from(v.at[0]), f64::from(v.at[1])];
        let repeated = runs
            .last()
            .and_then(|(_, pts)| pts.last())
            .is_some_and(|q| {
                let scale = 1.0 + q[0].abs().max(q[1].abs());
                (p[0] - q[0]).abs().max((p[1] - q[1]).abs()) <= 1e-5 * scale
            });
        if repeated {
            continue;
        }
        match runs.last_mut() {
            Some((class, pts)) if *class == v.class => pts.push(p),
            Some((_, pts)) => {
                pts.push(p);
                runs.push((v.class, vec![p]));
            }
            None => runs.push((v.class, vec![p])),
        }
    }
    runs
}

/// The range an axis must show: the data's, widened to a span of 1 at least when it is
/// narrower (a saturated unit otherwise zooms the axis into rounding noise), and for a
/// hidden layer the activation's whole range (tanh −1…1, sigmoid 0…1, ReLU from 0).
fn axis_span(values: impl Iterator<Item = f32>, hidden: Option<Activation>) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
    if lo > hi {
        (lo, hi) = (0.0, 0.0);
    }
    if hi - lo < 1.0 {
        let mid = (lo + hi) / 2.0;
        (lo, hi) = (mid - 0.5, mid + 0.5);
    }
    match hidden {
        // The activation's range holds every value: show all of it.
        Some(Activation::Tanh) => (-1.0, 1.0),
        Some(Activation::Sigmoid) => (0.0, 1.0),
        Some(Activation::Relu) => (lo.max(0.0), hi.max(1.0)),
        None => (lo, hi),
    }
}

impl WarpPanel {
    /// Chooses layer `layer` and units `units` (clamped to what the network has).
    fn clamp(&mut self, net: &Network<f32>) -> (usize, [usize; 2]) {
        let last = net.layers.len().saturating_sub(1);
        let layer = self.layer.unwrap_or_else(|| default_layer(net)).min(last);
        let width = net.layers.get(layer).map_or(0, |l| l.weights.nrows());
        let top = width.saturating_sub(1);
        let mut units = self.units.map(|u| u.min(top));
        if units[0] == units[1] && width >= 2 {
            units[1] = if units[0] == 0 { 1 } else { 0 };
        }
        self.units = units;
        (layer, units)
    }

    /// Draws the layer and unit menus and the warped grid.
    pub fn ui(&mut self, ui: &mut Ui, input: &WarpInput<'_>) {
        let net = input.net;
        let (layer, _) = self.clamp(net);
        self.layer = Some(layer);
        self.menus(ui, net, layer, input.class_names);
        let (layer, units) = self.clamp(net);
        if units[0] == units[1] {
            ui.label("This layer has one unit: the view needs a layer with two.");
            return;
        }
        self.refresh(input, layer, units);
        let Some((_, w)) = &self.cache else {
            ui.label("The network does not take these inputs: Reset to start a fitting run.");
            return;
        };
        ui.label(
            egui::RichText::new(
                "The plane's grid lines (x₁ and x₂ every 1 from −6 to 6) and the training \
                 points, as this layer sees them: each at the two units' outputs. Lines are \
                 coloured by the class the network predicts there, points by their class.",
            )
            .weak(),
        );
        draw_warp(ui, w, input, layer, units);
    }

    /// The menus of the layer (shown as `layer` now) and of the two units on the axes.
    fn menus(&mut self, ui: &mut Ui, net: &Network<f32>, layer: usize, class_names: &[String]) {
        ui.horizontal_wrapped(|ui| {
            ui.label("layer");
            egui::ComboBox::from_id_salt("warp-layer")
                .selected_text(layer_name(net, layer))
                .show_ui(ui, |ui| {
                    for l in 0..net.layers.len() {
                        let wide = net.layers[l].weights.nrows() >= 2;
                        let r = ui.add_enabled(
                            wide,
                            egui::Button::selectable(layer == l, layer_name(net, l)),
                        );
                        if r.on_disabled_hover_text("One unit: a plane needs two")
                            .clicked()
                            && l != layer
                        {
                            // Another layer: start from its first two units.
                            self.layer = Some(l);
                            self.units = [0, 1];
                        }
                    }
                });
            let shown = self.layer.unwrap_or(layer);
            let width = net.layers.get(shown).map_or(0, |l| l.weights.nrows());
            for (axis, unit) in ["x axis", "y axis"].into_iter().zip(self.units.iter_mut()) {
                ui.label(axis);
                egui::ComboBox::from_id_salt(("warp-unit", axis))
                    .selected_text(unit_name(net, shown, *unit, class_names))
                    .show_ui(ui, |ui| {
                        for u in 0..width {
                            let name = unit_name(net, shown, u, class_names);
                            ui.selectable_value(unit, u, name);
                        }
                    });
            }
        });
    }

    /// Computes the warp of `layer`'s `units` again unless the one kept is of these weights,
    /// layer and units.
    fn refresh(&mut self, input: &WarpInput<'_>, layer: usize, units: [usize; 2]) {
        let key = (input.version.0, input.version.1, layer, units);
        if self.cache.as_ref().is_none_or(|(k, _)| *k != key) {
            let points: Vec<[f32; 2]> = input.train.iter().map(|p| p.x).collect();
            self.cache = warp(
                input.net,
                input.norm,
                input.features,
                input.loss,
                layer,
                units,
                LINES,
                SAMPLES,
                &points,
            )
            .map(|w| (key, w));
        }
    }
}

/// Plots warp `w` of `layer`'s `units`: the grid lines in faint colours of the class
/// predicted along them, the training points in their class's colour, outlined.
fn draw_warp(ui: &mut Ui, w: &Warp, input: &WarpInput<'_>, layer: usize, units: [usize; 2]) {
    let net = input.net;
    let x_name = unit_name(net, layer, units[0], input.class_names);
    let y_name = unit_name(net, layer, units[1], input.class_names);
    let colour = |k: usize| {
        let c = class_rgb(k);
        Color32::from_rgb(c[0], c[1], c[2])
    };
    let faint = |k: usize| {
        let c = toward_white(class_rgb(k), 0.55);
        Color32::from_rgb(c[0], c[1], c[2])
    };
    let outline = ui.visuals().text_color();
    let hidden = (layer + 1 < net.layers.len()).then_some(net.activation);
    let all = || {
        w.lines
            .iter()
            .flatten()
            .map(|v| v.at)
            .chain(w.points.iter().copied())
    };
    let (x0, x1) = axis_span(all().map(|p| p[0]), hidden);
    let (y0, y1) = axis_span(all().map(|p| p[1]), hidden);
    super::plots::readable_plot("plane-warp", &x_name, &y_name, false)
        .height((ui.available_height() - 8.0).max(240.0))
        .include_x(x0)
        .include_x(x1)
        .include_y(y0)
        .include_y(y1)
        .show(ui, |plot| {
            for line in &w.lines {
                for (k, pts) in class_runs(line) {
                    plot.line(
                        Line::new("", PlotPoints::from(pts))
                            .color(faint(k))
                            .width(1.2)
                            // egui_plot draws a line whose x never falls as a filled
                            // band of its range at each x (for long time series): a
                            // grid line along a saturated unit became a solid triangle.
                            .allow_band(false),
                    );
                }
            }
            for (k, name) in input.class_names.iter().enumerate() {
                let pts: Vec<[f64; 2]> = w
                    .points
                    .iter()
                    .zip(input.train)
                    .filter(|(_, p)| usize::from(p.label) == k)
                    .map(|(q, _)| [f64::from(q[0]), f64::from(q[1])])
                    .collect();
                plot.points(Points::new("", pts.clone()).radius(3.8).color(outline));
                plot.points(Points::new(name.as_str(), pts).radius(2.8).color(colour(k)));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::plane::WarpVertex;

    #[test]
    fn axes_show_the_activation_s_range_and_never_a_sliver() {
        let near = |(a, b): (f64, f64), (c, d): (f64, f64)| {
            assert!((a - c).abs() < 1e-9 && (b - d).abs() < 1e-9, "{a}…{b}")
        };
        // A saturated tanh unit (all −1) still gets the whole −1…1.
        near(
            axis_span([-1.0f32, -1.0].into_iter(), Some(Activation::Tanh)),
            (-1.0, 1.0),
        );
        near(
            axis_span([0.2f32, 0.3].into_iter(), Some(Activation::Sigmoid)),
            (0.0, 1.0),
        );
        near(
            axis_span([0.0f32, 7.5].into_iter(), Some(Activation::Relu)),
            (0.0, 7.5),
        );
        // Class scores: the data's range, a span of 1 at least.
        near(axis_span([3.0f32, 3.0].into_iter(), None), (2.5, 3.5));
        near(axis_span([-4.0f32, 9.0].into_iter(), None), (-4.0, 9.0));
        near(axis_span(std::iter::empty(), None), (-0.5, 0.5));
    }

    #[test]
    fn a_grid_line_splits_into_joined_runs_of_one_class() {
        let v = |x: f32, class: usize| WarpVertex {
            at: [x, 0.0],
            class,
            confidence: 1.0,
        };
        let runs = class_runs(&[v(0.0, 0), v(1.0, 0), v(2.0, 1), v(3.0, 1), v(4.0, 0)]);
        let classes: Vec<usize> = runs.iter().map(|r| r.0).collect();
        assert_eq!(classes, [0, 1, 0]);
        // Each run ends where the next begins.
        assert_eq!(runs[0].1, [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]);
        assert_eq!(runs[1].1, [[2.0, 0.0], [3.0, 0.0], [4.0, 0.0]]);
        assert_eq!(runs[2].1, [[4.0, 0.0]]);
        // Repeated places are dropped, whatever their class.
        let runs = class_runs(&[v(0.0, 0), v(0.0, 0), v(1.0, 0), v(1.0, 1), v(2.0, 1)]);
        assert_eq!(runs[0], (0, vec![[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]));
        assert_eq!(runs[1], (1, vec![[2.0, 0.0]]));
    }
}
