//! Training a layer stack ([`crate::model::stack`]): mini-batch gradient descent with any of
//! the optimisers ([`Optimizer`]: plain, momentum, Nesterov, RMSProp, Adam) with L2, label
//! smoothing, flips and translations, the learning-rate schedules, and the run's bookkeeping
//! as the MLP's engine ([`super::trainer`]) keeps it: the record of settings and live
//! changes, every epoch's metrics, evaluations within epochs, the end of counted cycles.
//! A [`super::Session`] trains either engine through [`super::learner::Learner`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{SeedableRng, rngs::SmallRng};

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::metrics::{EpochMetrics, Evaluation, Histogram, LayerStats, Summary};
use super::optimizer::Optimizer;
use super::record::{RunSettings, SettingChange};
use super::run_progress::{LiveChange, RunProgress, plan_epochs, steps_within};
use super::stack_eval::evaluate_stack;
use super::stack_health;
use super::steps::EvalPoint;
use super::trainer::{StepOutcome, Subset, default_threads};
use crate::data::augment::{self, Augment};
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::kernels;
use crate::model::layers::{self, LayerSpec, Shape};
use crate::model::loss::Loss;
use crate::model::stack::{ImageBatch, Stack, StackLayer, StackPass, StackWorkspace};

/// Rows of a batch below which a step stays whole rather than being shared by threads.
const SHARE_MIN_ROWS: usize = 16;

/// One thread's share of a batch when the batch is split by rows (see
/// [`StackTrainer::shared_step`]): its own buffers and gradients.
struct BatchShare {
    ws: StackWorkspace<f32>,
    grads: Vec<StackLayer<f32>>,
    /// Unused: a stack without dropout draws nothing; `StackPass::Train` asks for one.
    rng: SmallRng,
    /// Rows of the last step and their mean loss.
    rows: usize,
    loss: f64,
}

/// The input shape of a data set's images, as the layer engine sees it.
pub fn image_shape(data: &Splits) -> Shape {
    let s = data.shape();
    Shape {
        h: s.height,
        w: s.width,
        c: s.channels,
    }
}

/// The stack `config.layers` describes for `data`, freshly initialised from `rng`; the error
/// names the `layers` setting and what does not fit.
pub fn build_stack(
    config: &TrainConfig,
    data: &Splits,
    rng: &mut SmallRng,
) -> Result<Stack<f32>, ConfigError> {
    let refused = |allowed: String| ConfigError::OutOfRange {
        name: "layers",
        value: format!("\"{}\"", config.layers),
        allowed,
    };
    let specs = layers::parse(&config.layers).map_err(|e| refused(e.to_string()))?;
    Stack::new(
        &specs,
        image_shape(data),
        data.num_classes(),
        config.init,
        config.sigma,
        rng,
    )
    .map_err(|e| refused(e.to_string()))
}

/// A layer-stack run in progress.
pub struct StackTrainer {
    /// The record of settings, the pass over the training set, counts, timings and history
    /// (as [`super::Trainer`] keeps them).
    progress: RunProgress,
    data: Arc<Splits>,
    normalizer: Arc<Normalizer>,
    /// Bytes that pixels shifted in by a translation take.
    fill: Vec<u8>,
    stack: Stack<f32>,
    ws: StackWorkspace<f32>,
    grads: Vec<StackLayer<f32>>,
    /// The update rule and its state, one buffer per parameter array.
    optimizer: Optimizer,
    batch_labels: Vec<u8>,
    batch_augments: Vec<Augment>,
    rng: SmallRng,
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
    /// Per-thread buffers of [`Self::shared_step`], made on first use.
    shares: Vec<BatchShare>,
}

