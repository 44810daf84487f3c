//! The report of a saved run, written from its folder alone (`trainviz report RUN_DIR`): the
//! same files as the report written when it finished, since the folder keeps everything the
//! report is drawn from (per-epoch metrics, weights, every step, the test evaluation).

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{RunError, SavedRun, differing_labels};
use crate::model::Network;
use crate::model::stack::Stack;
use crate::report::compare::{template_row, templates_compared};
use crate::report::figures::Figure;
use crate::report::table::{RunResults, TableRun};
use crate::report::{
    ConvNetFigures, ExportError, HiddenActivations, HiddenLayer, PngSize, RunRecord, StepLosses,
};
use crate::train::RunInfo;

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

/// Why saved runs cannot be compared.
#[derive(Debug, Error)]
pub enum CompareError {
    /// No run was chosen.
    #[error("No runs to compare: choose at least one.")]
    NoRuns,
    /// A run's weights cannot be read.
    #[error("{}: cannot read its weights: {problem}", dir.display())]
    Weights {
        /// The run's folder.
        dir: PathBuf,
        /// Why.
        problem: RunError,
    },
    /// A run's weights do not make pictures of its images.
    #[error(
        "{}: its weights do not fit its images ({}×{}×{})",
        dir.display(),
        shape.channels,
        shape.height,
        shape.width
    )]
    Shape {
        /// The run's folder.
        dir: PathBuf,
        /// The images' shape, as its folder records it.
        shape: crate::data::ImageShape,
    },
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
    // A layer stack's report draws what needs no MLP weights (and says what it leaves out).
    let model = saved.model()?;
    let network = model.network();
    let steps = saved.steps()?;
    let test = saved.test();
    let info = saved.info();
    let record = RunRecord {
        info: &info,
        history: &saved.history,
        network,
        test: test.as_ref(),
    };
    let points = saved.points()?;
    let steps = StepLosses::from_steps(&steps, smoothing).with_evals(
        &saved.history,
        &points,
        saved.settings.start.live(),
    );
    let hidden = hidden_layer(&info, network);
    let convnet = convnet_figures(&info, model.stack());
    Ok(crate::report::export_report_with_steps(
        &record, &steps, &hidden, &convnet, out, size,
    )?)
}

/// Why a run's data could not be loaded again for the figures drawn from activations; the
/// figure's place in the report says it in these words.
#[derive(Debug, Error)]
pub enum ReloadError {
    /// The data set named in the run's settings could not be read.
    #[error("the data could not be loaded: {0}")]
    Unreadable(#[from] crate::data::DataError),
    /// The data read now has another image size than the weights take.
    #[error("the data loaded now has {now} inputs per image, the weights take {weights}")]
    OtherSize {
        /// Inputs per image of the data loaded now.
        now: usize,
        /// Inputs per image the weights take.
        weights: usize,
    },
}

/// The run's data loaded again from its settings, with the normalisation training fitted on
/// it, for figures drawn from activations; why not when it cannot be loaded or its images
/// do not have the `inputs` values per image the weights take.
fn reload_data(
    info: &RunInfo,
    inputs: usize,
) -> Result<(crate::data::Splits, crate::data::Normalizer), ReloadError> {
    let config = &info.settings.start;
    let data = crate::data::load(&config.data_request())?;
    if data.shape().dim() != inputs {
        return Err(ReloadError::OtherSize {
            now: data.shape().dim(),
            weights: inputs,
        });
    }
    let norm = crate::data::Normalizer::fit(&data.train, config.preprocess);
    Ok((data, norm))
}

/// A layer stack's filters and the feature maps of the run's first validation image, loaded
/// again from the run's settings as [`hidden_layer`] does; says why when the data cannot be
/// loaded or does not fit the weights.
pub fn convnet_figures(info: &RunInfo, stack: Option<&Stack<f32>>) -> ConvNetFigures {
    let Some(stack) = stack else {
        return ConvNetFigures::Absent;
    };
    let (data, norm) = match reload_data(info, stack.input_shape().size()) {
        Ok(loaded) => loaded,
        Err(why) => return ConvNetFigures::Unavailable(why.to_string()),
    };
    ConvNetFigures::Drawn(crate::report::convnet::stack_figures(
        stack,
        &norm,
        &data.val,
        0,
        &info.class_names,
        Some(info),
    ))
}

/// What the report's PCA of the last hidden layer of `network` is drawn from: its
/// activations on the run's validation images, loaded again from the run's settings (the
/// window, `trainviz train` and `trainviz report` all write reports after the data has left
/// their hands). Says why when the data cannot be loaded or does not fit the weights.
pub fn hidden_layer(info: &RunInfo, network: Option<&Network<f32>>) -> HiddenLayer {
    let Some(net) = network.filter(|n| n.layers.len() > 1) else {
        return HiddenLayer::Absent;
    };
    let (data, norm) = match reload_data(info, net.input_dim()) {
        Ok(loaded) => loaded,
        Err(why) => return HiddenLayer::Unavailable(why.to_string()),
    };
    match HiddenActivations::of(net, &norm, &data.val) {
        Some(acts) => HiddenLayer::Activations(acts),
        None => HiddenLayer::Unavailable("the data set has no validation images".into()),
    }
}

/// The figure of saved runs, one row each, labelled by what differs between them (see
/// [`differing_labels`]); the title names what they share (data set, and the model when all
/// have the same). The error names a run whose weights cannot be read or do not make
/// pictures.
pub fn compare_saved(runs: &[&SavedRun]) -> Result<Figure, CompareError> {
    if runs.is_empty() {
        return Err(CompareError::NoRuns);
    }
    let labels = differing_labels(runs);
    let mut rows = Vec::new();
    for (run, label) in runs.iter().zip(labels) {
        let net = run.weights().map_err(|problem| CompareError::Weights {
            dir: run.dir.clone(),
            problem,
        })?;
        let row =
            template_row(label, &net, run.meta.shape, &run.meta.class_names).ok_or_else(|| {
                CompareError::Shape {
                    dir: run.dir.clone(),
                    shape: run.meta.shape,
                }
            })?;
        rows.push(row);
    }
    let datasets: Vec<&str> = runs.iter().map(|r| r.meta.dataset.as_str()).collect();
    let shared = if datasets.iter().all(|d| *d == datasets[0]) {
        format!(", {}", datasets[0])
    } else {
        String::new()
    };
    let all_linear = runs.iter().all(|r| r.settings.start.hidden.is_empty());
    let what = if all_linear {
        "Class templates"
    } else {
        "First-layer weights (classes or most important units)"
    };
    let title = format!("{what} of {} runs{shared}", runs.len());
    Ok(templates_compared(&title, &rows))
}

/// The row of a saved run in a results table: its summary's numbers when the summary is of its last epoch, else
/// (a run still training, stopped, or continued after it ended) its last epoch's
/// training and validation numbers and no test numbers; the status is its folder's.
pub fn table_run(run: &SavedRun) -> TableRun {
    let last = run.history.last();
    let results = match (&run.summary, last) {
        (Some(s), _) if s.epochs >= run.history.len() => RunResults::of_summary(s),
        (_, Some(m)) => RunResults {
            train_acc: m.train.accuracy,
            train_cost: m.train.cost,
            val_acc: m.val.accuracy,
            val_cost: m.val.cost,
            ..RunResults::UNKNOWN
        },
        (Some(s), None) => RunResults::of_summary(s),
        (None, None) => RunResults::UNKNOWN,
    };
    TableRun {
        name: run.name(),
        settings: run.settings.clone(),
        results,
        status: run.meta.status,
    }
}
