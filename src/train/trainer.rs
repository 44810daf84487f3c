//! The training engine: mini-batch gradient descent over `u8` images, evaluation, and the
//! bookkeeping of a run. Runs anywhere (worker thread, CLI, tests, benchmarks).

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::metrics::{EpochMetrics, Evaluation, Histogram, Summary, median};
use super::schedule::learning_rate;
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::network::GradientUse;
use crate::model::{Layer, LossKind, Network, Workspace};

/// Rows per block in the evaluation pass: the block's normalised pixels (≈400 KB) stay in cache.
const EVAL_BLOCK: usize = 32;
/// Bins of the gradient histograms.
const HISTOGRAM_BINS: usize = 41;

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// Mean loss of the mini-batch (before the update).
    pub batch_loss: f64,
    /// Learning rate used.
    pub eta: f64,
    /// Images in the mini-batch.
    pub images: usize,
    /// True when this step finished a pass over the training set.
    pub epoch_complete: bool,
}

/// Which of the three sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// Training set.
    Train,
    /// Validation set.
    Val,
    /// Test set.
    Test,
}

/// A training run in progress: data, model, optimiser state and history.
pub struct Trainer {
    config: TrainConfig,
    live: LiveParams,
    data: Arc<Splits>,
    normalizer: Arc<Normalizer>,
    flip_perm: Vec<usize>,
    net: Network<f32>,
    ws: Workspace<f32>,
    batch_x: Vec<f32>,
    batch_labels: Vec<u8>,
    batch_flips: Vec<bool>,
    gradients: Vec<Layer<f32>>,
    order: Vec<usize>,
    cursor: usize,
    epochs_done: usize,
    steps_done: usize,
    rng: SmallRng,
    epoch_active: Duration,
    epoch_seconds: Vec<f64>,
    history: Vec<EpochMetrics>,
    last_eta: f64,
    pool: Arc<rayon::ThreadPool>,
}

/// The thread pool every trainer shares: one thread per core.
fn shared_pool() -> Arc<rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Arc<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1);
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("trainviz-compute-{i}"))
                .build()
                .unwrap_or_else(|_| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(1)
                        .build()
                        .expect("a one-thread pool can always be built")
                }),
        )
    })
    .clone()
}

impl Trainer {
    /// A new run on `data`, normalised by `normalizer` (fitted on `data.train`; pass `None`
    /// to fit it here).
    pub fn new(
        config: TrainConfig,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let normalizer =
            normalizer.unwrap_or_else(|| Arc::new(Normalizer::fit(&data.train, config.preprocess)));
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let dim = data.shape().dim();
        let net = Network::new(
            dim,
            &config.hidden,
            data.num_classes(),
            config.activation,
            config.init,
            config.sigma,
            &mut rng,
        );
        let ws = Workspace::new(&net, config.batch);
        let n = data.train.len();
        Ok(Trainer {
            live: config.live(),
            flip_perm: data.shape().flip_permutation(),
            ws,
            batch_x: vec![0.0; config.batch * dim],
            batch_labels: vec![0; config.batch],
            batch_flips: vec![false; config.batch],
            gradients: Vec::new(),
            order: (0..n).collect(),
            cursor: n,
            epochs_done: 0,
            steps_done: 0,
            rng,
            epoch_active: Duration::ZERO,
            epoch_seconds: Vec::new(),
            history: Vec::new(),
            last_eta: config.eta,
            pool: shared_pool(),
            config,
            data,
            normalizer,
            net,
        })
    }

