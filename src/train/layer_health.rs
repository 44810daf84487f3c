//! The arithmetic of the Layers numbers both engines share: one layer's outputs summed block
//! by block (mean, spread, range and the units that are dead or saturated), and norms and
//! ranges of weight gradients. [`super::trainer`] fills them for an MLP,
//! [`super::stack_health`] for a layer stack.

use ndarray::ArrayView2;

use super::metrics::{SATURATED_SHARE, SATURATED_SLOPE};
use crate::model::Activation;

/// √(Σ v²).
pub fn frobenius<'a>(values: impl Iterator<Item = &'a f32>) -> f64 {
    values.map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt()
}

/// The smallest and largest of `values` (NaN, NaN when there are none).
pub fn value_range<'a>(values: impl Iterator<Item = &'a f32>) -> (f64, f64) {
    let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        (f64::NAN, f64::NAN)
    } else {
        (f64::from(lo), f64::from(hi))
    }
}

/// Whether a unit's output `a` counts as stuck: a ReLU that is off, a sigmoid or tanh whose
/// derivative is below [`SATURATED_SLOPE`] of its largest value.
pub fn is_stuck(act: Activation, a: f32) -> bool {
    let a = f64::from(a);
    match act {
        Activation::Relu => a <= 0.0,
        Activation::Tanh => 1.0 - a * a < SATURATED_SLOPE,
        Activation::Sigmoid => a * (1.0 - a) < 0.25 * SATURATED_SLOPE,
    }
}

/// What [`OutputTally::finish`] makes of a layer's outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputSummary {
    /// Mean of every output value.
    pub mean: f64,
    /// Their standard deviation.
    pub std: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// Share of units dead or saturated; NaN without an activation to judge by.
    pub stuck: f64,
}

/// One layer's outputs, added up block by block so that no more than a block of them is
/// ever held: sums for the mean and spread, the range, and per unit how many of its values
/// were stuck (a unit is a channel of a convolution's maps, a neuron of a dense layer).
#[derive(Debug, Clone)]
pub struct OutputTally {
    activation: Option<Activation>,
    sum: f64,
    sum_sq: f64,
    min: f32,
    max: f32,
    /// Values added.
    values: u64,
    /// Per unit, its values counted as stuck.
    stuck: Vec<u64>,
}

impl OutputTally {
    /// A tally of a layer with `units` units (channels) whose outputs `activation` made
    /// (`None`: nothing can be stuck).
    pub fn new(units: usize, activation: Option<Activation>) -> Self {
        OutputTally {
            activation,
            sum: 0.0,
            sum_sq: 0.0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            values: 0,
            stuck: vec![0; if activation.is_some() { units } else { 0 }],
        }
    }

    /// Adds a block of outputs: one row per image, each row positions × units values with
    /// the units of a position side by side.
    pub fn add(&mut self, out: ArrayView2<f32>) {
        let units = self.stuck.len();
        for row in out.rows() {
            // Rows of an owned workspace are contiguous; a view that is not goes value by value.
            let owned;
            let row = match row.as_slice() {
                Some(r) => r,
                None => {
                    owned = row.to_vec();
                    &owned
                }
            };
            let (mut sum, mut sum_sq) = (0f64, 0f64);
            for &a in row {
                sum += f64::from(a);
                sum_sq += f64::from(a) * f64::from(a);
                self.min = self.min.min(a);
                self.max = self.max.max(a);
            }
            self.sum += sum;
            self.sum_sq += sum_sq;
            self.values += row.len() as u64;
            if let Some(act) = self.activation.filter(|_| units > 0) {
                for position in row.chunks_exact(units) {
                    for (count, &a) in self.stuck.iter_mut().zip(position) {
                        *count += u64::from(is_stuck(act, a));
                    }
                }
            }
        }
    }

    /// The mean, spread and range of every value added, and the share of units stuck: a ReLU
    /// unit is dead when every one of its values was zero, a tanh or sigmoid unit saturated
    /// when at least [`SATURATED_SHARE`] of its values were.
    pub fn finish(&self) -> OutputSummary {
        let count = self.values.max(1) as f64;
        let mean = self.sum / count;
        let (min, max) = if self.values == 0 {
            (f64::NAN, f64::NAN)
        } else {
            (f64::from(self.min), f64::from(self.max))
        };
        let stuck = match self.activation {
            Some(act) if !self.stuck.is_empty() => {
                let per_unit = self.values / self.stuck.len() as u64;
                let needed = match act {
                    Activation::Relu => per_unit,
                    _ => (SATURATED_SHARE * per_unit as f64).ceil() as u64,
                };
                let units = self
                    .stuck
                    .iter()
                    .filter(|&&c| per_unit > 0 && c >= needed)
                    .count();
                units as f64 / self.stuck.len() as f64
            }
            _ => f64::NAN,
        };
        OutputSummary {
            mean,
            std: (self.sum_sq / count - mean * mean).max(0.0).sqrt(),
            min,
            max,
            stuck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Two positions × two channels: channel 0 is zero everywhere (dead), channel 1 is not.
    #[test]
    fn a_channel_zero_at_every_position_is_dead() {
        let mut t = OutputTally::new(2, Some(Activation::Relu));
        t.add(array![[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 3.0]].view());
        let s = t.finish();
        assert_eq!(s.stuck, 0.5);
        assert_eq!((s.min, s.max), (0.0, 3.0));
        assert!((s.mean - 0.5).abs() < 1e-12);
        // Values 0 ×6, 1, 3: variance (1 + 9)/8 − 0.25.
        assert!((s.std - (10.0f64 / 8.0 - 0.25).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn without_an_activation_nothing_is_judged_and_nothing_added_is_nan() {
        let t = OutputTally::new(3, None);
        let s = t.finish();
        assert!(s.stuck.is_nan() && s.min.is_nan() && s.max.is_nan());
        assert!(value_range(std::iter::empty()).0.is_nan());
        assert_eq!(value_range([2.0f32, -1.0, 0.5].iter()), (-1.0, 2.0));
    }
}
