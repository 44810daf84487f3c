//! Exporting figures and reports: into the run's own folder without asking, through the
//! system's file dialog, or to a path typed by hand when no dialog can open. Files are
//! written on a background [`Task`], never on the window's thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::Ui;

use super::background::{DialogTask, Task, TaskError};
use crate::model::Network;
use crate::report::{ExportError, Figure, PngSize, RunRecord, export_figure};
use crate::train::worker::Waker;
use crate::train::{EpochMetrics, Evaluation, RunInfo};

/// What a panel asks to export.
pub enum ExportRequest {
    /// One figure: the export window offers the run folder, a dialog or a typed path.
    Figure(Box<Figure>),
    /// The whole report: straight into `<run>/report/` (Ctrl+E).
    Report,
}

/// Everything a report is drawn from, owned, so it can be written on another thread.
#[derive(Clone)]
pub struct ReportData {
    /// Data set, class names and settings.
    pub info: RunInfo,
    /// Per-epoch metrics.
    pub history: Vec<EpochMetrics>,
    /// The latest weights.
    pub network: Option<Arc<Network<f32>>>,
    /// The test evaluation, if any.
    pub test: Option<Evaluation>,
    /// The per-step mini-batch losses, for the report's step-loss figure.
    pub steps: crate::report::StepLosses,
    /// A layer stack's latest weights, for its filters and feature maps.
    pub stack: Option<Arc<crate::model::stack::Stack<f32>>>,
}

impl ReportData {
    fn record(&self) -> RunRecord<'_> {
        RunRecord {
            info: &self.info,
            history: &self.history,
            network: self.network.as_deref(),
            test: self.test.as_ref(),
        }
    }
}

/// What is being exported.
enum Target {
    Figure(Box<Figure>),
    Report(Box<ReportData>),
}

impl Target {
    fn title(&self) -> String {
        match self {
            Target::Figure(f) => format!("Export “{}”", f.title),
            Target::Report(_) => "Export the report".to_string(),
        }
    }
}

/// A finished export: what to say and the folder to offer to open.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// "Saved the report (41 files) in …".
    pub message: String,
    /// The folder holding what was written.
    pub folder: PathBuf,
}

/// The folder a run's report goes to.
pub fn report_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("report")
}

/// The folder a run's single figures go to.
pub fn figures_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("figures")
}

/// Whether a file dialog can open here: on Linux rfd needs the desktop portal (over the
/// session bus) or zenity, and says nothing when it has neither.
pub fn dialog_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let zenity = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join("zenity").is_file()));
    zenity || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}

/// A dialog that "returns" faster than this was never shown: nobody cancels that fast.
const DIALOG_NEVER_SHOWN: Duration = Duration::from_millis(300);

/// Why an export from the window did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExportFailed {
    /// There is no run to export yet.
    #[error("Nothing to export yet: start a run first.")]
    NothingYet,
    /// The folder could not be made.
    #[error("Export failed: cannot create {}: {problem}", dir.display())]
    CreateDir {
        /// The folder.
        dir: PathBuf,
        /// The system's reason.
        problem: String,
    },
    /// A file could not be written or drawn (shared: the outcome is kept and shown).
    #[error("Export failed: {0}")]
    Write(Arc<ExportError>),
    /// The file manager could not be started on the folder written to.
    #[error("Cannot open the folder with {program} ({problem}); it is {}", dir.display())]
    OpenFolder {
        /// The program tried.
        program: &'static str,
        /// The folder.
        dir: PathBuf,
        /// The system's reason.
        problem: String,
    },
}

impl From<ExportError> for ExportFailed {
    fn from(e: ExportError) -> Self {
        ExportFailed::Write(Arc::new(e))
    }
}

