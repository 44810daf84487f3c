//! The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural
//! Networks", 2017): a short run whose η grows exponentially from `eta_start` to `eta_end`
//! over `steps` mini-batch steps, recording each mini-batch's loss. Plotted against η on a
//! log axis, the loss stays flat while η is too small to matter, falls once η is large
//! enough, and rises or diverges once η is too large; the cyclic schedule's bounds lie
//! between. The steps are those of the one training engine ([`Trainer`]) with its schedule
//! replaced by the growing η ([`EtaRamp`]).
//!
//! The suggested bounds, from the smoothed loss (a centred moving average of the mini-batch
//! losses over [`smoothing_window`] steps, so it does not lag behind η):
//! - **eta_max**: the η at which the smoothed loss is lowest — beyond it the loss rises;
//! - **eta_min**: the first η at which the smoothed loss has come down a tenth
//!   ([`FALL_SHARE`]) of the way from where it started to that lowest point — where the
//!   loss starts to fall.
//!
//! Also reported: the η where the smoothed loss falls fastest (per factor of η). No bounds
//! are suggested when the smoothed loss falls by less than [`MIN_FALL`] of its start over
//! the whole range (η never got large enough, or the loss rose from the first step).
//!
//! The test stops early once the smoothed loss is above [`STOP_FACTOR`] times its lowest
//! value or a loss is not finite: η is far too large by then and the rest would say nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;

use super::config::{ConfigError, TrainConfig};
use super::trainer::{EtaRamp, Trainer};
use crate::data::{Normalizer, Splits};

/// Share of the fall (start → lowest smoothed loss) at which eta_min is read.
pub const FALL_SHARE: f64 = 0.1;
/// The smoothed loss must fall by at least this share of its start for bounds to be given.
pub const MIN_FALL: f64 = 0.02;
/// The test stops once the smoothed loss is this many times its lowest value.
pub const STOP_FACTOR: f64 = 4.0;

/// What the range test does: η from `eta_start` to `eta_end`, growing by the same factor
/// each of `steps` steps.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RangeSettings {
    /// η of the first step (> 0).
    pub eta_start: f64,
    /// η of the last step (> eta_start).
    pub eta_end: f64,
    /// Mini-batch steps (20 to 100,000).
    pub steps: usize,
}

impl Default for RangeSettings {
    /// 10⁻⁵ to 1 over 300 steps: six decades, 50 steps each — a few seconds for the
    /// course's linear classifier and MLP.
    fn default() -> Self {
        RangeSettings {
            eta_start: 1e-5,
            eta_end: 1.0,
            steps: 300,
        }
    }
}

/// Why a range test cannot run.
#[derive(Debug, Error, PartialEq)]
pub enum RangeError {
    /// A range setting is out of its allowed range.
    #[error("{0}")]
    BadSetting(String),
    /// The training settings are not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl RangeSettings {
    /// Checks the settings; the error names the wrong value and what is allowed.
    pub fn validate(&self) -> Result<(), RangeError> {
        let bad = |s: String| Err(RangeError::BadSetting(s));
        if !(self.eta_start.is_finite() && self.eta_start > 0.0) {
            return bad(format!(
                "eta-start = {} is not allowed: it must be a number above 0",
                self.eta_start
            ));
        }
        if !(self.eta_end.is_finite() && self.eta_end > self.eta_start) {
            return bad(format!(
                "eta-end = {} is not allowed: it must be larger than eta-start ({})",
                self.eta_end, self.eta_start
            ));
        }
        if !(20..=100_000).contains(&self.steps) {
            return bad(format!(
                "steps = {} is not allowed: use 20 to 100000",
                self.steps
            ));
        }
        Ok(())
    }

    /// The factor between one step's η and the next.
    pub fn growth(&self) -> f64 {
        (self.eta_end / self.eta_start).powf(1.0 / (self.steps.max(2) - 1) as f64)
    }
}

/// One step of the test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangePoint {
    /// η of the step.
    pub eta: f64,
    /// The mini-batch's loss (before the step's update).
    pub loss: f64,
    /// The smoothed loss there.
    pub smoothed: f64,
}

/// The suggested bounds of the cyclic schedule (see the module's notes for the rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Where the loss starts to fall.
    pub eta_min: f64,
    /// Where the loss is lowest, before it rises.
    pub eta_max: f64,
    /// Where the loss falls fastest per factor of η.
    pub steepest: f64,
}

/// The outcome of a range test.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeTest {
    /// What was asked for.
    pub settings: RangeSettings,
    /// Every step done, in order.
    pub points: Vec<RangePoint>,
    /// The suggested bounds, when the loss fell enough to give them.
    pub bounds: Option<Bounds>,
    /// What to know about the result, in words (why there are no bounds, why it stopped
    /// early, or that the loss was still falling at the end).
    pub notes: Vec<String>,
    /// Steps of the moving average.
    pub window: usize,
}

