//! A plot area and the data range mapped onto it: frame, grid, round ticks and axis labels.

use super::canvas::{Anchor, Canvas};

use crate::format::{TickStyle, nice_ticks, tick_label};

/// A rectangle of the canvas and the data range mapped onto it.
#[derive(Debug, Clone, Copy)]
pub struct Axes {
    /// Left, top, right, bottom of the plotting area.
    pub area: (f64, f64, f64, f64),
    /// Data x range.
    pub x: (f64, f64),
    /// Data y range.
    pub y: (f64, f64),
}

impl Axes {
    /// Canvas x of data x.
    pub fn px(&self, x: f64) -> f64 {
        let (l, _, r, _) = self.area;
        l + (x - self.x.0) / (self.x.1 - self.x.0) * (r - l)
    }
    /// Canvas y of data y.
    pub fn py(&self, y: f64) -> f64 {
        let (_, t, _, b) = self.area;
        b - (y - self.y.0) / (self.y.1 - self.y.0) * (b - t)
    }

    /// Frame, grid, ticks and axis labels; `x_ticks: false` leaves the x axis unlabelled
    /// (for category axes).
    pub fn draw(&self, c: &mut Canvas, x_label: &str, y_label: &str, x_ticks: bool) {
        let (l, t, r, b) = self.area;
        let (yt, ystep) = nice_ticks(self.y.0, self.y.1, 6, TickStyle::PRINT);
        for &v in &yt {
            let y = self.py(v);
            c.line((l, y), (r, y), "#dddddd", 1.0, None);
            c.text(
                l - 8.0,
                y + 5.0,
                &tick_label(v, ystep, TickStyle::PRINT),
                14.0,
                Anchor::End,
                0.0,
            );
        }
        if x_ticks {
            let (xt, xstep) = nice_ticks(self.x.0, self.x.1, 8, TickStyle::PRINT);
            for &v in &xt {
                let x = self.px(v);
                c.line((x, b), (x, b + 5.0), "#333333", 1.0, None);
                c.text(
                    x,
                    b + 22.0,
                    &tick_label(v, xstep, TickStyle::PRINT),
                    14.0,
                    Anchor::Middle,
                    0.0,
                );
            }
        }
        c.rect(l, t, r - l, b - t, "none", Some("#333333"));
        c.text((l + r) / 2.0, b + 46.0, x_label, 16.0, Anchor::Middle, 0.0);
        let ymid = (t + b) / 2.0;
        c.text(l - 58.0, ymid, y_label, 16.0, Anchor::Middle, -90.0);
    }
}

/// Data range of `values` with a little margin; `floor_zero` keeps 0 in the range.
pub(super) fn padded_range(values: impl Iterator<Item = f64>, floor_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if floor_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let pad = 0.05 * (hi - lo);
    (
        if floor_zero && lo >= 0.0 {
            lo
        } else {
            lo - pad
        },
        hi + pad,
    )
}
