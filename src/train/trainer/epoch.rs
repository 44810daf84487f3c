//! The end of an epoch: its metrics, the gradient histograms and each layer's health
//! (dead or saturated units, weight and update norms).

use super::*;

impl Trainer {
    /// Gradient histograms of each weight matrix on the last mini-batch.
    pub(super) fn gradient_histograms(&mut self) -> Vec<Histogram> {
        // The team path leaves no whole batch in `batch_x`: gather the last one again.
        let b = self.last_batch.min(self.cursor);
        if b == 0 {
            return Vec::new();
        }
        self.gather_batch(self.cursor - b, b);
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
                lambda: self.live.lambda as f32,
                out: &mut self.gradients,
            }),
        );
        let l1 = self.settings.start.l1 as f32;
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
        let gradient_histograms = self.gradient_histograms();
        // An epoch the last cycle cut short says how far it got; the next starts afresh.
        let images = (self.cursor < self.order.len()).then_some(self.cursor);
        self.cursor = self.order.len();
        self.steps_at_epoch_end = self.steps_done;
        let train = self.evaluate(Subset::Train);
        let val = self.evaluate(Subset::Val);
        let layers = self.layer_stats();
        self.epoch_active += started.elapsed();
        let seconds = std::mem::take(&mut self.epoch_active).as_secs_f64();
        self.epoch_seconds.push(seconds);
        self.epochs_done += 1;
        let m = EpochMetrics {
            epoch: self.epochs_done,
            step: self.steps_done,
            eta: self.last_eta,
            lambda: self.live.lambda,
            train,
            val,
            seconds,
            gradient_histograms,
            live: Some(self.live),
            optimizer: self.live.optimizer,
            optimizer_switches: std::mem::take(&mut self.optimizer_switches),
            layers,
            images,
        };
        self.history.push(m.clone());
        m
    }

    /// Per-layer health: output statistics on the validation set, and the gradient norms and
    /// update ratios of the gradients [`Self::gradient_histograms`] just stored.
    pub(super) fn layer_stats(&self) -> Vec<LayerStats> {
        let layers = self.net.layers.len();
        let (mean, std, stuck) = self
            .pool
            .install(|| activation_stats(&self.net, &self.normalizer, &self.data.val));
        let updates = if self.gradients.len() != layers {
            vec![f64::NAN; layers]
        } else if self.live.optimizer == OptimizerKind::Sgd {
            self.gradients
                .iter()
                .map(|g| self.last_eta * frobenius(g.weights.iter()))
                .collect()
        } else {
            self.optimizer
                .weight_update_norms(&self.net, &self.gradients, self.last_eta)
        };
        (0..layers)
            .map(|l| {
                let grad_norm = self
                    .gradients
                    .get(l)
                    .map_or(f64::NAN, |g| frobenius(g.weights.iter()));
                LayerStats {
                    mean: mean[l],
                    std: std[l],
                    stuck: stuck[l],
                    grad_norm,
                    update_ratio: updates[l] / frobenius(self.net.layers[l].weights.iter()),
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

/// √(Σ v²).
pub(super) fn frobenius<'a>(values: impl Iterator<Item = &'a f32>) -> f64 {
    values.map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt()
}

/// Whether a unit's output `a` counts as stuck: a ReLU that is off, a sigmoid or tanh whose
/// derivative is below [`SATURATED_SLOPE`] of its largest value.
pub(super) fn is_stuck(act: Activation, a: f32) -> bool {
    let a = f64::from(a);
    match act {
        Activation::Relu => a <= 0.0,
        Activation::Tanh => 1.0 - a * a < SATURATED_SLOPE,
        Activation::Sigmoid => a * (1.0 - a) < 0.25 * SATURATED_SLOPE,
    }
}

/// Per layer: mean and standard deviation of the outputs over `set`, and the share of
/// units that are dead or saturated (see [`crate::train::metrics::SATURATED_SLOPE`]).
pub(super) fn activation_stats(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    const BLOCK: usize = 256;
    let layers = net.layers.len();
    let widths: Vec<usize> = net.layers.iter().map(|l| l.weights.nrows()).collect();
    let dim = set.shape.dim();
    let n = set.len();
    let mut sum = vec![0f64; layers];
    let mut sum_sq = vec![0f64; layers];
    let mut stuck_count: Vec<Vec<usize>> = widths.iter().map(|&w| vec![0; w]).collect();
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
        for l in 0..layers {
            let out = ws.layer_output(l, rows);
            for row in out.rows() {
                for (j, &a) in row.iter().enumerate() {
                    sum[l] += f64::from(a);
                    sum_sq[l] += f64::from(a) * f64::from(a);
                    if l + 1 < layers && is_stuck(net.activation, a) {
                        stuck_count[l][j] += 1;
                    }
                }
            }
        }
        start = end;
    }
    let needed = match net.activation {
        Activation::Relu => n,
        _ => (SATURATED_SHARE * n as f64).ceil() as usize,
    };
    let mut mean = Vec::with_capacity(layers);
    let mut std = Vec::with_capacity(layers);
    let mut stuck = Vec::with_capacity(layers);
    for l in 0..layers {
        let count = (n * widths[l]).max(1) as f64;
        let m = sum[l] / count;
        mean.push(m);
        std.push((sum_sq[l] / count - m * m).max(0.0).sqrt());
        let units = stuck_count[l]
            .iter()
            .filter(|&&c| n > 0 && c >= needed)
            .count();
        stuck.push(if l + 1 < layers {
            units as f64 / widths[l] as f64
        } else {
            0.0
        });
    }
    (mean, std, stuck)
}
