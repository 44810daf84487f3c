//! Where a run stands and how it got there: the record of its settings, its pass over the
//! training set, its step and epoch counts, timings and history. The MLP's engine
//! ([`super::trainer`]) and the ConvNet's ([`super::stack_trainer`]) keep this bookkeeping
//! alike; each holds one [`RunProgress`] and adds only what its model needs (buffers,
//! optimiser state, the steps themselves).

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

use super::config::{ConfigError, EPOCHS, LiveParams, TrainConfig};
use super::metrics::{
    EpochMetrics, Evaluation, Histogram, LayerStats, OptimizerSwitch, RunStatus, Summary, median,
};
use super::optimizer::OptimizerSettings;
use super::record::{RunSettings, SettingChange};
use super::schedule::{cycle_epochs, cycle_steps, learning_rate};
use super::steps::EvalPoint;
use crate::data::augment::Augment;
use crate::model::loss::Loss;

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

impl StepOutcome {
    /// Whether stepping pauses after this step, in a stretch of steps begun at `started` that
    /// may take `budget`: when it completed the epoch, its loss is not finite, the budget
    /// has passed or an evaluation is due (`eval_due`).
    pub(super) fn pauses(&self, started: Instant, budget: Duration, eval_due: bool) -> bool {
        self.epoch_complete
            || !self.batch_loss.is_finite()
            || started.elapsed() >= budget
            || eval_due
    }
}

/// Takes steps with `step` (which returns each step's outcome and whether an evaluation is
/// due after it) until one [`StepOutcome::pauses`] the stretch that may take `budget`;
/// returns the last outcome.
pub(super) fn steps_within(
    budget: Duration,
    mut step: impl FnMut() -> (StepOutcome, bool),
) -> StepOutcome {
    let started = Instant::now();
    loop {
        let (out, eval_due) = step();
        if out.pauses(started, budget, eval_due) {
            return out;
        }
    }
}

/// `config`, checked, with its epochs planned for `n` training images: a cyclic schedule
/// that counts its cycles ends with its last cycle, and takes the epochs that needs (refused
/// when that is more than [`EPOCHS`] allows, naming `cycles`).
pub(super) fn plan_epochs(config: TrainConfig, n: usize) -> Result<TrainConfig, ConfigError> {
    config.validate()?;
    let mut config = config;
    if let Some(epochs) = cycle_epochs(&config, n.div_ceil(config.batch)) {
        // The run ends with its last cycle: plan the epochs that takes.
        EPOCHS
            .check(epochs as f64)
            .map_err(|_| ConfigError::OutOfRange {
                name: "cycles",
                value: config.cycles.to_string(),
                allowed: format!(
                    "cycles that fit in {} epochs of {n} training images (these take {epochs})",
                    EPOCHS.max
                ),
            })?;
        config.epochs = epochs;
    }
    Ok(config)
}

/// A run's bookkeeping (see the module's comment). The trainers read its fields directly.
pub(super) struct RunProgress {
    /// The starting settings and every change since: the one record of what the run trains
    /// with.
    pub(super) settings: RunSettings,
    /// The last change's values, kept apart only so a step need not search.
    pub(super) live: LiveParams,
    /// This epoch's order of the training images.
    pub(super) order: Vec<usize>,
    /// Images of `order` already used this epoch (`order.len()`: the next step starts a new
    /// epoch).
    pub(super) cursor: usize,
    /// Epochs completed.
    pub(super) epochs_done: usize,
    /// Steps taken since the start.
    pub(super) steps_done: usize,
    /// Steps done when the last epoch was closed by [`Self::close_epoch`].
    pub(super) steps_at_epoch_end: usize,
    /// Time spent in this epoch's steps so far.
    pub(super) epoch_active: Duration,
    /// Seconds of every completed epoch.
    pub(super) epoch_seconds: Vec<f64>,
    /// Metrics of every completed epoch.
    pub(super) history: Vec<EpochMetrics>,
    /// η of the last step.
    pub(super) last_eta: f64,
    /// Optimiser changes since the last finished epoch.
    pub(super) optimizer_switches: Vec<OptimizerSwitch>,
}