/// Writes `figure` as PNG, SVG and CSV into `dir`.
fn write_figure_all(figure: &Figure, dir: &Path, size: PngSize) -> Result<Written, ExportFailed> {
    std::fs::create_dir_all(dir).map_err(|e| ExportFailed::CreateDir {
        dir: dir.to_path_buf(),
        problem: e.to_string(),
    })?;
    for ext in ["png", "svg", "csv"] {
        let path = dir.join(format!("{}.{ext}", figure.id));
        export_figure(figure, &path, size)?;
    }
    Ok(Written {
        message: format!(
            "Saved {id}.png, .svg and .csv in {}",
            dir.display(),
            id = figure.id
        ),
        folder: dir.to_path_buf(),
    })
}

/// Writes `figure` to `path` (PNG, SVG or CSV by its extension; none means PNG).
fn write_figure_to(figure: &Figure, path: &Path, size: PngSize) -> Result<Written, ExportFailed> {
    let path = if path.extension().is_none() {
        path.with_extension("png")
    } else {
        path.to_path_buf()
    };
    export_figure(figure, &path, size)?;
    Ok(Written {
        message: format!("Saved {}", path.display()),
        folder: path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    })
}

/// Writes the report of `data` into `dir`.
fn write_report(data: &ReportData, dir: &Path, size: PngSize) -> Result<Written, ExportFailed> {
    let record = data.record();
    let hidden = crate::runs::report::hidden_layer(record.info, record.network);
    let convnet = crate::runs::report::convnet_figures(record.info, data.stack.as_deref());
    crate::report::export_report_with_steps(&record, &data.steps, &hidden, &convnet, dir, size)
        .map(|files| Written {
            message: format!(
                "Saved the report ({} files) in {}",
                files.len(),
                dir.display()
            ),
            folder: dir.to_path_buf(),
        })
        .map_err(ExportFailed::from)
}

/// The export window and the writes in flight.
#[derive(Default)]
pub struct Exporter {
    /// The export window is open for this.
    open: Option<Target>,
    /// The path typed in the export window.
    typed: String,
    /// Why the file dialog is not offered (or failed), shown in the export window.
    dialog_problem: Option<String>,
    /// A file dialog open on its own thread, and when it was opened.
    dialog: Option<(DialogTask, Instant, Target)>,
    /// Files being written.
    writing: Option<Task<Written, ExportFailed>>,
    /// How the last export ended.
    pub last: Option<Result<Written, TaskError<ExportFailed>>>,
    /// The run the window shows: what was saved belongs to it, and goes with it.
    run: u64,
    /// The run the write in flight was started for.
    writing_run: u64,
}

impl Exporter {
    /// Tells which run the window shows. A "Saved …" notice is about the run it was saved
    /// from, so a new run (Reset, a loaded run) clears it.
    pub fn follow_run(&mut self, run: u64) {
        if run != self.run {
            self.run = run;
            self.last = None;
        }
    }

    /// True while files are being written.
    pub fn busy(&self) -> bool {
        self.writing.is_some()
    }

    /// Opens the export window for `figure`.
    pub fn ask_figure(&mut self, figure: Box<Figure>) {
        self.open_window(Target::Figure(figure));
    }

    /// Opens the export window for the report (when the run has no folder to write to).
    pub fn ask_report(&mut self, data: ReportData) {
        self.open_window(Target::Report(Box::new(data)));
    }

    fn open_window(&mut self, target: Target) {
        self.typed = match &target {
            Target::Figure(f) => format!("{}.png", f.id),
            Target::Report(_) => "report".to_string(),
        };
        self.dialog_problem = (!dialog_available()).then(|| {
            "No file dialog can open on this desktop (no desktop portal, no zenity): type a path instead."
                .to_string()
        });
        self.open = Some(target);
    }

    /// Writes the report of `data` into `dir` on a background task.
    pub fn write_report(
        &mut self,
        data: ReportData,
        dir: PathBuf,
        size: PngSize,
        waker: Option<Waker>,
    ) {
        self.start(
            Target::Report(Box::new(data)),
            Dest::Folder(dir),
            size,
            waker,
        );
    }

