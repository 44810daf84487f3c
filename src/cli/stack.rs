//! The command line's side of layer stacks: `trainviz layers` and `trainviz train` for a
//! network set with `--layers`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::data::{self, DatasetKind, ImageShape};
use crate::model::layers::{self, Shape};
use crate::train::metrics::median;
use crate::train::stack_trainer::StackTrainer;
use crate::train::{RunStatus, Summary, TrainConfig};

/// The image shape and class count `config`'s data set has, without loading the built-in
/// sets (an image folder is read to find out).
fn data_shape(config: &TrainConfig) -> Result<(Shape, usize)> {
    let (shape, classes) = match config.dataset {
        DatasetKind::Cifar10 | DatasetKind::Synthetic => (ImageShape::CIFAR, 10),
        DatasetKind::FashionMnist => (ImageShape::FASHION, 10),
        DatasetKind::Folder => {
            let splits = data::load(&config.data_request())?;
            (splits.shape(), splits.num_classes())
        }
    };
    Ok((
        Shape {
            h: shape.height,
            w: shape.width,
            c: shape.channels,
        },
        classes,
    ))
}

/// `trainviz layers`: each layer's output shape, parameters and multiply-adds per image, or
/// the layer that does not fit.
pub fn layers_cmd(config: &TrainConfig) -> Result<()> {
    if !config.uses_stack() {
        bail!(
            "give the network with --layers, e.g. --layers \"patchify 4:10, relu, dense 50, relu\""
        );
    }
    let specs = layers::parse(&config.layers).context("--layers")?;
    let (shape, classes) = data_shape(config)?;
    let infos = layers::describe(&specs, shape, classes)
        .with_context(|| format!("--layers on {}×{}×{} images", shape.h, shape.w, shape.c))?;
    print!("{}", layers::table(shape, &infos));
    Ok(())
}

/// Trains a layer stack headless, one line per epoch, then evaluates on the test set;
/// writes config.toml, metrics.csv and summary.json into `out` when given.
pub fn train_stack(config: &TrainConfig, out: Option<&Path>, print: bool) -> Result<Summary> {
    let splits = Arc::new(data::load(&config.data_request())?);
    let mut trainer = StackTrainer::new(config.clone(), splits.clone(), None)?;
    if print {
        println!(
            "{}: {} training, {} validation, {} test images; layers \"{}\" ({} parameters, {} multiply-adds per image)",
            splits.name,
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            layers::to_text(&trainer.stack().specs[..trainer.stack().specs.len() - 1]),
            trainer
                .stack()
                .params()
                .iter()
                .map(|p| p.len())
                .sum::<usize>(),
            trainer.stack().multiply_adds_per_image(),
        );
    }
    let started = Instant::now();
    let mut epoch_seconds = Vec::new();
    let mut csv = String::from("epoch,eta,train_loss,val_cost,val_acc,seconds\n");
    let mut status = RunStatus::Finished;
    let mut val = None;
    while !trainer.is_finished() {
        let (train_loss, seconds) = trainer.run_epoch();
        let eta = trainer.current_eta();
        let v = trainer.evaluate(&splits.val, None);
        epoch_seconds.push(seconds);
        let epoch = trainer.epochs_done();
        if print {
            println!(
                "epoch {epoch:>3}/{}  train loss {train_loss:.4} (batch mean) | val cost {:.4} acc {:.4} | η {eta:.2e} | {seconds:.3} s",
                config.epochs, v.cost, v.accuracy
            );
        }
        csv.push_str(&format!(
            "{epoch},{eta},{train_loss},{},{},{seconds}\n",
            v.cost, v.accuracy
        ));
        val = Some(v);
        if !train_loss.is_finite() || !trainer.stack().is_finite() {
            status = RunStatus::Diverged;
            break;
        }
    }
    let train_seconds: f64 = epoch_seconds.iter().sum();
    // The training set's cost and accuracy on (at most) 10,000 of its images.
    let train = trainer.evaluate(&splits.train, Some(10_000));
    let test = trainer.evaluate(&splits.test, None);
    let val = val.unwrap_or_else(|| trainer.evaluate(&splits.val, None));
    let summary = Summary {
        train_cost: train.cost,
        train_acc: train.accuracy,
        val_cost: val.cost,
        val_acc: val.accuracy,
        test_cost: test.cost,
        test_acc: test.accuracy,
        epochs: trainer.epochs_done(),
        seconds: started.elapsed().as_secs_f64(),
        epoch_seconds_median: median(&epoch_seconds),
        status,
    };
    if print {
        println!(
            "test cost {:.4} acc {:.4} | {:.2} s of training steps ({} steps), {:.2} s in all",
            test.cost,
            test.accuracy,
            train_seconds,
            trainer.steps_done(),
            summary.seconds
        );
    }
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::report::write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
        crate::report::write_atomic(&dir.join("metrics.csv"), csv.as_bytes())?;
        let json = serde_json::to_string_pretty(&summary)?;
        crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    }
    if status == RunStatus::Diverged {
        bail!("the run diverged (a loss or weight is not finite); try a smaller η");
    }
    Ok(summary)
}
