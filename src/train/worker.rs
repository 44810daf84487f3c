//! The worker thread: owns data and model, runs the engine, takes [`Command`]s and emits
//! [`Event`]s over crossbeam channels. Neither side ever waits for the other.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::analysis::{self, Prediction, Projection, TsneSettings};
use super::config::{LiveParams, TrainConfig};
use super::metrics::{EpochMetrics, Evaluation, Summary};
use super::trainer::{Subset, Trainer};
use crate::data::{self, DataRequest, ImageShape, Normalizer, Preprocess, Splits};
use crate::model::Network;
use crate::model::gradcheck::ParamCheck;
use crate::runs::{RunWriter, SavedRun};

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
    /// Change hyperparameters of the running training from the next step.
    SetLive(LiveParams),
    /// Evaluate the test set now.
    EvaluateTest,
    /// Analyse the current weights; answered by [`Event::Analysis`].
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
    /// that the app survives it.
    #[doc(hidden)]
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
    /// The numerical gradient check on `samples` training images, first `dims` inputs.
    GradientCheck {
        /// Images.
        samples: usize,
        /// Input dimensions kept.
        dims: usize,
    },
}

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
    },
    /// Per-parameter errors of the gradient check.
    GradientCheck(Vec<ParamCheck>),
}

/// Facts about a run that do not change while it trains.
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
    /// The settings of the run.
    pub config: TrainConfig,
}

impl RunInfo {
    /// The facts of a run of `config` on `data`.
    pub fn new(data: &Splits, config: TrainConfig) -> Self {
        RunInfo {
            dataset: data.name.clone(),
            class_names: data.class_names.clone(),
            shape: data.shape(),
            sizes: [data.train.len(), data.val.len(), data.test.len()],
            config,
        }
    }
}

/// What the worker reports. Every event carries the id of the run it belongs to, so a
/// consumer can drop events of a run it has already reset.
#[derive(Debug, Clone)]
pub enum Event {
    /// Loading data (may take a moment).
    Loading {
        /// Run id.
        run: u64,
        /// What is being loaded.
        what: String,
    },
    /// A run is set up and ready to start.
    Ready {
        /// Run id.
        run: u64,
        /// About the run.
        info: Box<RunInfo>,
    },
    /// Steps taken since the last progress event.
    Progress {
        /// Run id.
        run: u64,
        /// Completed epochs.
        epoch: usize,
        /// Images of the current epoch done.
        images_into_epoch: usize,
        /// Training images per epoch.
        images_per_epoch: usize,
        /// Global step count.
        step: usize,
        /// Mean loss of each mini-batch since the last progress event.
        batch_losses: Vec<f32>,
        /// Learning rate of the last step.
        eta: f64,
        /// Training throughput over the reported steps.
        images_per_sec: f64,
    },
    /// An epoch completed.
    Epoch {
        /// Run id.
        run: u64,
        /// Its metrics.
        metrics: Box<EpochMetrics>,
    },
    /// The current weights (throttled; the newest one matters).
    Weights {
        /// Run id.
        run: u64,
        /// Completed epochs when taken.
        epoch: usize,
        /// The model.
        network: Arc<Network<f32>>,
    },
    /// Test-set evaluation.
    Test {
        /// Run id.
        run: u64,
        /// Its result.
        eval: Box<Evaluation>,
    },
    /// Training started (true) or paused (false).
    Running {
        /// Run id.
        run: u64,
        /// Whether steps are being taken.
        running: bool,
    },
    /// Training diverged: the cost became NaN or infinite; the last good weights are back
    /// and training is paused.
    Diverged {
        /// Run id.
        run: u64,
        /// What happened and what to do.
        message: String,
    },
    /// All epochs done.
    Finished {
        /// Run id.
        run: u64,
        /// Final numbers.
        summary: Box<Summary>,
    },
    /// The run is being saved in this folder (sent once, when its first epoch is saved).
    Saved {
        /// Run id.
        run: u64,
        /// The run's folder.
        dir: PathBuf,
    },
    /// The answer to an [`Command::Analyse`].
    Analysis {
        /// Run id.
        run: u64,
        /// The answer.
        result: Box<AnalysisResult>,
    },
    /// Something failed; the worker is still alive and takes commands.
    Error {
        /// Run id.
        run: u64,
        /// One-line explanation.
        message: String,
    },
}

