//! Gradient check from the window: analytic against numerical gradients of the run's model
//! (an MLP, or a ConvNet at a sample of each array's entries) and loss on a small subset,
//! largest and mean relative error per parameter.

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
    /// Training images used for an MLP.
    pub samples: usize,
    /// Input dimensions an MLP's check keeps.
    pub dims: usize,
    /// Whole training images used for a ConvNet (each entry checked costs four passes).
    pub stack_samples: usize,
    /// Entries of each of a ConvNet's parameter arrays compared.
    pub stack_entries: usize,
}

impl Default for GradcheckPanel {
    fn default() -> Self {
        GradcheckPanel {
            samples: 20,
            dims: 100,
            // a3-bonus (~10 M multiply-adds per image, f64): 2 images and 20 entries per
            // array took 1.7 s on 2 cores; this is ~5 times that.
            stack_samples: 4,
            stack_entries: 50,
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
        let mut export = None;
        let stack_run = history
            .info
            .as_ref()
            .is_some_and(|i| i.settings.start.uses_stack());
        let enabled = history.info.is_some();
        let request = if stack_run {
            ui.label(
                "Compares the analytic gradients with fourth-order differences (h = 1e-4, or \
                 3e-5 with batch norm; float64) for the ConvNet and loss on the left, freshly \
                 initialised, on a few whole training images, with ReLU gates, pooling choices \
                 and dropout masks held as the analytic pass had them. Each array is checked \
                 at a random sample of its entries (W1 is layer 1's weights).",
            );
            // Whole images (a convolution reads all of it), a sample of each array's entries.
            check_row(
                ui,
                (&mut self.stack_samples, 50),
                (&mut self.stack_entries, 1000, " entries per array"),
                "Each entry costs four forward passes over the images",
                enabled,
            )
        } else {
            ui.label(
                "Compares the analytic gradients with centred differences (h = 1e-4, float64) \
                 for the model and loss on the left, freshly initialised, on a few training \
                 images.",
            );
            check_row(
                ui,
                (&mut self.samples, 200),
                (&mut self.dims, 3072, " input dimensions"),
                "The first dimensions of each image; fewer is faster",
                enabled,
            )
        };
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
                "values checked",
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

/// The check's controls: how many images (`images`: the value and its most), how many of
/// the second kind per image (`each`: value, most, suffix, explained by `hover`), and Run
/// check; the request when it is pressed.
fn check_row(
    ui: &mut Ui,
    images: (&mut usize, usize),
    each: (&mut usize, usize, &str),
    hover: &str,
    enabled: bool,
) -> Option<AnalysisRequest> {
    let mut request = None;
    ui.horizontal(|ui| {
        ui.add(
            egui::DragValue::new(images.0)
                .range(1..=images.1)
                .suffix(" images"),
        );
        ui.add(
            egui::DragValue::new(each.0)
                .range(1..=each.1)
                .suffix(each.2),
        )
        .on_hover_text(hover);
        if ui
            .add_enabled(enabled, egui::Button::new("Run check"))
            .clicked()
        {
            request = Some(AnalysisRequest::GradientCheck {
                samples: *images.0,
                dims: *each.0,
            });
        }
    });
    request
}
