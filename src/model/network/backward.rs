//! The backward pass: gradients of the loss, used for a fused gradient step or stored.

use ndarray::{Array1, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul, s};

use super::dense::Network;
use super::forward::Pass;
use super::layer::{Activation, BatchNorm, Layer};
use super::workspace::{BnCache, Workspace};
use crate::model::Real;
use crate::model::loss::{Loss, loss_rows};

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

impl<'a, F> GradientUse<'a, F> {
    /// The step fused into the pass when `fused` (plain SGD), else the gradients stored in
    /// `out` for the optimiser to use.
    pub fn fused_or_stored(fused: bool, eta: F, lambda: F, out: &'a mut Vec<Layer<F>>) -> Self {
        if fused {
            GradientUse::Step { eta, lambda }
        } else {
            GradientUse::Store { lambda, out }
        }
    }
}

impl<F: Real> Network<F> {
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
                let mask = ws.dropped.then(|| ws.masks[l - 1].slice(s![..rows, ..]));
                propagate(
                    deltas_below[l - 1].slice_mut(s![..rows, ..]),
                    delta,
                    &self.layers[l],
                    self.activation,
                    input,
                    mask,
                );
            }
            apply_gradient(&mut self.layers[l], l, &mut grad, delta, input, bn_grads);
        }
        total
    }
}

/// ∂cost/∂(pre-activation) of the layer below `layer` into `below`: `delta` (this layer's)
/// back through its weights, times the activation's derivative at `input` (the layer
/// below's output, with dropout the output times its `mask`).
fn propagate<F: Real>(
    mut below: ArrayViewMut2<F>,
    delta: ArrayView2<F>,
    layer: &Layer<F>,
    act: Activation,
    input: ArrayView2<F>,
    mask: Option<ArrayView2<F>>,
) {
    general_mat_mul(F::one(), &delta, &layer.weights, F::zero(), &mut below);
    if let Some(mask) = mask {
        // The output seen above is a·m; a is the activation's own output.
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

/// Uses layer `l`'s gradients as `grad` says: a step on `layer`, or stored in `grad`'s
/// `out[l]`. `delta` is ∂cost/∂s of the layer, `input` what it multiplied (none: the
/// caller updates the weights), `bn_grads` batch norm's (∂γ, ∂β) when it has one.
fn apply_gradient<F: Real>(
    layer: &mut Layer<F>,
    l: usize,
    grad: &mut GradientUse<'_, F>,
    delta: ArrayView2<F>,
    input: Option<ArrayView2<F>>,
    bn_grads: Option<(Array1<F>, Array1<F>)>,
) {
    let bias_grad = delta.sum_axis(Axis(0));
    match grad {
        GradientUse::Step { eta, lambda } => {
            if let Some(input) = input {
                let keep = F::one() - F::of(2.0) * *eta * *lambda;
                crate::model::kernels::sgd_update(
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
                crate::model::kernels::sgd_update(
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