/// A callback that wakes the consumer (e.g. asks the window to repaint).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The app's or CLI's handle on the worker thread. Dropping it stops the worker.
pub struct WorkerHandle {
    commands: Sender<Command>,
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How much less CPU priority (nice) the worker and the threads it starts get than the
/// window: with both cores training, the window's thread still gets a core when it needs
/// one, so frames stay smooth.
const WORKER_NICENESS: i32 = 5;

/// Lowers the calling thread's scheduling priority by [`WORKER_NICENESS`]; threads it
/// starts inherit it. Best effort: does nothing where unsupported.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread (on Linux, PRIO_PROCESS with id 0
        // addresses the calling thread). Failure only leaves the priority as it was.
        unsafe {
            let now = libc::getpriority(libc::PRIO_PROCESS, 0);
            libc::setpriority(libc::PRIO_PROCESS, 0, now + WORKER_NICENESS);
        }
    }
}

impl WorkerHandle {
    /// Starts a worker thread that saves nothing. `waker` is called after events are sent.
    pub fn spawn(waker: Option<Waker>) -> Self {
        Self::spawn_saving(waker, None)
    }

    /// Starts a worker thread that saves every run it trains under `runs_dir` (see
    /// [`crate::runs`]). `waker` is called after events are sent.
    pub fn spawn_saving(waker: Option<Waker>, runs_dir: Option<PathBuf>) -> Self {
        let (cmd_tx, cmd_rx) = unbounded();
        let (ev_tx, ev_rx) = unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("trainviz-worker".into())
            .spawn(move || {
                lower_thread_priority();
                let mut w = Worker {
                    commands: cmd_rx,
                    events: ev_tx,
                    waker,
                    stop: stop_flag,
                    config: TrainConfig::default(),
                    trainer: None,
                    data_cache: None,
                    run: 0,
                    running: false,
                    pause_after_epoch: false,
                    run_started: None,
                    last_weights: Instant::now(),
                    embedding_cancel: Arc::new(AtomicBool::new(false)),
                    runs_dir,
                    writer: None,
                    resume_dir: None,
                    save_failed: false,
                    last_good: None,
                };
                w.run_loop();
            })
            .ok();
        WorkerHandle {
            commands: cmd_tx,
            events: ev_rx,
            stop,
            thread,
        }
    }

