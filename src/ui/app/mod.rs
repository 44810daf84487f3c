//! The application: owns the worker handle and the panels, turns user actions into
//! commands and worker events into history.
//!
//! Its parts, one file each: persisted [`settings`], the [`worker`] plumbing, [`keys`],
//! the [`toolbar`] and [`status_bar`], the CIFAR-10 [`download`], the [`dialogs`] on top,
//! [`export`] routing and the [`tabs`] of the central area.

mod dialogs;
mod download;
mod export;
mod keys;
mod settings;
mod status_bar;
mod tabs;
mod toolbar;
mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::Ui;

pub use settings::{Settings, Tab, ThemeChoice};

use super::background::{DialogTask, Task};
use super::classify::ClassifyPanel;
use super::confusion::ConfusionPanel;
use super::controls::{ControlsPanel, UiAction};
use super::embedding::EmbeddingPanel;
use super::export::Exporter;
use super::gradcheck::GradcheckPanel;
use super::histograms::HistogramsPanel;
use super::history::RunHistory;
use super::layers::LayersPanel;
use super::plots::PlotsPanel;
use super::predictions::PredictionsPanel;
use super::race::RacePanel;
use super::results::ResultsPanel;
use super::runs::RunsPanel;
use super::templates::TemplatesPanel;
use crate::data::download::DownloadError;
use crate::train::{Command, WorkerHandle};

/// Adds the figures' font (DejaVu Sans) after egui's own: theirs lack the arrows, norms and
/// subscripts the window writes ("η 0.001 → 0.05", "|ΔW|", "β₁"), which would show as boxes.
fn add_fallback_font(ctx: &egui::Context) {
    let family = |family| egui::epaint::text::InsertFontFamily {
        family,
        priority: egui::epaint::text::FontPriority::Lowest,
    };
    ctx.add_font(egui::epaint::text::FontInsert {
        name: "DejaVu Sans".into(),
        data: egui::FontData::from_static(crate::report::FONT),
        families: vec![
            family(egui::FontFamily::Proportional),
            family(egui::FontFamily::Monospace),
        ],
    });
}
/// The trainviz window's state.
pub struct TrainvizApp {
    /// Persisted settings.
    pub settings: Settings,
    /// Frames and the window thread's CPU time, logged every ten seconds.
    frame_meter: super::FrameMeter,
    /// The window is drawn by the CPU (no graphics driver): redraw less while training.
    software_rendering: bool,
    /// The run as reported by the worker.
    pub history: RunHistory,
    worker: WorkerHandle,
    waker: Option<crate::train::worker::Waker>,
    controls: ControlsPanel,
    /// The small plot of η per update step on the Training tab.
    eta_plot: super::eta_plot::EtaPlot,
    plots: PlotsPanel,
    templates: TemplatesPanel,
    /// A ConvNet's filters and feature maps.
    convnet: super::convnet::ConvNetPanel,
    confusion: ConfusionPanel,
    histograms: HistogramsPanel,
    results: ResultsPanel,
    predictions: PredictionsPanel,
    embedding: EmbeddingPanel,
    gradcheck: GradcheckPanel,
    layers: LayersPanel,
    /// The Race tab (its fields, and the race it runs).
    pub race: RacePanel,
    /// The Plane and Network tabs of the playground.
    pub plane: super::plane::PlanePanel,
    /// Whether the last run seen was on points in the plane (`None` before the first).
    last_run_plane: Option<bool>,
    lr_range: super::lr_range::LrRangePanel,
    /// Zoom that follows the window's size (the real window only, not tests' harness).
    scale: super::scale::AutoScale,
    runs: RunsPanel,
    runs_dir: Option<std::path::PathBuf>,
    /// A CIFAR-10 download in progress.
    download: Option<Task<PathBuf, DownloadError>>,
    /// Why the server could not be reached, while the manual steps show in their own window.
    download_help: Option<DownloadError>,
    /// A preset picked while a run trains, waiting for the user to say it may replace it.
    confirm_preset: Option<&'static str>,
    /// The export window and writes in flight.
    pub exporter: Exporter,
    /// "Classify your own picture".
    pub classify: ClassifyPanel,
    /// Fashion-MNIST found in one of the usual places (looked for once, at start).
    fashion_dir: Option<PathBuf>,
    /// The user closed the "training on the synthetic set" notice.
    synthetic_notice_closed: bool,
    /// The "choose a data folder" window is open with this text typed.
    folder_window: Option<String>,
    /// A folder dialog open on its own thread, and when it opened.
    folder_dialog: Option<(DialogTask, Instant)>,
    /// The window's context, to wake it from background tasks.
    ctx: Option<egui::Context>,
    /// The frame interval in force, shared with the worker's waker.
    frame_interval: super::FrameInterval,
    /// Outcome of the last data-folder choice or download, shown in the status bar.
    pub notice: Option<Notice>,
}

