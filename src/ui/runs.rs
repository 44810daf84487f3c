//! The run browser: every saved run (name, date, data set, settings, best validation
//! accuracy), rename, delete, load (weights and curves) or continue it; overlay several runs'
//! curves with a legend naming what differs; run a sweep in the background with a live
//! table of its results.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use egui::Ui;
use egui_plot::{Line, PlotPoint, PlotPoints};

use super::background::{DialogTask, Task, repaint_waker};
use super::export::ExportRequest;
use super::plots::{
    legend_wrapped_styled, readable_plot, series_colour, series_readout, series_style,
    with_one_point_bounds,
};
use super::words::short_settings;
use crate::report::figures::{self, Curve};
use crate::runs::sweep::{self, PointResult, SweepEvent};
use crate::runs::{RunError, RunStatus, SavedRun, differing_labels, list_runs, utc_stamp};
use crate::train::TrainConfig;

/// Every setting of a run as it trained, one per line.
fn settings_tooltip(settings: &crate::train::RunSettings) -> String {
    settings
        .settings_table()
        .into_iter()
        .map(|(k, v)| format!("{}: {v}", crate::train::config::setting_label(&k)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the browser asks the app to do.
pub enum RunsAction {
    /// Load this run (paused), allowing this many more epochs.
    Load(PathBuf, usize),
    /// Export a figure.
    Export(ExportRequest),
}

/// A sweep's points trained, but its ranked table could not be written.
#[derive(Debug, thiserror::Error)]
#[error("The sweep finished, but its table could not be written: {0}")]
pub struct SweepTableUnwritten(crate::report::ExportError);

/// A sweep running in the background.
struct RunningSweep {
    name: String,
    total: usize,
    events: Receiver<SweepEvent>,
    /// The sweep itself, on the window's one mechanism for background work (a panic in it
    /// becomes a message; Stop cancels it).
    task: Task<(), SweepTableUnwritten>,
    results: Vec<PointResult>,
    training: BTreeSet<String>,
    failed: Vec<(String, String)>,
    done: bool,
}

pub use super::words::RunState;

/// A run whose files changed this recently is taken to be training.
const TRAINING_IF_CHANGED_WITHIN: Duration = Duration::from_secs(90);
/// How often the runs folder is read again while the tab is shown.
const SCAN_EVERY: Duration = Duration::from_secs(2);

/// The state of `run` from its files.
fn state_of(run: &SavedRun) -> RunState {
    match run.meta.status {
        RunStatus::Finished => RunState::Finished,
        RunStatus::Diverged => RunState::Diverged,
        RunStatus::Stopped => RunState::Stopped,
        RunStatus::Running => {
            let recent = ["metrics.jsonl", "meta.json"].iter().any(|f| {
                std::fs::metadata(run.dir.join(f))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age < TRAINING_IF_CHANGED_WITHIN)
            });
            // The lock its process holds tells a live run from one whose process was
            // killed; recent files still count as training for a moment, so a run
            // between two writers (continued in this window) does not flicker.
            match (crate::runs::held_by_live_process(&run.dir), recent) {
                (_, true) => RunState::Training,
                (Some(false), false) => RunState::Interrupted,
                (Some(true) | None, false) => RunState::Paused,
            }
        }
    }
}

/// What one read of the runs folder found.
type Scan = (Vec<(SavedRun, RunState)>, Vec<String>);

/// State of the run browser.
pub struct RunsPanel {
    root: PathBuf,
    runs: Vec<SavedRun>,
    states: Vec<RunState>,
    errors: Vec<String>,
    scanned: bool,
    scan: Option<Task<Scan, Infallible>>,
    last_scan: Option<Instant>,
    /// Folders of the runs overlaid.
    pub selected: BTreeSet<PathBuf>,
    renaming: Option<(PathBuf, String)>,
    confirm_delete: Option<PathBuf>,
    curve: Curve,
    validation: bool,
    sweep: Option<RunningSweep>,
    message: Option<String>,
    /// The sweep file's path as typed (shown when no file dialog can open).
    sweep_typed: Option<String>,
    /// A file dialog for the sweep file, open on its own thread, and when it opened.
    sweep_dialog: Option<(DialogTask, Instant)>,
    /// The ticked runs' table being written.
    table: super::tables::TableExport,
}

impl RunsPanel {
    /// A browser of the runs under `root`.
    pub fn new(root: PathBuf) -> Self {
        RunsPanel {
            root,
            runs: Vec::new(),
            states: Vec::new(),
            errors: Vec::new(),
            scanned: false,
            scan: None,
            last_scan: None,
            selected: BTreeSet::new(),
            renaming: None,
            confirm_delete: None,
            curve: Curve::Accuracy,
            validation: true,
            sweep: None,
            message: None,
            sweep_typed: None,
            sweep_dialog: None,
            table: super::tables::TableExport::default(),
        }
    }

    /// Reads the runs folder again on a background task (unless a read is under way).
    pub fn rescan(&mut self, ctx: &egui::Context) {
        if self.scan.is_some() {
            return;
        }
        let root = self.root.clone();
        self.last_scan = Some(Instant::now());
        self.scan = Some(Task::spawn(
            "Reading the runs folder",
            Some(repaint_waker(ctx)),
            move |_| {
                let (runs, errors) = list_runs(&root);
                let runs = runs
                    .into_iter()
                    .map(|r| {
                        let s = state_of(&r);
                        (r, s)
                    })
                    .collect();
                Ok((runs, errors.iter().map(RunError::to_string).collect()))
            },
        ));
    }

    /// Takes in a finished scan; reads again every [`SCAN_EVERY`] so that runs made or
    /// deleted elsewhere (a sweep, the command line) come and go by themselves.
    fn follow_folder(&mut self, ctx: &egui::Context) {
        if let Some(task) = &mut self.scan
            && let Some(outcome) = task.poll()
        {
            self.scan = None;
            match outcome {
                Ok((runs, errors)) => {
                    (self.runs, self.states) = runs.into_iter().unzip();
                    self.errors = errors;
                    self.selected
                        .retain(|d| self.runs.iter().any(|r| &r.dir == d));
                }
                Err(e) => self.errors = vec![e.to_string()],
            }
            self.scanned = true;
        }
        if self.last_scan.is_none_or(|t| t.elapsed() >= SCAN_EVERY) {
            self.rescan(ctx);
        }
        // Come back for the next read even when nothing else redraws the window.
        ctx.request_repaint_after(SCAN_EVERY);
    }

    /// True once the folder has been read at least once.
    pub fn scanned(&self) -> bool {
        self.scanned
    }

    /// Runs listed now.
    pub fn runs(&self) -> &[SavedRun] {
        &self.runs
    }

    /// The selected runs' histories, each labelled with what differs between them.
    fn overlay_series(&self) -> Vec<(String, &[crate::train::EpochMetrics])> {
        let chosen: Vec<&SavedRun> = self
            .runs
            .iter()
            .filter(|r| self.selected.contains(&r.dir))
            .collect();
        differing_labels(&chosen)
            .into_iter()
            .zip(&chosen)
            .map(|(l, r)| (l, r.history.as_slice()))
            .collect()
    }

    /// The overlay figure of the selected runs.
    pub fn overlay_figure(&self) -> Option<figures::Figure> {
        let series = self.overlay_series();
        (!series.is_empty()).then(|| figures::overlay(&series, self.curve, self.validation))
    }

    /// Writes the ticked runs' table and templates figure (in the order of the list).
    fn export_table(&mut self, ctx: &egui::Context) {
        use crate::report::table::{TableRun, runs_table};
        let chosen: Vec<&SavedRun> = self
            .runs
            .iter()
            .filter(|r| self.selected.contains(&r.dir))
            .collect();
        let rows: Vec<TableRun> = chosen
            .iter()
            .map(|r| crate::runs::report::table_run(r))
            .collect();
        let table = runs_table(&rows, false);
        let (figures, problem) = match crate::runs::report::compare_saved(&chosen) {
            Ok(f) => (vec![f], None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let dir = super::tables::table_dir(&self.root, "runs");
        self.table.start(ctx, dir, table, figures, problem);
    }

    /// Starts the sweep in `file` with `base` as the starting settings.
    pub fn start_sweep(&mut self, file: &Path, base: &TrainConfig, repaint: egui::Context) {
        let prepared = match sweep::prepare(file, base, &self.root) {
            Ok(s) => s,
            Err(e) => {
                self.message = Some(format!("Cannot start the sweep: {e}"));
                return;
            }
        };
        // An earlier failure (a mistyped file) is no longer true once a sweep starts.
        self.message = None;
        let (tx, rx) = unbounded();
        let name = prepared
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let total = prepared.points.len();
        let task = Task::spawn("the sweep", Some(repaint_waker(&repaint)), move |cx| {
            // The points train beside the window: below its priority, as the worker.
            crate::train::worker::lower_thread_priority();
            let report = |e: SweepEvent| {
                // The panel is gone when the channel is closed: nothing to show.
                if tx.send(e).is_err() {
                    return;
                }
                repaint.request_repaint();
            };
            let results = sweep::run(&prepared, None, cx.cancel_flag(), &report);
            // The ranked table goes into the sweep's folder, as `trainviz sweep` writes it.
            if !cx.cancelled() {
                sweep::write_results(&prepared, &results).map_err(SweepTableUnwritten)?;
            }
            Ok(())
        });
        self.sweep = Some(RunningSweep {
            name,
            total,
            events: rx,
            task,
            results: Vec::new(),
            training: BTreeSet::new(),
            failed: Vec::new(),
            done: false,
        });
    }

    /// Takes in what the sweep reported; true when a point finished (the list changed).
    fn drain_sweep(&mut self) -> bool {
        let Some(s) = &mut self.sweep else {
            return false;
        };
        let mut changed = false;
        while let Ok(e) = s.events.try_recv() {
            match e {
                SweepEvent::Started { id } => {
                    s.training.insert(id);
                }
                SweepEvent::Epoch { .. } => {}
                SweepEvent::Done(r) => {
                    s.training.remove(&r.id);
                    s.results.push(r);
                    sweep::sort_results(&mut s.results);
                    changed = true;
                }
                SweepEvent::Failed { id, message } => {
                    s.training.remove(&id);
                    s.failed.push((id, message));
                }
            }
        }
        if s.results.len() + s.failed.len() >= s.total {
            s.done = true;
        }
        // The task ended (stopped, or failed as a bug would): say so instead of waiting.
        if let Some(outcome) = s.task.poll() {
            s.done = true;
            if let Err(e) = outcome {
                s.failed.push((String::from("the sweep"), e.to_string()));
            }
        }
        changed
    }

    /// Draws the browser; `base` is the window's current settings (a sweep starts from
    /// them).
    /// `current` is the window's own run: its folder and whether it is training.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        base: &TrainConfig,
        current: Option<(&Path, bool)>,
    ) -> Option<RunsAction> {
        let ctx = ui.ctx().clone();
        if self.drain_sweep() {
            self.last_scan = None;
        }
        self.follow_folder(&ctx);
        self.sweep_controls(ui, base, &ctx);
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
        for e in &self.errors {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Skipped: {e}"));
        }
        self.sweep_ui(ui);
        if !self.scanned {
            ui.label("Reading the runs folder…");
            return None;
        }
        if self.runs.is_empty() {
            ui.label("No saved runs yet: every run is saved here from its first epoch.");
            return None;
        }
        let mut action = self.runs_table(ui, current);
        if let Some(a) = self.overlay_ui(ui) {
            action = Some(a);
        }
        action
    }

    /// The runs folder's name, "Run a sweep…" and the file dialog it opens (or a path field
    /// where no dialog can open).
    fn sweep_controls(&mut self, ui: &mut Ui, base: &TrainConfig, ctx: &egui::Context) {
        ui.horizontal(|ui| {
            ui.label(format!("Runs in {}", self.root.display()))
                .on_hover_text("Read again every 2 s: runs made or deleted elsewhere come and go by themselves");
            ui.separator();
            let running = self.sweep.as_ref().is_some_and(|s| !s.done);
            if ui
                .add_enabled(!running, egui::Button::new("Run a sweep…"))
                .on_hover_text("Pick a sweep file (TOML: [params] lambda = [0, 0.1] …); finished points are kept, so running it again resumes")
                .clicked()
            {
                if super::export::dialog_available() {
                    // rfd's dialog blocks: on its own thread the window keeps drawing.
                    let task = Task::spawn("The file dialog", Some(repaint_waker(ctx)), |_| {
                        Ok(rfd::FileDialog::new()
                            .set_title("Sweep file")
                            .add_filter("Sweep file", &["toml"])
                            .pick_file())
                    });
                    self.sweep_dialog = Some((task, Instant::now()));
                } else {
                    self.sweep_typed = Some(String::new());
                }
            }
        });
        if let Some((task, opened)) = &mut self.sweep_dialog
            && let Some(outcome) = task.poll()
        {
            // A dialog that "returns" at once was never shown: offer the path field.
            let quick = opened.elapsed() < Duration::from_millis(300);
            self.sweep_dialog = None;
            match outcome {
                Ok(Some(file)) => self.start_sweep(&file, base, ctx.clone()),
                Ok(None) if !quick => {}
                Ok(None) | Err(_) => self.sweep_typed = Some(String::new()),
            }
        }
        let mut start = None;
        let mut close = false;
        if let Some(typed) = &mut self.sweep_typed {
            ui.horizontal(|ui| {
                ui.label("Sweep file:");
                let edit = ui.add(
                    egui::TextEdit::singleline(typed)
                        .desired_width(320.0)
                        .hint_text("/path/to/sweep.toml"),
                );
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Run").clicked() || enter) && !typed.trim().is_empty() {
                    start = Some(PathBuf::from(typed.trim()));
                }
                close = ui.button("Cancel").clicked();
            })
            .response
            .on_hover_text(
                "No file dialog can open on this desktop (no portal, no zenity): type the path",
            );
        }
        if let Some(file) = start {
            self.sweep_typed = None;
            self.start_sweep(&file, base, ctx.clone());
        } else if close {
            self.sweep_typed = None;
        }
    }

    /// The table of saved runs: overlay, name, state, data, settings, epochs, accuracies,
    /// and each run's Load and More… menu.
    fn runs_table(&mut self, ui: &mut Ui, current: Option<(&Path, bool)>) -> Option<RunsAction> {
        let mut action = None;
        egui::ScrollArea::both()
            .id_salt("runs-table")
            .max_width(ui.available_width())
            .max_height((ui.available_height() * 0.45).max(200.0))
            .show(ui, |ui| {
                // In a narrow window the data and settings columns give way; the name's
                // tooltip still tells them.
                let wide = ui.available_width() >= 900.0;
                egui::Grid::new("runs").striped(true).show(ui, |ui| {
                    for h in [
                        "overlay", "name", "state", "data", "settings", "epochs", "best val",
                        "test", "",
                    ] {
                        if wide || !matches!(h, "data" | "settings") {
                            ui.strong(h);
                        }
                    }
                    ui.end_row();
                    let mut rescan = false;
                    for (run, state) in self.runs.iter_mut().zip(&self.states) {
                        let mut on = self.selected.contains(&run.dir);
                        if ui
                            .checkbox(&mut on, "")
                            .on_hover_text("Overlay this run's curves")
                            .changed()
                        {
                            if on {
                                self.selected.insert(run.dir.clone());
                            } else {
                                self.selected.remove(&run.dir);
                            }
                        }
                        name_cell(
                            ui,
                            run,
                            wide,
                            &mut self.renaming,
                            &mut self.message,
                            &mut rescan,
                        );
                        state_cell(ui, run, *state, current);
                        if wide {
                            // Cut like the settings: a plane data set's description
                            // ("spiral, 2 classes (600 points, noise 0.1)") pushed Load off
                            // the right edge at 1400 px (seen in a new-user trial).
                            ui.scope(|ui| {
                                ui.set_max_width(160.0);
                                ui.add(egui::Label::new(&run.meta.dataset).truncate())
                                    .on_hover_text(&run.meta.dataset);
                            });
                            ui.scope(|ui| {
                                ui.set_min_width(140.0);
                                ui.set_max_width(220.0);
                                ui.add(egui::Label::new(short_settings(&run.config())).truncate())
                                    .on_hover_ui(|ui| {
                                        ui.label(settings_tooltip(&run.settings));
                                    });
                            });
                        }
                        number_cells(ui, run);
                        if let Some(a) = row_actions(
                            ui,
                            run,
                            &mut self.renaming,
                            &mut self.confirm_delete,
                            &mut self.message,
                            &mut rescan,
                        ) {
                            action = Some(a);
                        }
                        ui.end_row();
                    }
                    if rescan {
                        self.last_scan = None;
                    }
                });
            });
        action
    }

    fn sweep_ui(&mut self, ui: &mut Ui) {
        let Some(s) = &self.sweep else { return };
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong(format!("Sweep {}", s.name));
            let done = s.results.len() + s.failed.len();
            ui.add(
                egui::ProgressBar::new(done as f32 / s.total.max(1) as f32)
                    .desired_width(200.0)
                    .text(format!("{done}/{} points", s.total)),
            );
            if !s.done
                && ui
                    .button("Stop")
                    .on_hover_text("Finished points are kept; run the same file again to resume")
                    .clicked()
            {
                s.task.cancel();
            }
            if !s.training.is_empty() {
                ui.label(format!(
                    "training {}",
                    s.training.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        });
        for (id, m) in &s.failed {
            ui.colored_label(ui.visuals().error_fg_color, format!("{id}: {m}"));
        }
        if s.results.is_empty() {
            return;
        }
        egui::Grid::new("sweep-results")
            .striped(true)
            .show(ui, |ui| {
                ui.strong("rank");
                for (k, _) in &s.results[0].values {
                    ui.strong(k);
                }
                ui.strong("best val");
                ui.strong("test");
                ui.end_row();
                for (i, r) in s.results.iter().enumerate() {
                    ui.label((i + 1).to_string());
                    for (_, v) in &r.values {
                        ui.label(v);
                    }
                    ui.label(format!("{:.2} %", 100.0 * r.best_val_acc));
                    ui.label(format!("{:.2} %", 100.0 * r.summary.test_acc));
                    ui.end_row();
                }
            });
    }

    fn overlay_ui(&mut self, ui: &mut Ui) -> Option<RunsAction> {
        let mut action = None;
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong(format!("Overlay of {} runs", self.selected.len()));
            for (c, label) in [
                (Curve::Accuracy, "accuracy"),
                (Curve::Cost, "cost"),
                (Curve::Loss, "loss"),
            ] {
                ui.selectable_value(&mut self.curve, c, label);
            }
            ui.separator();
            ui.selectable_value(&mut self.validation, true, "validation");
            ui.selectable_value(&mut self.validation, false, "training");
            if ui
                .add_enabled(
                    !self.selected.is_empty(),
                    egui::Button::new("Export overlay…"),
                )
                .clicked()
                && let Some(fig) = self.overlay_figure()
            {
                action = Some(RunsAction::Export(ExportRequest::Figure(Box::new(fig))));
            }
            if ui
                .add_enabled(
                    !self.selected.is_empty() && !self.table.busy(),
                    egui::Button::new("Export table"),
                )
                .on_hover_text(
                    "The ticked runs' results table (settings that differ; accuracy and cost on \
                     each set) as CSV, LaTeX and Markdown, and their class templates in one \
                     figure, into a new folder under tables/",
                )
                .clicked()
            {
                self.export_table(ui.ctx());
            }
        });
        self.table.ui(ui);
        if self.selected.is_empty() {
            ui.label("Tick runs above to compare their curves.");
            return action;
        }
        let series = self.overlay_series();
        let (curve, validation) = (self.curve, self.validation);
        let lines: Vec<(&str, Vec<PlotPoint>)> = series
            .iter()
            .map(|(label, history)| {
                let points = curve
                    .points(history, validation)
                    .into_iter()
                    .map(|(x, y)| PlotPoint::new(x, y))
                    .collect();
                (label.as_str(), points)
            })
            .collect();
        let all: Vec<&[PlotPoint]> = lines.iter().map(|(_, p)| p.as_slice()).collect();
        let y_label = match curve {
            Curve::Accuracy => "fraction correct",
            Curve::Cost => "cost",
            Curve::Loss => "loss",
        };
        // The legend names what differs between the runs, which can be long: it goes above
        // the plot, wrapping as needed, never over the curves.
        let entries: Vec<(&str, egui::Color32)> = lines
            .iter()
            .enumerate()
            .map(|(i, (label, _))| (*label, series_colour(i)))
            .collect();
        legend_wrapped_styled(ui, &entries);
        let plot = readable_plot("overlay", "epoch", y_label, true)
            .height((ui.available_height() - 8.0).clamp(220.0, 900.0))
            .label_formatter(|pos| {
                let named: Vec<(&str, &[PlotPoint])> =
                    lines.iter().map(|(l, p)| (*l, p.as_slice())).collect();
                series_readout(&named, pos)
            });
        with_one_point_bounds(plot, &all).show(ui, |plot| {
            for (i, (label, points)) in lines.iter().enumerate() {
                plot.line(
                    Line::new(*label, PlotPoints::Borrowed(points))
                        .color(series_colour(i))
                        .style(series_style(i))
                        .width(2.0),
                );
            }
        });
        action
    }
}

/// A run's state in the table: the window's own run says whether it trains now.
fn state_cell(ui: &mut Ui, run: &SavedRun, state: RunState, current: Option<(&Path, bool)>) {
    let state = match current {
        Some((dir, running)) if dir == run.dir => {
            if running {
                RunState::Training
            } else if state == RunState::Training {
                RunState::Paused
            } else {
                state
            }
        }
        _ => state,
    };
    let colour = match state {
        RunState::Diverged => ui.visuals().error_fg_color,
        RunState::Training => ui.visuals().warn_fg_color,
        _ => ui.visuals().text_color(),
    };
    ui.colored_label(colour, state.label())
        .on_hover_text(state.explain());
}

/// A run's Load button and its More… menu (continue, rename, delete with a second click);
/// the action asked for, if any.
fn row_actions(
    ui: &mut Ui,
    run: &mut SavedRun,
    renaming: &mut Option<(PathBuf, String)>,
    confirm_delete: &mut Option<PathBuf>,
    message: &mut Option<String>,
    rescan: &mut bool,
) -> Option<RunsAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        if ui
            .button("Load")
            .on_hover_text("Show its curves and weights; Start continues it")
            .clicked()
        {
            action = Some(RunsAction::Load(run.dir.clone(), 0));
        }
        ui.menu_button("More…", |ui| {
            if ui
                .button("Continue for 10 more epochs")
                .on_hover_text("Load it and allow 10 more epochs")
                .clicked()
            {
                action = Some(RunsAction::Load(run.dir.clone(), 10));
            }
            if ui.button("Rename").clicked() {
                *renaming = Some((run.dir.clone(), run.name()));
            }
            if ui.button("Delete…").clicked() {
                *confirm_delete = Some(run.dir.clone());
            }
        });
        if confirm_delete.as_ref() == Some(&run.dir) {
            if ui.button("Really delete").clicked() {
                match run.clone().delete() {
                    Ok(()) => *rescan = true,
                    Err(e) => *message = Some(format!("Cannot delete: {e}")),
                }
                *confirm_delete = None;
            }
            if ui.button("Keep").clicked() {
                *confirm_delete = None;
            }
        }
    });
    action
}

