//! Dense layers stacked into a linear classifier (no hidden layer) or an MLP.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul, s};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::Real;
use super::loss::{Loss, loss_rows};

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

/// How a forward pass treats batch normalisation and dropout.
pub enum Pass<'a> {
    /// Evaluation: batch norm uses its running averages, no dropout.
    Eval,
    /// Training without dropout: batch norm uses the mini-batch's statistics.
    Batch,
    /// Training with inverted dropout: each hidden output is zeroed with probability `rate`
    /// and the rest scaled by 1/(1 − rate), so evaluation needs no rescaling.
    Dropout {
        /// Probability of dropping a hidden unit's output.
        rate: f64,
        /// Where the masks come from.
        rng: &'a mut dyn rand::RngCore,
    },
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
    /// Batch statistics of each batch-normalised layer in the last training pass.
    bn: Vec<Option<BnCache<F>>>,
    /// Dropout factors (0 or 1/(1 − rate)) of each hidden layer in the last pass, when it
    /// used dropout.
    masks: Vec<Array2<F>>,
    /// Whether the last forward pass used batch statistics (and `bn` holds them).
    batch_stats: bool,
    /// Whether the last forward pass applied the dropout `masks`.
    dropped: bool,
    /// Predicted class per row of the last forward pass.
    pub predictions: Vec<u8>,
}