    /// Sends a command; false when the worker has gone.
    pub fn send(&self, cmd: Command) -> bool {
        self.commands.send(cmd).is_ok()
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Stops the worker at once and waits for its thread.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Loaded data with its normaliser, kept so that a reset with the same data is instant.
struct DataCache {
    request: DataRequest,
    splits: Arc<Splits>,
    preprocess: Preprocess,
    normalizer: Arc<Normalizer>,
}

/// Seconds of training between checks of the command channel.
const SLICE: Duration = Duration::from_millis(30);
/// At most this often a weight snapshot is sent.
const WEIGHTS_EVERY: Duration = Duration::from_millis(200);

struct Worker {
    commands: Receiver<Command>,
    events: Sender<Event>,
    waker: Option<Waker>,
    stop: Arc<AtomicBool>,
    config: TrainConfig,
    trainer: Option<Trainer>,
    data_cache: Option<DataCache>,
    run: u64,
    running: bool,
    pause_after_epoch: bool,
    run_started: Option<Instant>,
    last_weights: Instant,
    last_good: Option<Network<f32>>,
    /// Set to stop the running t-SNE, if any.
    embedding_cancel: Arc<AtomicBool>,
    /// Where runs are saved (`None`: not saved).
    runs_dir: Option<PathBuf>,
    /// The current run's folder writer, from its first saved epoch.
    writer: Option<RunWriter>,
    /// A loaded run's folder: its new epochs are appended there.
    resume_dir: Option<PathBuf>,
    /// Saving failed once for this run; said once, then left alone.
    save_failed: bool,
}

impl Worker {
    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
        if let Some(w) = &self.waker {
            w();
        }
    }

    fn run_loop(&mut self) {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let cmd = if self.running {
                self.commands.try_recv().ok()
            } else {
                match self.commands.recv_timeout(Duration::from_millis(100)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            if let Some(cmd) = cmd {
                if matches!(cmd, Command::Shutdown) {
                    return;
                }
                self.guarded(|w| w.handle(cmd));
                continue;
            }
            if self.running {
                self.guarded(Worker::train_slice);
            }
        }
    }

    /// Runs `f`; if it panics (a bug), the run is dropped, the error is reported, and the
    /// worker stays alive for a Reset.
    fn guarded(&mut self, f: impl FnOnce(&mut Self)) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
        if let Err(panic) = outcome {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            self.trainer = None;
            self.writer = None;
            self.running = false;
            self.emit(Event::Running {
                run: self.run,
                running: false,
            });
            self.error(format!(
                "The training engine failed ({what}). The run is stopped; press Reset to start again."
            ));
        }
    }

    fn set_running(&mut self, running: bool) {
        if self.running != running {
            self.running = running;
            self.emit(Event::Running {
                run: self.run,
                running,
            });
        }
    }

    fn error(&self, message: String) {
        self.emit(Event::Error {
            run: self.run,
            message,
        });
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Start | Command::StepEpoch => {
                self.pause_after_epoch = matches!(cmd, Command::StepEpoch);
                if self.trainer.is_none() && !self.setup() {
                    return;
                }
                if let Some(t) = &mut self.trainer
                    && t.is_finished()
                {
                    // Asked to go on after the end: train one more round of epochs.
                    let more = t.epochs_done()
                        + if self.pause_after_epoch {
                            1
                        } else {
                            t.config().epochs.max(1)
                        };
                    t.set_epochs(more);
                }
                self.run_started.get_or_insert_with(Instant::now);
                self.set_running(true);
            }
            Command::Pause => self.set_running(false),
            Command::Reset(config) => {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                self.set_running(false);
                self.config = *config;
                self.trainer = None;
                self.setup();
            }
            Command::SetLive(live) => {
                self.config.set_live(&live);
                if let Some(t) = &mut self.trainer
                    && let Err(e) = t.set_live(live)
                {
                    self.error(e.to_string());
                }
            }
            Command::EvaluateTest => {
                if let Some(t) = &self.trainer {
                    let eval = t.evaluate(Subset::Test);
                    self.emit(Event::Test {
                        run: self.run,
                        eval: Box::new(eval),
                    });
                }
            }
            Command::Analyse(request) => self.analyse(request),
            Command::InjectFault => panic!("fault injected for testing"),
            Command::LoadRun { dir, extra_epochs } => {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                self.load_run(dir, extra_epochs);
            }
            Command::Shutdown => {}
        }
    }

