//! Layers: per layer and per epoch, how the network is doing inside: the outputs' mean and
//! spread, dead or saturated units, gradient norms (vanishing and exploding gradients) and
//! the update-to-weight ratio. The numbers come from the engine with each epoch.

use egui::Ui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use crate::report::figures::{LayerMetric, layer_metric};

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
                        Plot::new(("layers", metric.id()))
                            .height(210.0)
                            .width(width)
                            .legend(Legend::default())
                            .x_axis_label("epoch")
                            .y_axis_label(metric.axis())
                            .allow_scroll(false)
                            .show(ui, |plot| {
                                for (name, points) in series {
                                    let pts: Vec<[f64; 2]> =
                                        points.iter().map(|&(x, y)| [x, y]).collect();
                                    plot.line(Line::new(name, PlotPoints::from(pts)));
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
