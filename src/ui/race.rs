//! Race: two to six variants of the current settings (one or two settings varied) trained
//! side by side on their own threads, their curves overlaid live with what differs in the
//! legend; each variant is saved as a run.

use std::convert::Infallible;
use std::path::PathBuf;

use crossbeam_channel::{Receiver, unbounded};
use egui::Ui;
use egui_plot::{Line, PlotPoint, PlotPoints};

use super::background::{Task, repaint_waker};
use super::export::ExportRequest;
use super::field::field_error;
use super::plots::{
    legend_wrapped, number, readable_plot, series_colour, waiting, with_one_point_bounds,
};
use super::words::RunState;
use crate::report::convnet::{RunBar, comparison_bars};
use crate::report::figures::{self, Curve};
use crate::runs::errors::RaceError;
use crate::runs::race::{self, RACE_PRESETS, RACE_SETTINGS, RaceEvent, Variant};
use crate::train::{EpochMetrics, TrainConfig};

/// What the loss curves of a race with label smoothing measure: evaluation uses one-hot
/// targets for every variant, so the curves compare, though the smoothed variants train on
/// smoothed targets (and their mini-batch losses are higher).
pub const SMOOTHED_LOSS_NOTE: &str = "cross-entropy against the true labels for every variant; smoothed ones trained on smoothed targets";

/// A race in progress (or finished).
struct RunningRace {
    labels: Vec<String>,
    /// Each variant's short name under a bar (see [`crate::report::convnet::bar_name`]).
    bar_names: Vec<String>,
    /// True when some variant trains with label smoothing: the plotted losses are then
    /// against the true labels for all, not the smoothed targets, which the panel says.
    smoothed: bool,
    histories: Vec<Vec<EpochMetrics>>,
    /// Test accuracy, folder and whether it diverged, of each variant that ended.
    finished: Vec<Option<(f64, Option<PathBuf>, bool)>>,
    failed: Vec<Option<String>>,
    /// Settings of each variant, and its test cost once it ended (for the exported table).
    settings: Vec<crate::train::RunSettings>,
    test_costs: Vec<f64>,
    /// Seconds each variant that ended spent training (for the exported time bars).
    seconds: Vec<f64>,
    events: Receiver<RaceEvent>,
    /// The race's thread: the window's one way of doing slow work ([`Task`]); cancelling
    /// it stops every variant between steps.
    task: Task<(), Infallible>,
}

impl RunningRace {
    fn done(&self) -> bool {
        self.task.cancel_requested()
            || self.task.is_finished()
            || self
                .finished
                .iter()
                .zip(&self.failed)
                .all(|(f, e)| f.is_some() || e.is_some())
    }
}

/// State of the Race panel.
pub struct RacePanel {
    /// Index in [`RACE_SETTINGS`] of the first varied setting.
    pub first: usize,
    /// Its values, comma-separated.
    pub first_values: String,
    /// The second varied setting, if any.
    pub second: Option<usize>,
    /// Its values.
    pub second_values: String,
    race: Option<RunningRace>,
    message: Option<String>,
    table: super::tables::TableExport,
}

impl Default for RacePanel {
    fn default() -> Self {
        RacePanel {
            first: 0,
            first_values: "sgd, momentum, adam".into(),
            second: None,
            second_values: "on, off".into(),
            race: None,
            message: None,
            table: super::tables::TableExport::default(),
        }
    }
}

impl RacePanel {
    /// True while variants are training.
    pub fn running(&self) -> bool {
        self.race.as_ref().is_some_and(|r| !r.done())
    }

    /// Labels of the variants of the current (or last) race.
    pub fn labels(&self) -> Vec<String> {
        self.race
            .as_ref()
            .map(|r| r.labels.clone())
            .unwrap_or_default()
    }

    /// Epochs each variant has finished.
    pub fn epochs_done(&self) -> Vec<usize> {
        self.race
            .as_ref()
            .map(|r| r.histories.iter().map(Vec::len).collect())
            .unwrap_or_default()
    }

