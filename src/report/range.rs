//! The figure of a learning-rate range test: the mini-batch loss and its smoothed curve
//! against η on a log axis, with the suggested bounds marked (see [`crate::train::lr_range`]).

use super::figures::Figure;
use super::svg::{self, Anchor, Axes, CHART_SIZE, Canvas, PALETTE};
use crate::train::lr_range::RangeTest;
use crate::train::record::number;
use crate::train::{RunSettings, TrainConfig};

/// What the test trained, for the title: the data set and the settings as a run's title
/// names them, without η (the test replaces it by its growing η).
pub fn subject(dataset: &str, config: &TrainConfig) -> String {
    let title = RunSettings::new(config.clone()).title();
    let mut kept: Vec<String> = title
        .split(" · ")
        .filter(|part| !part.starts_with("η "))
        .map(str::to_string)
        .collect();
    // The batch size sets how noisy the curve is: always named.
    if !kept.iter().any(|p| p.starts_with("batch ")) {
        kept.push(format!("batch {}", config.batch));
    }
    format!("{dataset}, {}", kept.join(" · "))
}

/// A label for a power of ten on the η axis: plain decimals down to 0.0001, then 1e-5.
fn decade_label(exponent: i32) -> String {
    if (-4..=4).contains(&exponent) {
        crate::train::divergence::plain_number(10f64.powi(exponent))
    } else {
        format!("1e{exponent}")
    }
}

/// The range test's figure; `subject` names what was trained (see [`subject`]).
pub fn lr_range_figure(test: &RangeTest, subject: &str) -> Figure {
    let title = format!("Learning-rate range test — {subject}");
    let (w, h) = CHART_SIZE;
    let legend_h = 30.0;
    let mut c = Canvas::new(w, h + legend_h);
    let extra = svg::title(&mut c, w, &title);
    let area = (90.0, 50.0 + extra.max(0.0), w - 25.0, h - 70.0);
    let pts = &test.points;
    let lx = |eta: f64| eta.log10();
    let (x0, x1) = (
        lx(test.settings.eta_start),
        lx(test.settings.eta_end).max(lx(test.settings.eta_start) + 1e-9),
    );
    let (lo, hi) = loss_range(test);
    let axes = Axes {
        area,
        x: (x0, x1),
        y: (lo, hi),
    };
    axes.draw(
        &mut c,
        "learning rate η (log scale)",
        "mini-batch loss",
        false,
    );
    let (l, top, _, bottom) = area;
    draw_decades(&mut c, &axes, (x0, x1));
    let clamp = |y: f64| axes.py(y.clamp(lo, hi));
    let raw: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (axes.px(lx(p.eta)), clamp(p.loss)))
        .collect();
    let smooth: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (axes.px(lx(p.eta)), clamp(p.smoothed)))
        .collect();
    c.polyline(&raw, PALETTE[8], 1.2, None);
    c.polyline(&smooth, PALETTE[0], 2.5, None);
    if let Some(b) = test.bounds {
        for (eta, text, anchor) in [
            (
                b.eta_min,
                format!("eta_min {}", number(b.eta_min)),
                Anchor::End,
            ),
            (
                b.eta_max,
                format!("eta_max {}", number(b.eta_max)),
                Anchor::Start,
            ),
        ] {
            let x = axes.px(lx(eta));
            c.line((x, top), (x, bottom), PALETTE[1], 1.5, Some("6 4"));
            let dx = if anchor == Anchor::End { -4.0 } else { 4.0 };
            c.text(x + dx, top + 16.0, &text, 13.0, anchor, 0.0);
        }
    }
    draw_legend(&mut c, (l, h - 8.0 + legend_h / 2.0), test.window);
    let mut csv = String::from("step,eta,batch_loss,smoothed\n");
    for (i, p) in pts.iter().enumerate() {
        crate::format::putln!(csv, "{i},{},{},{}", p.eta, p.loss, p.smoothed);
    }
    Figure {
        id: "lr_range".into(),
        title,
        svg: c.finish(),
        csv,
    }
}

/// The loss axis's range: it follows the smoothed curve (up to 1.5 × where it started), so
/// a blown-up last mini-batch does not flatten the rest; raw losses above are drawn at the
/// top.
fn loss_range(test: &RangeTest) -> (f64, f64) {
    let pts = &test.points;
    let smooth_lo = pts.iter().map(|p| p.smoothed).fold(f64::INFINITY, f64::min);
    let raw_lo = pts.iter().map(|p| p.loss).fold(f64::INFINITY, f64::min);
    let start = pts.first().map_or(1.0, |p| p.smoothed);
    let hi = pts
        .iter()
        .map(|p| p.smoothed)
        .fold(f64::NEG_INFINITY, f64::max)
        .min(1.5 * start)
        .max(start);
    let lo = smooth_lo.min(raw_lo);
    if lo.is_finite() && hi.is_finite() && hi > lo {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    }
}

/// A grid line, tick and label at each power of ten on the η axis over `x` (log10 η).
fn draw_decades(c: &mut Canvas, axes: &Axes, x: (f64, f64)) {
    let (_, top, _, bottom) = axes.area;
    for e in (x.0.ceil() as i32)..=(x.1.floor() as i32) {
        let x = axes.px(f64::from(e));
        c.line((x, top), (x, bottom), "#eeeeee", 1.0, None);
        c.line((x, bottom), (x, bottom + 5.0), "#333333", 1.0, None);
        c.text(
            x,
            bottom + 22.0,
            &decade_label(e),
            14.0,
            Anchor::Middle,
            0.0,
        );
    }
}

/// The legend in a row from `(x, y)` under the plot, where it covers nothing; `window` is
/// the moving average's length in steps.
fn draw_legend(c: &mut Canvas, (mut x, y): (f64, f64), window: usize) {
    for (name, colour, width) in [
        ("each mini-batch".to_string(), PALETTE[8], 1.2),
        (
            format!("moving average over {window} steps"),
            PALETTE[0],
            2.5,
        ),
        ("suggested bounds".to_string(), PALETTE[1], 1.5),
    ] {
        c.line((x, y - 5.0), (x + 26.0, y - 5.0), colour, width, None);
        c.text(x + 32.0, y, &name, 14.0, Anchor::Start, 0.0);
        x += 50.0 + svg::text_width(&name, 14.0);
    }
}