/// Steps of the centred moving average for a test of `steps` steps: a twentieth of them
/// (odd, at least 5), so the curve is as smooth for a long test as for a short one.
pub fn smoothing_window(steps: usize) -> usize {
    ((steps / 20).max(5)) | 1
}

/// The centred moving average of `values` over `window` (odd) points, shorter at the ends.
pub fn centred_average(values: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            let part = &values[lo..hi];
            part.iter().sum::<f64>() / part.len() as f64
        })
        .collect()
}

/// The bounds of a curve of (η, smoothed loss), per the module's rule, and notes.
pub fn suggest(points: &[RangePoint]) -> (Option<Bounds>, Vec<String>) {
    let mut notes = Vec::new();
    let finite: Vec<&RangePoint> = points
        .iter()
        .take_while(|p| p.smoothed.is_finite())
        .collect();
    let Some(first) = finite.first() else {
        notes.push("No step gave a finite loss: start from a smaller η.".to_string());
        return (None, notes);
    };
    let start = first.smoothed;
    let (lowest_i, lowest) = finite
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.smoothed))
        .fold(
            (0, f64::INFINITY),
            |best, (i, v)| {
                if v < best.1 { (i, v) } else { best }
            },
        );
    if start - lowest < MIN_FALL * start.abs() {
        notes.push(format!(
            "The loss did not fall over this range (from {start:.3} to at best {lowest:.3}): \
             raise the end of the range, or start it lower if the loss rose from the start."
        ));
        return (None, notes);
    }
    let threshold = start - FALL_SHARE * (start - lowest);
    let min_i = finite
        .iter()
        .position(|p| p.smoothed <= threshold)
        .unwrap_or(lowest_i);
    // Slope per factor of η: change of the smoothed loss over ln η, across a window.
    let w = smoothing_window(points.len()) / 2 + 1;
    let steepest_i = (0..=lowest_i)
        .filter_map(|i| {
            let (a, b) = (i.saturating_sub(w), (i + w).min(finite.len() - 1));
            let dx = finite[b].eta.ln() - finite[a].eta.ln();
            (dx > 0.0).then(|| (i, (finite[b].smoothed - finite[a].smoothed) / dx))
        })
        .fold((min_i, f64::INFINITY), |best, (i, s)| {
            if s < best.1 { (i, s) } else { best }
        })
        .0;
    if lowest_i + 1 >= finite.len() && finite.len() == points.len() {
        notes.push(
            "The loss was still falling at the end of the range: eta_max may be larger; \
             raise the end of the range to see where it rises."
                .to_string(),
        );
    }
    (
        Some(Bounds {
            eta_min: finite[min_i].eta,
            eta_max: finite[lowest_i].eta,
            steepest: finite[steepest_i].eta,
        }),
        notes,
    )
}