/// What a batch-normalised layer remembers of a training pass for its backward pass.
#[derive(Debug, Clone)]
struct BnCache<F> {
    /// ŝ, rows × units.
    normed: Array2<F>,
    /// Batch mean per unit.
    mean: Array1<F>,
    /// Batch variance per unit (divided by the batch size).
    var: Array1<F>,
    /// 1/√(σ² + ε) per unit.
    inv_std: Array1<F>,
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
            bn: net
                .layers
                .iter()
                .map(|l| {
                    l.bn.as_ref().map(|_| {
                        let w = l.weights.nrows();
                        BnCache {
                            normed: Array2::zeros((rows, w)),
                            mean: Array1::zeros(w),
                            var: Array1::zeros(w),
                            inv_std: Array1::zeros(w),
                        }
                    })
                })
                .collect(),
            masks: Vec::new(),
            batch_stats: false,
            dropped: false,
            predictions: vec![0; rows],
        }
    }
    fn ensure(&mut self, net: &Network<F>, rows: usize) {
        let same_shape = self.outputs.len() == net.layers.len()
            && self
                .bn
                .iter()
                .zip(&net.layers)
                .all(|(c, l)| c.is_some() == l.bn.is_some());
        if rows > self.rows || !same_shape {
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
    /// ∂cost/∂(first pre-activation) after [`Network::backward_all_but_first_weights`].
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

    /// Runs `x` (one row per example) through the network into `ws`, as for evaluation.
    pub fn forward(&self, x: ArrayView2<F>, ws: &mut Workspace<F>) {
        self.forward_with(x, ws, Pass::Eval);
    }

    /// Runs `x` through the network into `ws`, batch norm and dropout as `pass` says.
    pub fn forward_with(&self, x: ArrayView2<F>, ws: &mut Workspace<F>, pass: Pass<'_>) {
        let rows = x.nrows();
        ws.ensure(self, rows);
        super::kernels::xwt(
            x,
            self.layers[0].weights.view(),
            ws.outputs[0].slice_mut(s![..rows, ..]),
        );
        self.forward_after_first_product(rows, ws, pass);
    }

    /// The rest of [`Self::forward_with`] once `ws.first_product_mut(self, rows)` holds
    /// `x · W₀ᵀ` (computed elsewhere, e.g. in column halves on two threads).
    pub fn forward_after_first_product(&self, rows: usize, ws: &mut Workspace<F>, pass: Pass<'_>) {
        ws.ensure(self, rows);
        let last = self.layers.len() - 1;
        let batch_stats = !matches!(pass, Pass::Eval);
        let (rate, mut rng) = match pass {
            Pass::Dropout { rate, rng } if rate > 0.0 && last > 0 => (rate, Some(rng)),
            _ => (0.0, None),
        };
        ws.batch_stats = batch_stats;
        ws.dropped = rng.is_some();
        if ws.dropped && ws.masks.len() != last {
            ws.masks = self.layers[..last]
                .iter()
                .map(|l| Array2::zeros((ws.rows, l.weights.nrows())))
                .collect();
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = ws.outputs.split_at_mut(l);
            let mut out = after[0].slice_mut(s![..rows, ..]);
            if l > 0 {
                let input = before[l - 1].slice(s![..rows, ..]);
                super::kernels::xwt(input, layer.weights.view(), out.view_mut());
            }
            let act = self.activation;
            match (&layer.bn, l == last) {
                (_, true) => {
                    for mut row in out.rows_mut() {
                        for (v, &b) in row.iter_mut().zip(layer.bias.iter()) {
                            *v = *v + b;
                        }
                    }
                }
                (None, false) => {
                    for mut row in out.rows_mut() {
                        for (v, &b) in row.iter_mut().zip(layer.bias.iter()) {
                            *v = act.apply(*v + b);
                        }
                    }
                }
                (Some(bn), false) if batch_stats => {
                    let cache = ws.bn[l]
                        .as_mut()
                        .expect("the workspace matches the network's batch norm");
                    normalise_batch(out.view_mut(), &layer.bias, bn, cache, act);
                }
                (Some(bn), false) => {
                    let eps = F::of(BN_EPS);
                    let scale: Vec<F> = bn
                        .gamma
                        .iter()
                        .zip(&bn.var)
                        .map(|(&g, &v)| g / (v + eps).sqrt())
                        .collect();
                    for mut row in out.rows_mut() {
                        for (j, v) in row.iter_mut().enumerate() {
                            let z = *v + layer.bias[j] - bn.mean[j];
                            *v = act.apply(z * scale[j] + bn.beta[j]);
                        }
                    }
                }
            }
            if let (Some(rng), false) = (rng.as_mut(), l == last) {
                let keep = F::of(1.0 / (1.0 - rate));
                let mut mask = ws.masks[l].slice_mut(s![..rows, ..]);
                for (m, v) in mask.iter_mut().zip(out.iter_mut()) {
                    *m = if rng.random::<f64>() < rate {
                        F::zero()
                    } else {
                        keep
                    };
                    *v = *v * *m;
                }
            }
        }
    }

    /// Folds the batch statistics of the last training pass in `ws` into the running
    /// averages of batch normalisation (see [`BN_AVERAGING`]). Call once per training step.
    pub fn track_batch_statistics(&mut self, ws: &Workspace<F>) {
        if !ws.batch_stats {
            return;
        }
        let keep = F::of(BN_AVERAGING);
        let new = F::one() - keep;
        for (layer, cache) in self.layers.iter_mut().zip(&ws.bn) {
            if let (Some(bn), Some(cache)) = (&mut layer.bn, cache) {
                bn.mean
                    .zip_mut_with(&cache.mean, |r, &m| *r = keep * *r + new * m);
                bn.var
                    .zip_mut_with(&cache.var, |r, &v| *r = keep * *r + new * v);
            }
        }
    }

    /// Forward pass plus loss: returns the summed loss of the rows; when `grad` is set,
    /// also the backward pass, used as `grad` says. `x` holds one example per row. Batch
    /// norm uses the batch's statistics; no dropout.
    pub fn loss_and_backward(
        &mut self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: impl Into<Loss>,
        ws: &mut Workspace<F>,
        grad: Option<GradientUse<'_, F>>,
    ) -> f64 {
        let Some(grad) = grad else {
            return self.loss(x, labels, loss, ws);
        };
        self.loss_and_backward_with(x, labels, loss, ws, grad, Pass::Batch)
    }

    /// [`Self::loss_and_backward`] with a training pass of the caller's choice (dropout).
    pub fn loss_and_backward_with(
        &mut self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: impl Into<Loss>,
        ws: &mut Workspace<F>,
        grad: GradientUse<'_, F>,
        pass: Pass<'_>,
    ) -> f64 {
        self.forward_with(x, ws, pass);
        self.backward(Some(x), x.nrows(), labels, loss.into(), ws, grad)
    }

    /// Loss and backward pass after [`Self::forward_after_first_product`], for a caller that
    /// updates the first weight matrix itself: every other weight and every bias take the
    /// step or have their gradient stored, as `grad` says (the first weight matrix's entry
    /// in a store holds W₀ itself), and `ws.first_delta(rows)` holds ∂cost/∂(first
    /// pre-activation) for the caller's update of W₀. Returns the summed loss.
    pub fn backward_all_but_first_weights(
        &mut self,
        rows: usize,
        labels: &[u8],
        loss: impl Into<Loss>,
        ws: &mut Workspace<F>,
        grad: GradientUse<'_, F>,
    ) -> f64 {
        self.backward(None, rows, labels, loss.into(), ws, grad)
    }

    /// Loss and backward pass over the last forward pass in `ws`. Without `x` the first
    /// weight matrix is left to the caller (its bias still steps or is stored).
    fn backward(
        &mut self,
        x: Option<ArrayView2<F>>,
        rows: usize,
        labels: &[u8],
        loss: Loss,
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
            // Under batch norm the delta arrives as ∂/∂(γŝ + β); turn it into ∂/∂s.
            let bn_grads = match (&self.layers[l].bn, &ws.bn[l]) {
                (Some(bn), Some(cache)) if ws.batch_stats => Some(normalise_backward(
                    deltas_here[0].slice_mut(s![..rows, ..]),
                    bn,
                    cache,
                )),
                _ => None,
            };
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
                if ws.dropped {
                    // The output seen above is a·m; a is the activation's own output.
                    let mask = ws.masks[l - 1].slice(s![..rows, ..]);
                    ndarray::Zip::from(&mut below)
                        .and(&input)
                        .and(&mask)
                        .for_each(|d, &out, &m| {
                            *d = if m == F::zero() {
                                F::zero()
                            } else {
                                *d * m * act.derivative_from_output(out / m)
                            };
                        });
                } else {
                    below.zip_mut_with(&input, |d, &a| *d = *d * act.derivative_from_output(a));
                }
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
                    match (&mut layer.bn, &bn_grads) {
                        (Some(bn), Some((dgamma, dbeta))) => {
                            bn.gamma.scaled_add(-*eta, dgamma);
                            bn.beta.scaled_add(-*eta, dbeta);
                        }
                        _ => layer.bias.scaled_add(-*eta, &bias_grad),
                    }
                }
                GradientUse::Store { lambda, out } => {
                    let g = &mut out[l];
                    if let Some(input) = input {
                        // g holds W (cloned above): g ← 2λ·W + δᵀ·input, through the same
                        // fused kernel as a step (a general GEMM packs first, and was a fifth
                        // of an Adam epoch).
                        let two_lambda = F::of(2.0) * *lambda;
                        super::kernels::sgd_update(
                            g.weights.view_mut(),
                            delta,
                            input,
                            two_lambda,
                            -F::one(),
                        );
                    }
                    g.bias.assign(&bias_grad);
                    if let (Some(bn), Some((dgamma, dbeta))) = (&mut g.bn, bn_grads) {
                        bn.gamma = dgamma;
                        bn.beta = dbeta;
                    }
                }
            }
        }
        total
    }

    /// Forward pass and loss without gradients, as for evaluation: the summed loss of the
    /// rows; predictions land in `ws.predictions`.
    pub fn loss(
        &self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: impl Into<Loss>,
        ws: &mut Workspace<F>,
    ) -> f64 {
        self.loss_with(x, labels, loss, ws, Pass::Eval)
    }

    /// [`Self::loss`] with batch norm and dropout as `pass` says.
    pub fn loss_with(
        &self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: impl Into<Loss>,
        ws: &mut Workspace<F>,
        pass: Pass<'_>,
    ) -> f64 {
        let rows = x.nrows();
        self.forward_with(x, ws, pass);
        self.loss_of_scores(rows, labels, loss.into(), ws)
    }

    /// [`Self::loss`] once `ws.first_product_mut(self, rows)` holds `x · W₀ᵀ`.
    pub fn loss_after_first_product(
        &self,
        rows: usize,
        labels: &[u8],
        loss: impl Into<Loss>,
        ws: &mut Workspace<F>,
    ) -> f64 {
        self.forward_after_first_product(rows, ws, Pass::Eval);
        self.loss_of_scores(rows, labels, loss.into(), ws)
    }

    /// The summed loss of the scores of the last forward pass; predictions land in `ws`.
    fn loss_of_scores(&self, rows: usize, labels: &[u8], loss: Loss, ws: &mut Workspace<F>) -> f64 {
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

    /// Cost on a whole batch, as for evaluation: mean loss + λ Σ‖W‖².
    pub fn cost(
        &self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: impl Into<Loss>,
        lambda: f64,
        ws: &mut Workspace<F>,
    ) -> f64 {
        self.loss(x, labels, loss, ws) / x.nrows() as f64 + lambda * self.weight_norm_sq()
    }

    /// The cost the training gradients are gradients of: batch norm on `x`'s own
    /// statistics, no dropout.
    pub fn batch_cost(
        &self,
        x: ArrayView2<F>,
        labels: &[u8],
        loss: impl Into<Loss>,
        lambda: f64,
        ws: &mut Workspace<F>,
    ) -> f64 {
        self.loss_with(x, labels, loss, ws, Pass::Batch) / x.nrows() as f64
            + lambda * self.weight_norm_sq()
    }
}

