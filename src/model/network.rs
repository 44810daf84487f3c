//! Dense layers stacked into a linear classifier (no hidden layer) or an MLP.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul, s};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::Real;
use super::loss::{LossKind, loss_rows};

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

    fn apply<F: Real>(self, z: F) -> F {
        match self {
            Activation::Relu => z.max(F::zero()),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => F::one() / (F::one() + (-z).exp()),
        }
    }
    /// The derivative, written in terms of the activation's output `a`.
    fn derivative_from_output<F: Real>(self, a: F) -> F {
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

/// One dense layer `a ↦ a·Wᵀ + b`, `W` with one row per output unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer<F> {
    /// Shape `outputs × inputs`; for the last layer, row k is class k's template.
    pub weights: Array2<F>,
    /// One bias per output unit.
    pub bias: Array1<F>,
}

/// A stack of dense layers with `activation` between them; one layer is a linear classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<F> {
    /// Input layer first, class-score layer last.
    pub layers: Vec<Layer<F>>,
    /// Applied to every layer's output but the last.
    pub activation: Activation,
}

/// Buffers reused between batches so that a training step allocates nothing.
#[derive(Debug, Clone)]
pub struct Workspace<F> {
    rows: usize,
    /// Output of each layer (activations for hidden layers, scores for the last).
    outputs: Vec<Array2<F>>,
    /// ∂cost/∂(pre-activation) of each layer.
    deltas: Vec<Array2<F>>,
    /// Predicted class per row of the last forward pass.
    pub predictions: Vec<u8>,
}

impl<F: Real> Workspace<F> {
    /// Buffers for batches of up to `rows` rows through `net`.
    pub fn new(net: &Network<F>, rows: usize) -> Self {
        let rows = rows.max(1);
        let widths: Vec<usize> = net.layers.iter().map(|l| l.weights.nrows()).collect();
        Workspace {
            rows,
            outputs: widths.iter().map(|&w| Array2::zeros((rows, w))).collect(),
            deltas: widths.iter().map(|&w| Array2::zeros((rows, w))).collect(),
            predictions: vec![0; rows],
        }
    }
    fn ensure(&mut self, net: &Network<F>, rows: usize) {
        if rows > self.rows || self.outputs.len() != net.layers.len() {
            *self = Workspace::new(net, rows);
        }
    }
    /// Class scores of the last forward pass, `rows × classes`.
    pub fn scores(&self, rows: usize) -> ArrayView2<'_, F> {
        self.outputs[self.outputs.len() - 1].slice(s![..rows, ..])
    }
    /// Where `x · W₀ᵀ` goes before [`Network::forward_after_first_product`].
    pub fn first_product_mut(&mut self, net: &Network<F>, rows: usize) -> ArrayViewMut2<'_, F> {
        self.ensure(net, rows);
        self.outputs[0].slice_mut(s![..rows, ..])
    }
    /// ∂cost/∂(first pre-activation) after [`Network::step_all_but_first_weights`].
    pub fn first_delta(&self, rows: usize) -> ArrayView2<'_, F> {
        self.deltas[0].slice(s![..rows, ..])
    }
    /// Output of layer `l` in the last forward pass.
    pub fn layer_output(&self, l: usize, rows: usize) -> ArrayView2<'_, F> {
        self.outputs[l].slice(s![..rows, ..])
    }
}

