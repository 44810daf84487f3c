//! One training session: the engine, the run's folder, the divergence rule and the summary.
//! The window's worker, `trainviz train` (through the worker) and every sweep point train
//! through this one type, so they save, stop and summarise runs the same way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::{ConfigError, LiveParams, TrainConfig};
use super::divergence::DivergenceGuard;
use super::metrics::{EpochMetrics, Evaluation, RunStatus, Summary};
use super::record::{RunSettings, SettingChange};
use super::trainer::{Subset, Trainer};
use super::worker::RunInfo;
use crate::data::{Normalizer, Splits};
use crate::model::Network;
use crate::runs::{RunWriter, SavedRun};

/// Where a session saves its run.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveTo {
    /// Nowhere.
    Nowhere,
    /// A new folder under this runs folder, named from the time and the settings, created
    /// when the first epoch ends (so a reset before that leaves nothing behind).
    Under(PathBuf),
    /// Exactly this folder, with this name (sweep points); replaced if it holds a run.
    At {
        /// The folder.
        dir: PathBuf,
        /// The run's name.
        name: String,
    },
    /// The saved run in this folder, continued.
    Continue(PathBuf),
}

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

/// What one call of [`Session::advance`] did.
#[derive(Debug, Clone, Default)]
pub struct Advance {
    /// Mean loss of each mini-batch trained.
    pub batch_losses: Vec<f32>,
    /// Images trained.
    pub images: usize,
    /// Seconds spent.
    pub seconds: f64,
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
    trainer: Trainer,
    info: RunInfo,
    save: SaveTo,
    writer: Option<RunWriter>,
    save_failed: bool,
    guard: DivergenceGuard,
    last_good: Network<f32>,
    status: RunStatus,
    active: Duration,
    /// Every η at which this run diverged (retries included), so that no suggestion repeats
    /// one of them.
    failed_etas: Vec<f64>,
    /// The step at which the run (re)started training: how fast a divergence came.
    started_at_step: usize,
}

impl Session {
    /// A new run of `config` on `data` (normalised by `normalizer`, fitted here if `None`).
    pub fn new(
        config: TrainConfig,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
        save: SaveTo,
    ) -> Result<Self, ConfigError> {
        let trainer = Trainer::new(config, data, normalizer)?;
        let info = RunInfo::new(trainer.data(), trainer.settings().clone());
        Ok(Session {
            last_good: trainer.network().clone(),
            trainer,
            info,
            save,
            writer: None,
            save_failed: false,
            guard: DivergenceGuard::default(),
            status: RunStatus::Running,
            active: Duration::ZERO,
            failed_etas: Vec::new(),
            started_at_step: 0,
        })
    }