/// A change of live values that [`RunProgress::set_live`] recorded.
pub(super) struct LiveChange {
    /// The change as recorded.
    pub(super) change: SettingChange,
    /// The new optimiser's settings when the rule changed: a different rule's state means
    /// nothing to the new one, so the trainer starts it afresh.
    pub(super) new_optimizer: Option<OptimizerSettings>,
}

impl RunProgress {
    /// A run of `config` (as [`plan_epochs`] returns it) over `n` training images, before its
    /// first step.
    pub(super) fn new(config: TrainConfig, n: usize) -> Self {
        RunProgress {
            live: config.live(),
            order: (0..n).collect(),
            cursor: n,
            epochs_done: 0,
            steps_done: 0,
            steps_at_epoch_end: 0,
            epoch_active: Duration::ZERO,
            epoch_seconds: Vec::new(),
            history: Vec::new(),
            last_eta: config.eta,
            optimizer_switches: Vec::new(),
            settings: RunSettings::new(config),
        }
    }

    /// True when the planned number of epochs is done; for a run that counts its cycles (see
    /// [`Self::step_limit`]), when the epoch of the last cycle's last step is closed.
    pub(super) fn is_finished(&self) -> bool {
        match self.step_limit() {
            Some(limit) => self.steps_at_epoch_end >= limit,
            None => self.epochs_done >= self.settings.epochs(),
        }
    }

    /// The step after which the run ends, when its cyclic schedule counts its cycles and it
    /// has not been continued past them ("+N epochs" plans epochs instead).
    pub(super) fn step_limit(&self) -> Option<usize> {
        if self.settings.changes.iter().any(|c| c.epochs.is_some()) {
            return None;
        }
        cycle_steps(&self.settings.start)
    }

    /// The loss the training steps minimise: the live kind with the run's label smoothing.
    /// (Evaluations measure the live kind with one-hot targets, so that runs with and
    /// without smoothing are measured alike.)
    pub(super) fn training_loss(&self) -> Loss {
        Loss {
            kind: self.live.loss,
            smoothing: self.settings.start.label_smoothing,
        }
    }

