//! Where a session keeps its record, as the engine sees it: two traits that the run folder
//! ([`crate::runs`]) implements. The engine writes epochs, steps and its end through
//! [`RunRecorder`] and opens or reads back runs through [`RunFolders`]; it never names the
//! folder's files, so `train` does not depend on `runs` (which depends on `train`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::learner::Model;
use super::messages::RunInfo;
use super::metrics::{EpochMetrics, Evaluation, RunStatus, Summary};
use super::record::{RunSettings, SettingChange};
use super::steps::{EvalPoint, StepRecord};

/// Why the record could not be written or read: the store's own error, kept whole (its
/// message names the file and what went wrong).
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where a session saves its run.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveTo {
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

/// The record of one run being written, in the order training produces it.
pub trait RunRecorder: Send {
    /// The run's folder.
    fn dir(&self) -> &Path;
    /// Saves a finished epoch: its metrics and the weights after it.
    fn epoch(&mut self, metrics: &EpochMetrics, model: &Model) -> Result<(), StoreError>;
    /// Appends steps not yet saved.
    fn steps(&mut self, records: &[StepRecord]) -> Result<(), StoreError>;
    /// Appends evaluations within epochs not yet saved.
    fn points(&mut self, points: &[EvalPoint]) -> Result<(), StoreError>;
    /// Marks the run finished, with its final numbers and test evaluation.
    fn finish(&mut self, summary: &Summary, test: &Evaluation) -> Result<(), StoreError>;
    /// Marks the run diverged, with the numbers of the last good weights and the message.
    fn diverged(&mut self, summary: &Summary, message: &str) -> Result<(), StoreError>;
    /// Marks the run stopped before its last epoch.
    fn stopped(&mut self) -> Result<(), StoreError>;
    /// Marks a finished, diverged or stopped run as training again.
    fn reopen(&mut self) -> Result<(), StoreError>;
    /// Saves the run's setting changes (all of them, replacing those saved).
    fn changes(&mut self, changes: &[SettingChange]) -> Result<(), StoreError>;
}

/// A saved run read back, as a session continues it (see [`super::Session::resume`]).
#[derive(Debug, Clone)]
pub struct SavedRecord {
    /// The run's folder.
    pub dir: PathBuf,
    /// Its settings: the start and every change.
    pub settings: RunSettings,
    /// Every finished epoch's metrics.
    pub history: Vec<EpochMetrics>,
    /// The weights after its last saved epoch (an MLP's or a layer stack's).
    pub model: Model,
    /// Every saved step (empty for a run saved without them).
    pub steps: Vec<StepRecord>,
    /// Every saved evaluation within epochs.
    pub points: Vec<EvalPoint>,
    /// The test evaluation it finished with, if any.
    pub test: Option<Evaluation>,
    /// How it ended, as its folder says.
    pub status: RunStatus,
}

/// Opens run records: new ones where [`SaveTo`] says, and saved ones to continue.
pub trait RunFolders: Send + Sync {
    /// Creates (or, for [`SaveTo::Continue`], reopens) the record of the run described by
    /// `info`.
    fn open(&self, to: &SaveTo, info: &RunInfo) -> Result<Box<dyn RunRecorder>, StoreError>;
    /// Reads back the run saved in `dir`.
    fn load(&self, dir: &Path) -> Result<SavedRecord, StoreError>;
}

/// How a session saves its run: where, and the store that writes there.
#[derive(Clone)]
pub struct Saving {
    /// Where.
    pub to: SaveTo,
    /// The store (the run folders of [`crate::runs`]).
    pub folders: Arc<dyn RunFolders>,
}

impl std::fmt::Debug for Saving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saving")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}