    /// The message of the last failed start, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The variants the fields describe, on top of `base`.
    pub fn variants(&self, base: &TrainConfig) -> Result<Vec<Variant>, RaceError> {
        let mut vary = Vec::new();
        let (key, _) = RACE_SETTINGS[self.first.min(RACE_SETTINGS.len() - 1)];
        vary.push((
            key.to_string(),
            race::parse_values(key, &self.first_values)?,
        ));
        if let Some(i) = self.second {
            let (key2, _) = RACE_SETTINGS[i.min(RACE_SETTINGS.len() - 1)];
            if key2 == key {
                return Err(RaceError::SameSettingTwice {
                    setting: race::setting_name(key).to_string(),
                });
            }
            vary.push((
                key2.to_string(),
                race::parse_values(key2, &self.second_values)?,
            ));
        }
        race::variants(base, &vary)
    }

    /// Starts `variants`, saving them under `runs_root`; `repaint` is woken on each event.
    pub fn start(
        &mut self,
        variants: Vec<Variant>,
        runs_root: Option<PathBuf>,
        repaint: Option<egui::Context>,
    ) {
        if self.running() {
            return;
        }
        let (tx, rx) = unbounded();
        let n = variants.len();
        let labels = variants.iter().map(|v| v.label.clone()).collect();
        let bar_names = variants
            .iter()
            .map(|v| crate::report::convnet::bar_name(&v.values))
            .collect();
        let smoothed = variants.iter().any(|v| v.config.label_smoothing > 0.0);
        let settings = variants
            .iter()
            .map(|v| crate::train::RunSettings::new(v.config.clone()))
            .collect();
        let waker = repaint.as_ref().map(repaint_waker);
        let task = Task::spawn("the race", waker, move |cx| {
            // The variants train beside the window: below its priority, as the worker.
            crate::train::worker::lower_thread_priority();
            let report = |e: RaceEvent| {
                // The panel is gone when the channel is closed: nothing to show.
                if tx.send(e).is_err() {
                    return;
                }
                if let Some(ctx) = &repaint {
                    ctx.request_repaint();
                }
            };
            race::run(&variants, runs_root.as_deref(), cx.cancel_flag(), &report);
            Ok(())
        });
        self.message = None;
        // The last export's line was of the last race.
        self.table = super::tables::TableExport::default();
        self.race = Some(RunningRace {
            labels,
            bar_names,
            smoothed,
            histories: vec![Vec::new(); n],
            finished: vec![None; n],
            failed: vec![None; n],
            settings,
            test_costs: vec![f64::NAN; n],
            seconds: vec![f64::NAN; n],
            events: rx,
            task,
        });
    }

    /// Takes in what the race reported.
    pub fn drain(&mut self) {
        let Some(r) = &mut self.race else { return };
        while let Ok(e) = r.events.try_recv() {
            match e {
                RaceEvent::Epoch { variant, metrics } => {
                    if let Some(h) = r.histories.get_mut(variant) {
                        h.push(*metrics);
                    }
                }
                RaceEvent::Finished {
                    variant,
                    test_accuracy,
                    test_cost,
                    seconds,
                    dir,
                    diverged,
                } => {
                    if let Some(s) = r.seconds.get_mut(variant) {
                        *s = seconds;
                    }
                    if let Some(f) = r.finished.get_mut(variant) {
                        *f = Some((test_accuracy, dir, diverged));
                    }
                    if let Some(c) = r.test_costs.get_mut(variant) {
                        *c = test_cost;
                    }
                }
                RaceEvent::Failed { variant, message } => {
                    if let Some(f) = r.failed.get_mut(variant) {
                        *f = Some(message);
                    }
                }
            }
        }
        // The race's thread ended without its variants saying so (it could not start, or
        // failed as a bug would): each variant still waiting says why, instead of waiting.
        if let Some(Err(e)) = r.task.poll() {
            for (failed, finished) in r.failed.iter_mut().zip(&r.finished) {
                if failed.is_none() && finished.is_none() {
                    *failed = Some(e.to_string());
                }
            }
        }
    }

