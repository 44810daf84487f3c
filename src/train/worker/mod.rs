//! The worker thread: owns data and model, runs the engine, takes [`Command`]s and emits
//! [`Event`]s over crossbeam channels. Neither side ever waits for the other.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::config::{LiveParams, TrainConfig};
use super::learner::Learner;
use super::messages::{Command, Event, EventKind};
use super::metrics::RunStatus;
use super::record::SettingChange;
use super::session::{LiveEdit, RunEnd, Session};
use super::store::{RunFolders, SaveTo, Saving};

mod analyses;
mod data_cache;
mod priority;

use data_cache::DataCache;
pub use priority::lower_thread_priority;

/// A callback that wakes the consumer (e.g. asks the window to repaint).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The app's or CLI's handle on the worker thread. Dropping it stops the worker.
pub struct WorkerHandle {
    commands: Sender<Command>,
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Starts a worker thread that loads saved runs through `folders` and saves every run it
    /// trains under `runs_dir` through them (`None`: saves nothing). `waker` is called after
    /// events are sent. The window and the command line start theirs with the run folders of
    /// [`crate::runs`] (`WorkerHandle::spawn` and `spawn_saving`, in `runs::worker`).
    pub fn spawn_with(
        waker: Option<Waker>,
        folders: Arc<dyn RunFolders>,
        runs_dir: Option<PathBuf>,
    ) -> Self {
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
                    session: None,
                    data_cache: None,
                    run: 0,
                    running: false,
                    pause_after_epoch: false,
                    last_weights: Instant::now(),
                    embedding_cancel: Arc::new(AtomicBool::new(false)),
                    runs_dir,
                    folders,
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
        self.try_send(cmd).is_ok()
    }