    fn start(&mut self, target: Target, dest: Dest, size: PngSize, waker: Option<Waker>) {
        let what = match &target {
            Target::Figure(_) => "Exporting the figure",
            Target::Report(_) => "Exporting the report",
        };
        self.last = None;
        self.writing_run = self.run;
        self.writing = Some(Task::spawn(what, waker, move |_| match (&target, &dest) {
            (Target::Figure(f), Dest::Folder(d)) => write_figure_all(f, d, size),
            (Target::Figure(f), Dest::File(p)) => write_figure_to(f, p, size),
            (Target::Report(r), Dest::Folder(d) | Dest::File(d)) => write_report(r, d, size),
        }));
    }

    /// Takes in finished writes and dialogs; call once per frame.
    pub fn poll(&mut self, size: PngSize, waker: Option<Waker>) {
        if let Some(task) = &mut self.writing
            && let Some(outcome) = task.poll()
        {
            self.writing = None;
            // A write that succeeded for a run no longer shown says nothing of this one; a
            // failure is still worth telling.
            if self.writing_run == self.run || outcome.is_err() {
                self.last = Some(outcome);
            }
        }
        if let Some((task, opened, _)) = &mut self.dialog
            && let Some(outcome) = task.poll()
        {
            let quick = opened.elapsed() < DIALOG_NEVER_SHOWN;
            let Some((_, _, target)) = self.dialog.take() else {
                return;
            };
            match outcome {
                Ok(Some(path)) => {
                    let dest = match target {
                        Target::Figure(_) => Dest::File(path),
                        Target::Report(_) => Dest::Folder(path),
                    };
                    self.start(target, dest, size, waker);
                }
                Ok(None) if !quick => {} // the user cancelled the dialog
                Ok(None) | Err(_) => {
                    self.dialog_problem = Some(
                        "The file dialog could not open (no desktop portal or zenity?): type a path instead."
                            .into(),
                    );
                    self.open = Some(target);
                }
            }
        }
    }