/// What the backward pass does with the gradients.
pub enum GradientUse<'a, F> {
    /// Gradient-descent step `W ← W − η(∇ + 2λW)` fused into the matrix product.
    Step {
        /// Learning rate.
        eta: F,
        /// L2 strength.
        lambda: F,
    },
    /// Store the gradients (including the L2 term) here, one per layer, leave the weights.
    Store {
        /// L2 strength.
        lambda: F,
        /// Overwritten; same shapes as the network's layers.
        out: &'a mut Vec<Layer<F>>,
    },
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
                }
            })
            .collect();
        Network { layers, activation }
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
    /// Σ‖W‖² over the weight matrices (not the biases).
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
    /// True when every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.weights.iter().chain(l.bias.iter()).all(|v| v.is_finite()))
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
                })
                .collect(),
            activation: self.activation,
        }
    }

    /// Runs `x` (one row per example) through the network into `ws`.
    pub fn forward(&self, x: ArrayView2<F>, ws: &mut Workspace<F>) {
        let rows = x.nrows();
        ws.ensure(self, rows);
        super::kernels::xwt(
            x,
            self.layers[0].weights.view(),
            ws.outputs[0].slice_mut(s![..rows, ..]),
        );
        self.forward_after_first_product(rows, ws);
    }

    /// The rest of [`Self::forward`] once `ws.first_product_mut(self, rows)` holds `x · W₀ᵀ`
    /// (computed elsewhere, e.g. in column halves on two threads).
    pub fn forward_after_first_product(&self, rows: usize, ws: &mut Workspace<F>) {
        ws.ensure(self, rows);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = ws.outputs.split_at_mut(l);
            let mut out = after[0].slice_mut(s![..rows, ..]);
            if l > 0 {
                let input = before[l - 1].slice(s![..rows, ..]);
                super::kernels::xwt(input, layer.weights.view(), out.view_mut());
            }
            let act = self.activation;
            for mut row in out.rows_mut() {
                for (v, &b) in row.iter_mut().zip(layer.bias.iter()) {
                    let z = *v + b;
                    *v = if l == last { z } else { act.apply(z) };
                }
            }
        }
    }

    /// Forward pass plus loss: returns the summed loss of the rows; when `grad` is set,
    /// also the backward pass, used as `grad` says. `x` holds one example per row.
    pub fn loss_and_backward(
        &mut self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: LossKind,
        ws: &mut Workspace<F>,
        grad: Option<GradientUse<'_, F>>,
    ) -> f64 {
        let Some(grad) = grad else {
            return self.loss(x, labels, loss, ws);
        };
        self.forward(x, ws);
        self.backward(Some(x), x.nrows(), labels, loss, ws, grad)
    }

    /// Loss and backward pass after [`Self::forward_after_first_product`], for a caller that
    /// updates the first weight matrix itself: every other weight and every bias take the
    /// step, and `ws.first_delta(rows)` holds ∂cost/∂(first pre-activation) for the
    /// caller's `W₀ ← keep·W₀ − η δ₀ᵀ x`. Returns the summed loss.
    pub fn step_all_but_first_weights(
        &mut self,
        rows: usize,
        labels: &[u8],
        loss: LossKind,
        ws: &mut Workspace<F>,
        eta: F,
        lambda: F,
    ) -> f64 {
        self.backward(
            None,
            rows,
            labels,
            loss,
            ws,
            GradientUse::Step { eta, lambda },
        )
    }

    /// Loss and backward pass over the last forward pass in `ws`. Without `x` the first
    /// weight matrix is left to the caller (its bias still steps or is stored).
    fn backward(
        &mut self,
        x: Option<ArrayView2<F>>,
        rows: usize,
        labels: &[u8],
        loss: LossKind,
        ws: &mut Workspace<F>,
        mut grad: GradientUse<'_, F>,
    ) -> f64 {
        let last = self.layers.len() - 1;
        let scale = F::one() / F::of(rows as f64);
        let total = {
            let top = ws.deltas[last].slice_mut(s![..rows, ..]);
            loss_rows(
                loss,
                ws.outputs[last].slice(s![..rows, ..]),
                labels,
                &mut ws.predictions[..rows],
                Some(top),
                scale,
            )
        };
        if let GradientUse::Store { out, .. } = &mut grad {
            out.clone_from(&self.layers);
        }
        for l in (0..=last).rev() {
            let (deltas_below, deltas_here) = ws.deltas.split_at_mut(l);
            let delta = deltas_here[0].slice(s![..rows, ..]);
            let input = if l == 0 {
                x
            } else {
                Some(ws.outputs[l - 1].slice(s![..rows, ..]))
            };
            // Propagate before updating: the lower layer needs this layer's old weights.
            if let (true, Some(input)) = (l > 0, input) {
                let mut below = deltas_below[l - 1].slice_mut(s![..rows, ..]);
                general_mat_mul(
                    F::one(),
                    &delta,
                    &self.layers[l].weights,
                    F::zero(),
                    &mut below,
                );
                let act = self.activation;
                below.zip_mut_with(&input, |d, &a| *d = *d * act.derivative_from_output(a));
            }
            let layer = &mut self.layers[l];
            let bias_grad = delta.sum_axis(Axis(0));
            match &mut grad {
                GradientUse::Step { eta, lambda } => {
                    if let Some(input) = input {
                        let keep = F::one() - F::of(2.0) * *eta * *lambda;
                        super::kernels::sgd_update(
                            layer.weights.view_mut(),
                            delta,
                            input,
                            keep,
                            *eta,
                        );
                    }
                    layer.bias.scaled_add(-*eta, &bias_grad);
                }
                GradientUse::Store { lambda, out } => {
                    let g = &mut out[l];
                    if let Some(input) = input {
                        let two_lambda = F::of(2.0) * *lambda;
                        general_mat_mul(F::one(), &delta.t(), &input, two_lambda, &mut g.weights);
                    }
                    g.bias.assign(&bias_grad);
                }
            }
        }
        total
    }

    /// Forward pass and loss without gradients: the summed loss of the rows; predictions
    /// land in `ws.predictions`.
    pub fn loss(
        &self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: LossKind,
        ws: &mut Workspace<F>,
    ) -> f64 {
        let rows = x.nrows();
        self.forward(x, ws);
        let scores = ws.outputs[self.layers.len() - 1].slice(s![..rows, ..]);
        loss_rows(
            loss,
            scores,
            labels,
            &mut ws.predictions[..rows],
            None,
            F::one(),
        )
    }

    /// Cost on a whole batch: mean loss + λ Σ‖W‖².
    pub fn cost(
        &self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: LossKind,
        lambda: f64,
        ws: &mut Workspace<F>,
    ) -> f64 {
        self.loss(x, labels, loss, ws) / x.nrows() as f64 + lambda * self.weight_norm_sq()
    }
}