    /// Sends a command, or gives it back when the worker has gone.
    pub fn try_send(&self, cmd: Command) -> Result<(), crossbeam_channel::SendError<Command>> {
        if self.thread.as_ref().is_none_or(JoinHandle::is_finished) {
            return Err(crossbeam_channel::SendError(cmd));
        }
        self.commands.send(cmd)
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Stops the worker at once and waits for its thread.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.commands.send(Command::Shutdown).is_err() {
            log::debug!("the worker had already stopped");
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("the worker thread ended in a panic");
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Seconds of training between checks of the command channel.
const SLICE: Duration = Duration::from_millis(30);
/// At most this often a weight snapshot is sent.
const WEIGHTS_EVERY: Duration = Duration::from_millis(200);

/// At most this often a layer stack's weights are sent within an epoch (an epoch of a
/// ConvNet can take half a minute; its filters and feature maps should move before then).
const STACK_WEIGHTS_EVERY: Duration = Duration::from_millis(1000);

/// A copy of the weights for the window's views of them: an MLP's or a layer stack's.
fn weights_event(learner: &Learner, epoch: usize) -> EventKind {
    match learner.stack_trainer() {
        Some(t) => EventKind::StackWeights {
            epoch,
            stack: Arc::new(t.stack().clone()),
        },
        None => EventKind::Weights {
            epoch,
            network: Arc::new(
                learner
                    .trainer()
                    .expect("a learner is an MLP's or a stack's")
                    .network()
                    .clone(),
            ),
        },
    }
}

/// The first validation images and the normalisation, for a layer stack's feature maps;
/// `None` for an MLP.
fn samples_event(learner: &Learner) -> Option<EventKind> {
    let t = learner.stack_trainer()?;
    let val = &t.data().val;
    Some(EventKind::Samples {
        normalizer: t.normalizer().clone(),
        images: Arc::new(val.slice(0..val.len().min(super::messages::SAMPLE_IMAGES))),
    })
}

/// The next run id: unique for the life of the process, across workers, so a window that
/// starts a new worker never mistakes its runs for old ones.
fn next_run_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

struct Worker {
    commands: Receiver<Command>,
    events: Sender<Event>,
    waker: Option<Waker>,
    stop: Arc<AtomicBool>,
    session: Option<Session>,
    data_cache: Option<DataCache>,
    run: u64,
    running: bool,
    pause_after_epoch: bool,
    last_weights: Instant,
    /// Set to stop the running t-SNE, if any.
    embedding_cancel: Arc<AtomicBool>,
    /// Where runs are saved (`None`: not saved).
    runs_dir: Option<PathBuf>,
    /// The store runs are saved in and loaded from.
    folders: Arc<dyn RunFolders>,
}

impl Worker {
    /// Sends `kind` as an event of the current run.
    fn tell(&self, kind: EventKind) {
        self.emit(Event {
            run: self.run,
            kind,
        });
    }

    fn emit(&self, e: Event) {
        // A closed channel means the handle is gone, and its drop has told the worker to stop.
        if self.events.send(e).is_err() {
            return;
        }
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
            log::error!("the training engine panicked: {what}");
            self.session = None;
            self.running = false;
            self.tell(EventKind::Running { running: false });
            self.error(format!(
                "The training engine failed ({what}). The run is stopped; press Reset to start again."
            ));
        }
    }

    fn set_running(&mut self, running: bool) {
        if self.running != running {
            self.running = running;
            self.tell(EventKind::Running { running });
        }
    }

    fn error(&self, message: String) {
        self.tell(EventKind::Error { message });
    }

    fn notice(&self, message: String) {
        self.tell(EventKind::Notice { message });
    }

    /// Carries out a command from the window.
    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Start => self.start(false),
            Command::StepEpoch => self.start(true),
            Command::Pause => self.set_running(false),
            Command::Reset(config) => {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                self.set_running(false);
                self.session = None;
                self.setup(*config);
            }
            Command::SetLive(live) => self.set_live(live),
            Command::Extend(extra) => {
                let Some(s) = &mut self.session else { return };
                let held = s.pending().is_some();
                let changes = s.extend(extra);
                self.announce(changes, held);
                self.set_running(true);
            }
            Command::EvaluateTest => {
                if let Some(s) = &self.session {
                    let eval = s.evaluate_test();
                    self.tell(EventKind::Test {
                        eval: Box::new(eval),
                    });
                }
            }
            Command::Analyse(request) => self.analyse(request),
            #[cfg(feature = "test-hooks")]
            Command::InjectFault => panic!("fault injected for testing"),
            Command::LoadRun { dir, extra_epochs } => {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                self.load_run(dir, extra_epochs);
            }
            Command::Shutdown => {}
        }
    }

    /// Starts (or, with `step_epoch`, steps one epoch of) the current run: a diverged run
    /// goes on (the user's choice, usually with a smaller η), a finished one says how to
    /// continue it.
    fn start(&mut self, step_epoch: bool) {
        self.pause_after_epoch = step_epoch;
        let Some(s) = &mut self.session else {
            self.error("No run is set up: press Reset.".into());
            return;
        };
        if s.status() == RunStatus::Diverged {
            // Going on after a divergence (usually with a smaller η) is a choice.
            let held = s.pending().is_some();
            let change = s.retry();
            self.tell(EventKind::Status {
                status: RunStatus::Running,
            });
            self.announce(change, held);
        }
        let Some(s) = &self.session else { return };
        match s.status() {
            RunStatus::Running | RunStatus::Stopped => self.set_running(true),
            RunStatus::Finished => self.notice(format!(
                "This run has finished its {} epochs. “+10 epochs” in the toolbar continues it, \
                 or Reset for a new run.",
                s.settings().epochs()
            )),
            RunStatus::Diverged => {}
        }
    }

