//! One training session: the engine, the run's folder, the divergence rule and the summary.
//! The window's worker, `trainviz train` (through the worker) and every sweep point train
//! through this one type, so they save, stop and summarise runs the same way, whichever
//! engine ([`Learner`]: the MLP's or a layer stack's) trains the network.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::divergence::DivergenceGuard;
use super::learner::{Learner, Model};
use super::messages::RunInfo;
use super::metrics::{EpochMetrics, Evaluation, RunStatus, Summary};
use super::record::{RunSettings, SettingChange};
use super::steps::{EvalPoint, StepRecord};
use super::store::{RunFolders, RunRecorder, SaveTo, SavedRecord, Saving};
use super::trainer::Subset;
use crate::data::{Normalizer, Splits};

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// Every planned epoch done.
    Finished {
        /// The final numbers.
        summary: Summary,
        /// The test set's evaluation.
        test: Evaluation,
    },
    /// Stopped by the divergence rule; the last good weights are back.
    Diverged {
        /// The numbers of the last good weights (status `diverged`).
        summary: Summary,
        /// What happened and what to do, in words.
        message: String,
    },
}

/// What became of a change of live hyperparameters (see [`Session::set_live`]).
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEdit {
    /// In force from the next step, and recorded.
    Applied(SettingChange),
    /// The values were those in force already (or a held edit was taken back).
    Unchanged,
    /// No step can follow now (the run finished or diverged): the values are held, not
    /// recorded, and take effect when training goes on ("+N epochs", or Start after a
    /// divergence); a new run takes them from the window's settings anyway.
    Held(LiveParams),
}

/// What one call of [`Session::advance`] did.
#[derive(Debug, Clone, Default)]
pub struct Advance {
    /// Each mini-batch trained: its step, epoch, loss and η.
    pub steps: Vec<StepRecord>,
    /// Images trained.
    pub images: usize,
    /// Seconds spent.
    pub seconds: f64,
    /// The evaluation within the epoch made at the end of this call (every `eval_every`
    /// steps), if one was due.
    pub point: Option<EvalPoint>,
    /// The epoch that ended, if one did.
    pub epoch: Option<EpochMetrics>,
    /// How the run ended, if it did.
    pub end: Option<RunEnd>,
    /// The run's folder, when it was created during this call.
    pub saved_in: Option<PathBuf>,
    /// A save that failed during this call (training goes on unsaved; said once).
    pub save_error: Option<String>,
}

/// A run being trained, saved and watched.
pub struct Session {
    trainer: Learner,
    info: RunInfo,
    save: Option<Saving>,
    writer: Option<Box<dyn RunRecorder>>,
    save_failed: bool,
    guard: DivergenceGuard,
    last_good: Model,
    status: RunStatus,
    active: Duration,
    /// Live values set while no step could follow, waiting for training to go on.
    pending: Option<LiveParams>,
    /// Every step trained (and, for a loaded run, every step saved).
    steps: Vec<StepRecord>,
    /// How many of `steps` are in the run folder.
    steps_saved: usize,
    /// The test evaluation made when the run finished (saved with it).
    test: Option<Evaluation>,
    /// The evaluations within epochs (every `eval_every` steps).
    points: Vec<EvalPoint>,
    /// How many of `points` are in the run folder.
    points_saved: usize,
    /// Every η at which this run diverged (retries included), so that no suggestion repeats
    /// one of them.
    failed_etas: Vec<f64>,
    /// The step at which the run (re)started training: how fast a divergence came.
    started_at_step: usize,
}

/// Why a saved run cannot be continued.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Its settings do not make a run any more.
    #[error(transparent)]
    Settings(#[from] ConfigError),
    /// Its weights do not fit the network its settings and data make.
    #[error("The saved weights ({saved}) do not fit the run's settings and data ({fresh}).")]
    WeightsDoNotFit {
        /// The saved network's layers (see [`Model::describe`]).
        saved: String,
        /// The same of the network the settings and data make now.
        fresh: String,
    },
}

impl Session {
    /// A new run of `config` on `data` (normalised by `normalizer`, fitted here if `None`).
    pub fn new(
        config: TrainConfig,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
        save: Option<Saving>,
    ) -> Result<Self, ConfigError> {
        let trainer = Learner::new(config, data, normalizer)?;
        let info = RunInfo::new(trainer.data(), trainer.settings().clone());
        Ok(Session {
            last_good: trainer.model(),
            trainer,
            info,
            save,
            writer: None,
            save_failed: false,
            guard: DivergenceGuard::default(),
            status: RunStatus::Running,
            active: Duration::ZERO,
            pending: None,
            steps: Vec::new(),
            steps_saved: 0,
            test: None,
            points: Vec::new(),
            points_saved: 0,
            failed_etas: Vec::new(),
            started_at_step: 0,
        })
    }

