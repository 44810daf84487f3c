//! The buffers a forward and backward pass reuse between batches.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, s};

use super::dense::Network;
use crate::model::Real;

/// Buffers reused between batches so that a training step allocates nothing.
#[derive(Debug, Clone)]
pub struct Workspace<F> {
    pub(super) rows: usize,
    /// Output of each layer (activations for hidden layers, scores for the last).
    pub(super) outputs: Vec<Array2<F>>,
    /// ∂cost/∂(pre-activation) of each layer.
    pub(super) deltas: Vec<Array2<F>>,
    /// Batch statistics of each batch-normalised layer in the last training pass.
    pub(super) bn: Vec<Option<BnCache<F>>>,
    /// Dropout factors (0 or 1/(1 − rate)) of each hidden layer in the last pass, when it
    /// used dropout.
    pub(super) masks: Vec<Array2<F>>,
    /// Whether the last forward pass used batch statistics (and `bn` holds them).
    pub(super) batch_stats: bool,
    /// Whether the last forward pass applied the dropout `masks`.
    pub(super) dropped: bool,
    /// Predicted class per row of the last forward pass.
    pub predictions: Vec<u8>,
}

/// What a batch-normalised layer remembers of a training pass for its backward pass.
#[derive(Debug, Clone)]
pub(super) struct BnCache<F> {
    /// ŝ, rows × units.
    pub(super) normed: Array2<F>,
    /// Batch mean per unit.
    pub(super) mean: Array1<F>,
    /// Batch variance per unit (divided by the batch size).
    pub(super) var: Array1<F>,
    /// 1/√(σ² + ε) per unit.
    pub(super) inv_std: Array1<F>,
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
    /// Grows the buffers for `rows` rows, or rebuilds them for a network of another shape.
    pub(super) fn ensure(&mut self, net: &Network<F>, rows: usize) {
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
