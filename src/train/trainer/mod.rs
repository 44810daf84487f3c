//! The training engine: mini-batch gradient descent over `u8` images, evaluation, and the
//! bookkeeping of a run. Runs anywhere (worker thread, CLI, tests, benchmarks).

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndarray::{ArrayView2, ArrayViewMut2, s};
use rand::{SeedableRng, rngs::SmallRng};

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::eval_parts::{EvalPart, evaluation};
use super::layer_health::{OutputSummary, OutputTally, frobenius, value_range};
use super::metrics::{EpochMetrics, Evaluation, Histogram, LayerStats, Summary, TruthProbability};
use super::optimizer::{Optimizer, OptimizerKind};
use super::record::{RunSettings, SettingChange};
use super::run_progress::{LiveChange, RunProgress, plan_epochs, steps_within};
use super::steps::EvalPoint;
use super::team;
use crate::data::augment::{self, Augment};
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::kernels::{self, FoldedWeights};
use crate::model::loss::{Loss, probabilities};
use crate::model::network::GradientUse;
use crate::model::{Layer, LossKind, Network, Pass, Real, Workspace};

/// Rows per block in the evaluation pass: the block's normalised pixels (≈400 KB) stay in cache.
const EVAL_BLOCK: usize = 32;
/// Steps with fewer multiply-adds in the first layer than this stay on one thread, and each
/// thread of a shared step gets at least half this many.
const TEAM_MIN_WORK: usize = 1_000_000;
pub use super::config::MAX_THREADS;
pub use super::run_progress::StepOutcome;
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

impl Subset {
    /// This set of `data`.
    pub fn of(self, data: &Splits) -> &ImageSet {
        match self {
            Subset::Train => &data.train,
            Subset::Val => &data.val,
            Subset::Test => &data.test,
        }
    }
}

/// A training run in progress: data, model, optimiser state and history.
pub struct Trainer {
    /// The record of settings, the pass over the training set, counts, timings and history.
    progress: RunProgress,
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
    rng: SmallRng,
    /// Size of the last step's batch (it ends at the cursor).
    last_batch: usize,
    /// How many threads steps and evaluation use.
    threads: usize,
    /// The threads' scratch for augmented rows of their parts of a batch, kept between calls.
    team_buffers: Vec<Vec<u8>>,
    /// `threads` threads for evaluation and for products on one step thread.
    pool: Arc<rayon::ThreadPool>,
    /// State of the optimiser (unused by plain SGD, which is fused into the backward pass).
    optimizer: Optimizer,
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

/// The MLP (a linear classifier with no `hidden` layer) `config` describes, for images of
/// `inputs` values and `classes` classes, freshly initialised from `rng`.
pub fn build_network<F: Real>(
    config: &TrainConfig,
    inputs: usize,
    classes: usize,
    rng: &mut SmallRng,
) -> Network<F> {
    Network::new(
        inputs,
        &config.hidden,
        classes,
        config.activation,
        config.init,
        config.sigma,
        rng,
    )
    .with_batch_norm(config.batch_norm)
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
        let n = data.train.len();
        let config = plan_epochs(config, n)?;
        let normalizer =
            normalizer.unwrap_or_else(|| Arc::new(Normalizer::fit(&data.train, config.preprocess)));
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let dim = data.shape().dim();
        let net = build_network(&config, dim, data.num_classes(), &mut rng);
        let ws = Workspace::new(&net, config.batch);
        let threads = config.threads.unwrap_or_else(default_threads);
        Ok(Trainer {
            fill: augment::fill_bytes(&normalizer.mean).into(),
            ws,
            batch_x: vec![0.0; config.batch * dim],
            batch_labels: vec![0; config.batch],
            batch_augments: vec![Augment::default(); config.batch],
            gradients: Vec::new(),
            rng,
            last_batch: 0,
            threads,
            team_buffers: Vec::new(),
            pool: pool_with(threads),
            optimizer: Optimizer::new(config.optimizer_settings()),
            eta_ramp: None,
            progress: RunProgress::new(config, n),
            data,
            normalizer,
            net,
        })
    }

