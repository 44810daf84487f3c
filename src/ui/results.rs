//! The results table (cost, loss and accuracy of each set with the settings that produced
//! them), PNG export size, and the "Export report" action.

use egui::Ui;

use super::export::ExportRequest;
use crate::report::PngSize;
use crate::report::figures::ResultsTable;

/// State of the results panel (none beyond the settings it edits).
#[derive(Default)]
pub struct ResultsPanel;

impl ResultsPanel {
    /// Draws `table` (if a run is ready) and the export settings in `png`.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        table: Option<&ResultsTable>,
        png: &mut PngSize,
    ) -> Option<ExportRequest> {
        let mut request = None;
        ui.horizontal(|ui| {
            let export = ui.button("Export report…").on_hover_text(
                "A folder with every figure (PNG, SVG, CSV), report.md and a LaTeX table (Ctrl+E)",
            );
            if export.clicked() {
                request = Some(ExportRequest::Report);
            }
            ui.separator();
            ui.label("PNG width");
            ui.add(
                egui::DragValue::new(&mut png.width_inches)
                    .range(0.5..=40.0)
                    .speed(0.1)
                    .suffix(" in"),
            )
            .on_hover_text("Width on paper");
            ui.add(
                egui::DragValue::new(&mut png.dpi)
                    .range(36.0..=1200.0)
                    .speed(5.0)
                    .suffix(" DPI"),
            )
            .on_hover_text("Dots per inch; 300 is print quality");
            ui.label(format!("= {} px wide", png.pixels()));
        });
        let Some(table) = table else {
            ui.label("Results appear after the first epoch.");
            return request;
        };
        ui.add_space(6.0);
        egui::Grid::new("results")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                for h in ["set", "cost", "loss", "accuracy"] {
                    ui.strong(h);
                }
                ui.end_row();
                for (set, cost, loss, acc) in &table.rows {
                    ui.label(set);
                    ui.label(format!("{cost:.4}"));
                    ui.label(format!("{loss:.4}"));
                    ui.label(format!("{:.2} %", 100.0 * acc));
                    ui.end_row();
                }
            });
        ui.add_space(6.0);
        egui::CollapsingHeader::new("Settings of this run")
            .default_open(true)
            .show(ui, |ui| {
                egui::Grid::new("settings").striped(true).show(ui, |ui| {
                    for (k, v) in &table.settings {
                        ui.label(crate::train::config::setting_label(k));
                        ui.label(v);
                        ui.end_row();
                    }
                });
            });
        request
    }
}
