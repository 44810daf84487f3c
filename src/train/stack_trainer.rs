//! Training a layer stack ([`crate::model::stack`]): mini-batch gradient descent with any of
//! the optimisers ([`Optimizer`]: plain, momentum, Nesterov, RMSProp, Adam) with L2, label smoothing, flips and translations, the learning-rate schedules, evaluation in blocks,
//! and the run's bookkeeping. The MLP keeps its own engine ([`super::trainer`]); this one runs
//! whatever `--layers` describes, on the same thread pool.

use std::sync::Arc;
use std::time::Instant;

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};

use super::config::{ConfigError, TrainConfig};
use super::optimizer::Optimizer;
use super::schedule::{cycle_steps, learning_rate};
use super::trainer::StepOutcome;
use crate::data::augment::{self, Augment};
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::kernels;
use crate::model::layers::{self, LayerSpec, Shape};
use crate::model::loss::Loss;
use crate::model::stack::{Stack, StackLayer, StackPass, StackWorkspace};

/// Images per block when evaluating (bounds the workspace of a wide network).
const EVAL_BLOCK: usize = 500;

/// Loss and accuracy of a stack on one set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StackEvaluation {
    /// Mean loss.
    pub loss: f64,
    /// Mean loss + λ Σ‖W‖².
    pub cost: f64,
    /// Share classified correctly.
    pub accuracy: f64,
    /// Images evaluated.
    pub count: usize,
}

/// Rows of a batch below which a step stays whole rather than being shared by threads.
const SHARE_MIN_ROWS: usize = 16;

