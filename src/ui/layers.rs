//! Layers: per layer and per epoch, how the network is doing inside: the outputs' mean and
//! spread, dead or saturated units, gradient norms (vanishing and exploding gradients) and
//! the update-to-weight ratio; below them the last epoch's numbers as ConvNetJS prints them
//! (parameters, output and gradient ranges). The numbers come from the engine with each
//! epoch, for an MLP's layers and a ConvNet's layers with weights alike.

use egui::Ui;
use egui_plot::{Line, PlotPoint, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::plots::{legend_wrapped, readable_plot, series_colour, waiting, with_one_point_bounds};
use crate::format::short_number;
use crate::model::Activation;
use crate::report::layer_figures::{LayerMetric, layer_metric, unit_activation};
use crate::train::EpochMetrics;

/// What the dead-units plot says for a linear model.
pub const LINEAR_NO_UNITS: &str =
    "A linear classifier has no hidden units: none can be dead or saturated.";
/// What the dead-units plot says for a layer stack whose only weights are the class scores'.
pub const SCORES_ONLY_NO_UNITS: &str =
    "Only the class scores have weights here: they have no activation, so none can be dead.";
/// What the panel says about a layer stack's rows.
pub const STACK_ROWS: &str = "One line per layer with weights (patchify, conv, dense), measured after the batch norm and activation that follow it; a convolution's unit is a channel, dead when it is zero at every position of every validation image.";

/// What the panel says for a run whose epochs carry no per-layer numbers.
pub const NOT_RECORDED: &str = "This run's epochs carry no per-layer numbers: it was saved by \
     a version of trainviz that did not record them for its kind of network. Train it again \
     (Reset, or \"+10 epochs\" for the epochs to come) to see its layers.";

/// State of the Layers panel (none yet: every plot is drawn from the history).
#[derive(Default)]
pub struct LayersPanel;

/// What every plot of the panel shares.
struct PlotFrame {
    width: f32,
    height: f32,
    activation: Option<Activation>,
    stack: bool,
}

impl LayersPanel {
    /// Draws one plot per quantity and the last epoch's table; returns an export request
    /// when a button was pressed. `view_height` is the height of the tab's view: the plots
    /// share it.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        view_height: f32,
    ) -> Option<ExportRequest> {
        let Some(info) = &history.info else {
            ui.label("Start a run to see its layers.");
            return None;
        };
        let stack = info.settings.start.uses_stack();
        if stack {
            ui.label(STACK_ROWS);
        } else if info.settings.start.hidden.is_empty() {
            ui.label(
                "A linear classifier has a single layer: add hidden layers (e.g. 50,50) and press Reset to compare layers.",
            );
        }
        let Some(last) = history.epochs.last() else {
            ui.label("The first numbers arrive at the end of the first epoch.");
            return None;
        };
        if history.epochs.iter().all(|m| m.layers.is_empty()) {
            // A run saved by a version that did not record them (a ConvNet before
            // December 2026): nothing to plot, and not because no unit can be dead.
            ui.label(NOT_RECORDED);
            return None;
        }
        // One legend above every plot (a layer has the same colour in each): nine layers'
        // names inside the plots covered the curves and ran off the right edge.
        let names: Vec<String> = LayerMetric::ALL
            .iter()
            .map(|m| m.series(&history.epochs))
            .max_by_key(Vec::len)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let entries: Vec<(&str, egui::Color32)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_str(), series_colour(i)))
            .collect();
        legend_wrapped(ui, &entries);
        // Three plots a row in a wide window, two otherwise; their height shares what is
        // left of the view with the table (the footnote below stays in sight).
        let columns = if ui.available_width() >= 1500.0 { 3 } else { 2 };
        let rows = LayerMetric::ALL.len().div_ceil(columns);
        let used = ui.cursor().top() - ui.min_rect().top();
        let table = 24.0 * (last.layers.len() as f32 + 2.0);
        let frame = PlotFrame {
            width: (ui.available_width() / columns as f32 - 12.0).max(240.0),
            height: ((view_height - used - table - 90.0) / rows as f32 - 40.0).clamp(160.0, 420.0),
            activation: unit_activation(&info.settings.start),
            stack,
        };
        let mut request = None;
        ui.horizontal_wrapped(|ui| {
            for metric in LayerMetric::ALL {
                if plot_metric(ui, history, metric, &frame) {
                    let fig = layer_metric(&history.epochs, metric, frame.activation, Some(info));
                    request = Some(ExportRequest::Figure(Box::new(fig)));
                }
            }
        });
        last_epoch_table(ui, &names, &frame, last);
        ui.add(egui::Label::new(egui::RichText::new(
            "Outputs are measured on the validation images after each epoch (after the activation; the last layer's are class scores). Gradients and updates are those of the epoch's last mini-batch. Healthy updates are around a thousandth of the weights (−3 on the log10 scale).",
        ).weak()).wrap());
        request
    }
}

