//! The Layers numbers of a layer stack ([`crate::model::stack`]), once per epoch: for each
//! layer with weights, the spread of its outputs over the validation images, its dead or
//! saturated channels, and the norm, range and update ratio of its weight gradient.
//!
//! Which rows: one per layer with weights (convolution, patchify, dense, and the class
//! scores last), measured after the batch norm and activation that directly follow it, the
//! same rows an MLP has. Every layer on its own (ConvNetJS lists ReLU and pooling apart) would
//! put 11 lines in each plot of the a3-bonus net, half of them without weights (no gradient
//! or update to show) and each ReLU's numbers repeating its convolution's; a unit is dead only
//! after its ReLU, and pooling or dropout change no unit's fate.

use ndarray::{Array2, ArrayView2};

use super::layer_health::{OutputSummary, OutputTally, frobenius, value_range};
use super::metrics::LayerStats;
use super::optimizer::{Optimizer, OptimizerKind};
use super::stack_eval::eval_block;
use crate::data::{ImageSet, Normalizer};
use crate::model::Activation;
use crate::model::layers::LayerSpec;
use crate::model::stack::{Stack, StackLayer, StackPass, StackWorkspace};

/// One row of a stack's Layers numbers: a layer with weights and what follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StackRow {
    /// The layer with weights (index into the stack's layers).
    pub layer: usize,
    /// The last layer of the row (the weighted layer, its batch norm or its activation):
    /// the row's outputs are this layer's.
    pub end: usize,
    /// The activation that ends the row, if one does.
    pub activation: Option<Activation>,
    /// How the row reads: `conv 3×3, 64 + relu`, `scores (dense 10)`.
    pub name: String,
    /// Learned parameters of its layers (weights, biases, γ and β).
    pub params: usize,
}

/// The rows of `stack`'s Layers numbers, in order (see the module's note on why these).
pub fn rows(stack: &Stack<f32>) -> Vec<StackRow> {
    let count = stack.specs.len();
    let params = |i: usize| -> usize { stack.layers[i].params().iter().map(|p| p.len()).sum() };
    let mut out = Vec::new();
    for (i, spec) in stack.specs.iter().enumerate() {
        let mut name = match *spec {
            LayerSpec::Patchify { f, n } => format!("patchify {f}×{f}, {n}"),
            LayerSpec::Conv { k, n } => format!("conv {k}×{k}, {n}"),
            LayerSpec::Dense { n } if i + 1 == count => format!("scores (dense {n})"),
            LayerSpec::Dense { n } => format!("dense {n}"),
            _ => continue,
        };
        let mut row = StackRow {
            layer: i,
            end: i,
            activation: None,
            name: String::new(),
            params: params(i),
        };
        while row.end + 1 < count && stack.specs[row.end + 1] == LayerSpec::Bn {
            row.end += 1;
            row.params += params(row.end);
            name.push_str(" + bn");
        }
        if let Some(next) = stack.specs.get(row.end + 1) {
            row.activation = match next {
                LayerSpec::Relu => Some(Activation::Relu),
                LayerSpec::Tanh => Some(Activation::Tanh),
                LayerSpec::Sigmoid => Some(Activation::Sigmoid),
                _ => None,
            };
            if row.activation.is_some() {
                row.end += 1;
                name.push_str(&format!(" + {next}"));
            }
        }
        row.name = name;
        out.push(row);
    }
    out
}