    fn analyse(&mut self, request: AnalysisRequest) {
        let Some(t) = &self.trainer else {
            self.error("Nothing to analyse yet: wait until the run is ready.".into());
            return;
        };
        let run = self.run;
        let net = t.network();
        let loss = t.live().loss;
        let result = match request {
            AnalysisRequest::Predictions { set, max } => {
                let data = t.data().clone();
                let images = match set {
                    Subset::Train => &data.train,
                    Subset::Val => &data.val,
                    Subset::Test => &data.test,
                };
                let predictions = analysis::predictions(net, t.normalizer(), images, loss, max);
                AnalysisResult::Predictions {
                    set,
                    data: data.clone(),
                    predictions: Arc::new(predictions),
                }
            }
            AnalysisRequest::GradientCheck { samples, dims } => AnalysisResult::GradientCheck(
                analysis::gradient_check(&t.config(), t.data(), t.normalizer(), samples, dims),
            ),
            AnalysisRequest::CancelEmbedding => {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                return;
            }
            AnalysisRequest::Embedding {
                layer,
                projection,
                count,
            } => {
                let count = count.min(analysis::MAX_EMBEDDING_POINTS);
                let (acts, labels) =
                    analysis::layer_activations(net, t.normalizer(), &t.data().val, layer, count);
                match projection {
                    Projection::Pca => {
                        let pca = analysis::pca2_with_variance(&acts);
                        AnalysisResult::Embedding {
                            layer,
                            projection,
                            axes: analysis::axis_names(projection, Some(pca.variance_share)),
                            points: pca.points,
                            labels,
                        }
                    }
                    Projection::Tsne => {
                        self.spawn_tsne(run, layer, acts, labels);
                        return;
                    }
                }
            }
        };
        self.emit(Event::Analysis {
            run,
            result: Box::new(result),
        });
    }

