//! The training engine: mini-batch gradient descent over `u8` images, evaluation, and the
//! bookkeeping of a run. Runs anywhere (worker thread, CLI, tests, benchmarks).

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndarray::{ArrayView2, ArrayViewMut2, s};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::metrics::{
    EpochMetrics, Evaluation, Histogram, LayerStats, OptimizerSwitch, SATURATED_SHARE,
    SATURATED_SLOPE, Summary, TruthProbability, median,
};
use super::optimizer::{Optimizer, OptimizerKind};
use super::record::{RunSettings, SettingChange};
use super::schedule::{cycle_epochs, cycle_steps, learning_rate};
use super::steps::EvalPoint;
use super::team;
use crate::data::augment::{self, Augment};
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::kernels::{self, FoldedWeights};
use crate::model::loss::{Loss, probabilities};
use crate::model::network::GradientUse;
use crate::model::{Activation, Layer, LossKind, Network, Pass, Workspace};

/// Rows per block in the evaluation pass: the block's normalised pixels (≈400 KB) stay in cache.
const EVAL_BLOCK: usize = 32;
/// Steps with fewer multiply-adds in the first layer than this stay on one thread, and each
/// thread of a shared step gets at least half this many.
const TEAM_MIN_WORK: usize = 1_000_000;
pub use super::config::MAX_THREADS;
pub use crate::env::ONE_THREAD as ONE_THREAD_ENV;

/// Threads a run uses when none are named: one per core, or one when [`ONE_THREAD_ENV`] is
/// set.
pub fn default_threads() -> usize {
    if crate::env::one_thread() {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The cores of this machine (one when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

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
    /// The starting settings and every change since: the one record of what this run trains
    /// with. `live` is the last change's values, kept apart only so a step need not search.
    settings: RunSettings,
    live: LiveParams,
    data: Arc<Splits>,
    normalizer: Arc<Normalizer>,
    /// The bytes that pixels shifted in by a translation take (see [`augment::fill_bytes`]).
    fill: Arc<[u8]>,
    net: Network<f32>,
    ws: Workspace<f32>,
    batch_x: Vec<f32>,
    batch_labels: Vec<u8>,
    /// How each image of the batch is mirrored and shifted.
    batch_augments: Vec<Augment>,
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
    /// Size of the last step's batch (it ends at `cursor`).
    last_batch: usize,
    /// Steps done when the last epoch was closed by [`Self::finish_epoch`].
    steps_at_epoch_end: usize,
    /// How many threads steps and evaluation use.
    threads: usize,
    /// The threads' scratch for augmented rows of their parts of a batch, kept between calls.
    team_buffers: Vec<Vec<u8>>,
    /// `threads` threads for evaluation and for products on one step thread.
    pool: Arc<rayon::ThreadPool>,
    /// State of the optimiser (unused by plain SGD, which is fused into the backward pass).
    optimizer: Optimizer,
    /// Optimiser changes since the last finished epoch.
    optimizer_switches: Vec<OptimizerSwitch>,
    /// η growing step by step in place of the schedule (the learning-rate range test).
    eta_ramp: Option<EtaRamp>,
}

/// η growing by a constant factor each step, in place of the run's schedule: the
/// learning-rate range test's probe (see [`super::lr_range`]). Not a setting of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EtaRamp {
    /// η of the first step.
    pub start: f64,
    /// Factor between the η of one step and the next.
    pub growth: f64,
    /// The step count at which the ramp began.
    pub from_step: usize,
}

/// The forward pass of a training step: with inverted dropout at `rate` when it is above 0.
fn training_pass(rate: f64, rng: &mut SmallRng) -> Pass<'_> {
    if rate > 0.0 {
        Pass::Dropout { rate, rng }
    } else {
        Pass::Batch
    }
}

