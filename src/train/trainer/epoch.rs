//! The end of an epoch: its metrics, the gradient histograms and each layer's health
//! (dead or saturated units, weight and update norms).

use super::*;

impl Trainer {
    /// Gradient histograms of each weight matrix on the last mini-batch.
    pub(super) fn gradient_histograms(&mut self) -> Vec<Histogram> {
        // The team path leaves no whole batch in `batch_x`: gather the last one again.
        let b = self.last_batch.min(self.progress.cursor);
        if b == 0 {
            return Vec::new();
        }
        self.gather_batch(self.progress.cursor - b, b);
        let dim = self.data.shape().dim();
        let x = ArrayView2::from_shape((b, dim), &self.batch_x[..b * dim])
            .expect("batch buffer holds b rows of dim values");
        let loss = self.training_loss();
        self.net.loss_and_backward(
            x,
            &self.batch_labels[..b],
            loss,
            &mut self.ws,
            Some(GradientUse::Store {
                lambda: self.progress.live.lambda as f32,
                out: &mut self.gradients,
            }),
        );
        let l1 = self.progress.settings.start.l1 as f32;
        if l1 > 0.0 {
            crate::model::l1::add_gradient(&self.net, &mut self.gradients, l1);
        }
        self.gradients
            .iter()
            .map(|g| Histogram::of_matrix(&g.weights))
            .collect()
    }

    /// Closes the epoch that the last step completed: evaluates the training and validation
    /// sets and records the epoch.
    pub fn finish_epoch(&mut self) -> EpochMetrics {
        let started = Instant::now();
        // Before the pass ends: the last batch is found from the cursor.
        let gradient_histograms = self.gradient_histograms();
        // An epoch the last cycle cut short says how far it got; the next starts afresh.
        let images = self.progress.end_pass();
        let train = self.evaluate(Subset::Train);
        let val = self.evaluate(Subset::Val);
        let layers = self.layer_stats();
        self.progress
            .close_epoch(started, images, [train, val], gradient_histograms, layers)
    }

    /// Per-layer health: output statistics on the validation set, and the gradient norms,
    /// ranges and update ratios of the gradients [`Self::gradient_histograms`] just stored.
    pub(super) fn layer_stats(&self) -> Vec<LayerStats> {
        let layers = self.net.layers.len();
        let outputs = self
            .pool
            .install(|| activation_stats(&self.net, &self.normalizer, &self.data.val));
        let updates = if self.gradients.len() != layers {
            vec![f64::NAN; layers]
        } else if self.progress.live.optimizer == OptimizerKind::Sgd {
            self.gradients
                .iter()
                .map(|g| self.progress.last_eta * frobenius(g.weights.iter()))
                .collect()
        } else {
            self.optimizer
                .weight_update_norms(&self.net, &self.gradients, self.progress.last_eta)
        };
        outputs
            .into_iter()
            .enumerate()
            .map(|(l, out)| {
                let grad = self.gradients.get(l).map(|g| g.weights.iter());
                let (grad_min, grad_max) = grad.clone().map_or((f64::NAN, f64::NAN), value_range);
                let layer = &self.net.layers[l];
                LayerStats {
                    name: String::new(),
                    mean: out.mean,
                    std: out.std,
                    // The class scores have no activation: none of them is stuck.
                    stuck: if l + 1 < layers { out.stuck } else { 0.0 },
                    grad_norm: grad.map_or(f64::NAN, frobenius),
                    update_ratio: updates[l] / frobenius(layer.weights.iter()),
                    out_min: out.min,
                    out_max: out.max,
                    grad_min,
                    grad_max,
                    params: layer.weights.len() + layer.bias.len(),
                }
            })
            .collect()
    }

    /// Runs steps until the epoch completes, then [`Self::finish_epoch`].
    pub fn run_epoch(&mut self) -> EpochMetrics {
        while !self
            .steps_for(Duration::from_secs(3600), |_| {})
            .epoch_complete
        {}
        self.finish_epoch()
    }
}

/// Per layer: the outputs over `set` summed up (see [`OutputTally`]): mean, spread, range
/// and the share of units that are dead or saturated (see
/// [`crate::train::metrics::SATURATED_SLOPE`]).
pub(super) fn activation_stats(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
) -> Vec<OutputSummary> {
    const BLOCK: usize = 256;
    let layers = net.layers.len();
    let dim = set.shape.dim();
    let n = set.len();
    let mut tallies: Vec<OutputTally> = net
        .layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let act = (l + 1 < layers).then_some(net.activation);
            OutputTally::new(layer.weights.nrows(), act)
        })
        .collect();
    let mut ws = Workspace::new(net, BLOCK);
    let mut buf = vec![0f32; BLOCK * dim];
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let rows = end - start;
        for (i, row) in (start..end).zip(buf.chunks_exact_mut(dim)) {
            norm.write_row(set.image(i), None, row);
        }
        let x = ArrayView2::from_shape((rows, dim), &buf[..rows * dim])
            .expect("block buffer holds rows × dim values");
        net.forward(x, &mut ws);
        for (l, tally) in tallies.iter_mut().enumerate() {
            tally.add(ws.layer_output(l, rows));
        }
        start = end;
    }
    tallies.iter().map(OutputTally::finish).collect()
}
