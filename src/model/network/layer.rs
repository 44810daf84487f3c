//! One dense layer: its weights, biases and batch-norm parameters, the activation after it
//! and how its weights are initialised.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::model::Real;

/// Non-linearity after each hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, z)
    #[default]
    Relu,
    /// tanh(z)
    Tanh,
    /// 1 / (1 + e^−z)
    Sigmoid,
}

impl Activation {
    /// All activations, in menu order.
    pub const ALL: [Activation; 3] = [Activation::Relu, Activation::Tanh, Activation::Sigmoid];

    pub(super) fn apply<F: Real>(self, z: F) -> F {
        match self {
            Activation::Relu => z.max(F::zero()),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => F::one() / (F::one() + (-z).exp()),
        }
    }
    /// The derivative, written in terms of the activation's output `a`.
    pub(super) fn derivative_from_output<F: Real>(self, a: F) -> F {
        match self {
            Activation::Relu => {
                if a > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Activation::Tanh => F::one() - a * a,
            Activation::Sigmoid => a * (F::one() - a),
        }
    }
}

/// How weights are initialised (biases start at zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    /// Gaussian with a fixed σ (default 0.01).
    #[default]
    Gaussian,
    /// Gaussian with σ = 1/√d_in.
    Xavier,
    /// Gaussian with σ = √(2/d_in).
    He,
}

impl InitKind {
    /// All kinds, in menu order.
    pub const ALL: [InitKind; 3] = [InitKind::Gaussian, InitKind::Xavier, InitKind::He];

    /// σ for a layer with `fan_in` inputs.
    pub fn sigma(self, fan_in: usize, gaussian_sigma: f64) -> f64 {
        match self {
            InitKind::Gaussian => gaussian_sigma,
            InitKind::Xavier => 1.0 / (fan_in as f64).sqrt(),
            InitKind::He => (2.0 / fan_in as f64).sqrt(),
        }
    }
}

/// Factor of the running averages batch normalisation keeps for evaluation: after every
/// training step, `running ← 0.99 · running + 0.01 · (this batch's mean or variance)`, so
/// the averages follow the last ~100 mini-batches (0.9, the other common choice, follows
/// ~10 and cost 0.2 points of test accuracy in the course's 2-layer setting: noisier
/// estimates).
pub const BN_AVERAGING: f64 = 0.99;
/// Added to the variance before the square root. Small, so that a layer whose inputs are tiny
/// (σ = 1e-4 initialisation) is still normalised to unit spread rather than squashed.
pub const BN_EPS: f64 = 1e-8;

/// Batch normalisation of a layer's linear part: `ŝ = (s − μ)/√(σ² + ε)`, then `γ ŝ + β`.
/// Training uses the mini-batch's μ and σ²; evaluation uses the running averages.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm<F> {
    /// Learned scale γ, one per unit.
    pub gamma: Array1<F>,
    /// Learned shift β, one per unit.
    pub beta: Array1<F>,
    /// Running average of the batch means (see [`BN_AVERAGING`]).
    pub mean: Array1<F>,
    /// Running average of the batch variances.
    pub var: Array1<F>,
}

impl<F: Real> BatchNorm<F> {
    /// γ = 1, β = 0, running mean 0 and variance 1, for `units` units.
    pub fn new(units: usize) -> Self {
        BatchNorm {
            gamma: Array1::ones(units),
            beta: Array1::zeros(units),
            mean: Array1::zeros(units),
            var: Array1::ones(units),
        }
    }
}

/// One dense layer `a ↦ a·Wᵀ + b`, `W` with one row per output unit, optionally followed by
/// batch normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<F> {
    /// Shape `outputs × inputs`; for the last layer, row k is class k's template.
    pub weights: Array2<F>,
    /// One bias per output unit.
    pub bias: Array1<F>,
    /// Batch normalisation after the linear part (hidden layers only).
    pub bn: Option<BatchNorm<F>>,
}

impl<F: Real> Layer<F> {
    /// The learned parameters as flat slices: weights and bias, or under batch norm weights,
    /// γ and β (the bias stays 0 there: the batch mean would cancel it and β takes its
    /// place; the running averages are not learned either). Names in [`Self::param_names`].
    pub fn params(&self) -> Vec<&[F]> {
        let w = self
            .weights
            .as_slice()
            .expect("owned weights are contiguous");
        match &self.bn {
            None => vec![
                w,
                self.bias.as_slice().expect("owned biases are contiguous"),
            ],
            Some(bn) => vec![
                w,
                bn.gamma.as_slice().expect("owned arrays are contiguous"),
                bn.beta.as_slice().expect("owned arrays are contiguous"),
            ],
        }
    }
    /// [`Self::params`], writable.
    pub fn params_mut(&mut self) -> Vec<&mut [F]> {
        let w = self
            .weights
            .as_slice_mut()
            .expect("owned weights are contiguous");
        match &mut self.bn {
            None => vec![
                w,
                self.bias
                    .as_slice_mut()
                    .expect("owned biases are contiguous"),
            ],
            Some(bn) => vec![
                w,
                bn.gamma
                    .as_slice_mut()
                    .expect("owned arrays are contiguous"),
                bn.beta.as_slice_mut().expect("owned arrays are contiguous"),
            ],
        }
    }
    /// Short names of [`Self::params`]: "W", "b" or "W", "γ", "β".
    pub fn param_names(&self) -> &'static [&'static str] {
        if self.bn.is_some() {
            &["W", "γ", "β"]
        } else {
            &["W", "b"]
        }
    }
}