    /// Plans `extra` more epochs beyond those done (continuing a run); recorded as a change.
    pub(super) fn extend(&mut self, extra: usize) -> SettingChange {
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
    pub(super) fn steps_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.live.batch)
    }

    /// Position in the current epoch: images already used.
    pub(super) fn images_into_epoch(&self) -> usize {
        if self.cursor >= self.order.len() {
            0
        } else {
            self.cursor
        }
    }

    /// The learning rate the schedule gives the next step.
    pub(super) fn scheduled_eta(&self) -> f64 {
        learning_rate(
            &self.settings.start,
            self.live.eta,
            self.live.decay,
            self.epochs_done,
            self.steps_done,
        )
    }

    /// Checks live hyperparameters against the run's settings without applying them.
    pub(super) fn check_live(&self, live: &LiveParams) -> Result<(), ConfigError> {
        let mut c = self.settings.start.clone();
        c.set_live(live);
        c.validate()
    }

    /// Changes hyperparameters from the next step on and records the change (`None` when
    /// nothing changed); a change of optimiser is noted for the epoch's record.
    pub(super) fn set_live(&mut self, live: LiveParams) -> Result<Option<LiveChange>, ConfigError> {
        self.check_live(&live)?;
        if live == self.live {
            return Ok(None);
        }
        let new_optimizer = (live.optimizer != self.live.optimizer).then(|| {
            self.optimizer_switches.push(OptimizerSwitch {
                step: self.steps_done,
                from: self.live.optimizer,
                to: live.optimizer,
            });
            let mut c = self.settings.start.clone();
            c.set_live(&live);
            c.optimizer_settings()
        });
        self.live = live;
        let change = SettingChange {
            step: self.steps_done,
            epoch: self.epochs_done,
            live: Some(live),
            epochs: None,
        };
        self.settings.record(change.clone());
        Ok(Some(LiveChange {
            change,
            new_optimizer,
        }))
    }

    /// Whether the last step ends an evaluation interval (`eval_every` steps; never with
    /// `eval_every` = 0).
    pub(super) fn eval_due(&self) -> bool {
        let every = self.settings.start.eval_every;
        every > 0 && self.steps_done > 0 && self.steps_done.is_multiple_of(every)
    }

    /// The point within an epoch at which the training set scored `train` and the
    /// validation set `val`.
    pub(super) fn eval_point(&self, train: &Evaluation, val: &Evaluation) -> EvalPoint {
        let n = self.order.len().max(1);
        EvalPoint {
            step: self.steps_done,
            epoch: self.epochs_done as f64 + self.images_into_epoch() as f64 / n as f64,
            eta: self.last_eta,
            live: self.live,
            train: train.into(),
            val: val.into(),
        }
    }

    /// Continues a saved run: the epochs it already trained and the changes made while it
    /// trained (the schedule and live values pick up where they were); the next step starts
    /// a new epoch.
    pub(super) fn restore(&mut self, history: Vec<EpochMetrics>, changes: Vec<SettingChange>) {
        self.settings.changes = changes;
        self.live = self.settings.live();
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

    /// Shuffles at the start of an epoch (when the run shuffles), then picks the next
    /// mini-batch: its labels (from `labels`, the training set's) land in `batch_labels`,
    /// its flips and shifts, drawn from `rng`, in `batch_augments`. Returns its size; does
    /// not advance (see [`Self::batch`] for its images).
    pub(super) fn next_batch(
        &mut self,
        rng: &mut SmallRng,
        labels: &[u8],
        batch_labels: &mut [u8],
        batch_augments: &mut [Augment],
    ) -> usize {
        let n = self.order.len();
        if self.cursor >= n {
            if self.settings.start.shuffle {
                self.order.shuffle(rng);
            }
            self.cursor = 0;
        }
        let b = self.live.batch.min(n - self.cursor);
        let (flip, translate) = (self.settings.start.flip, self.settings.start.translate);
        for a in &mut batch_augments[..b] {
            *a = Augment::random(rng, flip, translate);
        }
        for (l, &i) in batch_labels.iter_mut().zip(self.batch(b)) {
            *l = labels[i];
        }
        b
    }

    /// The training images of the `b`-image batch at the cursor.
    pub(super) fn batch(&self, b: usize) -> &[usize] {
        &self.order[self.cursor..self.cursor + b]
    }

    /// Book-keeping after a step of `b` images with learning rate `eta` that began at
    /// `started` and measured `batch_loss`.
    pub(super) fn advance(
        &mut self,
        b: usize,
        batch_loss: f64,
        eta: f64,
        started: Instant,
    ) -> StepOutcome {
        self.cursor += b;
        self.steps_done += 1;
        self.last_eta = eta;
        self.epoch_active += started.elapsed();
        // The last step of the last cycle ends its epoch, wherever in a pass it falls.
        let cycles_done = self.step_limit().is_some_and(|l| self.steps_done >= l);
        StepOutcome {
            batch_loss,
            eta,
            images: b,
            epoch_complete: self.cursor >= self.order.len() || cycles_done,
        }
    }

    /// Ends the pass over the training set that the last step completed (or the last cycle
    /// cut short: then returns how many images it used, for the epoch's record); the next
    /// step starts afresh.
    pub(super) fn end_pass(&mut self) -> Option<usize> {
        let images = (self.cursor < self.order.len()).then_some(self.cursor);
        self.cursor = self.order.len();
        self.steps_at_epoch_end = self.steps_done;
        images
    }

    /// Records the epoch [`Self::end_pass`] ended (`images` is what that returned), whose
    /// closing began at `started`, with what was measured at its end.
    pub(super) fn close_epoch(
        &mut self,
        started: Instant,
        images: Option<usize>,
        [train, val]: [Evaluation; 2],
        gradient_histograms: Vec<Histogram>,
        layers: Vec<LayerStats>,
    ) -> EpochMetrics {
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

    /// The summary of the run so far, with `test` the test-set evaluation.
    pub(super) fn summary(&self, test: &Evaluation, seconds: f64) -> Summary {
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
            status: RunStatus::Finished,
        }
    }
}
