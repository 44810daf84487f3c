//! Gradient check from the window: analytic against numerical gradients of the run's model
//! and loss on a small subset, largest and mean relative error per parameter.

use egui::{Color32, Ui};

use super::export::ExportRequest;
use super::history::RunHistory;
use crate::format::{Notation, significant};
use crate::train::AnalysisRequest;

/// Largest relative error that counts as a pass: centred differences with h = 1e-4 carry a
/// truncation error of ~h² times the third derivative, which for small gradients (an output
/// bias near its optimum) reaches ~1e-6 relative on correct code.
const TOLERANCE: f64 = 1e-5;

/// State of the gradient-check panel.
pub struct GradcheckPanel {
    /// Training images used.
    pub samples: usize,
    /// Input dimensions kept.
    pub dims: usize,
}

impl Default for GradcheckPanel {
    fn default() -> Self {
        GradcheckPanel {
            samples: 20,
            dims: 100,
        }
    }
}

impl GradcheckPanel {
    /// Draws the panel; returns a request when the user starts a check, and an export
    /// request.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
    ) -> (Option<AnalysisRequest>, Option<ExportRequest>) {
        let mut request = None;
        let mut export = None;
        ui.label(
            "Compares the analytic gradients with centred differences (h = 1e-4, float64) for \
             the model and loss on the left, freshly initialised, on a few training images.",
        );
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut self.samples)
                    .range(1..=200)
                    .suffix(" images"),
            );
            ui.add(
                egui::DragValue::new(&mut self.dims)
                    .range(1..=3072)
                    .suffix(" input dimensions"),
            )
            .on_hover_text("The first dimensions of each image; fewer is faster");
            if ui
                .add_enabled(history.info.is_some(), egui::Button::new("Run check"))
                .clicked()
            {
                request = Some(AnalysisRequest::GradientCheck {
                    samples: self.samples,
                    dims: self.dims,
                });
            }
        });
        let Some(report) = &history.gradient_check else {
            return (request, None);
        };
        if ui
            .button("Export…")
            .on_hover_text("PNG, SVG or CSV of the errors")
            .clicked()
        {
            let fig = crate::report::figures::gradient_check(report);
            export = Some(ExportRequest::Figure(Box::new(fig)));
        }
        egui::Grid::new("gradcheck").striped(true).show(ui, |ui| {
            for h in [
                "parameter",
                "values",
                "max rel. error",
                "mean rel. error",
                "",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for p in report {
                ui.label(&p.name);
                ui.label(p.count.to_string());
                ui.label(significant(p.max_rel_error, 3, Notation::Auto));
                ui.label(significant(p.mean_rel_error, 3, Notation::Auto));
                // The verdict says what it was measured against.
                if p.max_rel_error <= TOLERANCE {
                    ui.colored_label(
                        Color32::from_rgb(60, 170, 90),
                        format!("ok (≤ {})", significant(TOLERANCE, 1, Notation::Auto)),
                    );
                } else {
                    ui.colored_label(
                        Color32::from_rgb(220, 80, 60),
                        format!(
                            "too large (> {})",
                            significant(TOLERANCE, 1, Notation::Auto)
                        ),
                    );
                }
                ui.end_row();
            }
        });
        (request, export)
    }
}
