//! Writing a results table across runs from the window (the Runs tab's ticked runs, the
//! Race tab's variants): into a new folder `tables/<time>[-what]/` under the runs folder,
//! on a background task, with a line saying where it went.

use std::path::{Path, PathBuf};

use egui::Ui;

use super::background::{Task, repaint_waker};
use crate::report::table::RunsTable;
use crate::report::{ExportError, Figure, PngSize, export_figure};
use crate::runs::report::CompareError;

/// Why a table (or the figures with it) was not written.
#[derive(Debug, thiserror::Error)]
pub enum TableFailed {
    /// The table or a figure could not be written.
    #[error(transparent)]
    Write(#[from] ExportError),
    /// The table was written, but its figures could not be made.
    #[error("The table was written to {}, but not the templates: {problem}", dir.display())]
    NoFigures {
        /// Where the table went.
        dir: PathBuf,
        /// Why the figures could not be made.
        problem: CompareError,
    },
}

/// A table (and figures to go with it) being written, and the outcome of the last one.
#[derive(Default)]
pub struct TableExport {
    task: Option<Task<(PathBuf, usize), TableFailed>>,
    message: Option<(String, bool)>,
}

/// A new folder `tables/<UTC time>-<what>` under `root` (with `-2`, `-3` … when taken).
pub fn table_dir(root: &Path, what: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = format!("{}-{what}", crate::runs::utc_stamp(secs));
    let mut dir = root.join("tables").join(&base);
    let mut n = 2;
    while dir.exists() {
        dir = root.join("tables").join(format!("{base}-{n}"));
        n += 1;
    }
    dir
}

impl TableExport {
    /// True while a table is being written.
    pub fn busy(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Starts writing `table` as `table.csv`, `table.tex` and `table.md`, and `figures` as
    /// PNG, SVG and CSV, into `dir`; `figure_problem` is said beside the outcome (a figure
    /// that could not be made).
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        dir: PathBuf,
        table: RunsTable,
        figures: Vec<Figure>,
        figure_problem: Option<CompareError>,
    ) {
        self.message = None;
        self.task = Some(Task::spawn(
            "Writing the table",
            Some(repaint_waker(ctx)),
            move |_| {
                let mut files = table.write(&dir)?.len();
                for fig in &figures {
                    for ext in ["png", "svg", "csv"] {
                        let path = dir.join(format!("{}.{ext}", fig.id));
                        export_figure(fig, &path, PngSize::default())?;
                        files += 1;
                    }
                }
                if let Some(problem) = figure_problem {
                    return Err(TableFailed::NoFigures { dir, problem });
                }
                Ok((dir, files))
            },
        ));
    }

    /// Takes in the outcome and shows it (or that the table is being written).
    pub fn ui(&mut self, ui: &mut Ui) {
        if let Some(task) = &mut self.task
            && let Some(outcome) = task.poll()
        {
            self.message = Some(match outcome {
                Ok((dir, files)) => (format!("Wrote {files} files to {}", dir.display()), false),
                Err(e) => (e.to_string(), true),
            });
            self.task = None;
        }
        if self.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Writing the table…");
            });
        } else if let Some((text, error)) = &self.message {
            let colour = if *error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(colour, text);
        }
    }
}