    /// Runs a t-SNE on its own thread (seconds for 10,000 points), reporting progress; a
    /// newer request, a reset or [`AnalysisRequest::CancelEmbedding`] cancels it.
    fn spawn_tsne(&mut self, run: u64, layer: usize, acts: ndarray::Array2<f32>, labels: Vec<u8>) {
        self.embedding_cancel.store(true, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        self.embedding_cancel = cancel.clone();
        let events = self.events.clone();
        let waker = self.waker.clone();
        let send = move |result: AnalysisResult| {
            let _ = events.send(Event::Analysis {
                run,
                result: Box::new(result),
            });
            if let Some(w) = &waker {
                w();
            }
        };
        let spawned = std::thread::Builder::new()
            .name("trainviz-tsne".into())
            .spawn(move || {
                let mut last = 0.0;
                let points = analysis::tsne2(&acts, TsneSettings::default(), |fraction| {
                    let go_on = !cancel.load(Ordering::Relaxed);
                    if go_on && fraction - last >= 0.02 {
                        last = fraction;
                        send(AnalysisResult::EmbeddingProgress(fraction));
                    }
                    go_on
                });
                if cancel.load(Ordering::Relaxed) {
                    send(AnalysisResult::EmbeddingCancelled);
                } else {
                    send(AnalysisResult::Embedding {
                        layer,
                        projection: Projection::Tsne,
                        axes: analysis::axis_names(Projection::Tsne, None),
                        points,
                        labels,
                    });
                }
            });
        if spawned.is_err() {
            self.error("Could not start a thread for the t-SNE.".into());
        }
    }

    /// Loads data (cached when unchanged) and builds a trainer for `self.config`.
    fn setup(&mut self) -> bool {
        self.writer = None;
        self.resume_dir = None;
        self.save_failed = false;
        self.run += 1;
        self.run_started = None;
        self.last_good = None;
        if let Err(e) = self.config.validate() {
            self.error(e.to_string());
            return false;
        }
        let request = self.config.data_request();
        let cached = self
            .data_cache
            .as_ref()
            .is_some_and(|c| c.request == request && c.preprocess == self.config.preprocess);
        if !cached {
            self.data_cache = None;
            self.emit(Event::Loading {
                run: self.run,
                what: format!("{:?} data", self.config.dataset),
            });
            let (events, waker, run) = (self.events.clone(), self.waker.clone(), self.run);
            let last_percent = std::sync::atomic::AtomicUsize::new(usize::MAX);
            let progress = move |done: usize, total: usize| {
                let percent = done * 100 / total.max(1);
                if last_percent.swap(percent, Ordering::Relaxed) != percent {
                    let _ = events.send(Event::Loading {
                        run,
                        what: format!("images: decoded {done} of {total}"),
                    });
                    if let Some(w) = &waker {
                        w();
                    }
                }
            };
            let splits = match data::load_with_progress(&request, &progress) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    self.error(e.to_string());
                    return false;
                }
            };
            let normalizer = Arc::new(Normalizer::fit(&splits.train, self.config.preprocess));
            self.data_cache = Some(DataCache {
                request,
                splits,
                preprocess: self.config.preprocess,
                normalizer,
            });
        }
        let Some(cache) = &self.data_cache else {
            return false;
        };
        match Trainer::new(
            self.config.clone(),
            cache.splits.clone(),
            Some(cache.normalizer.clone()),
        ) {
            Ok(t) => {
                let info = RunInfo::new(t.data(), self.config.clone());
                self.last_good = Some(t.network().clone());
                let network = Arc::new(t.network().clone());
                self.trainer = Some(t);
                self.emit(Event::Ready {
                    run: self.run,
                    info: Box::new(info),
                });
                self.emit(Event::Weights {
                    run: self.run,
                    epoch: 0,
                    network,
                });
                true
            }
            Err(e) => {
                self.error(e.to_string());
                false
            }
        }
    }

    /// Trains for about [`SLICE`], then reports.
    fn train_slice(&mut self) {
        let Some(t) = &mut self.trainer else {
            self.set_running(false);
            return;
        };
        let started = Instant::now();
        let mut losses = Vec::new();
        let mut images = 0usize;
        let mut epoch_complete = false;
        let mut diverged = false;
        let out = t.steps_for(SLICE, |o| {
            losses.push(o.batch_loss as f32);
            images += o.images;
        });
        if !out.batch_loss.is_finite() {
            diverged = true;
        } else if out.epoch_complete {
            epoch_complete = true;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let progress = Event::Progress {
            run: self.run,
            epoch: t.epochs_done(),
            images_into_epoch: if epoch_complete {
                t.data().train.len()
            } else {
                t.images_into_epoch()
            },
            images_per_epoch: t.data().train.len(),
            step: t.steps_done(),
            batch_losses: losses,
            eta: t.current_eta(),
            images_per_sec: images as f64 / elapsed.max(1e-9),
        };
        self.emit(progress);
        if diverged {
            self.diverge();
            return;
        }
        if epoch_complete {
            self.end_epoch();
        }
    }

    /// The facts of the current run.
    fn run_info(&self) -> Option<RunInfo> {
        let t = self.trainer.as_ref()?;
        Some(RunInfo::new(t.data(), t.config()))
    }

    /// Saves a finished epoch (creating the run's folder at the first); a failure is
    /// reported once and training goes on.
    fn save_epoch(&mut self, metrics: &EpochMetrics) {
        if self.save_failed {
            return;
        }
        let Some(root) = self.runs_dir.clone() else {
            return;
        };
        if self.writer.is_none() {
            let created = match (&self.resume_dir, self.run_info()) {
                (Some(dir), _) => RunWriter::resume(dir),
                (None, Some(info)) => RunWriter::create(&root, &info),
                (None, None) => return,
            };
            match created {
                Ok(w) => {
                    self.emit(Event::Saved {
                        run: self.run,
                        dir: w.dir().to_path_buf(),
                    });
                    self.writer = Some(w);
                }
                Err(e) => {
                    self.save_failed(e.to_string());
                    return;
                }
            }
        }
        let (Some(w), Some(t)) = (&mut self.writer, &self.trainer) else {
            return;
        };
        if let Err(e) = w.epoch(metrics, t.network()) {
            self.save_failed(e.to_string());
        }
    }

    fn save_failed(&mut self, problem: String) {
        self.save_failed = true;
        self.error(format!(
            "Could not save the run ({problem}); training goes on unsaved."
        ));
    }

    /// Loads a saved run as a new, paused run.
    fn load_run(&mut self, dir: PathBuf, extra_epochs: usize) {
        let saved = match SavedRun::load(&dir) {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("Cannot load the run: {e}"));
                return;
            }
        };
        let network = match saved.weights() {
            Ok(n) => n,
            Err(e) => {
                self.error(format!("Cannot load the run's weights: {e}"));
                return;
            }
        };
        self.set_running(false);
        let done = saved.history.len();
        self.config = saved.config.clone();
        self.config.epochs = if extra_epochs > 0 {
            done + extra_epochs
        } else {
            self.config.epochs.max(done)
        };
        self.trainer = None;
        if !self.setup() {
            return;
        }
        let Some(t) = &mut self.trainer else { return };
        if network.input_dim() != t.network().input_dim()
            || network.classes() != t.network().classes()
            || network.hidden() != t.network().hidden()
        {
            self.error("The saved weights do not fit the run's settings and data.".into());
            return;
        }
        t.restore(network.clone(), saved.history.clone());
        self.last_good = Some(network.clone());
        self.resume_dir = Some(dir);
        let run = self.run;
        for m in saved.history {
            self.emit(Event::Epoch {
                run,
                metrics: Box::new(m),
            });
        }
        self.emit(Event::Weights {
            run,
            epoch: done,
            network: Arc::new(network),
        });
    }

    fn diverge(&mut self) {
        let Some(t) = &mut self.trainer else { return };
        let eta = t.current_eta();
        if let Some(good) = &self.last_good {
            t.set_network(good.clone());
        }
        let message = format!(
            "Training diverged: the loss became NaN or infinite at step {} with η = {eta:.3e}. \
             The weights of the last finished epoch are restored and training is paused; \
             try a smaller η (e.g. {:.1e}).",
            t.steps_done(),
            eta / 10.0
        );
        if let Some(w) = &mut self.writer
            && let Err(e) = w.diverged()
        {
            self.save_failed(e.to_string());
        }
        self.set_running(false);
        self.emit(Event::Diverged {
            run: self.run,
            message,
        });
    }

    fn end_epoch(&mut self) {
        let Some(t) = &mut self.trainer else { return };
        let metrics = t.finish_epoch();
        let finite = metrics.train.cost.is_finite() && t.network().is_finite();
        if !finite {
            self.diverge();
            return;
        }
        self.last_good = Some(t.network().clone());
        self.save_epoch(&metrics);
        let Some(t) = &mut self.trainer else { return };
        let finished = t.is_finished();
        let epoch = t.epochs_done();
        let send_weights =
            finished || self.pause_after_epoch || self.last_weights.elapsed() >= WEIGHTS_EVERY;
        let network = send_weights.then(|| Arc::new(t.network().clone()));
        let summary = finished.then(|| {
            let test = t.evaluate(Subset::Test);
            let seconds = self
                .run_started
                .map(|s| s.elapsed().as_secs_f64())
                .unwrap_or(0.0);
            (t.summary(&test, seconds), test)
        });
        self.emit(Event::Epoch {
            run: self.run,
            metrics: Box::new(metrics),
        });
        if let Some(network) = network {
            self.last_weights = Instant::now();
            self.emit(Event::Weights {
                run: self.run,
                epoch,
                network,
            });
        }
        if let Some((summary, test)) = summary {
            if let Some(w) = &mut self.writer
                && let Err(e) = w.finish(&summary)
            {
                self.save_failed(e.to_string());
            }
            self.emit(Event::Test {
                run: self.run,
                eval: Box::new(test),
            });
            self.set_running(false);
            self.emit(Event::Finished {
                run: self.run,
                summary: Box::new(summary),
            });
        } else if self.pause_after_epoch {
            self.pause_after_epoch = false;
            self.set_running(false);
        }
    }
}
