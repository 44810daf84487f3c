//! What the engine measures: evaluations of a set, per-epoch metrics, histograms, summaries.

use serde::{Deserialize, Serialize};

use super::config::LiveParams;

/// Serde for `f64` values that may be NaN or infinite (a diverged run's costs): JSON has no
/// such numbers, so they are written as the strings `"NaN"`, `"inf"` and `"-inf"` (and
/// `null` is read back as NaN), and every stored metric reads back as it was.
pub mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes finite numbers as numbers and the rest as text.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Number(f64),
        Text(String),
        Null(()),
    }

    /// Reads what [`serialize`] wrote (and `null` as NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Option::<Stored>::deserialize(d)? {
            Some(Stored::Number(v)) => Ok(v),
            Some(Stored::Text(t)) => match t.as_str() {
                "NaN" | "nan" => Ok(f64::NAN),
                "inf" | "+inf" | "infinity" => Ok(f64::INFINITY),
                "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, found \"{other}\""
                ))),
            },
            Some(Stored::Null(())) | None => Ok(f64::NAN),
        }
    }
}

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Training, or stopped without a word (crash, kill).
    #[default]
    Running,
    /// Stopped before its last epoch because another run took its place or the window
    /// closed; it can be continued from the Runs tab.
    Stopped,
    /// All epochs done.
    Finished,
    /// The cost became NaN, infinite or far larger than at the start: training stopped and
    /// the last good weights were kept.
    Diverged,
}

use super::optimizer::OptimizerKind;

/// Result of evaluating the model on one set of images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss over the images.
    #[serde(with = "float")]
    pub loss: f64,
    /// Mean loss + λ Σ‖W‖².
    #[serde(with = "float")]
    pub cost: f64,
    /// Fraction classified correctly.
    #[serde(with = "float")]
    pub accuracy: f64,
    /// Images evaluated.
    pub count: usize,
    /// `classes × classes` counts, row = true class, column = predicted class.
    pub confusion: Vec<u32>,
    /// How much probability the model gave the true class, split by right and wrong.
    pub truth_probability: TruthProbability,
}

/// Bins of [`TruthProbability`] over [0, 1].
pub const TRUTH_BINS: usize = 20;

/// Histograms (over [0, 1], [`TRUTH_BINS`] bins) of the probability the model gives the
/// true class of each image, for correctly and incorrectly classified images. With softmax
/// the probabilities of a row sum to 1; with sigmoids (BCE) each class has its own; the SVM
/// has no probabilities, so its scores go through a softmax for this view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthProbability {
    /// Counts for correctly classified images.
    pub correct: Vec<u32>,
    /// Counts for misclassified images.
    pub wrong: Vec<u32>,
}

impl Default for TruthProbability {
    fn default() -> Self {
        TruthProbability {
            correct: vec![0; TRUTH_BINS],
            wrong: vec![0; TRUTH_BINS],
        }
    }
}

impl TruthProbability {
    /// Counts one image.
    pub fn add(&mut self, probability: f32, correct: bool) {
        let bin = ((probability.clamp(0.0, 1.0) * TRUTH_BINS as f32) as usize).min(TRUTH_BINS - 1);
        let counts = if correct {
            &mut self.correct
        } else {
            &mut self.wrong
        };
        counts[bin] += 1;
    }
    /// Adds another's counts.
    pub fn merge(&mut self, other: &TruthProbability) {
        for (a, b) in self.correct.iter_mut().zip(&other.correct) {
            *a += b;
        }
        for (a, b) in self.wrong.iter_mut().zip(&other.wrong) {
            *a += b;
        }
    }
}

impl Evaluation {
    /// Number of classes of the confusion matrix.
    pub fn classes(&self) -> usize {
        (self.confusion.len() as f64).sqrt().round() as usize
    }

    /// Accuracy on each true class (NaN for a class with no images).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        let k = self.classes();
        (0..k)
            .map(|c| {
                let row = &self.confusion[c * k..(c + 1) * k];
                let total: u32 = row.iter().sum();
                if total == 0 {
                    f64::NAN
                } else {
                    f64::from(row[c]) / f64::from(total)
                }
            })
            .collect()
    }
}

/// A histogram with equal-width bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub min: f64,
    /// Right edge of the last bin.
    pub max: f64,
    /// Count per bin.
    pub counts: Vec<u32>,
}

/// Bins of the histograms of weight and gradient matrices.
pub const MATRIX_BINS: usize = 41;