    /// Draws the export window, if open. `run_dir` is the run's folder (None when the run is
    /// not saved).
    pub fn window(
        &mut self,
        ctx: &egui::Context,
        run_dir: Option<&Path>,
        size: PngSize,
        waker: Option<Waker>,
    ) {
        let Some(target) = &self.open else { return };
        let mut keep_open = true;
        let mut go: Option<Dest> = None;
        let mut open_dialog = false;
        egui::Window::new(target.title())
            .collapsible(false)
            .resizable(false)
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 80.0))
            .open(&mut keep_open)
            .show(ctx, |ui| {
                let in_run = run_dir.map(|d| match target {
                    Target::Figure(_) => figures_dir(d),
                    Target::Report(_) => report_dir(d),
                });
                let button = ui
                    .add_enabled(
                        in_run.is_some(),
                        egui::Button::new("Save in the run folder"),
                    )
                    .on_disabled_hover_text(
                        "This run is not saved in a folder (yet): it is once its first epoch ends.",
                    );
                if let Some(dir) = &in_run {
                    ui.weak(match target {
                        Target::Figure(_) => format!("PNG, SVG and CSV into {}", dir.display()),
                        Target::Report(_) => format!("Into {}", dir.display()),
                    });
                    if button.clicked() {
                        go = Some(Dest::Folder(dir.clone()));
                    }
                }
                ui.separator();
                let can_dialog = self.dialog_problem.is_none();
                if ui
                    .add_enabled(can_dialog, egui::Button::new("Save as…"))
                    .on_hover_text("Choose where, with the system's file dialog")
                    .clicked()
                {
                    open_dialog = true;
                }
                if let Some(p) = &self.dialog_problem {
                    ui.colored_label(ui.visuals().warn_fg_color, p);
                }
                // The label above the field and the Save button beside it: nothing in the row
                // depends on the title's or the folder's length, so Save is never cut off.
                ui.label(match target {
                    Target::Figure(_) => "Or type a file (.png, .svg or .csv):",
                    Target::Report(_) => "Or type a folder:",
                });
                ui.horizontal(|ui| {
                    let edit =
                        ui.add(egui::TextEdit::singleline(&mut self.typed).desired_width(260.0));
                    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.button("Save").clicked() || enter) && !self.typed.trim().is_empty() {
                        let path = PathBuf::from(self.typed.trim());
                        go = Some(match target {
                            Target::Figure(_) => Dest::File(path),
                            Target::Report(_) => Dest::Folder(path),
                        });
                    }
                });
                ui.weak("A relative path is taken from the folder trainviz was started in.");
            });
        if go.is_some() || open_dialog || !keep_open {
            let Some(target) = self.open.take() else {
                return;
            };
            if let Some(dest) = go {
                self.start(target, dest, size, waker);
            } else if open_dialog {
                self.open_dialog(target, waker);
            }
        }
    }

    fn open_dialog(&mut self, target: Target, waker: Option<Waker>) {
        let (title, name, is_figure) = match &target {
            Target::Figure(f) => (
                format!("Export “{}”", f.title),
                format!("{}.png", f.id),
                true,
            ),
            Target::Report(_) => (
                "Folder for the report (figures, report.md, results.tex)".to_string(),
                String::new(),
                false,
            ),
        };
        // rfd's dialogs block; on their own thread the window keeps drawing meanwhile.
        let task = Task::spawn("The file dialog", waker, move |_| {
            let dialog = rfd::FileDialog::new().set_title(title);
            Ok(if is_figure {
                dialog
                    .set_file_name(name)
                    .add_filter("PNG image", &["png"])
                    .add_filter("SVG vector image", &["svg"])
                    .add_filter("CSV data", &["csv"])
                    .save_file()
            } else {
                dialog.pick_folder()
            })
        });
        self.dialog = Some((task, Instant::now(), target));
    }

    /// The status line of exports: a spinner while writing, then where the files went with
    /// buttons to open or copy the folder.
    pub fn status(&mut self, ui: &mut Ui) {
        if self.writing.is_some() || self.dialog.is_some() {
            ui.spinner();
            ui.label(if self.dialog.is_some() {
                "Waiting for the file dialog…"
            } else {
                "Exporting…"
            });
            return;
        }
        let mut dismiss = false;
        match &self.last {
            Some(Ok(w)) => {
                ui.label(&w.message);
                if ui
                    .small_button("Open folder")
                    .on_hover_text("Show the folder in the file manager")
                    .clicked()
                    && let Err(e) = open_folder(&w.folder)
                {
                    self.last = Some(Err(TaskError::Failed(e)));
                    return;
                }
                if ui.small_button("Copy path").clicked() {
                    ui.ctx().copy_text(w.folder.display().to_string());
                }
                dismiss = ui.small_button("Hide").on_hover_text("Hide").clicked();
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                dismiss = ui.small_button("Hide").on_hover_text("Hide").clicked();
            }
            None => {}
        }
        if dismiss {
            self.last = None;
        }
    }
}

/// Where an export goes.
enum Dest {
    /// A folder (the report, or a figure in all three formats).
    Folder(PathBuf),
    /// One file (a figure).
    File(PathBuf),
}

/// Opens `dir` in the desktop's file manager.
fn open_folder(dir: &Path) -> Result<(), ExportFailed> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(program)
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|mut child| {
            // Reap the opener when it exits, so it does not linger as a zombie.
            if let Err(e) = std::thread::Builder::new()
                .name("trainviz-open-folder".into())
                .spawn(move || child.wait())
            {
                log::warn!("cannot start a thread to wait for the folder viewer: {e}");
            }
        })
        .map_err(|e| ExportFailed::OpenFolder {
            program,
            dir: dir.to_path_buf(),
            problem: e.to_string(),
        })
}