impl StackTrainer {
    /// A new run of `config` (whose `layers` must be set) on `data`, normalised by
    /// `normalizer` (fitted on the training set when `None`).
    pub fn new(
        config: TrainConfig,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
    ) -> Result<Self, ConfigError> {
        let n = data.train.len();
        let config = plan_epochs(config, n)?;
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let stack = build_stack(&config, &data, &mut rng)?;
        let normalizer =
            normalizer.unwrap_or_else(|| Arc::new(Normalizer::fit(&data.train, config.preprocess)));
        let threads = config.threads.unwrap_or_else(default_threads);
        Ok(StackTrainer {
            ws: StackWorkspace::new(&stack, config.batch),
            grads: stack.zero_gradients(),
            optimizer: Optimizer::new(config.optimizer_settings()),
            batch_labels: vec![0; config.batch],
            batch_augments: vec![Augment::default(); config.batch],
            rng,
            threads,
            pool: super::trainer::pool_with(threads),
            fill: augment::fill_bytes(&normalizer.mean),
            shares: Vec::new(),
            progress: RunProgress::new(config, n),
            stack,
            normalizer,
            data,
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
    /// The network as it is now.
    pub fn stack(&self) -> &Stack<f32> {
        &self.stack
    }
    /// Replaces the network (the last good weights after a divergence); the optimiser's
    /// state, built on the weights replaced, starts afresh.
    pub fn set_stack(&mut self, stack: Stack<f32>) {
        self.stack = stack;
        self.optimizer = Optimizer::new(self.config().optimizer_settings());
    }
    /// The input normaliser.
    pub fn normalizer(&self) -> &Arc<Normalizer> {
        &self.normalizer
    }
    /// The data.
    pub fn data(&self) -> &Arc<Splits> {
        &self.data
    }
    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        self.progress.epochs_done
    }
    /// Steps taken.
    pub fn steps_done(&self) -> usize {
        self.progress.steps_done
    }
    /// Metrics of every completed epoch.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.progress.history
    }
    /// Mini-batches per epoch at the current batch size.
    pub fn steps_per_epoch(&self) -> usize {
        self.progress.steps_per_epoch()
    }
    /// Position in the current epoch: images already used.
    pub fn images_into_epoch(&self) -> usize {
        self.progress.images_into_epoch()
    }
    /// The step after which the run ends, when its cyclic schedule counts its cycles and it
    /// has not been continued past them (as [`super::Trainer::step_limit`]).
    pub fn step_limit(&self) -> Option<usize> {
        self.progress.step_limit()
    }
    /// True when the planned epochs are done; for a run that counts its cycles, when the
    /// epoch of the last cycle's last step is closed.
    pub fn is_finished(&self) -> bool {
        self.progress.is_finished()
    }
    /// The learning rate the next step uses.
    pub fn current_eta(&self) -> f64 {
        self.progress.scheduled_eta()
    }
    /// The live hyperparameters.
    pub fn live(&self) -> LiveParams {
        self.progress.live
    }
    /// How many threads steps and evaluation use.
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// Sets how many threads steps and evaluation use from the next call (at least one).
    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.clamp(1, super::config::MAX_THREADS);
        if threads != self.threads {
            self.threads = threads;
            self.pool = super::trainer::pool_with(threads);
        }
    }

    /// Plans `extra` more epochs beyond those done (continuing a run); recorded as a change.
    pub fn extend(&mut self, extra: usize) -> SettingChange {
        self.progress.extend(extra)
    }

    /// Checks live hyperparameters against the run's settings without applying them.
    pub fn check_live(&self, live: &LiveParams) -> Result<(), ConfigError> {
        self.progress.check_live(live)
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
        self.fit_batch(live.batch);
        Ok(Some(change))
    }

    /// Makes the batch buffers hold `batch` images.
    fn fit_batch(&mut self, batch: usize) {
        if batch > self.batch_labels.len() {
            self.batch_labels.resize(batch, 0);
            self.batch_augments.resize(batch, Augment::default());
        }
        if batch > self.ws.capacity() {
            self.ws = StackWorkspace::new(&self.stack, batch);
        }
    }

    /// Continues a saved run: its weights, the epochs it already trained and the changes made
    /// while it trained (the schedule and live values pick up where they were).
    pub fn restore(
        &mut self,
        stack: Stack<f32>,
        history: Vec<EpochMetrics>,
        changes: Vec<SettingChange>,
    ) {
        self.progress.restore(history, changes);
        let batch = self.progress.live.batch;
        self.ws = StackWorkspace::new(&stack, batch.max(self.ws.capacity()));
        self.grads = stack.zero_gradients();
        self.shares.clear();
        self.stack = stack;
        self.fit_batch(batch);
        self.optimizer = Optimizer::new(self.config().optimizer_settings());
    }

