//! The application: owns the worker handle and the panels, turns user actions into
//! commands and worker events into history.

use std::time::{Duration, Instant};

use egui::{Key, Ui};
use serde::{Deserialize, Serialize};

use super::controls::{ControlsPanel, UiAction};
use super::history::RunHistory;
use super::plots::PlotsPanel;
use super::templates::TemplatesPanel;
use crate::train::{Command, TrainConfig, WorkerHandle};

/// Everything remembered across launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The settings being edited (and used for the next run).
    pub config: TrainConfig,
    /// Smoothing of the step-loss curve.
    pub smoothing: f64,
    /// Start training as soon as the window opens.
    pub autostart: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            smoothing: 0.9,
            autostart: true,
        }
    }
}

/// Longest time spent draining worker events in one frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);

/// The trainviz window's state.
pub struct TrainvizApp {
    /// Persisted settings.
    pub settings: Settings,
    /// The run as reported by the worker.
    pub history: RunHistory,
    worker: WorkerHandle,
    waker: Option<crate::train::worker::Waker>,
    controls: ControlsPanel,
    plots: PlotsPanel,
    templates: TemplatesPanel,
    /// Every command sent to the worker, oldest first (shown nowhere; for tests and logs).
    pub sent: Vec<Command>,
}

impl TrainvizApp {
    /// A new app with its worker; `waker` lets the worker ask for a repaint.
    pub fn new(settings: Settings, waker: Option<crate::train::worker::Waker>) -> Self {
        let worker = WorkerHandle::spawn(waker.clone());
        let mut app = TrainvizApp {
            waker,
            plots: PlotsPanel::with_smoothing(settings.smoothing),
            settings,
            history: RunHistory::default(),
            worker,
            controls: ControlsPanel::default(),
            templates: TemplatesPanel::default(),
            sent: Vec::new(),
        };
        app.send(Command::Reset(Box::new(app.settings.config.clone())));
        if app.settings.autostart {
            app.send(Command::Start);
        }
        app
    }

    fn send(&mut self, cmd: Command) {
        self.sent.push(cmd.clone());
        if !self.worker.send(cmd) {
            self.history.message =
                Some("The training worker has stopped; press Reset to start a new one.".into());
            self.worker = WorkerHandle::spawn(self.waker.clone());
        }
    }

    /// Takes in the worker's events without blocking, within a time budget; true if any.
    pub fn drain_events(&mut self) -> bool {
        let started = Instant::now();
        let mut any = false;
        while started.elapsed() < DRAIN_BUDGET {
            match self.worker.events().try_recv() {
                Ok(e) => {
                    any |= self.history.apply(e);
                }
                Err(_) => break,
            }
        }
        any
    }

    /// Applies a user action.
    pub fn apply(&mut self, action: UiAction) {
        match action {
            UiAction::Start => self.send(Command::Start),
            UiAction::Pause => self.send(Command::Pause),
            UiAction::StepEpoch => self.send(Command::StepEpoch),
            UiAction::Reset => {
                let config = self.settings.config.clone();
                self.send(Command::Reset(Box::new(config)));
            }
            UiAction::SetLive(live) => self.send(Command::SetLive(live)),
            UiAction::ChooseDataFolder => {
                if let Some(dir) = rfd::FileDialog::new()
                    .set_title("Folder with CIFAR-10 or Fashion-MNIST")
                    .pick_folder()
                {
                    if crate::data::fashion::looks_like_fashion(&dir) {
                        self.settings.config.dataset = crate::data::DatasetKind::FashionMnist;
                    } else {
                        self.settings.config.dataset = crate::data::DatasetKind::Cifar10;
                    }
                    self.settings.config.data = Some(dir);
                }
            }
        }
    }

    fn toolbar(&mut self, ui: &mut Ui, actions: &mut Vec<UiAction>) {
        ui.horizontal(|ui| {
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
            if ui
                .button("Step")
                .on_hover_text("Train one epoch, then pause")
                .clicked()
            {
                actions.push(UiAction::StepEpoch);
            }
            if ui
                .button("Reset")
                .on_hover_text("New run with the settings on the left (R)")
                .clicked()
            {
                actions.push(UiAction::Reset);
            }
            ui.separator();
            if let Some(info) = &self.history.info {
                ui.label(format!(
                    "{}: {} train / {} val / {} test",
                    info.dataset, info.sizes[0], info.sizes[1], info.sizes[2]
                ));
            }
            if let Some(s) = &self.history.summary {
                ui.separator();
                ui.strong(format!("test accuracy {:.2} %", 100.0 * s.test_acc));
            }
        });
    }

    fn status_bar(&self, ui: &mut Ui) {
        let h = &self.history;
        ui.horizontal(|ui| {
            if let Some(what) = &h.loading {
                ui.spinner();
                ui.label(format!("Loading {what}…"));
                return;
            }
            let epochs = h.info.as_ref().map(|i| i.config.epochs).unwrap_or(0);
            ui.label(format!("epoch {}/{epochs}", h.epoch));
            ui.label(format!("step {}", h.step));
            let frac = if h.summary.is_some() {
                1.0
            } else if h.images_per_epoch > 0 {
                h.images_into_epoch as f32 / h.images_per_epoch as f32
            } else {
                0.0
            };
            ui.add(
                egui::ProgressBar::new(frac)
                    .desired_width(160.0)
                    .show_percentage(),
            )
            .on_hover_text("Progress through the current epoch");
            ui.label(format!("{:.0} images/s", h.images_per_sec));
            ui.label(format!("η {:.2e}", h.eta));
            if let Some(left) = h.seconds_left() {
                ui.label(format!("{left:.0} s left"));
            }
            ui.label(if h.running { "training" } else { "paused" });
            if let Some(m) = &h.message {
                ui.colored_label(ui.visuals().error_fg_color, m);
            }
        });
    }

    /// Draws the whole window and applies what the user did.
    pub fn draw(&mut self, ui: &mut Ui) {
        let mut actions = Vec::new();
        if !ui.ctx().egui_wants_keyboard_input() {
            let (space, r) = ui.input(|i| (i.key_pressed(Key::Space), i.key_pressed(Key::R)));
            if space {
                actions.push(if self.history.running {
                    UiAction::Pause
                } else {
                    UiAction::Start
                });
            }
            if r {
                actions.push(UiAction::Reset);
            }
        }
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &mut actions));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        let running_config = self.history.info.as_ref().map(|i| i.config.clone());
        egui::Panel::left("controls")
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    actions.extend(self.controls.ui(
                        ui,
                        &mut self.settings.config,
                        running_config.as_ref(),
                    ));
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.plots.ui(ui, &self.history);
                ui.separator();
                self.templates.ui(ui, &self.history);
            });
        });
        self.settings.smoothing = self.plots.smoothing;
        for a in actions {
            self.apply(a);
        }
    }

    /// Labels of the templates shown (for tests).
    pub fn template_labels(&self) -> Vec<&str> {
        self.templates.labels()
    }
}

impl eframe::App for TrainvizApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.drain_events() {
            ctx.request_repaint();
        }
        if self.history.running {
            // The worker wakes us on events; this only covers a missed wake-up.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}
