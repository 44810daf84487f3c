//! The forward pass (batch norm, dropout), the loss and the cost it gives.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, s};
use rand::Rng;

use super::dense::Network;
use super::layer::BatchNorm;
use super::layer::{Activation, BN_AVERAGING, BN_EPS};
use super::workspace::{BnCache, Workspace};
use crate::model::Real;
use crate::model::loss::{Loss, loss_rows};

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

impl<F: Real> Network<F> {
    /// Runs `x` (one row per example) through the network into `ws`, as for evaluation.
    pub fn forward(&self, x: ArrayView2<F>, ws: &mut Workspace<F>) {
        self.forward_with(x, ws, Pass::Eval);
    }

    /// Runs `x` through the network into `ws`, batch norm and dropout as `pass` says.
    pub fn forward_with(&self, x: ArrayView2<F>, ws: &mut Workspace<F>, pass: Pass<'_>) {
        let rows = x.nrows();
        ws.ensure(self, rows);
        crate::model::kernels::xwt(
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
                crate::model::kernels::xwt(input, layer.weights.view(), out.view_mut());
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
pub(super) fn normalise_batch<F: Real>(
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
