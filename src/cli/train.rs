//! `trainviz train`: trains through the worker, prints one line per epoch and writes the
//! run's files (metrics, summary, report) into `--out`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::report::PngSize;

use super::metrics_csv::metrics_csv;
use crate::train::{EventKind, Summary, TrainConfig, WorkerHandle};

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
    // A run that counts its cycles plans its epochs when it starts (see `Ready`).
    let mut epochs = config.epochs;
    let mut info = None;
    let mut history = Vec::new();
    let mut network = None;
    let mut stack = None;
    let mut test = None;
    let mut steps = Vec::new();
    let mut points = Vec::new();
    // Seconds spent in training steps alone (each report's images over its rate).
    let mut step_seconds = 0.0;
    for event in worker.events().iter() {
        match event.kind {
            EventKind::Progress {
                steps: s,
                step_seconds: seconds,
                ..
            } => {
                step_seconds += seconds;
                steps.extend(s)
            }
            EventKind::Evaluated { point, .. } => {
                if print {
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
                points.push(point);
                if let Some(dir) = out {
                    crate::report::write_atomic(
                        &dir.join("metrics.csv"),
                        &metrics_csv(&history, &points)?,
                    )?;
                }
            }
            EventKind::Weights { network: n, .. } => network = Some(n),
            EventKind::StackWeights { stack: s, .. } => stack = Some(s),
            EventKind::Saved { dir, .. } if print => {
                println!("saving the run in {}", dir.display())
            }
            EventKind::Test { eval, .. } => test = Some(eval),
            EventKind::Ready { info: i, .. } => {
                info = Some(i.clone());
                epochs = i.settings.epochs();
                if !print {
                    continue;
                }
                let info = i;
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
                        super::stack::describe_line(
                            &info.settings.start,
                            &info.shape,
                            info.class_names.len()
                        )
                    );
                }
                for warning in &info.warnings {
                    eprintln!("warning: {warning}");
                }
            }
            EventKind::Epoch { metrics: m, .. } => {
                if print {
                    println!(
                        "epoch {:>3}/{epochs}  train cost {:.4} acc {:.4} | val cost {:.4} acc {:.4} | η {} | {:.3} s",
                        m.epoch,
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
                history.push(*m);
                if let Some(dir) = out {
                    crate::report::write_atomic(
                        &dir.join("metrics.csv"),
                        &metrics_csv(&history, &points)?,
                    )?;
                }
            }
            EventKind::Finished { summary, .. } => {
                if print {
                    println!(
                        "test cost {:.4} acc {:.4} | {:.2} s in all, median {:.4} s per epoch | {:.2} s of training steps ({} steps)",
                        summary.test_cost,
                        summary.test_acc,
                        summary.seconds,
                        summary.epoch_seconds_median,
                        step_seconds,
                        steps.len()
                    );
                }
                if let Some(dir) = out {
                    let json = serde_json::to_string_pretty(&*summary)?;
                    crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
                    if let (Some(size), Some(info)) = (figures, &info) {
                        let record = crate::report::RunRecord {
                            info,
                            history: &history,
                            network: network.as_deref(),
                            test: test.as_deref(),
                        };
                        let steps = crate::report::StepLosses::from_steps(
                            &steps,
                            crate::report::DEFAULT_SMOOTHING,
                        )
                        .with_evals(
                            &history,
                            &points,
                            info.settings.start.live(),
                        );
                        if print && info.settings.start.uses_stack() {
                            println!("note: {}", crate::report::STACK_FIGURES_NOTE);
                        }
                        let files = crate::report::export_report_with_steps(
                            &record,
                            &steps,
                            &crate::runs::report::hidden_layer(info, network.as_deref()),
                            &crate::runs::report::convnet_figures(info, stack.as_deref()),
                            dir,
                            size,
                        )?;
                        if print {
                            println!(
                                "wrote {} report files; open {}",
                                files.len(),
                                dir.join("report.md").display()
                            );
                        }
                    }
                }
                return Ok(*summary);
            }
            EventKind::Diverged {
                message, summary, ..
            } => {
                if let Some(dir) = out {
                    let json = serde_json::to_string_pretty(&*summary)?;
                    crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
                }
                return Err(Diverged {
                    message,
                    summary: *summary,
                }
                .into());
            }
            EventKind::Error { message, .. } => bail!(message),
            _ => {}
        }
    }
    bail!("the training worker stopped unexpectedly")
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