/// One thread's share of a batch when the batch is split by rows (see
/// [`StackTrainer::shared_step`]): its own buffers and gradients.
struct BatchShare {
    ws: StackWorkspace<f32>,
    grads: Vec<StackLayer<f32>>,
    x: Vec<f32>,
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

/// A layer-stack run in progress.
pub struct StackTrainer {
    config: TrainConfig,
    data: Arc<Splits>,
    normalizer: Arc<Normalizer>,
    /// Bytes that pixels shifted in by a translation take.
    fill: Vec<u8>,
    stack: Stack<f32>,
    ws: StackWorkspace<f32>,
    grads: Vec<StackLayer<f32>>,
    /// The update rule and its state, one buffer per parameter array.
    optimizer: Optimizer,
    batch_x: Vec<f32>,
    batch_labels: Vec<u8>,
    batch_augments: Vec<Augment>,
    order: Vec<usize>,
    cursor: usize,
    epochs_done: usize,
    steps_done: usize,
    rng: SmallRng,
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
        config.validate()?;
        let specs = layers::parse(&config.layers).map_err(|e| ConfigError::OutOfRange {
            name: "layers",
            value: format!("\"{}\"", config.layers),
            allowed: e.to_string(),
        })?;
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let stack = Stack::new(
            &specs,
            image_shape(&data),
            data.num_classes(),
            config.init,
            config.sigma,
            &mut rng,
        )
        .map_err(|e| ConfigError::OutOfRange {
            name: "layers",
            value: format!("\"{}\"", config.layers),
            allowed: e.to_string(),
        })?;
        let normalizer =
            normalizer.unwrap_or_else(|| Arc::new(Normalizer::fit(&data.train, config.preprocess)));
        let dim = data.shape().dim();
        let n = data.train.len();
        Ok(StackTrainer {
            ws: StackWorkspace::new(&stack, config.batch),
            grads: stack.zero_gradients(),
            optimizer: Optimizer::new(config.optimizer_settings()),
            batch_x: vec![0.0; config.batch * dim],
            batch_labels: vec![0; config.batch],
            batch_augments: vec![Augment::default(); config.batch],
            order: (0..n).collect(),
            cursor: n,
            epochs_done: 0,
            steps_done: 0,
            rng,
            pool: super::trainer::pool_with(config.threads.unwrap_or_else(super::default_threads)),
            fill: augment::fill_bytes(&normalizer.mean),
            shares: Vec::new(),
            stack,
            normalizer,
            data,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
    /// The network as it is now.
    pub fn stack(&self) -> &Stack<f32> {
        &self.stack
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
        self.epochs_done
    }
    /// Steps taken.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }
    /// Mini-batches per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.data.train.len().div_ceil(self.config.batch)
    }
    /// True when the planned epochs are done, or the last of the schedule's counted cycles.
    pub fn is_finished(&self) -> bool {
        match cycle_steps(&self.config) {
            Some(steps) => self.steps_done >= steps,
            None => self.epochs_done >= self.config.epochs,
        }
    }
    /// The learning rate the next step uses.
    pub fn current_eta(&self) -> f64 {
        learning_rate(
            &self.config,
            self.config.eta,
            self.config.decay,
            self.epochs_done,
            self.steps_done,
        )
    }

    /// One mini-batch step on the shared thread pool.
    pub fn step(&mut self) -> StepOutcome {
        let pool = self.pool.clone();
        pool.install(|| self.step_here())
    }

    fn step_here(&mut self) -> StepOutcome {
        let n = self.order.len();
        if self.cursor >= n {
            if self.config.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            self.cursor = 0;
        }
        let b = self.config.batch.min(n - self.cursor);
        let (flip, translate) = (self.config.flip, self.config.translate);
        for a in &mut self.batch_augments[..b] {
            *a = Augment::random(&mut self.rng, flip, translate);
        }
        let indices = &self.order[self.cursor..self.cursor + b];
        for (l, &i) in self.batch_labels.iter_mut().zip(indices) {
            *l = self.data.train.labels[i];
        }
        let eta = self.current_eta();
        let threads = self.pool.current_num_threads().min(b / SHARE_MIN_ROWS);
        let loss = if threads >= 2 && self.can_share_batches() {
            self.shared_step(b, threads)
        } else {
            self.whole_step(b)
        };
        self.update(eta as f32);
        self.cursor += b;
        self.steps_done += 1;
        let epoch_complete = self.cursor >= n;
        if epoch_complete {
            self.epochs_done += 1;
        }
        StepOutcome {
            batch_loss: loss,
            eta,
            images: b,
            epoch_complete,
        }
    }

    /// The gradients of the batch of `b` images just picked, on the calling thread (products
    /// may split over the pool); returns its mean loss.
    fn whole_step(&mut self, b: usize) -> f64 {
        let dim = self.data.shape().dim();
        let indices = &self.order[self.cursor..self.cursor + b];
        self.normalizer.gather(
            &self.data.train,
            indices,
            Some((&self.batch_augments[..b], &self.fill)),
            &mut self.batch_x[..b * dim],
        );
        let x = ArrayView2::from_shape((b, dim), &self.batch_x[..b * dim])
            .expect("the batch buffer holds b images");
        let loss = self.stack.loss_and_backward(
            x,
            &self.batch_labels[..b],
            self.loss(),
            self.config.lambda,
            &mut self.ws,
            StackPass::Train(&mut self.rng),
            &mut self.grads,
        );
        self.stack.track_batch_statistics(&self.ws);
        loss
    }

    /// The loss the run trains on.
    fn loss(&self) -> Loss {
        Loss {
            kind: self.config.loss,
            smoothing: self.config.label_smoothing,
        }
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
            let dim = self.data.shape().dim();
            self.shares = (0..threads)
                .map(|_| BatchShare {
                    ws: StackWorkspace::new(&self.stack, chunk),
                    grads: self.stack.zero_gradients(),
                    x: vec![0.0; chunk * dim],
                    rng: SmallRng::seed_from_u64(0),
                    rows: 0,
                    loss: 0.0,
                })
                .collect();
        }
        let indices = &self.order[self.cursor..self.cursor + b];
        let (labels, augments) = (&self.batch_labels[..b], &self.batch_augments[..b]);
        let (stack, normalizer, set, fill) = (
            &self.stack,
            &*self.normalizer,
            &self.data.train,
            &self.fill[..],
        );
        let (loss, lambda, dim) = (self.loss(), self.config.lambda, set.shape.dim());
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
                        let n = rows.len();
                        normalizer.gather(
                            set,
                            &indices[rows.clone()],
                            Some((&augments[rows.clone()], fill)),
                            &mut share.x[..n * dim],
                        );
                        let x = ArrayView2::from_shape((n, dim), &share.x[..n * dim])
                            .expect("the share's buffer holds its rows");
                        share.loss = stack.loss_and_backward(
                            x,
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

    /// Steps to the end of the current epoch; returns the mean batch loss and the seconds.
    pub fn run_epoch(&mut self) -> (f64, f64) {
        let started = Instant::now();
        let (mut sum, mut count) = (0.0, 0usize);
        loop {
            let out = self.step();
            sum += out.batch_loss;
            count += 1;
            if out.epoch_complete || !out.batch_loss.is_finite() || self.is_finished() {
                break;
            }
        }
        (sum / count.max(1) as f64, started.elapsed().as_secs_f64())
    }

    /// Loss, cost and accuracy on `set` (at most `limit` images), in evaluation mode.
    pub fn evaluate(&self, set: &ImageSet, limit: Option<usize>) -> StackEvaluation {
        let pool = self.pool.clone();
        pool.install(|| evaluate_stack(&self.stack, &self.normalizer, set, limit, &self.config))
    }
}

/// Loss, cost and accuracy of `stack` on `set` (at most `limit` images).
pub fn evaluate_stack(
    stack: &Stack<f32>,
    normalizer: &Normalizer,
    set: &ImageSet,
    limit: Option<usize>,
    config: &TrainConfig,
) -> StackEvaluation {
    let n = limit.map_or(set.len(), |l| l.min(set.len()));
    let dim = normalizer.dim();
    let block = EVAL_BLOCK.min(n.max(1));
    let mut ws = StackWorkspace::new(stack, block);
    let mut x = vec![0.0f32; block * dim];
    let (mut loss_sum, mut correct) = (0.0, 0usize);
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(block) {
        let b = chunk.len();
        normalizer.gather(set, chunk, None, &mut x[..b * dim]);
        let labels: Vec<u8> = chunk.iter().map(|&i| set.labels[i]).collect();
        let xv = ArrayView2::from_shape((b, dim), &x[..b * dim])
            .expect("the block buffer holds b images");
        let loss = stack.loss(xv, &labels, config.loss, &mut ws, StackPass::Eval);
        loss_sum += loss * b as f64;
        correct += ws.predictions[..b]
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
    }
    let loss = loss_sum / n.max(1) as f64;
    StackEvaluation {
        loss,
        cost: loss + config.lambda * stack.weight_norm_sq(),
        accuracy: correct as f64 / n.max(1) as f64,
        count: n,
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
            let before = t.evaluate(&data.train, None).loss;
            for _ in 0..4 {
                t.run_epoch();
            }
            let after = t.evaluate(&data.train, None).loss;
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
