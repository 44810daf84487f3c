//! The learning-rate range test's window: runs the test on the settings of the next run in
//! the background, shows the loss against η (log axis) with the suggested bounds, and puts
//! them into the cyclic schedule's settings with one click.

use std::sync::Arc;

use egui::Ui;
use egui_plot::{Line, PlotPoint, PlotPoints, VLine};

use super::background::{Task, repaint_waker};
use super::plots::readable_plot;
use crate::report::Figure;
use crate::train::divergence::plain_number;
use crate::train::lr_range::{self, RangeSettings, RangeTest};
use crate::train::{ScheduleKind, TrainConfig};

/// A finished test: the result and what it trained (for the figure's title).
type Finished = (RangeTest, String);

/// Why the range test gave no result.
#[derive(Debug, thiserror::Error)]
pub enum RangeTestFailed {
    /// Its data could not be loaded.
    #[error("Cannot load the data: {0}")]
    Data(crate::data::DataError),
    /// The test itself stopped (its settings, or a cancel).
    #[error(transparent)]
    Test(#[from] crate::train::lr_range::RangeError),
}

/// State of the range test's window.
#[derive(Default)]
pub struct LrRangePanel {
    /// Whether the window is shown.
    pub open: bool,
    /// The range to test.
    pub settings: RangeSettings,
    task: Option<Task<Finished, RangeTestFailed>>,
    result: Option<Finished>,
    error: Option<String>,
    /// Set when the bounds were put into the settings (said until the next test).
    used: bool,
}

impl LrRangePanel {
    /// True while a test runs.
    pub fn running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// The last finished test, if any.
    pub fn result(&self) -> Option<&RangeTest> {
        self.result.as_ref().map(|r| &r.0)
    }

    /// Starts the test on `config` (data loaded on the task's thread).
    pub fn start(&mut self, ctx: &egui::Context, config: TrainConfig) {
        if self.running() {
            return;
        }
        if let Err(e) = self.settings.validate() {
            self.error = Some(e.to_string());
            return;
        }
        let settings = self.settings;
        self.error = None;
        self.used = false;
        self.task = Some(Task::spawn(
            "The learning-rate range test",
            Some(repaint_waker(ctx)),
            move |cx| {
                let data =
                    crate::data::load(&config.data_request()).map_err(RangeTestFailed::Data)?;
                let dataset = data.name.clone();
                let test = lr_range::run(
                    &config,
                    Arc::new(data),
                    None,
                    &settings,
                    cx.cancel_flag(),
                    |done, total| cx.progress(done as u64, total as u64),
                )?;
                Ok((test, crate::report::range::subject(&dataset, &config)))
            },
        ));
    }

    /// The figure of the last test, for export.
    pub fn figure(&self) -> Option<Figure> {
        self.result
            .as_ref()
            .map(|(t, subject)| crate::report::range::lr_range_figure(t, subject))
    }

    /// Draws the window when open; `config` holds the settings of the next run (the test
    /// trains them, and "Use these bounds" writes into them). Returns a figure to export.
    pub fn window(&mut self, ctx: &egui::Context, config: &mut TrainConfig) -> Option<Figure> {
        if let Some(task) = &mut self.task
            && let Some(outcome) = task.poll()
        {
            match outcome {
                Ok(r) => self.result = Some(r),
                Err(e) => self.error = Some(e.to_string()),
            }
            self.task = None;
        }
        if !self.open {
            return None;
        }
        let mut open = self.open;
        let mut export = None;
        egui::Window::new("Learning-rate range test")
            .open(&mut open)
            .default_width(640.0)
            .show(ctx, |ui| export = self.contents(ui, config));
        self.open = open;
        export
    }

    /// The window's contents: the range's settings, the run row, then the last test's
    /// suggested bounds, notes and curve. Returns a figure to export.
    fn contents(&mut self, ui: &mut Ui, config: &mut TrainConfig) -> Option<Figure> {
        self.range_controls(ui);
        self.run_row(ui, config);
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let (test, _) = self.result.as_ref()?;
        let mut export = None;
        match test.bounds {
            Some(b) => suggested_bounds(ui, b, config, &mut self.used),
            None => {
                ui.label("No bounds to suggest from this range.");
            }
        }
        for note in &test.notes {
            ui.weak(note);
        }
        if ui
            .button("Export…")
            .on_hover_text("PNG, SVG or CSV of this curve")
            .clicked()
        {
            export = self.figure();
        }
        plot(ui, test);
        export
    }

