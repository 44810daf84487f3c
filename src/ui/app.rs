//! The application: owns the worker handle and the panels, turns user actions into
//! commands and worker events into history.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::{Key, Ui};
use serde::{Deserialize, Serialize};

use super::background::{Task, repaint_waker};
use super::classify::ClassifyPanel;
use super::confusion::ConfusionPanel;
use super::controls::{ControlsPanel, UiAction};
use super::embedding::EmbeddingPanel;
use super::export::{ExportRequest, Exporter, ReportData};
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
use crate::data::DatasetKind;
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
    /// Points in the plane: the prediction as a heatmap, click to add points.
    Plane,
    /// Every unit's output over the plane and the weights between them.
    Network,
}

impl Tab {
    /// All tabs, in order (keys 1–9; the rest have none).
    pub const ALL: [Tab; 12] = [
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
        Tab::Plane,
        Tab::Network,
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
            Tab::Plane => "Plane",
            Tab::Network => "Network",
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
    /// Light or dark window.
    pub theme: ThemeChoice,
}

/// The window's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ThemeChoice {
    /// Light text on dark grey.
    #[default]
    Dark,
    /// Dark text on white.
    Light,
}

impl ThemeChoice {
    /// As egui knows it.
    pub fn egui(self) -> egui::Theme {
        match self {
            ThemeChoice::Dark => egui::Theme::Dark,
            ThemeChoice::Light => egui::Theme::Light,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            smoothing: 0.9,
            autostart: true,
            tab: Tab::default(),
            png: PngSize::default(),
            theme: ThemeChoice::default(),
        }
    }
}

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

/// How to install CIFAR-10 without the app's download, step by step.
fn manual_steps() -> String {
    use crate::data::download::{CIFAR10_FOLDER, CIFAR10_MD5, CIFAR10_URL};
    format!(
        "1. On a computer that is online, download {CIFAR10_URL} (162 MB).\n\
         2. Check that its MD5 is {CIFAR10_MD5}:\n   md5sum cifar-10-binary.tar.gz\n\
         3. Extract it into data/ in the folder trainviz starts in:\n   mkdir -p data && tar -xzf cifar-10-binary.tar.gz -C data\n\
         4. Start trainviz again: it finds data/{CIFAR10_FOLDER} by itself (or choose that folder under Data, Choose…)."
    )
}

