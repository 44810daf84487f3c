//! The report of a saved run, written from its folder alone (`trainviz report RUN_DIR`): the
//! same files as the report written when it finished, since the folder keeps everything the
//! report is drawn from (per-epoch metrics, weights, every step, the test evaluation).

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{RunError, SavedRun};
use crate::report::{ExportError, PngSize, RunRecord, StepLosses};

/// What can stop a saved run's report.
#[derive(Debug, Error)]
pub enum SavedReportError {
    /// The run's folder could not be read.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The report could not be written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The folder holds no finished epoch yet.
    #[error("{0}: the run has no finished epoch yet, so there is nothing to report")]
    Empty(PathBuf),
}

/// Writes the report of the run saved in `run` into `out` (see
/// [`crate::report::export_report_with_steps`]), with the step-loss moving average
/// `smoothing`. Returns the files written.
pub fn export_saved_report(
    run: &Path,
    out: &Path,
    size: PngSize,
    smoothing: f64,
) -> Result<Vec<PathBuf>, SavedReportError> {
    let saved = SavedRun::load(run)?;
    if saved.history.is_empty() {
        return Err(SavedReportError::Empty(run.to_path_buf()));
    }
    let network = saved.weights()?;
    let steps = saved.steps()?;
    let test = saved.test();
    let info = saved.info();
    let record = RunRecord {
        info: &info,
        history: &saved.history,
        network: Some(&network),
        test: test.as_ref(),
    };
    let points = saved.points()?;
    let steps = StepLosses::from_steps(&steps, smoothing).with_evals(
        &saved.history,
        &points,
        saved.settings.start.live(),
    );
    Ok(crate::report::export_report_with_steps(
        &record, &steps, out, size,
    )?)
}
