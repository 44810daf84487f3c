//! What the window remembers of the run it shows, built only from the worker's events.

use std::sync::Arc;

use egui_plot::PlotPoint;

use crate::model::Network;
use crate::model::gradcheck::ParamCheck;
use crate::train::messages::AnalysisResult;
use crate::train::metrics::RateMeter;
use crate::train::steps::EvalPoint;
use crate::train::{
    EpochMetrics, Evaluation, Event, EventKind, LiveParams, RunInfo, RunStatus, SettingChange,
    Summary,
};

/// Series of a run, ready to plot without copying.
#[derive(Default)]
pub struct RunHistory {
    /// The run these events belong to; events of other runs are dropped.
    pub run: u64,
    /// Set when the worker said the run is ready.
    pub info: Option<RunInfo>,
    /// Per-epoch metrics, in order.
    pub epochs: Vec<EpochMetrics>,
    /// Evaluations within epochs (every `eval_every` update steps), in order.
    pub points: Vec<EvalPoint>,
    /// True when the run evaluates every few update steps: the curves' x is then the
    /// update step, not the epoch.
    pub per_step: bool,
    /// (update step, epoch) of every evaluation, for reading a step as an epoch.
    pub step_epochs: Vec<(f64, f64)>,
    /// (epoch, value) series for the plots (x = update step when `per_step`).
    pub train_cost: Vec<PlotPoint>,
    /// Validation cost per epoch.
    pub val_cost: Vec<PlotPoint>,
    /// Training loss per epoch.
    pub train_loss: Vec<PlotPoint>,
    /// Validation loss per epoch.
    pub val_loss: Vec<PlotPoint>,
    /// Training accuracy per epoch.
    pub train_acc: Vec<PlotPoint>,
    /// Validation accuracy per epoch.
    pub val_acc: Vec<PlotPoint>,
    /// Mini-batch loss per step (x = fractional epoch).
    pub step_loss: Vec<PlotPoint>,
    /// η of each step (x = global step, from 0).
    pub step_eta: Vec<PlotPoint>,
    /// Live values set while the run could take no step (finished or diverged), held by the
    /// engine until training goes on; not in the run's record.
    pub held_live: Option<LiveParams>,
    /// Latest weights.
    pub network: Option<Arc<Network<f32>>>,
    /// Bumped whenever `network` or `stack` changes, so textures know when to refresh.
    pub network_version: u64,
    /// A layer stack's latest weights.
    pub stack: Option<Arc<crate::model::stack::Stack<f32>>>,
    /// A layer stack's run: validation images and the normalisation, for feature maps.
    pub samples: Option<(Arc<crate::data::Normalizer>, Arc<crate::data::ImageSet>)>,
    /// Latest test evaluation.
    pub test: Option<Evaluation>,
    /// Final numbers, once finished.
    pub summary: Option<Summary>,
    /// Steps are being taken.
    pub running: bool,
    /// How the run ended, once it has (finished or diverged).
    pub ended: Option<RunStatus>,
    /// The last thing the worker said that is not an error (shown until the next one).
    pub notice: Option<String>,
    /// Loading data.
    pub loading: Option<String>,
    /// Last error or divergence message.
    pub message: Option<String>,
    /// Epochs completed.
    pub epoch: usize,
    /// Images of the current epoch done.
    pub images_into_epoch: usize,
    /// Images per epoch.
    pub images_per_epoch: usize,
    /// Global step.
    pub step: usize,
    /// Current learning rate.
    pub eta: f64,
    /// Training speed over the last seconds of training (see [`RateMeter`]).
    pub images_per_sec: f64,
    /// What `images_per_sec` is measured with.
    rate: RateMeter,
    /// The latest [`AnalysisResult::Predictions`] asked for.
    pub predictions: Option<AnalysisResult>,
    /// The latest finished [`AnalysisResult::Embedding`].
    pub embedding: Option<AnalysisResult>,
    /// Progress of a t-SNE being computed.
    pub embedding_progress: Option<f32>,
    /// The latest gradient check, per parameter.
    pub gradient_check: Option<Vec<ParamCheck>>,
    /// Where the run is saved, once its first epoch is.
    pub saved_dir: Option<std::path::PathBuf>,
}

