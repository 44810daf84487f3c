//! The top bar: start/pause, one epoch, +10 epochs, reset, test, the data set, where the
//! run is saved, and the theme.

use egui::Ui;

use super::{ThemeChoice, TrainvizApp};
use crate::ui::controls::UiAction;

/// Width kept free on the right of the top bar for the theme button.
const THEME_ROOM: f32 = 130.0;

impl TrainvizApp {
    /// Draws the top bar; what the user pressed goes into `actions`.
    pub(super) fn toolbar(&mut self, ui: &mut Ui, actions: &mut Vec<UiAction>) {
        ui.horizontal_wrapped(|ui| {
            let running = self.history.running;
            let label = if running { "Pause" } else { "Start" };
            if ui
                .button(label)
                .on_hover_text("Start or pause training (Space)")
                .clicked()
            {
                actions.push(if running {
                    UiAction::Pause
                } else {
                    UiAction::Start
                });
            }
            // Pressed part-way through an epoch it finishes that epoch only: the button
            // says so, with how much is left.
            let h = &self.history;
            let mid_epoch = h.images_into_epoch > 0 && h.images_into_epoch < h.images_per_epoch;
            let (step_label, step_tip) = if mid_epoch {
                let left = h.images_per_epoch - h.images_into_epoch;
                (
                    format!("Finish epoch {}", h.epoch + 1),
                    format!(
                        "Train the {left} images left of epoch {} ({:.0} % of it), then pause",
                        h.epoch + 1,
                        100.0 * left as f64 / h.images_per_epoch as f64
                    ),
                )
            } else {
                (
                    "One epoch".to_string(),
                    "Train one whole epoch, then pause".to_string(),
                )
            };
            if ui.button(step_label).on_hover_text(step_tip).clicked() {
                actions.push(UiAction::StepEpoch);
            }
            if self.history.ended.is_some()
                && ui
                    .button("+10 epochs")
                    .on_hover_text(
                        "Continue this run for 10 more epochs with the settings in force (recorded)",
                    )
                    .clicked()
            {
                actions.push(UiAction::Continue(10));
            }
            if ui
                .button("Reset")
                .on_hover_text("New run with the settings on the left (R)")
                .clicked()
            {
                actions.push(UiAction::Reset);
            }
            if ui
                .button("Test")
                .on_hover_text("Evaluate the current weights on the test set (T)")
                .clicked()
            {
                actions.push(UiAction::EvaluateTest);
            }
            self.run_labels(ui);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let (next, label) = match self.settings.theme {
                    ThemeChoice::Dark => (ThemeChoice::Light, "Light theme"),
                    ThemeChoice::Light => (ThemeChoice::Dark, "Dark theme"),
                };
                if ui
                    .button(label)
                    .on_hover_text("Switch between light and dark colours")
                    .clicked()
                {
                    self.settings.theme = next;
                }
            });
        });
    }

    /// What the run is: its data, skipped files, test accuracy, and where it is saved.
    fn run_labels(&self, ui: &mut Ui) {
        ui.separator();
        if let Some(info) = &self.history.info {
            ui.label(format!(
                "{}: {}",
                info.dataset,
                crate::report::figures::image_counts(info.sizes)
            ));
        }
        if let Some(info) = &self.history.info
            && !info.warnings.is_empty()
        {
            let list: Vec<String> = info.warnings.iter().map(ToString::to_string).collect();
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{} files skipped", info.warnings.len()),
            )
            .on_hover_text(list.join("\n"));
        }
        if let Some(t) = &self.history.test {
            ui.separator();
            ui.strong(format!("test accuracy {:.2} %", 100.0 * t.accuracy));
        }
        if let Some(dir) = &self.history.saved_dir {
            // Too little room left on this row for the folder's name (a narrow window): it
            // goes on a row of its own rather than shrinking to "saved …".
            // (A wrapping row's `available_width` is the whole row's: what is left of this one
            // is `available_size_before_wrap`.)
            if ui.available_size_before_wrap().x - THEME_ROOM < 320.0 {
                ui.end_row();
            } else {
                ui.separator();
            }
            let name = dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            // Room is kept for the theme button on the right: the name is cut short
            // (whole on hover) rather than running under it.
            ui.scope(|ui| {
                ui.set_max_width((ui.available_width() - THEME_ROOM).max(60.0));
                ui.add(
                    egui::Label::new(egui::RichText::new(format!("saved as {name}")).weak())
                        .truncate(),
                )
                .on_hover_text(format!(
                    "Saved in {}; Ctrl+E writes the report into its report/ folder",
                    dir.display()
                ));
            });
        }
    }
}