impl Histogram {
    /// Histogram of the entries of a weight or gradient matrix ([`MATRIX_BINS`] bins,
    /// symmetric around 0).
    pub fn of_matrix(m: &ndarray::Array2<f32>) -> Self {
        Self::symmetric(m.iter().map(|&v| f64::from(v)), MATRIX_BINS)
    }

    /// Histogram of `values` over a range symmetric around 0 that holds them all.
    pub fn symmetric(values: impl Iterator<Item = f64> + Clone, bins: usize) -> Self {
        let extent = values
            .clone()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let mut counts = vec![0u32; bins.max(1)];
        let width = 2.0 * extent / counts.len() as f64;
        for v in values.filter(|v| v.is_finite()) {
            let b = ((v + extent) / width) as usize;
            counts[b.min(bins - 1)] += 1;
        }
        Histogram {
            min: -extent,
            max: extent,
            counts,
        }
    }
    /// Centre of bin `i`.
    pub fn bin_centre(&self, i: usize) -> f64 {
        self.min + (i as f64 + 0.5) * self.bin_width()
    }
    /// Width of each bin.
    pub fn bin_width(&self) -> f64 {
        (self.max - self.min) / self.counts.len().max(1) as f64
    }
}

/// Everything measured at the end of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Training steps done at the end of the epoch (0 in runs saved by older versions).
    #[serde(default)]
    pub step: usize,
    /// Learning rate used by the epoch's last step.
    #[serde(with = "float")]
    pub eta: f64,
    /// λ at the end of the epoch.
    #[serde(with = "float")]
    pub lambda: f64,
    /// Training-set evaluation.
    pub train: Evaluation,
    /// Validation-set evaluation.
    pub val: Evaluation,
    /// Seconds of training steps plus this evaluation.
    #[serde(with = "float")]
    pub seconds: f64,
    /// Gradient histogram of each weight matrix, on one training batch.
    pub gradient_histograms: Vec<Histogram>,
    /// The live hyperparameters in force at the end of the epoch (absent in runs saved by
    /// older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveParams>,
    /// The optimiser in use at the end of the epoch.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Changes of optimiser during the epoch (each restarted the optimiser's state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optimizer_switches: Vec<OptimizerSwitch>,
    /// Health of each layer (hidden layers first, the class-score layer last).
    #[serde(default)]
    pub layers: Vec<LayerStats>,
    /// Training images the epoch used, when it ended before a whole pass because the last
    /// cycle of a cyclic schedule that counts its cycles ended there; absent for a whole pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<usize>,
}

/// A change of optimiser while training, which restarts its state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSwitch {
    /// Training steps taken before the change.
    pub step: usize,
    /// The optimiser before.
    pub from: OptimizerKind,
    /// The optimiser from this step on.
    pub to: OptimizerKind,
}

/// Thresholds of [`LayerStats::stuck`]: a ReLU unit is dead when it is zero on every
/// validation image; a sigmoid or tanh unit is saturated when its derivative is below 5 %
/// of its largest value (|tanh| > 0.975, sigmoid outside 0.013–0.987) on at least 90 % of
/// the validation images.
pub const SATURATED_SLOPE: f64 = 0.05;
/// See [`SATURATED_SLOPE`].
pub const SATURATED_SHARE: f64 = 0.9;

/// How one layer is doing at the end of an epoch. A layer stack has one of these per layer
/// with weights (convolution, patchify, dense), measured after the batch norm and activation
/// that follow it (see [`super::stack_health`]); an MLP one per weight matrix.
///
/// Every number is written with [`float`] so that a NaN (a number that does not apply, or a
/// weight matrix of zeros) survives the round trip; fields added later load as NaN (or 0
/// parameters, empty name) from runs saved before them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// The layer as the stack describes it (`conv 3×3, 64 + relu`); empty for an MLP's
    /// layers, which are named by their number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Mean of the layer's outputs (after the activation; scores for the last layer) over
    /// the validation images.
    #[serde(with = "float")]
    pub mean: f64,
    /// Standard deviation of the same.
    #[serde(with = "float")]
    pub std: f64,
    /// Share of the layer's units that are dead (ReLU) or saturated (sigmoid, tanh); see
    /// [`SATURATED_SLOPE`]. A convolution's unit is a channel: it is dead when it is zero at
    /// every position of every validation image. Zero for the class-score layer; NaN for a
    /// stack's layer that no activation follows.
    #[serde(with = "float")]
    pub stuck: f64,
    /// ‖∂cost/∂W‖ (Frobenius) on the epoch's last mini-batch.
    #[serde(with = "float")]
    pub grad_norm: f64,
    /// ‖ΔW‖/‖W‖ of the step the optimiser takes on that mini-batch.
    #[serde(with = "float")]
    pub update_ratio: f64,
    /// Smallest output over the validation images (as [`Self::mean`]).
    #[serde(default = "nan", with = "float")]
    pub out_min: f64,
    /// Largest output over the validation images.
    #[serde(default = "nan", with = "float")]
    pub out_max: f64,
    /// Smallest entry of ∂cost/∂W on the epoch's last mini-batch.
    #[serde(default = "nan", with = "float")]
    pub grad_min: f64,
    /// Largest entry of ∂cost/∂W on the epoch's last mini-batch.
    #[serde(default = "nan", with = "float")]
    pub grad_max: f64,
    /// Learned parameters: weights and biases (and a stack's batch-norm γ and β when the
    /// row includes them); 0 in runs saved before it was recorded.
    #[serde(default)]
    pub params: usize,
}

