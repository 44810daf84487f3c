//! The L1 penalty λ₁·Σ|W| over the weight matrices (not the biases, nor batch norm's γ and
//! β), as TensorFlow Playground offers it beside L2: its value for the cost, and its
//! (sub)gradient λ₁·sign(W) added to gradients the backward pass stored.

use super::Real;
use super::network::{Layer, Network};

/// Σ|W| over the weight matrices.
pub fn weight_abs_sum<F: Real>(net: &Network<F>) -> f64 {
    net.layers
        .iter()
        .map(|l| {
            l.weights
                .iter()
                .map(|&w| w.abs().to_f64().unwrap_or(f64::NAN))
                .sum::<f64>()
        })
        .sum()
}

/// Adds λ₁·sign(W) to each layer's weight gradient in `grads` (same shapes as `net`'s
/// layers). sign(0) = 0: at an exact zero the subgradient that keeps the weight there.
pub fn add_gradient<F: Real>(net: &Network<F>, grads: &mut [Layer<F>], l1: F) {
    for (layer, g) in net.layers.iter().zip(grads.iter_mut()) {
        g.weights.zip_mut_with(&layer.weights, |g, &w| {
            if w > F::zero() {
                *g = *g + l1;
            } else if w < F::zero() {
                *g = *g - l1;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gradcheck::{analytic_gradients, relative_error};
    use crate::model::{Activation, InitKind, LossKind, Workspace};
    use ndarray::Array2;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    /// mean loss + λ‖W‖² + λ₁Σ|W|, the cost the L1 gradient belongs to.
    fn cost(net: &Network<f64>, x: &Array2<f64>, labels: &[u8], lambda: f64, l1: f64) -> f64 {
        let mut ws = Workspace::new(net, x.nrows());
        net.batch_cost(x.view(), labels, LossKind::Ce, lambda, &mut ws) + l1 * weight_abs_sum(net)
    }

    #[test]
    fn l1_gradient_matches_finite_differences() {
        let mut rng = SmallRng::seed_from_u64(11);
        let net = Network::<f64>::new(
            3,
            &[5, 4],
            3,
            Activation::Tanh,
            InitKind::Xavier,
            0.0,
            &mut rng,
        );
        let x = Array2::from_shape_fn((6, 3), |_| rng.random_range(-1.0..1.0));
        let labels = [0u8, 1, 2, 1, 0, 2];
        let (lambda, l1) = (0.01, 0.05);
        let mut grads = analytic_gradients(&net, x.view(), &labels, LossKind::Ce, lambda);
        add_gradient(&net, &mut grads, l1);
        let h = 1e-6;
        let mut checked = 0;
        let mut worst: f64 = 0.0;
        for (l, grad) in grads.iter().enumerate() {
            let (rows, cols) = net.layers[l].weights.dim();
            for i in 0..rows {
                for j in 0..cols {
                    let w = net.layers[l].weights[[i, j]];
                    // |w| has a kink at 0: a difference straddling it measures no slope.
                    if w.abs() < 100.0 * h {
                        continue;
                    }
                    let mut plus = net.clone();
                    plus.layers[l].weights[[i, j]] = w + h;
                    let mut minus = net.clone();
                    minus.layers[l].weights[[i, j]] = w - h;
                    let numeric = (cost(&plus, &x, &labels, lambda, l1)
                        - cost(&minus, &x, &labels, lambda, l1))
                        / (2.0 * h);
                    let analytic = grad.weights[[i, j]];
                    worst = worst.max(relative_error(analytic, numeric, 1e-8));
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "only {checked} weights away from 0");
        assert!(worst < 1e-6, "largest relative error {worst}");
        // And the term is really there: without it the gradients differ by λ₁ sign(W).
        let plain = analytic_gradients(&net, x.view(), &labels, LossKind::Ce, lambda);
        let w = net.layers[0].weights[[0, 0]];
        let diff = grads[0].weights[[0, 0]] - plain[0].weights[[0, 0]];
        assert!((diff - l1 * w.signum()).abs() < 1e-12, "{diff}");
    }

    #[test]
    fn abs_sum_counts_weights_not_biases() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut net = Network::<f64>::new(
            2,
            &[],
            2,
            Activation::Relu,
            InitKind::Gaussian,
            0.1,
            &mut rng,
        );
        net.layers[0].weights = Array2::from_shape_vec((2, 2), vec![1.0, -2.0, 0.5, 0.0])
            .expect("four values make 2 × 2");
        net.layers[0].bias.fill(7.0);
        assert_eq!(weight_abs_sum(&net), 3.5);
    }
}
