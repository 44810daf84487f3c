//! Layers: per layer and per epoch, how the network is doing inside: the outputs' mean and
//! spread, dead or saturated units, gradient norms (vanishing and exploding gradients) and
//! the update-to-weight ratio. The numbers come from the engine with each epoch.

use egui::Ui;
use egui_plot::{Line, PlotPoint, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::plots::{placed_legend, readable_plot, series_colour, waiting, with_one_point_bounds};
use crate::report::figures::{LayerMetric, layer_metric};

/// What the dead-units plot says for a linear model.
pub const LINEAR_NO_UNITS: &str =
    "A linear classifier has no hidden units: none can be dead or saturated.";

/// State of the Layers panel (none yet: every plot is drawn from the history).
#[derive(Default)]
pub struct LayersPanel;

impl LayersPanel {
    /// Draws one plot per quantity; returns an export request when a button was pressed.
    pub fn ui(&mut self, ui: &mut Ui, history: &RunHistory) -> Option<ExportRequest> {
        let Some(info) = &history.info else {
            ui.label("Start a run to see its layers.");
            return None;
        };
        if info.settings.start.hidden.is_empty() {
            ui.label(
                "A linear classifier has a single layer: add hidden layers (e.g. 50,50) and press Reset to compare layers.",
            );
        }
        if history.epochs.is_empty() {
            ui.label("The first numbers arrive at the end of the first epoch.");
            return None;
        }
        let activation = info.settings.start.activation;
        let mut request = None;
        let width = (ui.available_width() / 2.0 - 12.0).max(240.0);
        ui.horizontal_wrapped(|ui| {
            for metric in LayerMetric::ALL {
                let series = metric.series(&history.epochs);
                ui.allocate_ui(egui::vec2(width, 250.0), |ui| {
                    ui.vertical(|ui| {
                        ui.horizontal(|ui| {
                            ui.label(metric.title(activation));
                            if ui
                                .small_button("Export…")
                                .on_hover_text("PNG, SVG or CSV of this plot")
                                .clicked()
                            {
                                let fig =
                                    layer_metric(&history.epochs, metric, activation, Some(info));
                                request = Some(ExportRequest::Figure(Box::new(fig)));
                            }
                        });
                        if series.is_empty() {
                            // Only the class-score layer: it has no activation, so no unit
                            // of it can be dead or saturated.
                            waiting(ui, egui::vec2(width, 210.0), LINEAR_NO_UNITS);
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
                        let all: Vec<&[PlotPoint]> =
                            lines.iter().map(|(_, p)| p.as_slice()).collect();
                        let entries: Vec<(&str, egui::Color32)> = lines
                            .iter()
                            .enumerate()
                            .map(|(i, (name, _))| (name.as_str(), series_colour(i)))
                            .collect();
                        let plot = readable_plot(metric.id(), "epoch", metric.axis(), true)
                            // A fixed id, so tests can read the plot's bounds.
                            .id(egui::Id::unique(metric.id()))
                            .height(210.0)
                            .width(width)
                            .allow_scroll(false);
                        let plot = placed_legend(ui, plot, &all, &entries);
                        // A share reads 0 to 1 whatever its values (all zero is good news,
                        // not a flat line in the middle of −5…5).
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
            }
        });
        ui.weak(
            "Outputs are measured on the validation images after each epoch (after the activation; the last layer's are class scores). Gradients and updates are those of the epoch's last mini-batch. Healthy updates are around a thousandth of the weights (−3 on the log10 scale).",
        );
        request
    }
}
