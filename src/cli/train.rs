//! `trainviz train`: trains through the worker, prints one line per epoch and writes the
//! run's files (metrics, summary, report) into `--out`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::report::PngSize;

use super::metrics_csv::metrics_csv;
use crate::model::Network;
use crate::model::stack::Stack;
use crate::train::steps::EvalPoint;
use crate::train::{
    EpochMetrics, Evaluation, EventKind, RunInfo, StepRecord, Summary, TrainConfig, WorkerHandle,
};

/// Trains with `config` on a worker thread, printing one line per epoch when `print` is set
/// and writing the results to `out`. Returns the summary; a diverged run ends with a
/// [`Diverged`] error after its files are written.
/// With `figures`, the report goes into `out` as well (see [`crate::report::export_report`]);
/// with `runs`, the run is saved there (see [`crate::runs`]).
pub fn train(
    config: TrainConfig,
    out: Option<&Path>,
    print: bool,
    figures: Option<PngSize>,
    runs: Option<PathBuf>,
) -> Result<Summary> {
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::report::write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
    }
    let worker = WorkerHandle::spawn_saving(None, runs);
    worker.send(crate::train::Command::Reset(Box::new(config.clone())));
    worker.send(crate::train::Command::Start);
    let mut heard = Heard::new(&config, out, print);
    for event in worker.events().iter() {
        match event.kind {
            EventKind::Progress {
                steps,
                step_seconds,
                ..
            } => {
                heard.step_seconds += step_seconds;
                heard.steps.extend(steps)
            }
            EventKind::Evaluated { point } => heard.evaluated(point)?,
            EventKind::Weights { network, .. } => heard.network = Some(network),
            EventKind::StackWeights { stack, .. } => heard.stack = Some(stack),
            EventKind::Saved { dir } if print => {
                println!("saving the run in {}", dir.display())
            }
            EventKind::Test { eval } => heard.test = Some(eval),
            EventKind::Ready { info } => heard.ready(info),
            EventKind::Epoch { metrics } => heard.epoch(*metrics)?,
            EventKind::Finished { summary } => {
                heard.finished(&summary, figures)?;
                return Ok(*summary);
            }
            EventKind::Diverged { message, summary } => {
                if let Some(dir) = out {
                    write_summary(dir, &summary)?;
                }
                return Err(Diverged {
                    message,
                    summary: *summary,
                }
                .into());
            }
            EventKind::Error { message } => bail!(message),
            _ => {}
        }
    }
    bail!("the training worker stopped unexpectedly")
}

/// What `train` has heard from the worker so far: the lines it prints and the files it
/// writes (metrics as they come, the summary and report at the end) are made from this.
struct Heard<'a> {
    /// Where the run's files go (`--out`), if anywhere.
    out: Option<&'a Path>,
    /// Whether to print a line per epoch.
    print: bool,
    /// Planned epochs: a run that counts its cycles plans them when it starts (see `Ready`).
    epochs: usize,
    /// About the run, once it is ready.
    info: Option<Box<RunInfo>>,
    /// Each epoch's metrics.
    history: Vec<EpochMetrics>,
    /// Evaluations within epochs.
    points: Vec<EvalPoint>,
    /// Each training step.
    steps: Vec<StepRecord>,
    /// Seconds spent in training steps alone (each report's images over its rate).
    step_seconds: f64,
    /// The newest weights of a dense network.
    network: Option<Arc<Network<f32>>>,
    /// The newest weights of a layer stack.
    stack: Option<Arc<Stack<f32>>>,
    /// The test set's evaluation.
    test: Option<Box<Evaluation>>,
}

impl<'a> Heard<'a> {
    /// Nothing heard yet from a run of `config`.
    fn new(config: &TrainConfig, out: Option<&'a Path>, print: bool) -> Self {
        Self {
            out,
            print,
            epochs: config.epochs,
            info: None,
            history: Vec::new(),
            points: Vec::new(),
            steps: Vec::new(),
            step_seconds: 0.0,
            network: None,
            stack: None,
            test: None,
        }
    }

    /// Rewrites `metrics.csv` with everything heard so far (when there is an `--out`).
    fn write_metrics(&self) -> Result<()> {
        if let Some(dir) = self.out {
            crate::report::write_atomic(
                &dir.join("metrics.csv"),
                &metrics_csv(&self.history, &self.points)?,
            )?;
        }
        Ok(())
    }