    /// The results table of the variants as they stand: settings that differ, accuracy and
    /// cost of the last epoch on the training and validation sets, the test set's once a
    /// variant ended (a diverged variant's test numbers are left out: its weights are not
    /// numbers).
    fn results_table(&self) -> Option<crate::report::table::RunsTable> {
        use crate::report::table::{RunResults, TableRun, runs_table};
        use crate::runs::RunStatus;
        let r = self.race.as_ref()?;
        let running = self.running();
        let rows: Vec<TableRun> = r
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let last = r.histories[i].last();
                let (status, test_acc, test_cost) = match &r.finished[i] {
                    Some((_, _, true)) => (RunStatus::Diverged, f64::NAN, f64::NAN),
                    Some((acc, _, false)) => (RunStatus::Finished, *acc, r.test_costs[i]),
                    None if running => (RunStatus::Running, f64::NAN, f64::NAN),
                    None => (RunStatus::Stopped, f64::NAN, f64::NAN),
                };
                TableRun {
                    name: label.clone(),
                    settings: r.settings[i].clone(),
                    results: RunResults {
                        train_acc: last.map_or(f64::NAN, |m| m.train.accuracy),
                        train_cost: last.map_or(f64::NAN, |m| m.train.cost),
                        val_acc: last.map_or(f64::NAN, |m| m.val.accuracy),
                        val_cost: last.map_or(f64::NAN, |m| m.val.cost),
                        test_acc,
                        test_cost,
                    },
                    status,
                }
            })
            .collect();
        Some(runs_table(&rows, false))
    }

    /// The overlay of the variants' `curve` (validation or training).
    fn overlay(&self, curve: Curve, validation: bool) -> Option<figures::Figure> {
        let r = self.race.as_ref()?;
        let runs: Vec<(String, &[EpochMetrics])> = r
            .labels
            .iter()
            .cloned()
            .zip(r.histories.iter().map(Vec::as_slice))
            .collect();
        let note = (r.smoothed && curve == Curve::Loss).then_some(SMOOTHED_LOSS_NOTE);
        Some(figures::overlay_noted(&runs, curve, validation, note))
    }

    /// The figures written beside the exported table: bars of the test accuracy and the
    /// training time of the variants that finished (a diverged one's test score means
    /// nothing), and the overlays of validation accuracy and training loss.
    fn table_figures(&self) -> Vec<figures::Figure> {
        let Some(r) = self.race.as_ref() else {
            return Vec::new();
        };
        let bars: Vec<RunBar> = r
            .bar_names
            .iter()
            .zip(&r.finished)
            .zip(&r.seconds)
            .filter_map(|((name, finished), &seconds)| match finished {
                Some((acc, _, false)) => Some(RunBar {
                    name: name.clone(),
                    test_accuracy: *acc,
                    train_seconds: seconds,
                }),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        if !bars.is_empty() {
            // The variants trained at once, sharing the cores: their times compare with
            // each other, not with a run trained alone.
            let what = format!(
                "{} variants of a race, trained at once on {} threads",
                bars.len(),
                r.settings
                    .first()
                    .and_then(|s| s.start.threads)
                    .unwrap_or_else(crate::train::default_threads)
            );
            out.extend(comparison_bars(&bars, &what));
        }
        out.extend(self.overlay(Curve::Accuracy, true));
        out.extend(self.overlay(Curve::Loss, false));
        out
    }

    /// Draws the panel; `base` is the window's settings (the variants start from them);
    /// `view_height` is the tab's height, which the plots share.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        base: &TrainConfig,
        runs_root: Option<PathBuf>,
        view_height: f32,
    ) -> Option<ExportRequest> {
        self.drain();
        let running = self.running();
        let fields_ok = self.fields(ui);
        self.buttons(ui, base, &runs_root, running, fields_ok);
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
        self.table_export(ui, &runs_root);
        let r = self.race.as_ref()?;
        results_grid(ui, r, running);
        self.plots(ui, r, view_height)
    }

    /// The varied settings and their values, each checked as it is typed (the reason shows
    /// beside it); true when every field reads and they make 2 to 6 variants.
    fn fields(&mut self, ui: &mut Ui) -> bool {
        ui.label("Train a few variants of the settings on the left side by side; each is saved as a run.");
        // Each field is checked as it is typed; the reason shows beside it and the race
        // cannot start until every field reads.
        let first_key = RACE_SETTINGS[self.first.min(RACE_SETTINGS.len() - 1)].0;
        ui.horizontal(|ui| {
            egui::ComboBox::from_id_salt("race-first")
                .selected_text(RACE_SETTINGS[self.first].1)
                .show_ui(ui, |ui| {
                    for (i, (_, name)) in RACE_SETTINGS.iter().enumerate() {
                        ui.selectable_value(&mut self.first, i, *name);
                    }
                });
            let values_width = (ui.available_width() - 40.0).clamp(200.0, 900.0);
            ui.add(egui::TextEdit::singleline(&mut self.first_values).desired_width(values_width))
                .accessible_name("first values")
                .on_hover_text(
                    "Values separated by commas, e.g. sgd, momentum, adam · on, off · 0.1, 0.01; \
                     layer stacks separated by semicolons, e.g. patchify 4:10, relu, dense 50, \
                     relu; patchify 8:40, relu, dense 50, relu",
                );
        });
        let first_error = race::parse_values(first_key, &self.first_values)
            .err()
            .map(|e| e.to_string());
        if let Some(e) = &first_error {
            field_error(ui, e);
        }
        let mut second_error = None;
        ui.horizontal(|ui| {
            let mut both = self.second.is_some();
            ui.checkbox(&mut both, "and");
            if both != self.second.is_some() {
                self.second = both.then_some(if self.first == 1 { 0 } else { 1 });
            }
            if let Some(second) = &mut self.second {
                egui::ComboBox::from_id_salt("race-second")
                    .selected_text(RACE_SETTINGS[*second].1)
                    .show_ui(ui, |ui| {
                        for (i, (_, name)) in RACE_SETTINGS.iter().enumerate() {
                            ui.selectable_value(second, i, *name);
                        }
                    });
                let values_width = (ui.available_width() - 40.0).clamp(200.0, 900.0);
                ui.add(
                    egui::TextEdit::singleline(&mut self.second_values).desired_width(values_width),
                )
                .accessible_name("second values");
                let key = RACE_SETTINGS[(*second).min(RACE_SETTINGS.len() - 1)].0;
                second_error = if key == first_key {
                    Some(RaceError::SameSettingTwice {
                        setting: race::setting_name(key).to_string(),
                    })
                } else {
                    race::parse_values(key, &self.second_values).err()
                }
                .map(|e| e.to_string());
            }
        });
        if let Some(e) = &second_error {
            field_error(ui, e);
        }
        // How many variants the fields make, checked before Start (2 to 6).
        let count_error = if first_error.is_none() && second_error.is_none() {
            let count = |text: &str, key| race::parse_values(key, text).map_or(0, |v| v.len());
            let n = count(&self.first_values, first_key)
                * self.second.map_or(1, |i| {
                    count(
                        &self.second_values,
                        RACE_SETTINGS[i.min(RACE_SETTINGS.len() - 1)].0,
                    )
                });
            (!(2..=race::MAX_VARIANTS).contains(&n)).then(|| {
                format!(
                    "a race needs 2 to {} variants; these values give {n}",
                    race::MAX_VARIANTS
                )
            })
        } else {
            None
        };
        if let Some(e) = &count_error {
            field_error(ui, e);
        }
        first_error.is_none() && second_error.is_none() && count_error.is_none()
    }

    /// Start, the ready-made races and Stop.
    fn buttons(
        &mut self,
        ui: &mut Ui,
        base: &TrainConfig,
        runs_root: &Option<PathBuf>,
        running: bool,
        fields_ok: bool,
    ) {
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!running && fields_ok, egui::Button::new("Start race"))
                .on_hover_text("Every combination of the values above, each on its own thread")
                .on_disabled_hover_text("Fix the values above first (the reason is beside them)")
                .clicked()
            {
                match self.variants(base) {
                    Ok(v) => self.start(v, runs_root.clone(), Some(ui.ctx().clone())),
                    Err(e) => self.message = Some(e.to_string()),
                }
            }
            egui::ComboBox::from_id_salt("race-presets")
                .selected_text("Ready-made races…")
                .show_ui(ui, |ui| {
                    for p in RACE_PRESETS {
                        if ui
                            .add_enabled(!running, egui::Button::new(p.label))
                            .clicked()
                        {
                            match race::preset_variants(p, base) {
                                Ok(v) => self.start(v, runs_root.clone(), Some(ui.ctx().clone())),
                                Err(e) => self.message = Some(e.to_string()),
                            }
                        }
                    }
                });
            if running
                && ui.button("Stop").clicked()
                && let Some(r) = &self.race
            {
                r.task.cancel();
            }
        });
    }

    /// "Export table and figures" and how the last export went, once there is a race.
    fn table_export(&mut self, ui: &mut Ui, runs_root: &Option<PathBuf>) {
        if self.race.is_some() {
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(
                        !self.table.busy(),
                        egui::Button::new("Export table and figures"),
                    )
                    .on_hover_text(
                        "The variants' results table (settings that differ; accuracy and cost \
                         on each set) as CSV, LaTeX and Markdown, with bar charts of test \
                         accuracy and training time and the overlaid curves (PNG, SVG, CSV), \
                         into a new folder under tables/ in the runs folder",
                    )
                    .clicked()
                {
                    match (self.results_table(), runs_root) {
                        (Some(table), Some(root)) => {
                            let dir = super::tables::table_dir(root, "race");
                            let figures = self.table_figures();
                            self.table.start(ui.ctx(), dir, table, figures, None);
                        }
                        _ => {
                            self.message =
                                Some("No runs folder to write the table into.".to_string())
                        }
                    }
                }
                self.table.ui(ui);
            });
        }
    }

    /// One legend, then the validation accuracy and training loss of every variant, side by
    /// side in the height left; returns a figure to export when asked.
    fn plots(&self, ui: &mut Ui, r: &RunningRace, view_height: f32) -> Option<ExportRequest> {
        let mut request = None;
        // One legend for both plots, above them, wrapping at the window's edge: six long
        // variant names never widen the panel nor push the second plot out of view.
        let entries: Vec<(&str, egui::Color32)> = r
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), series_colour(i)))
            .collect();
        legend_wrapped(ui, &entries);
        if r.smoothed {
            ui.label(format!("Losses: {SMOOTHED_LOSS_NOTE}."))
                .on_hover_text(
                    "Each epoch's losses are measured with one-hot targets, so a smoothed \
                     variant's curve compares with the others; its mini-batch loss (Training \
                     tab) is against its smoothed targets and sits higher.",
                );
        }
        // The visible width (a results table wider than the panel widens the ui itself,
        // and the second plot ran off the window's edge).
        let visible = (ui.clip_rect().right() - ui.cursor().left()).min(ui.available_width());
        let width = (visible / 2.0 - 12.0).max(240.0);
        // The plots take the height left (the table and legend above vary with the race).
        let used = ui.cursor().top() - ui.min_rect().top();
        let plot_height = (view_height - used - 70.0).clamp(180.0, 520.0);
        ui.horizontal(|ui| {
            for (curve, validation, title) in [
                (Curve::Accuracy, true, "Validation accuracy"),
                (Curve::Loss, false, "Training loss"),
            ] {
                ui.allocate_ui(egui::vec2(width, plot_height + 40.0), |ui| {
                    ui.vertical(|ui| {
                        ui.horizontal(|ui| {
                            ui.label(title);
                            if ui.small_button("Export…").clicked() {
                                request = self
                                    .overlay(curve, validation)
                                    .map(|f| ExportRequest::Figure(Box::new(f)));
                            }
                        });
                        if r.histories.iter().all(Vec::is_empty) {
                            waiting(
                                ui,
                                egui::vec2(width, plot_height),
                                "Waiting for the first epoch…",
                            );
                            return;
                        }
                        // Non-finite values (a diverged variant) would stretch the axes to
                        // nothing: they are left out.
                        let lines: Vec<Vec<PlotPoint>> = r
                            .histories
                            .iter()
                            .map(|h| {
                                curve
                                    .points(h, validation)
                                    .into_iter()
                                    .filter(|(_, y)| y.is_finite())
                                    .map(|(x, y)| PlotPoint::new(x, y))
                                    .collect()
                            })
                            .collect();
                        let all: Vec<&[PlotPoint]> = lines.iter().map(Vec::as_slice).collect();
                        let y_label = if curve == Curve::Accuracy {
                            "fraction correct"
                        } else {
                            "loss"
                        };
                        let plot = readable_plot(&format!("race-{title}"), "epoch", y_label, true)
                            .height(plot_height)
                            .width(width)
                            .allow_scroll(false);
                        with_one_point_bounds(plot, &all).show(ui, |plot| {
                            for (i, (label, pts)) in r.labels.iter().zip(&lines).enumerate() {
                                plot.line(
                                    Line::new(label.clone(), PlotPoints::Borrowed(pts))
                                        .color(series_colour(i)),
                                );
                            }
                        });
                    });
                });
            }
        });
        request
    }
}

