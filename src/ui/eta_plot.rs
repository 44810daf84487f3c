//! The small plot of η against the update step on the Training tab: the learning rate each
//! step really used, whatever the schedule, with the live changes marked.

use egui::Ui;
use egui_plot::{GridInput, GridMark, Line, PlotPoint, PlotPoints};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::plots::{Marker, draw_markers, markers_near, readable_plot, top_of, waiting};

/// At most this many points are drawn (a long run has tens of thousands of steps).
const MAX_POINTS: usize = 4000;

/// The η plot and what it last drew.
#[derive(Default)]
pub struct EtaPlot {
    /// The points drawn, thinned (keeping each stride's first and the last).
    drawn: Vec<PlotPoint>,
    /// (run, steps known) `drawn` was made for.
    key: (u64, usize),
    /// The live changes, at their step.
    markers: Vec<Marker>,
    /// (run, changes) the markers were made for.
    markers_key: (u64, usize),
    /// Shown or hidden by its heading's button; `None` until pressed (then shown when the
    /// tab has room, see [`EtaPlot::shown`]).
    user_shown: Option<bool>,
}

impl EtaPlot {
    /// Draws the plot `height` points high; returns the export of its figure when asked.
    /// Whether the plot is drawn: as its heading's button last said, else when the tab is
    /// `roomy` (a 1024×640 window keeps its height for the other plots and the heading
    /// offers it).
    pub fn shown(&self, roomy: bool) -> bool {
        self.user_shown.unwrap_or(roomy)
    }

    /// Draws the heading and, when `shown`, the plot `height` points high; returns the
    /// export of its figure when asked.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        height: f32,
        shown: bool,
    ) -> Option<ExportRequest> {
        let mut request = None;
        ui.horizontal(|ui| {
            ui.strong("η per update step");
            let (text, hover) = if shown {
                ("Hide", "Give its height to the other plots")
            } else {
                ("Show", "Draw the learning rate of every step (the window is short: it is hidden until asked for)")
            };
            if ui.small_button(text).on_hover_text(hover).clicked() {
                self.user_shown = Some(!shown);
            }
            if ui
                .add_enabled(
                    !history.step_eta.is_empty() && history.info.is_some(),
                    egui::Button::new("Export η…").small(),
                )
                .on_hover_text("PNG, SVG or CSV of the learning rate each step used")
                .clicked()
                && let Some(info) = &history.info
            {
                let points: Vec<(f64, f64)> = history.step_eta.iter().map(|p| (p.x, p.y)).collect();
                let fig = crate::report::figures::eta_per_step(&points, &info.settings);
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        if !shown {
            return request;
        }
        let key = (history.run, history.step_eta.len());
        if key != self.key {
            let all = &history.step_eta;
            let stride = all.len().div_ceil(MAX_POINTS).max(1);
            self.drawn = all
                .iter()
                .enumerate()
                .filter(|(i, _)| i % stride == 0 || *i + 1 == all.len())
                .map(|(_, p)| *p)
                .collect();
            self.key = key;
        }
        let changes = history
            .info
            .as_ref()
            .map_or(0, |i| i.settings.changes.len());
        if (history.run, changes) != self.markers_key {
            self.markers = history.info.as_ref().map_or_else(Vec::new, |i| {
                i.settings
                    .markers()
                    .into_iter()
                    .map(|(step, _, text)| (step as f64, text))
                    .collect()
            });
            self.markers_key = (history.run, changes);
        }
        if self.drawn.is_empty() {
            waiting(
                ui,
                egui::vec2(ui.available_width(), height),
                "Waiting for the first step…",
            );
            return request;
        }
        let (drawn, markers) = (&self.drawn, &self.markers);
        let span = drawn.last().map_or(1.0, |p| p.x);
        let tolerance = (span * 0.02).max(0.5);
        let top = top_of(&[drawn]);
        let colour = ui.visuals().weak_text_color();
        readable_plot("eta-per-step", "update step", "η", true)
            .height(height)
            // From 0 to a little above the highest η: a constant η is a line at its value
            // on an axis of η's own size (not a flat line in a ±2000 default range).
            .include_y(0.0)
            .include_y(if top.is_finite() { top * 1.15 } else { 1.0 })
            // Two labelled ticks (0 and a round value near the top) fit even the ~35
            // points a small window leaves this plot; the usual three did not, and egui
            // hid their labels.
            .y_grid_spacer(two_ticks)
            .label_formatter(move |pos| {
                let (x, y) = match pos {
                    egui_plot::HoverPosition::NearDataPoint { position, .. }
                    | egui_plot::HoverPosition::Elsewhere { position } => (position.x, position.y),
                };
                let mut text = format!("step {}\nη {}", x.round(), crate::train::record::number(y));
                for line in markers_near(markers, x, tolerance) {
                    text.push('\n');
                    text.push_str(&line);
                }
                Some(text)
            })
            .show(ui, |plot| {
                draw_markers(plot, markers, top, colour);
                plot.line(
                    Line::new("η", PlotPoints::Borrowed(drawn))
                        .color(super::plots::series_colour(0)),
                );
            });
        request
    }
}

/// Ticks at 0 and at the largest round value (1, 2 or 5 × 10ⁿ) in the shown range.
fn two_ticks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(hi.is_finite() && lo.is_finite() && hi > 0.0 && hi > lo) {
        return Vec::new();
    }
    let step = crate::format::nice_at_most(hi, crate::format::TickStyle::WINDOW);
    let mut marks = vec![GridMark {
        value: step,
        step_size: step,
    }];
    if lo <= 0.0 {
        marks.push(GridMark {
            value: 0.0,
            step_size: step,
        });
    }
    marks
}