/// Each row's outputs over the images of `set`, in evaluation mode, in blocks that keep the
/// workspace within the evaluation's bound (the a3-bonus net's first maps alone are 8,192
/// values an image), on the calling thread (products split over the current rayon pool).
pub fn output_summaries(
    stack: &Stack<f32>,
    normalizer: &Normalizer,
    set: &ImageSet,
    rows: &[StackRow],
) -> Vec<OutputSummary> {
    let mut tallies: Vec<OutputTally> = rows
        .iter()
        .map(|r| OutputTally::new(stack.shapes[r.end + 1].c, r.activation))
        .collect();
    let dim = normalizer.dim();
    let block = eval_block(stack).min(set.len().max(1));
    let mut ws = StackWorkspace::new(stack, block);
    let mut x = vec![0f32; block * dim];
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(block) {
        let b = chunk.len();
        normalizer.gather(set, chunk, None, &mut x[..b * dim]);
        let xv = ArrayView2::from_shape((b, dim), &x[..b * dim])
            .expect("the block buffer holds b images");
        stack.forward(xv, &mut ws, StackPass::Eval);
        for (tally, row) in tallies.iter_mut().zip(rows) {
            tally.add(ws.output(row.end + 1));
        }
    }
    tallies.iter().map(OutputTally::finish).collect()
}

/// The weight matrix of a dense, patchify or convolution layer.
fn weights_of(layer: &StackLayer<f32>) -> Option<&Array2<f32>> {
    match layer {
        StackLayer::Linear { weights, .. } => Some(weights),
        _ => None,
    }
}

/// ‖ΔW‖ of each layer's weights in the step `optimizer` would take along `grads` with
/// learning rate `eta` (NaN for layers without weights). Plain SGD's step is η‖∂cost/∂W‖;
/// the others are stepped on copies of the stack and of their state, once an epoch.
pub fn weight_update_norms(
    stack: &Stack<f32>,
    grads: &[StackLayer<f32>],
    optimizer: &Optimizer,
    kind: OptimizerKind,
    eta: f64,
) -> Vec<f64> {
    if kind == OptimizerKind::Sgd {
        return grads
            .iter()
            .map(|g| weights_of(g).map_or(f64::NAN, |w| eta * frobenius(w.iter())))
            .collect();
    }
    let mut probe = optimizer.clone();
    let mut after = stack.clone();
    let g: Vec<&[f32]> = grads.iter().flat_map(|l| l.params()).collect();
    probe.step_arrays(after.params_mut(), g, eta);
    stack
        .layers
        .iter()
        .zip(&after.layers)
        .map(|(a, b)| match (weights_of(a), weights_of(b)) {
            (Some(a), Some(b)) => a
                .iter()
                .zip(b)
                .map(|(&x, &y)| f64::from(y - x).powi(2))
                .sum::<f64>()
                .sqrt(),
            _ => f64::NAN,
        })
        .collect()
}