/// The table of the variants: state, epochs, losses, accuracies and folders.
fn results_grid(ui: &mut Ui, r: &RunningRace, running: bool) {
    egui::Grid::new("race-table").striped(true).show(ui, |ui| {
            for h in [
                "variant",
                "state",
                "epochs",
                "training loss",
                "val. accuracy",
                "test accuracy",
                "saved in",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (i, label) in r.labels.iter().enumerate() {
                ui.label(label);
                let h = &r.histories[i];
                let diverged = matches!(r.finished[i], Some((_, _, true)));
                let error = ui.visuals().error_fg_color;
                match (&r.finished[i], &r.failed[i]) {
                    (Some((_, _, true)), _) => {
                        ui.colored_label(error, RunState::Diverged.label()).on_hover_text(
                            "Its loss stopped being a finite number or ran far above where it started; the numbers are its last finite ones.",
                        );
                    }
                    (Some(_), _) => {
                        ui.label(RunState::Finished.label());
                    }
                    (None, Some(e)) => {
                        ui.colored_label(error, RunState::Failed.label())
                            .on_hover_text(e);
                    }
                    (None, None) => {
                        let state = if running {
                            RunState::Training
                        } else {
                            RunState::Stopped
                        };
                        ui.label(state.label()).on_hover_text(state.explain());
                    }
                }
                ui.label(h.len().to_string());
                // A diverged variant's last epochs hold NaN: show where it was before.
                let last_finite = h.iter().rev().find(|m| m.train.loss.is_finite());
                ui.label(race::last_finite_loss(h).map_or("–".into(), |l| {
                    if diverged {
                        format!("{} (last finite)", number(l))
                    } else {
                        number(l)
                    }
                }));
                ui.label(last_finite.map_or("–".into(), |m| {
                    format!("{:.2} %", 100.0 * m.val.accuracy)
                }));
                match (&r.finished[i], &r.failed[i]) {
                    (Some((acc, dir, diverged)), _) => {
                        // The diverged weights are not numbers: their test score means nothing.
                        ui.label(if *diverged {
                            "–".to_string()
                        } else {
                            format!("{:.2} %", 100.0 * acc)
                        });
                        // The folder's own name (the whole path on hover): the full path
                        // pushed the table past a 1024-pixel window's edge.
                        match dir {
                            Some(d) => {
                                let name = d.file_name().map_or_else(
                                    || d.display().to_string(),
                                    |n| n.to_string_lossy().into_owned(),
                                );
                                ui.label(name).on_hover_text(d.display().to_string());
                            }
                            None => {
                                ui.label("not saved");
                            }
                        }
                    }
                    (None, Some(e)) => {
                        ui.colored_label(error, e);
                        ui.label("");
                    }
                    (None, None) => {
                        ui.label("–");
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
}