/// The value of a number a saved run lacks.
fn nan() -> f64 {
    f64::NAN
}

/// The numbers of a finished run, as written to `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Final training cost.
    #[serde(with = "float")]
    pub train_cost: f64,
    /// Final training accuracy.
    #[serde(with = "float")]
    pub train_acc: f64,
    /// Final validation cost.
    #[serde(with = "float")]
    pub val_cost: f64,
    /// Final validation accuracy.
    #[serde(with = "float")]
    pub val_acc: f64,
    /// Test cost.
    #[serde(with = "float")]
    pub test_cost: f64,
    /// Test accuracy.
    #[serde(with = "float")]
    pub test_acc: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// Wall-clock seconds of training and evaluation.
    #[serde(with = "float")]
    pub seconds: f64,
    /// Median over epochs of the seconds per epoch (steps + per-epoch evaluation).
    #[serde(with = "float")]
    pub epoch_seconds_median: f64,
    /// How the run ended: `finished`, or `diverged` (the numbers are those of the last good
    /// weights).
    #[serde(default = "finished")]
    pub status: RunStatus,
}

fn finished() -> RunStatus {
    RunStatus::Finished
}

/// Median of a list (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_everything_finite() {
        let h = Histogram::symmetric([-1.0, 0.0, 0.5, 1.0, f64::NAN].into_iter(), 4);
        assert_eq!(h.counts, vec![1, 0, 1, 2]);
        assert_eq!((h.min, h.max), (-1.0, 1.0));
        assert_eq!(h.bin_centre(0), -0.75);
    }

    /// A layer's numbers as runs saved them before the ranges, parameter count and name were
    /// recorded (and with a `null` that a NaN ratio was written as then) still load.
    #[test]
    fn old_layer_stats_load_and_new_ones_round_trip() {
        let old: LayerStats = serde_json::from_str(
            r#"{"mean":0.5,"std":1.0,"stuck":0.25,"grad_norm":0.01,"update_ratio":null}"#,
        )
        .unwrap();
        assert_eq!((old.mean, old.std, old.stuck), (0.5, 1.0, 0.25));
        assert!(old.update_ratio.is_nan());
        assert!(old.out_min.is_nan() && old.out_max.is_nan());
        assert!(old.grad_min.is_nan() && old.grad_max.is_nan());
        assert_eq!((old.params, old.name.as_str()), (0, ""));
        let new = LayerStats {
            name: "conv 3×3, 8 + relu".into(),
            stuck: f64::NAN,
            out_min: 0.0,
            out_max: 4.5,
            grad_min: -0.25,
            grad_max: f64::INFINITY,
            params: 224,
            ..old
        };
        let back: LayerStats = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert!(back.stuck.is_nan() && back.update_ratio.is_nan());
        assert_eq!(back.name, new.name);
        assert_eq!((back.out_min, back.out_max), (0.0, 4.5));
        assert_eq!((back.grad_min, back.grad_max), (-0.25, f64::INFINITY));
        assert_eq!(back.params, 224);
    }

    #[test]
    fn non_finite_numbers_survive_json() {
        let m = Summary {
            train_cost: f64::NAN,
            train_acc: 0.1,
            val_cost: f64::INFINITY,
            val_acc: 0.1,
            test_cost: f64::NEG_INFINITY,
            test_acc: 0.1,
            epochs: 3,
            seconds: 1.0,
            epoch_seconds_median: 0.3,
            status: RunStatus::Diverged,
        };
        let json = serde_json::to_string(&m).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert!(back.train_cost.is_nan());
        assert_eq!(back.val_cost, f64::INFINITY);
        assert_eq!(back.test_cost, f64::NEG_INFINITY);
        assert_eq!(back.status, RunStatus::Diverged);
        let old: Summary = serde_json::from_str(
            r#"{"train_cost":null,"train_acc":0.1,"val_cost":1,"val_acc":0.1,"test_cost":1,
            "test_acc":0.1,"epochs":1,"seconds":1,"epoch_seconds_median":1}"#,
        )
        .unwrap();
        assert!(old.train_cost.is_nan());
        assert_eq!(old.status, RunStatus::Finished);
    }

    #[test]
    fn the_rate_is_steady_over_its_window() {
        let mut m = RateMeter::new(2.0);
        assert_eq!(m.rate(), 0.0);
        // Bursts alternating 1,000 and 3,000 images/s: each alone jumps, together 2,000.
        for i in 0..20 {
            let rate = if i % 2 == 0 { 1000.0 } else { 3000.0 };
            m.push(rate * 0.25, 0.25);
        }
        assert!((m.rate() - 2000.0).abs() < 1e-9, "{}", m.rate());
        // Only the last 2 s count: a new speed takes over within the window.
        for _ in 0..8 {
            m.push(500.0 * 0.25, 0.25);
        }
        assert!((m.rate() - 500.0).abs() < 1e-9, "{}", m.rate());
        m.push(0.0, 0.0);
        assert!((m.rate() - 500.0).abs() < 1e-9);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}

