//! Confusion matrices (counts or row-normalised) of the training, validation or test set as
//! a heatmap with class names, and the accuracy of each class.

use egui::{Align2, Color32, FontId, Rect, Sense, Ui, vec2};
use egui_plot::{Bar, BarChart, Plot};

use super::export::ExportRequest;
use super::history::RunHistory;
use crate::report::figures;
use crate::train::Evaluation;

/// Which set the panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetChoice {
    /// Training set, last epoch.
    Train,
    /// Validation set, last epoch.
    #[default]
    Val,
    /// Test set (after the run, or on request).
    Test,
}

impl SetChoice {
    fn label(self) -> &'static str {
        match self {
            SetChoice::Train => "training",
            SetChoice::Val => "validation",
            SetChoice::Test => "test",
        }
    }
    fn id(self) -> &'static str {
        match self {
            SetChoice::Train => "train",
            SetChoice::Val => "val",
            SetChoice::Test => "test",
        }
    }
}

/// State of the confusion panel.
#[derive(Default)]
pub struct ConfusionPanel {
    /// The set shown.
    pub set: SetChoice,
    /// Row-normalised (percent of each true class) instead of counts.
    pub normalised: bool,
}

/// The evaluation of `set` in `history`, if there is one yet.
fn evaluation(history: &RunHistory, set: SetChoice) -> Option<&Evaluation> {
    match set {
        SetChoice::Train => history.epochs.last().map(|m| &m.train),
        SetChoice::Val => history.epochs.last().map(|m| &m.val),
        SetChoice::Test => history.test.as_ref(),
    }
}