/// Batch norm of one layer in training: `out` holds `x·Wᵀ` on entry and `act(γŝ + β)` on
/// return, with `s = x·Wᵀ + b`; the statistics and ŝ go to `cache`.
fn normalise_batch<F: Real>(
    mut out: ArrayViewMut2<F>,
    bias: &Array1<F>,
    bn: &BatchNorm<F>,
    cache: &mut BnCache<F>,
    act: Activation,
) {
    let rows = out.nrows();
    let n = F::of(rows as f64);
    let eps = F::of(BN_EPS);
    for (j, mut col) in out.columns_mut().into_iter().enumerate() {
        let b = bias[j];
        col.mapv_inplace(|v| v + b);
        let mean = col.iter().copied().sum::<F>() / n;
        // Two passes: the mean is subtracted first, so small spreads keep their digits.
        let var = col.iter().map(|&v| (v - mean) * (v - mean)).sum::<F>() / n;
        let inv_std = F::one() / (var + eps).sqrt();
        cache.mean[j] = mean;
        cache.var[j] = var;
        cache.inv_std[j] = inv_std;
        let (g, be) = (bn.gamma[j], bn.beta[j]);
        for (v, h) in col.iter_mut().zip(cache.normed.column_mut(j).iter_mut()) {
            *h = (*v - mean) * inv_std;
            *v = act.apply(g * *h + be);
        }
    }
}