    /// An evaluation within an epoch: printed and added to the metrics.
    fn evaluated(&mut self, point: EvalPoint) -> Result<()> {
        if self.print {
            println!(
                "  step {:>6} (epoch {:.2})  train cost {:.4} acc {:.4} | val cost {:.4} acc {:.4}",
                point.step,
                point.epoch,
                point.train.cost,
                point.train.accuracy,
                point.val.cost,
                point.val.accuracy
            );
        }
        self.points.push(point);
        self.write_metrics()
    }

    /// The run is ready: keeps what it is about and plans its epochs.
    fn ready(&mut self, info: Box<RunInfo>) {
        self.epochs = info.settings.epochs();
        if self.print {
            print_ready(&info);
        }
        self.info = Some(info);
    }

    /// An epoch completed: printed and added to the metrics.
    fn epoch(&mut self, m: EpochMetrics) -> Result<()> {
        if self.print {
            println!(
                "epoch {:>3}/{}  train cost {:.4} acc {:.4} | val cost {:.4} acc {:.4} | η {} | {:.3} s",
                m.epoch,
                self.epochs,
                m.train.cost,
                m.train.accuracy,
                m.val.cost,
                m.val.accuracy,
                crate::format::short_number(m.eta),
                m.seconds
            );
            if let Some(images) = m.images {
                println!(
                    "           (the last cycle ended here, {images} training images into the epoch)"
                );
            }
        }
        self.history.push(m);
        self.write_metrics()
    }

    /// The run finished: prints the test numbers and writes the summary and, with
    /// `figures`, the report.
    fn finished(&self, summary: &Summary, figures: Option<PngSize>) -> Result<()> {
        if self.print {
            println!(
                "test cost {:.4} acc {:.4} | {:.2} s in all, median {:.4} s per epoch | {:.2} s of training steps ({} steps)",
                summary.test_cost,
                summary.test_acc,
                summary.seconds,
                summary.epoch_seconds_median,
                self.step_seconds,
                self.steps.len()
            );
        }
        if let Some(dir) = self.out {
            write_summary(dir, summary)?;
            if let (Some(size), Some(info)) = (figures, &self.info) {
                self.write_report(info, dir, size)?;
            }
        }
        Ok(())
    }

    /// Writes the run's report (Markdown and figures) into `dir`.
    fn write_report(&self, info: &RunInfo, dir: &Path, size: PngSize) -> Result<()> {
        let record = crate::report::RunRecord {
            info,
            history: &self.history,
            network: self.network.as_deref(),
            test: self.test.as_deref(),
        };
        let steps =
            crate::report::StepLosses::from_steps(&self.steps, crate::report::DEFAULT_SMOOTHING)
                .with_evals(&self.history, &self.points, info.settings.start.live());
        if self.print && info.settings.start.uses_stack() {
            println!("note: {}", crate::report::STACK_FIGURES_NOTE);
        }
        let files = crate::report::export_report_with_steps(
            &record,
            &steps,
            &crate::runs::report::hidden_layer(info, self.network.as_deref()),
            &crate::runs::report::convnet_figures(info, self.stack.as_deref()),
            dir,
            size,
        )?;
        if self.print {
            println!(
                "wrote {} report files; open {}",
                files.len(),
                dir.join("report.md").display()
            );
        }
        Ok(())
    }
}

/// Prints what the run trains on and with, and any warnings about its settings.
fn print_ready(info: &RunInfo) {
    println!(
        "{}: {} training, {} validation, {} test images; {}",
        info.dataset,
        info.sizes[0],
        info.sizes[1],
        info.sizes[2],
        info.settings.title()
    );
    if info.settings.start.uses_stack() {
        println!(
            "{}",
            super::stack::describe_line(&info.settings.start, &info.shape, info.class_names.len())
        );
    }
    for warning in &info.warnings {
        eprintln!("warning: {warning}");
    }
}

/// Writes `summary.json` into `dir`.
fn write_summary(dir: &Path, summary: &Summary) -> Result<()> {
    let json = serde_json::to_string_pretty(summary)?;
    crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    Ok(())
}

/// The exit code of `trainviz train` when the run diverged (1 is any other error).
pub const EXIT_DIVERGED: u8 = 3;

/// The error `train` ends with when the run diverged (its summary is written first).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Diverged {
    /// What happened and what to do.
    pub message: String,
    /// The numbers of the last good weights.
    pub summary: Summary,
}
