//! Losses on class scores, their gradients, and the predicted class, row by row.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use serde::{Deserialize, Serialize};

use super::Real;

/// Which loss the classifier minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Softmax cross-entropy.
    #[default]
    Ce,
    /// Multiple binary cross-entropy: an independent sigmoid per class, averaged over classes.
    Bce,
    /// Multiclass SVM hinge loss with margin 1.
    Svm,
}

impl LossKind {
    /// All kinds, in menu order.
    pub const ALL: [LossKind; 3] = [LossKind::Ce, LossKind::Bce, LossKind::Svm];
}

/// Numerically stable `ln(1 + e^z)`.
fn softplus<F: Real>(z: F) -> F {
    z.max(F::zero()) + (-z.abs()).exp().ln_1p()
}

/// Computes the loss of each row of `scores` (one row per example) against `labels`, writes
/// the predicted class of each row into `predictions`, and when `grad` is given writes
/// `grad_scale · ∂loss/∂scores` into it. Returns the sum of the rows' losses (in `f64`).
pub fn loss_rows<F: Real>(
    kind: LossKind,
    scores: ArrayView2<F>,
    labels: &[u8],
    predictions: &mut [u8],
    mut grad: Option<ArrayViewMut2<F>>,
    grad_scale: F,
) -> f64 {
    let k = scores.ncols();
    let kf = F::of(k as f64);
    let mut total = 0.0f64;
    for (i, row) in scores.axis_iter(Axis(0)).enumerate() {
        let y = usize::from(labels[i]);
        let mut best = 0;
        let mut max = row[0];
        for (j, &s) in row.iter().enumerate() {
            if s > max {
                max = s;
                best = j;
            }
        }
        predictions[i] = best as u8;
        let mut g_row = grad.as_mut().map(|g| g.index_axis_mut(Axis(0), i));
        let loss = match kind {
            LossKind::Ce => {
                let sum_exp: F = row.iter().map(|&s| (s - max).exp()).sum();
                let lse = max + sum_exp.ln();
                if let Some(g) = g_row.as_mut() {
                    for (gj, &s) in g.iter_mut().zip(row.iter()) {
                        *gj = (s - lse).exp() * grad_scale;
                    }
                    g[y] = g[y] - grad_scale;
                }
                lse - row[y]
            }
            LossKind::Bce => {
                let mut l = F::zero();
                for (j, &s) in row.iter().enumerate() {
                    let target = if j == y { F::one() } else { F::zero() };
                    l = l + softplus(s) - target * s;
                    if let Some(g) = g_row.as_mut() {
                        let p = F::one() / (F::one() + (-s).exp());
                        g[j] = (p - target) / kf * grad_scale;
                    }
                }
                l / kf
            }
            LossKind::Svm => {
                let sy = row[y];
                let mut l = F::zero();
                let mut violations = F::zero();
                for (j, &s) in row.iter().enumerate() {
                    let margin = s - sy + F::one();
                    let active = j != y && margin > F::zero();
                    if active {
                        l = l + margin;
                        violations = violations + F::one();
                    }
                    if let Some(g) = g_row.as_mut() {
                        g[j] = if active { grad_scale } else { F::zero() };
                    }
                }
                if let Some(g) = g_row.as_mut() {
                    g[y] = -violations * grad_scale;
                }
                l
            }
        };
        total += loss.to_f64().unwrap_or(f64::NAN);
    }
    total
}

/// Probabilities the loss's own link function gives each class for one row of scores:
/// softmax for cross-entropy and the SVM (as a read-out), per-class sigmoids for BCE.
pub fn probabilities(kind: LossKind, row: &[f32], out: &mut [f32]) {
    match kind {
        LossKind::Bce => {
            for (o, &s) in out.iter_mut().zip(row) {
                *o = 1.0 / (1.0 + (-s).exp());
            }
        }
        LossKind::Ce | LossKind::Svm => {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for (o, &s) in out.iter_mut().zip(row) {
                *o = (s - max).exp();
                sum += *o;
            }
            for o in out.iter_mut() {
                *o /= sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn cross_entropy_of_uniform_scores_is_ln_k() {
        let s = Array2::<f64>::zeros((2, 10));
        let mut pred = [0u8; 2];
        let l = loss_rows(LossKind::Ce, s.view(), &[3, 4], &mut pred, None, 1.0);
        assert!((l / 2.0 - 10f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn huge_logits_stay_finite() {
        let s = array![[1e4f32, -1e4, 0.0], [-3e4, 3e4, 1.0]];
        let mut pred = [0u8; 2];
        let mut g = Array2::<f32>::zeros((2, 3));
        for kind in LossKind::ALL {
            let l = loss_rows(kind, s.view(), &[1, 0], &mut pred, Some(g.view_mut()), 1.0);
            assert!(l.is_finite(), "{kind:?}: {l}");
            assert!(g.iter().all(|v| v.is_finite()), "{kind:?}: {g}");
        }
        assert_eq!(pred, [0, 1]);
    }

    #[test]
    fn svm_by_hand() {
        // scores 3, 1, 2.5 with label 1: margins 3-1+1=3 and 2.5-1+1=2.5.
        let s = array![[3.0f64, 1.0, 2.5]];
        let mut pred = [0u8; 1];
        let mut g = Array2::<f64>::zeros((1, 3));
        let l = loss_rows(
            LossKind::Svm,
            s.view(),
            &[1],
            &mut pred,
            Some(g.view_mut()),
            1.0,
        );
        assert_eq!(l, 5.5);
        assert_eq!(g, array![[1.0, -2.0, 1.0]]);
    }

    #[test]
    fn bce_by_hand() {
        let s = array![[0.0f64, 0.0]];
        let mut pred = [0u8; 1];
        let mut g = Array2::<f64>::zeros((1, 2));
        let l = loss_rows(
            LossKind::Bce,
            s.view(),
            &[0],
            &mut pred,
            Some(g.view_mut()),
            1.0,
        );
        assert!((l - 2f64.ln()).abs() < 1e-12);
        assert_eq!(g, array![[-0.25, 0.25]]);
    }
}