    /// Changes the current run's live settings: in force from the next step, or held while
    /// no step can follow (a finished or diverged run); the window hears which, and when a
    /// held change is taken back.
    fn set_live(&mut self, live: LiveParams) {
        let Some(s) = &mut self.session else { return };
        let held = s.pending().is_some();
        match s.set_live(live) {
            Ok(LiveEdit::Applied(change)) => self.announce(Some(change), false),
            Ok(LiveEdit::Held(live)) => self.tell(EventKind::LiveHeld { live: Some(live) }),
            Ok(LiveEdit::Unchanged) => self.announce(None, held),
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Tells the window of `changes` now in force (recorded), then, when `released`, that
    /// the edit held while no step could follow is held no longer.
    fn announce(&self, changes: impl IntoIterator<Item = SettingChange>, released: bool) {
        for change in changes {
            self.tell(EventKind::SettingsChanged { change });
        }
        if released {
            self.tell(EventKind::LiveHeld { live: None });
        }
    }

    /// Sets up a new run of `config` (a new run id).
    fn setup(&mut self, config: TrainConfig) {
        self.run = next_run_id();
        if let Err(e) = config.validate() {
            self.error(e.to_string());
            return;
        }
        let Some((splits, normalizer)) = self.data(config.data_request(), config.preprocess) else {
            return;
        };
        let save = self.runs_dir.as_ref().map(|root| Saving {
            to: SaveTo::Under(root.clone()),
            folders: self.folders.clone(),
        });
        match Session::new(config, splits, Some(normalizer), save) {
            Ok(s) => self.start_session(s),
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Makes `session` the current run and tells the window about it.
    fn start_session(&mut self, session: Session) {
        let run = self.run;
        let info = session.info().clone();
        let learner = session.learner();
        let history = learner.history().to_vec();
        let epoch = learner.epochs_done();
        let weights = weights_event(learner, epoch);
        let samples = samples_event(learner);
        let status = session.status();
        // A loaded run's steps and test evaluation, so its plots, step count and report are
        // those it finished with.
        let steps = session.steps().to_vec();
        let step = learner.steps_done();
        let images_per_epoch = learner.data().train.len();
        let test = session.test().cloned();
        let points = session.points().to_vec();
        let eta = learner.current_eta();
        self.session = Some(session);
        self.emit(Event {
            run,
            kind: EventKind::Ready {
                info: Box::new(info),
            },
        });
        // In the order they were made: the evaluations within an epoch before its end.
        let mut points = points.into_iter().peekable();
        for m in history {
            while let Some(point) = points.next_if(|p| p.step < m.step) {
                self.emit(Event {
                    run,
                    kind: EventKind::Evaluated { point },
                });
            }
            self.emit(Event {
                run,
                kind: EventKind::Epoch {
                    metrics: Box::new(m),
                },
            });
        }
        for point in points {
            self.emit(Event {
                run,
                kind: EventKind::Evaluated { point },
            });
        }
        if let Some(kind) = samples {
            self.emit(Event { run, kind });
        }
        self.emit(Event { run, kind: weights });
        if step > 0 {
            self.emit(Event {
                run,
                kind: EventKind::Progress {
                    epoch,
                    images_into_epoch: 0,
                    images_per_epoch,
                    step,
                    steps,
                    eta,
                    images_per_sec: 0.0,
                    step_seconds: 0.0,
                },
            });
        }
        if let Some(eval) = test {
            self.emit(Event {
                run,
                kind: EventKind::Test {
                    eval: Box::new(eval),
                },
            });
        }
        if status != RunStatus::Running {
            self.emit(Event {
                run,
                kind: EventKind::Status { status },
            });
        }
    }

    /// Trains for about [`SLICE`], then reports.
    fn train_slice(&mut self) {
        let run = self.run;
        let Some(s) = &mut self.session else {
            self.set_running(false);
            return;
        };
        let advance = s.advance(SLICE, |_| {});
        let t = s.learner();
        let epoch_complete = advance.epoch.is_some();
        let progress = Event {
            run,
            kind: EventKind::Progress {
                epoch: t.epochs_done(),
                // At an epoch's end `epoch` already counts it: 0 images into the next one.
                images_into_epoch: if epoch_complete {
                    0
                } else {
                    t.images_into_epoch()
                },
                images_per_epoch: t.data().train.len(),
                step: t.steps_done(),
                steps: advance.steps,
                eta: t.current_eta(),
                images_per_sec: advance.images as f64 / advance.seconds.max(1e-9),
                step_seconds: advance.seconds,
            },
        };
        let ended = advance.end.is_some();
        let since = self.last_weights.elapsed();
        let send_weights = (epoch_complete
            && (ended || self.pause_after_epoch || since >= WEIGHTS_EVERY))
            || (t.stack_trainer().is_some() && since >= STACK_WEIGHTS_EVERY);
        let epoch = t.epochs_done();
        let weights = send_weights.then(|| weights_event(t, epoch));
        self.emit(progress);
        if let Some(dir) = advance.saved_in {
            self.emit(Event {
                run,
                kind: EventKind::Saved { dir },
            });
        }
        if let Some(message) = advance.save_error {
            self.error(message);
        }
        if let Some(point) = advance.point {
            self.emit(Event {
                run,
                kind: EventKind::Evaluated { point },
            });
        }
        if let Some(metrics) = advance.epoch {
            self.emit(Event {
                run,
                kind: EventKind::Epoch {
                    metrics: Box::new(metrics),
                },
            });
        }
        if let Some(kind) = weights {
            self.last_weights = Instant::now();
            self.emit(Event { run, kind });
        }
        self.end_slice(advance.end, epoch, epoch_complete);
    }

    /// After a slice: tells the window how the run ended (the test evaluation and summary of
    /// a finished run; the last weights and summary of a diverged one), or pauses a run that
    /// was to step one epoch (`epoch_complete`: the slice ended one). `epoch`: epochs done.
    fn end_slice(&mut self, end: Option<RunEnd>, epoch: usize, epoch_complete: bool) {
        let run = self.run;
        match end {
            Some(RunEnd::Finished { summary, test }) => {
                self.emit(Event {
                    run,
                    kind: EventKind::Test {
                        eval: Box::new(test),
                    },
                });
                self.set_running(false);
                self.emit(Event {
                    run,
                    kind: EventKind::Finished {
                        summary: Box::new(summary),
                    },
                });
            }
            Some(RunEnd::Diverged { summary, message }) => {
                let weights = self
                    .session
                    .as_ref()
                    .map(|s| weights_event(s.learner(), epoch));
                self.set_running(false);
                if let Some(kind) = weights {
                    self.emit(Event { run, kind });
                }
                self.emit(Event {
                    run,
                    kind: EventKind::Diverged {
                        message,
                        summary: Box::new(summary),
                    },
                });
            }
            None => {
                if epoch_complete && self.pause_after_epoch {
                    self.pause_after_epoch = false;
                    self.set_running(false);
                }
            }
        }
    }

    /// Loads a saved run as a new, paused run (with `extra_epochs` more planned).
    fn load_run(&mut self, dir: PathBuf, extra_epochs: usize) {
        let saved = match self.folders.load(&dir) {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("Cannot load the run: {e}"));
                return;
            }
        };
        self.set_running(false);
        self.session = None;
        self.run = next_run_id();
        let start = &saved.settings.start;
        let Some((splits, normalizer)) = self.data(start.data_request(), start.preprocess) else {
            return;
        };
        let save = self.runs_dir.is_some();
        let folders = save.then(|| self.folders.clone());
        match Session::resume(&saved, splits, Some(normalizer), extra_epochs, folders) {
            Ok(s) => {
                self.start_session(s);
                // It goes on in its own folder: exports of it belong there too.
                if save {
                    self.tell(EventKind::Saved { dir: dir.clone() });
                }
            }
            Err(e) => self.error(e.to_string()),
        }
    }
}
