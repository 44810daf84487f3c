//! Numerical gradient check: centred differences against the analytic gradients.

use ndarray::ArrayView2;

use super::network::{GradientUse, Network, Workspace};
use super::{LossKind, Real};

/// Largest and mean relative error of one parameter array.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCheck {
    /// E.g. `W1`, `b2` (layers counted from 1).
    pub name: String,
    /// Number of entries compared.
    pub count: usize,
    /// max over entries of |g_a − g_n| / max(eps, |g_a| + |g_n|).
    pub max_rel_error: f64,
    /// Mean of the same quantity.
    pub mean_rel_error: f64,
}

/// The `idx`-th entry of parameter array `which` (see [`crate::model::Layer::params`]) of
/// layer `layer`.
fn param_mut<F: Real>(net: &mut Network<F>, layer: usize, which: usize, idx: usize) -> &mut F {
    net.layers[layer]
        .params_mut()
        .swap_remove(which)
        .get_mut(idx)
        .expect("index within the parameter array")
}

/// Relative error as the course defines it; `eps` keeps 0/0 at 0.
pub fn relative_error(analytic: f64, numeric: f64, eps: f64) -> f64 {
    (analytic - numeric).abs() / eps.max(analytic.abs() + numeric.abs())
}

/// Compares analytic gradients of `cost = mean loss + λ Σ‖W‖²` on (`x`, `labels`) with
/// centred differences of step `h` (1e-4 suits f64), for every parameter of `net` (batch
/// norm's γ and β included; its statistics are those of `x`, as in training).
pub fn check<F: Real>(
    net: &Network<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: LossKind,
    lambda: f64,
    h: f64,
) -> Vec<ParamCheck> {
    // Round-off of the cost (≈1e-16 · cost, cost up to ~10 for the hinge loss) divided by 2h
    // puts a floor of ≈1e-11 under any numerical gradient. With this floor a gradient that is
    // zero up to round-off passes (absolute error < 1e-10 for a 1e-6 tolerance), while
    // every gradient above 1e-4 is held to the full relative tolerance.
    const EPS: f64 = 1e-4;
    let mut ws = Workspace::new(net, x.nrows());
    let mut analytic = Vec::new();
    let mut scratch = net.clone();
    scratch.loss_and_backward(
        x,
        labels,
        loss,
        &mut ws,
        Some(GradientUse::Store {
            lambda: F::of(lambda),
            out: &mut analytic,
        }),
    );
    let mut probe = net.clone();
    let mut numeric_at = |probe: &mut Network<F>, layer: usize, which: usize, idx: usize| {
        let orig = *param_mut(probe, layer, which, idx);
        *param_mut(probe, layer, which, idx) = orig + F::of(h);
        let plus = probe.batch_cost(x, labels, loss, lambda, &mut ws);
        *param_mut(probe, layer, which, idx) = orig - F::of(h);
        let minus = probe.batch_cost(x, labels, loss, lambda, &mut ws);
        *param_mut(probe, layer, which, idx) = orig;
        (plus - minus) / (2.0 * h)
    };
    let mut results = Vec::new();
    for (l, grad) in analytic.iter().enumerate() {
        for (which, values) in grad.params().into_iter().enumerate() {
            let values: Vec<F> = values.to_vec();
            let mut max = 0.0f64;
            let mut sum = 0.0f64;
            for (idx, &ga) in values.iter().enumerate() {
                let gn = numeric_at(&mut probe, l, which, idx);
                let e = relative_error(ga.to_f64().unwrap_or(f64::NAN), gn, EPS);
                max = max.max(e);
                sum += e;
            }
            results.push(ParamCheck {
                name: format!("{}{}", grad.param_names()[which], l + 1),
                count: values.len(),
                max_rel_error: max,
                mean_rel_error: sum / values.len().max(1) as f64,
            });
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, InitKind};
    use ndarray::Array2;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    /// Every loss × model kind, in f64, on a small random problem.
    #[test]
    fn analytic_gradients_match_numerical_ones() {
        let mut rng = SmallRng::seed_from_u64(7);
        let (n, d, k) = (6, 12, 5);
        let x = Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0..1.0f64));
        let labels: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
        let models: [(&[usize], Activation); 5] = [
            (&[], Activation::Relu),
            (&[8], Activation::Relu),
            (&[8], Activation::Tanh),
            (&[8], Activation::Sigmoid),
            (&[7, 6], Activation::Tanh),
        ];
        for (hidden, act) in models {
            for loss in LossKind::ALL {
                let net = Network::<f64>::new(d, hidden, k, act, InitKind::Xavier, 0.0, &mut rng);
                let report = check(&net, x.view(), &labels, loss, 0.1, 1e-4);
                assert_eq!(report.len(), 2 * (hidden.len() + 1));
                for p in &report {
                    assert!(
                        p.max_rel_error < 1e-6,
                        "{loss:?} hidden {hidden:?} {act:?}: {} max rel error {}",
                        p.name,
                        p.max_rel_error
                    );
                }
            }
        }
    }

    /// Batch norm after every hidden layer, with γ and β away from 1 and 0, at depths 2 and
    /// 3 and with every activation and loss.
    #[test]
    fn batch_norm_gradients_match_numerical_ones() {
        // Batch norm curves the cost more sharply in W than a plain layer does, so the
        // centred differences' O(h²) error needs h = 1e-5 to stay under 1e-6 here.
        let mut rng = SmallRng::seed_from_u64(12);
        let (n, d, k) = (8, 10, 4);
        let x = Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0..1.0f64));
        let labels: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
        let models: [(&[usize], Activation); 4] = [
            (&[6], Activation::Relu),
            (&[6, 5], Activation::Relu),
            (&[6, 5], Activation::Tanh),
            (&[6], Activation::Sigmoid),
        ];
        for (hidden, act) in models {
            for loss in LossKind::ALL {
                let mut net = Network::<f64>::new(d, hidden, k, act, InitKind::He, 0.0, &mut rng)
                    .with_batch_norm(true);
                for layer in &mut net.layers {
                    if let Some(bn) = &mut layer.bn {
                        bn.gamma.mapv_inplace(|_| rng.random_range(0.5..1.5));
                        bn.beta.mapv_inplace(|_| rng.random_range(-0.5..0.5));
                    }
                }
                let report = check(&net, x.view(), &labels, loss, 0.1, 1e-5);
                assert_eq!(report.len(), 3 * hidden.len() + 2);
                assert!(report.iter().any(|p| p.name == "γ1"));
                for p in &report {
                    assert!(
                        p.max_rel_error < 1e-6,
                        "batch norm {loss:?} hidden {hidden:?} {act:?}: {} max rel error {}",
                        p.name,
                        p.max_rel_error
                    );
                }
            }
        }
    }

    /// A wrong gradient must be caught: the check is not vacuous.
    #[test]
    fn detects_a_wrong_gradient() {
        assert!(relative_error(1.0, 1.001, 1e-10) > 1e-6);
        assert_eq!(relative_error(0.0, 0.0, 1e-10), 0.0);
    }
}