/// The Layers numbers of `stack`: per row of [`rows`], its outputs over `set` (the
/// validation images), and the gradient `grads` of the epoch's last mini-batch with the
/// update norms `updates` from [`weight_update_norms`].
pub fn layer_stats(
    stack: &Stack<f32>,
    normalizer: &Normalizer,
    set: &ImageSet,
    grads: &[StackLayer<f32>],
    updates: &[f64],
) -> Vec<LayerStats> {
    let rows = rows(stack);
    let outputs = output_summaries(stack, normalizer, set, &rows);
    let last = stack.specs.len() - 1;
    rows.into_iter()
        .zip(outputs)
        .map(|(row, out)| {
            let grad = grads.get(row.layer).and_then(weights_of);
            let (grad_min, grad_max) = grad.map_or((f64::NAN, f64::NAN), |g| value_range(g.iter()));
            let weight_norm =
                weights_of(&stack.layers[row.layer]).map_or(f64::NAN, |w| frobenius(w.iter()));
            LayerStats {
                name: row.name,
                mean: out.mean,
                std: out.std,
                // The class scores have no activation: none of them is stuck (as an MLP's).
                stuck: if row.layer == last { 0.0 } else { out.stuck },
                grad_norm: grad.map_or(f64::NAN, |g| frobenius(g.iter())),
                update_ratio: updates.get(row.layer).copied().unwrap_or(f64::NAN) / weight_norm,
                out_min: out.min,
                out_max: out.max,
                grad_min,
                grad_max,
                params: row.params,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::{SeedableRng, rngs::SmallRng};

    use super::*;
    use crate::data::Splits;
    use crate::data::synthetic::{SyntheticSpec, generate};
    use crate::train::TrainConfig;
    use crate::train::stack_trainer::{StackTrainer, build_stack};

    fn data() -> Arc<Splits> {
        Arc::new(generate(&SyntheticSpec {
            train: 200,
            val: 40,
            test: 20,
            ..SyntheticSpec::default()
        }))
    }

    fn config() -> TrainConfig {
        TrainConfig {
            layers: "patchify 4:6, relu, dense 16, relu".into(),
            eta: 0.05,
            batch: 50,
            epochs: 1,
            threads: Some(1),
            init: crate::model::InitKind::He,
            ..TrainConfig::default()
        }
    }

    /// An epoch of a small ConvNet records a row per weighted layer (and the scores), each
    /// with finite numbers in order and its parameter count.
    #[test]
    fn an_epoch_records_each_weighted_layer() {
        let mut t = StackTrainer::new(config(), data(), None).expect("valid config");
        let m = t.run_epoch();
        let names: Vec<&str> = m.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "patchify 4×4, 6 + relu",
                "dense 16 + relu",
                "scores (dense 10)"
            ]
        );
        let params: Vec<usize> = m.layers.iter().map(|l| l.params).collect();
        // 4·4·3·6 + 6; 8·8·6·16 + 16; 16·10 + 10.
        assert_eq!(params, [294, 6160, 170]);
        for l in &m.layers {
            let numbers = [
                l.mean,
                l.std,
                l.stuck,
                l.grad_norm,
                l.update_ratio,
                l.out_min,
                l.out_max,
                l.grad_min,
                l.grad_max,
            ];
            assert!(numbers.iter().all(|v| v.is_finite()), "{l:?}");
            assert!(l.out_min <= l.mean && l.mean <= l.out_max, "{l:?}");
            assert!(l.grad_min <= l.grad_max && l.grad_norm > 0.0, "{l:?}");
            assert!(
                (0.0..=1.0).contains(&l.stuck) && l.update_ratio > 0.0,
                "{l:?}"
            );
        }
        // After a ReLU nothing is negative; the scores are.
        assert!(m.layers[0].out_min >= 0.0 && m.layers[2].out_min < 0.0);
    }

    /// A patchify channel with zero weights and a negative bias is zero after its ReLU at
    /// every position of every image: one of the six channels is counted dead.
    #[test]
    fn a_channel_forced_off_is_dead() {
        let data = data();
        let config = config();
        let mut stack = build_stack(&config, &data, &mut SmallRng::seed_from_u64(1)).unwrap();
        let norm = Normalizer::fit(&data.train, config.preprocess);
        let before = layer_stats(&stack, &norm, &data.val, &[], &[]);
        if let StackLayer::Linear { weights, bias } = &mut stack.layers[0] {
            weights.row_mut(0).fill(0.0);
            bias[0] = -1.0;
        }
        let after = layer_stats(&stack, &norm, &data.val, &[], &[]);
        assert_eq!(before[0].stuck, 0.0, "no channel was dead to begin with");
        assert!((after[0].stuck - 1.0 / 6.0).abs() < 1e-12, "{:?}", after[0]);
        // Without gradients, their columns say so rather than 0.
        assert!(after[0].grad_norm.is_nan() && after[0].grad_min.is_nan());
    }

    /// Batch norm joins its layer's row (its γ and β counted), an activation ends it, and a
    /// layer without one is not judged for dead units.
    #[test]
    fn rows_take_batch_norm_and_the_activation() {
        let config = TrainConfig {
            layers: "conv 3:4, bn, tanh, pool 2, dense 8".into(),
            ..config()
        };
        let stack = build_stack(&config, &data(), &mut SmallRng::seed_from_u64(1)).unwrap();
        let rows = rows(&stack);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["conv 3×3, 4 + bn + tanh", "dense 8", "scores (dense 10)"]
        );
        assert_eq!((rows[0].end, rows[0].params), (2, 3 * 3 * 3 * 4 + 4 + 8));
        assert_eq!(rows[0].activation, Some(Activation::Tanh));
        assert_eq!(rows[1].activation, None);
    }
}
