//! Evaluation: cost, loss and accuracy of a set (or a subset) under the current weights, in
//! blocks over the threads, and the run's summary.

use super::*;

impl Trainer {
    /// Evaluates one of the sets with the current model and live loss and λ (and λ₁).
    pub fn evaluate(&self, which: Subset) -> Evaluation {
        let set = match which {
            Subset::Train => &self.data.train,
            Subset::Val => &self.data.val,
            Subset::Test => &self.data.test,
        };
        let mut eval = self.pool.install(|| {
            evaluate_set(
                &self.net,
                &self.normalizer,
                set,
                self.live.loss,
                self.live.lambda,
            )
        });
        let l1 = self.settings.start.l1;
        if l1 > 0.0 {
            eval.cost += l1 * crate::model::l1::weight_abs_sum(&self.net);
        }
        eval
    }

    /// The summary of the run so far, with `test` the test-set evaluation.
    pub fn summary(&self, test: &Evaluation, seconds: f64) -> Summary {
        let last = self.history.last();
        let pick = |f: fn(&EpochMetrics) -> f64| last.map(f).unwrap_or(f64::NAN);
        Summary {
            train_cost: pick(|m| m.train.cost),
            train_acc: pick(|m| m.train.accuracy),
            val_cost: pick(|m| m.val.cost),
            val_acc: pick(|m| m.val.accuracy),
            test_cost: test.cost,
            test_acc: test.accuracy,
            epochs: self.epochs_done,
            seconds,
            epoch_seconds_median: median(&self.epoch_seconds),
            status: crate::train::metrics::RunStatus::Finished,
        }
    }
}

/// What one part of an evaluation adds up.
pub(super) struct PartialEvaluation {
    loss_sum: f64,
    confusion: Vec<u32>,
    truth: TruthProbability,
}

/// Sums of losses, confusion counts and true-class probabilities over `range` of `set`; the
/// first layer reads the images' bytes through `folded` (no normalised copy is made).
pub(super) fn evaluate_range(
    net: &Network<f32>,
    folded: &FoldedWeights,
    set: &ImageSet,
    range: Range<usize>,
    loss: LossKind,
) -> PartialEvaluation {
    let dim = set.shape.dim();
    let classes = net.classes();
    let mut ws = Workspace::new(net, EVAL_BLOCK);
    let mut probs = vec![0f32; classes];
    let mut part = PartialEvaluation {
        loss_sum: 0.0,
        confusion: vec![0; classes * classes],
        truth: TruthProbability::default(),
    };
    let mut images: Vec<&[u8]> = Vec::with_capacity(EVAL_BLOCK);
    let mut start = range.start;
    while start < range.end {
        let end = (start + EVAL_BLOCK).min(range.end);
        let rows = end - start;
        let labels = &set.labels[start..end];
        images.clear();
        images.extend(set.pixels[start * dim..end * dim].chunks_exact(dim));
        kernels::bytes_wt(&images, folded, ws.first_product_mut(net, rows));
        part.loss_sum += net.loss_after_first_product(rows, labels, loss, &mut ws);
        for ((&y, &p), scores) in labels
            .iter()
            .zip(&ws.predictions[..rows])
            .zip(ws.scores(rows).rows())
        {
            part.confusion[usize::from(y) * classes + usize::from(p)] += 1;
            let scores = scores.as_slice().expect("score rows are contiguous");
            probabilities(loss, scores, &mut probs);
            part.truth.add(probs[usize::from(y)], y == p);
        }
        start = end;
    }
    part
}

/// Evaluates `range` split into `pieces` parts run in parallel on the current rayon pool.
pub(super) fn eval_parallel(
    net: &Network<f32>,
    folded: &FoldedWeights,
    set: &ImageSet,
    range: Range<usize>,
    loss: LossKind,
    pieces: usize,
) -> Vec<PartialEvaluation> {
    if pieces <= 1 || range.len() < 2 * 1024 {
        return vec![evaluate_range(net, folded, set, range, loss)];
    }
    let mid = range.start + range.len() / 2;
    let (mut a, b) = rayon::join(
        || eval_parallel(net, folded, set, range.start..mid, loss, pieces / 2),
        || eval_parallel(net, folded, set, mid..range.end, loss, pieces - pieces / 2),
    );
    a.extend(b);
    a
}

/// Evaluates `net` on all of `set`, using the cores of the current rayon pool.
pub fn evaluate_set(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
    loss: LossKind,
    lambda: f64,
) -> Evaluation {
    let n = set.len();
    let classes = net.classes();
    let folded = FoldedWeights::new(net.layers[0].weights.view(), &norm.mean, &norm.scale);
    let parts = eval_parallel(net, &folded, set, 0..n, loss, rayon::current_num_threads());
    let mut confusion = vec![0u32; classes * classes];
    let mut total = 0.0;
    let mut truth_probability = TruthProbability::default();
    for part in parts {
        total += part.loss_sum;
        for (a, b) in confusion.iter_mut().zip(part.confusion) {
            *a += b;
        }
        truth_probability.merge(&part.truth);
    }
    let correct: u64 = (0..classes)
        .map(|k| u64::from(confusion[k * classes + k]))
        .sum();
    let count = n.max(1) as f64;
    let mean_loss = total / count;
    Evaluation {
        loss: mean_loss,
        cost: mean_loss + lambda * net.weight_norm_sq(),
        accuracy: correct as f64 / count,
        count: n,
        confusion,
        truth_probability,
    }
}