    /// Continues the saved run `saved` (its weights, curves and changes) on `data`, with
    /// `extra_epochs` more epochs planned (recorded as a change; 0 keeps its plan). Its folder
    /// takes the new epochs when `folders` is given.
    pub fn resume(
        saved: &SavedRecord,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
        extra_epochs: usize,
        folders: Option<Arc<dyn RunFolders>>,
    ) -> Result<Self, ResumeError> {
        let model = saved.model.clone();
        let save = folders.map(|folders| Saving {
            to: SaveTo::Continue(saved.dir.clone()),
            folders,
        });
        let mut s = Session::new(saved.settings.start.clone(), data, normalizer, save)?;
        let fresh = s.trainer.model();
        if !model.same_shape(&fresh)
            || !s.trainer.restore(
                model.clone(),
                saved.history.clone(),
                saved.settings.changes.clone(),
            )
        {
            return Err(ResumeError::WeightsDoNotFit {
                saved: model.describe(),
                fresh: fresh.describe(),
            });
        }
        s.guard = DivergenceGuard::new(saved.history.first().map(|m| m.train.loss));
        s.last_good = model;
        // What the report needs: the steps and the test evaluation it finished with.
        s.steps = saved.steps.clone();
        s.steps_saved = s.steps.len();
        s.points = saved.points.clone();
        s.points_saved = s.points.len();
        s.test = saved.test.clone();
        // A stopped run goes on where it stopped.
        s.status = match saved.status {
            RunStatus::Stopped => RunStatus::Running,
            status => status,
        };
        if extra_epochs > 0 {
            s.extend(extra_epochs);
        } else if s.trainer.is_finished() && s.status == RunStatus::Running {
            s.status = RunStatus::Finished;
        }
        s.info = RunInfo::new(s.trainer.data(), s.trainer.settings().clone());
        s.started_at_step = s.trainer.steps_done();
        Ok(s)
    }