    /// The run's settings in force now (the start with every change applied).
    pub fn config(&self) -> TrainConfig {
        self.progress.settings.in_force()
    }
    /// The record of the run's settings: where it started and every change.
    pub fn settings(&self) -> &RunSettings {
        &self.progress.settings
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
        self.progress.epochs_done
    }
    /// Steps taken since the start.
    pub fn steps_done(&self) -> usize {
        self.progress.steps_done
    }
    /// Metrics of every completed epoch.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.progress.history
    }
    /// True when the planned number of epochs is done; for a run that counts its cycles (see
    /// [`Self::step_limit`]), when the epoch of the last cycle's last step is closed.
    pub fn is_finished(&self) -> bool {
        self.progress.is_finished()
    }
    /// The step after which the run ends, when its cyclic schedule counts its cycles and it
    /// has not been continued past them ("+N epochs" plans epochs instead).
    pub fn step_limit(&self) -> Option<usize> {
        self.progress.step_limit()
    }
    /// The loss the training steps minimise: the live kind with the run's label smoothing.
    /// (Evaluations measure the live kind with one-hot targets, so that runs with and
    /// without smoothing are measured alike.)
    pub fn training_loss(&self) -> Loss {
        self.progress.training_loss()
    }
    /// Plans `extra` more epochs beyond those done (continuing a run); recorded as a change.
    pub fn extend(&mut self, extra: usize) -> SettingChange {
        self.progress.extend(extra)
    }
    /// Mini-batches per epoch at the current batch size.
    pub fn steps_per_epoch(&self) -> usize {
        self.progress.steps_per_epoch()
    }
    /// Position in the current epoch: images already used.
    pub fn images_into_epoch(&self) -> usize {
        self.progress.images_into_epoch()
    }
    /// The learning rate the next step will use.
    pub fn current_eta(&self) -> f64 {
        if let Some(r) = self.eta_ramp {
            let n = self.progress.steps_done.saturating_sub(r.from_step);
            return r.start * r.growth.powi(n as i32);
        }
        self.progress.scheduled_eta()
    }
    /// Replaces the schedule by `ramp` from the next step on (`None`: the schedule again).
    /// Only for probes such as the learning-rate range test, whose trainer is thrown away:
    /// a ramp is not recorded among the run's settings.
    pub fn set_eta_ramp(&mut self, ramp: Option<EtaRamp>) {
        self.eta_ramp = ramp;
    }
    /// The live hyperparameters.
    pub fn live(&self) -> LiveParams {
        self.progress.live
    }
    /// Changes hyperparameters from the next step on and records the change (`None` when
    /// nothing changed).
    pub fn set_live(&mut self, live: LiveParams) -> Result<Option<SettingChange>, ConfigError> {
        let Some(LiveChange {
            change,
            new_optimizer,
        }) = self.progress.set_live(live)?
        else {
            return Ok(None);
        };
        if let Some(settings) = new_optimizer {
            self.optimizer = Optimizer::new(settings);
        }
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
        self.progress.eval_due()
    }

    /// Evaluates the training and validation sets now, within an epoch.
    pub fn evaluate_point(&self) -> EvalPoint {
        let (train, val) = (self.evaluate(Subset::Train), self.evaluate(Subset::Val));
        self.progress.eval_point(&train, &val)
    }

    /// Checks live hyperparameters against the run's settings without applying them.
    pub fn check_live(&self, live: &LiveParams) -> Result<(), ConfigError> {
        self.progress.check_live(live)
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
            steps_within(budget, || {
                let out = self.step_here();
                on_step(&out);
                (out, self.eval_due())
            })
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
        self.progress.restore(history, changes);
        let dim = self.data.shape().dim();
        let batch = self.progress.live.batch.max(self.batch_labels.len());
        self.batch_x.resize(batch * dim, 0.0);
        self.batch_labels.resize(batch, 0);
        self.batch_augments.resize(batch, Augment::default());
        self.ws = Workspace::new(&net, batch);
        self.net = net;
        self.optimizer = Optimizer::new(self.config().optimizer_settings());
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
        if self.threads < 2 || self.progress.settings.start.l1 > 0.0 {
            return None;
        }
        let d = self.data.shape().dim();
        let width = self.net.layers[0].weights.nrows();
        let work = self.progress.live.batch * d * width;
        if work < TEAM_MIN_WORK {
            return None;
        }
        let threads = self.threads.min(work / (TEAM_MIN_WORK / 2));
        let parts = team::column_parts(d, self.data.shape().width, threads);
        (parts.len() >= 2).then_some(parts)
    }
}

mod epoch;
mod evaluate;
mod steps;
#[cfg(test)]
mod tests;

pub use evaluate::evaluate_set;