/// A thread pool of `threads` threads, shared by every trainer given that many. Its threads
/// are started by the first trainer that asks and inherit that thread's priority (the
/// worker's lowered one in the window).
pub(crate) fn pool_with(threads: usize) -> Arc<rayon::ThreadPool> {
    type Pools = std::collections::HashMap<usize, Arc<rayon::ThreadPool>>;
    static POOLS: std::sync::Mutex<Option<Pools>> = std::sync::Mutex::new(None);
    let mut pools = POOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pools
        .get_or_insert_with(Pools::new)
        .entry(threads)
        .or_insert_with(|| {
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
        let mut config = config;
        let n = data.train.len();
        if let Some(epochs) = cycle_epochs(&config, n.div_ceil(config.batch)) {
            // The run ends with its last cycle: plan the epochs that takes.
            super::config::EPOCHS
                .check(epochs as f64)
                .map_err(|_| ConfigError::OutOfRange {
                    name: "cycles",
                    value: config.cycles.to_string(),
                    allowed: format!(
                        "cycles that fit in {} epochs of {n} training images (these take {epochs})",
                        super::config::EPOCHS.max
                    ),
                })?;
            config.epochs = epochs;
        }
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
        )
        .with_batch_norm(config.batch_norm);
        let ws = Workspace::new(&net, config.batch);
        let threads = config.threads.unwrap_or_else(default_threads);
        Ok(Trainer {
            live: config.live(),
            fill: augment::fill_bytes(&normalizer.mean).into(),
            ws,
            batch_x: vec![0.0; config.batch * dim],
            batch_labels: vec![0; config.batch],
            batch_augments: vec![Augment::default(); config.batch],
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
            last_batch: 0,
            steps_at_epoch_end: 0,
            threads,
            team_buffers: Vec::new(),
            pool: pool_with(threads),
            optimizer: Optimizer::new(config.optimizer_settings()),
            optimizer_switches: Vec::new(),
            eta_ramp: None,
            settings: RunSettings::new(config),
            data,
            normalizer,
            net,
        })
    }

    /// The run's settings in force now (the start with every change applied).
    pub fn config(&self) -> TrainConfig {
        self.settings.in_force()
    }
    /// The record of the run's settings: where it started and every change.
    pub fn settings(&self) -> &RunSettings {
        &self.settings
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
        // The state was built on the weights being replaced (and may hold NaNs).
        self.optimizer = Optimizer::new(self.config().optimizer_settings());
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
    /// True when the planned number of epochs is done; for a run that counts its cycles (see
    /// [`Self::step_limit`]), when the epoch of the last cycle's last step is closed.
    pub fn is_finished(&self) -> bool {
        match self.step_limit() {
            Some(limit) => self.steps_at_epoch_end >= limit,
            None => self.epochs_done >= self.settings.epochs(),
        }
    }
    /// The step after which the run ends, when its cyclic schedule counts its cycles and it
    /// has not been continued past them ("+N epochs" plans epochs instead).
    pub fn step_limit(&self) -> Option<usize> {
        if self.settings.changes.iter().any(|c| c.epochs.is_some()) {
            return None;
        }
        cycle_steps(&self.settings.start)
    }
    /// The loss the training steps minimise: the live kind with the run's label smoothing.
    /// (Evaluations measure the live kind with one-hot targets, so that runs with and
    /// without smoothing are measured alike.)
    pub fn training_loss(&self) -> Loss {
        Loss {
            kind: self.live.loss,
            smoothing: self.settings.start.label_smoothing,
        }
    }
    /// Plans `extra` more epochs beyond those done (continuing a run); recorded as a change.
    pub fn extend(&mut self, extra: usize) -> SettingChange {
        let change = SettingChange {
            step: self.steps_done,
            epoch: self.epochs_done,
            live: None,
            epochs: Some(self.epochs_done + extra.max(1)),
        };
        self.settings.record(change.clone());
        change
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
        if let Some(r) = self.eta_ramp {
            let n = self.steps_done.saturating_sub(r.from_step);
            return r.start * r.growth.powi(n as i32);
        }
        learning_rate(
            &self.settings.start,
            self.live.eta,
            self.live.decay,
            self.epochs_done,
            self.steps_done,
        )
    }
    /// Replaces the schedule by `ramp` from the next step on (`None`: the schedule again).
    /// Only for probes such as the learning-rate range test, whose trainer is thrown away:
    /// a ramp is not recorded among the run's settings.
    pub fn set_eta_ramp(&mut self, ramp: Option<EtaRamp>) {
        self.eta_ramp = ramp;
    }
    /// The live hyperparameters.
    pub fn live(&self) -> LiveParams {
        self.live
    }
    /// Changes hyperparameters from the next step on and records the change (`None` when
    /// nothing changed).
    pub fn set_live(&mut self, live: LiveParams) -> Result<Option<SettingChange>, ConfigError> {
        self.check_live(&live)?;
        let mut c = self.settings.start.clone();
        c.set_live(&live);
        if live == self.live {
            return Ok(None);
        }
        if live.optimizer != self.live.optimizer {
            // A different rule's state means nothing to the new one: start afresh.
            self.optimizer = Optimizer::new(c.optimizer_settings());
            self.optimizer_switches.push(OptimizerSwitch {
                step: self.steps_done,
                from: self.live.optimizer,
                to: live.optimizer,
            });
        }
        self.live = live;
        let change = SettingChange {
            step: self.steps_done,
            epoch: self.epochs_done,
            live: Some(live),
            epochs: None,
        };
        self.settings.record(change.clone());
        let dim = self.data.shape().dim();
        if live.batch > self.batch_labels.len() {
            self.batch_x.resize(live.batch * dim, 0.0);
            self.batch_labels.resize(live.batch, 0);
            self.batch_augments.resize(live.batch, Augment::default());
        }
        Ok(Some(change))
    }

    /// Whether the last step ends an evaluation interval (`eval_every` steps; never with
    /// `eval_every` = 0): [`Self::steps_for`] stops there, for [`Self::evaluate_point`].
    pub fn eval_due(&self) -> bool {
        let every = self.settings.start.eval_every;
        every > 0 && self.steps_done > 0 && self.steps_done.is_multiple_of(every)
    }

    /// Evaluates the training and validation sets now, within an epoch.
    pub fn evaluate_point(&self) -> EvalPoint {
        let n = self.data.train.len().max(1);
        EvalPoint {
            step: self.steps_done,
            epoch: self.epochs_done as f64 + self.images_into_epoch() as f64 / n as f64,
            eta: self.last_eta,
            live: self.live,
            train: (&self.evaluate(Subset::Train)).into(),
            val: (&self.evaluate(Subset::Val)).into(),
        }
    }

    /// Checks live hyperparameters against the run's settings without applying them.
    pub fn check_live(&self, live: &LiveParams) -> Result<(), ConfigError> {
        let mut c = self.settings.start.clone();
        c.set_live(live);
        c.validate()
    }

    /// One mini-batch step of gradient descent.
    pub fn step(&mut self) -> StepOutcome {
        let pool = self.pool.clone();
        pool.install(|| self.step_here())
    }

    /// Steps until `budget` has passed, the epoch completes or a loss is not finite; calls
    /// `on_step` after each. Cheaper than [`Self::step`] in a loop: the threads are set up
    /// once, and big enough steps are shared by the run's threads (see `team.rs`).
    pub fn steps_for(
        &mut self,
        budget: Duration,
        on_step: impl FnMut(&StepOutcome) + Send,
    ) -> StepOutcome {
        match self.team_parts() {
            Some(parts) => self.team_steps(parts, budget, on_step),
            None => self.steps_for_one_thread(budget, on_step),
        }
    }

    /// [`Self::steps_for`] on the calling thread (products may still use the pool).
    fn steps_for_one_thread(
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
                if out.epoch_complete
                    || !out.batch_loss.is_finite()
                    || started.elapsed() >= budget
                    || self.eval_due()
                {
                    return out;
                }
            }
        })
    }

    /// Continues a saved run: its weights, the epochs it already trained and the changes made
    /// while it trained (the learning-rate schedule and live values pick up where they were).
    pub fn restore(
        &mut self,
        net: Network<f32>,
        history: Vec<EpochMetrics>,
        changes: Vec<SettingChange>,
    ) {
        self.settings.changes = changes;
        self.live = self.settings.live();
        let dim = self.data.shape().dim();
        let batch = self.live.batch.max(self.batch_labels.len());
        self.batch_x.resize(batch * dim, 0.0);
        self.batch_labels.resize(batch, 0);
        self.batch_augments.resize(batch, Augment::default());
        self.ws = Workspace::new(&net, batch);
        self.net = net;
        self.optimizer = Optimizer::new(self.config().optimizer_settings());
        self.epochs_done = history.len();
        // Runs saved by older versions did not count their steps: estimate them (an epoch
        // cut short by the end of the last cycle took only its images' steps).
        let per_epoch = self.steps_per_epoch();
        self.steps_done = history
            .last()
            .map(|m| m.step)
            .filter(|&s| s > 0)
            .unwrap_or_else(|| {
                history
                    .iter()
                    .map(|m| m.images.map_or(per_epoch, |i| i.div_ceil(self.live.batch)))
                    .sum()
            });
        self.steps_at_epoch_end = self.steps_done;
        self.epoch_seconds = history.iter().map(|m| m.seconds).collect();
        if let Some(last) = history.last() {
            self.last_eta = last.eta;
        }
        self.history = history;
        self.cursor = self.order.len();
    }

    /// Sets how many threads steps and evaluation use from the next call (at least one;
    /// the default is the config's `threads`, else [`default_threads`]). Results agree up
    /// to float rounding for any count.
    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.clamp(1, MAX_THREADS);
        if threads != self.threads {
            self.threads = threads;
            self.pool = pool_with(threads);
        }
    }

    /// How many threads steps and evaluation use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The input columns of each thread of a shared step, when steps are big enough for
    /// two threads or more to pay (measured: a 100 × 3072 × 10 linear step gains ~1.6× on
    /// two); each thread gets at least half of [`TEAM_MIN_WORK`].
    fn team_parts(&self) -> Option<Vec<Range<usize>>> {
        // The parts' update has no L1 term: with L1 (set for small nets) stay on one thread.
        if self.threads < 2 || self.settings.start.l1 > 0.0 {
            return None;
        }
        let d = self.data.shape().dim();
        let width = self.net.layers[0].weights.nrows();
        let work = self.live.batch * d * width;
        if work < TEAM_MIN_WORK {
            return None;
        }
        let threads = self.threads.min(work / (TEAM_MIN_WORK / 2));
        let parts = team::column_parts(d, self.data.shape().width, threads);
        (parts.len() >= 2).then_some(parts)
    }

    /// Shuffles at the start of an epoch, then picks the next mini-batch: its labels and
    /// augmentations land in `batch_labels`/`batch_augments`; returns its size. Does not
    /// advance.
    fn next_batch(&mut self) -> usize {
        let n = self.order.len();
        if self.cursor >= n {
            if self.settings.start.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            self.cursor = 0;
        }
        let b = self.live.batch.min(n - self.cursor);
        let (flip, translate) = (self.settings.start.flip, self.settings.start.translate);
        for a in &mut self.batch_augments[..b] {
            *a = Augment::random(&mut self.rng, flip, translate);
        }
        let indices = &self.order[self.cursor..self.cursor + b];
        for (l, &i) in self.batch_labels.iter_mut().zip(indices) {
            *l = self.data.train.labels[i];
        }
        b
    }

    /// Normalises the `b` images from position `start` of this epoch's order into
    /// `batch_x`, augmented as `batch_augments` says.
    fn gather_batch(&mut self, start: usize, b: usize) {
        let dim = self.data.shape().dim();
        self.normalizer.gather(
            &self.data.train,
            &self.order[start..start + b],
            Some((&self.batch_augments[..b], &self.fill)),
            &mut self.batch_x[..b * dim],
        );
    }

    /// Book-keeping after a step of `b` images that began at `started`.
    fn finish_step(&mut self, b: usize, total: f64, eta: f64, started: Instant) -> StepOutcome {
        self.cursor += b;
        self.last_batch = b;
        self.steps_done += 1;
        self.last_eta = eta;
        self.epoch_active += started.elapsed();
        // The last step of the last cycle ends its epoch, wherever in a pass it falls.
        let cycles_done = self.step_limit().is_some_and(|l| self.steps_done >= l);
        StepOutcome {
            batch_loss: total / b as f64,
            eta,
            images: b,
            epoch_complete: self.cursor >= self.order.len() || cycles_done,
        }
    }

    fn step_here(&mut self) -> StepOutcome {
        let started = Instant::now();
        let b = self.next_batch();
        self.gather_batch(self.cursor, b);
        let dim = self.data.shape().dim();
        let eta = self.current_eta();
        let x = ArrayView2::from_shape((b, dim), &self.batch_x[..b * dim])
            .expect("batch buffer holds b rows of dim values");
        let loss = self.training_loss();
        let pass = training_pass(self.settings.start.dropout, &mut self.rng);
        let lambda = self.live.lambda as f32;
        let l1 = self.settings.start.l1 as f32;
        // Plain SGD fuses its step into the backward pass; with L1 the gradient is stored
        // first, to add λ₁·sign(W) before the step.
        let fused = self.live.optimizer == OptimizerKind::Sgd && l1 == 0.0;
        let grad = if fused {
            GradientUse::Step {
                eta: eta as f32,
                lambda,
            }
        } else {
            GradientUse::Store {
                lambda,
                out: &mut self.gradients,
            }
        };
        let total = self.net.loss_and_backward_with(
            x,
            &self.batch_labels[..b],
            loss,
            &mut self.ws,
            grad,
            pass,
        );
        if !fused {
            if l1 > 0.0 {
                crate::model::l1::add_gradient(&self.net, &mut self.gradients, l1);
            }
            self.optimizer.step(&mut self.net, &self.gradients, eta);
        }
        self.net.track_batch_statistics(&self.ws);
        self.finish_step(b, total, eta, started)
    }

    /// The batch [`Self::next_batch`] just picked, for the helper threads.
    fn batch_for_helper(&self, b: usize) -> team::Batch {
        team::Batch {
            indices: self.order[self.cursor..self.cursor + b].to_vec(),
            augments: self.batch_augments[..b].to_vec(),
        }
    }

    /// [`Self::steps_for`] with the input columns split into `parts`: the first on this
    /// thread, each other on a helper thread. Same arithmetic as [`Self::step_here`] up to
    /// float rounding (the parts' products are summed at the end).
    fn team_steps(
        &mut self,
        parts: Vec<Range<usize>>,
        budget: Duration,
        mut on_step: impl FnMut(&StepOutcome) + Send,
    ) -> StepOutcome {
        let started = Instant::now();
        let d = self.data.shape().dim();
        let width = self.net.layers[0].weights.nrows();
        let sgd = self.live.optimizer == OptimizerKind::Sgd;
        // Rules with state: each part keeps the moments of its own columns of W₀.
        let moments = (!sgd).then(|| {
            let (m, v) = self.optimizer.first_weights_state(&self.net);
            [&*m, &*v].map(|a| ArrayView2::from_shape((width, d), a).expect("state fits W₀"))
        });
        let w = &self.net.layers[0].weights;
        let mut buffers = std::mem::take(&mut self.team_buffers);
        buffers.resize_with(parts.len(), Vec::new);
        let mut all: Vec<team::Part> = parts
            .iter()
            .zip(buffers)
            .map(|(cols, x)| {
                team::Part::new(
                    self.data.clone(),
                    &self.normalizer,
                    self.fill.clone(),
                    w.view(),
                    cols.clone(),
                    x,
                    moments.as_ref().map(|[m, v]| [m.view(), v.view()]),
                )
            })
            .collect();
        let helpers = all.len() - 1;
        let shared = team::Shared::new(self.live.batch, width, helpers);
        let mut step_started = Instant::now();
        let mut b = self.next_batch();
        let first = self.batch_for_helper(b);
        let mut batch = first.clone();
        let mut last = None;
        let (mine, theirs) = all.split_at_mut(1);
        let mine = &mut mine[0];
        std::thread::scope(|scope| {
            let _leave = team::LeaveOnDrop(&shared.barrier);
            let mut started_all = Vec::with_capacity(helpers);
            for (i, part) in theirs.iter_mut().enumerate() {
                let (shared, first) = (&shared, first.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("trainviz-step-{}", i + 1))
                    .spawn_scoped(scope, move || {
                        let _leave = team::LeaveOnDrop(&shared.barrier);
                        team::helper_steps(part, first, shared, i);
                    });
                match spawned {
                    Ok(h) => started_all.push(h),
                    // No thread to be had: the others leave at the first barrier (this
                    // thread's guard leaves it on return) and the caller falls back to one
                    // thread below.
                    Err(_) => return,
                }
            }
            kernels::serial(|| {
                loop {
                    mine.gather(&batch);
                    mine.product(b, self.ws.first_product_mut(&self.net, b));
                    if !shared.barrier.wait() {
                        break;
                    }
                    {
                        let mut product = self.ws.first_product_mut(&self.net, b);
                        for partial in &shared.partials {
                            let partial = team::lock(partial);
                            let theirs = ArrayView2::from_shape((b, width), &partial[..b * width])
                                .expect("partial holds rows × width");
                            product += &theirs;
                        }
                    }
                    let pass = training_pass(self.settings.start.dropout, &mut self.rng);
                    self.net.forward_after_first_product(b, &mut self.ws, pass);
                    let eta = self.current_eta();
                    let lambda = self.live.lambda as f32;
                    let loss = self.training_loss();
                    let grad = if sgd {
                        GradientUse::Step {
                            eta: eta as f32,
                            lambda,
                        }
                    } else {
                        GradientUse::Store {
                            lambda,
                            out: &mut self.gradients,
                        }
                    };
                    let total = self.net.backward_all_but_first_weights(
                        b,
                        &self.batch_labels[..b],
                        loss,
                        &mut self.ws,
                        grad,
                    );
                    let rule = (!sgd).then(|| {
                        let r = self.optimizer.begin_step(&self.net, eta);
                        self.optimizer
                            .apply(r, &mut self.net, &self.gradients, true);
                        r
                    });
                    self.net.track_batch_statistics(&self.ws);
                    let out = self.finish_step(b, total, eta, step_started);
                    step_started = Instant::now();
                    let go_on = !out.epoch_complete
                        && out.batch_loss.is_finite()
                        && started.elapsed() < budget
                        && !self.eval_due();
                    let next_b = go_on.then(|| self.next_batch());
                    let keep = 1.0 - 2.0 * eta as f32 * lambda;
                    {
                        let mut after = team::write(&shared.after);
                        after.delta[..b * width].copy_from_slice(
                            self.ws
                                .first_delta(b)
                                .as_slice()
                                .expect("workspace rows are contiguous"),
                        );
                        after.keep = keep;
                        after.eta = eta as f32;
                        after.rule = rule;
                        after.lambda = lambda;
                        after.next = next_b.map(|nb| self.batch_for_helper(nb));
                        if let Some(next) = &after.next {
                            batch.clone_from(next);
                        }
                    }
                    if !shared.barrier.wait() {
                        break;
                    }
                    match rule {
                        Some(r) => mine.update_with(self.ws.first_delta(b), r, lambda),
                        None => mine.update(self.ws.first_delta(b), keep, eta as f32),
                    }
                    on_step(&out);
                    last = Some(out);
                    match next_b {
                        Some(nb) => b = nb,
                        None => break,
                    }
                }
            });
            for helper in started_all {
                if let Err(panic) = helper.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
        let weights = &mut self.net.layers[0].weights;
        for part in &all {
            weights.slice_mut(s![.., part.cols.clone()]).assign(&part.w);
        }
        if !sgd {
            let (m, v) = self.optimizer.first_weights_state(&self.net);
            for (state, k) in [(m, 0), (v, 1)] {
                let mut state =
                    ArrayViewMut2::from_shape((width, d), state).expect("state fits W₀");
                for part in &all {
                    state
                        .slice_mut(s![.., part.cols.clone()])
                        .assign(&part.moments[k]);
                }
            }
        }
        self.team_buffers = all.into_iter().map(|p| p.x).collect();
        match last {
            Some(out) => out,
            // A helper could not start: nothing was stepped, do it on one thread.
            None => self.steps_for_one_thread(budget, on_step),
        }
    }

    /// Gradient histograms of each weight matrix on the last mini-batch.
    fn gradient_histograms(&mut self) -> Vec<Histogram> {
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
    fn layer_stats(&self) -> Vec<LayerStats> {
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
            status: super::metrics::RunStatus::Finished,
        }
    }
}

/// √(Σ v²).
fn frobenius<'a>(values: impl Iterator<Item = &'a f32>) -> f64 {
    values.map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt()
}

/// Whether a unit's output `a` counts as stuck: a ReLU that is off, a sigmoid or tanh whose
/// derivative is below [`SATURATED_SLOPE`] of its largest value.
fn is_stuck(act: Activation, a: f32) -> bool {
    let a = f64::from(a);
    match act {
        Activation::Relu => a <= 0.0,
        Activation::Tanh => 1.0 - a * a < SATURATED_SLOPE,
        Activation::Sigmoid => a * (1.0 - a) < 0.25 * SATURATED_SLOPE,
    }
}

/// Per layer: mean and standard deviation of the outputs over `set`, and the share of
/// units that are dead or saturated (see [`crate::train::metrics::SATURATED_SLOPE`]).
fn activation_stats(
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

/// What one part of an evaluation adds up.
struct PartialEvaluation {
    loss_sum: f64,
    confusion: Vec<u32>,
    truth: TruthProbability,
}

/// Sums of losses, confusion counts and true-class probabilities over `range` of `set`; the
/// first layer reads the images' bytes through `folded` (no normalised copy is made).
fn evaluate_range(
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
fn eval_parallel(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SyntheticSpec, generate};
    use crate::model::Activation;

    /// The thread counts every path is checked with (3 and 4 oversubscribe a 2-core
    /// machine, which must only slow them down).
    const THREADS: [usize; 4] = [1, 2, 3, 4];

    /// One epoch from the same seed on each of [`THREADS`] threads.
    fn on_each_thread_count(config: &TrainConfig) -> Vec<Trainer> {
        on_thread_counts(config, &THREADS)
    }

    /// One epoch from the same seed on each of `counts` threads.
    fn on_thread_counts(config: &TrainConfig, counts: &[usize]) -> Vec<Trainer> {
        let data = Arc::new(generate(&SyntheticSpec {
            train: 1000,
            val: 100,
            test: 100,
            ..SyntheticSpec::default()
        }));
        counts
            .iter()
            .map(|&n| {
                let mut t = Trainer::new(config.clone(), data.clone(), None).expect("valid config");
                t.set_threads(n);
                let parts = t.team_parts().map_or(1, |p| p.len());
                assert_eq!(parts, n, "big enough to share among {n} threads");
                t.run_epoch();
                t
            })
            .collect()
    }

    /// Every run of `runs` agrees with the first (one thread).
    fn assert_all_same(runs: &[Trainer]) {
        for other in &runs[1..] {
            eprintln!("checking {} threads against 1", other.threads());
            assert_same_network(other, &runs[0]);
        }
    }

    fn assert_same_network(a: &Trainer, b: &Trainer) {
        for (la, lb) in a.network().layers.iter().zip(&b.network().layers) {
            let scale = lb.weights.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (x, y) in la.weights.iter().zip(&lb.weights) {
                assert!((x - y).abs() <= 1e-4 * scale, "{x} vs {y}");
            }
            for (x, y) in la.bias.iter().zip(&lb.bias) {
                assert!((x - y).abs() <= 1e-4 * scale.max(1e-3), "bias {x} vs {y}");
            }
        }
        assert_eq!(a.steps_done(), b.steps_done());
        let (ha, hb) = (&a.history()[0], &b.history()[0]);
        assert!((ha.train.cost - hb.train.cost).abs() < 1e-4);
    }

    #[test]
    fn steps_on_any_thread_count_match_one_thread_linear_with_flips() {
        let config = TrainConfig {
            flip: 0.5,
            eta: 0.01,
            ..TrainConfig::default()
        };
        assert_all_same(&on_each_thread_count(&config));
    }

    #[test]
    fn steps_on_any_thread_count_match_one_thread_with_rules_that_keep_state() {
        // Each part keeps the moments of its own columns of W₀; upper layers and biases
        // step on the calling thread.
        let config = |optimizer, dropout| TrainConfig {
            hidden: vec![20],
            batch_norm: true,
            dropout,
            flip: 0.5,
            batch: 50,
            eta: 0.001,
            lambda: 0.01,
            optimizer,
            ..TrainConfig::default()
        };
        // Momentum on every thread count, with dropout; Adam on two, without. With dropout,
        // or on 3 threads, Adam leaves one weight in 60,000 ~1e-3 of the scale apart, more
        // than this check allows: that is rounding magnified by the rule (a one-ulp nudge on
        // one thread does the same), which tests/suite/threads.rs measures for every
        // optimiser on 1–4 threads.
        for (optimizer, dropout, threads) in [
            (OptimizerKind::Momentum, 0.3, &THREADS[..]),
            (OptimizerKind::Adam, 0.0, &THREADS[..2]),
        ] {
            let mut runs = on_thread_counts(&config(optimizer, dropout), threads);
            assert_all_same(&runs);
            // A second call of the shared steps starts from the moments the first wrote
            // back.
            for t in &mut runs {
                t.run_epoch();
            }
            assert_all_same(&runs);
        }
    }

    #[test]
    fn steps_on_any_thread_count_match_one_thread_with_translations_and_smoothing() {
        // Both paths shift the same images by the same amounts: the two threads each
        // write their half of a shifted image, the one thread the whole of it.
        let config = TrainConfig {
            flip: 0.5,
            translate: 3,
            label_smoothing: 0.1,
            hidden: vec![20],
            batch: 50,
            eta: 0.01,
            ..TrainConfig::default()
        };
        assert_all_same(&on_each_thread_count(&config));
    }

    fn synthetic(train: usize) -> Arc<Splits> {
        Arc::new(generate(&SyntheticSpec {
            train,
            val: 50,
            test: 50,
            ..SyntheticSpec::default()
        }))
    }

    /// The same seed trains the same network with translations; translations change it.
    #[test]
    fn translations_are_reproducible_and_matter() {
        let data = synthetic(300);
        let run = |translate| {
            let config = TrainConfig {
                translate,
                batch: 50,
                eta: 0.01,
                ..TrainConfig::default()
            };
            let mut t = Trainer::new(config, data.clone(), None).expect("valid config");
            t.run_epoch();
            t.network().layers[0].weights.clone()
        };
        assert_eq!(run(2), run(2));
        assert_ne!(run(2), run(0));
    }

    /// Two cycles growing ×2 from a half-cycle of 3: 6 + 12 = 18 steps. With 10 steps an
    /// epoch the run plans 2 epochs, ends after step 18, and its second epoch says it used 800
    /// images. η at the last step is where the second cycle ends.
    #[test]
    fn counted_cycles_end_the_run_mid_epoch() {
        let data = synthetic(1000);
        let config = TrainConfig {
            schedule: crate::train::ScheduleKind::Cyclic,
            eta_min: 1e-7,
            eta_max: 0.01,
            half_cycle: 3,
            cycles: 2,
            cycle_growth: 2.0,
            epochs: 40,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(config, data, None).expect("valid config");
        assert_eq!(t.settings().epochs(), 2, "epochs follow from the cycles");
        assert_eq!(t.step_limit(), Some(18));
        let first = t.run_epoch();
        assert_eq!(first.images, None, "a whole pass");
        assert!(!t.is_finished());
        let second = t.run_epoch();
        assert_eq!(t.steps_done(), 18);
        assert_eq!(second.images, Some(800));
        let want = 1e-7 + (0.01 - 1e-7) / 6.0;
        assert!((second.eta - want).abs() < 1e-12, "{}", second.eta);
        assert!(t.is_finished());
        // "+1 epoch" goes on past the cycles, a whole pass.
        t.extend(1);
        assert!(!t.is_finished());
        let third = t.run_epoch();
        assert_eq!(third.images, None);
        assert_eq!(t.steps_done(), 28);
        assert!(t.is_finished());
    }

    #[test]
    fn steps_on_any_thread_count_match_one_thread_mlp() {
        let config = TrainConfig {
            hidden: vec![20, 10],
            activation: Activation::Tanh,
            loss: LossKind::Svm,
            batch_norm: true,
            dropout: 0.2,
            batch: 50,
            eta: 0.01,
            ..TrainConfig::default()
        };
        assert_all_same(&on_each_thread_count(&config));
    }
}
