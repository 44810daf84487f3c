//! The messages between the worker thread and its users: the [`Command`]s the window or the
//! command line sends, the [`Event`]s the worker answers with, and the facts of a run
//! ([`RunInfo`]) they carry. Both sides and the session depend on these types; these types
//! depend on neither.

use std::path::PathBuf;
use std::sync::Arc;

use super::analysis::{Prediction, Projection};
use super::config::{LiveParams, TrainConfig};
use super::metrics::{EpochMetrics, Evaluation, RunStatus, Summary};
use super::record::{RunSettings, SettingChange};
use super::steps::{EvalPoint, StepRecord};
use super::trainer::Subset;
use crate::data::{self, ImageShape, Splits};
use crate::model::Network;
use crate::model::gradcheck::ParamCheck;

/// What the app or CLI asks of the worker.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start or resume training.
    Start,
    /// Pause after the current step.
    Pause,
    /// Train exactly one more epoch, then pause.
    StepEpoch,
    /// Discard the run and set up a new one with these settings (loads data if needed).
    Reset(Box<TrainConfig>),
    /// Change hyperparameters of the running training from the next step (answered by
    /// [`EventKind::SettingsChanged`] with the recorded change).
    SetLive(LiveParams),
    /// Continue the current run for this many more epochs ("+N epochs"), with the values in
    /// force; the new total is recorded.
    Extend(usize),
    /// Evaluate the test set now.
    EvaluateTest,
    /// Analyse the current weights; answered by [`EventKind::Analysis`].
    Analyse(AnalysisRequest),
    /// Load a saved run (settings, curves, weights) as a new, paused run that can continue
    /// for `extra_epochs` more epochs beyond those it trained.
    LoadRun {
        /// The run's folder.
        dir: PathBuf,
        /// Epochs to allow beyond those already trained (0: as the run was configured).
        extra_epochs: usize,
    },
    /// Make the worker fail as a bug would (a panic while handling a command): for testing
    /// that the app survives it. Only in builds with the `test-hooks` feature.
    #[cfg(feature = "test-hooks")]
    InjectFault,
    /// Stop the worker.
    Shutdown,
}

/// Analyses the window can ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisRequest {
    /// Predictions with top-3 probabilities for the first `max` images of a set.
    Predictions {
        /// Which set.
        set: Subset,
        /// At most this many images.
        max: usize,
    },
    /// A 2-D map of layer `layer`'s outputs on the first `count` validation images
    /// (computed on its own thread; progress arrives as [`AnalysisResult::EmbeddingProgress`]).
    Embedding {
        /// Layer, 0-based; the last layer is the class scores.
        layer: usize,
        /// PCA or t-SNE.
        projection: Projection,
        /// Images.
        count: usize,
    },
    /// Stop the t-SNE in progress (answered by [`AnalysisResult::EmbeddingCancelled`]).
    CancelEmbedding,
    /// The numerical gradient check on `samples` training images: an MLP's on their first
    /// `dims` inputs, a layer stack's on whole images with `dims` entries of each parameter
    /// array (see [`crate::train::analysis::check_gradients`]).
    GradientCheck {
        /// Images.
        samples: usize,
        /// An MLP's input dimensions kept; a stack's entries checked per parameter array.
        dims: usize,
    },
}

impl AnalysisRequest {
    /// What is asked for, in words (the subject of a sentence).
    pub fn what(&self) -> &'static str {
        match self {
            AnalysisRequest::Predictions { .. } => "Predictions",
            AnalysisRequest::Embedding { .. } | AnalysisRequest::CancelEmbedding => "Embeddings",
            AnalysisRequest::GradientCheck { .. } => "Gradient checks",
        }
    }
}

/// Most validation images a layer stack's run sends the window for its feature maps.
pub const SAMPLE_IMAGES: usize = 100;

/// Answers to [`AnalysisRequest`]s.
#[derive(Debug, Clone)]
pub enum AnalysisResult {
    /// Predictions, with the data they refer to (shared, not copied).
    Predictions {
        /// Which set.
        set: Subset,
        /// The data set (images and class names).
        data: Arc<Splits>,
        /// One per image, in set order.
        predictions: Arc<Vec<Prediction>>,
    },
    /// How far a t-SNE has got, 0–1.
    EmbeddingProgress(f32),
    /// A t-SNE stopped before the end (cancelled, or replaced by a newer request).
    EmbeddingCancelled,
    /// A finished 2-D map.
    Embedding {
        /// Layer embedded.
        layer: usize,
        /// How.
        projection: Projection,
        /// Names of the two axes (for PCA with the share of variance).
        axes: [String; 2],
        /// One point per image.
        points: Vec<[f32; 2]>,
        /// The images' classes.
        labels: Vec<u8>,
        /// Why fewer images were embedded than asked for (a wide layer), if they were.
        note: Option<String>,
    },
    /// Per-parameter errors of the gradient check.
    GradientCheck(Vec<ParamCheck>),
}

