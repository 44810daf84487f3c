//! The window's one way of doing slow work off its thread: a [`Task`] runs a closure on its
//! own thread, reports progress, can be cancelled, and hands back its result once. The
//! work's own error comes back as it was made ([`TaskError::Failed`], so the window can match
//! on it); a panic in the closure becomes [`TaskError::Panicked`], so the window never waits
//! for a result that will not come.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, TryRecvError, bounded};

use crate::train::worker::Waker;

/// A waker that asks `ctx` to redraw, for tasks started from inside a frame.
pub fn repaint_waker(ctx: &egui::Context) -> Waker {
    let ctx = ctx.clone();
    std::sync::Arc::new(move || ctx.request_repaint())
}

/// What the closure of a task sees: where to report progress and whether to stop.
pub struct TaskContext {
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    waker: Option<Waker>,
}

impl TaskContext {
    /// Reports `done` of `total` units (bytes, files…) and asks the window to redraw.
    pub fn progress(&self, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.wake();
    }

    /// True once the user asked the task to stop; long loops check it and return early.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The cancel flag, for engine functions that take one.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    fn wake(&self) {
        if let Some(w) = &self.waker {
            w();
        }
    }
}

/// Why a [`Task`] gave no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError<E> {
    /// The work ended with its own error.
    #[error("{0}")]
    Failed(E),
    /// The work panicked.
    #[error("{what} stopped unexpectedly ({details}). Please try again.")]
    Panicked {
        /// What the task was doing.
        what: String,
        /// The panic's message.
        details: String,
    },
    /// No thread could be started for it.
    #[error("Cannot start a thread for {what}: {problem}")]
    NoThread {
        /// What the task was to do.
        what: String,
        /// The system's reason.
        problem: String,
    },
    /// The thread ended without sending anything (only if it vanished).
    #[error("{what} ended without a result.")]
    Vanished {
        /// What the task was doing.
        what: String,
    },
}

/// Work running on its own thread, with its result (or error) collected once. `E` is the
/// work's own error type: a typed error the window shows by its `Display` (work that cannot
/// fail takes [`std::convert::Infallible`]).
pub struct Task<T, E> {
    /// What the task does, for messages ("Exporting the report").
    pub what: String,
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    result: Receiver<Result<T, TaskError<E>>>,
    finished: bool,
}

/// A file or folder dialog open on its own thread: the path chosen, or none when the user
/// cancelled (a dialog cannot fail; one that could not open ends at once with none).
pub type DialogTask = Task<Option<std::path::PathBuf>, std::convert::Infallible>;

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no details".to_string()
    }
}

