//! Live curves: cost, loss and accuracy per epoch, and the per-step training loss; and the
//! pieces every plot of the window shares: tick marks that always label at least three
//! values, numbers that stay readable when tiny, legends away from the data, and read-outs
//! of the value under the pointer.

use egui::{Color32, Id, Ui};
use egui_plot::{
    AxisHints, Corner, GridInput, GridMark, HoverPosition, Legend, Line, LineStyle, Plot,
    PlotPoint, PlotPoints, PlotUi, Text, VLine,
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
pub use crate::format::short_number as number;
use crate::format::{TickStyle, tick_step, ticks_at};

/// A tick label of the window's plots: [`crate::format::tick_label`] in the window's style.
pub fn tick_text(x: f64, step: f64) -> String {
    crate::format::tick_label(x, step, TickStyle::WINDOW)
}

/// Points between two labelled ticks, at the least: egui drops a label closer to the
/// next than its text's height (~16 points).
const MIN_LABEL_GAP: f64 = 19.0;

/// Grid marks at round steps, about one per `px_per_tick` points, three or more inside the
/// visible range where their labels fit [`MIN_LABEL_GAP`] apart (steps of whole numbers
/// when `integer` and the range allows).
pub fn tick_marks(input: GridInput, px_per_tick: f64, integer: bool) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let range = hi - lo;
    // NaN ranges fail these checks too.
    if !(range.is_finite() && range > 0.0 && input.base_step_size > 0.0) {
        return Vec::new();
    }
    // base_step_size is the plot's smallest grid spacing (8 points) in data units.
    let px = 8.0 * range / input.base_step_size;
    let wanted = (px / px_per_tick)
        .floor()
        .clamp(crate::format::MIN_TICKS as f64, 12.0);
    let Some(mut step) = tick_step(lo, hi, wanted, TickStyle::WINDOW) else {
        return Vec::new();
    };
    let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
    // egui hides a label closer to the next than its own height: a step finer than that
    // shows no numbers at all (a 115-point plot of costs 0.9–1.9 had steps of 0.2, 15
    // points apart). The finest step that keeps them apart, quarters allowed (0.25 gives
    // three labelled ticks where 0.2 gave none and 0.5 two).
    let points_per_unit = px / range;
    if step * points_per_unit < MIN_LABEL_GAP {
        let quarters = TickStyle {
            quarter_steps: true,
            ..TickStyle::WINDOW
        };
        step = crate::format::nice_at_least(MIN_LABEL_GAP / points_per_unit, quarters);
    }
    if integer && step < 1.0 && count(1.0) >= crate::format::MIN_TICKS as f64 {
        step = 1.0;
    }
    ticks_at(lo, hi, step)
        .into_iter()
        .map(|value| GridMark {
            value,
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

/// Heights of the Training tab's plots, from the tab's share of the window.
#[derive(Debug, Clone, Copy)]
pub struct PlotHeights {
    /// Each per-epoch curve (cost, loss, accuracy), axes included.
    pub epoch: f32,
    /// The mini-batch loss plot, axes included.
    pub step: f32,
}

/// How many of the three per-epoch plots (cost, loss, accuracy) share a row in `width`
/// points: three side by side in a wide tab, two from 420 points (a 1024-point window's
/// tab), else one per row.
pub fn epoch_plot_columns(width: f32) -> usize {
    if width >= 660.0 {
        3
    } else if width >= 420.0 {
        2
    } else {
        1
    }
}

/// A plot with readable ticks on both axes (whole numbers on x when `integer_x`).
pub fn readable_plot<'a>(id: &str, x_label: &str, y_label: &str, integer_x: bool) -> Plot<'a> {
    Plot::new(id)
        .custom_x_axes(vec![x_axis(x_label)])
        .custom_y_axes(vec![y_axis(y_label)])
        .x_grid_spacer(move |input| tick_marks(input, 70.0, integer_x))
        .y_grid_spacer(|input| tick_marks(input, 36.0, false))
        // The mouse wheel scrolls the tab, not the data out of the plot (Ctrl+wheel zooms,
        // dragging pans, a double click restores).
        .allow_scroll(false)
}

/// How many points of `series` lie near each corner of the data's bounding box, `near`
/// being the share of each side counted as near (left-top, right-top, left-bottom,
/// right-bottom); `None` when the data span no area.
fn corner_counts(series: &[&[PlotPoint]], near: f64) -> Option<[usize; 4]> {
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
    if !(x1 > x0 && y1 > y0) {
        return None;
    }
    let mut counts = [0usize; 4];
    for p in all() {
        let fx = (p.x - x0) / (x1 - x0);
        let fy = (p.y - y0) / (y1 - y0);
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
    Some(counts)
}

/// Corners in the order preferred on ties: the right-hand ones first, as the start of a
/// curve is on the left.
const CORNER_ORDER: [(usize, Corner); 4] = [
    (1, Corner::RightTop),
    (3, Corner::RightBottom),
    (0, Corner::LeftTop),
    (2, Corner::LeftBottom),
];

/// The corner of the data's bounding box with the fewest points near it, for a legend.
pub fn emptiest_corner(series: &[&[PlotPoint]]) -> Corner {
    let Some(counts) = corner_counts(series, 0.45) else {
        return Corner::RightTop;
    };
    CORNER_ORDER
        .into_iter()
        .min_by_key(|(i, _)| counts[*i])
        .map_or(Corner::RightTop, |(_, c)| c)
}

/// A corner of the plot where a legend covers no data (a legend box takes about a third of
/// a small plot's width and height), or `None` when every corner has data near it and the
/// legend must go outside the plot. Flat data (all zero) leaves the top corners clear.
pub fn clear_corner(series: &[&[PlotPoint]]) -> Option<Corner> {
    let Some(counts) = corner_counts(series, 0.35) else {
        return Some(Corner::RightTop);
    };
    CORNER_ORDER
        .into_iter()
        .find(|(i, _)| counts[*i] == 0)
        .map(|(_, c)| c)
}

/// `plot` with its legend in a corner clear of `series`, or, when there is none, the legend
/// drawn as a row above the plot (so call this just before showing the plot); `entries` are
/// the names and colours of the lines, which must be drawn in those colours.
pub fn placed_legend<'a>(
    ui: &mut Ui,
    plot: Plot<'a>,
    series: &[&[PlotPoint]],
    entries: &[(&str, Color32)],
) -> Plot<'a> {
    match clear_corner(series) {
        Some(corner) => plot.legend(Legend::default().position(corner)),
        None => {
            legend_row(ui, entries);
            plot
        }
    }
}

/// The x under the pointer (or of the point it is near).
fn pos_x(pos: &HoverPosition<'_>) -> f64 {
    match pos {
        HoverPosition::NearDataPoint { position, .. } | HoverPosition::Elsewhere { position } => {
            position.x
        }
    }
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

/// A setting changed while the run trained: where (x on the plot) and what, in a few words.
pub type Marker = (f64, String);

/// The markers within `tolerance` of `x`, as lines for a hover read-out.
pub fn markers_near(markers: &[Marker], x: f64, tolerance: f64) -> Vec<String> {
    markers
        .iter()
        .filter(|(m, _)| (m - x).abs() <= tolerance)
        .map(|(_, text)| format!("changed here: {text}"))
        .collect()
}

/// Draws each marker as a thin dashed vertical line with its text near the top of the data
/// (`top`, the highest value of the series: a label placed at the plot's edge would push the
/// automatic bounds outwards every frame). Labels are measured in the window's font and
/// placed with [`place_labels`]: whole (never cut short of the new value), none over another.
pub fn draw_markers(plot: &mut PlotUi<'_>, markers: &[Marker], top: f64, colour: Color32) {
    for (x, _) in markers {
        // No name: the marker is not a series, and stays out of legends.
        plot.vline(
            VLine::new("", *x)
                .color(colour)
                .width(1.0)
                .style(LineStyle::dashed_dense()),
        );
    }
    if !top.is_finite() {
        return;
    }
    let transform = *plot.transform();
    let frame = *transform.frame();
    let bounds = transform.bounds();
    let font = egui::FontId::proportional(13.0);
    let ctx = plot.ctx().clone();
    let width_of = |t: &str| {
        f64::from(
            ctx.fonts_mut(|f| f.layout_no_wrap(t.to_string(), font.clone(), colour))
                .size()
                .x,
        )
    };
    let shown: Vec<(f64, String, f64)> = markers
        .iter()
        .filter(|(x, _)| (bounds.min()[0]..=bounds.max()[0]).contains(x))
        .flat_map(|(x, text)| {
            let px = f64::from(transform.position_from_point_x(*x));
            // A change of several settings wider than the plot gets a line per setting.
            let whole = width_of(text);
            let parts: Vec<String> = if whole > f64::from(frame.width()) - 8.0 {
                text.split(", ").map(str::to_string).collect()
            } else {
                vec![text.clone()]
            };
            parts
                .into_iter()
                .map(|t| {
                    let w = width_of(&t);
                    (px, t, w)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let placed = place_labels(
        &shown.iter().map(|(px, _, w)| (*px, *w)).collect::<Vec<_>>(),
        f64::from(frame.left()),
        f64::from(frame.right()),
    );
    // Rows 16 points apart, in data units.
    let row_height = 16.0 / transform.dpos_dvalue_y().abs().max(1e-12);
    for ((px, row, right_aligned), (_, text, _)) in placed.into_iter().zip(&shown) {
        let x = transform
            .value_from_position(egui::pos2(px as f32, frame.top()))
            .x;
        let align = if right_aligned {
            egui::Align2::RIGHT_TOP
        } else {
            egui::Align2::LEFT_TOP
        };
        plot.text(
            Text::new(
                "",
                PlotPoint::new(x, top - row as f64 * row_height),
                egui::RichText::new(text.as_str()).size(13.0),
            )
            .color(colour)
            .anchor(align)
            .allow_hover(false),
        );
    }
}

/// Where marker labels go on a plot spanning `left..right` (screen x): for each (line x,
/// label width), the x the label is anchored at, its row, and whether it ends there (left
/// of its line, near the right edge) rather than starting there. Each label takes the
/// first row where it overlaps no other, with a gap between them: labels never print over
/// or run into each other, however many changes share an epoch.
pub fn place_labels(labels: &[(f64, f64)], left: f64, right: f64) -> Vec<(f64, usize, bool)> {
    const GAP: f64 = 10.0;
    let mut rows: Vec<Vec<(f64, f64)>> = Vec::new();
    labels
        .iter()
        .map(|&(px, width)| {
            let (x, ends, x0) = if px + 4.0 + width <= right - 2.0 {
                (px + 4.0, false, px + 4.0)
            } else if px - 4.0 - width >= left + 2.0 {
                (px - 4.0, true, px - 4.0 - width)
            } else {
                // Wider than either side: as far left as the plot allows.
                (left + 2.0, false, left + 2.0)
            };
            let span = (x0 - GAP, x0 + width + GAP);
            let free = |row: &Vec<(f64, f64)>| row.iter().all(|s| s.1 <= span.0 || span.1 <= s.0);
            let row = match rows.iter().position(free) {
                Some(r) => r,
                None => {
                    rows.push(Vec::new());
                    rows.len() - 1
                }
            };
            rows[row].push(span);
            (x, row, ends)
        })
        .collect()
}

/// The highest finite value of `series`, if any.
pub fn top_of(series: &[&[PlotPoint]]) -> f64 {
    series
        .iter()
        .flat_map(|s| s.iter())
        .map(|p| p.y)
        .filter(|y| y.is_finite())
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Bounds for a plot whose series hold a single x value (a 1-epoch run): one unit either
/// side on x, and a tenth of the value (at least 0.01) either side on y, so the point sits
/// in the middle of readable axes instead of on a zero-width range. `None` when the series
/// span more than one x, or hold no finite point.
pub fn one_point_bounds(series: &[&[PlotPoint]]) -> Option<([f64; 2], [f64; 2])> {
    let mut pts = series
        .iter()
        .flat_map(|s| s.iter())
        .filter(|p| p.x.is_finite() && p.y.is_finite());
    let first = pts.next()?;
    let (mut y0, mut y1) = (first.y, first.y);
    for p in pts {
        if p.x != first.x {
            return None;
        }
        y0 = y0.min(p.y);
        y1 = y1.max(p.y);
    }
    let pad = (0.1 * y0.abs().max(y1.abs())).max(0.01);
    Some(([first.x - 1.0, first.x + 1.0], [y0 - pad, y1 + pad]))
}

/// Widens `plot` to [`one_point_bounds`] when its series hold a single x value, and its y
/// range to [`flat_bounds`] when their values (nearly) do not change.
pub fn with_one_point_bounds<'a>(plot: Plot<'a>, series: &[&[PlotPoint]]) -> Plot<'a> {
    match one_point_bounds(series) {
        Some(([x0, x1], [y0, y1])) => plot.include_x(x0).include_x(x1).include_y(y0).include_y(y1),
        None => match flat_bounds(series) {
            Some((y0, y1)) => plot.include_y(y0).include_y(y1),
            None => plot,
        },
    }
}

/// A y range a hundredth of the values' size either side of them, when they differ by less
/// than a ten-thousandth of it: a constant (−4.69897 in every epoch, a 9-layer network's
/// update ratio) would otherwise fill the plot with rounding noise under identical tick
/// labels. `None` for values that really vary, or none finite.
pub fn flat_bounds(series: &[&[PlotPoint]]) -> Option<(f64, f64)> {
    let (y0, y1) = series
        .iter()
        .flat_map(|s| s.iter())
        .map(|p| p.y)
        .filter(|y| y.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
    if y0 > y1 {
        return None;
    }
    let scale = y0.abs().max(y1.abs());
    if scale == 0.0 {
        return Some((-0.01, 0.01));
    }
    (y1 - y0 < 1e-4 * scale).then_some((y0 - 0.01 * scale, y1 + 0.01 * scale))
}

/// A plain frame of `size` with `text` in its middle, in place of a plot with no data.
pub fn waiting(ui: &mut Ui, size: egui::Vec2, text: &str) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let visuals = ui.visuals();
    ui.painter().rect_stroke(
        rect,
        2.0,
        visuals.widgets.noninteractive.bg_stroke,
        egui::StrokeKind::Inside,
    );
    // A label (not painted text), so that screen readers read it too; centred in the frame.
    let inner = rect.shrink(8.0);
    ui.put(
        inner,
        egui::Label::new(egui::RichText::new(text).weak()).wrap(),
    );
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

/// A legend of many or long entries above a plot, wrapping onto as many lines as it needs:
/// however narrow the window, it never covers the data nor widens the panel.
pub fn legend_wrapped(ui: &mut Ui, entries: &[(&str, Color32)]) {
    // Short names flow along one row; a long one (what differs between runs) gets a row of
    // its own, its text wrapping at the panel's edge under its swatch's right.
    let long = entries.iter().any(|(name, _)| name.chars().count() > 40);
    let entry = |ui: &mut Ui, name: &str, colour: Color32| {
        ui.horizontal(|ui| {
            ui.colored_label(colour, "——");
            ui.add(egui::Label::new(name).wrap());
        });
    };
    if long {
        ui.vertical(|ui| {
            for (name, colour) in entries {
                entry(ui, name, *colour);
            }
        });
    } else {
        ui.horizontal_wrapped(|ui| {
            for (name, colour) in entries {
                next_row_unless_fits(ui, "——", name);
                entry(ui, name, *colour);
                ui.add_space(8.0);
            }
        });
    }
}

/// In a wrapping row of legend entries: starts a new row when the entry (`swatch` and
/// `name`) does not fit in what is left of this one, so an entry moves down whole rather
/// than wrapping its name over three lines at the edge (six race variants at 1400 px).
fn next_row_unless_fits(ui: &mut Ui, swatch: &str, name: &str) {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let width = |text: &str| {
        ui.painter()
            .layout_no_wrap(text.to_string(), font.clone(), Color32::WHITE)
            .size()
            .x
    };
    let needed = width(swatch) + width(name) + ui.spacing().item_spacing.x;
    let left = ui.available_size_before_wrap().x;
    if needed > left && left < ui.available_width() {
        ui.end_row();
    }
}

/// The dash of the `i`-th series of an overlay: solid, dashed, dotted in turn, so lines of
/// near colours (or read by someone who cannot tell them apart) still differ.
pub fn series_style(i: usize) -> LineStyle {
    match i % 3 {
        0 => LineStyle::Solid,
        1 => LineStyle::dashed_loose(),
        _ => LineStyle::dotted_dense(),
    }
}

/// The swatch text of [`series_style`] for a legend.
fn style_swatch(i: usize) -> &'static str {
    match i % 3 {
        0 => "——",
        1 => "– –",
        _ => "···",
    }
}

/// [`legend_wrapped`] with each entry's swatch drawn in its line's dash (see
/// [`series_style`]).
pub fn legend_wrapped_styled(ui: &mut Ui, entries: &[(&str, Color32)]) {
    let entry = |ui: &mut Ui, i: usize, name: &str, colour: Color32| {
        ui.horizontal(|ui| {
            ui.colored_label(colour, egui::RichText::new(style_swatch(i)).strong());
            ui.add(egui::Label::new(name).wrap());
        });
    };
    // As in legend_wrapped: a long entry gets a row of its own.
    if entries.iter().any(|(name, _)| name.chars().count() > 40) {
        ui.vertical(|ui| {
            for (i, (name, colour)) in entries.iter().enumerate() {
                entry(ui, i, name, *colour);
            }
        });
    } else {
        ui.horizontal_wrapped(|ui| {
            for (i, (name, colour)) in entries.iter().enumerate() {
                next_row_unless_fits(ui, style_swatch(i), name);
                entry(ui, i, name, *colour);
                ui.add_space(8.0);
            }
        });
    }
}

/// The colour of the `i`-th series of an overlay: the exported figure's palette, so that the
/// window and the figure match.
pub fn series_colour(i: usize) -> Color32 {
    let hex = crate::report::svg::PALETTE[i % crate::report::svg::PALETTE.len()];
    match Color32::from_hex(hex) {
        // Print's black would vanish on the dark theme.
        Ok(Color32::BLACK) | Err(_) => Color32::GRAY,
        Ok(c) => c,
    }
}

/// State of the plots panel.
pub struct PlotsPanel {
    /// Exponential smoothing of the step-loss curve, 0 (none) to 0.999.
    pub smoothing: f64,
    smoothed: Vec<PlotPoint>,
    smoothed_key: (u64, usize, u64),
    /// Markers of the live changes on the per-epoch plots, at their epoch.
    epoch_markers: Vec<Marker>,
    /// The same on the step-loss plot, at their step.
    step_markers: Vec<Marker>,
    /// (run, changes) the markers were made for.
    markers_key: (u64, usize),
    /// Steps known then, and the latest step a marker is at.
    markers_steps: (usize, Option<usize>),
    /// Size of each per-epoch plot in the last frame (for layout tests).
    pub last_plot_size: egui::Vec2,
}

impl Default for PlotsPanel {
    fn default() -> Self {
        PlotsPanel {
            smoothing: 0.9,
            smoothed: Vec::new(),
            smoothed_key: (0, 0, 0),
            epoch_markers: Vec::new(),
            step_markers: Vec::new(),
            markers_key: (0, 0),
            markers_steps: (0, None),
            last_plot_size: egui::Vec2::ZERO,
        }
    }
}

/// One per-epoch plot: which curve, id, title, y label, and its training and validation
/// points.
type EpochPlot<'a> = (Curve, &'a str, &'a str, &'a str, [&'a [PlotPoint]; 2]);

/// Draws one per-epoch plot with the `markers` of live changes; true when its Export…
/// button was clicked. With `step_epochs` (update step, epoch) the x is the update step
/// (the run evaluates every few steps), and the read-out gives the epoch too.
fn epoch_plot(
    ui: &mut Ui,
    plot: EpochPlot<'_>,
    size: egui::Vec2,
    can_export: bool,
    markers: &[Marker],
    step_epochs: Option<&[(f64, f64)]>,
) -> bool {
    let (_, id, title, y_label, [train, val]) = plot;
    let (width, height) = (size.x, size.y);
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
        if train.is_empty() && val.is_empty() {
            waiting(
                ui,
                egui::vec2(width, height),
                "Waiting for the first epoch…",
            );
            return;
        }
        let marker_colour = ui.visuals().weak_text_color();
        let top = top_of(&[train, val]);
        let x_label = if step_epochs.is_some() {
            "update step"
        } else {
            "epoch"
        };
        // Half an epoch, or a hundredth of the steps shown.
        let tolerance = match step_epochs {
            Some(map) => (map.last().map_or(1.0, |p| p.0) * 0.01).max(0.5),
            None => 0.5,
        };
        let plot = readable_plot(id, x_label, y_label, true)
            .width(width)
            .height(height)
            .link_axis(group, [true, false])
            .link_cursor(group, [true, false])
            .label_formatter(move |pos| {
                let mut text = series_readout(&[("training", train), ("validation", val)], pos)?;
                if let Some(map) = step_epochs {
                    text = step_readout(&text, map);
                }
                let near = markers_near(markers, pos_x(pos), tolerance);
                Some(if near.is_empty() {
                    text
                } else {
                    format!("{text}\n{}", near.join("\n"))
                })
            });
        with_one_point_bounds(plot, &[train, val]).show(ui, |plot| {
            draw_markers(plot, markers, top, marker_colour);
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

/// A per-epoch read-out ("…epoch 120\n…") of a plot against the update step: "step 120",
/// with the epoch of the nearest evaluation in `map` (update step, epoch) on the next line.
fn step_readout(text: &str, map: &[(f64, f64)]) -> String {
    let Some(at) = text.find("epoch ") else {
        return text.to_string();
    };
    let rest = &text[at + "epoch ".len()..];
    let end = rest.find('\n').unwrap_or(rest.len());
    let step: f64 = rest[..end].parse().unwrap_or(f64::NAN);
    let i = map.partition_point(|p| p.0 < step);
    let epoch = [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|j| map.get(j))
        .min_by(|a, b| (a.0 - step).abs().total_cmp(&(b.0 - step).abs()))
        .map(|p| p.1);
    let epoch = epoch.map_or_else(String::new, |e| {
        format!(" (epoch {})", number((e * 100.0).round() / 100.0))
    });
    format!(
        "{}step {}{epoch}{}",
        &text[..at],
        &rest[..end],
        &rest[end..]
    )
}

impl PlotsPanel {
    /// The markers of live changes, made again only when the run or its changes did (and
    /// the step-loss ones when new steps arrive, as a change's first step may be new).
    fn update_markers(&mut self, history: &RunHistory) {
        let Some(info) = &history.info else {
            self.epoch_markers.clear();
            self.step_markers.clear();
            return;
        };
        let key = (history.run, info.settings.changes.len());
        let (steps_then, last_step) = self.markers_steps;
        let step_arrived =
            last_step.is_some_and(|s| s >= steps_then) && history.step_loss.len() != steps_then;
        if key == self.markers_key && !step_arrived {
            return;
        }
        self.markers_key = key;
        let markers = info.settings.markers();
        self.markers_steps = (history.step_loss.len(), markers.iter().map(|m| m.0).max());
        // At the change's step on curves against the update step, else at its epoch.
        let per_step = history.per_step;
        self.epoch_markers = markers
            .into_iter()
            .map(|(step, epoch, text)| (if per_step { step } else { epoch } as f64, text))
            .collect();
        let steps = &history.step_loss;
        self.step_markers =
            crate::report::figures::step_markers(&info.settings, |s| steps.get(s).map(|p| p.x));
    }

    /// The markers of live changes on the per-epoch plots (epoch, text), as last drawn.
    pub fn markers(&self) -> &[Marker] {
        &self.epoch_markers
    }

    /// A panel with the given step-loss smoothing.
    pub fn with_smoothing(smoothing: f64) -> Self {
        PlotsPanel {
            smoothing,
            ..Default::default()
        }
    }

    /// Draws the plots of `history`, `heights` high (shared with the templates by the tab);
    /// returns an export request for the step-loss curve, and the per-epoch curve whose
    /// Export… was clicked.
    ///
    /// `beside` draws in the per-epoch plots' last row when it has a free slot (two to a
    /// row: the accuracy plot's right): a ConvNet's filters take it rather than a row of
    /// their own below; `beside` is taken (set to `None`) when drawn.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        heights: PlotHeights,
        beside: &mut Option<&mut dyn FnMut(&mut Ui)>,
    ) -> (Option<ExportRequest>, Option<Curve>) {
        let export_curve = self.epoch_plots(ui, history, heights.epoch, beside);
        let request = self.step_loss_heading(ui, history);
        self.refresh_smoothed(history);
        if self.smoothed.is_empty() {
            let size = egui::vec2(ui.available_width(), heights.step);
            waiting(ui, size, "Waiting for the first mini-batch…");
            return (request, export_curve);
        }
        self.step_loss_plot(ui, heights.step);
        (request, export_curve)
    }

    /// The per-epoch plots (cost, loss, accuracy), `height` high, in three columns when
    /// there is room, else one; returns the curve whose Export… was clicked.
    fn epoch_plots(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        height: f32,
        beside: &mut Option<&mut dyn FnMut(&mut Ui)>,
    ) -> Option<Curve> {
        let mut export_curve = None;
        let can_export = !history.epochs.is_empty();
        let avail = ui.available_width();
        let columns = epoch_plot_columns(avail);
        let spacing = ui.spacing().item_spacing.x;
        let width = ((avail - spacing * (columns as f32 - 1.0)) / columns as f32).max(160.0) - 2.0;
        self.last_plot_size = egui::vec2(width, height);
        self.update_markers(history);
        let markers = &self.epoch_markers;
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
                    let per_step = history.per_step.then_some(&history.step_epochs[..]);
                    if epoch_plot(
                        ui,
                        *plot,
                        self.last_plot_size,
                        can_export,
                        markers,
                        per_step,
                    ) {
                        export_curve = Some(plot.0);
                    }
                }
                if row.len() < columns
                    && let Some(draw) = beside.take()
                {
                    ui.vertical(|ui| {
                        ui.set_max_width(ui.available_width());
                        draw(ui);
                    });
                }
            });
        }
        export_curve
    }

    /// The mini-batch loss's heading: its smoothing slider and its Export… button; returns
    /// the export request when the button was clicked.
    fn step_loss_heading(&mut self, ui: &mut Ui, history: &RunHistory) -> Option<ExportRequest> {
        let mut request = None;
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
                let fig = crate::report::figures::step_loss_marked(
                    &raw,
                    &smoothed,
                    self.smoothing,
                    &self.step_markers,
                    history.info.as_ref(),
                );
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        request
    }

    /// Smooths the step losses again when the run, its steps or the smoothing changed.
    fn refresh_smoothed(&mut self, history: &RunHistory) {
        let key = (
            history.run,
            history.step_loss.len(),
            self.smoothing.to_bits(),
        );
        if key == self.smoothed_key {
            return;
        }
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

    /// The smoothed mini-batch loss, `height` high, with the markers of live changes (the
    /// read-out names the changes near the pointer).
    fn step_loss_plot(&self, ui: &mut Ui, height: f32) {
        let smoothed = &self.smoothed;
        let step_markers = &self.step_markers;
        // Two hundredths of the plotted span: about the width of the pointer's read-out.
        let span = smoothed.last().map_or(1.0, |p| p.x) - smoothed.first().map_or(0.0, |p| p.x);
        let tolerance = (span * 0.02).max(1e-3);
        let marker_colour = ui.visuals().weak_text_color();
        let top = top_of(&[smoothed]);
        readable_plot("step-loss", "epoch", "batch loss", false)
            .height(height)
            .label_formatter(move |pos| {
                let text = series_readout(&[("batch loss (smoothed)", smoothed)], pos)?;
                let near = markers_near(step_markers, pos_x(pos), tolerance);
                Some(if near.is_empty() {
                    text
                } else {
                    format!("{text}\n{}", near.join("\n"))
                })
            })
            // No legend: one curve, named by the heading above and the read-out; a legend
            // box covered the change markers' labels.
            .show(ui, |plot| {
                draw_markers(plot, step_markers, top, marker_colour);
                plot.line(
                    Line::new("batch loss (smoothed)", PlotPoints::Borrowed(smoothed))
                        .color(TRAIN_COLOUR),
                );
            });
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
    fn marker_labels_never_overlap_however_many_share_an_epoch() {
        // Three changes at the same epoch, and one near the right edge.
        let labels = [(100.0, 120.0), (100.0, 90.0), (104.0, 200.0), (590.0, 80.0)];
        let placed = place_labels(&labels, 0.0, 600.0);
        let spans: Vec<(usize, f64, f64)> = placed
            .iter()
            .zip(&labels)
            .map(|(&(x, row, ends), &(_, w))| {
                let x0 = if ends { x - w } else { x };
                (row, x0, x0 + w)
            })
            .collect();
        for (i, a) in spans.iter().enumerate() {
            assert!(
                a.1 >= 0.0 && a.2 <= 600.0,
                "label {i} leaves the plot: {a:?}"
            );
            for b in &spans[i + 1..] {
                assert!(
                    a.0 != b.0 || a.2 <= b.1 || b.2 <= a.1,
                    "labels overlap: {a:?} {b:?}"
                );
            }
        }
        assert!(placed[3].2, "the last ends left of its line");
    }

    #[test]
    fn one_point_gets_readable_bounds_and_markers_read_out() {
        let one = [PlotPoint::new(1.0, 0.3)];
        let other = [PlotPoint::new(1.0, 0.25)];
        let (x, y) = one_point_bounds(&[&one, &other]).unwrap();
        assert_eq!(x, [0.0, 2.0]);
        assert!(y[0] < 0.25 && y[1] > 0.3 && y[1] - y[0] < 0.2, "{y:?}");
        // A zero loss still gets a range.
        let (_, y) = one_point_bounds(&[&[PlotPoint::new(3.0, 0.0)]]).unwrap();
        assert!(y[1] - y[0] >= 0.02, "{y:?}");
        let two = [PlotPoint::new(1.0, 0.3), PlotPoint::new(2.0, 0.4)];
        assert!(one_point_bounds(&[&two]).is_none());
        assert!(one_point_bounds(&[&[]]).is_none());

        let markers = vec![(9.0, "η 0.001 → 0.05".to_string())];
        assert_eq!(
            markers_near(&markers, 9.2, 0.5),
            vec!["changed here: η 0.001 → 0.05"]
        );
        assert!(markers_near(&markers, 10.0, 0.5).is_empty());
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
        assert_eq!(clear_corner(&[&rising]), Some(Corner::RightBottom));
        // Two flat lines, one high and one low (a layer's mean output and the class
        // scores'): every corner has data, so the legend goes outside the plot.
        let high: Vec<PlotPoint> = (1..=12)
            .map(|i| PlotPoint::new(f64::from(i), 1.0 + 0.1 * f64::from(i % 3)))
            .collect();
        let low: Vec<PlotPoint> = (1..=12)
            .map(|i| PlotPoint::new(f64::from(i), 0.1 / f64::from(i)))
            .collect();
        assert_eq!(clear_corner(&[&high, &low]), None);
    }

    #[test]
    fn a_long_legend_entry_wraps_within_the_width() {
        use egui_kittest::kittest::Queryable;
        let long = "split All training images, epochs 12, batch size 100, η cyclic 1e-5…0.1, \
                    λ 0.005, loss Softmax cross-entropy, weight init Xavier, hidden layers 50";
        let mut h = egui_kittest::Harness::builder()
            .with_size((400.0, 300.0))
            .build_ui(|ui| {
                legend_wrapped(ui, &[(long, Color32::RED), ("λ 0.1", Color32::BLUE)]);
            });
        h.run();
        let r = h.get_by_label(long).rect();
        assert!(r.right() <= 400.0, "{r:?}");
        assert!(r.height() > 30.0, "on several lines: {r:?}");
        let r = h.get_by_label("λ 0.1").rect();
        assert!(r.right() <= 400.0, "{r:?}");
    }

    #[test]
    fn a_constant_series_gets_a_readable_range_and_a_varying_one_none() {
        let flat = [
            PlotPoint::new(1.0, -4.698970),
            PlotPoint::new(2.0, -4.698971),
        ];
        let (lo, hi) = flat_bounds(&[&flat]).unwrap();
        assert!(lo < -4.74 && hi > -4.66, "{lo} {hi}");
        let varying = [PlotPoint::new(1.0, -4.7), PlotPoint::new(2.0, -3.0)];
        assert_eq!(flat_bounds(&[&varying]), None);
        let zeros = [PlotPoint::new(1.0, 0.0), PlotPoint::new(2.0, 0.0)];
        assert_eq!(flat_bounds(&[&zeros]), Some((-0.01, 0.01)));
    }
}
