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

/// A loss as training minimises it: its kind and the label smoothing of its targets.
///
/// With smoothing ε the target of a row is 1−ε for the true class and ε/(K−1) for each of
/// the other K−1 classes. Softmax cross-entropy compares the softmax with that distribution
/// (`−Σⱼ tⱼ log pⱼ`); BCE gives each class's sigmoid its target `tⱼ` instead of 1 or 0; the
/// SVM's hinge has no targets to smooth, so settings refuse ε > 0 with it (see
/// [`crate::train::TrainConfig::validate`]), and here it ignores ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loss {
    /// Which loss.
    pub kind: LossKind,
    /// Label smoothing ε, 0 ≤ ε < 1 (0: one-hot targets).
    pub smoothing: f64,
}

impl From<LossKind> for Loss {
    /// The loss with one-hot targets (no smoothing).
    fn from(kind: LossKind) -> Self {
        Loss {
            kind,
            smoothing: 0.0,
        }
    }
}

impl Loss {
    /// The targets of one row with `k` classes: (true class, every other class). One class
    /// alone cannot share its mass, so it keeps 1.
    fn targets(&self, k: usize) -> (f64, f64) {
        if self.smoothing > 0.0 && k > 1 {
            (1.0 - self.smoothing, self.smoothing / (k - 1) as f64)
        } else {
            (1.0, 0.0)
        }
    }
}

/// Numerically stable `ln(1 + e^z)`.
fn softplus<F: Real>(z: F) -> F {
    z.max(F::zero()) + (-z.abs()).exp().ln_1p()
}

/// Computes the loss of each row of `scores` (one row per example) against `labels`, writes
/// the predicted class of each row into `predictions`, and when `grad` is given writes
/// `grad_scale · ∂loss/∂scores` into it. Returns the sum of the rows' losses (in `f64`).
/// `loss` is a [`LossKind`] (one-hot targets) or a [`Loss`] with label smoothing.
pub fn loss_rows<F: Real>(
    loss: impl Into<Loss>,
    scores: ArrayView2<F>,
    labels: &[u8],
    predictions: &mut [u8],
    mut grad: Option<ArrayViewMut2<F>>,
    grad_scale: F,
) -> f64 {
    let loss = loss.into();
    let kind = loss.kind;
    let k = scores.ncols();
    let kf = F::of(k as f64);
    let (t_true, t_other) = loss.targets(k);
    let smooth = t_other > 0.0;
    let (t_true, t_other) = (F::of(t_true), F::of(t_other));
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
                if smooth {
                    // −Σⱼ tⱼ (sⱼ − lse) = lse − Σⱼ tⱼ sⱼ (the targets sum to 1); the gradient
                    // is p − t.
                    if let Some(g) = g_row.as_mut() {
                        for (j, (gj, &s)) in g.iter_mut().zip(row.iter()).enumerate() {
                            let t = if j == y { t_true } else { t_other };
                            *gj = ((s - lse).exp() - t) * grad_scale;
                        }
                    }
                    let mut l = lse;
                    for (j, &s) in row.iter().enumerate() {
                        let t = if j == y { t_true } else { t_other };
                        l = l - t * s;
                    }
                    l
                } else {
                    if let Some(g) = g_row.as_mut() {
                        for (gj, &s) in g.iter_mut().zip(row.iter()) {
                            *gj = (s - lse).exp() * grad_scale;
                        }
                        g[y] = g[y] - grad_scale;
                    }
                    lse - row[y]
                }
            }
            LossKind::Bce => {
                let mut l = F::zero();
                for (j, &s) in row.iter().enumerate() {
                    let target = if j == y { t_true } else { t_other };
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

    /// Label smoothing by hand: scores (0, ln 2, 0), label 1, K = 3, ε = 0.3. The softmax is
    /// (1/4, 1/2, 1/4) and the targets (0.15, 0.7, 0.15): the loss is
    /// −(0.15 ln ¼ + 0.7 ln ½ + 0.15 ln ¼) = 0.3 ln 4 + 0.7 ln 2 = 1.3 ln 2, the gradient p − t.
    #[test]
    fn smoothed_cross_entropy_by_hand() {
        let s = array![[0.0f64, 2f64.ln(), 0.0]];
        let mut pred = [0u8; 1];
        let mut g = Array2::<f64>::zeros((1, 3));
        let smoothed = Loss {
            kind: LossKind::Ce,
            smoothing: 0.3,
        };
        let l = loss_rows(smoothed, s.view(), &[1], &mut pred, Some(g.view_mut()), 1.0);
        assert!((l - 1.3 * 2f64.ln()).abs() < 1e-12, "{l}");
        for (got, want) in g.iter().zip([0.25 - 0.15, 0.5 - 0.7, 0.25 - 0.15]) {
            assert!((got - want).abs() < 1e-12, "{g}");
        }
        assert_eq!(pred, [1]);
        // ε = 0 is the plain loss, bit for bit.
        let mut g0 = Array2::<f64>::zeros((1, 3));
        let plain = Loss {
            kind: LossKind::Ce,
            smoothing: 0.0,
        };
        let l0 = loss_rows(plain, s.view(), &[1], &mut pred, Some(g0.view_mut()), 1.0);
        let mut g1 = Array2::<f64>::zeros((1, 3));
        let l1 = loss_rows(
            LossKind::Ce,
            s.view(),
            &[1],
            &mut pred,
            Some(g1.view_mut()),
            1.0,
        );
        assert_eq!((l0, &g0), (l1, &g1));
    }

    /// Smoothed BCE by hand: scores 0 (every sigmoid ½), K = 2, ε = 0.2: targets 0.8 and
    /// 0.2; the loss per class is ln 2 whatever the target (softplus(0) − t·0), the
    /// gradient (½ − t)/K.
    #[test]
    fn smoothed_bce_by_hand() {
        let s = array![[0.0f64, 0.0]];
        let mut pred = [0u8; 1];
        let mut g = Array2::<f64>::zeros((1, 2));
        let loss = Loss {
            kind: LossKind::Bce,
            smoothing: 0.2,
        };
        let l = loss_rows(loss, s.view(), &[0], &mut pred, Some(g.view_mut()), 1.0);
        assert!((l - 2f64.ln()).abs() < 1e-12);
        assert!((g[[0, 0]] - (0.5 - 0.8) / 2.0).abs() < 1e-12, "{g}");
        assert!((g[[0, 1]] - (0.5 - 0.2) / 2.0).abs() < 1e-12, "{g}");
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