    /// The run's settings (live ones as they are now).
    pub fn config(&self) -> TrainConfig {
        let mut c = self.config.clone();
        c.set_live(&self.live);
        c
    }
    /// The data.
    pub fn data(&self) -> &Arc<Splits> {
        &self.data
    }
    /// The input normaliser.
    pub fn normalizer(&self) -> &Arc<Normalizer> {
        &self.normalizer
    }
    /// The model as it is now.
    pub fn network(&self) -> &Network<f32> {
        &self.net
    }
    /// Replaces the model (e.g. to restore the last good weights after divergence).
    pub fn set_network(&mut self, net: Network<f32>) {
        self.net = net;
    }
    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }
    /// Steps taken since the start.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }
    /// Metrics of every completed epoch.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }
    /// True when the configured number of epochs is done.
    pub fn is_finished(&self) -> bool {
        self.epochs_done >= self.config.epochs
    }
    /// Sets the number of epochs to train (to continue a finished run).
    pub fn set_epochs(&mut self, epochs: usize) {
        self.config.epochs = epochs.max(1);
    }
    /// Mini-batches per epoch at the current batch size.
    pub fn steps_per_epoch(&self) -> usize {
        self.data.train.len().div_ceil(self.live.batch)
    }
    /// Position in the current epoch: images already used.
    pub fn images_into_epoch(&self) -> usize {
        if self.cursor >= self.order.len() {
            0
        } else {
            self.cursor
        }
    }
    /// The learning rate the next step will use.
    pub fn current_eta(&self) -> f64 {
        learning_rate(
            &self.config,
            self.live.eta,
            self.live.decay,
            self.epochs_done,
            self.steps_done,
        )
    }
    /// The live hyperparameters.
    pub fn live(&self) -> LiveParams {
        self.live
    }
    /// Changes hyperparameters; they apply from the next step.
    pub fn set_live(&mut self, live: LiveParams) -> Result<(), ConfigError> {
        let mut c = self.config.clone();
        c.set_live(&live);
        c.validate()?;
        self.live = live;
        let dim = self.data.shape().dim();
        if live.batch > self.batch_labels.len() {
            self.batch_x.resize(live.batch * dim, 0.0);
            self.batch_labels.resize(live.batch, 0);
            self.batch_flips.resize(live.batch, false);
        }
        Ok(())
    }

    /// One mini-batch step of gradient descent.
    pub fn step(&mut self) -> StepOutcome {
        let pool = self.pool.clone();
        pool.install(|| self.step_here())
    }

    /// Steps until `budget` has passed, the epoch completes or a loss is not finite; calls
    /// `on_step` after each. Cheaper than [`Self::step`] in a loop: the thread pool is
    /// entered once.
    pub fn steps_for(
        &mut self,
        budget: Duration,
        mut on_step: impl FnMut(&StepOutcome) + Send,
    ) -> StepOutcome {
        let pool = self.pool.clone();
        pool.install(|| {
            let started = Instant::now();
            loop {
                let out = self.step_here();
                on_step(&out);
                if out.epoch_complete || !out.batch_loss.is_finite() || started.elapsed() >= budget
                {
                    return out;
                }
            }
        })
    }

    fn step_here(&mut self) -> StepOutcome {
        let started = Instant::now();
        let n = self.order.len();
        if self.cursor >= n {
            if self.config.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            self.cursor = 0;
        }
        let b = self.live.batch.min(n - self.cursor);
        let dim = self.data.shape().dim();
        let indices = &self.order[self.cursor..self.cursor + b];
        let flip_p = self.config.flip;
        for f in &mut self.batch_flips[..b] {
            *f = flip_p > 0.0 && self.rng.random::<f64>() < flip_p;
        }
        self.normalizer.gather(
            &self.data.train,
            indices,
            Some((&self.batch_flips[..b], &self.flip_perm)),
            &mut self.batch_x[..b * dim],
        );
        for (l, &i) in self.batch_labels.iter_mut().zip(indices) {
            *l = self.data.train.labels[i];
        }
        let eta = self.current_eta();
        let x = ArrayView2::from_shape((b, dim), &self.batch_x[..b * dim])
            .expect("batch buffer holds b rows of dim values");
        let total = self.net.loss_and_backward(
            x,
            &self.batch_labels[..b],
            self.live.loss,
            &mut self.ws,
            Some(GradientUse::Step {
                eta: eta as f32,
                lambda: self.live.lambda as f32,
            }),
        );
        self.cursor += b;
        self.steps_done += 1;
        self.last_eta = eta;
        self.epoch_active += started.elapsed();
        StepOutcome {
            batch_loss: total / b as f64,
            eta,
            images: b,
            epoch_complete: self.cursor >= n,
        }
    }

    /// Gradient histograms of each weight matrix on the last mini-batch.
    fn gradient_histograms(&mut self) -> Vec<Histogram> {
        let b = self
            .cursor
            .min(self.live.batch)
            .clamp(1, self.batch_labels.len());
        let dim = self.data.shape().dim();
        let x = ArrayView2::from_shape((b, dim), &self.batch_x[..b * dim])
            .expect("batch buffer holds b rows of dim values");
        self.net.loss_and_backward(
            x,
            &self.batch_labels[..b],
            self.live.loss,
            &mut self.ws,
            Some(GradientUse::Store {
                lambda: self.live.lambda as f32,
                out: &mut self.gradients,
            }),
        );
        self.gradients
            .iter()
            .map(|g| Histogram::symmetric(g.weights.iter().map(|&v| f64::from(v)), HISTOGRAM_BINS))
            .collect()
    }

    /// Closes the epoch that the last step completed: evaluates the training and validation
    /// sets and records the epoch.
    pub fn finish_epoch(&mut self) -> EpochMetrics {
        let started = Instant::now();
        let gradient_histograms = self.gradient_histograms();
        let train = self.evaluate(Subset::Train);
        let val = self.evaluate(Subset::Val);
        self.epoch_active += started.elapsed();
        let seconds = std::mem::take(&mut self.epoch_active).as_secs_f64();
        self.epoch_seconds.push(seconds);
        self.epochs_done += 1;
        let m = EpochMetrics {
            epoch: self.epochs_done,
            eta: self.last_eta,
            lambda: self.live.lambda,
            train,
            val,
            seconds,
            gradient_histograms,
        };
        self.history.push(m.clone());
        m
    }

    /// Runs steps until the epoch completes, then [`Self::finish_epoch`].
    pub fn run_epoch(&mut self) -> EpochMetrics {
        while !self
            .steps_for(Duration::from_secs(3600), |_| {})
            .epoch_complete
        {}
        self.finish_epoch()
    }

    /// Evaluates one of the sets with the current model and live loss and λ.
    pub fn evaluate(&self, which: Subset) -> Evaluation {
        let set = match which {
            Subset::Train => &self.data.train,
            Subset::Val => &self.data.val,
            Subset::Test => &self.data.test,
        };
        self.pool.install(|| {
            evaluate_set(
                &self.net,
                &self.normalizer,
                set,
                self.live.loss,
                self.live.lambda,
            )
        })
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
        }
    }
}

