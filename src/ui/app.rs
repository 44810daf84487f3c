//! The application: owns the worker handle and the panels, turns user actions into
//! commands and worker events into history.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Key, Ui};
use serde::{Deserialize, Serialize};

use super::confusion::ConfusionPanel;
use super::controls::{ControlsPanel, UiAction};
use super::embedding::EmbeddingPanel;
use super::export::{self, ExportRequest};
use super::gradcheck::GradcheckPanel;
use super::histograms::HistogramsPanel;
use super::history::RunHistory;
use super::layers::LayersPanel;
use super::plots::PlotsPanel;
use super::predictions::PredictionsPanel;
use super::race::RacePanel;
use super::results::ResultsPanel;
use super::runs::{RunsAction, RunsPanel};
use super::templates::TemplatesPanel;
use crate::report::{PngSize, RunRecord};
use crate::train::{Command, TrainConfig, WorkerHandle};

/// The views of the central area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    /// Live curves and class templates.
    #[default]
    Training,
    /// Confusion matrices and per-class accuracy.
    Confusion,
    /// Gradient, weight and true-class-probability histograms.
    Histograms,
    /// Test images with the model's top-3 guesses.
    Predictions,
    /// PCA / t-SNE of a layer's outputs.
    Embedding,
    /// Numerical gradient check.
    GradientCheck,
    /// Per-layer statistics per epoch.
    Layers,
    /// Variants trained side by side.
    Race,
    /// Results table and report export.
    Results,
    /// Saved runs, overlays and sweeps.
    Runs,
}

impl Tab {
    /// All tabs, in order (keys 1–9; the tenth has none).
    pub const ALL: [Tab; 10] = [
        Tab::Training,
        Tab::Confusion,
        Tab::Histograms,
        Tab::Predictions,
        Tab::Embedding,
        Tab::GradientCheck,
        Tab::Results,
        Tab::Runs,
        Tab::Layers,
        Tab::Race,
    ];
    fn label(self) -> &'static str {
        match self {
            Tab::Training => "Training",
            Tab::Confusion => "Confusion",
            Tab::Histograms => "Histograms",
            Tab::Predictions => "Predictions",
            Tab::Embedding => "Embedding",
            Tab::GradientCheck => "Gradient check",
            Tab::Results => "Results & export",
            Tab::Runs => "Runs",
            Tab::Layers => "Layers",
            Tab::Race => "Race",
        }
    }
}

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
    /// The view shown.
    pub tab: Tab,
    /// Size of exported PNG figures.
    pub png: PngSize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            smoothing: 0.9,
            autostart: true,
            tab: Tab::default(),
            png: PngSize::default(),
        }
    }
}