impl RunHistory {
    /// Applies one event; returns false if it belonged to an older run and was dropped.
    pub fn apply(&mut self, event: Event) -> bool {
        let run = event.run;
        if run < self.run {
            return false;
        }
        if run > self.run {
            // A new run: start a fresh history, keep nothing of the old one.
            *self = RunHistory {
                run,
                ..Default::default()
            };
        }
        match event.kind {
            EventKind::Loading { what, .. } => self.loading = Some(what),
            EventKind::Ready { info, .. } => self.ready(*info),
            EventKind::Progress {
                epoch,
                images_into_epoch,
                images_per_epoch,
                step,
                steps,
                eta,
                images_per_sec,
                ..
            } => {
                for r in steps {
                    self.step_loss.push(PlotPoint::new(r.epoch, r.loss));
                    self.step_eta.push(PlotPoint::new(r.step as f64, r.eta));
                }
                self.measure_rate((epoch, images_into_epoch), images_per_epoch, images_per_sec);
                self.epoch = epoch;
                self.images_into_epoch = images_into_epoch;
                self.images_per_epoch = images_per_epoch;
                self.step = step;
                self.eta = eta;
                self.images_per_sec = self.rate.rate();
            }
            EventKind::Evaluated { point, .. } => self.evaluated(point),
            EventKind::Epoch { metrics, .. } => self.epoch_ended(*metrics),
            EventKind::Weights { network, .. } => {
                self.network = Some(network);
                self.network_version += 1;
            }
            EventKind::StackWeights { stack, .. } => {
                self.stack = Some(stack);
                self.network_version += 1;
            }
            EventKind::Samples { normalizer, images } => {
                self.samples = Some((normalizer, images));
            }
            EventKind::Test { eval, .. } => self.test = Some(*eval),
            EventKind::Running { running, .. } => {
                self.running = running;
                if running {
                    self.notice = None;
                }
            }
            EventKind::Diverged {
                message, summary, ..
            } => {
                self.message = Some(message);
                self.ended(RunStatus::Diverged, *summary);
            }
            EventKind::Finished { summary, .. } => self.ended(RunStatus::Finished, *summary),
            EventKind::SettingsChanged { change, .. } => self.settings_changed(change),
            EventKind::Status { status, .. } => self.status(status),
            EventKind::LiveHeld { live, .. } => self.held_live = live,
            EventKind::Notice { message, .. } => self.notice = Some(message),
            EventKind::Saved { dir, .. } => self.saved_dir = Some(dir),
            EventKind::Analysis { result, .. } => self.analysis(*result),
            EventKind::Error { message, .. } => {
                // Whether steps are taken is told by Running events alone: a refused
                // setting does not stop training.
                self.loading = None;
                self.message = Some(message);
            }
        }
        true
    }

    /// The run is ready: what it is about, and whether its curves go by step.
    fn ready(&mut self, info: RunInfo) {
        self.loading = None;
        self.message = None;
        self.images_per_epoch = info.sizes[0];
        self.per_step = info.settings.start.eval_every > 0;
        self.info = Some(info);
    }

    /// Counts the images trained since the last progress report, now at `(epoch, images
    /// into it)` with `images_per_epoch`, into the training speed, at the rate the worker
    /// measured (`images_per_sec`, 0 when it measured none).
    fn measure_rate(
        &mut self,
        (epoch, images_into_epoch): (usize, usize),
        images_per_epoch: usize,
        images_per_sec: f64,
    ) {
        let done = |e: usize, i: usize| (e * images_per_epoch + i) as f64;
        let new_images = done(epoch, images_into_epoch)
            - done(self.epoch, self.images_into_epoch.min(images_per_epoch));
        if images_per_sec > 0.0 && new_images > 0.0 {
            self.rate.push(new_images, new_images / images_per_sec);
        }
    }

    /// The run ended (finished or diverged) with `summary`.
    fn ended(&mut self, status: RunStatus, summary: Summary) {
        self.running = false;
        self.ended = Some(status);
        self.summary = Some(summary);
    }

    /// A loaded run's status: how it ended, or (running again) no end, summary or message
    /// yet.
    fn status(&mut self, status: RunStatus) {
        self.ended = (status != RunStatus::Running).then_some(status);
        if status == RunStatus::Running {
            self.summary = None;
            self.message = None;
        }
    }

