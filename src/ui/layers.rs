//! Layers: per layer and per epoch, how the network is doing inside: the outputs' mean and
//! spread, dead or saturated units, gradient norms (vanishing and exploding gradients) and
//! the update-to-weight ratio. The numbers come from the engine with each epoch.

use egui::Ui;
use egui_plot::{Legend, Line, PlotPoint, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::plots::{emptiest_corner, readable_plot, waiting, with_one_point_bounds};
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
                                let fig = layer_metric(&history.epochs, metric, activation);
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
                        let plot = readable_plot(metric.id(), "epoch", metric.axis(), true)
                            .height(210.0)
                            .width(width)
                            .legend(Legend::default().position(emptiest_corner(&all)))
                            .allow_scroll(false);
                        with_one_point_bounds(plot, &all).show(ui, |plot| {
                            for (name, points) in &lines {
                                plot.line(Line::new(name.as_str(), PlotPoints::Borrowed(points)));
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