/// A run's name (cut to the column, the whole of it and where it lives on hover), or the
/// field it is being renamed in.
fn name_cell(
    ui: &mut Ui,
    run: &mut SavedRun,
    wide: bool,
    renaming: &mut Option<(PathBuf, String)>,
    message: &mut Option<String>,
    rescan: &mut bool,
) {
    match renaming {
        Some((dir, text)) if *dir == run.dir => {
            let edit = ui.text_edit_singleline(text);
            if edit.lost_focus() {
                if let Err(e) = run.rename(text) {
                    *message = Some(format!("Cannot rename: {e}"));
                }
                *rescan = true;
                *renaming = None;
            }
        }
        _ => {
            ui.scope(|ui| {
                // Wide enough for a whole folder name (date, model,
                // settings) in a wide window: cut to 200 px, names
                // were identical prefixes.
                ui.set_min_width(120.0);
                ui.set_max_width(if wide { 340.0 } else { 200.0 });
                ui.add(egui::Label::new(run.name()).truncate())
                    .on_hover_text(format!(
                        "{}\ncreated {} UTC\n{}\n{}, {}",
                        run.name(),
                        utc_stamp(run.meta.created),
                        run.dir.display(),
                        run.meta.dataset,
                        short_settings(&run.config())
                    ));
            });
        }
    }
}

/// A run's epochs (done / planned), best validation accuracy and test accuracy.
fn number_cells(ui: &mut Ui, run: &SavedRun) {
    ui.label(format!("{}/{}", run.history.len(), run.settings.epochs()));
    let best = run.best_val_accuracy();
    ui.label(if best.is_nan() {
        "-".to_string()
    } else {
        format!("{:.2} %", 100.0 * best)
    });
    // Measured once, when the run finished (or diverged).
    match run.summary.as_ref().map(|s| s.test_acc) {
        Some(t) if t.is_finite() => {
            ui.label(format!("{:.2} %", 100.0 * t))
                .on_hover_text("Test accuracy, measured when it finished");
        }
        _ => {
            ui.label("-")
                .on_hover_text("Measured when the run finishes (or with Evaluate on test)");
        }
    }
}