/// Runs the range test on `data` with the model, loss, batch, λ and optimiser of `config`
/// (its η and schedule are replaced by the growing η; its epochs do not matter): a fresh
/// model trained on the training set, nothing saved. `progress(done, total)` is called after
/// each step; the test ends early, with what it has, when `cancel` is set.
pub fn run(
    config: &TrainConfig,
    data: Arc<Splits>,
    normalizer: Option<Arc<Normalizer>>,
    settings: &RangeSettings,
    cancel: &AtomicBool,
    mut progress: impl FnMut(usize, usize),
) -> Result<RangeTest, RangeError> {
    settings.validate()?;
    let mut trainer = Trainer::new(config.clone(), data, normalizer)?;
    trainer.set_eta_ramp(Some(EtaRamp {
        start: settings.eta_start,
        growth: settings.growth(),
        from_step: trainer.steps_done(),
    }));
    let window = smoothing_window(settings.steps);
    let mut etas = Vec::with_capacity(settings.steps);
    let mut losses = Vec::with_capacity(settings.steps);
    let mut notes = Vec::new();
    let mut lowest = f64::INFINITY;
    for i in 0..settings.steps {
        if cancel.load(Ordering::Relaxed) {
            notes.push(format!("Stopped after {i} of {} steps.", settings.steps));
            break;
        }
        let out = trainer.step();
        etas.push(out.eta);
        losses.push(out.batch_loss);
        progress(i + 1, settings.steps);
        if !out.batch_loss.is_finite() {
            notes.push(format!(
                "The loss became NaN or infinite at η = {}: stopped there.",
                super::record::number(out.eta)
            ));
            losses.pop();
            etas.pop();
            break;
        }
        // The trailing average of the last half-window: cheap, and enough to see a blow-up.
        let recent = &losses[losses.len().saturating_sub(window / 2 + 1)..];
        let level = recent.iter().sum::<f64>() / recent.len() as f64;
        lowest = lowest.min(level);
        if i >= window && level > STOP_FACTOR * lowest {
            notes.push(format!(
                "Stopped at η = {}, step {} of {}: the loss had grown to more than {STOP_FACTOR:.0} \
                 times its lowest.",
                super::record::number(out.eta),
                i + 1,
                settings.steps
            ));
            break;
        }
    }
    let smoothed = centred_average(&losses, window);
    let points: Vec<RangePoint> = etas
        .iter()
        .zip(&losses)
        .zip(&smoothed)
        .map(|((&eta, &loss), &smoothed)| RangePoint {
            eta,
            loss,
            smoothed,
        })
        .collect();
    let (bounds, more) = suggest(&points);
    notes.extend(more);
    Ok(RangeTest {
        settings: *settings,
        points,
        bounds,
        notes,
        window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(f: impl Fn(f64) -> f64) -> Vec<RangePoint> {
        // η from 1e-5 to 1 over 301 points, loss f(log10 η).
        (0..=300)
            .map(|i| {
                let eta = 10f64.powf(-5.0 + 5.0 * i as f64 / 300.0);
                let l = f(eta.log10());
                RangePoint {
                    eta,
                    loss: l,
                    smoothed: l,
                }
            })
            .collect()
    }

    #[test]
    fn bounds_of_a_falling_then_rising_curve() {
        // Flat at 2.3 until η = 1e-3, falling to 1.3 at η = 1e-1, rising after.
        let points = curve(|x| {
            if x < -3.0 {
                2.3
            } else if x < -1.0 {
                2.3 - 0.5 * (x + 3.0)
            } else {
                1.3 + 2.0 * (x + 1.0)
            }
        });
        let (b, notes) = suggest(&points);
        let b = b.expect("bounds");
        assert!(notes.is_empty(), "{notes:?}");
        // eta_min: a tenth of the fall (0.1) below 2.3 → x = -2.8.
        assert!((b.eta_min.log10() + 2.8).abs() < 0.03, "{}", b.eta_min);
        assert!((b.eta_max.log10() + 1.0).abs() < 0.03, "{}", b.eta_max);
        // A straight fall is equally steep everywhere: the first steepest point is kept.
        assert!(b.eta_min <= b.steepest && b.steepest <= b.eta_max, "{b:?}");
    }

    #[test]
    fn no_bounds_when_the_loss_never_falls_and_a_note_when_it_still_falls() {
        let (b, notes) = suggest(&curve(|_| 2.3));
        assert!(b.is_none());
        assert!(notes[0].contains("did not fall"), "{notes:?}");
        let (b, notes) = suggest(&curve(|x| 2.3 - 0.1 * (x + 5.0)));
        assert!((b.expect("bounds").eta_max - 1.0).abs() < 1e-9);
        assert!(notes[0].contains("still falling"), "{notes:?}");
    }

    #[test]
    fn settings_are_checked() {
        let ok = RangeSettings::default();
        assert!(ok.validate().is_ok());
        assert!((ok.growth().powi(299) * ok.eta_start - ok.eta_end).abs() < 1e-9);
        let e = RangeSettings {
            eta_end: 1e-6,
            ..ok
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("eta-end = 0.000001"), "{e}");
        assert!(RangeSettings { steps: 3, ..ok }.validate().is_err());
        assert!(
            RangeSettings {
                eta_start: f64::NAN,
                ..ok
            }
            .validate()
            .is_err()
        );
    }

    /// The whole test on the synthetic set: η grows as asked, the loss falls and then blows
    /// up, and the bounds lie inside the range in order.
    #[test]
    fn a_range_test_on_the_synthetic_set() {
        let config = TrainConfig {
            dataset: crate::data::DatasetKind::Synthetic,
            ..Default::default()
        };
        let data = Arc::new(crate::data::load(&config.data_request()).expect("synthetic data"));
        let settings = RangeSettings {
            eta_start: 1e-5,
            eta_end: 100.0,
            steps: 200,
        };
        let mut calls = 0;
        let test = run(
            &config,
            data,
            None,
            &settings,
            &AtomicBool::new(false),
            |_, total| {
                calls += 1;
                assert_eq!(total, 200);
            },
        )
        .expect("runs");
        assert!(calls >= test.points.len(), "progress after every step");
        assert!((test.points[0].eta - 1e-5).abs() < 1e-15);
        let g = settings.growth();
        for w in test.points.windows(2) {
            assert!((w[1].eta / w[0].eta - g).abs() < 1e-9);
        }
        // η = 100 is far too large for this set: the test stops before the end.
        assert!(test.points.len() < 200, "{} steps", test.points.len());
        assert!(!test.notes.is_empty());
        let b = test.bounds.expect("bounds");
        assert!(
            1e-5 <= b.eta_min && b.eta_min < b.eta_max && b.eta_max <= 100.0,
            "{b:?}"
        );
        let at = |eta: f64| {
            test.points
                .iter()
                .find(|p| p.eta >= eta)
                .map(|p| p.smoothed)
                .expect("point")
        };
        assert!(at(b.eta_max) < at(1e-5), "the loss fell: {test:?}");
    }

    #[test]
    fn the_centred_average_does_not_lag() {
        let v: Vec<f64> = (0..11).map(f64::from).collect();
        let s = centred_average(&v, 5);
        assert_eq!(s[5], 5.0);
        assert_eq!(s[0], 1.0);
        assert_eq!(s[10], 9.0);
    }
}
