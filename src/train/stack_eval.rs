//! Evaluating a layer stack ([`crate::model::stack`]) on a set of images: the same
//! [`Evaluation`] the MLP's engine makes (loss, cost, accuracy, confusion counts and the
//! probability given to the true class), so records, plots and reports read both alike.

use std::ops::Range;

use super::metrics::{Evaluation, TruthProbability};
use crate::data::{ImageSet, Normalizer};
use crate::model::LossKind;
use crate::model::loss::probabilities;
use crate::model::stack::{ImageBatch, Stack, StackPass, StackWorkspace};

/// Most images per block when evaluating.
const EVAL_BLOCK: usize = 500;
/// Bytes a block's workspace may take: a ConvNet's patch matrices and maps take ~1.5 MB per
/// image (the a3-bonus net), so 500 images at once made a 740 MB workspace (and the run
/// peaked at 944 MB; with 16 MB blocks, under 500 MB).
const EVAL_BYTES: usize = 16 << 20;

/// Images per evaluation block for `stack`: as many as keep its workspace (every layer's
/// output and gradient, every patch matrix and its gradient) within [`EVAL_BYTES`], between
/// 16 and [`EVAL_BLOCK`].
pub(crate) fn eval_block(stack: &Stack<f32>) -> usize {
    let maps: usize = stack.shapes.iter().map(|s| 2 * s.size()).sum();
    let patches: usize = (0..stack.specs.len())
        .filter_map(|i| stack.window(i))
        .map(|w| 2 * w.positions() * w.patch_len())
        .sum();
    let per_image = 4 * (maps + patches).max(1);
    (EVAL_BYTES / per_image).clamp(16, EVAL_BLOCK)
}

/// What one part of an evaluation adds up (the MLP's engine sums the same).
type Part = super::eval_parts::EvalPart;

/// Sums over the images `range` of `set`, in blocks, on the calling thread.
fn evaluate_range(
    stack: &Stack<f32>,
    normalizer: &Normalizer,
    set: &ImageSet,
    range: Range<usize>,
    loss: LossKind,
) -> Part {
    let classes = stack.classes();
    let block = eval_block(stack).min(range.len().max(1));
    let mut ws = StackWorkspace::new(stack, block);
    let mut probs = vec![0f32; classes];
    let mut row = vec![0f32; classes];
    let mut part = Part {
        loss_sum: 0.0,
        confusion: vec![0; classes * classes],
        truth: TruthProbability::default(),
    };
    let indices: Vec<usize> = range.collect();
    for chunk in indices.chunks(block) {
        let b = chunk.len();
        let labels = &set.labels[chunk[0]..chunk[0] + b];
        // The first layer reads the images' bytes where they lie (no normalised copy).
        let images = ImageBatch {
            set,
            indices: chunk,
            augments: None,
            normalizer,
        };
        part.loss_sum += stack.loss(images, labels, loss, &mut ws, StackPass::Eval) * b as f64;
        for ((&y, &p), scores) in labels
            .iter()
            .zip(&ws.predictions[..b])
            .zip(ws.scores().rows())
        {
            part.confusion[usize::from(y) * classes + usize::from(p)] += 1;
            for (r, &s) in row.iter_mut().zip(scores) {
                *r = s;
            }
            probabilities(loss, &row, &mut probs);
            part.truth.add(probs[usize::from(y)], y == p);
        }
    }
    part
}

/// Loss (of kind `loss`, one-hot targets), cost (`+ lambda Σ‖W‖²`), accuracy, confusion and
/// true-class probabilities of `stack` on the first `limit` images of `set` (all when
/// `None`), in evaluation mode, in blocks on the calling thread whose products split over
/// the current rayon pool. (Splitting the images among the pool's threads instead, each
/// with its products unsplit, measured slower on 2 cores: 0.92 s against 0.62 s for the
/// training and validation sets of the patchify 4:10 net.)
pub fn evaluate_stack(
    stack: &Stack<f32>,
    normalizer: &Normalizer,
    set: &ImageSet,
    limit: Option<usize>,
    loss: LossKind,
    lambda: f64,
) -> Evaluation {
    let n = limit.map_or(set.len(), |l| l.min(set.len()));
    let parts = [evaluate_range(stack, normalizer, set, 0..n, loss)];
    super::eval_parts::evaluation(parts, n, stack.classes(), lambda, stack.weight_norm_sq())
}