/// Facts about a run: its data and its settings record.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Data-set name.
    pub dataset: String,
    /// Class names.
    pub class_names: Vec<String>,
    /// Image shape.
    pub shape: ImageShape,
    /// Sizes of the training, validation and test sets.
    pub sizes: [usize; 3],
    /// The run's settings: where it started and every change so far (the window adds the
    /// changes it is told of by [`EventKind::SettingsChanged`]).
    pub settings: RunSettings,
    /// Files and folders of the data that were skipped, and why.
    pub warnings: Vec<data::DataWarning>,
}

impl RunInfo {
    /// The facts of a run with `settings` on `data`.
    pub fn new(data: &Splits, settings: RunSettings) -> Self {
        RunInfo {
            dataset: data.name.clone(),
            class_names: data.class_names.clone(),
            shape: data.shape(),
            sizes: [data.train.len(), data.val.len(), data.test.len()],
            settings,
            warnings: data.warnings.clone(),
        }
    }
}

/// What the worker reports: what happened ([`EventKind`]) to which run. Every event carries
/// the id of the run it belongs to, so a consumer can drop events of a run it has already
/// reset.
#[derive(Debug, Clone)]
pub struct Event {
    /// Run id (a new one for every reset or loaded run).
    pub run: u64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened, in an [`Event`].
#[derive(Debug, Clone)]
pub enum EventKind {
    /// Loading data (may take a moment).
    Loading {
        /// What is being loaded.
        what: String,
    },
    /// A run is set up and ready to start.
    Ready {
        /// About the run.
        info: Box<RunInfo>,
    },
    /// Steps taken since the last progress event.
    Progress {
        /// Completed epochs.
        epoch: usize,
        /// Images of the current epoch done.
        images_into_epoch: usize,
        /// Training images per epoch.
        images_per_epoch: usize,
        /// Global step count.
        step: usize,
        /// Each step since the last progress event (for a loaded run: every saved step).
        steps: Vec<StepRecord>,
        /// Learning rate of the last step.
        eta: f64,
        /// Training throughput over the reported steps.
        images_per_sec: f64,
        /// Seconds spent in the reported steps alone (no evaluation; 0 for a loaded run's).
        step_seconds: f64,
    },
    /// The training and validation sets evaluated within an epoch (every `eval_every`
    /// update steps).
    Evaluated {
        /// The evaluation.
        point: EvalPoint,
    },
    /// An epoch completed.
    Epoch {
        /// Its metrics.
        metrics: Box<EpochMetrics>,
    },
    /// The current weights (throttled; the newest one matters).
    Weights {
        /// Completed epochs when taken.
        epoch: usize,
        /// The model.
        network: Arc<Network<f32>>,
    },
    /// A layer stack's current weights (throttled; the newest one matters): what the
    /// window's filters and feature maps are drawn from.
    StackWeights {
        /// Completed epochs when taken.
        epoch: usize,
        /// The stack.
        stack: Arc<crate::model::stack::Stack<f32>>,
    },
    /// Validation images and the normalisation training applies to every image, sent once
    /// when a layer stack's run is ready, so the window can show what each layer makes of
    /// an image.
    Samples {
        /// The training set's normalisation.
        normalizer: Arc<crate::data::Normalizer>,
        /// The first validation images (at most [`SAMPLE_IMAGES`]).
        images: Arc<crate::data::ImageSet>,
    },
    /// Test-set evaluation.
    Test {
        /// Its result.
        eval: Box<Evaluation>,
    },
    /// Training started (true) or paused (false).
    Running {
        /// Whether steps are being taken.
        running: bool,
    },
    /// Training diverged (see [`super::divergence`]); the last good weights are back and
    /// the run has stopped.
    Diverged {
        /// What happened and what to do.
        message: String,
        /// The numbers of the last good weights (status `diverged`).
        summary: Box<Summary>,
    },
    /// A setting changed while the run trained (recorded with the step it took effect).
    SettingsChanged {
        /// The change.
        change: SettingChange,
    },
    /// Live values set while the run cannot take a step (finished or diverged): not
    /// recorded, held until training goes on ("+N epochs", or Start after a divergence).
    /// `None`: nothing is held any more (applied, or taken back).
    LiveHeld {
        /// The values held.
        live: Option<LiveParams>,
    },
    /// A loaded run has already ended (finished or diverged).
    Status {
        /// How it ended.
        status: RunStatus,
    },
    /// Something to tell the user that is not an error (e.g. "this run has finished").
    Notice {
        /// One line.
        message: String,
    },
    /// All epochs done.
    Finished {
        /// Final numbers.
        summary: Box<Summary>,
    },
    /// The run is being saved in this folder (sent once, when its first epoch is saved).
    Saved {
        /// The run's folder.
        dir: PathBuf,
    },
    /// The answer to an [`Command::Analyse`].
    Analysis {
        /// The answer.
        result: Box<AnalysisResult>,
    },
    /// Something failed; the worker is still alive and takes commands.
    Error {
        /// One-line explanation.
        message: String,
    },
}
