//! Routing exports: the current run as a record, the report's data, and where a
//! figure or report request goes.

use super::TrainvizApp;
use crate::report::RunRecord;
use crate::ui::background::TaskError;
use crate::ui::export::{ExportFailed, ExportRequest, ReportData};

impl TrainvizApp {
    /// The current run as the report module sees it; `None` before a run is ready.
    pub fn record(&self) -> Option<RunRecord<'_>> {
        let info = self.history.info.as_ref()?;
        Some(RunRecord {
            info,
            history: &self.history.epochs,
            network: self.history.network.as_deref(),
            test: self.history.test.as_ref(),
        })
    }

    /// An owned copy of what the report is drawn from, to write on another thread.
    fn report_data(&self) -> Option<ReportData> {
        Some(ReportData {
            info: self.history.info.clone()?,
            history: self.history.epochs.clone(),
            network: self.history.network.clone(),
            stack: self.history.stack.clone(),
            test: self.history.test.clone(),
            steps: crate::report::StepLosses {
                raw: self.history.step_loss.iter().map(|p| (p.x, p.y)).collect(),
                eta: self.history.step_eta.iter().map(|p| (p.x, p.y)).collect(),
                evals: Vec::new(),
                smoothing: self.plots.smoothing,
            }
            .with_evals(
                &self.history.epochs,
                &self.history.points,
                self.history.info.as_ref()?.settings.start.live(),
            ),
        })
    }

    /// Writes the report of the current run into `dir` on a background task; the outcome
    /// shows in the status bar (and in `exporter.last`).
    pub fn export_report_to(&mut self, dir: &std::path::Path) {
        match self.report_data() {
            Some(data) => {
                let waker = self.waker();
                self.exporter
                    .write_report(data, dir.to_path_buf(), self.settings.png, waker);
            }
            None => self.exporter.last = Some(Err(TaskError::Failed(ExportFailed::NothingYet))),
        }
    }

    /// Sends a figure to the export window, or writes the report (into the run's folder
    /// when it is saved, else where the user says).
    pub(super) fn handle_export(&mut self, request: ExportRequest) {
        match request {
            ExportRequest::Figure(fig) => self.exporter.ask_figure(fig),
            ExportRequest::Report => match (&self.history.saved_dir, self.report_data()) {
                (_, None) => {
                    self.exporter.last = Some(Err(TaskError::Failed(ExportFailed::NothingYet)));
                }
                (Some(dir), Some(_)) => {
                    let dir = crate::ui::export::report_dir(dir);
                    self.export_report_to(&dir);
                }
                // Not saved (yet): ask where.
                (None, Some(data)) => self.exporter.ask_report(data),
            },
        }
    }
}
