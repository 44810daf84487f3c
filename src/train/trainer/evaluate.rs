//! Evaluation: cost, loss and accuracy of a set (or a subset) under the current weights, in
//! blocks over the threads, and the run's summary.

use super::*;

impl Trainer {
    /// Evaluates one of the sets with the current model and live loss and λ (and λ₁).
    pub fn evaluate(&self, which: Subset) -> Evaluation {
        let set = which.of(&self.data);
        let mut eval = self.pool.install(|| {
            evaluate_set(
                &self.net,
                &self.normalizer,
                set,
                self.progress.live.loss,
                self.progress.live.lambda,
            )
        });
        let l1 = self.progress.settings.start.l1;
        if l1 > 0.0 {
            eval.cost += l1 * crate::model::l1::weight_abs_sum(&self.net);
        }
        eval
    }

    /// The summary of the run so far, with `test` the test-set evaluation.
    pub fn summary(&self, test: &Evaluation, seconds: f64) -> Summary {
        self.progress.summary(test, seconds)
    }
}

/// Sums of losses, confusion counts and true-class probabilities over `range` of `set`; the
/// first layer reads the images' bytes through `folded` (no normalised copy is made).
pub(super) fn evaluate_range(
    net: &Network<f32>,
    folded: &FoldedWeights,
    set: &ImageSet,
    range: Range<usize>,
    loss: LossKind,
) -> EvalPart {
    let dim = set.shape.dim();
    let classes = net.classes();
    let mut ws = Workspace::new(net, EVAL_BLOCK);
    let mut probs = vec![0f32; classes];
    let mut part = EvalPart {
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
) -> Vec<EvalPart> {
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
    let folded = FoldedWeights::new(net.layers[0].weights.view(), &norm.mean, &norm.scale);
    let parts = eval_parallel(net, &folded, set, 0..n, loss, rayon::current_num_threads());
    evaluation(parts, n, net.classes(), lambda, net.weight_norm_sq())
}
