//! Layers: per layer and per epoch, how the network is doing inside: the outputs' mean and
//! spread, dead or saturated units, gradient norms (vanishing and exploding gradients) and
//! the update-to-weight ratio. The numbers come from the engine with each epoch.

use egui::Ui;
use egui_plot::{Line, PlotPoint, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::plots::{legend_wrapped, readable_plot, series_colour, waiting, with_one_point_bounds};
use crate::report::figures::{LayerMetric, layer_metric};

/// What the dead-units plot says for a linear model.
pub const LINEAR_NO_UNITS: &str =
    "A linear classifier has no hidden units: none can be dead or saturated.";

/// State of the Layers panel (none yet: every plot is drawn from the history).
#[derive(Default)]
pub struct LayersPanel;

impl LayersPanel {
    /// Draws one plot per quantity; returns an export request when a button was pressed.
    /// `view_height` is the height of the tab's view: the plots share it.
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
        // left of the view (the footnote below stays in sight).
        let columns = if ui.available_width() >= 1500.0 { 3 } else { 2 };
        let rows = LayerMetric::ALL.len().div_ceil(columns);
        let width = (ui.available_width() / columns as f32 - 12.0).max(240.0);
        let used = ui.cursor().top() - ui.min_rect().top();
        let plot_height = ((view_height - used - 90.0) / rows as f32 - 40.0).clamp(160.0, 420.0);
        ui.horizontal_wrapped(|ui| {
            for metric in LayerMetric::ALL {
                let series = metric.series(&history.epochs);
                ui.allocate_ui(egui::vec2(width, plot_height + 40.0), |ui| {
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
                            waiting(ui, egui::vec2(width, plot_height), LINEAR_NO_UNITS);
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
                            // A fixed id, so tests can read the plot's bounds.
                            .id(egui::Id::unique(metric.id()))
                            .height(plot_height)
                            .width(width)
                            .allow_scroll(false);
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
        ui.add(egui::Label::new(egui::RichText::new(
            "Outputs are measured on the validation images after each epoch (after the activation; the last layer's are class scores). Gradients and updates are those of the epoch's last mini-batch. Healthy updates are around a thousandth of the weights (−3 on the log10 scale).",
        ).weak()).wrap());
        request
    }
}
