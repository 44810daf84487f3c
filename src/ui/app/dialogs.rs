//! The windows on top of the main one (new-run confirmation, manual download steps,
//! data folder), the synthetic-data notice, and dropped pictures.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::Ui;

use super::download::manual_steps;
use super::{Notice, Tab, TrainvizApp};
use crate::data::DatasetKind;
use crate::ui::background::Task;
use crate::ui::controls::UiAction;

impl TrainvizApp {
    /// The notice shown while the run trains on the synthetic set, with one click to real
    /// data.
    pub(super) fn synthetic_notice(&mut self, ui: &mut Ui, actions: &mut Vec<UiAction>) {
        let synthetic = self
            .history
            .info
            .as_ref()
            .is_some_and(|i| i.settings.start.dataset == DatasetKind::Synthetic);
        if !synthetic || self.synthetic_notice_closed {
            return;
        }
        egui::Frame::group(ui.style())
            .fill(ui.visuals().faint_bg_color)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        "Training on the synthetic practice set: coloured blobs, not photos.",
                    );
                    if self.download.is_some() {
                        ui.label("Downloading CIFAR-10 (progress below)…");
                    } else if ui
                        .button("Download CIFAR-10 (162 MB)")
                        .on_hover_text("Into data/, checked against its MD5; then it trains on it")
                        .clicked()
                    {
                        actions.push(UiAction::DownloadCifar);
                    }
                    if let Some(dir) = self.fashion_dir.clone()
                        && ui
                            .button("Use Fashion-MNIST")
                            .on_hover_text(format!("Found in {}", dir.display()))
                            .clicked()
                    {
                        self.settings.config.split = crate::data::SplitKind::Classic;
                        self.use_data_folder(dir);
                    }
                    if ui
                        .button("Choose an image folder…")
                        .on_hover_text("A folder with one sub-folder of PNG/JPEG pictures per class, or CIFAR-10 / Fashion-MNIST files")
                        .clicked()
                    {
                        actions.push(UiAction::ChooseDataFolder);
                    }
                    if ui.small_button("Hide").on_hover_text("Hide this notice").clicked() {
                        self.synthetic_notice_closed = true;
                    }
                });
            });
    }

    /// The windows on top: new-run confirmation, learning-rate range test, export, manual
    /// download steps, data folder.
    pub(super) fn windows(&mut self, ctx: &egui::Context) {
        self.confirm_preset_window(ctx);
        if let Some(fig) = self.lr_range.window(ctx, &mut self.settings.config) {
            self.exporter.ask_figure(Box::new(fig));
        }
        let run_dir = self.history.saved_dir.clone();
        let waker = self.waker();
        self.exporter
            .window(ctx, run_dir.as_deref(), self.settings.png, waker);
        self.download_help_window(ctx);
        self.folder_windows(ctx);
    }

    /// Asks whether a preset picked while a run trains may replace that run.
    fn confirm_preset_window(&mut self, ctx: &egui::Context) {
        if let Some(label) = self.confirm_preset {
            let mut answer = None;
            egui::Window::new("Start a new run?")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ctx, |ui| {
                    ui.label(format!(
                        "“{label}” starts a new run. The run training now stops; it stays in \
                         the Runs tab and can be continued from there."
                    ));
                    ui.horizontal(|ui| {
                        if ui.button("Start the new run").clicked() {
                            answer = Some(true);
                        }
                        if ui
                            .button("Keep training")
                            .on_hover_text("The preset's settings wait until you press Reset")
                            .clicked()
                        {
                            answer = Some(false);
                        }
                    });
                });
            if let Some(start) = answer {
                self.confirm_preset = None;
                if start {
                    self.apply(UiAction::Reset);
                }
            }
        }
    }

    /// The manual steps to install CIFAR-10 after a failed download, with "Try again".
    fn download_help_window(&mut self, ctx: &egui::Context) {
        if let Some(help) = self.download_help.clone() {
            let mut open = true;
            let mut text = manual_steps();
            let mut retry = false;
            egui::Window::new("Installing CIFAR-10 by hand")
                .open(&mut open)
                .default_width(520.0)
                .show(ctx, |ui| {
                    ui.label("The download did not work:");
                    ui.colored_label(ui.visuals().warn_fg_color, help.headline());
                    ui.label("To install it by hand (select and copy the steps):");
                    ui.add(
                        egui::TextEdit::multiline(&mut text)
                            .desired_width(f32::INFINITY)
                            .desired_rows(6),
                    );
                    ui.horizontal(|ui| {
                        if ui.button("Copy the steps").clicked() {
                            ui.ctx().copy_text(manual_steps());
                        }
                        retry = ui.button("Try again").clicked();
                    });
                });
            if !open || retry {
                self.download_help = None;
            }
            if retry {
                self.start_download();
            }
        }
    }

    /// The "choose a data folder" window and the system folder dialog it opens.
    fn folder_windows(&mut self, ctx: &egui::Context) {
        if let Some((task, opened)) = &mut self.folder_dialog
            && let Some(outcome) = task.poll()
        {
            let quick = opened.elapsed() < Duration::from_millis(300);
            self.folder_dialog = None;
            match outcome {
                Ok(Some(dir)) => {
                    self.folder_window = None;
                    self.use_data_folder(dir);
                }
                Ok(None) if !quick => {}
                Ok(None) | Err(_) => {
                    self.notice = Some(Notice::Problem(
                        "The folder dialog could not open: type the folder's path instead.".into(),
                    ));
                }
            }
        }
        let mut use_dir = None;
        let mut browse = false;
        if let Some(typed) = &mut self.folder_window {
            let mut open = true;
            egui::Window::new("Choose a data folder")
                .open(&mut open)
                .collapsible(false)
                .show(ctx, |ui| {
                    ui.label("CIFAR-10 or Fashion-MNIST files, or one sub-folder of PNG/JPEG pictures per class.");
                    let can_dialog = crate::ui::export::dialog_available();
                    if ui
                        .add_enabled(can_dialog, egui::Button::new("Browse…"))
                        .on_disabled_hover_text("No file dialog on this desktop (no portal, no zenity): type the path below")
                        .clicked()
                    {
                        browse = true;
                    }
                    ui.horizontal(|ui| {
                        ui.label("Folder:");
                        let edit = ui.add(
                            egui::TextEdit::singleline(typed)
                                .desired_width(320.0)
                                .hint_text("/path/to/pictures"),
                        );
                        let enter =
                            edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        if (ui.button("Use").clicked() || enter) && !typed.trim().is_empty() {
                            use_dir = Some(PathBuf::from(typed.trim()));
                        }
                    });
                });
            if !open {
                self.folder_window = None;
            }
        }
        if let Some(dir) = use_dir {
            self.folder_window = None;
            self.use_data_folder(dir);
        }
        if browse && self.folder_dialog.is_none() {
            let task = Task::spawn("The folder dialog", self.waker(), |_| {
                Ok(rfd::FileDialog::new()
                    .set_title("Folder with CIFAR-10, Fashion-MNIST, or one sub-folder of images per class")
                    .pick_folder())
            });
            self.folder_dialog = Some((task, Instant::now()));
        }
    }

    /// Takes in pictures dropped on the window: the first one is classified.
    pub(super) fn dropped_pictures(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.first().cloned());
        if let Some(file) = dropped {
            let bytes = file.bytes().ok();
            let path = file.path().to_path_buf();
            self.classify.classify(path, bytes, &self.history, ctx);
            self.settings.tab = Tab::Predictions;
        }
    }
}
