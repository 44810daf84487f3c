//! The sums an evaluation adds up over a part of a set, and the [`Evaluation`] the parts make
//! together: one rule for the MLP's evaluation ([`super::trainer::evaluate_set`]) and the
//! ConvNet's ([`super::stack_eval::evaluate_stack`]), so records, plots and reports read both
//! alike.

use super::metrics::{Evaluation, TruthProbability};

/// What one part of an evaluation adds up.
pub(super) struct EvalPart {
    /// Sum of the images' losses.
    pub(super) loss_sum: f64,
    /// `classes × classes` counts, row = true class, column = predicted class.
    pub(super) confusion: Vec<u32>,
    /// The probabilities given to the true class.
    pub(super) truth: TruthProbability,
}

/// The evaluation of `n` images over `classes` classes that `parts` summed up, its cost
/// `lambda · weight_norm_sq` above the mean loss.
pub(super) fn evaluation(
    parts: impl IntoIterator<Item = EvalPart>,
    n: usize,
    classes: usize,
    lambda: f64,
    weight_norm_sq: f64,
) -> Evaluation {
    let mut confusion = vec![0u32; classes * classes];
    let mut truth_probability = TruthProbability::default();
    let mut loss_sum = 0.0;
    for part in parts {
        loss_sum += part.loss_sum;
        for (a, b) in confusion.iter_mut().zip(part.confusion) {
            *a += b;
        }
        truth_probability.merge(&part.truth);
    }
    let correct: u64 = (0..classes)
        .map(|k| u64::from(confusion[k * classes + k]))
        .sum();
    let count = n.max(1) as f64;
    let mean_loss = loss_sum / count;
    Evaluation {
        loss: mean_loss,
        cost: mean_loss + lambda * weight_norm_sq,
        accuracy: correct as f64 / count,
        count: n,
        confusion,
        truth_probability,
    }
}
