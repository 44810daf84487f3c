//! Live curves: cost, loss and accuracy per epoch, and the per-step training loss; and the
//! pieces every plot of the window shares: tick marks that always label at least three
//! values, numbers that stay readable when tiny, legends away from the data, and read-outs
//! of the value under the pointer.

use egui::{Color32, Id, Ui};
use egui_plot::{
    AxisHints, Corner, GridInput, GridMark, HoverPosition, Legend, Line, Plot, PlotPoint,
    PlotPoints,
};

use super::export::ExportRequest;
use super::history::RunHistory;
use crate::report::figures::Curve;
use crate::train::metrics::smooth;

/// Most points drawn for the step-loss curve.
const MAX_STEP_POINTS: usize = 4000;
/// Colour of training curves (blue), readable on light and dark backgrounds.
pub const TRAIN_COLOUR: Color32 = Color32::from_rgb(66, 133, 244);
/// Colour of validation curves (orange).
pub const VAL_COLOUR: Color32 = Color32::from_rgb(245, 130, 32);
/// Fewest labelled ticks on an axis.
const MIN_TICKS: usize = 3;

/// `x` for people: plain when it reads well, scientific (1.5e-5) when very small or large.
pub fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { x.to_string() };
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        trim_exp(&format!("{x:.2e}"))
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        trim_fixed(&format!("{x:.decimals$}"))
    }
}

/// A tick label: just enough digits to tell neighbouring ticks `step` apart.
pub fn tick_text(x: f64, step: f64) -> String {
    if x.abs() < step * 1e-6 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        let digits = (a.log10().floor() - step.log10().floor()).clamp(0.0, 4.0) as usize;
        trim_exp(&format!("{x:.digits$e}"))
    } else {
        let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
        trim_fixed(&format!("{x:.decimals$}"))
    }
}

fn trim_fixed(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn trim_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => format!("{}e{e}", trim_fixed(m)),
        None => s.to_string(),
    }
}

/// The smallest of 1, 2, 5 × 10ᵏ at least `x`.
fn nice_at_least(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// The largest of 1, 2, 5 × 10ᵏ at most `x`.
fn nice_at_most(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s <= x * (1.0 + 1e-9))
        .unwrap_or(p)
}