impl ConfusionPanel {
    /// Draws the panel; returns an export request when the user asks for one.
    pub fn ui(&mut self, ui: &mut Ui, history: &RunHistory) -> Option<ExportRequest> {
        let mut request = None;
        ui.horizontal(|ui| {
            for set in [SetChoice::Train, SetChoice::Val, SetChoice::Test] {
                let available = evaluation(history, set).is_some();
                ui.add_enabled_ui(available, |ui| {
                    ui.selectable_value(&mut self.set, set, set.label())
                        .on_disabled_hover_text("The test set is evaluated when the run finishes");
                });
            }
            ui.separator();
            ui.checkbox(&mut self.normalised, "% of each true class")
                .on_hover_text("Divide each row by the number of images of that class");
        });
        let names = history
            .info
            .as_ref()
            .map(|i| i.class_names.clone())
            .unwrap_or_default();
        let Some(eval) = evaluation(history, self.set) else {
            ui.label("The matrices appear after the first epoch.");
            return None;
        };
        ui.label(format!(
            "{} set: accuracy {:.2} % of {} images (rows: true class, columns: predicted)",
            self.set.label(),
            100.0 * eval.accuracy,
            eval.count
        ));
        ui.horizontal(|ui| {
            if ui
                .button("Export matrix…")
                .on_hover_text("PNG, SVG or CSV")
                .clicked()
            {
                let fig = figures::confusion(
                    eval,
                    &names,
                    self.set.id(),
                    self.normalised,
                    history.info.as_ref(),
                );
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
            if ui
                .button("Export per-class accuracy…")
                .on_hover_text("PNG, SVG or CSV")
                .clicked()
            {
                let fig = figures::per_class_accuracy(&[(self.set.id(), eval)], &names);
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        // The per-class accuracy goes beside the matrix when the view is wide enough
        // (it was below, out of sight at 1400×900), else below it.
        let beside = ui.available_width() >= 900.0;
        if beside {
            let plot_w = (ui.available_width() * 0.3).clamp(260.0, 480.0);
            ui.horizontal_top(|ui| {
                let matrix_w = ui.available_width() - plot_w - ui.spacing().item_spacing.x;
                let side = ui
                    .vertical(|ui| {
                        ui.set_max_width(matrix_w);
                        self.heatmap(ui, eval, &names)
                    })
                    .inner;
                ui.vertical(|ui| {
                    ui.label("Accuracy per class");
                    per_class_plot(ui, eval, &names, self.set.label(), side.max(200.0));
                });
            });
        } else {
            self.heatmap(ui, eval, &names);
            ui.add_space(8.0);
            ui.label("Accuracy per class");
            per_class_plot(ui, eval, &names, self.set.label(), 260.0);
        }
        request
    }

    /// Draws the matrix as large as the width allows and as fits between here and the
    /// status bar (whole in view at 1024×640, not cut at its last row); returns its height.
    fn heatmap(&self, ui: &mut Ui, eval: &Evaluation, names: &[String]) -> f32 {
        let k = eval.classes();
        if k == 0 {
            return 0.0;
        }
        // Room for the longest class name, so no row label is cut off.
        let label_w = widest_name(ui, names, 12.0).max(40.0) + 12.0;
        // As wide as the view allows, and no taller than the window shows at once.
        let side = (ui.available_width() - label_w - 10.0)
            // 36: the staggered headers; 40: the status bar and a margin.
            .min(ui.ctx().content_rect().bottom() - ui.cursor().top() - 36.0 - 40.0)
            .clamp(150.0, 1000.0);
        let shades = Shades::for_theme(ui.visuals().dark_mode);
        let cell = side / k as f32;
        let (header_size, stagger) = column_headers(ui, names, cell);
        let header_h = if stagger { 36.0 } else { 22.0 };
        let (rect, _) =
            ui.allocate_exact_size(vec2(label_w + side, side + header_h), Sense::hover());
        let painter = ui.painter_at(rect);
        let text_color = ui.visuals().text_color();
        let font = FontId::proportional((cell * 0.3).clamp(8.0, 13.0));
        let origin = rect.min + vec2(label_w, header_h);
        for r in 0..k {
            let total: u32 = eval.confusion[r * k..(r + 1) * k].iter().sum();
            let name = names.get(r).map_or("", String::as_str);
            painter.text(
                origin + vec2(-6.0, (r as f32 + 0.5) * cell),
                Align2::RIGHT_CENTER,
                name,
                FontId::proportional(12.0),
                text_color,
            );
            let lift = if stagger && r % 2 == 1 { 15.0 } else { 0.0 };
            painter.text(
                origin + vec2((r as f32 + 0.5) * cell, -4.0 - lift),
                Align2::CENTER_BOTTOM,
                name,
                FontId::proportional(header_size),
                text_color,
            );
            for c in 0..k {
                let n = eval.confusion[r * k + c];
                let frac = if total == 0 {
                    0.0
                } else {
                    n as f32 / total as f32
                };
                let cell_rect = Rect::from_min_size(
                    origin + vec2(c as f32 * cell, r as f32 * cell),
                    vec2(cell - 1.0, cell - 1.0),
                );
                let text = if self.normalised {
                    format!("{:.0}", 100.0 * frac)
                } else {
                    n.to_string()
                };
                paint_cell(&painter, cell_rect, shades.at(frac), text, font.clone());
            }
        }
        side + header_h
    }
}

/// The width of the widest of `names` in the proportional font of `size` points (0 for
/// none).
fn widest_name(ui: &Ui, names: &[String], size: f32) -> f32 {
    names
        .iter()
        .map(|n| {
            ui.painter()
                .layout_no_wrap(n.clone(), FontId::proportional(size), Color32::WHITE)
                .size()
                .x
        })
        .fold(0.0_f32, f32::max)
}

/// How the column headers, whole class names, fit columns `cell` wide: (font size,
/// staggered). On one row when each fits its column, else on two staggered rows (every
/// other column one row up), smaller if need be.
fn column_headers(ui: &Ui, names: &[String], cell: f32) -> (f32, bool) {
    [(11.0, false), (11.0, true), (9.0, true)]
        .into_iter()
        .find(|&(size, stagger)| {
            widest_name(ui, names, size) + 4.0 <= if stagger { 2.0 * cell } else { cell }
        })
        .unwrap_or((9.0, true))
}

/// The cells' colours from an empty cell's to a full one's: pale to saturated in the light
/// theme, dark to bright in the dark one, so the empty cells never glare.
struct Shades {
    /// An empty cell's colour.
    low: [f32; 3],
    /// A full cell's colour (all of its row).
    high: [f32; 3],
}

impl Shades {
    /// The shades for the dark theme or the light one.
    fn for_theme(dark: bool) -> Self {
        let (low, high) = if dark {
            ([38.0, 42.0, 52.0], [110.0, 170.0, 255.0])
        } else {
            ([247.0, 251.0, 255.0], [8.0, 48.0, 107.0])
        };
        Shades { low, high }
    }

    /// The colour of a cell holding `frac` of its row.
    fn at(&self, frac: f32) -> Color32 {
        let shade = |i: usize| (self.low[i] + (self.high[i] - self.low[i]) * frac) as u8;
        Color32::from_rgb(shade(0), shade(1), shade(2))
    }
}

/// Paints a cell in `fill` with its `text` in black on light cells, white on dark ones.
fn paint_cell(painter: &egui::Painter, cell_rect: Rect, fill: Color32, text: String, font: FontId) {
    painter.rect_filled(cell_rect, 0.0, fill);
    // Black on light cells, white on dark ones (relative luminance).
    let luminance =
        0.2126 * f32::from(fill.r()) + 0.7152 * f32::from(fill.g()) + 0.0722 * f32::from(fill.b());
    let ink = if luminance > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    };
    painter.text(cell_rect.center(), Align2::CENTER_CENTER, text, font, ink);
}

/// The accuracy of each class as horizontal bars, one row per class named on the axis, in
/// the matrix's row order (every name shown; upright bars had room for every other one).
fn per_class_plot(ui: &mut Ui, eval: &Evaluation, names: &[String], set: &str, height: f32) {
    let k = eval.classes();
    let acc = eval.per_class_accuracy();
    // The first class on top, as in the matrix.
    let row = move |i: usize| (k - 1 - i) as f64;
    let bars: Vec<Bar> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            Bar::new(row(i), if a.is_finite() { a } else { 0.0 })
                .name(names.get(i).cloned().unwrap_or_default())
                .width(0.7)
        })
        .collect();
    let labels = names.to_vec();
    let name_width = names
        .iter()
        .map(|n| {
            ui.painter()
                .layout_no_wrap(
                    n.clone(),
                    egui::TextStyle::Body.resolve(ui.style()),
                    Color32::WHITE,
                )
                .size()
                .x
        })
        .fold(40.0_f32, f32::max);
    Plot::new("per-class-accuracy")
        .height(height)
        .include_x(0.0)
        .include_x(1.0)
        .include_y(-0.5)
        .include_y(k as f64 - 0.5)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .x_grid_spacer(|input| super::plots::tick_marks(input, 60.0, false))
        // One mark per class, so every name is written.
        .y_grid_spacer(move |input| {
            let (lo, hi) = input.bounds;
            (0..k)
                .map(|i| i as f64)
                .filter(|v| *v >= lo && *v <= hi)
                .map(|value| egui_plot::GridMark {
                    value,
                    step_size: 1.0,
                })
                .collect()
        })
        .x_axis_label("fraction correct")
        .x_axis_formatter(|mark, _| super::plots::tick_text(mark.value, mark.step_size))
        .y_axis_min_width(name_width + 8.0)
        .y_axis_formatter(move |mark, _| {
            let r = mark.value.round();
            if (mark.value - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < k {
                labels.get(k - 1 - r as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            plot.bar_chart(
                BarChart::new(set, bars)
                    .horizontal()
                    .color(super::plots::series_colour(0)),
            );
        });
}