/// One quantity's plot, a line per layer, with its title and export button; true when the
/// button was pressed.
fn plot_metric(ui: &mut Ui, history: &RunHistory, metric: LayerMetric, frame: &PlotFrame) -> bool {
    let series = metric.series(&history.epochs);
    let mut export = false;
    ui.allocate_ui(egui::vec2(frame.width, frame.height + 40.0), |ui| {
        ui.vertical(|ui| {
            // A long title wraps within its plot's width (it pushed the row's next plot
            // down to a row of its own at 1024 px).
            ui.set_max_width(frame.width);
            ui.horizontal_wrapped(|ui| {
                ui.label(metric.title(frame.activation));
                export = ui
                    .small_button("Export…")
                    .on_hover_text("PNG, SVG or CSV of this plot")
                    .clicked();
            });
            if series.is_empty() {
                // Only the class-score layer: it has no activation, so no unit of it can be
                // dead or saturated.
                let why = if frame.stack {
                    SCORES_ONLY_NO_UNITS
                } else {
                    LINEAR_NO_UNITS
                };
                waiting(ui, egui::vec2(frame.width, frame.height), why);
                return;
            }
            let lines: Vec<(String, Vec<PlotPoint>)> = series
                .into_iter()
                .map(|(name, points)| {
                    let pts = points
                        .into_iter()
                        .map(|(x, y)| PlotPoint::new(x, y))
                        .collect();
                    (name, pts)
                })
                .collect();
            let all: Vec<&[PlotPoint]> = lines.iter().map(|(_, p)| p.as_slice()).collect();
            let plot = readable_plot(metric.id(), "epoch", metric.axis(), true)
                // A fixed id, so tests can read the plot's bounds.
                .id(egui::Id::unique(metric.id()))
                .height(frame.height)
                .width(frame.width)
                .allow_scroll(false);
            // A share reads 0 to 1 whatever its values (all zero is good news, not a flat
            // line in the middle of −5…5).
            let plot = match metric.y_range() {
                Some((lo, hi)) => plot.default_y_bounds(lo, hi),
                None => with_one_point_bounds(plot, &all),
            };
            plot.show(ui, |plot| {
                for (i, (name, points)) in lines.iter().enumerate() {
                    plot.line(
                        Line::new(name.as_str(), PlotPoints::Borrowed(points))
                            .color(series_colour(i)),
                    );
                }
            });
        });
    });
    export
}

/// The last epoch's numbers per layer, as ConvNetJS prints them beside each layer:
/// parameters, output range, mean and spread, dead (or saturated) share, gradient range and
/// norm, update ratio. A number the record lacks (a run saved before it was kept, a layer
/// that no activation follows) reads "—". It scrolls sideways in a narrow window rather than
/// widening the panel.
fn last_epoch_table(ui: &mut Ui, names: &[String], frame: &PlotFrame, last: &EpochMetrics) {
    let cell = |x: f64| {
        if x.is_finite() {
            short_number(x)
        } else {
            "—".to_string()
        }
    };
    let stuck = match frame.activation {
        Some(Activation::Relu) => "dead",
        Some(_) => "saturated",
        None => "dead or sat.",
    };
    ui.add_space(4.0);
    ui.strong(format!("Epoch {}, per layer", last.epoch));
    let layers = &last.layers;
    egui::ScrollArea::horizontal()
        .id_salt("layers-last-epoch-scroll")
        .show(ui, |ui| {
            egui::Grid::new("layers-last-epoch")
                .striped(true)
                .num_columns(11)
                .show(ui, |ui| {
                    for h in [
                        "layer",
                        "params",
                        "out min",
                        "mean",
                        "max",
                        "std",
                        stuck,
                        "grad min",
                        "max",
                        "|dcost/dW|",
                        "|ΔW| / |W|",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for (l, s) in layers.iter().enumerate() {
                        let name = names.get(l).cloned();
                        ui.label(name.unwrap_or_else(|| format!("layer {}", l + 1)));
                        ui.label(if s.params > 0 {
                            s.params.to_string()
                        } else {
                            "—".to_string()
                        });
                        for x in [s.out_min, s.mean, s.out_max, s.std] {
                            ui.label(cell(x));
                        }
                        let scores = l + 1 == layers.len();
                        ui.label(if scores || !s.stuck.is_finite() {
                            "—".to_string()
                        } else {
                            format!("{:.0} %", 100.0 * s.stuck)
                        });
                        for x in [s.grad_min, s.grad_max, s.grad_norm, s.update_ratio] {
                            ui.label(cell(x));
                        }
                        ui.end_row();
                    }
                });
        });
}
