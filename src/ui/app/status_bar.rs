//! The bottom bar: the run's progress and state, messages, download and export progress.

use egui::Ui;

use super::{Notice, TrainvizApp};
use crate::ui::words::RunState;

impl TrainvizApp {
    /// What the run is doing; `None` before there is a run.
    fn run_state(&self) -> Option<RunState> {
        let h = &self.history;
        if h.loading.is_some() {
            return Some(RunState::Loading);
        }
        h.info.as_ref()?;
        Some(if h.running {
            RunState::Training
        } else if h.ended == Some(crate::train::RunStatus::Finished) {
            RunState::Finished
        } else if h.ended == Some(crate::train::RunStatus::Diverged) {
            RunState::Diverged
        } else if h.epochs.is_empty() && h.step == 0 {
            RunState::Ready
        } else {
            RunState::Paused
        })
    }

    /// Draws the bottom bar (with a Cancel button while CIFAR-10 downloads).
    pub(super) fn status_bar(&mut self, ui: &mut Ui) {
        let mut cancel = false;
        if let Some(d) = &self.download {
            ui.horizontal(|ui| {
                let (got, total) = d.counts();
                ui.label("Downloading CIFAR-10");
                ui.add(
                    egui::ProgressBar::new(d.progress().unwrap_or(0.0))
                        .desired_width(240.0)
                        .text(format!(
                            "{:.1} / {:.1} MB",
                            got as f64 / 1e6,
                            total as f64 / 1e6
                        )),
                );
                cancel = ui
                    .button("Cancel")
                    .on_hover_text("The next download resumes")
                    .clicked();
            });
        }
        if cancel && let Some(d) = &self.download {
            d.cancel();
        }
        ui.horizontal_wrapped(|ui| {
            let h = &self.history;
            if let Some(what) = &h.loading {
                ui.spinner();
                ui.label(format!("Loading {what}…"));
            } else if let Some(info) = &h.info {
                let epochs = info.settings.epochs();
                ui.label(format!("epoch {}/{epochs}", h.epoch.min(epochs)));
                ui.label(format!("step {}", h.step));
                // A finished run is through its epoch (a loaded one too, which has no
                // summary in the history: it showed 0 %).
                let frac = if h.summary.is_some()
                    || h.ended == Some(crate::train::RunStatus::Finished)
                {
                    1.0
                } else if h.images_per_epoch > 0 {
                    h.images_into_epoch as f32 / h.images_per_epoch as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(140.0)
                        .show_percentage(),
                )
                .on_hover_text("Progress through the current epoch");
                if h.running && h.images_per_sec > 0.0 {
                    ui.label(format!("{:.0} images/s", h.images_per_sec))
                        .on_hover_text(
                            "Training speed: images trained per second over the last 5 seconds of training (pauses left out)",
                        );
                }
                if h.running && self.software_rendering {
                    ui.weak("2 redraws a second (no graphics driver)").on_hover_text(
                        "No graphics driver: the processor draws the window, and each redraw \
                         takes as long as thousands of training steps' worth of its time. While \
                         training, the window redraws twice a second so training keeps the \
                         cores; it still answers the mouse and keys at once.",
                    );
                }
                if h.step > 0 {
                    ui.label(format!("η {}", crate::ui::plots::number(h.eta)));
                }
                if let Some(left) = h.seconds_left() {
                    ui.label(format!("{left:.0} s left"));
                }
            }
            if let Some(state) = self.run_state() {
                let colour = match state {
                    RunState::Diverged => ui.visuals().error_fg_color,
                    RunState::Finished => ui.visuals().strong_text_color(),
                    _ => ui.visuals().text_color(),
                };
                ui.colored_label(colour, state.label());
            }
            if let Some(n) = &self.history.notice {
                ui.label(n);
            }
            if let Some(m) = &self.history.message {
                ui.colored_label(ui.visuals().error_fg_color, m);
            }
            match &self.notice {
                Some(Notice::Done(m)) => {
                    ui.label(m);
                }
                Some(Notice::Problem(m)) => {
                    ui.colored_label(ui.visuals().error_fg_color, m);
                }
                None => {}
            }
            if self.download_help.is_some() {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "CIFAR-10 could not be downloaded (offline?).",
                );
            }
            self.exporter.status(ui);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Settings;

    #[test]
    fn the_state_is_decided_by_the_history_not_by_a_word() {
        let mut app = TrainvizApp::new(Settings::default(), None);
        app.history = Default::default();
        assert_eq!(app.run_state(), None, "no run yet");
        app.history.loading = Some("CIFAR-10".into());
        assert_eq!(app.run_state(), Some(RunState::Loading));
        app.history.loading = None;
        let config = crate::train::TrainConfig {
            dataset: crate::data::DatasetKind::Synthetic,
            train_limit: Some(50),
            ..Default::default()
        };
        let data = crate::data::load(&config.data_request()).expect("the synthetic set");
        app.history.info = Some(crate::train::RunInfo::new(
            &data,
            crate::train::record::RunSettings::new(config),
        ));
        assert_eq!(app.run_state(), Some(RunState::Ready));
        app.history.running = true;
        assert_eq!(app.run_state(), Some(RunState::Training));
        app.history.running = false;
        app.history.ended = Some(crate::train::RunStatus::Diverged);
        assert_eq!(app.run_state(), Some(RunState::Diverged));
        assert_eq!(RunState::Diverged.label(), "diverged");
    }
}