/// Training speed over the last few seconds of training: images trained divided by the time
/// the worker spent on them, summed over its recent bursts of steps. Each burst alone is a
/// jumpy figure (a few dozen steps, some with an evaluation in them); pauses count for
/// nothing, as only time spent training is summed.
#[derive(Debug, Clone)]
pub struct RateMeter {
    /// (images, seconds) of each recent burst, oldest first.
    bursts: std::collections::VecDeque<(f64, f64)>,
    /// Seconds of training the figure covers.
    window: f64,
}

impl Default for RateMeter {
    /// Over the last 5 seconds of training.
    fn default() -> Self {
        RateMeter::new(5.0)
    }
}

impl RateMeter {
    /// A meter over the last `window` seconds of training.
    pub fn new(window: f64) -> Self {
        RateMeter {
            bursts: std::collections::VecDeque::new(),
            window,
        }
    }

    /// Adds a burst of `images` trained in `seconds`; bursts of nothing are ignored.
    pub fn push(&mut self, images: f64, seconds: f64) {
        if !(images > 0.0 && seconds > 0.0 && seconds.is_finite()) {
            return;
        }
        self.bursts.push_back((images, seconds));
        // Keep the newest bursts that fill the window (and always the newest one).
        let mut total = 0.0;
        let mut keep = 0;
        for &(_, s) in self.bursts.iter().rev() {
            keep += 1;
            total += s;
            if total >= self.window {
                break;
            }
        }
        let drop = self.bursts.len() - keep;
        self.bursts.drain(..drop);
    }

    /// Images per second over the window; 0 before any burst.
    pub fn rate(&self) -> f64 {
        let (images, seconds) = self
            .bursts
            .iter()
            .fold((0.0, 0.0), |(i, s), &(bi, bs)| (i + bi, s + bs));
        if seconds > 0.0 { images / seconds } else { 0.0 }
    }
}

/// Exponential moving average of the `y` values of `(x, y)` points (`alpha` = weight of the
/// past, 0 keeps the series as it is), with the start-up bias corrected as in Adam so the
/// curve does not start at 0. Non-finite values are skipped.
pub fn smooth(points: impl Iterator<Item = (f64, f64)>, alpha: f64) -> Vec<(f64, f64)> {
    let alpha = alpha.clamp(0.0, 0.9999);
    let mut avg = 0.0;
    let mut weight = 0.0;
    let mut out = Vec::new();
    for (x, y) in points {
        if !y.is_finite() {
            continue;
        }
        avg = alpha * avg + (1.0 - alpha) * y;
        weight = alpha * weight + (1.0 - alpha);
        out.push((x, avg / weight));
    }
    out
}

#[cfg(test)]
mod smooth_tests {
    use super::smooth;

    #[test]
    fn smoothing_a_constant_keeps_it_and_zero_alpha_is_identity() {
        let pts = [(0.0, 2.0), (1.0, 2.0), (2.0, f64::NAN), (3.0, 2.0)];
        assert_eq!(
            smooth(pts.into_iter(), 0.9),
            vec![(0.0, 2.0), (1.0, 2.0), (3.0, 2.0)]
        );
        let pts = [(0.0, 1.0), (1.0, 5.0)];
        assert_eq!(smooth(pts.into_iter(), 0.0), pts.to_vec());
    }
}
