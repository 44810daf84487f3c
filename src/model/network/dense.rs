//! The dense network itself: its construction and what it reports about itself (sizes,
//! cost of an epoch, weight norm), and a copy in another float type.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::layer::{Activation, BatchNorm, InitKind, Layer};
use crate::model::Real;

/// A stack of dense layers with `activation` between them; one layer is a linear classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<F> {
    /// Input layer first, class-score layer last.
    pub layers: Vec<Layer<F>>,
    /// Applied to every layer's output but the last.
    pub activation: Activation,
}

impl<F: Real> Network<F> {
    /// A freshly initialised network: `input_dim` inputs, the given hidden widths, `classes`
    /// outputs.
    pub fn new(
        input_dim: usize,
        hidden: &[usize],
        classes: usize,
        activation: Activation,
        init: InitKind,
        gaussian_sigma: f64,
        rng: &mut impl Rng,
    ) -> Self {
        let mut widths = vec![input_dim];
        widths.extend_from_slice(hidden);
        widths.push(classes);
        let layers = widths
            .windows(2)
            .map(|w| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let sigma = init.sigma(fan_in, gaussian_sigma);
                let normal = Normal::new(0.0, sigma.max(0.0)).unwrap_or_else(|_| {
                    Normal::new(0.0, 0.01).expect("0.01 is a valid standard deviation")
                });
                Layer {
                    weights: Array2::from_shape_simple_fn((fan_out, fan_in), || {
                        F::of(normal.sample(rng))
                    }),
                    bias: Array1::zeros(fan_out),
                    bn: None,
                }
            })
            .collect();
        Network { layers, activation }
    }

    /// This network with batch normalisation after every hidden layer's linear part (γ = 1,
    /// β = 0); `false` removes it.
    pub fn with_batch_norm(mut self, on: bool) -> Self {
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter_mut().enumerate() {
            layer.bn = (on && l < last).then(|| BatchNorm::new(layer.weights.nrows()));
        }
        self
    }

    /// True when the hidden layers are batch-normalised.
    pub fn has_batch_norm(&self) -> bool {
        self.layers.iter().any(|l| l.bn.is_some())
    }

    /// Number of inputs.
    pub fn input_dim(&self) -> usize {
        self.layers[0].weights.ncols()
    }
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.layers[self.layers.len() - 1].weights.nrows()
    }
    /// Hidden-layer widths.
    pub fn hidden(&self) -> Vec<usize> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .map(|l| l.weights.nrows())
            .collect()
    }
    /// Multiply-adds of one epoch: a training step's forward pass, weight gradients and
    /// (above the first layer) input gradients for each of `trained` images, then a forward
    /// pass for each of `evaluated` images (the per-epoch evaluation). Batch norm, the loss
    /// and the optimiser's element-wise work are left out: they are small beside these.
    pub fn multiply_adds_per_epoch(&self, trained: usize, evaluated: usize) -> f64 {
        let per_image: Vec<f64> = self
            .layers
            .iter()
            .map(|l| (l.weights.nrows() * l.weights.ncols()) as f64)
            .collect();
        let forward: f64 = per_image.iter().sum();
        let input_gradients: f64 = per_image.iter().skip(1).sum();
        trained as f64 * (2.0 * forward + input_gradients) + evaluated as f64 * forward
    }

    /// Σ‖W‖² over the weight matrices (not the biases, nor batch norm's γ and β).
    pub fn weight_norm_sq(&self) -> f64 {
        self.layers
            .iter()
            .map(|l| {
                l.weights
                    .iter()
                    .map(|&w| (w * w).to_f64().unwrap_or(f64::NAN))
                    .sum::<f64>()
            })
            .sum()
    }
    /// True when every parameter (and running average) is finite.
    pub fn is_finite(&self) -> bool {
        self.layers.iter().all(|l| {
            let bn_ok =
                l.bn.as_ref()
                    .is_none_or(|bn| bn.mean.iter().chain(bn.var.iter()).all(|v| v.is_finite()));
            bn_ok && l.params().iter().all(|p| p.iter().all(|v| v.is_finite()))
        })
    }

    /// Converts every parameter to another float type.
    pub fn cast<G: Real>(&self) -> Network<G> {
        let conv = |v: &F| G::of(v.to_f64().unwrap_or(f64::NAN));
        Network {
            layers: self
                .layers
                .iter()
                .map(|l| Layer {
                    weights: l.weights.map(conv),
                    bias: l.bias.map(conv),
                    bn: l.bn.as_ref().map(|bn| BatchNorm {
                        gamma: bn.gamma.map(conv),
                        beta: bn.beta.map(conv),
                        mean: bn.mean.map(conv),
                        var: bn.var.map(conv),
                    }),
                })
                .collect(),
            activation: self.activation,
        }
    }
}