    /// Continues the saved run `saved` (its weights, curves and changes) on `data`, with
    /// `extra_epochs` more epochs planned (recorded as a change; 0 keeps its plan). Its folder
    /// takes the new epochs.
    pub fn resume(
        saved: &SavedRun,
        data: Arc<Splits>,
        normalizer: Option<Arc<Normalizer>>,
        extra_epochs: usize,
        save: bool,
    ) -> Result<Self, String> {
        let network = saved
            .weights()
            .map_err(|e| format!("Cannot load the run's weights: {e}"))?;
        let save = if save {
            SaveTo::Continue(saved.dir.clone())
        } else {
            SaveTo::Nowhere
        };
        let mut s = Session::new(saved.settings.start.clone(), data, normalizer, save)
            .map_err(|e| e.to_string())?;
        let fresh = s.trainer.network();
        if network.input_dim() != fresh.input_dim()
            || network.classes() != fresh.classes()
            || network.hidden() != fresh.hidden()
        {
            return Err("The saved weights do not fit the run's settings and data.".into());
        }
        s.trainer.restore(
            network.clone(),
            saved.history.clone(),
            saved.settings.changes.clone(),
        );
        s.guard = DivergenceGuard::new(saved.history.first().map(|m| m.train.loss));
        s.last_good = network;
        // A stopped run goes on where it stopped.
        s.status = match saved.meta.status {
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

    /// The engine.
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
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
        self.writer.as_ref().map(RunWriter::dir)
    }
    /// Allows or forbids sharing big steps between two threads (sweeps spread points over
    /// the cores instead).
    pub fn set_share_steps(&mut self, share: bool) {
        self.trainer.set_share_steps(share);
    }

    /// Changes live hyperparameters from the next step; the change is recorded (and saved)
    /// with the step and epoch at which it takes effect. `None` when nothing changed.
    pub fn set_live(&mut self, live: LiveParams) -> Result<Option<SettingChange>, ConfigError> {
        let change = self.trainer.set_live(live)?;
        if let Some(c) = &change {
            self.record_change(c.clone());
        }
        Ok(change)
    }

    /// Plans `extra` more epochs ("+N epochs"); a finished or diverged run trains again.
    pub fn extend(&mut self, extra: usize) -> SettingChange {
        let change = self.trainer.extend(extra);
        self.status = RunStatus::Running;
        self.record_change(change.clone());
        if let Some(w) = &mut self.writer
            && let Err(e) = w.reopen()
        {
            self.save_failed = true;
            log::error!("could not reopen the run folder: {e}");
        }
        change
    }

    /// Goes on training a diverged run from its last good weights, with the values in force
    /// now (typically after lowering η). Its folder is marked as training again.
    pub fn retry(&mut self) {
        if self.status != RunStatus::Diverged {
            return;
        }
        self.status = RunStatus::Running;
        self.started_at_step = self.trainer.steps_done();
        if let Some(w) = &mut self.writer
            && let Err(e) = w.reopen()
        {
            self.save_failed = true;
            log::error!("could not reopen the run folder: {e}");
        }
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
        let guard = &mut self.guard;
        let losses = &mut out.batch_losses;
        let images = &mut out.images;
        let last = self.trainer.steps_for(budget, |o| {
            losses.push(o.batch_loss as f32);
            *images += o.images;
            on_step(o.batch_loss);
            if reason.is_none() {
                reason = guard.check_batch(o.batch_loss);
            }
        });
        self.active += started.elapsed();
        out.seconds = started.elapsed().as_secs_f64();
        if let Some(reason) = reason {
            out.end = Some(self.diverge(&reason, &mut out));
            return out;
        }
        if last.epoch_complete {
            let started = Instant::now();
            let metrics = self.trainer.finish_epoch();
            self.active += started.elapsed();
            if let Some(reason) = self
                .guard
                .check_epoch(metrics.train.loss, metrics.train.cost)
                .or_else(|| {
                    (!self.trainer.network().is_finite())
                        .then(|| "the weights became NaN or infinite".to_string())
                })
            {
                out.end = Some(self.diverge(&reason, &mut out));
                return out;
            }
            self.last_good = self.trainer.network().clone();
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
            total.batch_losses.extend(a.batch_losses);
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

    fn writer(&mut self, out: &mut Advance) -> Option<&mut RunWriter> {
        if self.save_failed {
            return None;
        }
        if self.writer.is_none() {
            let created = match &self.save {
                SaveTo::Nowhere => return None,
                SaveTo::Under(root) => RunWriter::create(root, &self.info),
                SaveTo::At { dir, name } => {
                    // A half-done point from an interrupted start is redone from scratch.
                    let _ = std::fs::remove_dir_all(dir);
                    RunWriter::create_at(dir.clone(), &self.info, Some(name.clone()))
                }
                SaveTo::Continue(dir) => RunWriter::resume(dir, &self.info.settings.changes),
            };
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
        let network = self.trainer.network().clone();
        if let Some(w) = self.writer(out)
            && let Err(e) = w.epoch(metrics, &network)
        {
            self.save_failed(e.to_string(), out);
        }
    }

    fn seconds(&self) -> f64 {
        self.active.as_secs_f64()
    }

    fn finish(&mut self, out: &mut Advance) -> RunEnd {
        let test = self.trainer.evaluate(Subset::Test);
        let summary = self.trainer.summary(&test, self.seconds());
        self.status = RunStatus::Finished;
        if let Some(w) = self.writer(out)
            && let Err(e) = w.finish(&summary)
        {
            self.save_failed(e.to_string(), out);
        }
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
        self.trainer.set_network(self.last_good.clone());
        self.status = RunStatus::Diverged;
        let test = self.trainer.evaluate(Subset::Test);
        let mut summary = self.trainer.summary(&test, self.seconds());
        summary.status = RunStatus::Diverged;
        let message = format!(
            "Training diverged in epoch {epoch} (step {step}, η = {}): {reason}. \
             Training stopped and the weights of the last good epoch are back. \
             Try a smaller η (e.g. {}).",
            super::divergence::plain_number(eta),
            super::divergence::plain_number(suggestion)
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
            SaveTo::Under(root.path().to_path_buf()),
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

        let mut again = Session::resume(&saved, data, None, 0, true).expect("resumed");
        assert_eq!(again.status(), RunStatus::Running);
        while again.advance(Duration::from_secs(60), |_| {}).end.is_none() {}
        assert_eq!(again.status(), RunStatus::Finished);
        drop(again);
        let saved = SavedRun::load(&dirs[0]).expect("saved run");
        assert_eq!(saved.meta.status, RunStatus::Finished);
        assert_eq!(saved.history.len(), 3);
    }
}