impl<T: Send + 'static, E: Send + 'static> Task<T, E> {
    /// Runs `work` on a new thread named after `what`; `waker` (if any) is called when the
    /// task reports progress or ends, so an idle window redraws.
    pub fn spawn(
        what: impl Into<String>,
        waker: Option<Waker>,
        work: impl FnOnce(&TaskContext) -> Result<T, E> + Send + 'static,
    ) -> Self {
        let what = what.into();
        let (tx, rx) = bounded(1);
        let cx = TaskContext {
            done: Arc::new(AtomicU64::new(0)),
            total: Arc::new(AtomicU64::new(0)),
            cancel: Arc::new(AtomicBool::new(false)),
            waker,
        };
        let task = Task {
            what: what.clone(),
            done: cx.done.clone(),
            total: cx.total.clone(),
            cancel: cx.cancel.clone(),
            result: rx,
            finished: false,
        };
        let failed_tx = tx.clone();
        let label = what.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("trainviz: {what}"))
            .spawn(move || {
                let outcome = match catch_unwind(AssertUnwindSafe(|| work(&cx))) {
                    Ok(r) => r.map_err(TaskError::Failed),
                    Err(p) => Err(TaskError::Panicked {
                        what: label.clone(),
                        details: panic_text(p.as_ref()),
                    }),
                };
                // The receiver is gone when the window dropped the task: nobody waits for it.
                if tx.send(outcome).is_err() {
                    log::debug!("{label}: ended after it was dropped");
                }
                cx.wake();
            });
        if let Err(e) = spawned {
            let problem = e.to_string();
            let error = TaskError::NoThread {
                what: what.clone(),
                problem: problem.clone(),
            };
            if failed_tx.send(Err(error)).is_err() {
                log::error!("Cannot start a thread for {what}: {problem}");
            }
        }
        task
    }

    /// The result, once, when the work has ended; `None` while it runs (and after the
    /// result was taken).
    pub fn poll(&mut self) -> Option<Result<T, TaskError<E>>> {
        if self.finished {
            return None;
        }
        match self.result.try_recv() {
            Ok(r) => {
                self.finished = true;
                Some(r)
            }
            Err(TryRecvError::Empty) => None,
            // Only reachable if the thread vanished without sending: say so rather than wait.
            Err(TryRecvError::Disconnected) => {
                self.finished = true;
                Some(Err(TaskError::Vanished {
                    what: self.what.clone(),
                }))
            }
        }
    }

    /// Fraction done in 0..=1, when the task reported a total.
    pub fn progress(&self) -> Option<f32> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| (self.done.load(Ordering::Relaxed) as f64 / total as f64) as f32)
    }

    /// (done, total) as last reported.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Asks the work to stop (it checks [`TaskContext::cancelled`]).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// True once [`Task::cancel`] was called (the work may still be ending).
    pub fn cancel_requested(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// True once the result has been taken.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait<T: Send + 'static, E: Send + 'static>(
        task: &mut Task<T, E>,
    ) -> Result<T, TaskError<E>> {
        let start = Instant::now();
        loop {
            if let Some(r) = task.poll() {
                return r;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "task hung");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn result_progress_and_wake_up() {
        let woken = Arc::new(AtomicU64::new(0));
        let w = woken.clone();
        let waker: Waker = Arc::new(move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        let mut task = Task::spawn("adding", Some(waker), |cx| {
            cx.progress(3, 4);
            Ok::<_, String>(2 + 2)
        });
        assert_eq!(wait(&mut task), Ok(4));
        assert_eq!(task.progress(), Some(0.75));
        assert!(task.is_finished());
        assert_eq!(task.poll(), None, "the result is handed out once");
        assert!(
            woken.load(Ordering::Relaxed) >= 2,
            "progress and the end wake"
        );
    }

    #[test]
    fn a_panic_becomes_a_message() {
        let mut task: Task<(), std::convert::Infallible> =
            Task::spawn("Exporting the report", None, |_| {
                panic!("disk on fire");
            });
        let err = wait(&mut task).unwrap_err();
        assert!(
            matches!(&err, TaskError::Panicked { what, details }
                if what == "Exporting the report" && details == "disk on fire"),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(
            err.contains("Exporting the report stopped unexpectedly"),
            "{err}"
        );
        assert!(err.contains("disk on fire"), "{err}");
    }

    #[test]
    fn cancel_reaches_the_work() {
        let mut task = Task::spawn("counting", None, |cx| {
            let start = Instant::now();
            while !cx.cancelled() {
                if start.elapsed() > Duration::from_secs(5) {
                    return Err("never cancelled".to_string());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok("stopped")
        });
        task.cancel();
        assert_eq!(wait(&mut task), Ok("stopped"));
    }

    #[test]
    fn the_works_own_error_comes_back_as_its_variant() {
        #[derive(Debug, PartialEq)]
        enum Why {
            Offline { url: String },
        }
        impl std::fmt::Display for Why {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    Why::Offline { url } => write!(f, "cannot reach {url}"),
                }
            }
        }
        let mut task: Task<(), Why> = Task::spawn("fetching", None, |_| {
            Err(Why::Offline {
                url: "http://x".into(),
            })
        });
        assert_eq!(
            wait(&mut task),
            Err(TaskError::Failed(Why::Offline {
                url: "http://x".into()
            }))
        );
    }
}