/// Longest time spent draining worker events in one frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);

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
    download: Option<Task<PathBuf>>,
    /// The full manual steps after a failed download, shown in their own window.
    download_help: Option<String>,
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
    folder_dialog: Option<(Task<Option<PathBuf>>, Instant)>,
    /// The window's context, to wake it from background tasks.
    ctx: Option<egui::Context>,
    /// Outcome of the last data-folder choice or download, shown in the status bar:
    /// Ok(message) or Err(message).
    pub notice: Option<Result<String, String>>,
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
            notice: None,
        };
        app.send(Command::Reset(Box::new(app.settings.config.clone())));
        if app.settings.autostart {
            app.send(Command::Start);
        }
        app
    }

    /// Sends a command to the worker; if the worker has gone, starts a new one (its run ids
    /// go on from the old ones, so its events are shown) and hands it the command.
    pub fn send(&mut self, cmd: Command) {
        if let Err(crossbeam_channel::SendError(cmd)) = self.worker.try_send(cmd) {
            log::warn!("the training worker had stopped; starting a new one");
            self.worker = WorkerHandle::spawn_saving(self.waker.clone(), self.runs_dir.clone());
            if !self.worker.send(cmd) {
                self.history.message = Some("The training worker cannot be started.".into());
            }
        }
    }

    /// Stops the worker as a crash of its thread would (for tests of the recovery).
    #[cfg(feature = "test-hooks")]
    pub fn stop_worker(&mut self) {
        self.worker.shutdown();
    }

    /// Takes in the worker's events without blocking, within a time budget; true if any.
    pub fn drain_events(&mut self) -> bool {
        let started = Instant::now();
        let mut any = false;
        while started.elapsed() < DRAIN_BUDGET {
            match self.worker.events().try_recv() {
                Ok(e) => {
                    any |= self.history.apply(e);
                    self.follow_plane();
                }
                Err(_) => break,
            }
        }
        any
    }

    /// The way into the playground: when a run on points in the plane follows one on
    /// images (or is the first), the Plane tab opens; back on images, the playground's tabs
    /// close.
    fn follow_plane(&mut self) {
        let Some(info) = &self.history.info else {
            return;
        };
        let now = info.settings.start.dataset.is_plane();
        if self.last_run_plane == Some(now) {
            return;
        }
        if now {
            self.settings.tab = Tab::Plane;
        } else if matches!(self.settings.tab, Tab::Plane | Tab::Network) {
            self.settings.tab = Tab::Training;
        }
        self.last_run_plane = Some(now);
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
                let config = self.settings.config.clone();
                self.send(Command::Reset(Box::new(config)));
            }
            // Replacing a run that is training is asked first: a slip in the menu should
            // not end it.
            UiAction::ResetForPreset(label) if self.history.running => {
                self.confirm_preset = Some(label);
            }
            UiAction::ResetForPreset(_) => self.apply(UiAction::Reset),
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

    /// Uses the data set in `dir` (its kind detected from its files) and starts a new run.
    pub fn use_data_folder(&mut self, dir: PathBuf) {
        if !dir.is_dir() {
            self.notice = Some(Err(format!("{} is not a folder", dir.display())));
            return;
        }
        self.settings.config.dataset = crate::data::detect_kind(&dir);
        self.settings.config.data = Some(dir);
        self.notice = None;
        self.apply(UiAction::Reset);
    }

    fn waker(&self) -> Option<crate::train::worker::Waker> {
        self.ctx
            .as_ref()
            .map(repaint_waker)
            .or_else(|| self.waker.clone())
    }

    fn toolbar(&mut self, ui: &mut Ui, actions: &mut Vec<UiAction>) {
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
                ui.separator();
                let name = dir.file_name().map_or_else(
                    || dir.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                // Room is kept for the theme button on the right: the name is cut short
                // (whole on hover) rather than running under it.
                ui.scope(|ui| {
                    ui.set_max_width((ui.available_width() - 130.0).max(60.0));
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

    /// What the run is doing, in one word; `None` before there is a run.
    fn run_state(&self) -> Option<&'static str> {
        let h = &self.history;
        if h.loading.is_some() {
            return Some("loading");
        }
        h.info.as_ref()?;
        Some(if h.running {
            "training"
        } else if h.ended == Some(crate::train::RunStatus::Finished) {
            "finished"
        } else if h.ended == Some(crate::train::RunStatus::Diverged) {
            "diverged"
        } else if h.epochs.is_empty() && h.step == 0 {
            "ready"
        } else {
            "paused"
        })
    }

    fn status_bar(&mut self, ui: &mut Ui) {
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
                let frac = if h.summary.is_some() {
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
                    ui.label(format!("η {}", super::plots::number(h.eta)));
                }
                if let Some(left) = h.seconds_left() {
                    ui.label(format!("{left:.0} s left"));
                }
            }
            if let Some(state) = self.run_state() {
                let colour = match state {
                    "diverged" => ui.visuals().error_fg_color,
                    "finished" => ui.visuals().strong_text_color(),
                    _ => ui.visuals().text_color(),
                };
                ui.colored_label(colour, state);
            }
            if let Some(n) = &self.history.notice {
                ui.label(n);
            }
            if let Some(m) = &self.history.message {
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
            if self.download_help.is_some() {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "CIFAR-10 could not be downloaded (offline?).",
                );
            }
            self.exporter.status(ui);
        });
    }

    fn start_download(&mut self) {
        if self.download.is_some() {
            return;
        }
        self.download_help = None;
        let spec = crate::data::download::DownloadSpec::cifar10(PathBuf::from("data"));
        self.download = Some(Task::spawn(
            "Downloading CIFAR-10",
            self.waker(),
            move |cx| {
                crate::data::download::download(&spec, cx.cancel_flag(), |got, total| {
                    cx.progress(got, total)
                })
                .map_err(|e| e.to_string())
            },
        ));
    }

    /// Picks up a finished download: on success the data is used for a new run.
    fn poll_download(&mut self) {
        let Some(d) = &mut self.download else { return };
        match d.poll() {
            Some(Ok(dir)) => {
                self.download = None;
                self.notice = Some(Ok(format!("CIFAR-10 is ready in {}", dir.display())));
                self.settings.config.dataset = DatasetKind::Cifar10;
                self.settings.config.data = Some(dir);
                self.apply(UiAction::Reset);
            }
            Some(Err(e)) => {
                self.download = None;
                if e.contains("To install by hand") {
                    // The short line goes in the status bar; the steps in their own window.
                    self.notice = None;
                    self.download_help = Some(e);
                } else {
                    self.notice = Some(Err(e));
                }
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

    /// An owned copy of what the report is drawn from, to write on another thread.
    fn report_data(&self) -> Option<ReportData> {
        Some(ReportData {
            info: self.history.info.clone()?,
            history: self.history.epochs.clone(),
            network: self.history.network.clone(),
            test: self.history.test.clone(),
            steps: crate::report::StepLosses {
                raw: self.history.step_loss.iter().map(|p| (p.x, p.y)).collect(),
                eta: self.history.step_eta.iter().map(|p| (p.x, p.y)).collect(),
                evals: Vec::new(),
                smoothing: self.plots.smoothing,
            }
            .with_evals(
                &self.history.epochs,
                &self.history.points,
                self.history.info.as_ref()?.settings.start.live(),
            ),
        })
    }

    /// Writes the report of the current run into `dir` on a background task; the outcome
    /// shows in the status bar (and in `exporter.last`).
    pub fn export_report_to(&mut self, dir: &std::path::Path) {
        match self.report_data() {
            Some(data) => {
                let waker = self.waker();
                self.exporter
                    .write_report(data, dir.to_path_buf(), self.settings.png, waker);
            }
            None => {
                self.exporter.last = Some(Err("Nothing to export yet: start a run first.".into()))
            }
        }
    }

    fn handle_export(&mut self, request: ExportRequest) {
        match request {
            ExportRequest::Figure(fig) => self.exporter.ask_figure(fig),
            ExportRequest::Report => match (&self.history.saved_dir, self.report_data()) {
                (_, None) => {
                    self.exporter.last =
                        Some(Err("Nothing to export yet: start a run first.".into()));
                }
                (Some(dir), Some(_)) => {
                    let dir = super::export::report_dir(dir);
                    self.export_report_to(&dir);
                }
                // Not saved (yet): ask where.
                (None, Some(data)) => self.exporter.ask_report(data),
            },
        }
    }

    /// The notice shown while the run trains on the synthetic set, with one click to real
    /// data.
    fn synthetic_notice(&mut self, ui: &mut Ui, actions: &mut Vec<UiAction>) {
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

    /// The windows on top: export, manual download steps, data folder.
    fn windows(&mut self, ctx: &egui::Context) {
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
        if let Some(fig) = self.lr_range.window(ctx, &mut self.settings.config) {
            self.exporter.ask_figure(Box::new(fig));
        }
        let run_dir = self.history.saved_dir.clone();
        let waker = self.waker();
        self.exporter
            .window(ctx, run_dir.as_deref(), self.settings.png, waker);
        if let Some(help) = self.download_help.clone() {
            let mut open = true;
            let mut text = manual_steps();
            let mut retry = false;
            egui::Window::new("Installing CIFAR-10 by hand")
                .open(&mut open)
                .default_width(520.0)
                .show(ctx, |ui| {
                    ui.label("The download did not work:");
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        help.split(". What was received").next().unwrap_or(&help),
                    );
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
                    self.notice = Some(Err(
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
                    let can_dialog = super::export::dialog_available();
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
    fn dropped_pictures(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.first().cloned());
        if let Some(file) = dropped {
            let bytes = file.bytes().ok();
            let path = file.path().to_path_buf();
            self.classify.classify(path, bytes, &self.history, ctx);
            self.settings.tab = Tab::Predictions;
        }
    }

    /// The central area: tab bar and the chosen view.
    fn central(&mut self, ui: &mut Ui, actions: &mut Vec<UiAction>) -> Option<ExportRequest> {
        ui.horizontal_wrapped(|ui| {
            for (i, tab) in Tab::ALL.iter().enumerate() {
                ui.selectable_value(&mut self.settings.tab, *tab, tab.label())
                    .on_hover_text(format!("Key {}", i + 1));
            }
        });
        ui.separator();
        self.synthetic_notice(ui, actions);
        let mut request = None;
        // The plots share what is left of the window's height.
        let view_height = ui.available_height();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.settings.tab {
                Tab::Training => {
                    let (step_loss, curve) = self.plots.ui(ui, &self.history, view_height);
                    request = step_loss;
                    let eta_height = ((view_height - 120.0) * 0.1).clamp(70.0, 160.0);
                    if let Some(r) = self.eta_plot.ui(ui, &self.history, eta_height) {
                        request = Some(r);
                    }
                    ui.separator();
                    let templates = self.templates.ui(ui, &self.history);
                    if let Some(record) = self.record() {
                        if let Some(curve) = curve {
                            let fig = if self.history.points.is_empty() {
                                crate::report::figures::curve(&record, curve)
                            } else {
                                let points = crate::train::steps::all_points(
                                    &self.history.epochs,
                                    &self.history.points,
                                    record.info.settings.start.live(),
                                );
                                crate::report::figures::curve_per_step(&record, curve, &points)
                            };
                            request = Some(ExportRequest::Figure(Box::new(fig)));
                        }
                        if templates
                            && let Some(net) = record.network
                            && let Some(fig) = crate::report::figures::templates(
                                net,
                                record.info.shape,
                                &record.info.class_names,
                                Some(record.info),
                            )
                        {
                            request = Some(ExportRequest::Figure(Box::new(fig)));
                        }
                    }
                }
                Tab::Confusion => request = self.confusion.ui(ui, &self.history),
                Tab::Layers => request = self.layers.ui(ui, &self.history, view_height),
                Tab::Race => {
                    request = self.race.ui(
                        ui,
                        &self.settings.config,
                        self.runs_dir.clone(),
                        view_height,
                    )
                }
                Tab::Histograms => request = self.histograms.ui(ui, &self.history, view_height),
                Tab::Predictions => {
                    egui::CollapsingHeader::new("Classify your own picture")
                        .default_open(true)
                        .show(ui, |ui| self.classify.ui(ui, &self.history));
                    ui.separator();
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
                Tab::Runs => {
                    let current = self
                        .history
                        .saved_dir
                        .as_deref()
                        .map(|d| (d, self.history.running));
                    match self.runs.ui(ui, &self.settings.config, current) {
                        Some(RunsAction::Load(dir, extra_epochs)) => {
                            // The settings panel shows the loaded run's settings.
                            if let Some(run) = self.runs.runs().iter().find(|r| r.dir == dir) {
                                self.settings.config = run.config();
                            }
                            self.send(Command::LoadRun { dir, extra_epochs });
                            self.settings.tab = Tab::Training;
                        }
                        Some(RunsAction::Export(r)) => request = Some(r),
                        None => {}
                    }
                }
                Tab::Plane => {
                    let running = self.history.running;
                    if self
                        .plane
                        .plane_ui(ui, &self.history, &mut self.settings.config)
                    {
                        // New points: a new run on them, training again if it was.
                        actions.push(UiAction::Reset);
                        if running {
                            actions.push(UiAction::Start);
                        }
                    }
                }
                Tab::Network => self.plane.network_ui(ui, &self.history),
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
        if !ctx.egui_wants_keyboard_input() {
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
        super::set_frame_interval(interval);
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
