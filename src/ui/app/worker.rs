//! The plumbing to the training worker: sending commands (restarting a worker that
//! stopped), taking in its events, and the waker it repaints the window with.

use std::time::{Duration, Instant};

use super::{Tab, TrainvizApp};
use crate::train::{Command, WorkerHandle};
use crate::ui::background::repaint_waker;

/// Longest time spent draining worker events in one frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(8);
impl TrainvizApp {
    /// Sends a command to the worker; if the worker has gone, starts a new one (its run ids
    /// go on from the old ones, so its events are shown) and hands it the command.
    pub fn send(&mut self, cmd: Command) {
        if let Err(crossbeam_channel::SendError(cmd)) = self.worker.try_send(cmd) {
            log::warn!("the training worker had stopped; starting a new one");
            self.worker = WorkerHandle::spawn_saving(self.waker.clone(), self.runs_dir.clone());
            if !self.worker.send(cmd) {
                self.history.message = Some("The training worker cannot be started.".into());
            }
        }
    }

    /// Stops the worker as a crash of its thread would (for tests of the recovery).
    #[cfg(feature = "test-hooks")]
    pub fn stop_worker(&mut self) {
        self.worker.shutdown();
    }

    /// Takes in the worker's events without blocking, within a time budget; true if any.
    pub fn drain_events(&mut self) -> bool {
        let started = Instant::now();
        let mut any = false;
        while started.elapsed() < DRAIN_BUDGET {
            match self.worker.events().try_recv() {
                Ok(e) => {
                    any |= self.history.apply(e);
                    self.follow_plane();
                }
                Err(_) => break,
            }
        }
        any
    }

    /// The way into the playground: when a run on points in the plane follows one on
    /// images (or is the first), the Plane tab opens; back on images, the playground's tabs
    /// close.
    fn follow_plane(&mut self) {
        let Some(info) = &self.history.info else {
            return;
        };
        let now = info.settings.start.dataset.is_plane();
        if self.last_run_plane == Some(now) {
            return;
        }
        if now {
            self.settings.tab = Tab::Plane;
        } else if matches!(self.settings.tab, Tab::Plane | Tab::Network) {
            self.settings.tab = Tab::Training;
        }
        self.last_run_plane = Some(now);
    }

    /// The waker background tasks repaint the window with (the window's own once it is
    /// drawn, else the one the app was made with).
    pub(super) fn waker(&self) -> Option<crate::train::worker::Waker> {
        self.ctx
            .as_ref()
            .map(repaint_waker)
            .or_else(|| self.waker.clone())
    }
}