/// Sum of losses, correct count and confusion counts over `range` of `set`.
fn evaluate_range(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
    range: Range<usize>,
    loss: LossKind,
    confusion: &mut [u32],
) -> f64 {
    let dim = set.shape.dim();
    let classes = net.classes();
    let mut ws = Workspace::new(net, EVAL_BLOCK);
    let mut buf = vec![0f32; EVAL_BLOCK * dim];
    let mut total = 0.0;
    let mut start = range.start;
    while start < range.end {
        let end = (start + EVAL_BLOCK).min(range.end);
        let rows = end - start;
        for (i, row) in (start..end).zip(buf.chunks_exact_mut(dim)) {
            norm.write_row(set.image(i), None, row);
        }
        let x = ArrayView2::from_shape((rows, dim), &buf[..rows * dim])
            .expect("block buffer holds rows × dim values");
        total += net.loss(x, &set.labels[start..end], loss, &mut ws);
        for (&y, &p) in set.labels[start..end].iter().zip(&ws.predictions[..rows]) {
            confusion[usize::from(y) * classes + usize::from(p)] += 1;
        }
        start = end;
    }
    total
}

/// Evaluates `range` split into `pieces` parts run in parallel on the current rayon pool.
fn eval_parallel(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
    range: Range<usize>,
    loss: LossKind,
    pieces: usize,
) -> Vec<(f64, Vec<u32>)> {
    if pieces <= 1 || range.len() < 2 * 1024 {
        let classes = net.classes();
        let mut confusion = vec![0u32; classes * classes];
        let total = evaluate_range(net, norm, set, range, loss, &mut confusion);
        return vec![(total, confusion)];
    }
    let mid = range.start + range.len() / 2;
    let (mut a, b) = rayon::join(
        || eval_parallel(net, norm, set, range.start..mid, loss, pieces / 2),
        || eval_parallel(net, norm, set, mid..range.end, loss, pieces - pieces / 2),
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
    let parts = eval_parallel(net, norm, set, 0..n, loss, rayon::current_num_threads());
    let mut confusion = vec![0u32; classes * classes];
    let mut total = 0.0;
    for (t, c) in parts {
        total += t;
        for (a, b) in confusion.iter_mut().zip(c) {
            *a += b;
        }
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
    }
}
