//! Live curves: cost, loss and accuracy per epoch, and the per-step training loss.

use egui::{Id, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoint, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use crate::train::metrics::smooth;

/// One per-epoch plot: id, title, and its (name, points) series.
type EpochPlot<'a> = (&'a str, &'a str, [(&'a str, &'a [PlotPoint]); 2]);

/// Most points drawn for the step-loss curve.
const MAX_STEP_POINTS: usize = 4000;

/// State of the plots panel.
pub struct PlotsPanel {
    /// Exponential smoothing of the step-loss curve, 0 (none) to 0.999.
    pub smoothing: f64,
    smoothed: Vec<PlotPoint>,
    smoothed_key: (u64, usize, u64),
}

impl Default for PlotsPanel {
    fn default() -> Self {
        PlotsPanel {
            smoothing: 0.9,
            smoothed: Vec::new(),
            smoothed_key: (0, 0, 0),
        }
    }
}

fn epoch_plot(ui: &mut Ui, id: &str, title: &str, series: [(&str, &[PlotPoint]); 2], height: f32) {
    let group = Id::unique("trainviz-epoch-axes");
    ui.vertical(|ui| {
        ui.label(title);
        Plot::new(id)
            .height(height)
            .legend(Legend::default())
            .link_axis(group, [true, false])
            .link_cursor(group, [true, false])
            .x_axis_label("epoch")
            .show(ui, |plot| {
                for (name, points) in series {
                    plot.line(Line::new(name, PlotPoints::Borrowed(points)));
                }
            });
    });
}

impl PlotsPanel {
    /// A panel with the given step-loss smoothing.
    pub fn with_smoothing(smoothing: f64) -> Self {
        PlotsPanel {
            smoothing,
            ..Default::default()
        }
    }

    /// Draws the plots of `history`; returns an export request for the step-loss curve.
    pub fn ui(&mut self, ui: &mut Ui, history: &RunHistory) -> Option<ExportRequest> {
        let mut request = None;
        let width = (ui.available_width() / 3.0 - 8.0).max(120.0);
        let height = 200.0;
        let plots: [EpochPlot<'_>; 3] = [
            (
                "cost",
                "Cost (loss + λ·|W|²)",
                [
                    ("train", &history.train_cost),
                    ("validation", &history.val_cost),
                ],
            ),
            (
                "loss",
                "Loss",
                [
                    ("train", &history.train_loss),
                    ("validation", &history.val_loss),
                ],
            ),
            (
                "accuracy",
                "Accuracy",
                [
                    ("train", &history.train_acc),
                    ("validation", &history.val_acc),
                ],
            ),
        ];
        ui.horizontal(|ui| {
            ui.set_height(height + 24.0);
            for (id, title, series) in plots {
                ui.allocate_ui(egui::vec2(width, height + 24.0), |ui| {
                    epoch_plot(ui, id, title, series, height)
                });
            }
        });
        ui.horizontal(|ui| {
            ui.label("Mini-batch loss");
            ui.add(egui::Slider::new(&mut self.smoothing, 0.0..=0.999).text("smoothing"))
                .on_hover_text(
                    "Exponential moving average of the per-step loss; 0 shows the raw values.",
                );
            if ui
                .add_enabled(!history.step_loss.is_empty(), egui::Button::new("Export…"))
                .on_hover_text("PNG, SVG or CSV of the per-step loss")
                .clicked()
            {
                let raw: Vec<(f64, f64)> = history.step_loss.iter().map(|p| (p.x, p.y)).collect();
                let smoothed = smooth(raw.iter().copied(), self.smoothing);
                let fig = crate::report::figures::step_loss(&raw, &smoothed, self.smoothing);
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        let key = (
            history.run,
            history.step_loss.len(),
            self.smoothing.to_bits(),
        );
        if key != self.smoothed_key {
            let smoothed = smooth(history.step_loss.iter().map(|p| (p.x, p.y)), self.smoothing);
            // A smoothed curve loses nothing visible when thinned to a few thousand points,
            // and long runs (490 steps × hundreds of epochs) stay cheap to draw.
            let stride = smoothed.len().div_ceil(MAX_STEP_POINTS).max(1);
            self.smoothed = smoothed
                .iter()
                .enumerate()
                .filter(|(i, _)| i % stride == 0 || *i + 1 == smoothed.len())
                .map(|(_, &(x, y))| PlotPoint::new(x, y))
                .collect();
            self.smoothed_key = key;
        }
        Plot::new("step-loss")
            .height(150.0)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .show(ui, |plot| {
                plot.line(Line::new(
                    "batch loss (smoothed)",
                    PlotPoints::Borrowed(&self.smoothed),
                ));
            });
        request
    }
}