    /// Whether the last step ends an evaluation interval (`eval_every` steps).
    pub fn eval_due(&self) -> bool {
        self.progress.eval_due()
    }

    /// Evaluates the training and validation sets now, within an epoch.
    pub fn evaluate_point(&self) -> EvalPoint {
        let (train, val) = (self.evaluate(Subset::Train), self.evaluate(Subset::Val));
        self.progress.eval_point(&train, &val)
    }

    /// One mini-batch step on the run's thread pool.
    pub fn step(&mut self) -> StepOutcome {
        let pool = self.pool.clone();
        pool.install(|| self.step_here())
    }

    /// Steps until `budget` has passed, the epoch completes, an evaluation is due or a loss
    /// is not finite; calls `on_step` after each.
    pub fn steps_for(
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

    fn step_here(&mut self) -> StepOutcome {
        let started = Instant::now();
        let b = self.progress.next_batch(
            &mut self.rng,
            &self.data.train.labels,
            &mut self.batch_labels,
            &mut self.batch_augments,
        );
        let eta = self.current_eta();
        let threads = self.pool.current_num_threads().min(b / SHARE_MIN_ROWS);
        let loss = if threads >= 2 && self.can_share_batches() {
            self.shared_step(b, threads)
        } else {
            self.whole_step(b)
        };
        self.update(eta as f32);
        self.progress.advance(b, loss, eta, started)
    }

    /// Closes the epoch that the last step completed: evaluates the training and validation
    /// sets and records the epoch, with each weighted layer's health (see
    /// [`super::stack_health`]); its gradient histograms are of each weight matrix on the
    /// last batch.
    pub fn finish_epoch(&mut self) -> EpochMetrics {
        let started = Instant::now();
        let images = self.progress.end_pass();
        let train = self.evaluate(Subset::Train);
        let val = self.evaluate(Subset::Val);
        let gradient_histograms = self
            .grads
            .iter()
            .filter_map(|g| match g {
                StackLayer::Linear { weights, .. } => Some(Histogram::of_matrix(weights)),
                _ => None,
            })
            .collect();
        let layers = self.layer_stats();
        self.progress
            .close_epoch(started, images, [train, val], gradient_histograms, layers)
    }

    /// The Layers numbers of the weights now, with the gradients of the last step (none
    /// before the first: then the gradient columns are NaN).
    fn layer_stats(&self) -> Vec<LayerStats> {
        let pool = self.pool.clone();
        pool.install(|| {
            let updates = if self.progress.steps_done == 0 {
                Vec::new()
            } else {
                stack_health::weight_update_norms(
                    &self.stack,
                    &self.grads,
                    &self.optimizer,
                    self.progress.live.optimizer,
                    self.progress.last_eta,
                )
            };
            let grads: &[StackLayer<f32>] = if self.progress.steps_done == 0 {
                &[]
            } else {
                &self.grads
            };
            stack_health::layer_stats(
                &self.stack,
                &self.normalizer,
                &self.data.val,
                grads,
                &updates,
            )
        })
    }

    /// Runs steps until the epoch completes, then [`Self::finish_epoch`].
    pub fn run_epoch(&mut self) -> EpochMetrics {
        while !self
            .steps_for(Duration::from_secs(3600), |_| {})
            .epoch_complete
        {}
        self.finish_epoch()
    }

    /// Evaluates one of the sets with the current weights and the live loss and λ.
    pub fn evaluate(&self, which: Subset) -> Evaluation {
        self.evaluate_images(which.of(&self.data), None)
    }

    /// Evaluates the first `limit` images of `set` (all when `None`).
    pub fn evaluate_images(&self, set: &ImageSet, limit: Option<usize>) -> Evaluation {
        let pool = self.pool.clone();
        pool.install(|| {
            evaluate_stack(
                &self.stack,
                &self.normalizer,
                set,
                limit,
                self.progress.live.loss,
                self.progress.live.lambda,
            )
        })
    }

    /// The summary of the run so far, with `test` the test-set evaluation.
    pub fn summary(&self, test: &Evaluation, seconds: f64) -> Summary {
        self.progress.summary(test, seconds)
    }

    /// The gradients of the batch of `b` images just picked, on the calling thread (products
    /// may split over the pool); returns its mean loss.
    fn whole_step(&mut self, b: usize) -> f64 {
        let batch = ImageBatch {
            set: &self.data.train,
            indices: self.progress.batch(b),
            augments: Some((&self.batch_augments[..b], &self.fill)),
            normalizer: &self.normalizer,
        };
        let loss = self.stack.loss_and_backward(
            batch,
            &self.batch_labels[..b],
            self.loss(),
            self.progress.live.lambda,
            &mut self.ws,
            StackPass::Train(&mut self.rng),
            &mut self.grads,
        );
        self.stack.track_batch_statistics(&self.ws);
        loss
    }

    /// The loss the run trains on.
    fn loss(&self) -> Loss {
        self.progress.training_loss()
    }

    /// Whether a batch may be split by rows among threads with the same gradient as a whole:
    /// not with batch norm (its statistics are the whole batch's) or dropout (its masks are
    /// drawn in order from the run's generator).
    fn can_share_batches(&self) -> bool {
        !self
            .stack
            .specs
            .iter()
            .any(|s| matches!(s, LayerSpec::Bn | LayerSpec::Dropout { .. }))
    }

    /// The gradients of the batch of `b` images just picked, its rows split among `threads`
    /// threads, each running the whole stack on its rows with its products unsplit; the
    /// gradient is the row-weighted sum of theirs (each carries the whole L2 term, so the
    /// weights, which sum to one, keep it once). One fork and join a step instead of one per
    /// product: on two cores the per-product splits spent an eighth of the time waking
    /// threads. Returns the mean loss.
    fn shared_step(&mut self, b: usize, threads: usize) -> f64 {
        let chunk = b.div_ceil(threads);
        if self.shares.len() != threads || self.shares[0].ws.capacity() < chunk {
            self.shares = (0..threads)
                .map(|_| BatchShare {
                    ws: StackWorkspace::new(&self.stack, chunk),
                    grads: self.stack.zero_gradients(),
                    rng: SmallRng::seed_from_u64(0),
                    rows: 0,
                    loss: 0.0,
                })
                .collect();
        }
        let indices = self.progress.batch(b);
        let (labels, augments) = (&self.batch_labels[..b], &self.batch_augments[..b]);
        let (stack, normalizer, set, fill) = (
            &self.stack,
            &*self.normalizer,
            &self.data.train,
            &self.fill[..],
        );
        let (loss, lambda) = (self.loss(), self.progress.live.lambda);
        self.pool.install(|| {
            use rayon::prelude::*;
            self.shares
                .par_iter_mut()
                .enumerate()
                .for_each(|(p, share)| {
                    let rows = (p * chunk)..((p + 1) * chunk).min(b);
                    share.rows = rows.len();
                    if rows.is_empty() {
                        return;
                    }
                    kernels::serial(|| {
                        let batch = ImageBatch {
                            set,
                            indices: &indices[rows.clone()],
                            augments: Some((&augments[rows.clone()], fill)),
                            normalizer,
                        };
                        share.loss = stack.loss_and_backward(
                            batch,
                            &labels[rows],
                            loss,
                            lambda,
                            &mut share.ws,
                            StackPass::Train(&mut share.rng),
                            &mut share.grads,
                        );
                    });
                });
        });
        let mut sums: Vec<&mut [f32]> =
            self.grads.iter_mut().flat_map(|l| l.params_mut()).collect();
        for g in &mut sums {
            g.fill(0.0);
        }
        let shares = self.shares.iter().filter(|s| s.rows > 0);
        for share in shares.clone() {
            let weight = share.rows as f32 / b as f32;
            let theirs = share.grads.iter().flat_map(|l| l.params());
            for (g, theirs) in sums.iter_mut().zip(theirs) {
                for (g, &t) in g.iter_mut().zip(theirs) {
                    *g += weight * t;
                }
            }
        }
        shares.map(|s| s.loss * s.rows as f64 / b as f64).sum()
    }

    /// One step of the optimiser along the gradients of the last batch.
    fn update(&mut self, eta: f32) {
        let grads: Vec<&[f32]> = self.grads.iter().flat_map(|l| l.params()).collect();
        self.optimizer
            .step_arrays(self.stack.params_mut(), grads, f64::from(eta));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SyntheticSpec, generate};
    use crate::train::OptimizerKind;

    /// Every optimiser, with its state, lowers the training loss of a small ConvNet; the
    /// rules with state keep one buffer per parameter array of the stack.
    #[test]
    fn every_optimiser_trains_a_convnet() {
        let data = Arc::new(generate(&SyntheticSpec {
            train: 400,
            val: 50,
            test: 50,
            ..SyntheticSpec::default()
        }));
        for (optimizer, eta) in [
            (OptimizerKind::Sgd, 0.05),
            (OptimizerKind::Momentum, 0.01),
            (OptimizerKind::Nesterov, 0.01),
            (OptimizerKind::Rmsprop, 0.001),
            (OptimizerKind::Adam, 0.003),
        ] {
            let config = TrainConfig {
                layers: "patchify 4:6, relu, dense 16, relu".into(),
                optimizer,
                eta,
                batch: 50,
                epochs: 4,
                threads: Some(1),
                init: crate::model::InitKind::He,
                ..TrainConfig::default()
            };
            let mut t = StackTrainer::new(config, data.clone(), None).expect("valid config");
            let before = t.evaluate(Subset::Train).loss;
            for _ in 0..4 {
                t.run_epoch();
            }
            let after = t.evaluate(Subset::Train).loss;
            assert!(
                after < 0.9 * before,
                "{optimizer:?}: training loss {before:.4} → {after:.4}"
            );
        }
    }

    /// Every layer kind on 1, 2, 3 and 4 threads gives the same weights up to rounding
    /// (the products split rows among the pool's threads; 3 and 4 oversubscribe a 2-core
    /// machine, which only slows them down).
    #[test]
    fn a_convnet_on_any_thread_count_matches_one_thread() {
        let data = Arc::new(generate(&SyntheticSpec {
            train: 200,
            val: 20,
            test: 20,
            ..SyntheticSpec::default()
        }));
        // With batch norm and dropout a step stays whole (its products split); without, the
        // batch's rows are shared among the threads.
        for layers in [
            "conv 3:8, bn, relu, pool 2, patchify 2:8, relu, dense 24, tanh, dropout 0.2",
            "conv 3:8, relu, pool 2, patchify 2:8, sigmoid, dense 24, tanh",
        ] {
            same_on_any_thread_count(&data, layers);
        }
    }

    fn same_on_any_thread_count(data: &Arc<Splits>, layers: &str) {
        let run = |threads: usize| {
            let config = TrainConfig {
                layers: layers.into(),
                optimizer: OptimizerKind::Adam,
                eta: 0.001,
                lambda: 0.001,
                batch: 50,
                flip: 0.5,
                translate: 2,
                label_smoothing: 0.1,
                threads: Some(threads),
                init: crate::model::InitKind::He,
                ..TrainConfig::default()
            };
            let mut t = StackTrainer::new(config, data.clone(), None).expect("valid config");
            t.run_epoch();
            t
        };
        let one = run(1);
        for threads in 2..=4 {
            let other = run(threads);
            for (name, (a, b)) in one
                .stack()
                .param_names()
                .iter()
                .zip(one.stack().params().into_iter().zip(other.stack().params()))
            {
                let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
                assert!(
                    worst <= 1e-4 * scale,
                    "{layers}: {name} on {threads} threads: {worst:.3e} apart (scale {scale:.3e})"
                );
            }
        }
    }
}