/// Grid marks at round steps, about one per `px_per_tick` points, and never fewer than three
/// inside the visible range (steps of whole numbers when `integer` and the range allows).
pub fn tick_marks(input: GridInput, px_per_tick: f64, integer: bool) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let range = hi - lo;
    // NaN ranges fail these checks too.
    let usable = range.is_finite() && range > 0.0 && input.base_step_size > 0.0;
    if !usable {
        return Vec::new();
    }
    // base_step_size is the plot's smallest grid spacing (8 points) in data units.
    let px = 8.0 * range / input.base_step_size;
    let wanted = (px / px_per_tick).floor().clamp(MIN_TICKS as f64, 12.0);
    let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
    // The largest round step that still puts three ticks inside the range: ticks as far
    // apart as possible, so their labels fit even on a small plot.
    let mut step = nice_at_least(range / wanted);
    for _ in 0..40 {
        if count(step) >= MIN_TICKS as f64 {
            break;
        }
        step = nice_at_most(step * 0.99);
    }
    if integer && step < 1.0 && count(1.0) >= MIN_TICKS as f64 {
        step = 1.0;
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(200)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// The x axis, labelled, with compact tick labels.
pub fn x_axis<'a>(label: &str) -> AxisHints<'a> {
    AxisHints::new_x()
        .label(label)
        .label_spacing(20.0..=30.0)
        .formatter(|mark, _| tick_text(mark.value, mark.step_size))
}

/// The y axis, labelled, with compact tick labels.
pub fn y_axis<'a>(label: &str) -> AxisHints<'a> {
    AxisHints::new_y()
        .label(label)
        .label_spacing(12.0..=18.0)
        .formatter(|mark, _| tick_text(mark.value, mark.step_size))
}

/// A plot with readable ticks on both axes (whole numbers on x when `integer_x`).
pub fn readable_plot<'a>(id: &str, x_label: &str, y_label: &str, integer_x: bool) -> Plot<'a> {
    Plot::new(id)
        .custom_x_axes(vec![x_axis(x_label)])
        .custom_y_axes(vec![y_axis(y_label)])
        .x_grid_spacer(move |input| tick_marks(input, 70.0, integer_x))
        .y_grid_spacer(|input| tick_marks(input, 36.0, false))
}

/// The corner of the data's bounding box with the fewest points near it, for a legend.
pub fn emptiest_corner(series: &[&[PlotPoint]]) -> Corner {
    let all = || {
        series
            .iter()
            .flat_map(|s| s.iter())
            .filter(|p| p.y.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in all() {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        y0 = y0.min(p.y);
        y1 = y1.max(p.y);
    }
    let spread = x1 > x0 && y1 > y0;
    if !spread {
        return Corner::RightTop;
    }
    let mut counts = [0usize; 4]; // left-top, right-top, left-bottom, right-bottom
    for p in all() {
        let fx = (p.x - x0) / (x1 - x0);
        let fy = (p.y - y0) / (y1 - y0);
        let near = 0.45;
        if fy > 1.0 - near {
            if fx < near {
                counts[0] += 1;
            }
            if fx > 1.0 - near {
                counts[1] += 1;
            }
        }
        if fy < near {
            if fx < near {
                counts[2] += 1;
            }
            if fx > 1.0 - near {
                counts[3] += 1;
            }
        }
    }
    // Prefer the right-hand corners on ties: the start of a curve is on the left.
    let order = [
        (1, Corner::RightTop),
        (3, Corner::RightBottom),
        (0, Corner::LeftTop),
        (2, Corner::LeftBottom),
    ];
    order
        .into_iter()
        .min_by_key(|(i, _)| counts[*i])
        .map_or(Corner::RightTop, |(_, c)| c)
}

/// The read-out of the point under the pointer on a per-epoch curve: series, epoch, value.
pub fn curve_readout(pos: &HoverPosition<'_>) -> Option<String> {
    match pos {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(format!(
            "{plot_name}\nepoch {}\n{}",
            number((position.x * 100.0).round() / 100.0),
            number(position.y)
        )),
        HoverPosition::Elsewhere { .. } => None,
    }
}

/// The read-out anywhere over a plot of `series` (x sorted): near a point, that point; else
/// every series' value at the x under the pointer (the nearest point of each), so hovering
/// a curve between two points still tells its values.
pub fn series_readout(series: &[(&str, &[PlotPoint])], pos: &HoverPosition<'_>) -> Option<String> {
    let x = match pos {
        HoverPosition::NearDataPoint { .. } => return curve_readout(pos),
        HoverPosition::Elsewhere { position } => position.x,
    };
    let mut lines = Vec::new();
    let mut at = None;
    for (name, points) in series {
        let i = points.partition_point(|p| p.x < x);
        let nearest = [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| points.get(j))
            .min_by(|a, b| (a.x - x).abs().total_cmp(&(b.x - x).abs()));
        if let Some(p) = nearest {
            at.get_or_insert(p.x);
            lines.push(format!("{name}: {}", number(p.y)));
        }
    }
    let at = at?;
    Some(format!(
        "epoch {}\n{}",
        number((at * 100.0).round() / 100.0),
        lines.join("\n")
    ))
}

/// A legend drawn as a line of text above a plot: never on top of the data.
pub fn legend_row(ui: &mut Ui, entries: &[(&str, Color32)]) {
    ui.horizontal(|ui| {
        for (name, colour) in entries {
            ui.colored_label(*colour, "——");
            ui.label(*name);
        }
    });
}

/// State of the plots panel.
pub struct PlotsPanel {
    /// Exponential smoothing of the step-loss curve, 0 (none) to 0.999.
    pub smoothing: f64,
    smoothed: Vec<PlotPoint>,
    smoothed_key: (u64, usize, u64),
    /// Size of each per-epoch plot in the last frame (for layout tests).
    pub last_plot_size: egui::Vec2,
}

impl Default for PlotsPanel {
    fn default() -> Self {
        PlotsPanel {
            smoothing: 0.9,
            smoothed: Vec::new(),
            smoothed_key: (0, 0, 0),
            last_plot_size: egui::Vec2::ZERO,
        }
    }
}

/// One per-epoch plot: which curve, id, title, y label, and its training and validation
/// points.
type EpochPlot<'a> = (Curve, &'a str, &'a str, &'a str, [&'a [PlotPoint]; 2]);

/// Draws one per-epoch plot; true when its Export… button was clicked.
fn epoch_plot(ui: &mut Ui, plot: EpochPlot<'_>, width: f32, height: f32, can_export: bool) -> bool {
    let (_, id, title, y_label, [train, val]) = plot;
    let group = Id::unique("trainviz-epoch-axes");
    let mut export = false;
    ui.vertical(|ui| {
        ui.set_width(width);
        // Title and button on one line, legend on the next: the three plots line up.
        ui.horizontal(|ui| {
            ui.strong(title);
            export = ui
                .add_enabled(
                    can_export,
                    egui::Button::new(format!("Export {id}…")).small(),
                )
                .on_hover_text("PNG, SVG or CSV of this plot, for print")
                .clicked();
        });
        legend_row(
            ui,
            &[("training", TRAIN_COLOUR), ("validation", VAL_COLOUR)],
        );
        readable_plot(id, "epoch", y_label, true)
            .width(width)
            .height(height)
            .link_axis(group, [true, false])
            .link_cursor(group, [true, false])
            .label_formatter(move |pos| {
                series_readout(&[("training", train), ("validation", val)], pos)
            })
            .show(ui, |plot| {
                plot.line(
                    Line::new("training", PlotPoints::Borrowed(train))
                        .color(TRAIN_COLOUR)
                        .width(2.0),
                );
                plot.line(
                    Line::new("validation", PlotPoints::Borrowed(val))
                        .color(VAL_COLOUR)
                        .width(2.0),
                );
            });
    });
    export
}

impl PlotsPanel {
    /// A panel with the given step-loss smoothing.
    pub fn with_smoothing(smoothing: f64) -> Self {
        PlotsPanel {
            smoothing,
            ..Default::default()
        }
    }

    /// Draws the plots of `history`, sized to share `view_height` with the templates;
    /// returns an export request for the step-loss curve, and the per-epoch curve whose
    /// Export… was clicked.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        view_height: f32,
    ) -> (Option<ExportRequest>, Option<Curve>) {
        let mut request = None;
        let mut export_curve = None;
        let can_export = !history.epochs.is_empty();
        let avail = ui.available_width();
        let columns = if avail >= 660.0 { 3 } else { 1 };
        let spacing = ui.spacing().item_spacing.x;
        let width = ((avail - spacing * (columns as f32 - 1.0)) / columns as f32).max(160.0) - 2.0;
        let height = ((view_height - 120.0) * 0.45).clamp(150.0, 700.0);
        self.last_plot_size = egui::vec2(width, height);
        let plots: [EpochPlot<'_>; 3] = [
            (
                Curve::Cost,
                "cost",
                "Cost (loss + λ·|W|²)",
                "cost",
                [&history.train_cost, &history.val_cost],
            ),
            (
                Curve::Loss,
                "loss",
                "Loss",
                "loss",
                [&history.train_loss, &history.val_loss],
            ),
            (
                Curve::Accuracy,
                "accuracy",
                "Accuracy",
                "fraction correct",
                [&history.train_acc, &history.val_acc],
            ),
        ];
        for row in plots.chunks(columns) {
            ui.horizontal(|ui| {
                for plot in row {
                    if epoch_plot(ui, *plot, width, height, can_export) {
                        export_curve = Some(plot.0);
                    }
                }
            });
        }
        ui.horizontal_wrapped(|ui| {
            ui.strong("Mini-batch loss");
            ui.add(egui::Slider::new(&mut self.smoothing, 0.0..=0.999).text("smoothing"))
                .on_hover_text(
                    "Exponential moving average of the per-step loss; 0 shows the raw values.",
                );
            if ui
                .add_enabled(!history.step_loss.is_empty(), egui::Button::new("Export…"))
                .on_hover_text("PNG, SVG or CSV of the per-step loss")
                .clicked()
            {
                let raw: Vec<(f64, f64)> = history.step_loss.iter().map(|p| (p.x, p.y)).collect();
                let smoothed = smooth(raw.iter().copied(), self.smoothing);
                let fig = crate::report::figures::step_loss(&raw, &smoothed, self.smoothing);
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        let key = (
            history.run,
            history.step_loss.len(),
            self.smoothing.to_bits(),
        );
        if key != self.smoothed_key {
            let smoothed = smooth(history.step_loss.iter().map(|p| (p.x, p.y)), self.smoothing);
            // A smoothed curve loses nothing visible when thinned to a few thousand points,
            // and long runs (490 steps × hundreds of epochs) stay cheap to draw.
            let stride = smoothed.len().div_ceil(MAX_STEP_POINTS).max(1);
            self.smoothed = smoothed
                .iter()
                .enumerate()
                .filter(|(i, _)| i % stride == 0 || *i + 1 == smoothed.len())
                .map(|(_, &(x, y))| PlotPoint::new(x, y))
                .collect();
            self.smoothed_key = key;
        }
        let step_height = ((view_height - 120.0) * 0.21).clamp(140.0, 400.0);
        let smoothed = &self.smoothed;
        readable_plot("step-loss", "epoch", "batch loss", false)
            .height(step_height)
            .label_formatter(move |pos| series_readout(&[("batch loss (smoothed)", smoothed)], pos))
            .legend(Legend::default().position(emptiest_corner(&[&self.smoothed])))
            .show(ui, |plot| {
                plot.line(
                    Line::new("batch loss (smoothed)", PlotPoints::Borrowed(smoothed))
                        .color(TRAIN_COLOUR),
                );
            });
        (request, export_curve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(lo: f64, hi: f64, px: f64, integer: bool) -> Vec<f64> {
        let input = GridInput {
            bounds: (lo, hi),
            base_step_size: 8.0 * (hi - lo) / px,
        };
        tick_marks(input, 70.0, integer)
            .into_iter()
            .map(|m| m.value)
            .collect()
    }

    #[test]
    fn at_least_three_ticks_at_any_size_and_range() {
        for (lo, hi) in [
            (0.0, 1.0),
            (1.0, 9.0),
            (0.5, 6.5),
            (0.0, 500.0),
            (-3e-5, 4e-5),
            (0.27, 0.31),
            (1e3, 3e4),
        ] {
            for px in [90.0, 200.0, 800.0, 2400.0] {
                let m = marks(lo, hi, px, false);
                assert!(m.len() >= 3, "{lo}..{hi} at {px} px: {m:?}");
                assert!(m.len() <= 13, "{lo}..{hi} at {px} px: {m:?}");
                assert!(m.iter().all(|&v| v >= lo - 1e-12 && v <= hi + 1e-12));
            }
        }
        // A short plot gets its three ticks as far apart as round steps allow, so that
        // their labels fit (1.5, 2, 2.5 rather than five ticks 0.2 apart).
        assert_eq!(marks(1.45, 2.55, 75.0, false), vec![1.5, 2.0, 2.5]);
        // An epoch axis of a short run: whole epochs, three or more of them.
        let m = marks(0.8, 6.2, 200.0, true);
        assert!(m.len() >= 3 && m.iter().all(|v| v.fract() == 0.0), "{m:?}");
    }

    #[test]
    fn small_numbers_stay_readable() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.5e-5), "1.5e-5");
        assert_eq!(number(0.001), "0.001");
        assert_eq!(number(39.25), "39.25");
        assert_eq!(tick_text(2e-5, 1e-5), "2e-5");
        assert_eq!(tick_text(1.5e-5, 5e-6), "1.5e-5");
        assert_eq!(tick_text(0.3, 0.1), "0.3");
        assert_eq!(tick_text(40.0, 10.0), "40");
        assert_eq!(tick_text(1e-20, 1e-5), "0");
    }

    #[test]
    fn hovering_between_points_reads_out_every_series() {
        let train = [PlotPoint::new(1.0, 0.31), PlotPoint::new(2.0, 0.35)];
        let val = [PlotPoint::new(1.0, 0.30), PlotPoint::new(2.0, 0.33)];
        let pos = HoverPosition::Elsewhere {
            position: PlotPoint::new(1.8, 0.9),
        };
        let text = series_readout(&[("training", &train), ("validation", &val)], &pos).unwrap();
        assert_eq!(text, "epoch 2\ntraining: 0.35\nvalidation: 0.33");
    }

    #[test]
    fn legends_go_where_the_data_is_not() {
        // A rising accuracy curve leaves the top-left and bottom-right empty.
        let rising: Vec<PlotPoint> = (0..40)
            .map(|i| PlotPoint::new(i as f64, 1.0 - (-(i as f64) / 5.0).exp()))
            .collect();
        assert_eq!(emptiest_corner(&[&rising]), Corner::RightBottom);
        let falling: Vec<PlotPoint> = rising.iter().map(|p| PlotPoint::new(p.x, -p.y)).collect();
        assert_eq!(emptiest_corner(&[&falling]), Corner::RightTop);
    }
}