    /// The engine (the MLP's or a layer stack's).
    pub fn learner(&self) -> &Learner {
        &self.trainer
    }
    /// The weights as they are now (a copy).
    pub fn model(&self) -> Model {
        self.trainer.model()
    }
    /// The facts of the run, its settings record included.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }
    /// The record of the run's settings.
    pub fn settings(&self) -> &RunSettings {
        self.trainer.settings()
    }
    /// Running (more epochs to train), finished or diverged.
    pub fn status(&self) -> RunStatus {
        self.status
    }
    /// The run's folder, once created.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.writer.as_ref().map(|w| w.dir())
    }
    /// Sets how many threads the run's steps and evaluation use (sweeps and races give
    /// each run its share of the cores).
    pub fn set_threads(&mut self, threads: usize) {
        self.trainer.set_threads(threads);
    }

    /// Whether a training step can follow without a decision of the user: the run neither
    /// finished nor diverged.
    pub fn can_step(&self) -> bool {
        self.status == RunStatus::Running && !self.trainer.is_finished()
    }

    /// Live values set while no step could follow, waiting for training to go on.
    pub fn pending(&self) -> Option<LiveParams> {
        self.pending
    }

    /// Every step trained so far (for a loaded run, with the saved ones).
    pub fn steps(&self) -> &[StepRecord] {
        &self.steps
    }

    /// The evaluations within epochs so far (every `eval_every` steps).
    pub fn points(&self) -> &[EvalPoint] {
        &self.points
    }

    /// The test evaluation the run finished with (also for a loaded run that saved one).
    pub fn test(&self) -> Option<&Evaluation> {
        self.test.as_ref()
    }

    /// Changes live hyperparameters. While a step can follow they are in force from the next
    /// step, and the change is recorded (and saved) with the step and epoch at which it takes
    /// effect. A finished or diverged run's record is never rewritten: the values are held
    /// until training goes on (see [`LiveEdit::Held`]).
    pub fn set_live(&mut self, live: LiveParams) -> Result<LiveEdit, ConfigError> {
        self.trainer.check_live(&live)?;
        if !self.can_step() {
            return Ok(if live == self.trainer.live() {
                // Back to the values in force: nothing is waiting any more.
                self.pending = None;
                LiveEdit::Unchanged
            } else {
                self.pending = Some(live);
                LiveEdit::Held(live)
            });
        }
        self.pending = None;
        Ok(match self.trainer.set_live(live)? {
            Some(change) => {
                self.record_change(change.clone());
                LiveEdit::Applied(change)
            }
            None => LiveEdit::Unchanged,
        })
    }

    /// Puts held live values in force, now that steps follow; the recorded change.
    fn apply_pending(&mut self) -> Option<SettingChange> {
        let live = self.pending.take()?;
        match self.trainer.set_live(live) {
            Ok(Some(change)) => {
                self.record_change(change.clone());
                Some(change)
            }
            Ok(None) => None,
            Err(e) => {
                // Checked when it was set, against the same settings: cannot happen.
                log::error!("held live values refused: {e}");
                None
            }
        }
    }

    /// Plans `extra` more epochs ("+N epochs"); a finished or diverged run trains again, with
    /// any live values held meanwhile in force from its next step. Returns the recorded
    /// changes: the new plan, then the held values.
    pub fn extend(&mut self, extra: usize) -> Vec<SettingChange> {
        let change = self.trainer.extend(extra);
        self.status = RunStatus::Running;
        self.record_change(change.clone());
        if let Some(w) = &mut self.writer
            && let Err(e) = w.reopen()
        {
            self.save_failed = true;
            log::error!("could not reopen the run folder: {e}");
        }
        let mut changes = vec![change];
        changes.extend(self.apply_pending());
        changes
    }

    /// Goes on training a diverged run from its last good weights, with the values in force
    /// now (typically after lowering η, held until now and recorded here: the change, if
    /// any). Its folder is marked as training again.
    pub fn retry(&mut self) -> Option<SettingChange> {
        if self.status != RunStatus::Diverged {
            return None;
        }
        self.status = RunStatus::Running;
        self.started_at_step = self.trainer.steps_done();
        if let Some(w) = &mut self.writer
            && let Err(e) = w.reopen()
        {
            self.save_failed = true;
            log::error!("could not reopen the run folder: {e}");
        }
        self.apply_pending()
    }

    fn record_change(&mut self, change: SettingChange) {
        self.info.settings.record(change);
        if let Some(w) = &mut self.writer
            && !self.save_failed
            && let Err(e) = w.changes(&self.info.settings.changes)
        {
            self.save_failed = true;
            log::error!("could not save the settings change: {e}");
        }
    }

    /// Trains for about `budget` (or to the end of the epoch), calling `on_step` with each
    /// mini-batch's loss; ends the epoch, saves it, and applies the divergence rule.
    pub fn advance(&mut self, budget: Duration, mut on_step: impl FnMut(f64) + Send) -> Advance {
        let mut out = Advance::default();
        if self.status != RunStatus::Running {
            return out;
        }
        if self.trainer.is_finished() {
            // Nothing left to train (a continued run loaded as it ended): end it properly.
            out.end = Some(self.finish(&mut out));
            return out;
        }
        let started = Instant::now();
        let mut reason = None;
        // Steps of a loaded run beyond its weights (those of a divergence) are not this run's
        // any more once it trains again.
        let first = self.trainer.steps_done();
        if self.steps.last().is_some_and(|r| r.step >= first) {
            self.steps.retain(|r| r.step < first);
            self.steps_saved = self.steps_saved.min(self.steps.len());
        }
        if self.points.last().is_some_and(|p| p.step > first) {
            self.points.retain(|p| p.step <= first);
            self.points_saved = self.points_saved.min(self.points.len());
        }
        let guard = &mut self.guard;
        let records = &mut out.steps;
        let images = &mut out.images;
        let per_epoch = self.trainer.data().train.len().max(1);
        let (mut epoch, mut into) = (self.trainer.epochs_done(), self.trainer.images_into_epoch());
        let mut step = first;
        let last = self.trainer.steps_for(budget, |o| {
            into += o.images;
            let x = if o.epoch_complete {
                (epoch + 1) as f64
            } else {
                epoch as f64 + into as f64 / per_epoch as f64
            };
            if o.epoch_complete {
                epoch += 1;
                into = 0;
            }
            records.push(StepRecord {
                step,
                epoch: x,
                loss: o.batch_loss,
                eta: o.eta,
            });
            step += 1;
            *images += o.images;
            on_step(o.batch_loss);
            if reason.is_none() {
                reason = guard.check_batch(o.batch_loss);
            }
        });
        self.active += started.elapsed();
        out.seconds = started.elapsed().as_secs_f64();
        self.steps.extend_from_slice(&out.steps);
        if let Some(reason) = reason {
            out.end = Some(self.diverge(&reason, &mut out));
            return out;
        }
        if !last.epoch_complete && self.trainer.eval_due() {
            let started = Instant::now();
            let point = self.trainer.evaluate_point();
            self.active += started.elapsed();
            self.points.push(point);
            out.point = Some(point);
        }
        if last.epoch_complete {
            let started = Instant::now();
            let metrics = self.trainer.finish_epoch();
            self.active += started.elapsed();
            if let Some(reason) = self
                .guard
                .check_epoch(metrics.train.loss, metrics.train.cost)
                .or_else(|| {
                    (!self.trainer.is_finite())
                        .then(|| "the weights became NaN or infinite".to_string())
                })
            {
                out.end = Some(self.diverge(&reason, &mut out));
                return out;
            }
            self.last_good = self.trainer.model();
            self.save_epoch(&metrics, &mut out);
            out.epoch = Some(metrics);
            if self.trainer.is_finished() {
                out.end = Some(self.finish(&mut out));
            }
        }
        out
    }

    /// Trains one whole epoch (or until the run ends).
    pub fn run_epoch(&mut self) -> Advance {
        let mut total = Advance::default();
        loop {
            let a = self.advance(Duration::from_secs(3600), |_| {});
            total.steps.extend(a.steps);
            total.point = a.point.or(total.point);
            total.images += a.images;
            total.seconds += a.seconds;
            total.saved_in = total.saved_in.or(a.saved_in);
            total.save_error = total.save_error.or(a.save_error);
            if a.epoch.is_some() || a.end.is_some() || self.status != RunStatus::Running {
                total.epoch = a.epoch;
                total.end = a.end;
                return total;
            }
        }
    }

    /// Evaluates the test set with the weights as they are now.
    pub fn evaluate_test(&self) -> Evaluation {
        self.trainer.evaluate(Subset::Test)
    }

    fn writer(&mut self, out: &mut Advance) -> Option<&mut Box<dyn RunRecorder>> {
        if self.save_failed {
            return None;
        }
        if self.writer.is_none() {
            let save = self.save.as_ref()?;
            let created = save.folders.open(&save.to, &self.info);
            match created {
                Ok(w) => {
                    out.saved_in = Some(w.dir().to_path_buf());
                    self.writer = Some(w);
                }
                Err(e) => {
                    self.save_failed(e.to_string(), out);
                    return None;
                }
            }
        }
        self.writer.as_mut()
    }

    fn save_failed(&mut self, problem: String, out: &mut Advance) {
        self.save_failed = true;
        out.save_error = Some(format!(
            "Could not save the run ({problem}); training goes on unsaved."
        ));
    }

    fn save_epoch(&mut self, metrics: &EpochMetrics, out: &mut Advance) {
        self.save_steps(out);
        let model = self.trainer.model();
        if let Some(w) = self.writer(out)
            && let Err(e) = w.epoch(metrics, &model)
        {
            self.save_failed(e.to_string(), out);
        }
    }

    /// Appends the steps and evaluation points not yet in the run folder to its `steps.csv`
    /// and `evals.jsonl`.
    fn save_steps(&mut self, out: &mut Advance) {
        let from = self.points_saved.min(self.points.len());
        if from < self.points.len() {
            let new = self.points[from..].to_vec();
            if let Some(w) = self.writer(out) {
                match w.points(&new) {
                    Ok(()) => self.points_saved = from + new.len(),
                    Err(e) => self.save_failed(e.to_string(), out),
                }
            }
        }
        let from = self.steps_saved.min(self.steps.len());
        if from == self.steps.len() {
            return;
        }
        let new = self.steps[from..].to_vec();
        if let Some(w) = self.writer(out) {
            match w.steps(&new) {
                Ok(()) => self.steps_saved = from + new.len(),
                Err(e) => self.save_failed(e.to_string(), out),
            }
        }
    }

    fn seconds(&self) -> f64 {
        self.active.as_secs_f64()
    }

    fn finish(&mut self, out: &mut Advance) -> RunEnd {
        let test = self.trainer.evaluate(Subset::Test);
        let summary = self.trainer.summary(&test, self.seconds());
        self.status = RunStatus::Finished;
        self.save_steps(out);
        if let Some(w) = self.writer(out)
            && let Err(e) = w.finish(&summary, &test)
        {
            self.save_failed(e.to_string(), out);
        }
        self.test = Some(test.clone());
        RunEnd::Finished { summary, test }
    }

    fn diverge(&mut self, reason: &str, out: &mut Advance) -> RunEnd {
        let eta = self.trainer.current_eta();
        let step = self.trainer.steps_done();
        let epoch = self.trainer.epochs_done() + 1;
        // The η of each whole epoch that ended well (the last good weights are of one).
        let trained_well: Vec<f64> = self.trainer.history().iter().map(|m| m.eta).collect();
        let suggestion = super::divergence::suggest_eta(
            eta,
            &trained_well,
            &self.failed_etas,
            step.saturating_sub(self.started_at_step),
        );
        self.failed_etas.push(eta);
        self.trainer.set_model(self.last_good.clone());
        self.status = RunStatus::Diverged;
        let test = self.trainer.evaluate(Subset::Test);
        let mut summary = self.trainer.summary(&test, self.seconds());
        summary.status = RunStatus::Diverged;
        self.save_steps(out);
        let message = format!(
            "Training diverged in epoch {epoch} (step {step}, η = {}): {reason}. \
             Training stopped and the weights of the last good epoch are back. \
             Try a smaller η (e.g. {}).",
            crate::format::plain_number(eta),
            crate::format::plain_number(suggestion)
        );
        if let Some(w) = self.writer(out)
            && let Err(e) = w.diverged(&summary, &message)
        {
            self.save_failed(e.to_string(), out);
        }
        RunEnd::Diverged { summary, message }
    }
}

