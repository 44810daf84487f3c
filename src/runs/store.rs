//! The run folder as the engine's store: [`RunWriter`] records a session through
//! [`RunRecorder`], [`Folders`] opens and reads back run folders through [`RunFolders`], and
//! the worker's usual constructors start it with them. They live here because `train` saves
//! through those traits without knowing the folder's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{RunWriter, SavedRun};
use crate::train::messages::RunInfo;
use crate::train::record::SettingChange;
use crate::train::steps::{EvalPoint, StepRecord};
use crate::train::store::{RunFolders, RunRecorder, SaveTo, SavedRecord, Saving, StoreError};
use crate::train::worker::{Waker, WorkerHandle};
use crate::train::{EpochMetrics, Evaluation, Model, Summary};

impl RunRecorder for RunWriter {
    fn dir(&self) -> &Path {
        RunWriter::dir(self)
    }
    fn epoch(&mut self, metrics: &EpochMetrics, model: &Model) -> Result<(), StoreError> {
        Ok(RunWriter::epoch(self, metrics, model)?)
    }
    fn steps(&mut self, records: &[StepRecord]) -> Result<(), StoreError> {
        Ok(RunWriter::steps(self, records)?)
    }
    fn points(&mut self, points: &[EvalPoint]) -> Result<(), StoreError> {
        Ok(RunWriter::points(self, points)?)
    }
    fn finish(&mut self, summary: &Summary, test: &Evaluation) -> Result<(), StoreError> {
        Ok(RunWriter::finish(self, summary, test)?)
    }
    fn diverged(&mut self, summary: &Summary, message: &str) -> Result<(), StoreError> {
        Ok(RunWriter::diverged(self, summary, message)?)
    }
    fn stopped(&mut self) -> Result<(), StoreError> {
        Ok(RunWriter::stopped(self)?)
    }
    fn reopen(&mut self) -> Result<(), StoreError> {
        Ok(RunWriter::reopen(self)?)
    }
    fn changes(&mut self, changes: &[SettingChange]) -> Result<(), StoreError> {
        Ok(RunWriter::changes(self, changes)?)
    }
}

/// The run folders on disk: the store every session of the window, the command line, sweeps
/// and races saves in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Folders;

impl RunFolders for Folders {
    fn open(&self, to: &SaveTo, info: &RunInfo) -> Result<Box<dyn RunRecorder>, StoreError> {
        let writer = match to {
            SaveTo::Under(root) => RunWriter::create(root, info)?,
            SaveTo::At { dir, name } => {
                // A half-done point from an interrupted start is redone from scratch; a
                // folder that cannot be removed makes the creation below fail with the reason.
                if let Err(e) = std::fs::remove_dir_all(dir)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    log::warn!("{}: cannot remove the old point: {e}", dir.display());
                }
                RunWriter::create_at(dir.clone(), info, Some(name.clone()))?
            }
            SaveTo::Continue(dir) => RunWriter::resume(dir, &info.settings.changes)?,
        };
        Ok(Box::new(writer))
    }

    fn load(&self, dir: &Path) -> Result<SavedRecord, StoreError> {
        let saved = SavedRun::load(dir)?;
        let model = saved
            .model()
            .map_err(|e| -> StoreError { format!("Cannot load the run's weights: {e}").into() })?;
        // A run saved by an older version has no steps or evaluation points; a damaged file
        // only loses its figure.
        let steps = saved.steps().unwrap_or_else(|e| {
            log::warn!("{e}");
            Vec::new()
        });
        let points = saved.points().unwrap_or_else(|e| {
            log::warn!("{e}");
            Vec::new()
        });
        Ok(SavedRecord {
            test: saved.test(),
            status: saved.meta.status,
            dir: saved.dir,
            settings: saved.settings,
            history: saved.history,
            model,
            steps,
            points,
        })
    }
}

/// Saving `to` in the run folders.
pub fn saving(to: SaveTo) -> Saving {
    Saving {
        to,
        folders: Arc::new(Folders),
    }
}

impl WorkerHandle {
    /// Starts a worker thread that loads runs from their folders and saves nothing. `waker` is
    /// called after events are sent.
    pub fn spawn(waker: Option<Waker>) -> Self {
        Self::spawn_saving(waker, None)
    }

    /// Starts a worker thread that saves every run it trains in a new folder under
    /// `runs_dir` (see [`crate::runs`]; `None`: saves nothing). `waker` is called after
    /// events are sent.
    pub fn spawn_saving(waker: Option<Waker>, runs_dir: Option<PathBuf>) -> Self {
        WorkerHandle::spawn_with(waker, Arc::new(Folders), runs_dir)
    }
}