/// Batch norm's backward pass: `delta` holds ∂cost/∂(γŝ + β) on entry and ∂cost/∂s on
/// return; returns (∂cost/∂γ, ∂cost/∂β).
fn normalise_backward<F: Real>(
    mut delta: ArrayViewMut2<F>,
    bn: &BatchNorm<F>,
    cache: &BnCache<F>,
) -> (Array1<F>, Array1<F>) {
    let rows = delta.nrows();
    let n = F::of(rows as f64);
    let units = delta.ncols();
    let mut dgamma = Array1::zeros(units);
    let mut dbeta = Array1::zeros(units);
    for (j, mut col) in delta.columns_mut().into_iter().enumerate() {
        let normed = cache.normed.slice(s![..rows, j]);
        let (mut sg, mut sgh) = (F::zero(), F::zero());
        for (&g, &h) in col.iter().zip(normed.iter()) {
            sg = sg + g;
            sgh = sgh + g * h;
        }
        dbeta[j] = sg;
        dgamma[j] = sgh;
        // ∂/∂s = γ/√(σ²+ε) · (g − mean(g) − ŝ·mean(g ŝ)): the batch's mean and variance
        // depend on every s of the column.
        let k = bn.gamma[j] * cache.inv_std[j];
        let (mg, mgh) = (sg / n, sgh / n);
        for (g, &h) in col.iter_mut().zip(normed.iter()) {
            *g = k * (*g - mg - h * mgh);
        }
    }
    (dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LossKind;
    use crate::model::gradcheck::relative_error;
    use rand::{SeedableRng, rngs::SmallRng};

    fn problem(rng: &mut SmallRng) -> (Array2<f64>, Vec<u8>) {
        let x = Array2::from_shape_simple_fn((12, 7), || rng.random_range(-1.0..1.0));
        (x, (0..12).map(|i| (i % 3) as u8).collect())
    }

    /// With the same masks (the same seed), dropout's gradients match centred differences.
    #[test]
    fn dropout_gradients_match_numerical_ones() {
        let mut rng = SmallRng::seed_from_u64(5);
        let (x, labels) = problem(&mut rng);
        for act in Activation::ALL {
            let net = Network::<f64>::new(7, &[9, 8], 3, act, InitKind::Xavier, 0.0, &mut rng);
            let cost = |n: &Network<f64>| {
                let mut ws = Workspace::new(n, 12);
                let mut masks = SmallRng::seed_from_u64(99);
                let pass = Pass::Dropout {
                    rate: 0.3,
                    rng: &mut masks,
                };
                n.loss_with(x.view(), &labels, LossKind::Ce, &mut ws, pass) / 12.0
            };
            let mut grads = Vec::new();
            let mut ws = Workspace::new(&net, 12);
            let mut masks = SmallRng::seed_from_u64(99);
            net.clone().loss_and_backward_with(
                x.view(),
                &labels,
                LossKind::Ce,
                &mut ws,
                GradientUse::Store {
                    lambda: 0.0,
                    out: &mut grads,
                },
                Pass::Dropout {
                    rate: 0.3,
                    rng: &mut masks,
                },
            );
            let h = 1e-5;
            for (l, grad) in grads.iter().enumerate() {
                for idx in 0..grad.weights.len() {
                    let mut probe = net.clone();
                    let w = probe.layers[l].weights.as_slice_mut().unwrap();
                    w[idx] += h;
                    let plus = cost(&probe);
                    probe.layers[l].weights.as_slice_mut().unwrap()[idx] -= 2.0 * h;
                    let minus = cost(&probe);
                    let numeric = (plus - minus) / (2.0 * h);
                    let analytic = grad.weights.as_slice().unwrap()[idx];
                    let e = relative_error(analytic, numeric, 1e-4);
                    assert!(
                        e < 1e-6,
                        "{act:?} W{} entry {idx}: {analytic} vs {numeric}",
                        l + 1
                    );
                }
            }
            // Some units were dropped and the rest scaled up.
            let mask = ws.masks[0].slice(s![..12, ..]);
            assert!(mask.iter().any(|&m| m == 0.0));
            assert!(mask.iter().any(|&m| (m - 1.0 / 0.7).abs() < 1e-12));
        }
    }

    /// Evaluation with running averages equal to a batch's statistics gives that batch's
    /// training outputs; tracking moves the averages by 1 − BN_AVERAGING towards them.
    #[test]
    fn batch_norm_evaluation_uses_running_averages() {
        let mut rng = SmallRng::seed_from_u64(6);
        let (x, _) = problem(&mut rng);
        let mut net =
            Network::<f64>::new(7, &[5], 3, Activation::Tanh, InitKind::He, 0.0, &mut rng)
                .with_batch_norm(true);
        assert!(net.has_batch_norm() && net.layers[1].bn.is_none());
        let mut ws = Workspace::new(&net, 12);
        net.forward_with(x.view(), &mut ws, Pass::Batch);
        let trained = ws.layer_output(1, 12).to_owned();
        let cache = ws.bn[0].clone().unwrap();
        net.track_batch_statistics(&ws);
        let bn = net.layers[0].bn.as_ref().unwrap();
        let step = 1.0 - BN_AVERAGING;
        assert!((bn.mean[0] - step * cache.mean[0]).abs() < 1e-12);
        assert!((bn.var[0] - (BN_AVERAGING + step * cache.var[0])).abs() < 1e-12);
        let bn = net.layers[0].bn.as_mut().unwrap();
        bn.mean.assign(&cache.mean);
        bn.var.assign(&cache.var);
        net.forward(x.view(), &mut ws);
        for (a, b) in ws.layer_output(1, 12).iter().zip(&trained) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        // The normalised layer has mean 0 and spread 1 over the batch before γ and β.
        let normed = &cache.normed;
        for col in normed.columns() {
            let m = col.mean().unwrap();
            let v = col.mapv(|h| (h - m) * (h - m)).mean().unwrap();
            assert!(m.abs() < 1e-9 && (v - 1.0).abs() < 1e-6, "mean {m} var {v}");
        }
    }
}