/// A run that goes away before its last epoch (another run takes its place, the window
/// closes) says so in its folder, instead of seeming to train for ever.
impl Drop for Session {
    fn drop(&mut self) {
        if self.status == RunStatus::Running
            && !self.trainer.is_finished()
            && let Some(w) = &mut self.writer
            && let Err(e) = w.stopped()
        {
            log::warn!("cannot mark the run as stopped: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetKind;
    use crate::runs::{Folders, SavedRun, saving};
    use crate::train::store::RunFolders;

    /// A run dropped before its last epoch says "stopped" in its folder, and goes on training
    /// (as running) when it is continued.
    #[test]
    fn a_run_dropped_early_is_stopped_and_can_go_on() {
        let root = tempfile::tempdir().expect("temporary folder");
        let config = TrainConfig {
            dataset: DatasetKind::Synthetic,
            epochs: 3,
            ..Default::default()
        };
        let data = Arc::new(crate::data::load(&config.data_request()).expect("synthetic data"));
        let mut session = Session::new(
            config,
            data.clone(),
            None,
            Some(saving(SaveTo::Under(root.path().to_path_buf()))),
        )
        .expect("valid settings");
        while session
            .advance(Duration::from_secs(60), |_| {})
            .epoch
            .is_none()
        {}
        let info = session.info.clone();
        drop(session);
        let dirs: Vec<_> = std::fs::read_dir(root.path())
            .expect("runs folder")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(dirs.len(), 1, "one run folder for {info:?}");
        let saved = SavedRun::load(&dirs[0]).expect("saved run");
        assert_eq!(saved.meta.status, RunStatus::Stopped);

        let record = Folders.load(&dirs[0]).expect("saved record");
        let mut again =
            Session::resume(&record, data, None, 0, Some(Arc::new(Folders))).expect("resumed");
        assert_eq!(again.status(), RunStatus::Running);
        while again.advance(Duration::from_secs(60), |_| {}).end.is_none() {}
        assert_eq!(again.status(), RunStatus::Finished);
        drop(again);
        let saved = SavedRun::load(&dirs[0]).expect("saved run");
        assert_eq!(saved.meta.status, RunStatus::Finished);
        assert_eq!(saved.history.len(), 3);
    }

    /// A layer stack trains through the session as an MLP does: the same records (a step
    /// per mini-batch, evaluations every `eval_every` steps, one metrics line per epoch with
    /// full evaluations, a live change recorded at its step, the test evaluation and summary),
    /// its folder keeps its weights, and a continued run starts from exactly those weights.
    #[test]
    fn a_layer_stack_trains_saves_and_goes_on() {
        let root = tempfile::tempdir().expect("temporary folder");
        let config = TrainConfig {
            dataset: DatasetKind::Synthetic,
            layers: "patchify 4:4, relu, dense 10, relu".into(),
            init: crate::model::InitKind::He,
            eta: 0.05,
            batch: 50,
            epochs: 2,
            eval_every: 7,
            threads: Some(2),
            ..Default::default()
        };
        let data = Arc::new(crate::data::load(&config.data_request()).expect("synthetic data"));
        let (n_train, n_val, n_test) = (data.train.len(), data.val.len(), data.test.len());
        let mut session = Session::new(
            config,
            data.clone(),
            None,
            Some(saving(SaveTo::Under(root.path().to_path_buf()))),
        )
        .expect("a valid stack");
        assert!(session.learner().stack_trainer().is_some());
        let first = session.advance(Duration::from_secs(60), |_| {});
        assert!(!first.steps.is_empty());
        // A live change: recorded at the step it takes effect, as for the MLP.
        let mut live = session.learner().live();
        live.eta = 0.03;
        let at = session.learner().steps_done();
        match session.set_live(live).expect("valid values") {
            LiveEdit::Applied(change) => assert_eq!(change.step, at),
            other => panic!("not applied: {other:?}"),
        }
        let end = loop {
            if let Some(end) = session.advance(Duration::from_secs(60), |_| {}).end {
                break end;
            }
        };
        let RunEnd::Finished { summary, test } = end else {
            panic!("did not finish: {end:?}");
        };
        let per_epoch = n_train.div_ceil(50);
        let history = session.learner().history().to_vec();
        assert_eq!(history.len(), 2);
        assert_eq!(session.steps().len(), 2 * per_epoch);
        for (i, r) in session.steps().iter().enumerate() {
            assert_eq!(r.step, i);
            assert!(r.loss.is_finite());
            assert_eq!(r.eta, if i < at { 0.05 } else { 0.03 });
        }
        assert_eq!(session.points().len(), (2 * per_epoch - 1) / 7);
        for m in &history {
            assert_eq!((m.train.count, m.val.count), (n_train, n_val));
            assert_eq!(m.val.confusion.iter().sum::<u32>() as usize, n_val);
            // The patchify and dense layers (each with its ReLU) and the class scores.
            let names: Vec<&str> = m.layers.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "patchify 4×4, 4 + relu",
                    "dense 10 + relu",
                    "scores (dense 10)"
                ]
            );
        }
        assert_eq!(test.count, n_test);
        assert_eq!(summary.test_acc, test.accuracy);
        assert_eq!(summary.val_acc, history[1].val.accuracy);
        // Well above chance (0.1) on the synthetic classes.
        assert!(test.accuracy > 0.25, "test accuracy {}", test.accuracy);
        let Model::Stack(trained) = session.model() else {
            panic!("a stack's session holds a stack");
        };
        drop(session);

        let dirs: Vec<_> = std::fs::read_dir(root.path())
            .expect("runs folder")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(dirs.len(), 1);
        assert!(
            dirs[0].file_name().is_some_and(|n| n
                .to_string_lossy()
                .contains("patchify4x4-relu-dense10-relu")),
            "{}",
            dirs[0].display()
        );
        let saved = SavedRun::load(&dirs[0]).expect("saved run");
        assert_eq!(saved.meta.status, RunStatus::Finished);
        assert_eq!(saved.history.len(), 2);
        assert_eq!(
            saved.model().expect("weights"),
            Model::Stack(trained.clone())
        );
        let refused = saved.weights().expect_err("not an MLP").to_string();
        assert!(refused.contains("layer stack"), "{refused}");

        // Continued with one more epoch: it starts from the saved weights and evaluates
        // them as the run did.
        let record = Folders.load(&dirs[0]).expect("saved record");
        let mut again =
            Session::resume(&record, data, None, 1, Some(Arc::new(Folders))).expect("resumed");
        assert_eq!(again.model(), Model::Stack(trained));
        assert_eq!(again.evaluate_test(), test);
        assert_eq!(again.learner().steps_done(), 2 * per_epoch);
        while again.advance(Duration::from_secs(60), |_| {}).end.is_none() {}
        assert_eq!(again.learner().history().len(), 3);
        drop(again);
        let saved = SavedRun::load(&dirs[0]).expect("saved run");
        assert_eq!(saved.history.len(), 3);
        assert_eq!(saved.meta.status, RunStatus::Finished);
    }
}