    /// An evaluation within an epoch: a point on every curve, at its step.
    fn evaluated(&mut self, point: EvalPoint) {
        let x = point.step as f64;
        self.step_epochs.push((x, point.epoch));
        self.train_cost.push(PlotPoint::new(x, point.train.cost));
        self.val_cost.push(PlotPoint::new(x, point.val.cost));
        self.train_loss.push(PlotPoint::new(x, point.train.loss));
        self.val_loss.push(PlotPoint::new(x, point.val.loss));
        self.train_acc.push(PlotPoint::new(x, point.train.accuracy));
        self.val_acc.push(PlotPoint::new(x, point.val.accuracy));
        self.points.push(point);
    }

    /// An epoch's end: a point on every curve (at its step when the run also evaluates
    /// within epochs, else at its epoch).
    fn epoch_ended(&mut self, metrics: EpochMetrics) {
        self.step_epochs
            .push((metrics.step as f64, metrics.epoch as f64));
        let x = if self.per_step {
            metrics.step as f64
        } else {
            metrics.epoch as f64
        };
        self.train_cost.push(PlotPoint::new(x, metrics.train.cost));
        self.val_cost.push(PlotPoint::new(x, metrics.val.cost));
        self.train_loss.push(PlotPoint::new(x, metrics.train.loss));
        self.val_loss.push(PlotPoint::new(x, metrics.val.loss));
        self.train_acc
            .push(PlotPoint::new(x, metrics.train.accuracy));
        self.val_acc.push(PlotPoint::new(x, metrics.val.accuracy));
        self.epoch = metrics.epoch;
        self.images_into_epoch = 0;
        self.epochs.push(metrics);
    }

    /// A change of settings: recorded, and said in words when it is a live edit.
    fn settings_changed(&mut self, change: SettingChange) {
        if change.epochs.is_some() {
            // Continued: the run trains again.
            self.ended = None;
            self.summary = None;
            self.message = None;
        }
        let (step, live) = (change.step, change.live.is_some());
        if let Some(info) = &mut self.info {
            info.settings.record(change);
            // Say what changed in words, where the eye is when a knob is turned.
            if live
                && let Some((at, epoch, text)) = info.settings.markers().pop()
                && at == step
            {
                self.notice = Some(format!("Changed {text} from epoch {}", epoch + 1));
            }
        }
    }

    /// A result of an analysis asked for (an embedding and its progress, predictions, a
    /// gradient check).
    fn analysis(&mut self, result: AnalysisResult) {
        match result {
            AnalysisResult::EmbeddingProgress(f) => self.embedding_progress = Some(f),
            AnalysisResult::EmbeddingCancelled => self.embedding_progress = None,
            r @ AnalysisResult::Embedding { .. } => {
                self.embedding_progress = None;
                self.embedding = Some(r);
            }
            r @ AnalysisResult::Predictions { .. } => self.predictions = Some(r),
            AnalysisResult::GradientCheck(report) => self.gradient_check = Some(report),
        }
    }

    /// The epoch (with its fraction) at update step `step`, from the nearest evaluation.
    pub fn epoch_at_step(&self, step: f64) -> Option<f64> {
        let i = self.step_epochs.partition_point(|p| p.0 < step);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| self.step_epochs.get(j))
            .min_by(|a, b| (a.0 - step).abs().total_cmp(&(b.0 - step).abs()))
            .map(|p| p.1)
    }

    /// The live hyperparameters in force, as the worker last reported them.
    pub fn live(&self) -> Option<LiveParams> {
        self.info.as_ref().map(|i| i.settings.live())
    }

    /// The planned number of epochs, as the worker last reported it.
    pub fn planned_epochs(&self) -> Option<usize> {
        self.info.as_ref().map(|i| i.settings.epochs())
    }

    /// Seconds left at the current throughput for the planned epochs.
    pub fn seconds_left(&self) -> Option<f64> {
        let epochs = self.planned_epochs()?;
        if !self.running || self.images_per_sec <= 0.0 {
            return None;
        }
        let total = epochs as f64 * self.images_per_epoch as f64;
        let done = self.epoch as f64 * self.images_per_epoch as f64 + self.images_into_epoch as f64;
        Some(((total - done).max(0.0)) / self.images_per_sec)
    }
}