/// A line in the status bar about something the user asked for (a data folder, a download).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// It worked: what happened.
    Done(String),
    /// It did not: why, shown in the error colour.
    Problem(String),
}

impl TrainvizApp {
    /// A new app with its worker, saving no runs; `waker` lets the worker ask for a repaint.
    pub fn new(settings: Settings, waker: Option<crate::train::worker::Waker>) -> Self {
        Self::with_runs_dir(settings, waker, None)
    }

    /// A new app whose runs are saved under `runs_dir` (and browsed from there).
    pub fn with_runs_dir(
        settings: Settings,
        waker: Option<crate::train::worker::Waker>,
        runs_dir: Option<std::path::PathBuf>,
    ) -> Self {
        let worker = WorkerHandle::spawn_saving(waker.clone(), runs_dir.clone());
        let mut app = TrainvizApp {
            waker,
            plots: PlotsPanel::with_smoothing(settings.smoothing),
            settings,
            frame_meter: super::FrameMeter::default(),
            software_rendering: false,
            history: RunHistory::default(),
            worker,
            controls: ControlsPanel::default(),
            eta_plot: super::eta_plot::EtaPlot::default(),
            templates: TemplatesPanel::default(),
            convnet: super::convnet::ConvNetPanel::default(),
            confusion: ConfusionPanel::default(),
            histograms: HistogramsPanel::default(),
            results: ResultsPanel,
            predictions: PredictionsPanel::default(),
            embedding: EmbeddingPanel::default(),
            gradcheck: GradcheckPanel::default(),
            layers: LayersPanel,
            race: RacePanel::default(),
            plane: super::plane::PlanePanel::default(),
            last_run_plane: None,
            lr_range: super::lr_range::LrRangePanel::default(),
            scale: Default::default(),
            runs: RunsPanel::new(
                runs_dir
                    .clone()
                    .unwrap_or_else(crate::runs::default_runs_dir),
            ),
            runs_dir,
            download: None,
            download_help: None,
            confirm_preset: None,
            exporter: Exporter::default(),
            classify: ClassifyPanel::default(),
            fashion_dir: crate::data::default_fashion_dir(),
            synthetic_notice_closed: false,
            folder_window: None,
            folder_dialog: None,
            ctx: None,
            frame_interval: Default::default(),
            notice: None,
        };
        app.send(Command::Reset(Box::new(app.settings.config.clone())));
        if app.settings.autostart {
            app.send(Command::Start);
        }
        app
    }

    /// Applies a user action.
    pub fn apply(&mut self, action: UiAction) {
        match action {
            UiAction::Start => self.send(Command::Start),
            UiAction::Pause => self.send(Command::Pause),
            UiAction::StepEpoch => self.send(Command::StepEpoch),
            UiAction::Continue(extra) => self.send(Command::Extend(extra)),
            UiAction::EvaluateTest => self.send(Command::EvaluateTest),
            UiAction::DownloadCifar => self.start_download(),
            UiAction::OpenLrRange => self.lr_range.open = true,
            UiAction::Reset => {
                // A field showing refused text holds its last good value: a run from it
                // would not be what the panel shows.
                let refused = self
                    .ctx
                    .as_ref()
                    .map(super::field::refused_fields)
                    .unwrap_or_default();
                if !refused.is_empty() {
                    self.notice = Some(Notice::Problem(format!(
                        "Not reset: the text in {} does not read (the reason is under the \
                         field); fix it, or pick a preset.",
                        refused.join(", ")
                    )));
                    return;
                }
                self.reset_now();
            }
            // Replacing a run that is training is asked first: a slip in the menu should
            // not end it.
            UiAction::ResetForPreset(label) if self.history.running => {
                self.confirm_preset = Some(label);
            }
            // A preset replaces every field's text (refused text included).
            UiAction::ResetForPreset(_) => self.reset_now(),
            UiAction::SetLive(live) => self.send(Command::SetLive(live)),
            UiAction::ChooseDataFolder => {
                self.folder_window = Some(
                    self.settings
                        .config
                        .data
                        .as_ref()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default(),
                );
            }
        }
    }

    /// Starts a new run of the settings as they are.
    fn reset_now(&mut self) {
        let config = self.settings.config.clone();
        self.send(Command::Reset(Box::new(config)));
    }