    /// What the test does, the range to test (from η, to η, steps) and what is wrong with
    /// it, if anything.
    fn range_controls(&mut self, ui: &mut Ui) {
        ui.label(
            "A short run of the next run's settings whose η grows exponentially, step by step. \
             The loss stays flat while η is too small, falls once it is large enough, and rises \
             when it is too large: the cyclic schedule's η range lies where it falls.",
        );
        ui.horizontal_wrapped(|ui| {
            let s = &mut self.settings;
            ui.add(
                egui::Slider::new(&mut s.eta_start, 1e-8..=1.0)
                    .logarithmic(true)
                    .text("from η"),
            );
            ui.add(
                egui::Slider::new(&mut s.eta_end, 1e-6..=100.0)
                    .logarithmic(true)
                    .text("to η"),
            );
            ui.add(egui::Slider::new(&mut s.steps, 20..=5000).text("steps"));
        });
        if let Err(e) = self.settings.validate() {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
    }

    /// The running test's progress and Stop button, or the button that runs a test of
    /// `config`.
    fn run_row(&mut self, ui: &mut Ui, config: &TrainConfig) {
        let ctx = ui.ctx().clone();
        ui.horizontal(|ui| {
            if let Some(task) = &self.task {
                let (done, total) = task.counts();
                ui.add(
                    egui::ProgressBar::new(task.progress().unwrap_or(0.0))
                        .text(format!("step {done} of {total}"))
                        .desired_width(240.0),
                );
                if ui.button("Stop").clicked() {
                    task.cancel();
                }
            } else if ui
                .add_enabled(
                    self.settings.validate().is_ok(),
                    egui::Button::new("Run the test"),
                )
                .on_hover_text(
                    "Trains a fresh model of the settings on the left (data, model, loss, batch, \
                     λ, optimiser) for the steps above; nothing is saved",
                )
                .clicked()
            {
                self.start(&ctx, config.clone());
            }
        });
    }
}

/// The suggested bounds `b`, explained on hover, with the button that puts them into
/// `config`'s cyclic schedule (and sets `used`, said until the next test).
fn suggested_bounds(ui: &mut Ui, b: lr_range::Bounds, config: &mut TrainConfig, used: &mut bool) {
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!(
            "Suggested: eta_min = {}, eta_max = {}",
            plain_number(b.eta_min),
            plain_number(b.eta_max)
        ))
        .on_hover_text(format!(
            "eta_min: where the smoothed loss has come down a tenth of the way to \
             its lowest; eta_max: where it is lowest, before it rises. It falls \
             fastest at η = {}.",
            plain_number(b.steepest)
        ));
        if ui
            .button("Use these bounds")
            .on_hover_text("Sets the η schedule to cyclic with this range (applies on Reset)")
            .clicked()
        {
            config.schedule = ScheduleKind::Cyclic;
            config.eta_min = b.eta_min;
            config.eta_max = b.eta_max;
            *used = true;
        }
    });
    if *used {
        ui.label("Set: cyclic η schedule with this range. It applies on Reset (R).");
    }
}

/// The loss and its smoothed curve against log₁₀ η, with the bounds as vertical lines.
fn plot(ui: &mut Ui, test: &RangeTest) {
    // Mini-batch losses far above the start (the last steps of a blow-up) would flatten
    // the rest of the curve: they are left out of the plot (the exported CSV has them).
    let start = test.points.first().map_or(1.0, |p| p.smoothed);
    let cap = 1.5 * start;
    let raw: Vec<PlotPoint> = test
        .points
        .iter()
        .filter(|p| p.loss <= cap)
        .map(|p| PlotPoint::new(p.eta.log10(), p.loss))
        .collect();
    let smooth: Vec<PlotPoint> = test
        .points
        .iter()
        .filter(|p| p.smoothed <= cap)
        .map(|p| PlotPoint::new(p.eta.log10(), p.smoothed))
        .collect();
    let height = (ui.available_height() - 8.0).clamp(220.0, 600.0);
    let x_axis = egui_plot::AxisHints::new_x()
        .label("learning rate η (log scale)")
        .formatter(|mark, _| plain_number(10f64.powf(mark.value)));
    let plot = readable_plot("lr-range", "", "mini-batch loss", true)
        .custom_x_axes(vec![x_axis])
        .height(height)
        .include_x(test.settings.eta_start.log10())
        .include_x(test.settings.eta_end.log10())
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::LeftBottom));
    plot.show(ui, |p| {
        p.line(
            Line::new(
                format!("each mini-batch (up to {cap:.2})"),
                PlotPoints::Owned(raw),
            )
            .color(super::plots::series_colour(8))
            .width(1.0),
        );
        p.line(
            Line::new(
                format!("moving average over {} steps", test.window),
                PlotPoints::Owned(smooth),
            )
            .color(super::plots::series_colour(0))
            .width(2.5),
        );
        if let Some(b) = test.bounds {
            for (name, eta) in [("eta_min", b.eta_min), ("eta_max", b.eta_max)] {
                p.vline(
                    VLine::new(format!("{name} {}", plain_number(eta)), eta.log10())
                        .color(super::plots::series_colour(1))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
        }
    });
}