/// A download running on its own thread.
struct Download {
    /// Bytes received and expected.
    progress: Arc<Mutex<(u64, u64)>>,
    cancel: Arc<AtomicBool>,
    result: Arc<Mutex<Option<Result<PathBuf, String>>>>,
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
    confusion: ConfusionPanel,
    histograms: HistogramsPanel,
    results: ResultsPanel,
    predictions: PredictionsPanel,
    embedding: EmbeddingPanel,
    gradcheck: GradcheckPanel,
    layers: LayersPanel,
    race: RacePanel,
    runs: RunsPanel,
    runs_dir: Option<std::path::PathBuf>,
    /// A CIFAR-10 download in progress.
    download: Option<Download>,
    /// Outcome of the last export or download, shown in the status bar: Ok(message) or
    /// Err(message).
    pub notice: Option<Result<String, String>>,
    /// Every command sent to the worker, oldest first (shown nowhere; for tests and logs).
    pub sent: Vec<Command>,
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
            history: RunHistory::default(),
            worker,
            controls: ControlsPanel::default(),
            templates: TemplatesPanel::default(),
            confusion: ConfusionPanel::default(),
            histograms: HistogramsPanel::default(),
            results: ResultsPanel,
            predictions: PredictionsPanel::default(),
            embedding: EmbeddingPanel::default(),
            gradcheck: GradcheckPanel::default(),
            layers: LayersPanel,
            race: RacePanel::default(),
            runs: RunsPanel::new(
                runs_dir
                    .clone()
                    .unwrap_or_else(crate::runs::default_runs_dir),
            ),
            runs_dir,
            download: None,
            notice: None,
            sent: Vec::new(),
        };
        app.send(Command::Reset(Box::new(app.settings.config.clone())));
        if app.settings.autostart {
            app.send(Command::Start);
        }
        app
    }

    /// Sends a command to the worker (logged in `sent`); starts a new worker if the old one
    /// has gone.
    pub fn send(&mut self, cmd: Command) {
        self.sent.push(cmd.clone());
        if !self.worker.send(cmd) {
            self.history.message =
                Some("The training worker has stopped; press Reset to start a new one.".into());
            self.worker = WorkerHandle::spawn_saving(self.waker.clone(), self.runs_dir.clone());
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
            UiAction::EvaluateTest => self.send(Command::EvaluateTest),
            UiAction::DownloadCifar => self.start_download(),
            UiAction::Reset => {
                let config = self.settings.config.clone();
                self.send(Command::Reset(Box::new(config)));
            }
            UiAction::SetLive(live) => self.send(Command::SetLive(live)),
            UiAction::ChooseDataFolder => {
                if let Some(dir) = rfd::FileDialog::new()
                    .set_title("Folder with CIFAR-10, Fashion-MNIST, or one sub-folder of images per class")
                    .pick_folder()
                {
                    self.settings.config.dataset = crate::data::detect_kind(&dir);
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
            if ui
                .button("Test")
                .on_hover_text("Evaluate the current weights on the test set (T)")
                .clicked()
            {
                actions.push(UiAction::EvaluateTest);
            }
            ui.separator();
            if let Some(info) = &self.history.info {
                ui.label(format!(
                    "{}: {} train / {} val / {} test",
                    info.dataset, info.sizes[0], info.sizes[1], info.sizes[2]
                ));
            }
            if let Some(t) = &self.history.test {
                ui.separator();
                ui.strong(format!("test accuracy {:.2} %", 100.0 * t.accuracy));
            }
            if let Some(dir) = &self.history.saved_dir {
                ui.separator();
                ui.weak(format!("saved in {}", dir.display()));
            }
        });
    }

    fn status_bar(&self, ui: &mut Ui) {
        let h = &self.history;
        if let Some(d) = &self.download {
            ui.horizontal(|ui| {
                let (got, total) = d.progress.lock().map_or((0, 0), |g| *g);
                ui.label("Downloading CIFAR-10");
                let frac = if total > 0 {
                    got as f32 / total as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(240.0)
                        .text(format!(
                            "{:.1} / {:.1} MB",
                            got as f64 / 1e6,
                            total as f64 / 1e6
                        )),
                );
                if ui
                    .button("Cancel")
                    .on_hover_text("The next download resumes")
                    .clicked()
                {
                    d.cancel.store(true, Ordering::Relaxed);
                }
            });
        }
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
            match &self.notice {
                Some(Ok(m)) => {
                    ui.label(m);
                }
                Some(Err(m)) => {
                    ui.colored_label(ui.visuals().error_fg_color, m);
                }
                None => {}
            }
        });
    }

    fn start_download(&mut self) {
        if self.download.is_some() {
            return;
        }
        let spec = crate::data::download::DownloadSpec::cifar10(PathBuf::from("data"));
        let progress = Arc::new(Mutex::new((0, 0)));
        let cancel = Arc::new(AtomicBool::new(false));
        let result = Arc::new(Mutex::new(None));
        let (p, c, r) = (progress.clone(), cancel.clone(), result.clone());
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("trainviz-download".into())
            .spawn(move || {
                let outcome = crate::data::download::download(&spec, &c, |got, total| {
                    if let Ok(mut g) = p.lock() {
                        *g = (got, total);
                    }
                    if let Some(w) = &waker {
                        w();
                    }
                });
                if let Ok(mut g) = r.lock() {
                    *g = Some(outcome.map_err(|e| e.to_string()));
                }
                if let Some(w) = &waker {
                    w();
                }
            });
        match spawned {
            Ok(_) => {
                self.download = Some(Download {
                    progress,
                    cancel,
                    result,
                })
            }
            Err(e) => self.notice = Some(Err(format!("Cannot start the download: {e}"))),
        }
    }

    /// Picks up a finished download: on success the data is used for a new run.
    fn poll_download(&mut self) {
        let Some(d) = &self.download else { return };
        let done = d.result.lock().ok().and_then(|mut g| g.take());
        match done {
            Some(Ok(dir)) => {
                self.download = None;
                self.notice = Some(Ok(format!("CIFAR-10 is ready in {}", dir.display())));
                self.settings.config.dataset = crate::data::DatasetKind::Cifar10;
                self.settings.config.data = Some(dir);
                self.apply(UiAction::Reset);
            }
            Some(Err(e)) => {
                self.download = None;
                self.notice = Some(Err(e));
            }
            None => {}
        }
    }

    /// The current run as the report module sees it; `None` before a run is ready.
    pub fn record(&self) -> Option<RunRecord<'_>> {
        let info = self.history.info.as_ref()?;
        Some(RunRecord {
            info,
            history: &self.history.epochs,
            network: self.history.network.as_deref(),
            test: self.history.test.as_ref(),
        })
    }

    /// Writes the report of the current run into `dir` (the "Export report" action without
    /// its dialog) and shows the outcome.
    pub fn export_report_to(&mut self, dir: &std::path::Path) {
        let outcome = match self.record() {
            Some(record) => export::save_report(&record, dir, self.settings.png),
            None => Err("Nothing to export yet: start a run first.".to_string()),
        };
        self.notice = Some(outcome);
    }

    fn handle_export(&mut self, request: ExportRequest) {
        match request {
            ExportRequest::Figure(fig) => {
                if let Some(path) = export::pick_figure_path(&fig) {
                    self.notice = Some(export::save_figure(&fig, &path, self.settings.png));
                }
            }
            ExportRequest::Report => {
                if self.record().is_none() {
                    self.notice = Some(Err("Nothing to export yet: start a run first.".into()));
                } else if let Some(dir) = export::pick_report_folder() {
                    self.export_report_to(&dir);
                }
            }
        }
    }

    /// The central area: tab bar and the chosen view.
    fn central(&mut self, ui: &mut Ui) -> Option<ExportRequest> {
        ui.horizontal(|ui| {
            for (i, tab) in Tab::ALL.iter().enumerate() {
                ui.selectable_value(&mut self.settings.tab, *tab, tab.label())
                    .on_hover_text(format!("Key {}", i + 1));
            }
        });
        ui.separator();
        let mut request = None;
        egui::ScrollArea::vertical().show(ui, |ui| match self.settings.tab {
            Tab::Training => {
                request = self.plots.ui(ui, &self.history);
                ui.separator();
                self.templates.ui(ui, &self.history);
                if let Some(record) = self.record() {
                    ui.horizontal(|ui| {
                        for (label, curve) in [
                            ("Export cost…", crate::report::figures::Curve::Cost),
                            ("Export loss…", crate::report::figures::Curve::Loss),
                            ("Export accuracy…", crate::report::figures::Curve::Accuracy),
                        ] {
                            if ui.button(label).clicked() {
                                let fig = crate::report::figures::curve(&record, curve);
                                request = Some(ExportRequest::Figure(Box::new(fig)));
                            }
                        }
                        if let Some(net) = record.network
                            && ui.button("Export templates…").clicked()
                            && let Some(fig) = crate::report::figures::templates(
                                net,
                                record.info.shape,
                                &record.info.class_names,
                            )
                        {
                            request = Some(ExportRequest::Figure(Box::new(fig)));
                        }
                    });
                }
            }
            Tab::Confusion => request = self.confusion.ui(ui, &self.history),
            Tab::Layers => request = self.layers.ui(ui, &self.history),
            Tab::Race => {
                request = self
                    .race
                    .ui(ui, &self.settings.config, self.runs_dir.clone())
            }
            Tab::Histograms => request = self.histograms.ui(ui, &self.history),
            Tab::Predictions => {
                let (analysis, export) = self.predictions.ui(ui, &self.history);
                if let Some(r) = analysis {
                    self.send(Command::Analyse(r));
                }
                request = export;
            }
            Tab::Embedding => {
                let (analysis, export) = self.embedding.ui(ui, &self.history);
                if let Some(r) = analysis {
                    self.send(Command::Analyse(r));
                }
                request = export;
            }
            Tab::GradientCheck => {
                let (analysis, export) = self.gradcheck.ui(ui, &self.history);
                if let Some(r) = analysis {
                    self.send(Command::Analyse(r));
                }
                request = export;
            }
            Tab::Runs => match self.runs.ui(ui, &self.settings.config) {
                Some(RunsAction::Load(dir, extra_epochs)) => {
                    // The settings panel shows the loaded run's settings.
                    if let Some(run) = self.runs.runs().iter().find(|r| r.dir == dir) {
                        self.settings.config = run.config.clone();
                    }
                    self.send(Command::LoadRun { dir, extra_epochs });
                    self.settings.tab = Tab::Training;
                }
                Some(RunsAction::Export(r)) => request = Some(r),
                None => {}
            },
            Tab::Results => {
                let table = self
                    .record()
                    .map(|r| crate::report::figures::results_table(&r));
                request = self.results.ui(ui, table.as_ref(), &mut self.settings.png);
            }
        });
        request
    }

    /// Draws the whole window and applies what the user did.
    pub fn draw(&mut self, ui: &mut Ui) {
        self.poll_download();
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
            if ui.input(|i| i.key_pressed(Key::T)) {
                actions.push(UiAction::EvaluateTest);
            }
            let keys = [
                Key::Num1,
                Key::Num2,
                Key::Num3,
                Key::Num4,
                Key::Num5,
                Key::Num6,
                Key::Num7,
                Key::Num8,
                Key::Num9,
            ];
            for (key, tab) in keys.into_iter().zip(Tab::ALL) {
                if ui.input(|i| i.key_pressed(key)) {
                    self.settings.tab = tab;
                }
            }
        }
        let mut export_request = None;
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::E)) {
            export_request = Some(ExportRequest::Report);
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
            if let Some(r) = self.central(ui) {
                export_request = Some(r);
            }
        });
        self.settings.smoothing = self.plots.smoothing;
        for a in actions {
            self.apply(a);
        }
        if let Some(r) = export_request {
            self.handle_export(r);
        }
    }

    /// The run browser (for tests).
    pub fn runs_panel(&mut self) -> &mut RunsPanel {
        &mut self.runs
    }

    /// The race panel (for tests).
    pub fn race_panel(&mut self) -> &mut RacePanel {
        &mut self.race
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