    /// Uses the data set in `dir` (its kind detected from its files) and starts a new run.
    pub fn use_data_folder(&mut self, dir: PathBuf) {
        if !dir.is_dir() {
            self.notice = Some(Notice::Problem(format!(
                "{} is not a folder",
                dir.display()
            )));
            return;
        }
        self.settings.config.dataset = crate::data::detect_kind(&dir);
        self.settings.config.data = Some(dir);
        self.notice = None;
        self.apply(UiAction::Reset);
    }

    /// Draws the whole window and applies what the user did.
    pub fn draw(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        if self.ctx.is_none() {
            add_fallback_font(&ctx);
        }
        self.ctx = Some(ctx.clone());
        if ctx.theme() != self.settings.theme.egui() {
            ctx.set_theme(self.settings.theme.egui());
        }
        self.poll_download();
        let waker = self.waker();
        self.exporter.follow_run(self.history.run);
        self.exporter.poll(self.settings.png, waker);
        self.dropped_pictures(&ctx);
        let mut actions = Vec::new();
        let mut export_request = self.keys(ui, &mut actions);
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &mut actions));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        let running_settings = self.history.info.as_ref().map(|i| i.settings.clone());
        self.controls.held =
            super::words::held_note(self.history.ended).map(|note| (self.history.held_live, note));
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(300.0)
            .size_range(220.0..=560.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysVisible)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        actions.extend(self.controls.ui(
                            ui,
                            &mut self.settings.config,
                            running_settings.as_ref(),
                        ));
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(r) = self.central(ui, &mut actions) {
                export_request = Some(r);
            }
        });
        self.windows(&ctx);
        self.settings.smoothing = self.plots.smoothing;
        for a in actions {
            self.apply(a);
        }
        if let Some(r) = export_request {
            self.handle_export(r);
        }
    }

    /// The markers of live changes on the per-epoch plots (epoch, what changed), as last
    /// drawn.
    pub fn plots_markers(&self) -> Vec<(f64, String)> {
        self.plots.markers().to_vec()
    }

    /// Size of each per-epoch curve plot in the last frame (for layout tests).
    pub fn curve_plot_size(&self) -> egui::Vec2 {
        self.plots.last_plot_size
    }

    /// The run browser, read-only (for tests).
    pub fn runs_panel_ref(&self) -> &RunsPanel {
        &self.runs
    }

    /// The run browser (for tests).
    pub fn runs_panel(&mut self) -> &mut RunsPanel {
        &mut self.runs
    }

    /// Says whether the window is drawn by the CPU; training then redraws it less often
    /// (see [`super::training_frame_interval`]).
    pub fn set_software_rendering(&mut self, software: bool) {
        self.software_rendering = software;
    }

    /// Shares the frame interval with the waker given to the worker: the interval this
    /// window sets each frame is the one its wake-ups ask for.
    pub fn share_frame_interval(&mut self, interval: super::FrameInterval) {
        self.frame_interval = interval;
    }

    /// The frame interval this window asks the worker's wake-ups for.
    pub fn frame_interval(&self) -> std::time::Duration {
        self.frame_interval.get()
    }

    /// The race panel (for tests).
    pub fn race_panel(&mut self) -> &mut RacePanel {
        &mut self.race
    }

    /// The learning-rate range test's window (for tests).
    pub fn lr_range_panel(&mut self) -> &mut super::lr_range::LrRangePanel {
        &mut self.lr_range
    }

    /// The learning-rate range test's last result (for tests).
    pub fn lr_range_result(&self) -> Option<&crate::train::lr_range::RangeTest> {
        self.lr_range.result()
    }

    /// Labels of the templates shown (for tests).
    pub fn template_labels(&self) -> Vec<&str> {
        self.templates.labels()
    }
}

impl eframe::App for TrainvizApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.frame_meter.tick();
        self.scale.apply(ctx);
        // Frames only when something new arrived, and at most ~30 a second while training
        // (4 when the window is in the background, 1 when minimised): a frame costs the
        // renderer a core on a software-rendered desktop, and that core trains instead.
        let (focused, minimised) = ctx.input(|i| {
            let v = i.viewport();
            (v.focused.unwrap_or(true), v.minimized.unwrap_or(false))
        });
        let interval = super::training_frame_interval(self.software_rendering, focused, minimised);
        self.frame_interval.set(interval);
        if self.drain_events() {
            ctx.request_repaint_after(interval);
        }
        if self.history.running {
            // The worker wakes us on events; this only covers a missed wake-up.
            ctx.request_repaint_after(interval.max(Duration::from_millis(250)));
        }
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}
